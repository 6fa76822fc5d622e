"""Radioactive data (Sablayrolles et al., ICML 2020), verified black-box (Tekgul & Asokan 2022): config and
spec."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from explorer_core.config import Section, boolean, choice, fail, integer, number
from explorer_core.spec import Cost, MechanismSpec, Metric, Rule, Threshold

__all__ = ["LEGACY_RECIPE", "RadConfig", "SPEC"]

#: The marking recipe before decision 20 of docs/metrics.md (radius 25/255, logit penalty 100): what the committed
#: rows under results/reproduction were marked with and what the repro-* presets still set. Only these two knobs
#: changed default; rows record every knob, so an old row says its recipe itself.
LEGACY_RECIPE: dict[str, float] = {"rad.radius": 25 / 255, "rad.lambda_logit": 100.0}


@dataclass(frozen=True, kw_only=True, slots=True)
class RadConfig(Section):
    """Radioactive data (Sablayrolles et al., ICML 2020), verified black-box (Tekgul & Asokan 2022).

    The default marks (radius 32/255, λ_logit 10, RAD's random carriers) are the recipe chosen by
    ``benchmarks/rad_gap.py``'s sweep (docs/metrics.md, decision 20); :data:`LEGACY_RECIPE` is the one before
    it, which every row written before records in its ``rad.radius`` and ``rad.lambda_logit`` columns. Marked
    datasets are cached under ``$EXPLORER_CACHE_DIR`` (default ``~/.cache/explorer``).
    """

    prefix: ClassVar[str] = "rad"
    added_later: ClassVar[Mapping[str, Any]] = {"carriers": "random"}  # rows before decision 20 were random
    ratio: float = 0.1  # fraction of training images replaced by marked copies
    radius: float = 32 / 255  # L∞ bound of the marks in pixels (RAD: 10/255; ~ the attack's γ 0.125, docs/metrics.md)
    iterations: int = 50  # mark optimisation steps
    optimizer: str = "adam"  # adam, or sgd (momentum 0.9, RAD's script)
    lr: float = 1.0  # the mark optimiser's step size; Adam at 1.0 steps onto the ball's surface (docs/metrics.md)
    lambda_ft: float = 0.01  # feature-distance penalty (RAD's README example)
    lambda_img: float = 0.0005  # pixel-distance penalty, on [0, 1] pixels (RAD's README example)
    lambda_logit: float = 10.0  # ours: keeps the marking network's logits, so marks alone barely move the loss
    carriers: str = "random"  # random: RAD's; class: the marking network's class directions (fool clean models)
    marking_epochs: int = 5  # epochs of the marking network on clean data
    marking_model: str | None = None  # path to a state_dict of the trial's architecture
    decoupled: bool = False  # Section 7: marked images trained outside DP-SGD and PGD

    def __post_init__(self) -> None:
        number("rad.ratio", self.ratio, lo=0, hi=1, hi_open=True)
        number("rad.radius", self.radius, lo=0, hi=1)
        integer("rad.iterations", self.iterations)
        choice("rad.optimizer", self.optimizer, ("adam", "sgd"))
        number("rad.lr", self.lr, lo=0)
        number("rad.lambda_ft", self.lambda_ft, lo=0, lo_open=False)
        number("rad.lambda_img", self.lambda_img, lo=0, lo_open=False)
        number("rad.lambda_logit", self.lambda_logit, lo=0, lo_open=False)
        choice("rad.carriers", self.carriers, ("random", "class"))
        integer("rad.marking_epochs", self.marking_epochs)
        if self.marking_model is not None and (not isinstance(self.marking_model, str) or not self.marking_model):
            raise fail("rad.marking_model", self.marking_model, "a path string or null")
        boolean("rad.decoupled", self.decoupled)


def _marking_passes(config: Mapping[str, Any], n: int, n_test: int, factor: float) -> float:
    """The marking network (unless given) and the mark optimisation."""
    passes = 0.0 if config.get("rad.marking_model") else float(config.get("rad.marking_epochs", 5) * n)
    return passes + config.get("rad.iterations", 100) * config.get("rad.ratio", 0.1) * n


SPEC = MechanismSpec(
    name="rad",
    title="radioactive data",
    paper="Sablayrolles et al., Radioactive data: tracing through training, ICML 2020",
    config_cls=RadConfig,
    mechanism="explorer.mechanisms.rad.mechanism:Radioactive",
    order=10,  # replaces samples before the watermark appends its own
    metrics=(
        Metric("rad.loss_gap", "max", "nats", "radioactive loss gap (nats)"),
        Metric("rad.p_value", "min", "p", "radioactive p-value", log_scale=True),
        Metric("rad.psnr", "max", "dB", "radioactive PSNR (dB)", searchable=False),
    ),
    objective="rad.loss_gap",
    rule=Rule("rad.loss_gap", "fraction_of_baseline",
              Threshold("rad_rel", 0.05, 0, 1, False, True,
                        "a fraction of the rad-alone loss gap (0: the absolute rule rad_gap)"),
              absolute=Rule("rad.loss_gap", "min",
                            Threshold("rad_gap", 1e-2, 0, math.inf, False, True, "a loss gap in nats"))),
    smoke_caps={"rad.iterations": 5, "rad.marking_epochs": 1},
    cost=Cost(passes=_marking_passes),
    fixed_only=frozenset({"rad.marking_model"}),
    variant_flags=("rad.decoupled",),
    knob_labels={"rad.ratio": "radioactive ratio (fraction of training set)",
                 "rad.radius": "radioactive radius (pixels, [0,1] scale)"},
)
