"""What the ``flood`` mechanism is: its knobs, its lower-is-better metric and its rise rule. Torch-free.

Flooding (Ishida, Yamane, Sakai, Niu & Sugiyama, "Do We Need Zero Training Loss After Achieving Zero
Training Error?", ICML 2020) keeps the training loss from sinking below a flood level b: the loss l becomes
|l - b| + b, so that once the model fits its data it walks in the flat region around b instead of
memorising. Here per sample (Xie et al.'s "individual flood", 2022), which DP-SGD's per-sample losses need.
A model that memorises less leaks less about its training set: the protection metric, ``flood.loss_gap``,
is the mean cross-entropy on test images minus that on training images (lower is better), and a
combination is in conflict when that gap *rises* more than ``thresholds.flood`` above flooding alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from explorer.api import Cost, MechanismSpec, Metric, Rule, Section, Threshold, integer, number

__all__ = ["FloodConfig", "SPEC"]


@dataclass(frozen=True, kw_only=True, slots=True)
class FloodConfig(Section):
    """The flood level b in nats (0: plain training) and how many images each side of the gap averages."""

    prefix: ClassVar[str] = "flood"
    level: float = 0.1
    eval_samples: int = 1000

    def __post_init__(self) -> None:
        number("flood.level", self.level, lo=0, lo_open=False)
        integer("flood.eval_samples", self.eval_samples)


def _gap_passes(config: Mapping[str, Any], n: int, n_test: int, factor: float) -> float:
    """Forward passes over the images of the gap, each side (a third of a training pass each)."""
    return 2 * min(config.get("flood.eval_samples", 1000), n, n_test) / 3


SPEC = MechanismSpec(
    name="flood",
    title="flooding",
    paper="Ishida et al., Do We Need Zero Training Loss After Achieving Zero Training Error?, ICML 2020",
    config_cls=FloodConfig,
    mechanism="flooding.mechanism:Flooding",
    order=50,  # a loss wrapper: after the batch transforms, before DP-SGD wraps the loss it finds
    metrics=(Metric("flood.loss_gap", "min", "nats", "test minus training loss (nats)"),),
    objective="flood.loss_gap",
    # drop_vs_baseline follows the metric's direction: for a lower-is-better metric it is a rise rule
    rule=Rule("flood.loss_gap", "drop_vs_baseline",
              Threshold("flood", 0.10, 0, 10, True, False, "a rise of the test-minus-training loss (nats)")),
    smoke_caps={"flood.eval_samples": 64},
    cost=Cost(passes=_gap_passes),
    knob_labels={"flood.level": "flood level b (nats)"},
)
