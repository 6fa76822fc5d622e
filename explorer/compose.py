"""Composition of any set of mechanisms: canonical order, every problem at once, caveats as data (DESIGN 4)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from explorer import registry
from explorer.config import ConfigError
from explorer.mechanisms.base import Batch, Mechanism, TrainData, TrainState, TrialContext
from explorer.seeding import generator

__all__ = ["CompositionError", "Composer", "MissingMetric", "attack_mode", "hooks_off", "plain_step"]


class CompositionError(ConfigError):
    """The mechanisms cannot run together in this trial; the message lists every reason."""


class MissingMetric(RuntimeError):
    """A mechanism's ``evaluate`` left out a metric its spec declares: the trial is an error, with one line."""


@contextlib.contextmanager
def hooks_off(model: nn.Module, *, train: bool) -> Iterator[nn.Module]:
    """``model`` in train or eval mode with Opacus's per-sample hooks off; mode and hooks restored afterwards.

    Passes outside DP-SGD (PGD's attack, evaluation, Section 7's decoupled steps) must leave no per-sample
    gradient records; the plain module underneath keeps the same parameters.
    """
    was_training = model.training
    hooked = hasattr(model, "disable_hooks") and getattr(model, "hooks_enabled", False)
    if hooked:
        model.disable_hooks()  # type: ignore[operator]
    model.train(train)
    try:
        yield model
    finally:
        model.train(was_training)
        if hooked:
            model.enable_hooks()  # type: ignore[operator]


def attack_mode(model: nn.Module) -> contextlib.AbstractContextManager[nn.Module]:
    """Eval mode with Opacus's per-sample hooks off, restored afterwards (PGD and evaluation under DP-SGD)."""
    return hooks_off(model, train=False)


def plain_step(state: TrainState, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> None:
    """A non-private optimizer step on the shared parameters (Section 7's decoupled training), with the trial's
    training loss as it was before DP-SGD wrapped it (``TrainState.loss``)."""
    with hooks_off(state.model, train=True):
        optimizer.zero_grad(set_to_none=True)
        state.loss(state.network(x), y).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


class Composer:
    """Runs the hooks of a canonically ordered set of mechanisms; the training loop talks only to this."""

    def __init__(self, ctx: TrialContext, mechanisms: list[Mechanism]) -> None:
        self.mechanisms = sorted(mechanisms, key=lambda m: m.order)
        problems: list[str] = []
        owners: dict[str, str] = {}
        for m in self.mechanisms:
            for thing in m.owns:
                if thing in owners:
                    problems.append(f"{owners[thing]} and {m.name} both need exclusive control of the {thing}")
                owners[thing] = m.name
        for m in self.mechanisms:
            others = [o for o in self.mechanisms if o is not m]
            problems += m.problems(ctx, others)
        if problems:
            raise CompositionError("; ".join(problems))
        self.caveats = [c for m in self.mechanisms for c in m.caveats(ctx, [o for o in self.mechanisms if o is not m])]

    @classmethod
    def from_context(cls, ctx: TrialContext) -> Composer:
        """One mechanism per name in the config, with generators keyed by (seed, name): a CPU one for what
        defines it (identical on every device) and one on the trial's device for per-step draws."""
        mechs = []
        for name in ctx.config.mechanisms:
            mech_cls = registry.get(name)
            mech = mech_cls(getattr(ctx.config, name), generator(ctx.config.seed, name, "cpu"))
            mech.device_generator = generator(ctx.config.seed, f"{name}/device", ctx.device)
            mechs.append(mech)
        return cls(ctx, mechs)

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.mechanisms]

    def prepare_data(self, ctx: TrialContext, train: TrainData) -> TrainData:
        for m in self.mechanisms:
            train = m.prepare_data(ctx, train)
        return train

    def prepare_model(self, ctx: TrialContext, model: nn.Module) -> nn.Module:
        for m in self.mechanisms:
            model = m.prepare_model(ctx, model)
        return model

    def wrap(self, ctx: TrialContext, state: TrainState) -> TrainState:
        for m in self.mechanisms:
            state = m.wrap(ctx, state)
        return state

    def transform_batch(self, ctx: TrialContext, state: TrainState, batch: Batch) -> Batch:
        for m in self.mechanisms:
            batch = m.transform_batch(ctx, state, batch)
        return batch

    def after_epoch(self, ctx: TrialContext, state: TrainState, epoch: int) -> None:
        for m in self.mechanisms:
            m.after_epoch(ctx, state, epoch)

    def resolved(self, ctx: TrialContext) -> dict[str, Any]:
        """Every mechanism's settled knobs as dotted keys (``adv.gamma``)."""
        return {f"{m.name}.{k}": v for m in self.mechanisms for k, v in m.resolved(ctx).items()}

    def evaluate(self, ctx: TrialContext, state: TrainState) -> dict[str, float]:
        """Every mechanism's metrics, namespaced; a declared metric (neither ``everywhere`` nor ``optional`` in
        its spec) that ``evaluate`` left out makes the trial an error (:class:`MissingMetric`), not a silent
        NaN in its row."""
        metrics: dict[str, float] = {}
        for m in self.mechanisms:
            for key, value in m.evaluate(ctx, state).items():
                full = key if key.startswith(f"{m.name}.") else f"{m.name}.{key}"
                if full in metrics:
                    raise AssertionError(f"metric {full} reported twice")
                metrics[full] = value
            spec = getattr(m, "spec", None)
            declared = [d.name for d in spec.metrics if not (d.everywhere or d.optional)] if spec is not None else []
            missing = [name for name in declared if name not in metrics]
            if missing:
                raise MissingMetric(f"{m.name}: evaluate() did not report {', '.join(missing)}, which its spec "
                                    "declares (mark a metric reported only in some settings optional=True)")
        return metrics
