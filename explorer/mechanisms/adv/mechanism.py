"""PGD adversarial training (Madry et al., "Towards Deep Learning Models Resistant to Adversarial
Attacks", ICLR 2018), as the paper's ADVTR: every training batch is replaced by its PGD examples."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from explorer.attacks import PGD
from explorer.compose import attack_mode
from explorer.config import TrialConfig
from explorer.data import to_float
from explorer.mechanisms.base import Batch, Mechanism, TrainState, TrialContext
from explorer.seeding import generator
from explorer.mechanisms.adv.spec import SPEC, AdvConfig
from explorer_core.spec import MechanismSpec

__all__ = ["AdversarialTraining", "eval_attack"]


def eval_attack(config: TrialConfig, channels: int) -> PGD:
    """The PGD behind ``adv.acc``: eval.* when set, else adv.* when adversarial training is on, else the
    defaults for images of ``channels`` channels (``AdvConfig.resolved``)."""
    base = (config.adv or AdvConfig()).resolved(channels)
    ev = config.eval
    assert base.gamma is not None and base.step_size is not None
    if ev.gamma is None and ev.steps is None:
        gamma, steps, step = base.gamma, base.steps, base.step_size
    else:
        gamma = ev.gamma if ev.gamma is not None else base.gamma
        steps = ev.steps if ev.steps is not None else base.steps
        step = 2.5 * gamma / steps
    if ev.step_size is not None:
        step = ev.step_size
    return PGD(gamma=gamma, steps=steps, step_size=step, random_start=True)


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

    @classmethod
    def evaluate_everywhere(cls, ctx: TrialContext, state: TrainState, stream: str) -> dict[str, float]:
        """``adv.acc``: accuracy on the first ``eval.adv_samples`` test images under :func:`eval_attack`, for
        every trial, so that "ADVTR alone vs ADVTR in a pair" compares like with like (DESIGN 3.5)."""
        cfg = ctx.config
        attack = eval_attack(cfg, ctx.data.shape[0])
        n = min(cfg.eval.adv_samples, len(ctx.data.test_y))
        gen = generator(cfg.seed, stream, ctx.device)
        correct = 0
        for i in range(0, n, cfg.eval.batch_size):
            x = to_float(ctx.data.test_x[i:min(i + cfg.eval.batch_size, n)])
            y = ctx.data.test_y[i:min(i + cfg.eval.batch_size, n)]
            x_adv = attack(state.network, x, y, gen)
            with torch.no_grad():
                correct += int((state.network(x_adv).argmax(1) == y).sum())
        return {"adv.acc": correct / n if n else float("nan")}

    @classmethod
    def resolved_everywhere(cls, ctx: TrialContext) -> dict[str, Any]:
        attack = eval_attack(ctx.config, ctx.data.shape[0])
        return {"eval.gamma": attack.gamma, "eval.steps": attack.steps, "eval.step_size": attack.step_size}

    def transform_batch(self, ctx: TrialContext, state: TrainState, batch: Batch) -> Batch:
        attack = self._pgd(ctx)
        attacked = ~batch.aux
        with attack_mode(state.model):
            if bool(attacked.all()):
                return Batch(attack(state.network, batch.x, batch.y, self.device_generator), batch.y, batch.aux)
            x = batch.x.clone()
            x[attacked] = attack(state.network, batch.x[attacked], batch.y[attacked], self.device_generator)
        return Batch(x, batch.y, batch.aux)
