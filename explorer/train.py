"""The one training loop: SGD with a one-cycle schedule, mechanisms plugged in through the composer.

It knows no mechanism by name (metrics every trial reports, ``adv.acc``, come from the mechanisms' specs and
classes: ``Mechanism.evaluate_everywhere``). With no mechanism it is exactly a bare PyTorch loop (a test checks
this bit for bit): seeded init, a seeded permutation per epoch, one optimizer and one scheduler step
per batch.
"""

from __future__ import annotations

import math
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from explorer import registry, risks
from explorer.compose import Composer, attack_mode
from explorer.config import TrialConfig
from explorer.data import ImageData, load_dataset, subset, to_float, train_half
from explorer.mechanisms.base import Batch, TrainData, TrainState, TrialContext, default_step
from explorer.metrics import accuracy
from explorer.models import DEFAULT_LR, build_model, resolve_model
from explorer.seeding import derive_seed, generator
from explorer_core import registry as specs

__all__ = ["TrainingDiverged", "TrialOutput", "ShuffleSampler", "resolve_device",
           "make_context", "Run", "setup", "train_epoch", "snapshot", "restore", "train"]

#: Called after each epoch with (epoch index, {"loss", "acc"}, the run); may checkpoint it.
EpochCallback = Callable[[int, dict[str, float], "Run"], None]


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


class ShuffleSampler:
    """A seeded permutation per epoch, cut into batches (the last one may be smaller)."""

    def __init__(self, n: int, batch_size: int, gen: torch.Generator) -> None:
        self.n, self.batch_size, self.generator = n, batch_size, gen
        self.steps_per_epoch = math.ceil(n / batch_size)

    def epoch(self) -> list[torch.Tensor]:
        perm = torch.randperm(self.n, generator=self.generator, device=self.generator.device)
        return list(perm.split(self.batch_size))


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        from explorer.config import ConfigError

        raise ConfigError(f"train.device: got {name!r}, expected cpu or auto: no CUDA device is visible")
    return device


def make_context(config: TrialConfig, data: ImageData | None = None) -> TrialContext:
    """Load the data (seeded subsets) onto the trial's device and resolve the model name; ``data`` given: those
    splits as they are (a reference model's, say)."""
    device = resolve_device(config.train.device)
    if data is None:
        data = load_dataset(config.dataset, config.data.dir)
        data = subset(data, config.data.train_subset, config.data.test_subset, generator(config.seed, "subset"))
        if config.data.train_half is not None:
            data = train_half(data, config.data.train_half, generator(config.seed, "half"))
    return TrialContext(config, data.to(device), device, resolve_model(config.model, data.shape), _train_state)


def _train_state(config: TrialConfig, data: ImageData | None = None) -> TrainState:
    """Train a model of ``config`` with this loop (no evaluation); what ``TrialContext.train_model`` does."""
    run = setup(config, data)
    for epoch in range(config.train.epochs):
        train_epoch(run, epoch)
    return run.state


@dataclass
class TrialOutput:
    """What a finished run gives the row: metrics, caveats and cost figures."""

    metrics: dict[str, float]
    caveats: list[str]
    model_name: str
    device: str
    epochs: int
    train_seconds: float
    images: int
    peak_memory_mb: float
    resolved: dict[str, Any] = field(default_factory=dict)  # knobs the trial settled, e.g. adv.gamma, eval.gamma
    history: dict[str, list[float]] = field(default_factory=dict)  # per-epoch test figures (Run.history)
    eval_seconds: float = 0.0  # the final evaluation, every metric
    risk_seconds: float = 0.0  # of which the risk metrics (with the reference models when not yet cached)
    network: nn.Module | None = field(default=None, repr=False)  # the trained plain module
    composer: Composer | None = field(default=None, repr=False)


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _everywhere(ctx: TrialContext, state: TrainState, stream: str) -> dict[str, float]:
    """Every registered mechanism's ``everywhere`` metrics (``adv.acc``), with or without it in the trial."""
    out: dict[str, float] = {}
    for name, spec in specs.specs().items():
        if any(m.everywhere for m in spec.metrics):
            out.update(registry.get(name).evaluate_everywhere(ctx, state, stream))
    return out


def _resolved_everywhere(ctx: TrialContext) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in specs.specs().items():
        if any(m.everywhere for m in spec.metrics):
            out.update(registry.get(name).resolved_everywhere(ctx))
    return out


def _evaluate(ctx: TrialContext, composer: Composer, state: TrainState) -> tuple[dict[str, float], float]:
    """Every metric of the trained model, and the seconds the risk metrics took of it."""
    cfg = ctx.config
    risk_seconds = 0.0
    with attack_mode(state.model):
        metrics = {"acc": accuracy(state.network, ctx.data.test_x, ctx.data.test_y, cfg.eval.batch_size),
                   **_everywhere(ctx, state, "eval")}
        if cfg.eval.risks:
            t = time.perf_counter()
            metrics.update(risks.measure(ctx, state.network))
            risk_seconds = time.perf_counter() - t
    metrics.update(composer.evaluate(ctx, state))
    return metrics, risk_seconds


@dataclass
class Run:
    """A run set up and ready for its epochs: context, composer, wrapped state, schedule."""

    ctx: TrialContext
    composer: Composer
    state: TrainState
    scheduler: torch.optim.lr_scheduler.LRScheduler
    #: Test figures after each epoch: "acc" always, "adv.acc" with ``eval.epoch_adv`` (the paper's code picked
    #: its reported epoch from these; we report the final epoch, DESIGN 3.12).
    history: dict[str, list[float]] = field(default_factory=dict)


def setup(config: TrialConfig, data: ImageData | None = None) -> Run:
    """Data, mechanisms, model and optimizer, wrapped in canonical order. Raises ConfigError subclasses."""
    ctx = make_context(config, data)
    composer = Composer.from_context(ctx)
    cfg = config.train
    train_data = composer.prepare_data(ctx, TrainData(ctx.data.train_x, ctx.data.train_y))
    torch.manual_seed(derive_seed(config.seed, "model"))
    network = build_model(ctx.model_name, ctx.data.shape, ctx.data.num_classes, ctx.data.mean, ctx.data.std)
    network = composer.prepare_model(ctx, network.to(ctx.device))  # type: ignore[assignment]
    lr = cfg.lr if cfg.lr is not None else DEFAULT_LR[ctx.model_name]
    optimizer = torch.optim.SGD(network.parameters(), lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    sampler = ShuffleSampler(len(train_data), cfg.batch_size, generator(config.seed, "data", ctx.device))
    state = TrainState(network, network, optimizer, nn.CrossEntropyLoss(), sampler, train_data, default_step)
    state = composer.wrap(ctx, state)
    # CONF's schedule: 20x warm-up to the peak at 30 %, momentum cycled +-0.05 around train.momentum
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        state.optimizer, max_lr=lr, div_factor=20, total_steps=cfg.epochs * state.sampler.steps_per_epoch,
        base_momentum=max(0.0, cfg.momentum - 0.05), max_momentum=min(0.999, cfg.momentum + 0.05))
    return Run(ctx, composer, state, scheduler)


def train_epoch(run: Run, epoch: int) -> tuple[float, int]:
    """One epoch of the sampled stream, then the mechanisms' after-epoch passes; returns (mean loss, images)."""
    ctx, state, composer = run.ctx, run.state, run.composer
    state.model.train()
    loss_sum, batches, images = torch.zeros((), device=ctx.device), 0, 0
    for idx in state.sampler.epoch():
        if len(idx):
            batch = composer.transform_batch(ctx, state, Batch.plain(to_float(state.train.x[idx]), state.train.y[idx]))
            loss_sum += state.step(state, batch.x, batch.y, None)
            batches += 1
            images += len(idx)
        run.scheduler.step()
    composer.after_epoch(ctx, state, epoch)
    loss = float(loss_sum) / max(batches, 1)
    if not math.isfinite(loss):
        raise TrainingDiverged(f"training loss became {loss} in epoch {epoch + 1}")
    return loss, images


def snapshot(run: Run, epochs_done: int, **extra: float) -> dict[str, object]:
    """Everything a resumed run needs: weights, optimizer, schedule, every generator, mechanism state."""
    return {
        "epochs_done": epochs_done,
        "network": run.state.network.state_dict(),
        "optimizer": run.state.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "sampler_rng": run.state.sampler.generator.get_state(),  # type: ignore[attr-defined]
        "mechanism_rngs": {m.name: m.generator.get_state() for m in run.composer.mechanisms},
        "mechanism_device_rngs": {m.name: m.device_generator.get_state() for m in run.composer.mechanisms},
        "mechanisms": {m.name: m.state_dict() for m in run.composer.mechanisms},
        "history": {k: list(v) for k, v in run.history.items()},
        "extra": dict(extra),
    }


def restore(run: Run, snap: dict[str, Any]) -> int:
    """Load a :func:`snapshot` into a freshly set-up run; returns the number of epochs already done."""
    run.state.network.load_state_dict(snap["network"])
    run.state.optimizer.load_state_dict(snap["optimizer"])
    run.scheduler.load_state_dict(snap["scheduler"])
    run.state.sampler.generator.set_state(snap["sampler_rng"])  # type: ignore[attr-defined]
    for m in run.composer.mechanisms:
        m.generator.set_state(snap["mechanism_rngs"][m.name])
        m.device_generator.set_state(snap["mechanism_device_rngs"][m.name])
        m.load_state_dict(snap["mechanisms"][m.name])
    run.history = {k: [float(x) for x in v] for k, v in snap.get("history", {}).items()}
    return int(snap["epochs_done"])


def train(config: TrialConfig, *, on_epoch: EpochCallback | None = None, log: bool = False,
          resume_from: dict[str, Any] | None = None) -> TrialOutput:
    """Train one protected model and evaluate it; ``resume_from`` is a :func:`snapshot`.

    Raises ConfigError subclasses for bad input and TrainingDiverged when the loss is not finite.
    """
    run = setup(config)
    ctx, epochs = run.ctx, config.train.epochs
    images, t0, loss, first = 0, time.perf_counter(), float("nan"), 0
    if resume_from is not None:
        first = restore(run, resume_from)
        images = int(resume_from["extra"].get("images", 0))
        t0 -= float(resume_from["extra"].get("train_seconds", 0.0))
        loss = float(resume_from["extra"].get("loss", float("nan")))
    for epoch in range(first, epochs):
        t_epoch = time.perf_counter()
        loss, n = train_epoch(run, epoch)
        images += n
        with attack_mode(run.state.model):
            acc = accuracy(run.state.network, ctx.data.test_x, ctx.data.test_y, config.eval.batch_size)
            run.history.setdefault("acc", []).append(acc)
            if config.eval.epoch_adv:
                for key, value in _everywhere(ctx, run.state, "eval.epoch").items():
                    run.history.setdefault(key, []).append(value)
        if log:
            print(f"epoch {epoch + 1}/{epochs}  loss {loss:.4f}  acc {acc:.4f}  "
                  f"({time.perf_counter() - t_epoch:.1f} s)", file=sys.stderr, flush=True)
        if on_epoch is not None:
            run_extra = {"images": images, "train_seconds": time.perf_counter() - t0}
            on_epoch(epoch, {"loss": loss, "acc": acc, **run_extra}, run)
    train_seconds = time.perf_counter() - t0

    t_eval = time.perf_counter()
    metrics, risk_seconds = _evaluate(ctx, run.composer, run.state)
    eval_seconds = time.perf_counter() - t_eval
    metrics["loss"] = loss
    return TrialOutput(metrics=metrics, caveats=run.composer.caveats, model_name=ctx.model_name,
                       device=str(ctx.device), epochs=epochs, train_seconds=train_seconds, images=images,
                       peak_memory_mb=_peak_memory_mb(ctx.device),
                       resolved={**_resolved_everywhere(ctx), **run.composer.resolved(ctx)}, history=run.history,
                       eval_seconds=eval_seconds, risk_seconds=risk_seconds,
                       network=run.state.network, composer=run.composer)
