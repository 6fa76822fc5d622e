"""PGD adversarial training (Madry et al., "Towards Deep Learning Models Resistant to Adversarial
Attacks", ICLR 2018), as the paper's ADVTR: every training batch is replaced by its PGD examples."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from explorer.attacks import PGD
from explorer.compose import attack_mode
from explorer.mechanisms.base import Batch, Mechanism, TrainState, TrialContext
from search_spaces.mechanisms.adv import SPEC, AdvConfig
from search_spaces.spec import MechanismSpec

__all__ = ["AdversarialTraining"]


class AdversarialTraining(Mechanism):
    """Madry-style training on L∞ PGD examples only (no clean-loss term), γ in pixel units; an unset γ
    is resolved per kind of input (``AdvConfig.resolved``).

    The attack runs in eval mode with Opacus's hooks off (no per-sample gradient records under DP).
    Rows other mechanisms injected (``Batch.aux``, e.g. watermark triggers) stay clean, as in CONF.
    """

    spec: ClassVar[MechanismSpec] = SPEC

    def __init__(self, config: AdvConfig, generator: torch.Generator) -> None:
        super().__init__(config, generator)
        self.attack: PGD | None = None

    def _pgd(self, ctx: TrialContext) -> PGD:
        if self.attack is None:
            cfg = self.config.resolved(ctx.data.shape[0])
            self.attack = PGD(gamma=cfg.gamma, steps=cfg.steps, step_size=cfg.step_size, random_start=cfg.random_start)
        return self.attack

    def resolved(self, ctx: TrialContext) -> dict[str, Any]:
        attack = self._pgd(ctx)
        return {"gamma": attack.gamma, "step_size": attack.step_size}

    def transform_batch(self, ctx: TrialContext, state: TrainState, batch: Batch) -> Batch:
        attack = self._pgd(ctx)
        attacked = ~batch.aux
        with attack_mode(state.model):
            if bool(attacked.all()):
                return Batch(attack(state.network, batch.x, batch.y, self.device_generator), batch.y, batch.aux)
            x = batch.x.clone()
            x[attacked] = attack(state.network, batch.x[attacked], batch.y[attacked], self.device_generator)
        return Batch(x, batch.y, batch.aux)
