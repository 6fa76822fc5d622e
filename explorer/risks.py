"""Unintended risks measured like accuracy (DESIGN 3.11): membership inference and the train-test gap.

The SoK of Duddu, Szyller & Asokan ("SoK: Unintended Interactions among Machine Learning Defenses and Risks",
IEEE S&P 2024) asks whether a defence raises or lowers a risk, e.g. membership inference, which adversarial
training raises (Song, Shokri & Mittal, CCS 2019) and DP-SGD bounds. The attack here is RMIA, offline
(Zarifzadeh, Liu, Mahloujifar & Shokri, "Low-Cost High-Power Membership Inference Attacks", ICML 2024):

- ``p(x | θ)``: the model's softmax probability of the true label of ``x``;
- reference models, trained like the target (same model and training setup, no mechanism) on data that does
  not contain the targets, give ``p_out(x)``, their mean; offline, ``p(x) = ((1 + a) p_out(x) + (1 - a)) / 2``
  stands in for the mean over models that did and did not train on ``x`` (``a`` from the paper's offline
  setting);
- the likelihood ratio of ``x`` against a population sample ``z`` is ``(p(x|θ) / p(x)) / (p(z|θ) / p(z))``,
  and the score of ``x`` is the fraction of population samples ``z`` with a ratio >= ``gamma``.

Members are the target's training images, non-members held-out images of the same distribution, in equal
numbers; ``risk.mia_auc`` is the ROC AUC of the scores (0.5: chance), ``risk.mia_tpr_at_1fpr`` the TPR at 1 %
FPR (the figure Carlini et al., S&P 2022, argue for). This module holds the attack on tensors and modules;
where the data and the reference models come from is the caller's (:func:`explorer.train` wires it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import scipy.stats
import torch
from torch import nn

from explorer import cache
from explorer.data import ImageData, load_dataset, to_float
from explorer.mechanisms.base import TrialContext
from explorer.metrics import accuracy
from explorer.models import build_model
from explorer.seeding import derive_seed, generator

__all__ = ["RISK_METRICS", "MiaScores", "measure", "roc_auc", "rmia", "tpr_at_fpr", "true_label_probability"]


def true_label_probability(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Softmax probability of each image's true label under ``net`` (eval mode is the caller's), float64 on CPU."""
    out = []
    with torch.no_grad():
        for i in range(0, len(y), batch_size):
            logits = net(to_float(x[i:i + batch_size])).double()
            out.append(torch.softmax(logits, dim=1).gather(1, y[i:i + batch_size].view(-1, 1)).squeeze(1).cpu())
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.float64)


@dataclass(frozen=True)
class MiaScores:
    """RMIA scores of the member and non-member targets (higher: more likely a member)."""

    members: np.ndarray
    nonmembers: np.ndarray

    @property
    def auc(self) -> float:
        return roc_auc(self.members, self.nonmembers)

    def tpr_at(self, fpr: float) -> float:
        return tpr_at_fpr(self.members, self.nonmembers, fpr)


def rmia(target: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
         references: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
         *, a: float = 0.3, gamma: float = 1.0) -> MiaScores:
    """Offline RMIA from true-label probabilities: ``target`` is (members, non-members, population) under the
    target model, each entry of ``references`` the same three under one reference model trained without them."""
    if not references:
        raise ValueError("rmia: expected at least one reference model")
    ref_out = [torch.stack([r[i] for r in references]).mean(0) for i in range(3)]
    prior = [((1 + a) * p + (1 - a)) / 2 for p in ref_out]
    eps = 1e-30
    ratio = [target[i] / (prior[i] + eps) for i in range(3)]
    z = torch.sort(ratio[2]).values

    def score(r: torch.Tensor) -> np.ndarray:
        # the fraction of population samples z with r(x) / r(z) >= gamma, i.e. r(z) <= r(x) / gamma
        return (torch.searchsorted(z, r / gamma, right=True).double() / len(z)).numpy()

    return MiaScores(score(ratio[0]), score(ratio[1]))


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """ROC AUC of scores (positives should score higher), ties counted half: the Mann-Whitney U statistic."""
    pos, neg = np.asarray(positive, dtype=float), np.asarray(negative, dtype=float)
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    ranks = scipy.stats.rankdata(np.concatenate([pos, neg]))
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def tpr_at_fpr(positive: np.ndarray, negative: np.ndarray, fpr: float) -> float:
    """The largest TPR at a threshold whose FPR is at most ``fpr`` (a score >= threshold is called a member)."""
    pos, neg = np.sort(np.asarray(positive, dtype=float)), np.sort(np.asarray(negative, dtype=float))
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    allowed = int(np.floor(fpr * len(neg)))  # negatives that may score at or above the threshold
    threshold = np.nextafter(neg[-1], np.inf) if allowed == 0 else neg[len(neg) - allowed]
    if allowed and allowed < len(neg) and neg[len(neg) - allowed - 1] == threshold:
        threshold = np.nextafter(threshold, np.inf)  # ties with a negative below the cut would exceed fpr
    return float((pos >= threshold).mean())


RISK_METRICS: tuple[str, ...] = ("risk.mia_auc", "risk.mia_tpr_at_1fpr", "risk.train_test_gap")
"""The risk columns every trial reports (NaN with ``eval.risks`` off); lower is better for all three."""
_VERSION = 1  # bump when the reference models' recipe changes, so stale cache entries are not reused


def _reference_sets(n_full: int, n_target: int, k: int) -> tuple[int, list[torch.Tensor]]:
    """``k`` disjoint, seed-independent subsets of the full training split for the reference models, each the
    target's size where the split allows (else a (k + 1)-th of it, so that targets remain outside them)."""
    size = max(1, min(n_target, n_full // (k + 1)))
    perm = torch.randperm(n_full, generator=torch.Generator().manual_seed(derive_seed(0, "risk.references")))
    return size, [perm[i * size:(i + 1) * size].sort().values for i in range(k)]


def _keys(x: torch.Tensor) -> list[bytes]:
    flat = x.reshape(len(x), -1).cpu().contiguous().numpy()
    return [row.tobytes() for row in flat]


def measure(ctx: TrialContext, network: nn.Module) -> dict[str, float]:
    """``risk.*`` of a trial's trained ``network`` (eval mode and DP hooks off are the caller's).

    - reference models: ``eval.risk_references`` undefended models of the trial's dataset, model and training
      setup, each trained once on its own disjoint, seed-independent part of the full training split and
      cached on disk (:mod:`explorer.cache`; the key holds the data, the model and every training knob);
    - members: up to ``eval.risk_samples`` of the trial's training images that no reference model saw (drawn
      with the trial's seed); non-members: as many test images; population: other test images;
    - ``risk.train_test_gap``: accuracy on the trial's training images minus accuracy on its test images.
    """
    cfg = ctx.config
    full = load_dataset(cfg.dataset, cfg.data.dir)
    size, parts = _reference_sets(len(full.train_y), len(ctx.data.train_y), cfg.eval.risk_references)
    seen = {key for part in parts for key in _keys(full.train_x[part])}
    outside = torch.tensor([i for i, key in enumerate(_keys(ctx.data.train_x)) if key not in seen], dtype=torch.long)
    n = min(cfg.eval.risk_samples, len(outside), len(ctx.data.test_y) // 2)
    gap = (accuracy(network, ctx.data.train_x, ctx.data.train_y, cfg.eval.batch_size)
           - accuracy(network, ctx.data.test_x, ctx.data.test_y, cfg.eval.batch_size))
    if n < 10:  # too few targets outside the reference models' data for an AUC worth reporting
        return {"risk.mia_auc": float("nan"), "risk.mia_tpr_at_1fpr": float("nan"), "risk.train_test_gap": gap}
    pick = outside[torch.randperm(len(outside), generator=generator(cfg.seed, "risk", "cpu"))[:n]].to(ctx.device)
    test_order = torch.randperm(len(ctx.data.test_y), generator=generator(0, "risk.test", "cpu")).to(ctx.device)
    sets = [(ctx.data.train_x[pick], ctx.data.train_y[pick]),
            (ctx.data.test_x[test_order[:n]], ctx.data.test_y[test_order[:n]]),
            (ctx.data.test_x[test_order[n:]], ctx.data.test_y[test_order[n:]])]
    references = [tuple(true_label_probability(ref, x, y, cfg.eval.batch_size) for x, y in sets)
                  for ref in _reference_models(ctx, full, size, parts)]
    target = tuple(true_label_probability(network, x, y, cfg.eval.batch_size) for x, y in sets)
    scores = rmia(target, references)  # type: ignore[arg-type]
    return {"risk.mia_auc": scores.auc, "risk.mia_tpr_at_1fpr": scores.tpr_at(0.01), "risk.train_test_gap": gap}


def _reference_models(ctx: TrialContext, full: ImageData, size: int, parts: list[torch.Tensor]) -> list[nn.Module]:
    cfg = ctx.config
    base = cfg.replace(mechanisms=(), **{name: None for name in cfg.mechanisms})
    train_knobs = {k: v for k, v in base.train.flat().items() if k != "train.device"}
    out: list[nn.Module] = []
    for k, part in enumerate(parts):
        data = replace(full, train_x=full.train_x[part], train_y=full.train_y[part])
        seed = derive_seed(0, f"risk.reference.{k}")
        key = cache.digest({"version": _VERSION, "dataset": cfg.dataset, "data": cache.tensor_digest(data.train_x,
                            data.train_y), "model": ctx.model_name, "device": ctx.device.type, "seed": seed,
                            **train_knobs})

        def compute(data: ImageData = data, seed: int = seed) -> dict[str, torch.Tensor]:
            assert ctx.train_model is not None
            state = ctx.train_model(base.replace(seed=seed), data=data)
            return {k: v.detach().cpu() for k, v in state.network.state_dict().items()}

        weights, _ = cache.cached("risk-ref", key, compute)
        net = build_model(ctx.model_name, ctx.data.shape, ctx.data.num_classes, ctx.data.mean, ctx.data.std)
        net.load_state_dict(weights)
        out.append(net.to(ctx.device).eval())
    return out
