"""Backdoor watermarking with an out-of-distribution trigger set (Adi et al., "Turning Your Weakness Into a
Strength", USENIX Security 2018), embedded as in the paper's code (Szyller & Asokan, AAAI 2023)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch

from explorer.compose import attack_mode, plain_step
from explorer.config import ConfigError
from explorer.data import load_dataset, resize_to, to_float
from explorer.mechanisms.base import Batch, Mechanism, TrainState, TrialContext
from explorer.metrics import accuracy, watermark_log10_p
from explorer.mechanisms.wm.spec import SPEC, WMConfig
from explorer_core.spec import MechanismSpec

__all__ = ["Watermark", "default_source"]

_DEFAULT_SOURCES = {"mnist": "fashion_mnist", "fashion_mnist": "mnist", "cifar10": "gtsrb"}


def default_source(dataset: str) -> str:
    """FMNIST for MNIST, MNIST for FMNIST, GTSRB for CIFAR-10, uniform noise otherwise (DESIGN 3.8)."""
    return _DEFAULT_SOURCES.get(dataset, "noise")


class Watermark(Mechanism):
    """Trains |D_T| OOD images to assigned labels; verifies by trigger accuracy and Eq. 3's chance level.

    ``embed: epoch`` is CONF's recipe: after each training epoch, one pass over D_T (batches of
    ``batch_size``) through the same optimizer, so under DP-SGD the triggers are clipped and noised too.
    ``embed: interleave`` mixes ``interleave_k`` triggers into every batch instead. ``decoupled``
    (the paper's Section 7) trains D_T with a separate plain SGD step, outside DP-SGD and without PGD.
    """

    spec: ClassVar[MechanismSpec] = SPEC

    def __init__(self, config: WMConfig, generator: torch.Generator) -> None:
        super().__init__(config, generator)
        self.triggers: torch.Tensor | None = None  # float [n, C, H, W] on the trial's device
        self.labels: torch.Tensor | None = None
        self._plain_optimizer: torch.optim.Optimizer | None = None

    def source_name(self, ctx: TrialContext) -> str:
        return default_source(ctx.config.dataset) if self.config.source == "auto" else self.config.source

    def problems(self, ctx: TrialContext, others: list[Mechanism]) -> list[str]:
        cfg, out = self.config, []
        source = self.source_name(ctx)
        if cfg.decoupled and cfg.embed == "interleave":
            out.append("wm.decoupled: got True, expected wm.embed=epoch (interleaved triggers share the private step)")
        if source == "noise":
            if cfg.labels == "source":
                out.append("wm.labels: got 'source', expected 'random' for a noise trigger set (it has no labels)")
            return out
        try:
            pool = load_dataset(source, ctx.config.data.dir)
        except ConfigError as err:
            return out + [f"wm.source {source}: {err}"]
        if cfg.trigger_size > len(pool.test_y):
            out.append(f"wm.trigger_size: got {cfg.trigger_size}, expected at most {len(pool.test_y)} "
                       f"(the out-of-distribution pool: the {source} test split)")
        if cfg.labels == "source" and pool.num_classes > ctx.data.num_classes:
            out.append(f"wm.labels: got 'source', expected 'random': {source} has {pool.num_classes} classes, "
                       f"the model {ctx.data.num_classes}")
        return out

    def caveats(self, ctx: TrialContext, others: list[Mechanism]) -> list[str]:
        if self.config.decoupled and any("optimizer" in o.owns for o in others):
            return ["wm.decoupled: D_T is trained outside DP-SGD; the DP guarantee does not cover the trigger steps"]
        return []

    def _draw(self, ctx: TrialContext) -> None:
        """Select D_T from the source's test split (or draw noise) and assign labels, from this mechanism's stream."""
        cfg, g, m = self.config, self.generator, ctx.data.num_classes
        source = self.source_name(ctx)
        if source == "noise":
            c, h, w = ctx.data.shape
            x = torch.rand(cfg.trigger_size, c, h, w, generator=g, device=g.device)
            x = (x * 255).round().to(torch.uint8)
            src_labels = None
        else:
            pool = load_dataset(source, ctx.config.data.dir)
            idx = torch.randperm(len(pool.test_y), generator=g, device=g.device)[:cfg.trigger_size].cpu()
            x = resize_to(pool.test_x[idx], ctx.data.shape)
            src_labels = pool.test_y[idx].to(g.device)
        if cfg.labels == "source":
            assert src_labels is not None
            labels = src_labels
        elif src_labels is None:
            labels = torch.randint(0, m, (cfg.trigger_size,), generator=g, device=g.device)
        else:  # a label different from the source label (DAWN's another_label), uniform over the others
            shift = torch.randint(1, m, (cfg.trigger_size,), generator=g, device=g.device)
            labels = (src_labels % m + shift) % m
        self.triggers = to_float(x.to(ctx.device))
        self.labels = labels.to(ctx.device)

    def wrap(self, ctx: TrialContext, state: TrainState) -> TrainState:
        from dataclasses import replace

        self._draw(ctx)
        cfg = self.config
        if cfg.decoupled:
            self._plain_optimizer = torch.optim.SGD(state.network.parameters(), lr=0.0, momentum=0.9)
            return state
        if cfg.embed == "epoch":
            extra = math.ceil(cfg.trigger_size / cfg.batch_size)
            return replace(state, extra_steps_per_epoch=state.extra_steps_per_epoch + extra)
        return state

    def transform_batch(self, ctx: TrialContext, state: TrainState, batch: Batch) -> Batch:
        if self.config.embed != "interleave":
            return batch
        assert self.triggers is not None and self.labels is not None
        pick = torch.randint(0, len(self.labels), (self.config.interleave_k,), generator=self.generator,
                             device=self.generator.device).to(ctx.device)
        aux = torch.ones(len(pick), dtype=torch.bool, device=ctx.device)
        return Batch(torch.cat([batch.x, self.triggers[pick]]), torch.cat([batch.y, self.labels[pick]]),
                     torch.cat([batch.aux, aux]))

    def after_epoch(self, ctx: TrialContext, state: TrainState, epoch: int) -> None:
        if self.config.embed != "epoch":
            return
        assert self.triggers is not None and self.labels is not None
        perm = torch.randperm(len(self.labels), generator=self.generator, device=self.generator.device).to(ctx.device)
        for idx in perm.split(self.config.batch_size):
            x, y = self.triggers[idx], self.labels[idx]
            if self._plain_optimizer is not None:
                for group in self._plain_optimizer.param_groups:
                    group["lr"] = state.optimizer.param_groups[0]["lr"]  # follow the main schedule
                plain_step(state, self._plain_optimizer, x, y)
            else:
                state.step(state, x, y, len(idx))

    def state_dict(self) -> dict[str, Any]:
        return {"plain_optimizer": self._plain_optimizer.state_dict() if self._plain_optimizer else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self._plain_optimizer is not None and state.get("plain_optimizer") is not None:
            self._plain_optimizer.load_state_dict(state["plain_optimizer"])

    def evaluate(self, ctx: TrialContext, state: TrainState) -> dict[str, float]:
        assert self.triggers is not None and self.labels is not None
        with attack_mode(state.model):
            acc = accuracy(state.network, self.triggers, self.labels)
        return {"acc": acc, "log10_p": watermark_log10_p(acc, len(self.labels), ctx.data.num_classes)}
