"""Dataset inference (Maini, Yaghini & Papernot, "Dataset Inference: Ownership Resolution in Machine
Learning", ICLR 2021) with Blind Walk embeddings, as the paper's DI (Szyller & Asokan, AAAI 2023).

Follows the reference code (cleverhans-lab/dataset-inference: ``rand_steps``, ``get_random_label_only``
and the ``*_rand`` notebooks), including their row layout; ``rows="sample"`` makes a row one sample
(docs/metrics.md).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from typing import ClassVar

import numpy as np
import torch
from scipy import stats
from torch import nn

from explorer.compose import attack_mode
from explorer.data import half_indices, to_float
from explorer.mechanisms.base import Mechanism, TrainData, TrainState, TrialContext
from explorer.seeding import generator as stream
from explorer.mechanisms.di.spec import SPEC
from explorer_core.spec import MechanismSpec

__all__ = ["DatasetInference", "blind_walk", "feature_rows", "fit_regressor", "welch_p", "harmonic_p"]

NORMS = ("linf", "l2", "l1")
DIRECTIONS = 10  # random directions per norm
DEFAULT_SAMPLES = 1000  # the reference's num_images
M, DRAWS = 10, 100  # the paper-table p-value: 100 draws of m rows, harmonic mean
WALK_BATCH = 4096  # walked rows per forward pass on a GPU
CPU_WALK_BATCH = 256  # and on the CPU


def _directions(norm: str, shape: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
    """The reference's step distributions: U(-0.005, 0.005), N(0, 0.005), Laplace(0, 0.01), per pixel."""
    if norm == "l2":
        return torch.randn(shape, generator=g, device=g.device) * 0.005
    u = torch.rand(shape, generator=g, device=g.device) - 0.5
    if norm == "linf":
        return u * 0.01
    # Laplace by inverse CDF, so that the mechanism's generator drives it (u = -0.5 would give -inf)
    return -0.01 * u.sign() * torch.log1p(-2 * u.abs()).clamp_min(-100.0)


def walk_batch(device: torch.device) -> int:
    """Walked rows per forward pass: small batches stay in the CPU's caches (about 2x plain inference at 256
    against 4096 on cnn4, benchmarks/README.md); a GPU wants large ones."""
    return WALK_BATCH if device.type == "cuda" else CPU_WALK_BATCH


def blind_walk(model: nn.Module, x: torch.Tensor, y: torch.Tensor, g: torch.Generator,
               max_steps: int = 50, batch: int | None = None) -> torch.Tensor:
    """Blind Walk features [n, 3, 10]: per norm and random direction δ, the norm of the final k·δ.

    For k = 1, 2, ... every image still classified correctly moves on to (k+1)·δ, at most ``max_steps``
    checks, x + k·δ clipped to [0, 1]; misclassified at k: the feature is the norm of clip(k·δ); never
    misclassified: of clip((max_steps+1)·δ). The caller sets eval mode; ``x`` is uint8 or float.
    The directions of all images are drawn before walking, so the features do not depend on ``batch``
    (rows per forward pass; default :func:`walk_batch`).
    """
    xf = to_float(x) if x.dtype == torch.uint8 else x
    n = len(y)
    out = torch.empty(n, len(NORMS), DIRECTIONS, device=xf.device)
    chunk = max(1, (batch or walk_batch(xf.device)) // DIRECTIONS)
    with torch.inference_mode():
        for j, norm in enumerate(NORMS):
            bases = _directions(norm, (n * DIRECTIONS, *xf.shape[1:]), g)
            for i in range(0, n, chunk):
                xb = xf[i:i + chunk].repeat_interleave(DIRECTIONS, dim=0)
                yb = y[i:i + chunk].repeat_interleave(DIRECTIONS)
                base = bases[i * DIRECTIONS:(i + chunk) * DIRECTIONS]
                k = _walk(model, xb, yb, base, max_steps)
                delta = torch.minimum(torch.maximum(k.view(-1, 1, 1, 1) * base, -xb), 1 - xb).flatten(1)
                if norm == "linf":
                    f = delta.abs().amax(1)
                elif norm == "l2":
                    f = torch.linalg.vector_norm(delta, dim=1)
                else:
                    f = delta.abs().sum(1)
                out[i:i + chunk, j] = f.view(-1, DIRECTIONS)
    return out


def _walk(model: nn.Module, x: torch.Tensor, y: torch.Tensor, base: torch.Tensor, max_steps: int) -> torch.Tensor:
    """The multiplier k of each row's final step: the first k at which the model errs, else max_steps + 1."""
    k = torch.ones(len(y), device=x.device)
    active = torch.arange(len(y), device=x.device)
    xa, ya, ba = x, y, base
    for step in range(max_steps):
        delta = torch.minimum(torch.maximum((step + 1) * ba, -xa), 1 - xa)
        logits = model((xa + delta).contiguous(memory_format=torch.channels_last))  # 1.3-1.5x on CPU
        still = logits.argmax(1) == ya
        if not bool(still.all()):  # gather only when a row flipped (on MNIST most never do)
            active, xa, ya, ba = active[still], xa[still], ya[still], ba[still]
            if len(active) == 0:
                break
        k[active] = step + 2
    return k


def feature_rows(reference: torch.Tensor, features: torch.Tensor, layout: str = "sample") -> torch.Tensor:
    """Rows [n, 30] of Blind Walk features [n, 3, 10], standardised per norm by the mean and std of
    ``reference`` (the victim's member features) over samples and directions, as the notebooks do.

    ``layout="sample"``: a row is one sample's 3 norms x 10 directions (DESIGN 3.5). ``layout="reference"``:
    the notebooks' rows, which reverse the dimensions of their [n, 10, 3] tensor and reshape it to [n, 30],
    so each row holds 30 different samples' values of one (norm, direction); see docs/metrics.md.
    """
    mean = reference.mean(dim=(0, 2), keepdim=True)
    std = reference.std(dim=(0, 2), keepdim=True).clamp_min(1e-12)
    z = (features - mean) / std
    if layout == "reference":
        return z.transpose(1, 2).permute(2, 1, 0).reshape(len(z), -1)
    return z.flatten(1)


def fit_regressor(members: torch.Tensor, non_members: torch.Tensor, seed: int) -> nn.Module:
    """The reference's regressor: Linear(30, 100), ReLU, Linear(100, 1), tanh; 1000 full-batch SGD steps at
    lr 0.1 on -mean((2y - 1) out), members y = 0 (pushed to -1), non-members y = 1 (pushed to +1)."""
    x = torch.cat([members, non_members])
    sign = torch.cat([-torch.ones(len(members)), torch.ones(len(non_members))])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(x.shape[1], 100), nn.ReLU(), nn.Linear(100, 1), nn.Tanh())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # ops this small only lose to thread synchronisation (40x on a busy 2-core box)
    try:
        for _ in range(1000):
            opt.zero_grad(set_to_none=True)
            loss = -(sign * model(x)[:, 0]).mean()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    return model.eval()


def welch_p(score_test: np.ndarray, score_train: np.ndarray) -> float:
    """One-sided Welch t-test, H1: non-members score higher; a degenerate (NaN) test counts as p = 1."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(stats.ttest_ind(score_test, score_train, alternative="greater", equal_var=False).pvalue)
    return p if math.isfinite(p) else 1.0


def harmonic_p(score_test: np.ndarray, score_train: np.ndarray, g: torch.Generator,
               m: int = M, draws: int = DRAWS) -> float:
    """The paper-table p-value: harmonic mean over ``draws`` Welch tests, each on the same m random positions
    of both score vectors (DI's ``get_p_values`` and ``generate_table``)."""
    ps = []
    for _ in range(draws):
        pos = torch.randperm(len(score_test), generator=g, device=g.device)[:m].cpu().numpy()
        ps.append(welch_p(score_test[pos], score_train[pos]))
    return float(stats.hmean(ps))


class DatasetInference(Mechanism):
    """Verifies that the trained model knows its training data, from Blind Walk distances.

    ``samples`` member images (the training data) and as many non-members (the test split) are embedded
    (3 norms x 10 directions; by default in the notebooks' rows, each holding 30 samples' values of one
    feature, or one row per sample with ``rows="sample"``), standardised by the model's member-feature mean
    and std per norm; the regressor is fit on the first half of the rows and scores the held-out half.
    ``p_value`` is one one-sided Welch test over all held-out rows (the notebooks' ``print_inference``, what
    the paper's φ_DI < 1e-30 requires); ``p_value_m10`` the harmonic mean of 100 Welch tests on m = 10 rows
    (the notebooks' ``generate_table``). With ``independent`` (the paper's Table 10) the training data is
    split into seeded halves: the model trains on half A, a second model of the same setup (the other
    mechanisms, the same hyperparameters) on half B, and the members are drawn from A.
    ``p_value_independent`` tests the second model against A's members with the victim's regressor (DI
    should not flag it; the paper's flagged it at 1e-12); ``p_value_unseen`` tests the victim with images
    of B, which it never saw, in the members' place (the paper's independent set: 0.1).
    """

    spec: ClassVar[MechanismSpec] = SPEC

    def _half(self, ctx: TrialContext, which: int) -> torch.Tensor:
        return half_indices(len(ctx.data.train_y), which, stream(ctx.config.seed, "half")).to(ctx.device)

    def _pool(self, ctx: TrialContext) -> int:
        n = len(ctx.data.train_y)
        return n // 2 if self.config.independent else n

    def sample_count(self, ctx: TrialContext) -> int:
        if self.config.samples is not None:
            return self.config.samples
        return min(DEFAULT_SAMPLES, self._pool(ctx), len(ctx.data.test_y))

    def problems(self, ctx: TrialContext, others: list[Mechanism]) -> list[str]:
        cfg, out = self.config, []
        pool, tests = self._pool(ctx), len(ctx.data.test_y)
        where = "the member half of the" if cfg.independent else "the"
        if cfg.samples is not None and (cfg.samples > pool or cfg.samples > tests):
            out.append(f"di.samples: got {cfg.samples}, expected at most {min(pool, tests)} ({pool} in {where} "
                       f"training data, {tests} test images)")
        elif cfg.samples is None and self.sample_count(ctx) < 4:
            out.append(f"di.samples: got null, expected at least 4 images each in {where} training data "
                       f"({pool}) and the test split ({tests})")
        if cfg.independent and ctx.config.data.train_half is not None:
            out.append(f"data.train_half: got {ctx.config.data.train_half}, expected null with di.independent "
                       "(the model trains on half A of the training data, the independent one on half B)")
        return out

    def prepare_data(self, ctx: TrialContext, train: TrainData) -> TrainData:
        if not self.config.independent:
            return train
        keep = self._half(ctx, 0)
        return TrainData(train.x[keep], train.y[keep])

    def _independent_model(self, ctx: TrialContext) -> TrainState:
        cfg = ctx.config
        config = cfg.replace(mechanisms=tuple(m for m in cfg.mechanisms if m != self.name), di=None,
                             data=dataclasses.replace(cfg.data, train_half=1))
        if ctx.train_model is None:
            raise RuntimeError("di.independent needs TrialContext.train_model (explorer.train.make_context sets it)")
        return ctx.train_model(config)

    def evaluate(self, ctx: TrialContext, state: TrainState) -> dict[str, float]:
        cfg, g, data = self.config, self.generator, ctx.data
        n = self.sample_count(ctx)
        pool = self._half(ctx, 0) if cfg.independent else torch.arange(len(data.train_y), device=ctx.device)
        members = pool[torch.randperm(len(pool), generator=g, device=g.device)[:n].to(ctx.device)]
        non_members = torch.randperm(len(data.test_y), generator=g, device=g.device)[:n].to(ctx.device)

        def walk(model: TrainState | nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            wrapped, network = (model.model, model.network) if isinstance(model, TrainState) else (model, model)
            with attack_mode(wrapped):
                return blind_walk(network, x, y, g, cfg.max_steps).cpu()

        train_f = walk(state, data.train_x[members], data.train_y[members])
        test_f = walk(state, data.test_x[non_members], data.test_y[non_members])
        split = n // 2
        seed = int(torch.randint(0, 2**62, (1,), generator=g, device=g.device))
        rows = functools.partial(feature_rows, train_f, layout=cfg.rows)
        regressor = fit_regressor(rows(train_f)[:split], rows(test_f)[:split], seed)

        def held_out(features: torch.Tensor) -> np.ndarray:
            """Regressor scores of the held-out rows (non-members should score higher than members)."""
            with torch.no_grad():
                return regressor(rows(features)[split:])[:, 0].double().numpy()

        s_test = held_out(test_f)
        s_train = held_out(train_f)
        out = {"p_value": welch_p(s_test, s_train), "p_value_m10": harmonic_p(s_test, s_train, g)}
        if cfg.independent:
            other = self._independent_model(ctx)
            out["p_value_independent"] = welch_p(
                held_out(walk(other, data.test_x[non_members], data.test_y[non_members])),
                held_out(walk(other, data.train_x[members], data.train_y[members])))
            half_b = self._half(ctx, 1)
            unseen = half_b[torch.randperm(len(half_b), generator=g, device=g.device)[:n].to(ctx.device)]
            out["p_value_unseen"] = welch_p(s_test, held_out(walk(state, data.train_x[unseen], data.train_y[unseen])))
        return out
