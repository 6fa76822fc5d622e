"""Radioactive data (Sablayrolles, Douze, Schmid & Jégou, "Radioactive data: tracing through training",
ICML 2020), verified black-box by the loss gap of Tekgul & Asokan ("On the Effectiveness of Dataset
Watermarking in Adversarial Settings", 2022), as the paper's RADDATA (Szyller & Asokan, AAAI 2023)."""

from __future__ import annotations

import math
import os
import warnings
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats
from torch import nn

from explorer import cache
from explorer.compose import attack_mode, plain_step
from explorer.config import ConfigError
from explorer.data import to_float
from explorer.mechanisms.base import Mechanism, TrainData, TrainState, TrialContext
from explorer.models import DEFAULT_LR, Classifier, build_model
from explorer.seeding import derive_seed, generator
from explorer.mechanisms.rad.spec import SPEC, RadConfig
from explorer_core.spec import MechanismSpec

__all__ = ["Radioactive", "mark_images", "psnr"]

_CACHE_VERSION = 1  # bump when the marking recipe changes, so stale entries are not reused
_MARK_BATCH = 256  # images optimised together (independent per image: the models use GroupNorm)
_MARKING_BATCH = 64  # the marking network's training batch


def psnr(marked: torch.Tensor, clean: torch.Tensor) -> float:
    """PSNR in dB of uint8 images, the MSE pooled over all marked images (RAD's 20 log10 255 - 10 log10 MSE)."""
    mse = float(((marked.double() - clean.double()) ** 2).mean())
    return math.inf if mse == 0 else 20 * math.log10(255) - 10 * math.log10(mse)


def mark_images(net: Classifier, x: torch.Tensor, y: torch.Tensor, carriers: torch.Tensor,
                cfg: RadConfig) -> torch.Tensor:
    """Marked uint8 copies of uint8 images ``x``: features pushed along their class carrier.

    Per image, RAD's objective -(φ(x̃) - φ(x))·u_y + λ_ft ||φ(x̃) - φ(x)||₂ + λ_img ||x̃ - x||₂² (pixels in
    [0, 1]) plus ours, λ_logit ||h(φ(x̃)) - h(φ(x))||₂² on the marking network's logits h, so that the marks
    alone leave a clean model's loss unchanged (docs/metrics.md). x̃ stays in the L∞ ball of ``cfg.radius``
    and in [0, 1]; it is rounded to 8-bit pixels once at the end (RAD rounds every 10 steps; with an
    integer radius in 0-255 units the rounded marks stay in the ball).
    """
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    head: nn.Module = net.net.head  # type: ignore[assignment]
    out = []
    for i in range(0, len(y), _MARK_BATCH):
        x0 = to_float(x[i:i + _MARK_BATCH])
        u = carriers[y[i:i + _MARK_BATCH]]
        with torch.no_grad():
            f0 = net.embed(x0)
            logits0 = head(f0)
        delta = torch.zeros_like(x0, requires_grad=True)
        if cfg.optimizer == "adam":
            opt: torch.optim.Optimizer = torch.optim.Adam([delta], lr=cfg.lr)
        else:
            opt = torch.optim.SGD([delta], lr=cfg.lr, momentum=0.9)
        for _ in range(cfg.iterations):
            xt = x0 + delta
            f = net.embed(xt)
            diff = f - f0
            loss = (-(diff * u).sum() + cfg.lambda_ft * torch.linalg.vector_norm(diff, dim=1).sum()
                    + cfg.lambda_img * ((xt - x0) ** 2).sum() + cfg.lambda_logit * ((head(f) - logits0) ** 2).sum())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                delta.clamp_(-cfg.radius, cfg.radius)
                delta.copy_((x0 + delta).clamp_(0, 1) - x0)
        out.append(((x0 + delta.detach()) * 255).round_().clamp_(0, 255).to(torch.uint8))
    return torch.cat(out)


def _per_sample_loss(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([F.cross_entropy(net(to_float(x[i:i + batch])), y[i:i + batch], reduction="none")
                          for i in range(0, len(y), batch)])


class Radioactive(Mechanism):
    """Replaces ``ratio`` of the training images by marked copies; verifies with the black-box loss gap.

    Marking: a network of the trial's architecture trained on the clean training data (or loaded from
    ``marking_model``), one unit carrier per class in its penultimate feature space (``carriers``: random as
    RAD's, or the network's own class direction, :meth:`_carriers`), and marks optimised as in RAD's
    ``make_data_radioactive.py``, plus a penalty that keeps the marking network's logits (:func:`mark_images`).
    Verification (DESIGN 3.5): over the marked training images D_RAD, ``loss_gap`` is the mean of
    loss(x) - loss(x_marked) under the trained model with true labels, and ``p_value`` the one-sided paired
    t-test of the same differences. ``decoupled`` (the paper's Section 7) takes D_RAD out of the sampled
    stream and trains it with a plain SGD step after each epoch, outside DP-SGD and without PGD. Marked sets
    are cached on disk (:mod:`explorer.cache`).
    """

    spec: ClassVar[MechanismSpec] = SPEC

    def __init__(self, config: RadConfig, generator: torch.Generator) -> None:
        super().__init__(config, generator)
        self.clean: torch.Tensor | None = None  # uint8 D_RAD before and after marking, on the trial's device
        self.marked: torch.Tensor | None = None
        self.labels: torch.Tensor | None = None
        self.carriers: torch.Tensor | None = None  # [classes, feature width], unit rows
        self.psnr = float("nan")
        self.cache_hit = False
        self._plain_optimizer: torch.optim.Optimizer | None = None

    def marked_count(self, n: int) -> int:
        return min(round(self.config.ratio * n), n - 1)

    def problems(self, ctx: TrialContext, others: list[Mechanism]) -> list[str]:
        out = []
        n = len(ctx.data.train_y)
        if self.marked_count(n) < 2:
            out.append(f"rad.ratio: got {self.config.ratio:g}, expected at least 2 of the {n} training images "
                       "marked (the paired test needs two)")
        path = self.config.marking_model
        if path is not None and not os.path.isfile(path):
            out.append(f"rad.marking_model: got {path!r}, expected an existing state_dict file")
        return out

    def caveats(self, ctx: TrialContext, others: list[Mechanism]) -> list[str]:
        if self.config.decoupled and any("optimizer" in o.owns for o in others):
            return ["rad.decoupled: the marked images are trained outside DP-SGD; the DP guarantee does not "
                    "cover them"]
        return []

    # --- marking -----------------------------------------------------------------------------------

    def _marking_network(self, ctx: TrialContext, train: TrainData) -> Classifier:
        data, cfg = ctx.data, self.config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(ctx.config.seed, "rad.marking"))
            net = build_model(ctx.model_name, data.shape, data.num_classes, data.mean, data.std).to(ctx.device)
        if cfg.marking_model is not None:
            try:
                state = torch.load(cfg.marking_model, map_location=ctx.device, weights_only=True)
                net.load_state_dict(state)
            except Exception as err:  # noqa: BLE001 - any unreadable or mismatched file is the user's input
                raise ConfigError(f"rad.marking_model: got {cfg.marking_model!r}, expected a state_dict of "
                                  f"{ctx.model_name} for {data.shape} images and {data.num_classes} classes "
                                  f"({type(err).__name__})") from None
            return net
        # The owner's own network, trained with the architecture's default recipe (batch 64, one-cycle SGD).
        lr = DEFAULT_LR[ctx.model_name]
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
        steps = math.ceil(len(train) / _MARKING_BATCH)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, div_factor=20,
                                                    total_steps=cfg.marking_epochs * steps)
        g = generator(ctx.config.seed, "rad.marking", ctx.device)
        net.train()
        for _ in range(cfg.marking_epochs):
            for idx in torch.randperm(len(train), generator=g, device=g.device).split(_MARKING_BATCH):
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(net(to_float(train.x[idx])), train.y[idx]).backward()
                opt.step()
                sched.step()
        return net

    def _carriers(self, net: Classifier, drawn: torch.Tensor) -> torch.Tensor:
        """The [classes, width] unit carriers the marks push along (``rad.carriers``): ``random``, RAD's one
        random direction per class (``drawn``, from the mechanism's generator, which draws them either way so
        that its later draws do not move); ``class``, the marking network's own direction for each class, its
        last layer's row normalised: larger gaps, but a clean model shows one too (docs/metrics.md, decision 20)."""
        if self.config.carriers == "class":
            head: nn.Linear = net.net.head  # type: ignore[assignment]
            return F.normalize(head.weight.detach().clone(), dim=1)
        return drawn

    def _cache_key(self, ctx: TrialContext, train: TrainData) -> str:
        cfg = self.config
        parts = {
            "version": _CACHE_VERSION, "dataset": ctx.config.dataset, "data": cache.tensor_digest(train.x, train.y),
            "model": ctx.model_name, "device": ctx.device.type, "stream": derive_seed(ctx.config.seed, "rad"),
            "marking_stream": derive_seed(ctx.config.seed, "rad.marking"),
            **{k: getattr(cfg, k) for k in ("ratio", "radius", "iterations", "optimizer", "lr", "lambda_ft",
                                            "lambda_img", "lambda_logit")},
            # knobs added later, at the value marks cached before them were made with, stay out of the key
            **{k: getattr(cfg, k) for k, was in type(cfg).added_later.items() if getattr(cfg, k) != was},
        }
        if cfg.marking_model is not None:
            parts["marking_model"] = cache.file_digest(cfg.marking_model)
        else:
            parts["marking_epochs"] = cfg.marking_epochs
        return cache.digest(parts)

    def prepare_data(self, ctx: TrialContext, train: TrainData) -> TrainData:
        g, device = self.generator, ctx.device
        n = len(train)
        index = torch.randperm(n, generator=g, device=g.device)[:self.marked_count(n)].sort().values.to(device)
        with torch.random.fork_rng(devices=[]):  # only to learn the feature width
            probe = build_model(ctx.model_name, ctx.data.shape, ctx.data.num_classes, ctx.data.mean, ctx.data.std)
        with torch.no_grad():
            width = probe.embed(torch.zeros(1, *ctx.data.shape)).shape[1]
        carriers = F.normalize(torch.randn(ctx.data.num_classes, width, generator=g, device=g.device), dim=1)

        def compute() -> dict[str, torch.Tensor]:
            net = self._marking_network(ctx, train)
            chosen = self._carriers(net, carriers.to(device))
            marked = mark_images(net, train.x[index], train.y[index], chosen, self.config)
            return {"index": index.cpu(), "images": marked.cpu(), "carriers": chosen.cpu()}

        entry, self.cache_hit = cache.cached("rad", self._cache_key(ctx, train), compute)
        if not torch.equal(entry["index"], index.cpu()):  # a hash collision or a damaged entry
            raise RuntimeError("rad: the cached marked set does not match this trial's subset")
        self.clean, self.labels, self.carriers = train.x[index], train.y[index], entry["carriers"].to(device)
        self.marked = entry["images"].to(device)
        self.psnr = psnr(self.marked, self.clean)
        if self.config.decoupled:
            keep = torch.ones(n, dtype=torch.bool, device=device)
            keep[index] = False
            return TrainData(train.x[keep], train.y[keep])
        x = train.x.clone()
        x[index] = self.marked
        return TrainData(x, train.y)

    # --- training and verification ----------------------------------------------------------------

    def wrap(self, ctx: TrialContext, state: TrainState) -> TrainState:
        if self.config.decoupled:
            self._plain_optimizer = torch.optim.SGD(state.network.parameters(), lr=0.0, momentum=0.9)
        return state

    def after_epoch(self, ctx: TrialContext, state: TrainState, epoch: int) -> None:
        if self._plain_optimizer is None:
            return
        assert self.marked is not None and self.labels is not None
        for group in self._plain_optimizer.param_groups:
            group["lr"] = state.optimizer.param_groups[0]["lr"]  # follow the main schedule
        perm = torch.randperm(len(self.labels), generator=self.generator, device=self.generator.device)
        for idx in perm.to(ctx.device).split(ctx.config.train.batch_size):
            plain_step(state, self._plain_optimizer, to_float(self.marked[idx]), self.labels[idx])

    def state_dict(self) -> dict[str, Any]:
        return {"plain_optimizer": self._plain_optimizer.state_dict()} if self._plain_optimizer is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self._plain_optimizer is not None and "plain_optimizer" in state:
            self._plain_optimizer.load_state_dict(state["plain_optimizer"])

    def evaluate(self, ctx: TrialContext, state: TrainState) -> dict[str, float]:
        assert self.clean is not None and self.marked is not None and self.labels is not None
        with attack_mode(state.model):
            clean = _per_sample_loss(state.network, self.clean, self.labels).double().cpu().numpy()
            marked = _per_sample_loss(state.network, self.marked, self.labels).double().cpu().numpy()
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            p = float(stats.ttest_rel(clean, marked, alternative="greater").pvalue)
        return {"loss_gap": float(np.mean(clean - marked)),
                "p_value": p if math.isfinite(p) else 1.0,  # identical losses: no evidence of marks
                "psnr": self.psnr}
