"""DP-SGD (Abadi et al., "Deep Learning with Differential Privacy", CCS 2016) through Opacus 1.6.

σ is derived from the target ε for every optimizer step the run will take (extra steps such as the
watermark's trigger passes included), so the spent ``dp.epsilon`` never exceeds the target.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any, ClassVar

import torch
from opacus import PrivacyEngine
from opacus.accountants.utils import get_noise_multiplier
from opacus.validators import ModuleValidator
from torch.utils.data import DataLoader, TensorDataset

from explorer.config import ConfigError
from explorer.mechanisms.dp import conv_norms  # noqa: F401  (registers the Conv2d norm sampler with Opacus)
from explorer.mechanisms.base import Mechanism, TrainState, TrialContext, default_step
from explorer.mechanisms.dp.spec import SPEC, DPConfig
from explorer_core.spec import MechanismSpec

__all__ = ["DPSGD", "PoissonSampler"]

# Known, understood Opacus messages: secure RNG is a deployment choice, not a research one; the ghost
# clipping backward hook note and the RDP order hint do not change results.
for _message in ("Secure RNG turned off", "Full backward hook is firing", "Optimal order is the largest alpha"):
    warnings.filterwarnings("ignore", message=_message)


class PoissonSampler:
    """Poisson sampling on index tensors: each example joins each batch with probability q (Opacus's rule)."""

    def __init__(self, n: int, sample_rate: float, gen: torch.Generator) -> None:
        self.n, self.sample_rate, self.generator = n, sample_rate, gen
        self.steps_per_epoch = round(1 / sample_rate)

    def epoch(self) -> list[torch.Tensor]:
        device = self.generator.device
        return [(torch.rand(self.n, generator=self.generator, device=device) < self.sample_rate).nonzero().flatten()
                for _ in range(self.steps_per_epoch)]


def _dp_step(state: TrainState, x: torch.Tensor, y: torch.Tensor, batch_size: int | None = None) -> torch.Tensor:
    # Opacus averages by the expected batch size; an extra pass (triggers) averages by its own batch size,
    # as Opacus 0.14 did in the paper's code.
    opt: Any = state.optimizer
    saved = opt.expected_batch_size
    if batch_size is not None:
        opt.expected_batch_size = batch_size
    try:
        return default_step(state, x, y)
    finally:
        opt.expected_batch_size = saved


class DPSGD(Mechanism):
    """Per-sample clipping to ``max_grad_norm`` and Gaussian noise; Poisson sampling; RDP (or PRV) accounting.

    Fast gradient clipping ("ghost" mode) by default: Opacus computes per-sample gradient norms
    without materialising per-sample gradients; convolutions use the norm sampler of
    :mod:`explorer.mechanisms.dp.conv_norms`.
    """

    spec: ClassVar[MechanismSpec] = SPEC
    owns: ClassVar[frozenset[str]] = frozenset({"optimizer"})

    def __init__(self, config: DPConfig, generator: torch.Generator) -> None:
        super().__init__(config, generator)
        self.engine: PrivacyEngine | None = None
        self.noise_multiplier = float("nan")

    def problems(self, ctx: TrialContext, others: list[Mechanism]) -> list[str]:
        n = len(ctx.data.train_y)
        if ctx.config.train.batch_size >= n:
            return [f"train.batch_size: got {ctx.config.train.batch_size}, expected fewer than the {n} training "
                    "samples for DP-SGD's Poisson sampling"]
        return []

    def prepare_model(self, ctx: TrialContext, model: torch.nn.Module) -> torch.nn.Module:
        errors = ModuleValidator.validate(model, strict=False)
        if errors:
            raise ValueError(f"model {ctx.model_name} is not DP-compatible: {errors[0]}")
        return model

    def wrap(self, ctx: TrialContext, state: TrainState) -> TrainState:
        cfg, train = self.config, ctx.config.train
        loader = DataLoader(TensorDataset(torch.arange(len(state.train))), batch_size=train.batch_size)
        sample_rate = 1 / len(loader)  # what Opacus's accountant hook will use
        sampler = PoissonSampler(len(state.train), sample_rate, state.sampler.generator)  # type: ignore[attr-defined]
        steps = train.epochs * (sampler.steps_per_epoch + state.extra_steps_per_epoch)
        try:
            self.noise_multiplier = get_noise_multiplier(
                target_epsilon=cfg.target_epsilon, target_delta=cfg.delta, sample_rate=sample_rate, steps=steps,
                accountant=cfg.accountant)
        except ValueError as err:  # Opacus: "The privacy budget is too low."
            raise ConfigError(f"dp.target_epsilon: got {cfg.target_epsilon}, expected a budget Opacus can reach "
                              f"for {steps} steps at sampling rate {sample_rate:.4g} ({err})") from None
        self.engine = PrivacyEngine(accountant=cfg.accountant)
        wrapped = self.engine.make_private(
            module=state.model, optimizer=state.optimizer, criterion=state.criterion, data_loader=loader,
            noise_multiplier=self.noise_multiplier, max_grad_norm=cfg.max_grad_norm, poisson_sampling=True,
            grad_sample_mode=cfg.grad_sample_mode, noise_generator=self.device_generator)
        if cfg.grad_sample_mode == "ghost":
            model, optimizer, criterion, _ = wrapped
        else:
            (model, optimizer, _), criterion = wrapped, state.criterion
        return replace(state, model=model, optimizer=optimizer, criterion=criterion, sampler=sampler, step=_dp_step,
                       plain_criterion=state.loss)

    def evaluate(self, ctx: TrialContext, state: TrainState) -> dict[str, float]:
        assert self.engine is not None
        eps = self.engine.get_epsilon(self.config.delta) if self.engine.accountant.history else 0.0
        return {"epsilon": float(eps), "noise_multiplier": self.noise_multiplier}

    def state_dict(self) -> dict[str, Any]:
        return {"accountant": self.engine.accountant.state_dict() if self.engine else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.engine is not None and state.get("accountant") is not None:
            self.engine.accountant.load_state_dict(state["accountant"])

