"""Out-of-distribution trigger-set watermark (Adi et al., "Turning Your Weakness Into a Strength",
USENIX Security 2018): config and spec."""

from __future__ import annotations


from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from explorer_core.config import DATASETS, Section, boolean, choice, fail, integer
from explorer_core.spec import Cost, MechanismSpec, Metric, Rule, Threshold

__all__ = ["WMConfig", "SPEC"]


@dataclass(frozen=True, kw_only=True, slots=True)
class WMConfig(Section):
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
        integer("wm.trigger_size", self.trigger_size)
        choice("wm.labels", self.labels, ("random", "source"))
        if not isinstance(self.source, str) or not (
            self.source in ("auto", "noise") + DATASETS or self.source.startswith("imagefolder:")
        ):
            raise fail("wm.source", self.source, "auto, noise, imagefolder:PATH or one of " + ", ".join(DATASETS))
        integer("wm.batch_size", self.batch_size)
        choice("wm.embed", self.embed, ("epoch", "interleave"))
        integer("wm.interleave_k", self.interleave_k)
        boolean("wm.decoupled", self.decoupled)

    def check_trial(self, dataset: str) -> None:
        if self.source not in ("auto", "noise") and self.source == dataset:
            raise fail("wm.source", self.source, "an out-of-distribution source, not the training dataset")


def _trigger_passes(config: Mapping[str, Any], n: int, n_test: int, factor: float) -> float:
    """The trigger pass each epoch, private unless decoupled."""
    epochs = config.get("train.epochs", 5)
    return float(epochs * config.get("wm.trigger_size", 100) * (1.0 if config.get("wm.decoupled") else factor))


SPEC = MechanismSpec(
    name="wm",
    title="backdoor watermark",
    paper="Adi et al., Turning Your Weakness Into a Strength, USENIX Security 2018",
    config_cls=WMConfig,
    mechanism="explorer.mechanisms.wm.mechanism:Watermark",
    order=20,
    metrics=(
        Metric("wm.acc", "max", "fraction", "watermark accuracy on D_T (fraction)"),
        Metric("wm.log10_p", "min", "log10", "watermark log10 p (Eq. 3)"),
    ),
    objective="wm.acc",
    rule=Rule("wm.acc", "drop_vs_baseline",
              Threshold("wm", 0.30, 0, 1, True, False, "a drop of watermark accuracy below wm alone (0.3 = 30 pp)")),
    smoke_caps={"wm.trigger_size": 16, "wm.batch_size": 16},
    cost=Cost(passes=_trigger_passes),
    variant_flags=("wm.decoupled",),
    knob_labels={"wm.trigger_size": "trigger-set size |D_T| (images)"},
)
