"""Radioactive data and dataset inference on real MNIST (slow: minutes on two CPU cores)."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from explorer.config import TrialConfig
from explorer.mechanisms.di import mechanism as di
from explorer.seeding import generator
from explorer.train import make_context, train

pytestmark = pytest.mark.slow


def _mnist(data_dir: Path, mechanisms: list[str], **extra: Any) -> TrialConfig:
    return TrialConfig.from_dict({
        "dataset": "mnist", "data.dir": str(data_dir), "data.test_subset": 2000, "train.device": "cpu",
        "eval.adv_samples": 100, "mechanisms": mechanisms, **extra})


def test_rad_marks_are_learned_and_a_clean_model_is_not_fooled(shared_data_dir: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    config = _mnist(shared_data_dir, ["rad"], **{"data.train_subset": 5000, "train.epochs": 3, "rad.ratio": 0.1})
    out = train(config)
    gap, p, psnr = out.metrics["rad.loss_gap"], out.metrics["rad.p_value"], out.metrics["rad.psnr"]
    print(f"rad model: loss_gap {gap:.4f} p {p:.2e} psnr {psnr:.1f} dB acc {out.metrics['acc']:.4f}")
    assert gap >= 0.01 and p < 0.01 and psnr > 20 and out.metrics["acc"] >= 0.95

    clean = train(config.replace(mechanisms=(), rad=None)).network
    rad = out.composer.mechanisms[0]  # the same marked images, tested on the clean model
    clean_metrics = rad.evaluate(None, SimpleNamespace(model=clean, network=clean))
    print(f"clean model: loss_gap {clean_metrics['loss_gap']:.4f} p {clean_metrics['p_value']:.2e}")
    assert abs(clean_metrics["loss_gap"]) < 0.01


def test_di_verifies_the_trained_model_with_the_notebooks_rows(shared_data_dir: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The must-show holds with the reference's rows (30 samples each); one row per sample (DESIGN 3.5) does
    not reach 1e-3 on MNIST from the same walks (docs/metrics.md, decision 17)."""
    walks: list[torch.Tensor] = []
    walk = di.blind_walk
    monkeypatch.setattr(di, "blind_walk", lambda *a, **k: walks.append(walk(*a, **k)) or walks[-1])
    config = _mnist(shared_data_dir, ["di"], **{"data.train_subset": 500, "train.epochs": 60, "di.rows": "reference"})
    out = train(config)
    print(f"di, reference rows: p_value_m10 {out.metrics['di.p_value_m10']:.2e} "
          f"p_value (all rows) {out.metrics['di.p_value']:.2e} acc {out.metrics['acc']:.4f}")
    assert out.metrics["di.p_value_m10"] <= 1e-3

    # the same members, non-members and walks (replayed: walking 2 x 1000 images again takes minutes)
    assert len(walks) == 2
    replay = iter(walks)
    monkeypatch.setattr(di, "blind_walk", lambda *a, **k: next(replay))
    mech = di.DatasetInference(dataclasses.replace(config.di, rows="sample"), generator(config.seed, "di", "cpu"))
    per_sample = mech.evaluate(make_context(config), out.network)  # a plain module walks as the state would
    print(f"di, one row per sample: p_value_m10 {per_sample['p_value_m10']:.2e} "
          f"p_value (all rows) {per_sample['p_value']:.2e}")
    assert per_sample["p_value_m10"] > 1e-3


def test_digits_rad_di_wm_finishes_in_three_minutes_with_every_metric(tmp_path: Path) -> None:
    env = {"EXPLORER_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "explorer.cli", "train", "--dataset", "digits",
                           "--mechanisms", "rad,di,wm", "--epochs", "3"], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[2], timeout=600)
    seconds = time.perf_counter() - t0
    print(f"explorer train --dataset digits --mechanisms rad,di,wm --epochs 3: {seconds:.0f} s")
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)
    for key in ("acc", "wm.acc", "wm.log10_p", "rad.loss_gap", "rad.p_value", "rad.psnr", "di.p_value",
                "di.p_value_m10"):
        assert row[key] is not None and math.isfinite(row[key]), key
    assert seconds < 180
