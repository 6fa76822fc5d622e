"""DP-SGD (Abadi et al., "Deep Learning with Differential Privacy", CCS 2016): config and spec."""

from __future__ import annotations


from dataclasses import dataclass
from typing import ClassVar

from explorer_core.config import Section, choice, number
from explorer_core.spec import Cost, MechanismSpec, Metric

__all__ = ["DPConfig", "SPEC", "DP_FACTOR"]


@dataclass(frozen=True, kw_only=True, slots=True)
class DPConfig(Section):
    """DP-SGD through Opacus (Abadi et al., CCS 2016); σ is derived from the target ε."""

    prefix: ClassVar[str] = "dp"
    target_epsilon: float = 3.0  # the paper's ε
    delta: float = 1e-5  # the paper's δ for CIFAR-10 (1e-6 for MNIST/FMNIST in its presets)
    max_grad_norm: float = 1.0  # clipping bound C, as in CONF
    accountant: str = "rdp"  # rdp matches CONF; prv is Opacus 1.6's default
    grad_sample_mode: str = "ghost"  # fast gradient clipping; "hooks" for per-sample hooks

    def __post_init__(self) -> None:
        number("dp.target_epsilon", self.target_epsilon, lo=0)
        number("dp.delta", self.delta, lo=0, hi=1, hi_open=True)
        number("dp.max_grad_norm", self.max_grad_norm, lo=0)
        choice("dp.accountant", self.accountant, ("rdp", "prv"))
        choice("dp.grad_sample_mode", self.grad_sample_mode, ("ghost", "hooks"))


#: Image passes of a DP-SGD step relative to a plain one (per-sample clipping, Poisson batches, accounting).
DP_FACTOR = 2.5

SPEC = MechanismSpec(
    name="dp",
    title="DP-SGD",
    paper="Abadi et al., Deep Learning with Differential Privacy, CCS 2016",
    config_cls=DPConfig,
    mechanism="explorer.mechanisms.dp.mechanism:DPSGD",
    order=90,  # wraps last: Opacus must see the final data, model and optimizer
    metrics=(
        Metric("dp.epsilon", "min", "ε", "DP ε spent"),
        Metric("dp.noise_multiplier", "min", "σ", "DP noise multiplier σ (derived)", searchable=False),
    ),
    objective="dp.epsilon",
    rule=None,  # ε is guaranteed by the accountant; DP is judged on acc only
    cost=Cost(train_factor=DP_FACTOR),
    knob_labels={"dp.target_epsilon": "DP ε (target)", "dp.delta": "DP δ", "dp.max_grad_norm": "DP clipping norm C"},
)
