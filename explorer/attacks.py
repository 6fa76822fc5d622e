"""Projected gradient descent under an L∞ bound in pixel units (Madry et al., ICLR 2018).

Our own ~30 lines instead of an attack library, so that the random start draws from the caller's
generator (DESIGN 3.4) and the inputs stay in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["PGD"]


@dataclass(frozen=True)
class PGD:
    """L∞ PGD: ``gamma`` radius and ``step_size`` in [0, 1] pixel units, sign-gradient ascent on cross-entropy."""

    gamma: float
    steps: int
    step_size: float
    random_start: bool = True

    def __call__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Adversarial copies of ``x``; the caller decides the model's mode and hook state."""
        if len(x) == 0:
            return x
        if self.random_start:
            noise = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            delta = (noise * 2 - 1) * self.gamma
        else:
            delta = torch.zeros_like(x)
        delta = (x + delta).clamp_(0, 1) - x
        for _ in range(self.steps):
            delta.requires_grad_(True)
            loss = F.cross_entropy(model(x + delta), y)
            grad, = torch.autograd.grad(loss, delta)
            delta = (delta.detach() + self.step_size * grad.sign()).clamp_(-self.gamma, self.gamma)
            delta = (x + delta).clamp_(0, 1) - x
        return (x + delta).detach()
