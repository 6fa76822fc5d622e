"""The thresholds of the conflict rule (DESIGN 3.6), one class for the search and the analysis.

Its keys are ``acc`` (the drop of test accuracy below the lower single-mechanism baseline), ``alpha`` (the
significance level of every test) and each mechanism's rule thresholds from its spec (``wm``, ``adv``,
``di_p``, ``rad_rel``, ``rad_gap``, a plug-in's own); each is validated against its spec's interval.
"""

from __future__ import annotations

from typing import Any, Iterable

from explorer_core import registry
from explorer_core.config import ConfigError, fail
from explorer_core.spec import RISK_THRESHOLDS, Threshold

__all__ = ["Thresholds", "CORE", "threshold_specs"]

#: The thresholds every space has, whatever its mechanisms.
CORE: tuple[Threshold, ...] = (
    Threshold("acc", 0.10, 0, 1, True, False, "a drop of test accuracy below the lower baseline (0.1 = 10 pp)"),
    Threshold("alpha", 0.05, 0, 0.5, True, True, "a significance level"),
)


def threshold_specs() -> dict[str, Threshold]:
    """Key -> threshold: the core ones, the risks' (``risk_auc``, ``risk_tpr``, ``risk_gap``), then each
    mechanism's rule (and its absolute companion)."""
    out = {t.key: t for t in (*CORE, *RISK_THRESHOLDS.values())}
    for spec in registry.specs().values():
        rule = spec.rule
        while rule is not None:
            out[rule.threshold.key] = rule.threshold
            rule = rule.absolute
    return out


class Thresholds:
    """When a combination is in conflict: ``Thresholds(acc=0.05, wm=0.2)``, others at their defaults.

    Read a threshold as an attribute (``th.wm``) or with :meth:`get`; frozen and hashable.
    """

    __slots__ = ("_values",)
    _values: dict[str, float]

    def __init__(self, **values: Any) -> None:
        known = threshold_specs()
        for key, value in values.items():
            spec = known.get(key)
            if spec is None:
                raise fail(f"thresholds.{key}", value, "a known threshold: " + ", ".join(known))
            if not spec.admits(value):
                raise fail(f"thresholds.{key}", value, spec.allowed)
        object.__setattr__(self, "_values", {k: float(values.get(k, t.default)) for k, t in known.items()})

    def __getattr__(self, key: str) -> float:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(f"no threshold {key!r} (known: {', '.join(self._values)})") from None

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("Thresholds is frozen (use replace)")

    def get(self, key: str) -> float:
        return self._values[key]

    def as_dict(self) -> dict[str, float]:
        return dict(self._values)

    def replace(self, **changes: Any) -> Thresholds:
        return type(self)(**{**self._values, **changes})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Thresholds) and self._values == other._values

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._values.items())))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v:g}" for k, v in self._values.items()) + ")"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self._values))

    @classmethod
    def parse(cls, items: Iterable[str], base: Thresholds | None = None) -> Thresholds:
        """Thresholds from ``key=value`` strings (e.g. ``["acc=0.05", "alpha=0.01"]``) over ``base`` or the
        defaults."""
        known = threshold_specs()
        changes: dict[str, float] = {}
        for item in items:
            key, sep, text = item.partition("=")
            key = key.strip()
            if not sep or key not in known:
                raise ConfigError("--threshold", item, "key=value with key one of " + ", ".join(known))
            try:
                changes[key] = float(text)
            except ValueError:
                raise ConfigError(f"--threshold {key}", text, "a number") from None
        return cls(**{**(base.as_dict() if base is not None else {}), **changes})


def _rebuild(cls: type[Thresholds], values: dict[str, float]) -> Thresholds:
    return cls(**values)
