"""Typed, validated configuration of one trial, torch-free, below both ``explorer`` and ``search_spaces``.

``search_spaces`` validates every concrete trial through these classes and ``explorer`` trains from them.
Keys are dotted (``dp.target_epsilon``) and are the Parquet column names of the hyperparameters (DESIGN 6).
The shared sections (data, train, eval) live here; each mechanism's section is declared by its spec
(:mod:`explorer.mechanisms`, :mod:`explorer_core.registry`), plug-ins included.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Mapping

from explorer_core import registry
from explorer_core.errors import ConfigError, fail

__all__ = [
    "DATASETS",
    "DATASET_SHAPES",
    "MODELS",
    "ConfigError",
    "Section",
    "DataConfig",
    "TrainConfig",
    "EvalConfig",
    "COMMON_SECTIONS",
    "TrialConfig",
    "fail",
    "number",
    "integer",
    "choice",
    "boolean",
    "mechanisms_name",
    "parse_mechanisms",
    "resolve_model",
    "auto_model",
]

DATASETS: tuple[str, ...] = ("digits", "mnist", "fashion_mnist", "cifar10", "gtsrb", "synthetic")
#: (channels, height, width) of the built-in datasets as loaded (gtsrb is resized to 32x32).
DATASET_SHAPES: dict[str, tuple[int, int, int]] = {
    "digits": (1, 8, 8), "synthetic": (1, 8, 8), "mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28),
    "cifar10": (3, 32, 32), "gtsrb": (3, 32, 32),
}
MODELS: tuple[str, ...] = ("auto", "cnn4", "resnet20", "tiny")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def number(key: str, v: Any, *, lo: float | None = None, hi: float | None = None,
           lo_open: bool = True, hi_open: bool = False) -> None:
    """Check a finite number in the given (by default left-open) interval."""
    lo_txt = "" if lo is None else f"{'>' if lo_open else '>='} {lo:g}"
    hi_txt = "" if hi is None else f"{'<' if hi_open else '<='} {hi:g}"
    allowed = "a number " + " and ".join(t for t in (lo_txt, hi_txt) if t) if lo_txt or hi_txt else "a number"
    if not _is_number(v):
        raise fail(key, v, allowed)
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise fail(key, v, allowed)
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise fail(key, v, allowed)


def integer(key: str, v: Any, *, lo: int = 1) -> None:
    """Check an integer >= ``lo``."""
    if not isinstance(v, int) or isinstance(v, bool) or v < lo:
        raise fail(key, v, f"an integer >= {lo}")


def choice(key: str, v: Any, options: tuple[str, ...]) -> None:
    """Check one of ``options``."""
    if v not in options:
        raise fail(key, v, "one of " + ", ".join(options))


def boolean(key: str, v: Any) -> None:
    """Check true or false."""
    if not isinstance(v, bool):
        raise fail(key, v, "true or false")


class Section:
    """Base of the frozen config sections; ``prefix`` is the dotted key namespace (a mechanism's name)."""

    prefix: ClassVar[str]
    #: Knobs added after rows were written -> the value that computes what those rows computed: at that value a
    #: knob stays out of config_id, so earlier rows keep matching their presets and baselines (--resume, reuse).
    added_later: ClassVar[Mapping[str, Any]] = {}

    def check_trial(self, dataset: str) -> None:
        """Checks that need the rest of the trial (a ConfigError); none by default."""

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Any:
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(values) - names)
        if unknown:
            allowed = ", ".join(f"{cls.prefix}.{n}" for n in sorted(names))
            raise fail(f"{cls.prefix}.{unknown[0]}", values[unknown[0]], f"a known key: {allowed}")
        return cls(**values)

    def flat(self) -> dict[str, Any]:
        return {f"{self.prefix}.{f.name}": getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


def resolve_model(name: str, shape: tuple[int, int, int] | None) -> str:
    """The one ``model: auto`` rule: cnn4 for grey images of at least 8x8, resnet20 for colour ones of at
    least 16x16, else tiny; other names are returned as they are. ``shape`` None (unknown): resnet20."""
    if name != "auto":
        return name
    if shape is None:
        return "resnet20"
    c, h, w = shape
    if c == 1 and min(h, w) >= 8:
        return "cnn4"
    if c == 3 and min(h, w) >= 16:
        return "resnet20"
    return "tiny"


def auto_model(model: str, dataset: str) -> str:
    """:func:`resolve_model` for a dataset by name (``imagefolder:`` datasets: shape unknown)."""
    return resolve_model(model, DATASET_SHAPES.get(dataset))


@dataclass(frozen=True, kw_only=True, slots=True)
class DataConfig(Section):
    """Where the data lives and which seeded subsets a trial uses."""

    prefix: ClassVar[str] = "data"
    dir: str | None = None  # root of torchvision layouts; None: $EXPLORER_DATA_DIR
    train_subset: int | None = None  # seeded subset of the training split; None: all of it
    test_subset: int | None = None
    train_half: int | None = None  # 0 or 1: one half of a seeded split of the training subset (DI's independent model)

    def __post_init__(self) -> None:
        if self.dir is not None and not isinstance(self.dir, str):
            raise fail("data.dir", self.dir, "a path string or null")
        for name in ("train_subset", "test_subset"):
            if getattr(self, name) is not None:
                integer(f"data.{name}", getattr(self, name), lo=1)
        if self.train_half is not None and (isinstance(self.train_half, bool) or self.train_half not in (0, 1)):
            raise fail("data.train_half", self.train_half, "null, 0 or 1")


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainConfig(Section):
    """SGD with a one-cycle schedule, as in the paper's code (CONF dp_and_watermark.py)."""

    prefix: ClassVar[str] = "train"
    epochs: int = 5
    batch_size: int = 64  # CONF's batch for wm-only and dp-wm
    lr: float | None = None  # peak one-cycle lr; None: the model's default (0.005 cnn4, 0.1 resnet20)
    momentum: float = 0.9
    weight_decay: float = 5e-4  # CONF's value
    device: str = "auto"  # auto | cpu | cuda | cuda:N

    def __post_init__(self) -> None:
        integer("train.epochs", self.epochs)
        integer("train.batch_size", self.batch_size)
        if self.lr is not None:
            number("train.lr", self.lr, lo=0)
        number("train.momentum", self.momentum, lo=0, hi=1, lo_open=False, hi_open=True)
        number("train.weight_decay", self.weight_decay, lo=0, lo_open=False)
        if not isinstance(self.device, str) or not (
            self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")
        ):
            raise fail("train.device", self.device, "auto, cpu, cuda or cuda:N")


@dataclass(frozen=True, kw_only=True, slots=True)
class EvalConfig(Section):
    """The evaluation attack behind ``adv.acc``, run for every trial (DESIGN 3.5).

    Unset PGD knobs follow ``adv.*`` when adversarial training is on, else :class:`AdvConfig`'s
    defaults, so an undefended model and an adversarially trained one face the same attack.
    """

    prefix: ClassVar[str] = "eval"
    adv_samples: int = 1000  # test samples attacked for adv.acc
    gamma: float | None = None
    steps: int | None = None
    step_size: float | None = None
    batch_size: int = 500
    epoch_adv: bool = False  # also attack the adv_samples images after every epoch (the row's history column)
    risks: bool = True  # risk.*: membership inference (RMIA) and the train-test gap (explorer.risks)
    risk_samples: int = 500  # members, and as many non-members, the membership attack scores
    risk_references: int = 2  # reference models of the undefended setup (trained once, cached)

    def __post_init__(self) -> None:
        integer("eval.adv_samples", self.adv_samples)
        integer("eval.batch_size", self.batch_size)
        boolean("eval.epoch_adv", self.epoch_adv)
        boolean("eval.risks", self.risks)
        integer("eval.risk_samples", self.risk_samples, lo=10)
        integer("eval.risk_references", self.risk_references)
        if self.gamma is not None:
            number("eval.gamma", self.gamma, lo=0, hi=1)
        if self.steps is not None:
            integer("eval.steps", self.steps)
        if self.step_size is not None:
            number("eval.step_size", self.step_size, lo=0, hi=1)


COMMON_SECTIONS: dict[str, type[Section]] = {"data": DataConfig, "train": TrainConfig, "eval": EvalConfig}
_TOP_KEYS = ("experiment", "dataset", "model", "mechanisms", "seed")


def parse_mechanisms(value: Any) -> tuple[str, ...]:
    """Accept ``"dp,wm"``, ``"dp+wm"``, ``["dp", "wm"]`` or ``"none"``; return the sorted unique names."""
    if value is None or value == "" or value == "none":
        return ()
    if isinstance(value, str):
        items = [p.strip() for p in value.replace("+", ",").split(",") if p.strip()]
    elif isinstance(value, (list, tuple)) and all(isinstance(p, str) for p in value):
        items = list(value)
    else:
        raise fail("mechanisms", value, "a list of mechanism names or a string like 'dp,wm'")
    known = registry.names()
    for name in items:
        if name not in known:
            raise fail("mechanisms", name, "one of " + ", ".join(known))
    if len(set(items)) != len(items):
        raise fail("mechanisms", value, "each mechanism at most once")
    return tuple(sorted(items))


def mechanisms_name(mechanisms: tuple[str, ...]) -> str:
    """The canonical ``mechanisms`` column value: sorted names joined by '+', or 'none'."""
    return "+".join(sorted(mechanisms)) or "none"


def _check_dataset(key: str, value: Any) -> None:
    if not isinstance(value, str) or not (value in DATASETS or (
            value.startswith("imagefolder:") and len(value) > len("imagefolder:"))):
        raise fail(key, value, "imagefolder:PATH or one of " + ", ".join(DATASETS))


class TrialConfig:
    """One trial: a dataset, a model and a set of mechanisms with their knobs, under one seed. Frozen.

    Each mechanism's section is an attribute named after it (``config.dp``: a ``DPConfig``, or None when
    ``dp`` is not in ``mechanisms``), for built-ins and plug-ins alike; ``sections`` maps them all.
    """

    __slots__ = ("dataset", "model", "mechanisms", "seed", "experiment", "data", "train", "eval", "_sections")
    dataset: str
    model: str  # auto: :func:`resolve_model` (cnn4 for grey images, resnet20 for colour ones, else tiny)
    mechanisms: tuple[str, ...]
    seed: int
    experiment: str
    data: DataConfig
    train: TrainConfig
    eval: EvalConfig

    def __init__(self, *, dataset: str = "digits", model: str = "auto", mechanisms: Any = (), seed: int = 0,
                 experiment: str = "default", data: DataConfig | None = None, train: TrainConfig | None = None,
                 eval: EvalConfig | None = None, **sections: Any) -> None:
        specs = registry.specs()
        for name in sections:
            if name not in specs:
                raise TypeError(f"TrialConfig: unknown section {name!r} (mechanisms: {', '.join(sorted(specs))})")
        _check_dataset("dataset", dataset)
        choice("model", model, MODELS)
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise fail("seed", seed, "an integer >= 0")
        if not isinstance(experiment, str) or not experiment:
            raise fail("experiment", experiment, "a non-empty string")
        mechs = tuple(mechanisms)
        if tuple(sorted(mechs)) != mechs or any(m not in specs for m in mechs):
            mechs = parse_mechanisms(list(mechs))
        chosen: dict[str, Any] = {}
        for name, spec in specs.items():
            given = sections.get(name)
            if given is not None and name not in mechs:
                raise fail(f"{name}.*", "set", f"no {name}.* keys unless '{name}' is in mechanisms "
                           f"({mechanisms_name(mechs)})")
            if name in mechs:
                chosen[name] = given if given is not None else spec.config_cls()
        values = dict(dataset=dataset, model=model, mechanisms=mechs, seed=seed, experiment=experiment,
                      data=data or DataConfig(), train=train or TrainConfig(), eval=eval or EvalConfig(),
                      _sections=chosen)
        for key, value in values.items():
            object.__setattr__(self, key, value)
        for section in chosen.values():
            section.check_trial(dataset)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in registry.specs():
            return self._sections.get(name)
        raise AttributeError(f"TrialConfig has no attribute or mechanism {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"TrialConfig is frozen: cannot set {name!r} (use replace)")

    @property
    def sections(self) -> dict[str, Any]:
        """Mechanism name -> its config section, for the mechanisms of this trial."""
        return dict(self._sections)

    def _kwargs(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "model": self.model, "mechanisms": self.mechanisms, "seed": self.seed,
                "experiment": self.experiment, "data": self.data, "train": self.train, "eval": self.eval,
                **self._sections}

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self._kwargs(),))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TrialConfig) and self._kwargs() == other._kwargs()

    def __hash__(self) -> int:
        return hash((self.config_id(), self.seed, self.experiment))

    def __repr__(self) -> str:
        return "TrialConfig(" + ", ".join(f"{k}={v!r}" for k, v in self._kwargs().items()) + ")"

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrialConfig:
        """Build from flat dotted keys (``{"dp.target_epsilon": 3}``), nested sections, or both."""
        if not isinstance(values, Mapping):
            raise fail("config", type(values).__name__, "a mapping of keys to values")
        specs = registry.specs()
        top: dict[str, Any] = {}
        sections: dict[str, dict[str, Any]] = {}
        for key, value in values.items():
            if not isinstance(key, str):
                raise fail("config key", key, "a string")
            head, _, rest = key.partition(".")
            if head in _TOP_KEYS and not rest:
                top[head] = value
            elif head in specs or head in COMMON_SECTIONS:
                if rest:
                    sections.setdefault(head, {})[rest] = value
                elif isinstance(value, Mapping):
                    sections.setdefault(head, {}).update(value)
                elif value is not None:
                    raise fail(key, value, f"a mapping of {head}.* keys")
            else:
                allowed = ", ".join(_TOP_KEYS + tuple(f"{s}.*" for s in (*COMMON_SECTIONS, *specs)))
                raise fail(key, value, f"a known key: {allowed}")
        mechanisms = parse_mechanisms(top.pop("mechanisms", ()))
        for head, given in sections.items():
            if head in specs and head not in mechanisms and given:
                key, value = next(iter(given.items()))
                raise fail(f"{head}.{key}", value, f"no {head}.* keys unless '{head}' is in mechanisms "
                           f"(here: {mechanisms_name(mechanisms)})")
        kwargs: dict[str, Any] = dict(top, mechanisms=mechanisms)
        classes: dict[str, Any] = {**COMMON_SECTIONS, **{n: s.config_cls for n, s in specs.items()}}
        for name, cls_ in classes.items():
            if name in sections:
                kwargs[name] = cls_.from_mapping(sections[name])
        return cls(**kwargs)

    def flat(self) -> dict[str, Any]:
        """Every hyperparameter as a dotted key; absent mechanisms give no keys."""
        out: dict[str, Any] = {
            "experiment": self.experiment, "dataset": self.dataset, "model": self.model,
            "mechanisms": mechanisms_name(self.mechanisms), "seed": self.seed,
        }
        for section in (self.data, self.train, self.eval, *self._sections.values()):
            out.update(section.flat())
        return out

    def config_id(self) -> str:
        """Hash of the configuration without seed and experiment: replicates share it."""
        later = {f"{sec.prefix}.{k}": v for sec in (self.data, self.train, self.eval, *self._sections.values())
                 for k, v in sec.added_later.items()}
        flat = {k: v for k, v in self.flat().items() if k not in _NOT_IN_ID and not (k in later and v == later[k])}
        return hashlib.sha256(json.dumps(flat, sort_keys=True, default=str).encode()).hexdigest()[:12]

    def replace(self, **changes: Any) -> TrialConfig:
        """A copy with some fields changed; a mechanism's section set to None drops it from the kwargs."""
        kwargs = {**self._kwargs(), **changes}
        return TrialConfig(**{k: v for k, v in kwargs.items() if v is not None or k not in registry.specs()})


#: Keys that do not change what a trial computes (where it ran, what it also recorded): left out of config_id.
_NOT_IN_ID = frozenset({"seed", "experiment", "data.dir", "train.device", "eval.epoch_adv", "eval.risks",
                        "eval.risk_samples", "eval.risk_references"})


def _rebuild(kwargs: dict[str, Any]) -> TrialConfig:
    return TrialConfig(**kwargs)
