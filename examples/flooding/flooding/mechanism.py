"""What the ``flood`` mechanism does: floods the trial's training loss; measures the test-minus-training loss."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import torch
from torch import nn

from explorer.api import Mechanism, MechanismSpec, TrainState, TrialContext, attack_mode, to_float

from .spec import SPEC

__all__ = ["FloodedLoss", "Flooding"]


class FloodedLoss(nn.Module):
    """``|l_i - b| + b`` of each sample's loss ``l_i`` under ``base``, then reduced as ``reduction`` says.

    A loss module with a ``reduction`` attribute ("mean", "sum" or "none"), as ``TrainState.criterion`` must be:
    DP-SGD's ghost clipping sets it to "none" to get the per-sample losses it clips.
    """

    def __init__(self, base: Any, level: float) -> None:
        super().__init__()
        self.base, self.level, self.reduction = base, level, "mean"

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        saved = self.base.reduction
        self.base.reduction = "none"
        try:
            per_sample = self.base(logits, target)
        finally:
            self.base.reduction = saved
        flooded = (per_sample - self.level).abs() + self.level
        if self.reduction == "none":
            return flooded
        return flooded.sum() if self.reduction == "sum" else flooded.mean()


class Flooding(Mechanism):
    """Wraps whatever training loss it finds (it does not own the criterion: another mechanism's loss stays
    inside), so the decoupled steps of Section 7 flood too (``TrainState.loss``)."""

    spec: ClassVar[MechanismSpec] = SPEC

    def wrap(self, ctx: TrialContext, state: TrainState) -> TrainState:
        if self.config.level == 0:
            return state
        return replace(state, criterion=FloodedLoss(state.criterion, self.config.level))

    def evaluate(self, ctx: TrialContext, state: TrainState) -> dict[str, float]:
        n = self.config.eval_samples
        ce = nn.CrossEntropyLoss()
        with attack_mode(state.model), torch.no_grad():
            test = ce(state.network(to_float(ctx.data.test_x[:n])), ctx.data.test_y[:n])
            train = ce(state.network(to_float(ctx.data.train_x[:n])), ctx.data.train_y[:n])
        return {"loss_gap": float(test - train)}
