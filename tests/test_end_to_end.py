"""Presets end to end: `explorer search --smoke` through a real local Ray, then `explorer report`."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

import search_spaces as ss
from explorer.cli import main

PRESETS = sorted(ss.presets())
#: The presets run end to end by `make test-slow` (CI): every mechanism, pair and triple on MNIST and FMNIST, the
#: CIFAR-10 pipeline (ResNet-20, GTSRB triggers) for the adversarial pairs and an Optuna triple, a grid, an Optuna
#: search with a sequential confirmation, the decoupled variants, DI's independent model, the per-epoch attack and
#: the risk metrics. The other presets repeat these with other values; their smoke forms are validated and
#: expanded without Ray in test_spaces_presets, and EXPLORER_ALL_PRESETS=1 runs every one of them here too (about
#: 70, 1-2 h on 2 cores).
E2E = {"quickstart", "digits-optuna-dp-wm", "risks-fmnist", "repro-mnist-alone", "repro-fmnist-decoupled-adv-rad",
       "repro-fmnist-adv-pgd25", "repro-mnist-di-independent", "mnist-baselines", "mnist-dp-pairs", "mnist-adv-pairs",
       "fmnist-decoupled", "fmnist-optuna-dp-adv-wm", "cifar10-adv-pairs", "cifar10-optuna-dp-adv-wm"}
NEEDS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "cifar-10-batches-py"}  # digits is embedded


@pytest.fixture(autouse=True)
def _private_ray(ray_tmp: Path) -> Path:
    return ray_tmp


def _has_cifar10(root: Path) -> bool:
    folder = root / NEEDS["cifar10"]
    return all((folder / n).is_file() for n in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"])


def _params() -> list:  # type: ignore[type-arg]
    every = os.environ.get("EXPLORER_ALL_PRESETS") == "1"
    return [pytest.param(name, marks=pytest.mark.slow) for name in PRESETS if every or name in E2E]


@pytest.mark.parametrize("preset", _params())
def test_preset_smoke_runs_end_to_end(preset: str, tmp_path: Path, shared_datasets_root: Path,
                                      monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                      request: pytest.FixtureRequest) -> None:
    """CIFAR-10 presets run on a fabricated stand-in (CIFAR-10 and GTSRB) when the real copy is missing."""
    datasets = [d for d in ss.load(str(ss.presets()[preset])).datasets if d in NEEDS]
    if datasets:  # the space's own datasets, not its name: repro-* and risks-* presets need MNIST/FMNIST too
        root = shared_datasets_root
        if "cifar10" in datasets and not _has_cifar10(root):
            root = request.getfixturevalue("cifar10_stand_in")
            with capsys.disabled():
                print(f"\n{preset}: no CIFAR-10 at {shared_datasets_root}, running on the FABRICATED stand-in "
                      f"CIFAR-10 + GTSRB at {root} (pipeline check only: the figures mean nothing)")
        elif missing := [NEEDS[d] for d in datasets if not (root / NEEDS[d]).is_dir()]:
            pytest.skip(f"{', '.join(missing)} not among the offline datasets at {root}")
        monkeypatch.setenv("EXPLORER_DATA_DIR", str(root))
    out = tmp_path / "out"
    space = ss.smoke(ss.load(str(ss.presets()[preset])))
    assert main(["search", str(ss.presets()[preset]), "--out", str(out), "--smoke", "--num-cpus", "2",
                 "--num-gpus", "1"]) == 0  # logical GPUs: presets ask for GPU shares
    rows = pd.read_parquet(out / "rows")
    expected = len(ss.expand(space)) if space.search.algorithm != "optuna" else (
        len(ss.optuna_space(space).baselines()) + ss.optuna_space(space).num_samples)
    assert (rows["status"] == "ok").all(), rows[["mechanisms", "status", "error"]]
    assert not rows.duplicated(["config_id", "seed"]).any()
    confirmed = rows["experiment"].str.endswith(":confirm")
    assert len(rows) - confirmed.sum() == expected
    extra = ss.cost.confirmation_estimate(space)
    assert confirmed.sum() <= (extra.trials if extra else 0)
    if space.search.algorithm == "optuna":  # the Optuna presets confirm their best candidate
        assert confirmed.any()

    report = tmp_path / "report"
    assert main(["report", str(out), "--out", str(report)]) == 0
    names = {p.name for p in report.iterdir()}
    assert {"report.md", "report.html", "conflicts.csv", "pareto.csv"} <= names
    assert any(n.endswith(".png") for n in names)
    html = (report / "report.html").read_text()
    assert "data:image/png;base64," in html and "<img" in html
    if space.search.algorithm == "optuna":
        points = pd.read_csv(report / "operating_points.csv")
        assert "confirmed" in set(points["evidence"]), points[["config_id", "n_seeds", "evidence", "baselines"]]
