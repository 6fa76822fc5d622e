"""PGD adversarial training (Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks",
ICLR 2018): config and spec."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from explorer_core.config import Section, boolean, integer, number
from explorer_core.spec import Cost, MechanismSpec, Metric, Rule, Threshold

__all__ = ["AdvConfig", "SPEC", "GREY_GAMMA", "COLOUR_GAMMA", "default_gamma"]


GREY_GAMMA = 0.1  # default L∞ radius for single-channel images (docs/metrics.md, "Default radii")
COLOUR_GAMMA = 8 / 255  # and for colour images: Madry et al.'s CIFAR-10 radius, RobustBench's L∞ standard


def default_gamma(channels: int) -> float:
    """The default PGD radius in pixel units for images with ``channels`` channels."""
    return GREY_GAMMA if channels == 1 else COLOUR_GAMMA


@dataclass(frozen=True, kw_only=True, slots=True)
class AdvConfig(Section):
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
            number("adv.gamma", self.gamma, lo=0, hi=1)
        integer("adv.steps", self.steps)
        if self.step_size is not None:
            number("adv.step_size", self.step_size, lo=0, hi=1)
        boolean("adv.random_start", self.random_start)

    def resolved(self, channels: int) -> AdvConfig:
        """This config with ``gamma`` and ``step_size`` filled in for images of ``channels`` channels."""
        gamma = self.gamma if self.gamma is not None else default_gamma(channels)
        step = self.step_size if self.step_size is not None else 2.5 * gamma / self.steps
        return dataclasses.replace(self, gamma=gamma, step_size=step)


def _pgd_passes(config: Mapping[str, Any]) -> float:
    """PGD steps per training image (run with DP hooks off, so not DP-inflated)."""
    return float(config.get("adv.steps", 10))


SPEC = MechanismSpec(
    name="adv",
    title="adversarial training (PGD)",
    paper="Madry et al., Towards Deep Learning Models Resistant to Adversarial Attacks, ICLR 2018",
    config_cls=AdvConfig,
    mechanism="explorer.mechanisms.adv.mechanism:AdversarialTraining",
    order=30,
    metrics=(Metric("adv.acc", "max", "fraction", "accuracy under PGD (fraction)", everywhere=True),),
    objective="adv.acc",
    rule=Rule("adv.acc", "drop_vs_baseline",
              Threshold("adv", 0.10, 0, 1, True, False, "a drop of accuracy under PGD below adv alone (0.1 = 10 pp)")),
    smoke_caps={"adv.steps": 3},
    cost=Cost(extra_per_image=_pgd_passes),
    knob_labels={"adv.gamma": "PGD γ (pixels, [0,1] scale)", "adv.steps": "PGD steps",
                 "adv.step_size": "PGD step size (pixels, [0,1] scale)"},
)
