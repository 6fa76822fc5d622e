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
from dataclasses import dataclass

import numpy as np
import scipy.stats
import torch
from torch import nn

from explorer.data import to_float

__all__ = ["MiaScores", "roc_auc", "rmia", "tpr_at_fpr", "true_label_probability"]


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
