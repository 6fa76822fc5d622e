"""The mechanism protocol: stage hooks with no-op defaults, and the state they transform.

A mechanism is one small class. Transforming hooks (``prepare_data``, ``prepare_model``, ``wrap``,
``transform_batch``) return new values; ``after_epoch`` may run extra optimizer steps; ``evaluate``
returns the mechanism's own metrics, which the composer namespaces. The training loop calls the
composer, never a mechanism by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Protocol

import torch
from torch import nn

from explorer.config import TrialConfig
from explorer.data import ImageData
from explorer_core.spec import MechanismSpec

__all__ = ["OWNS", "Mechanism", "TrialContext", "TrainData", "Batch", "TrainState", "Sampler", "StepFn",
           "default_step"]

#: What a mechanism may own (``Mechanism.owns``), a closed set: two mechanisms owning the same thing cannot
#: compose, and the others ask this, never names.
OWNS: dict[str, str] = {
    "optimizer": "it replaces the optimizer step (DP-SGD's clipped, noised step); steps that bypass it "
                 "(Section 7's decoupled passes) void its guarantee and say so in a caveat",
    "criterion": "it replaces the training loss (TrainState.criterion) rather than wrapping the one it finds",
}


@dataclass(frozen=True)
class TrialContext:
    """What every hook may read: the validated config, the data on the trial's device, the model name,
    and ``train_model(config, data=None)``, which trains another model of a given config with the same loop
    (e.g. dataset inference's independent model; with ``data``, on those splits) and returns its final state."""

    config: TrialConfig
    data: ImageData
    device: torch.device
    model_name: str
    train_model: Callable[..., TrainState] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class TrainData:
    """The training stream: uint8 images and labels the sampler draws batches from."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Batch:
    """A float batch in [0, 1]; ``aux`` marks rows a mechanism injected (e.g. triggers), which PGD leaves clean."""

    x: torch.Tensor
    y: torch.Tensor
    aux: torch.Tensor  # bool [N]

    @classmethod
    def plain(cls, x: torch.Tensor, y: torch.Tensor) -> Batch:
        return cls(x, y, torch.zeros(len(y), dtype=torch.bool, device=y.device))


class Sampler(Protocol):
    """Yields index tensors of one epoch; ``steps_per_epoch`` is what the lr schedule is sized by."""

    steps_per_epoch: int

    def epoch(self) -> list[torch.Tensor]: ...


#: One optimizer step on (x, y); the int, when given, is the batch size gradients are averaged over.
StepFn = Callable[["TrainState", torch.Tensor, torch.Tensor, "int | None"], torch.Tensor]


@dataclass(frozen=True)
class TrainState:
    """The objects of a training run (a mechanism's ``wrap`` returns a changed copy, ``dataclasses.replace``).

    - ``model``: what the loop calls (possibly Opacus's wrapper); ``network``: the plain module underneath,
      sharing its parameters (attacks and evaluation use it).
    - ``optimizer``; ``criterion``: the training loss ``criterion(logits, labels) -> scalar``, a loss module
      with a ``reduction`` attribute ("mean", and "none" for per-sample losses, which DP-SGD's ghost clipping
      sets), like ``nn.CrossEntropyLoss``. A mechanism that changes the training loss replaces it in ``wrap``.
    - ``plain_criterion``: the loss for steps outside DP-SGD (Section 7's decoupled passes), the criterion as it
      was before DP-SGD wrapped it; None while nothing has wrapped it (``criterion`` is then that loss).
    - ``sampler``: the batches of an epoch; ``train``: the training stream; ``step``: one optimizer step.
    - ``extra_steps_per_epoch``: optimizer steps per epoch outside the sampled stream (e.g. trigger passes).
    """

    model: nn.Module
    network: nn.Module
    optimizer: torch.optim.Optimizer
    criterion: Callable[..., Any]
    sampler: Sampler
    train: TrainData
    step: StepFn
    extra_steps_per_epoch: int = 0
    plain_criterion: Callable[..., Any] | None = None

    @property
    def loss(self) -> Callable[..., Any]:
        """The training loss for a step outside DP-SGD: ``plain_criterion``, else ``criterion``."""
        return self.plain_criterion if self.plain_criterion is not None else self.criterion


class Mechanism:
    """Base class: every hook is a no-op. A subclass sets ``spec`` (its :class:`MechanismSpec`), which gives
    ``name``, ``order`` and ``config_cls``; it holds only what the mechanism does.

    ``order`` is the canonical stage priority: data-replacing mechanisms first (radioactive data),
    then data-appending ones (watermark), then batch transforms (PGD), and DP-SGD wraps last, so that
    Opacus sees the final data, model and optimizer.
    """

    spec: ClassVar[MechanismSpec]
    name: ClassVar[str]
    order: ClassVar[int]
    config_cls: ClassVar[type]
    #: What the mechanism takes over after ``wrap`` (``optimizer``: it replaces the optimizer step, as
    #: DP-SGD does); two mechanisms owning the same thing cannot compose. Others ask this, never names.
    owns: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        spec = cls.__dict__.get("spec")
        if spec is not None:
            cls.name, cls.order, cls.config_cls = spec.name, spec.order, spec.config_cls
        unknown = sorted(set(cls.owns) - set(OWNS))
        if unknown:
            raise TypeError(f"{cls.__qualname__}.owns: got {', '.join(map(repr, unknown))}, expected a subset of "
                            f"{', '.join(OWNS)} (explorer.api.OWNS)")

    def __init__(self, config: Any, generator: torch.Generator) -> None:
        self.config = config
        #: CPU stream for what defines the mechanism (trigger sets, marked subsets, carriers): the same
        #: draws on every device and in every combination.
        self.generator = generator
        #: Stream on the trial's device for per-step randomness (PGD starts, DP noise); the composer sets it.
        self.device_generator = generator

    def problems(self, ctx: TrialContext, others: list[Mechanism]) -> list[str]:
        """Reasons this trial cannot run (one line each); the composer raises them all at once."""
        return []

    def resolved(self, ctx: TrialContext) -> dict[str, Any]:
        """Knobs whose value the trial settled (defaults by kind of input); the row records them."""
        return {}

    def caveats(self, ctx: TrialContext, others: list[Mechanism]) -> list[str]:
        """Guarantees this combination voids; recorded in the row, training still runs."""
        return []

    def prepare_data(self, ctx: TrialContext, train: TrainData) -> TrainData:
        return train

    def prepare_model(self, ctx: TrialContext, model: nn.Module) -> nn.Module:
        return model

    def wrap(self, ctx: TrialContext, state: TrainState) -> TrainState:
        return state

    def transform_batch(self, ctx: TrialContext, state: TrainState, batch: Batch) -> Batch:
        return batch

    def after_epoch(self, ctx: TrialContext, state: TrainState, epoch: int) -> None:
        return None

    def evaluate(self, ctx: TrialContext, state: TrainState) -> dict[str, float]:
        return {}

    @classmethod
    def evaluate_everywhere(cls, ctx: TrialContext, state: TrainState, stream: str) -> dict[str, float]:
        """The spec's ``everywhere`` metrics, by full name, for a trial with or without this mechanism (the
        adversarial one measures ``adv.acc`` on every model, DESIGN 3.5). Eval mode is the caller's; draw
        randomness from ``generator(ctx.config.seed, stream, ctx.device)``: the loop asks once after training
        (``stream`` "eval") and, with ``eval.epoch_adv``, after every epoch ("eval.epoch")."""
        return {}

    @classmethod
    def resolved_everywhere(cls, ctx: TrialContext) -> dict[str, Any]:
        """Keys (full names, e.g. ``eval.gamma``) that :meth:`evaluate_everywhere` settled, for the row."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Mechanism state a checkpoint must carry (e.g. the privacy accountant)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None


def default_step(state: TrainState, x: torch.Tensor, y: torch.Tensor, batch_size: int | None = None) -> torch.Tensor:
    """zero_grad, forward, backward, step; returns the detached mean loss (``batch_size`` is for DP-SGD)."""
    state.optimizer.zero_grad(set_to_none=True)
    loss = state.criterion(state.model(x), y)
    loss.backward()
    state.optimizer.step()
    return loss.detach()
