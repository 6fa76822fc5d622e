"""What the ``gauss`` mechanism does: noise on every training batch, accuracy under noise at the end."""

from __future__ import annotations

from typing import ClassVar

import torch

from explorer.api import Batch, Mechanism, MechanismSpec, TrainState, TrialContext, accuracy, attack_mode, to_float

from .spec import SPEC

__all__ = ["GaussianNoise"]


class GaussianNoise(Mechanism):
    """Adds N(0, σ²) to the rows of each batch that no other mechanism injected (``Batch.aux``: triggers
    stay as they are) and clips to [0, 1]; draws come from this mechanism's device stream (DESIGN 4)."""

    spec: ClassVar[MechanismSpec] = SPEC

    def transform_batch(self, ctx: TrialContext, state: TrainState, batch: Batch) -> Batch:
        if self.config.sigma == 0:
            return batch
        g = self.device_generator
        noise = torch.randn(batch.x.shape, generator=g, device=g.device).to(batch.x.device) * self.config.sigma
        noisy = (batch.x + noise * (~batch.aux).view(-1, *([1] * (batch.x.dim() - 1)))).clamp_(0, 1)
        return Batch(noisy, batch.y, batch.aux)

    def evaluate(self, ctx: TrialContext, state: TrainState) -> dict[str, float]:
        sigma = self.config.sigma if self.config.eval_sigma is None else self.config.eval_sigma
        x, y, g = ctx.data.test_x, ctx.data.test_y, self.generator  # the CPU stream: same noise everywhere
        total = 0.0
        with attack_mode(state.model):
            for _ in range(self.config.eval_draws):
                noise = torch.randn(x.shape, generator=g).to(x.device) * sigma
                total += accuracy(state.network, (to_float(x) + noise).clamp_(0, 1), y, ctx.config.eval.batch_size)
        return {"noisy_acc": total / self.config.eval_draws}
