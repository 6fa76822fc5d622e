"""What the ``gauss`` mechanism is: its knobs, metric, conflict rule, smoke caps and cost. Torch-free.

Gaussian-noise data augmentation is the training side of randomised smoothing (Cohen, Rosenfeld & Kolter,
"Certified Adversarial Robustness via Randomized Smoothing", ICML 2019): a model trained on inputs with
N(0, σ²) noise keeps its accuracy under that noise, which is what a smoothed classifier needs. Its
protection metric, ``gauss.noisy_acc``, is the test accuracy under noise of the evaluation σ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from explorer.api import Cost, MechanismSpec, Metric, Rule, Section, Threshold, integer, number

__all__ = ["GaussConfig", "SPEC"]


@dataclass(frozen=True, kw_only=True, slots=True)
class GaussConfig(Section):
    """Noise std in pixel units ([0, 1] images, clipped after adding); ``eval_sigma`` None: ``sigma``."""

    prefix: ClassVar[str] = "gauss"
    sigma: float = 0.25  # Cohen et al.'s smallest CIFAR-10 σ
    eval_sigma: float | None = None
    eval_draws: int = 1  # noisy copies of each test image averaged into gauss.noisy_acc

    def __post_init__(self) -> None:
        number("gauss.sigma", self.sigma, lo=0, hi=1, lo_open=False)  # 0: no noise, which the mechanism handles
        if self.eval_sigma is not None:
            number("gauss.eval_sigma", self.eval_sigma, lo=0, hi=1, lo_open=False)
        integer("gauss.eval_draws", self.eval_draws)


def _eval_passes(config: Mapping[str, Any], n: int, n_test: int, factor: float) -> float:
    """Forward passes over the noisy test copies (a third of a training pass each)."""
    return config.get("gauss.eval_draws", 1) * n_test / 3


SPEC = MechanismSpec(
    name="gauss",
    title="Gaussian-noise augmentation",
    paper="Cohen, Rosenfeld & Kolter, Certified Adversarial Robustness via Randomized Smoothing, ICML 2019",
    config_cls=GaussConfig,
    mechanism="gaussian_noise.mechanism:GaussianNoise",
    order=40,  # after PGD: the noise lands on whatever the batch became
    metrics=(Metric("gauss.noisy_acc", "max", "fraction", "accuracy under Gaussian noise (fraction)"),),
    objective="gauss.noisy_acc",
    rule=Rule("gauss.noisy_acc", "drop_vs_baseline",
              Threshold("gauss", 0.10, 0, 1, True, False, "a drop of accuracy under noise below gauss alone")),
    smoke_caps={"gauss.eval_draws": 1},
    cost=Cost(passes=_eval_passes),
    knob_labels={"gauss.sigma": "noise σ (pixels, [0,1] scale)"},
)
