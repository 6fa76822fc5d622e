"""Knob values: one fixed value, or a domain written as a one-key mapping.

``{grid: [..]}`` is crossed with every other grid (and swept by every algorithm); ``{choice: [..]}`` is a
grid under ``algorithm: grid`` and a random pick under ``random`` and ``optuna``; ``{uniform: [lo, hi]}``,
``{loguniform: [lo, hi]}`` and ``{int: [lo, hi]}`` (both ends included) are sampled by ``random`` and
``optuna`` only.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, Union

from explorer_core.errors import UserError

__all__ = [
    "Scalar",
    "Fixed",
    "Grid",
    "Choice",
    "Uniform",
    "LogUniform",
    "IntRange",
    "Param",
    "DomainError",
    "DOMAIN_KINDS",
    "parse_param",
    "is_number",
]

Scalar = Union[None, bool, int, float, str]


class _Trial(Protocol):  # the part of optuna.Trial that define-by-run uses
    def suggest_categorical(self, name: str, choices: Any) -> Any: ...
    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float: ...
    def suggest_int(self, name: str, low: int, high: int) -> int: ...


class DomainError(UserError):
    """A malformed value or domain: ``value`` and ``allowed`` for the message, ``sub`` the offending part."""

    def __init__(self, value: Any, allowed: str, sub: tuple[Any, ...] = ()) -> None:
        super().__init__(allowed)
        self.value, self.allowed, self.sub = value, allowed, sub


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (bool, int, str)) or (isinstance(v, float) and math.isfinite(v))


def _identity(v: Scalar) -> tuple[str, Any]:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return (type(v).__name__, v)
    return ("number", float(v))  # 1 and 1.0 are the same grid point


@dataclass(frozen=True)
class Fixed:
    """One value for every trial."""

    value: Scalar
    kind: ClassVar[str] = "fixed"
    sampled: ClassVar[bool] = False

    def values(self) -> tuple[Scalar, ...]:
        return (self.value,)

    def candidates(self) -> tuple[Scalar, ...]:
        return (self.value,)

    def contains(self, v: Any) -> bool:
        return _identity(v) == _identity(self.value) if _is_scalar(v) else False

    def to_yaml(self) -> Any:
        return self.value


@dataclass(frozen=True)
class _Listed:
    values_: tuple[Scalar, ...]
    kind: ClassVar[str] = ""

    def values(self) -> tuple[Scalar, ...]:
        return self.values_

    def candidates(self) -> tuple[Scalar, ...]:
        return self.values_

    def contains(self, v: Any) -> bool:
        return _is_scalar(v) and _identity(v) in {_identity(x) for x in self.values_}

    def to_yaml(self) -> Any:
        return {self.kind: list(self.values_)}


@dataclass(frozen=True)
class Grid(_Listed):
    """Every value is run (crossed with the other grids)."""

    kind: ClassVar[str] = "grid"
    sampled: ClassVar[bool] = False


@dataclass(frozen=True)
class Choice(_Listed):
    """One value per sample (random, optuna: categorical); a grid under ``algorithm: grid``."""

    kind: ClassVar[str] = "choice"
    sampled: ClassVar[bool] = True

    def sample(self, rng: random.Random) -> Scalar:
        return self.values_[rng.randrange(len(self.values_))]

    def suggest(self, trial: _Trial, name: str) -> Scalar:
        return trial.suggest_categorical(name, list(self.values_))


@dataclass(frozen=True)
class _Range:
    low: float
    high: float
    kind: ClassVar[str] = ""
    sampled: ClassVar[bool] = True

    def values(self) -> tuple[Scalar, ...]:
        raise TypeError(f"a {self.kind} range has no finite list of values")

    def candidates(self) -> tuple[Scalar, ...]:
        return (self.low, self.high)

    def contains(self, v: Any) -> bool:
        return is_number(v) and self.low <= v <= self.high

    def to_yaml(self) -> Any:
        return {self.kind: [self.low, self.high]}


@dataclass(frozen=True)
class Uniform(_Range):
    kind: ClassVar[str] = "uniform"

    def sample(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)

    def suggest(self, trial: _Trial, name: str) -> float:
        return trial.suggest_float(name, float(self.low), float(self.high))


@dataclass(frozen=True)
class LogUniform(_Range):
    kind: ClassVar[str] = "loguniform"

    def sample(self, rng: random.Random) -> float:
        return math.exp(rng.uniform(math.log(self.low), math.log(self.high)))

    def suggest(self, trial: _Trial, name: str) -> float:
        return trial.suggest_float(name, float(self.low), float(self.high), log=True)


@dataclass(frozen=True)
class IntRange(_Range):
    low: int
    high: int
    kind: ClassVar[str] = "int"

    def contains(self, v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and self.low <= v <= self.high

    def sample(self, rng: random.Random) -> int:
        return rng.randint(self.low, self.high)

    def suggest(self, trial: _Trial, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high)


Param = Union[Fixed, Grid, Choice, Uniform, LogUniform, IntRange]
DOMAIN_KINDS: dict[str, type] = {"grid": Grid, "choice": Choice, "uniform": Uniform, "loguniform": LogUniform,
                                 "int": IntRange}
_ONE_KEY = "a value or a one-key domain mapping: {grid: [..]}, {choice: [..]}, {uniform: [lo, hi]}, " \
           "{loguniform: [lo, hi]} or {int: [lo, hi]}"


def parse_param(raw: Any, knob_type: str, *, fixed_only: bool = False) -> Param:
    """Turn a YAML value into a :data:`Param`; raise :class:`DomainError` when it is malformed.

    ``knob_type`` (int, float, bool, str) decides which domains make sense: ranges need a number knob, and
    ``uniform``/``loguniform`` a float knob. Values themselves are checked later, by the trial config.
    """
    if isinstance(raw, dict):
        if fixed_only:
            raise DomainError(raw, "one fixed value (no domains for this key)")
        if len(raw) != 1 or next(iter(raw)) not in DOMAIN_KINDS:
            raise DomainError(raw, _ONE_KEY)
        kind, body = next(iter(raw.items()))
        sub = (kind,)
        if kind in ("grid", "choice"):
            if not isinstance(body, list) or not body:
                raise DomainError(body, f"a non-empty list of values for {kind}", sub)
            seen: set[tuple[str, Any]] = set()
            for i, v in enumerate(body):
                if not _is_scalar(v):
                    raise DomainError(v, f"a single value in {kind} (a number, string, true/false or null)",
                                      (*sub, i))
                if _identity(v) in seen:
                    raise DomainError(v, f"each {kind} value once", (*sub, i))
                seen.add(_identity(v))
            return DOMAIN_KINDS[kind](tuple(body))
        if knob_type not in ("int", "float"):
            raise DomainError(raw, f"a fixed value, grid or choice for this {knob_type} key", sub)
        if kind in ("uniform", "loguniform") and knob_type == "int":
            raise DomainError(raw, "{int: [lo, hi]}, a grid or a choice for this integer key", sub)
        if not isinstance(body, list) or len(body) != 2:
            raise DomainError(body, f"[lo, hi] for {kind}", sub)
        for i, v in enumerate(body):
            if kind == "int" and (not isinstance(v, int) or isinstance(v, bool)):
                raise DomainError(v, "an integer bound", (*sub, i))
            if not is_number(v):
                raise DomainError(v, "a finite number bound", (*sub, i))
        lo, hi = body
        if not lo < hi:
            raise DomainError(body, f"[lo, hi] with lo < hi for {kind}", sub)
        if kind == "loguniform" and lo <= 0:
            raise DomainError(body, "[lo, hi] with 0 < lo < hi for loguniform", sub)
        return DOMAIN_KINDS[kind](lo, hi)
    if isinstance(raw, list):
        raise DomainError(raw, _ONE_KEY + " (write a list of values as {grid: [..]})")
    if not _is_scalar(raw):
        raise DomainError(raw, "a finite number, string, true/false or null")
    return Fixed(raw)
