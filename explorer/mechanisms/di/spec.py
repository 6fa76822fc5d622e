"""Dataset inference (Maini, Yaghini & Papernot, ICLR 2021) with Blind Walk embeddings: config and spec."""

from __future__ import annotations


from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from explorer_core.config import Section, boolean, choice, integer
from explorer_core.spec import Cost, MechanismSpec, Metric, Rule, Threshold

__all__ = ["DIConfig", "SPEC"]


@dataclass(frozen=True, kw_only=True, slots=True)
class DIConfig(Section):
    """Dataset inference with Blind Walk embeddings (Maini et al., ICLR 2021)."""

    prefix: ClassVar[str] = "di"
    samples: int | None = None  # train and test samples embedded each; None: min(1000, available)
    max_steps: int = 50  # the reference's walk length
    independent: bool = False  # Table 10: train on half A, test a model trained on half B and unseen images
    rows: str = "reference"  # the notebooks' rows, each 30 samples' values of one feature; "sample": one per row

    def __post_init__(self) -> None:
        if self.samples is not None:
            integer("di.samples", self.samples, lo=4)  # half trains the regressor; under 20, each draw takes all
        integer("di.max_steps", self.max_steps)
        boolean("di.independent", self.independent)
        choice("di.rows", self.rows, ("sample", "reference"))


def _walk_passes(config: Mapping[str, Any], n: int, n_test: int, factor: float) -> float:
    """Blind Walk, forward only, walks stop halfway on average; twice plus a plain model when independent."""
    samples = config.get("di.samples") or min(1000, n, n_test)
    walk = 2 * samples * 30 * config.get("di.max_steps", 50) / 2 / 3
    if config.get("di.independent"):
        return float(walk + config.get("train.epochs", 5) * n / 2 + walk)
    return float(walk)


SPEC = MechanismSpec(
    name="di",
    title="dataset inference",
    paper="Maini, Yaghini & Papernot, Dataset Inference: Ownership Resolution in Machine Learning, ICLR 2021",
    config_cls=DIConfig,
    mechanism="explorer.mechanisms.di.mechanism:DatasetInference",
    order=5,  # with ``independent`` it selects the training half before anything marks it
    metrics=(
        Metric("di.p_value", "min", "p", "DI p-value (all held-out rows)", log_scale=True),
        Metric("di.p_value_m10", "min", "p", "DI p-value (m = 10, harmonic mean)", log_scale=True),
        Metric("di.p_value_independent", "min", "p", "DI p-value (model trained on half B)", log_scale=True,
               searchable=False, optional=True),  # only with di.independent
        Metric("di.p_value_unseen", "min", "p", "DI p-value (unseen half B as members)", log_scale=True,
               searchable=False, optional=True),
    ),
    objective="di.p_value",
    rule=Rule("di.p_value", "max", Threshold("di_p", 1e-3, 0, 1, True, True, "a p-value DI must stay below")),
    smoke_caps={"di.samples": 32, "di.max_steps": 10},
    cost=Cost(passes=_walk_passes),
    knob_labels={"di.samples": "DI samples"},
)
