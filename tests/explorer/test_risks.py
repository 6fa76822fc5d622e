"""The membership-inference attack (explorer.risks, RMIA offline) on models whose memorisation is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score, roc_curve
from torch import nn

from explorer.risks import rmia, roc_auc, tpr_at_fpr, true_label_probability


def test_auc_and_tpr_at_low_fpr_agree_with_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    pos, neg = rng.normal(0.5, 1, 500).round(1), rng.normal(0, 1, 700).round(1)  # rounded: ties
    labels, scores = np.r_[np.ones(500), np.zeros(700)], np.r_[pos, neg]
    assert roc_auc(pos, neg) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    fpr, tpr, _ = roc_curve(labels, scores)
    for target in (0.01, 0.05, 0.2):
        assert tpr_at_fpr(pos, neg, target) == pytest.approx(tpr[fpr <= target].max())


class Lookup(nn.Module):
    """A model that memorised some images: confident on them, unsure (uniform-ish) elsewhere."""

    def __init__(self, known: torch.Tensor, labels: torch.Tensor, classes: int = 10, margin: float = 6.0) -> None:
        super().__init__()
        self.known, self.labels, self.classes, self.margin = known.float() / 255, labels, classes, margin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat, known = x.flatten(1), self.known.flatten(1)
        hit = torch.cdist(flat, known, compute_mode="donot_use_mm_for_euclid_dist") < 1e-6
        logits = torch.zeros(len(x), self.classes)
        rows, cols = hit.nonzero(as_tuple=True)
        logits[rows, self.labels[cols]] = self.margin
        return logits + 0.01 * flat[:, :self.classes]  # a little input dependence, as any model has


def _images(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 1, 8, 8), generator=g, dtype=torch.uint8), torch.randint(0, 10, (n,), generator=g)


def _probs(net: nn.Module, *sets: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, ...]:
    return tuple(true_label_probability(net, x, y) for x, y in sets)


def test_a_memorising_model_is_caught_and_one_that_memorises_nothing_is_not() -> None:
    members, nonmembers, population, other = _images(300, 1), _images(300, 2), _images(600, 3), _images(300, 4)
    memorising = Lookup(*members)
    blank = Lookup(*other)  # memorised other images: knows nothing of members or non-members
    references = [_probs(Lookup(*_images(300, 10 + k)), members, nonmembers, population) for k in range(2)]
    caught = rmia(_probs(memorising, members, nonmembers, population), references)
    missed = rmia(_probs(blank, members, nonmembers, population), references)
    assert caught.auc > 0.95 and caught.tpr_at(0.01) > 0.9
    assert abs(missed.auc - 0.5) < 0.08 and missed.tpr_at(0.01) < 0.1


def test_rmia_needs_a_reference_model() -> None:
    with pytest.raises(ValueError, match="at least one reference model"):
        rmia((torch.ones(2), torch.ones(2), torch.ones(2)), [])


def _trial(**knobs: object) -> dict[str, float]:
    from explorer.config import TrialConfig
    from explorer.train import train

    base = {"dataset": "digits", "train.device": "cpu", "eval.adv_samples": 20, "eval.steps": 1}
    return train(TrialConfig.from_dict({**base, **knobs})).metrics


def test_an_overfit_model_leaks_more_than_one_that_generalises() -> None:
    """The known case: 100 training images for 60 epochs against the whole digits training split for 5 epochs
    (measured: AUC 0.77 / 0.77 against 0.58 / 0.55 on seeds 0 / 1)."""
    overfit = _trial(**{"data.train_subset": 100, "train.epochs": 60})
    general = _trial(**{"train.epochs": 5})
    assert overfit["risk.mia_auc"] > 0.7 and general["risk.mia_auc"] < 0.65
    assert overfit["risk.train_test_gap"] > general["risk.train_test_gap"]
    assert set(_trial(**{"train.epochs": 1, "eval.risks": False})) & {"risk.mia_auc", "risk.train_test_gap"} == set()


def test_reference_models_are_trained_once_per_setup_and_shared_across_seeds_and_mechanisms() -> None:
    from explorer.cache import cache_dir

    def entries() -> int:
        return len(list((cache_dir() / "risk-ref").glob("*.pt")))

    start = entries()
    _trial(**{"train.epochs": 2, "seed": 0})
    after_first = entries()
    assert after_first - start == 2  # eval.risk_references
    _trial(**{"train.epochs": 2, "seed": 1, "mechanisms": ["wm"], "wm.trigger_size": 20})  # same setup: reused
    assert entries() == after_first
    _trial(**{"train.epochs": 3, "seed": 0})  # another training setup: its own references
    assert entries() == after_first + 2


def test_the_risk_metrics_cost_is_in_the_row() -> None:
    """risk_seconds counts the reference models' training on the setup's first trial, only the attack after."""
    from datetime import datetime, timezone

    from explorer.config import TrialConfig
    from explorer.results import build_row
    from explorer.train import train

    base = {"dataset": "digits", "train.device": "cpu", "eval.adv_samples": 20, "eval.steps": 1,
            "train.epochs": 1, "data.train_subset": 300}
    first, again = (train(TrialConfig.from_dict({**base, "seed": s})) for s in (7, 8))  # a setup no test uses
    assert first.risk_seconds > again.risk_seconds > 0
    assert first.eval_seconds >= first.risk_seconds
    off = train(TrialConfig.from_dict({**base, "eval.risks": False}))
    assert off.risk_seconds == 0 and off.eval_seconds > 0
    now = datetime.now(timezone.utc)
    row = build_row(TrialConfig.from_dict(base), first, start=now, end=now)
    assert row["risk_seconds"] == first.risk_seconds and row["eval_seconds"] == first.eval_seconds
