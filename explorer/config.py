"""Typed, validated configuration of one trial.

Torch-free on purpose: ``search_spaces`` validates every concrete trial through these classes, and
a laptop can read them without the training stack. Keys are dotted (``dp.target_epsilon``) and are
the Parquet column names of the hyperparameters (DESIGN 6).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Mapping

__all__ = [
    "MECHANISMS",
    "DATASETS",
    "MODELS",
    "ConfigError",
    "DataConfig",
    "TrainConfig",
    "EvalConfig",
    "DPConfig",
    "AdvConfig",
    "default_gamma",
    "WMConfig",
    "RadConfig",
    "DIConfig",
    "TrialConfig",
    "mechanisms_name",
    "parse_mechanisms",
]

#: Registered mechanism names. The canonical ``mechanisms`` string sorts them (``adv+dp+wm``).
MECHANISMS: tuple[str, ...] = ("adv", "di", "dp", "rad", "wm")
DATASETS: tuple[str, ...] = ("digits", "mnist", "fashion_mnist", "cifar10", "gtsrb", "synthetic")
MODELS: tuple[str, ...] = ("auto", "cnn4", "resnet20", "tiny")


class ConfigError(ValueError):
    """A user-facing configuration error; its message is one line naming key, value and what is allowed."""


def _fail(key: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"{key}: got {value!r}, expected {allowed}")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _number(key: str, v: Any, *, lo: float | None = None, hi: float | None = None,
            lo_open: bool = True, hi_open: bool = False) -> None:
    lo_txt = "" if lo is None else f"{'>' if lo_open else '>='} {lo:g}"
    hi_txt = "" if hi is None else f"{'<' if hi_open else '<='} {hi:g}"
    allowed = "a number " + " and ".join(t for t in (lo_txt, hi_txt) if t) if lo_txt or hi_txt else "a number"
    if not _is_number(v):
        raise _fail(key, v, allowed)
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise _fail(key, v, allowed)
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise _fail(key, v, allowed)


def _integer(key: str, v: Any, *, lo: int = 1) -> None:
    if not isinstance(v, int) or isinstance(v, bool) or v < lo:
        raise _fail(key, v, f"an integer >= {lo}")


def _choice(key: str, v: Any, options: tuple[str, ...]) -> None:
    if v not in options:
        raise _fail(key, v, "one of " + ", ".join(options))


def _boolean(key: str, v: Any) -> None:
    if not isinstance(v, bool):
        raise _fail(key, v, "true or false")


class _Section:
    """Shared helpers of the frozen config sections; ``prefix`` is the dotted key namespace."""

    prefix: ClassVar[str]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Any:
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(values) - names)
        if unknown:
            allowed = ", ".join(f"{cls.prefix}.{n}" for n in sorted(names))
            raise _fail(f"{cls.prefix}.{unknown[0]}", values[unknown[0]], f"a known key: {allowed}")
        return cls(**values)

    def flat(self) -> dict[str, Any]:
        return {f"{self.prefix}.{f.name}": getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True, slots=True)
class DataConfig(_Section):
    """Where the data lives and which seeded subsets a trial uses."""

    prefix: ClassVar[str] = "data"
    dir: str | None = None  # root of torchvision layouts; None: $EXPLORER_DATA_DIR
    train_subset: int | None = None  # seeded subset of the training split; None: all of it
    test_subset: int | None = None
    train_half: int | None = None  # 0 or 1: one half of a seeded split of the training subset (DI's independent model)

    def __post_init__(self) -> None:
        if self.dir is not None and not isinstance(self.dir, str):
            raise _fail("data.dir", self.dir, "a path string or null")
        for name in ("train_subset", "test_subset"):
            if getattr(self, name) is not None:
                _integer(f"data.{name}", getattr(self, name), lo=1)
        if self.train_half is not None and (isinstance(self.train_half, bool) or self.train_half not in (0, 1)):
            raise _fail("data.train_half", self.train_half, "null, 0 or 1")


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainConfig(_Section):
    """SGD with a one-cycle schedule, as in the paper's code (CONF dp_and_watermark.py)."""

    prefix: ClassVar[str] = "train"
    epochs: int = 5
    batch_size: int = 64  # CONF's batch for wm-only and dp-wm
    lr: float | None = None  # peak one-cycle lr; None: the model's default (0.005 cnn4, 0.1 resnet20)
    momentum: float = 0.9
    weight_decay: float = 5e-4  # CONF's value
    device: str = "auto"  # auto | cpu | cuda | cuda:N

    def __post_init__(self) -> None:
        _integer("train.epochs", self.epochs)
        _integer("train.batch_size", self.batch_size)
        if self.lr is not None:
            _number("train.lr", self.lr, lo=0)
        _number("train.momentum", self.momentum, lo=0, hi=1, lo_open=False, hi_open=True)
        _number("train.weight_decay", self.weight_decay, lo=0, lo_open=False)
        if not isinstance(self.device, str) or not (
            self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")
        ):
            raise _fail("train.device", self.device, "auto, cpu, cuda or cuda:N")


@dataclass(frozen=True, kw_only=True, slots=True)
class EvalConfig(_Section):
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

    def __post_init__(self) -> None:
        _integer("eval.adv_samples", self.adv_samples)
        _integer("eval.batch_size", self.batch_size)
        if self.gamma is not None:
            _number("eval.gamma", self.gamma, lo=0, hi=1)
        if self.steps is not None:
            _integer("eval.steps", self.steps)
        if self.step_size is not None:
            _number("eval.step_size", self.step_size, lo=0, hi=1)


@dataclass(frozen=True, kw_only=True, slots=True)
class DPConfig(_Section):
    """DP-SGD through Opacus (Abadi et al., CCS 2016); σ is derived from the target ε."""

    prefix: ClassVar[str] = "dp"
    target_epsilon: float = 3.0  # the paper's ε
    delta: float = 1e-5  # the paper's δ for CIFAR-10 (1e-6 for MNIST/FMNIST in its presets)
    max_grad_norm: float = 1.0  # clipping bound C, as in CONF
    accountant: str = "rdp"  # rdp matches CONF; prv is Opacus 1.6's default
    grad_sample_mode: str = "ghost"  # fast gradient clipping; "hooks" for per-sample hooks

    def __post_init__(self) -> None:
        _number("dp.target_epsilon", self.target_epsilon, lo=0)
        _number("dp.delta", self.delta, lo=0, hi=1, hi_open=True)
        _number("dp.max_grad_norm", self.max_grad_norm, lo=0)
        _choice("dp.accountant", self.accountant, ("rdp", "prv"))
        _choice("dp.grad_sample_mode", self.grad_sample_mode, ("ghost", "hooks"))


GREY_GAMMA = 0.1  # default L∞ radius for single-channel images (docs/metrics.md, "Default radii")
COLOUR_GAMMA = 8 / 255  # and for colour images: Madry et al.'s CIFAR-10 radius, RobustBench's L∞ standard


def default_gamma(channels: int) -> float:
    """The default PGD radius in pixel units for images with ``channels`` channels."""
    return GREY_GAMMA if channels == 1 else COLOUR_GAMMA


@dataclass(frozen=True, kw_only=True, slots=True)
class AdvConfig(_Section):
    """PGD L∞ adversarial training (Madry et al., ICLR 2018); γ in [0, 1] pixel units (DESIGN 3.1).

    ``gamma`` None is resolved per kind of input (:func:`default_gamma`); the trial's row records the
    resolved value. The paper's presets set it explicitly (its γ = 0.25 on normalised MNIST is 0.125 px).
    """

    prefix: ClassVar[str] = "adv"
    gamma: float | None = None  # None: 0.1 for grey images, 8/255 for colour ones
    steps: int = 10  # Madry et al. trained CIFAR-10 with 7; CONF used 25
    step_size: float | None = None  # None: γ/steps·2.5 (Madry's rule); CONF used γ/steps
    random_start: bool = True

    def __post_init__(self) -> None:
        if self.gamma is not None:
            _number("adv.gamma", self.gamma, lo=0, hi=1)
        _integer("adv.steps", self.steps)
        if self.step_size is not None:
            _number("adv.step_size", self.step_size, lo=0, hi=1)
        _boolean("adv.random_start", self.random_start)

    def resolved(self, channels: int) -> AdvConfig:
        """This config with ``gamma`` and ``step_size`` filled in for images of ``channels`` channels."""
        gamma = self.gamma if self.gamma is not None else default_gamma(channels)
        step = self.step_size if self.step_size is not None else 2.5 * gamma / self.steps
        return dataclasses.replace(self, gamma=gamma, step_size=step)


@dataclass(frozen=True, kw_only=True, slots=True)
class WMConfig(_Section):
    """Out-of-distribution trigger-set watermark (Adi et al., USENIX Security 2018; DESIGN 3.8)."""

    prefix: ClassVar[str] = "wm"
    trigger_size: int = 100  # |D_T|, as in the paper
    labels: str = "random"  # random: a label other than the source label (DAWN); source: keep it
    source: str = "auto"  # auto | noise | a dataset name
    batch_size: int = 16  # CONF's wm batch
    embed: str = "epoch"  # epoch: a pass over D_T after each epoch (CONF); interleave: k per batch
    interleave_k: int = 8
    decoupled: bool = False  # Section 7: a plain optimizer step for D_T, outside DP-SGD and PGD

    def __post_init__(self) -> None:
        _integer("wm.trigger_size", self.trigger_size)
        _choice("wm.labels", self.labels, ("random", "source"))
        if not isinstance(self.source, str) or not (
            self.source in ("auto", "noise") + DATASETS or self.source.startswith("imagefolder:")
        ):
            raise _fail("wm.source", self.source, "auto, noise, imagefolder:PATH or one of " + ", ".join(DATASETS))
        _integer("wm.batch_size", self.batch_size)
        _choice("wm.embed", self.embed, ("epoch", "interleave"))
        _integer("wm.interleave_k", self.interleave_k)
        _boolean("wm.decoupled", self.decoupled)


@dataclass(frozen=True, kw_only=True, slots=True)
class RadConfig(_Section):
    """Radioactive data (Sablayrolles et al., ICML 2020), verified black-box (Tekgul & Asokan 2022).

    Marked datasets are cached under ``$EXPLORER_CACHE_DIR`` (default ``~/.cache/explorer``).
    """

    prefix: ClassVar[str] = "rad"
    ratio: float = 0.1  # fraction of training images replaced by marked copies
    radius: float = 25 / 255  # L∞ bound of the marks in pixel units (RAD: 10/255; too weak for MNIST, docs/metrics.md)
    iterations: int = 50  # mark optimisation steps
    optimizer: str = "adam"  # adam, or sgd (momentum 0.9, RAD's script)
    lr: float = 1.0  # the mark optimiser's step size; Adam at 1.0 steps onto the ball's surface (docs/metrics.md)
    lambda_ft: float = 0.01  # feature-distance penalty (RAD's README example)
    lambda_img: float = 0.0005  # pixel-distance penalty, on [0, 1] pixels (RAD's README example)
    lambda_logit: float = 100.0  # ours: keeps the marking network's logits, so marks alone do not move the loss
    marking_epochs: int = 5  # epochs of the marking network on clean data
    marking_model: str | None = None  # path to a state_dict of the trial's architecture
    decoupled: bool = False  # Section 7: marked images trained outside DP-SGD and PGD

    def __post_init__(self) -> None:
        _number("rad.ratio", self.ratio, lo=0, hi=1, hi_open=True)
        _number("rad.radius", self.radius, lo=0, hi=1)
        _integer("rad.iterations", self.iterations)
        _choice("rad.optimizer", self.optimizer, ("adam", "sgd"))
        _number("rad.lr", self.lr, lo=0)
        _number("rad.lambda_ft", self.lambda_ft, lo=0, lo_open=False)
        _number("rad.lambda_img", self.lambda_img, lo=0, lo_open=False)
        _number("rad.lambda_logit", self.lambda_logit, lo=0, lo_open=False)
        _integer("rad.marking_epochs", self.marking_epochs)
        if self.marking_model is not None and (not isinstance(self.marking_model, str) or not self.marking_model):
            raise _fail("rad.marking_model", self.marking_model, "a path string or null")
        _boolean("rad.decoupled", self.decoupled)


@dataclass(frozen=True, kw_only=True, slots=True)
class DIConfig(_Section):
    """Dataset inference with Blind Walk embeddings (Maini et al., ICLR 2021)."""

    prefix: ClassVar[str] = "di"
    samples: int | None = None  # train and test samples embedded each; None: min(1000, available)
    max_steps: int = 50  # the reference's walk length
    independent: bool = False  # Table 10: train on half A, test a model trained on half B and unseen images
    rows: str = "reference"  # the notebooks' rows, each 30 samples' values of one feature; "sample": one per row

    def __post_init__(self) -> None:
        if self.samples is not None:
            _integer("di.samples", self.samples, lo=4)  # half trains the regressor; under 20, each draw takes all
        _integer("di.max_steps", self.max_steps)
        _boolean("di.independent", self.independent)
        _choice("di.rows", self.rows, ("sample", "reference"))


_MECHANISM_SECTIONS: dict[str, type[_Section]] = {
    "dp": DPConfig, "adv": AdvConfig, "wm": WMConfig, "rad": RadConfig, "di": DIConfig,
}
_COMMON_SECTIONS: dict[str, type[_Section]] = {"data": DataConfig, "train": TrainConfig, "eval": EvalConfig}
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
        raise _fail("mechanisms", value, "a list of mechanism names or a string like 'dp,wm'")
    for name in items:
        if name not in MECHANISMS:
            raise _fail("mechanisms", name, "one of " + ", ".join(MECHANISMS))
    if len(set(items)) != len(items):
        raise _fail("mechanisms", value, "each mechanism at most once")
    return tuple(sorted(items))


def mechanisms_name(mechanisms: tuple[str, ...]) -> str:
    """The canonical ``mechanisms`` column value: sorted names joined by '+', or 'none'."""
    return "+".join(sorted(mechanisms)) or "none"


def _check_dataset(key: str, value: Any) -> None:
    if not isinstance(value, str) or not (value in DATASETS or (
            value.startswith("imagefolder:") and len(value) > len("imagefolder:"))):
        raise _fail(key, value, "imagefolder:PATH or one of " + ", ".join(DATASETS))


@dataclass(frozen=True, kw_only=True, slots=True)
class TrialConfig:
    """One trial: a dataset, a model and a set of mechanisms with their knobs, under one seed."""

    dataset: str = "digits"
    model: str = "auto"  # auto: cnn4 for 28x28 grey images, resnet20 for 32x32 colour, tiny otherwise
    mechanisms: tuple[str, ...] = ()
    seed: int = 0
    experiment: str = "default"
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    dp: DPConfig | None = None
    adv: AdvConfig | None = None
    wm: WMConfig | None = None
    rad: RadConfig | None = None
    di: DIConfig | None = None

    def __post_init__(self) -> None:
        _check_dataset("dataset", self.dataset)
        _choice("model", self.model, MODELS)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise _fail("seed", self.seed, "an integer >= 0")
        if not isinstance(self.experiment, str) or not self.experiment:
            raise _fail("experiment", self.experiment, "a non-empty string")
        if tuple(sorted(self.mechanisms)) != self.mechanisms:
            object.__setattr__(self, "mechanisms", parse_mechanisms(list(self.mechanisms)))
        for name in _MECHANISM_SECTIONS:
            present = getattr(self, name) is not None
            if present and name not in self.mechanisms:
                raise _fail(f"{name}.*", "set", f"no {name}.* keys unless '{name}' is in mechanisms "
                            f"({mechanisms_name(self.mechanisms)})")
            if not present and name in self.mechanisms:
                object.__setattr__(self, name, _MECHANISM_SECTIONS[name]())
        if self.wm is not None and self.wm.source not in ("auto", "noise") and self.wm.source == self.dataset:
            raise _fail("wm.source", self.wm.source, "an out-of-distribution source, not the training dataset")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrialConfig:
        """Build from flat dotted keys (``{"dp.target_epsilon": 3}``), nested sections, or both."""
        if not isinstance(values, Mapping):
            raise _fail("config", type(values).__name__, "a mapping of keys to values")
        top: dict[str, Any] = {}
        sections: dict[str, dict[str, Any]] = {}
        for key, value in values.items():
            if not isinstance(key, str):
                raise _fail("config key", key, "a string")
            head, _, rest = key.partition(".")
            if head in _TOP_KEYS and not rest:
                top[head] = value
            elif head in _MECHANISM_SECTIONS or head in _COMMON_SECTIONS:
                if rest:
                    sections.setdefault(head, {})[rest] = value
                elif isinstance(value, Mapping):
                    sections.setdefault(head, {}).update(value)
                elif value is not None:
                    raise _fail(key, value, f"a mapping of {head}.* keys")
            else:
                allowed = ", ".join(_TOP_KEYS + tuple(f"{s}.*" for s in (*_COMMON_SECTIONS, *_MECHANISM_SECTIONS)))
                raise _fail(key, value, f"a known key: {allowed}")
        mechanisms = parse_mechanisms(top.pop("mechanisms", ()))
        for head, given in sections.items():
            if head in _MECHANISM_SECTIONS and head not in mechanisms and given:
                key, value = next(iter(given.items()))
                raise _fail(f"{head}.{key}", value, f"no {head}.* keys unless '{head}' is in mechanisms "
                            f"(here: {mechanisms_name(mechanisms)})")
        kwargs: dict[str, Any] = dict(top, mechanisms=mechanisms)
        for name, cls_ in {**_COMMON_SECTIONS, **_MECHANISM_SECTIONS}.items():
            if name in sections:
                kwargs[name] = cls_.from_mapping(sections[name])
        return cls(**kwargs)

    def flat(self) -> dict[str, Any]:
        """Every hyperparameter as a dotted key; absent mechanisms give no keys."""
        out: dict[str, Any] = {
            "experiment": self.experiment, "dataset": self.dataset, "model": self.model,
            "mechanisms": mechanisms_name(self.mechanisms), "seed": self.seed,
        }
        for name in (*_COMMON_SECTIONS, *_MECHANISM_SECTIONS):
            section = getattr(self, name)
            if section is not None:
                out.update(section.flat())
        return out

    def config_id(self) -> str:
        """Hash of the configuration without seed and experiment: replicates share it."""
        flat = {k: v for k, v in self.flat().items() if k not in ("seed", "experiment", "data.dir", "train.device")}
        return hashlib.sha256(json.dumps(flat, sort_keys=True, default=str).encode()).hexdigest()[:12]

    def replace(self, **changes: Any) -> TrialConfig:
        return dataclasses.replace(self, **changes)
