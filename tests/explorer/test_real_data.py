"""Real-data checks on seeded MNIST subsets (slow: minutes on 2 CPU cores). Run with `make test-slow`."""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.config import TrialConfig
from explorer.train import train

pytestmark = pytest.mark.slow


def _mnist(data_dir: Path, **values: object) -> TrialConfig:
    base = {"dataset": "mnist", "data.dir": str(data_dir), "train.batch_size": 128, "train.lr": 0.02,
            "train.device": "cpu"}
    return TrialConfig.from_dict({**base, **values})


def test_watermark_alone_embeds_without_hurting_accuracy(shared_data_dir: Path) -> None:
    out = train(_mnist(shared_data_dir, mechanisms=["wm"], **{
        "train.epochs": 5, "data.train_subset": 4000, "data.test_subset": 1000, "wm.labels": "source",
        "wm.embed": "interleave", "wm.interleave_k": 16, "eval.adv_samples": 50, "eval.steps": 2}))
    assert out.metrics["wm.acc"] >= 0.9
    assert out.metrics["acc"] >= 0.95
    assert out.metrics["wm.log10_p"] < -50


def test_adversarial_training_resists_pgd_far_better_than_an_undefended_model(shared_data_dir: Path) -> None:
    common = {"train.epochs": 3, "data.train_subset": 2000, "data.test_subset": 500, "eval.adv_samples": 300,
              "eval.gamma": 0.1, "eval.steps": 10}
    undefended = train(_mnist(shared_data_dir, **common))
    defended = train(_mnist(shared_data_dir, mechanisms=["adv"], **common, **{"adv.gamma": 0.1, "adv.steps": 3}))
    assert defended.metrics["adv.acc"] >= undefended.metrics["adv.acc"] + 0.2
    assert defended.metrics["adv.acc"] >= 0.5 and defended.metrics["acc"] >= 0.85
