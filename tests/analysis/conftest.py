"""Synthetic result tables with known per-group means and spreads, shaped like `explorer search` rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

Spec = Mapping[str, Any]

HYPER_DEFAULTS: dict[str, dict[str, object]] = {
    "dp": {"dp.target_epsilon": 3.0, "dp.delta": 1e-5, "dp.max_grad_norm": 1.0, "dp.accountant": "prv"},
    "adv": {"adv.gamma": 0.25, "adv.steps": 10, "adv.step_size": 0.05},
    "wm": {
        "wm.trigger_size": 100,
        "wm.labels": "random",
        "wm.source": "noise",
        "wm.embed": "finetune",
        "wm.decoupled": False,
    },
    "rad": {"rad.ratio": 0.1, "rad.radius": 0.03, "rad.decoupled": False},
    "di": {"di.samples": 100, "di.independent": True},
}
METRIC_NAMES = (
    "acc",
    "adv.acc",
    "wm.acc",
    "wm.log10_p",
    "rad.loss_gap",
    "rad.p_value",
    "rad.psnr",
    "di.p_value",
    "di.p_value_m10",
    "di.p_value_independent",
    "di.p_value_unseen",
    "dp.epsilon",
    "risk.mia_auc",
    "risk.mia_tpr_at_1fpr",
    "risk.train_test_gap",
)


def exact_sample(mean: float, std: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """n values whose sample mean and sample std (ddof=1) are exactly `mean` and `std`."""
    if n == 1 or std == 0:
        return np.full(n, float(mean))
    z = rng.standard_normal(n)
    z = (z - z.mean()) / z.std(ddof=1)
    return mean + std * z


def make_results(groups: Sequence[Spec], *, seeds: int = 5, rng_seed: int = 0) -> pd.DataFrame:
    """Rows for each group spec: dataset, mechanisms, optional model, params, metrics {name: (mean, std)},
    seeds, status. Every group is one config (one config_id) replicated over its seeds."""
    rng = np.random.default_rng(rng_seed)
    all_hyper = sorted({k for d in HYPER_DEFAULTS.values() for k in d})
    rows: list[dict[str, object]] = []
    start = pd.Timestamp("2026-01-01T00:00:00Z")
    for spec in groups:
        mechs = spec["mechanisms"]
        names = [] if mechs == "none" else mechs.split("+")
        params: dict[str, object] = {k: None for k in all_hyper}
        params.update(
            {
                "train.epochs": 2,
                "train.batch_size": 64,
                "train.lr": 0.1,
                "data.train_subset": 1000,
                "data.test_subset": 500,
            }
        )
        for name in names:
            params.update(HYPER_DEFAULTS[name])
        params.update(spec.get("params", {}))
        config = {"dataset": spec["dataset"], "model": spec.get("model", "cnn4"), "mechanisms": mechs, **params}
        config_id = hashlib.sha1(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:12]
        n = spec.get("seeds", seeds)
        metrics = {"acc": (0.9, 0.01), "adv.acc": (0.05, 0.01), **spec.get("metrics", {})}
        values = {m: exact_sample(*metrics[m], n, rng) for m in metrics}
        for i in range(n):
            row: dict[str, object] = {
                "experiment": spec.get("experiment", "synthetic"),
                "trial_id": f"{config_id}-{i}",
                "config_id": config_id,
                "seed": i,
                "dataset": spec["dataset"],
                "model": spec.get("model", "cnn4"),
                "mechanisms": mechs,
                **params,
            }
            row.update({m: (float(values[m][i]) if m in values else np.nan) for m in METRIC_NAMES})
            status = spec.get("status", "ok")
            row.update(
                status=status,
                error=None if status == "ok" else "RuntimeError: boom",
                caveats=spec.get("caveats", ""),
                train_seconds=1.0,
                images_per_second=100.0,
                peak_memory_mb=10.0,
                device="cpu",
                node="local",
                start_time=start + pd.Timedelta(seconds=10 * len(rows)),
                end_time=start + pd.Timedelta(seconds=10 * len(rows) + 5),
                versions=json.dumps({"analysis": "test"}),
            )
            if status != "ok":
                row.update({m: np.nan for m in METRIC_NAMES})
            rows.append(row)
    return pd.DataFrame(rows)


def table4_groups() -> list[dict[str, object]]:
    """The structure of the paper's Table 4: baselines none/dp/adv/wm and the pairs dp+wm and adv+wm,
    on four datasets, with spreads chosen so that each verdict is known in advance (see test_conflict_verdicts)."""

    def g(dataset: str, mechanisms: str, **metrics: tuple[float, float]) -> dict[str, object]:
        return {"dataset": dataset, "mechanisms": mechanisms, "metrics": metrics}

    return [
        # mnist: dp+wm conflicts on wm.acc; adv+wm no conflict.
        g("mnist", "none", acc=(0.99, 0.002), **{"adv.acc": (0.01, 0.005)}),
        g("mnist", "dp", acc=(0.95, 0.005), **{"adv.acc": (0.01, 0.005)}),
        g("mnist", "adv", acc=(0.98, 0.003), **{"adv.acc": (0.90, 0.01)}),
        g("mnist", "wm", acc=(0.99, 0.002), **{"adv.acc": (0.01, 0.005), "wm.acc": (0.99, 0.01)}),
        g("mnist", "dp+wm", acc=(0.94, 0.006), **{"adv.acc": (0.01, 0.005), "wm.acc": (0.40, 0.05)}),
        g("mnist", "adv+wm", acc=(0.975, 0.004), **{"adv.acc": (0.89, 0.01), "wm.acc": (0.95, 0.02)}),
        # fashion_mnist: adv+wm decided only by TOST: acc drops 0.07 (< 0.10) below the lower baseline, a drop
        # that Welch finds significant against zero but which TOST shows lies within the threshold.
        g("fashion_mnist", "none", acc=(0.91, 0.004), **{"adv.acc": (0.01, 0.005)}),
        g("fashion_mnist", "dp", acc=(0.86, 0.006), **{"adv.acc": (0.01, 0.005)}),
        g("fashion_mnist", "adv", acc=(0.85, 0.006), **{"adv.acc": (0.70, 0.01)}),
        g("fashion_mnist", "wm", acc=(0.90, 0.005), **{"adv.acc": (0.01, 0.005), "wm.acc": (0.98, 0.01)}),
        g("fashion_mnist", "dp+wm", acc=(0.85, 0.008), **{"adv.acc": (0.01, 0.005), "wm.acc": (0.60, 0.04)}),
        g("fashion_mnist", "adv+wm", acc=(0.78, 0.01), **{"adv.acc": (0.69, 0.01), "wm.acc": (0.97, 0.01)}),
        # cifar10: dp+wm inconclusive (wm.acc drop 0.35 > 0.30 but the spread is too wide to tell);
        # adv+wm conflicts on acc (drop 0.18 below the adv baseline) and on adv.acc.
        g("cifar10", "none", acc=(0.91, 0.005), **{"adv.acc": (0.0, 0.0)}),
        g("cifar10", "dp", acc=(0.60, 0.01), **{"adv.acc": (0.0, 0.0)}),
        g("cifar10", "adv", acc=(0.80, 0.01), **{"adv.acc": (0.45, 0.01)}),
        g("cifar10", "wm", acc=(0.90, 0.005), **{"adv.acc": (0.0, 0.0), "wm.acc": (1.0, 0.0)}),
        g("cifar10", "dp+wm", acc=(0.58, 0.01), **{"adv.acc": (0.0, 0.0), "wm.acc": (0.65, 0.30)}),
        g("cifar10", "adv+wm", acc=(0.62, 0.02), **{"adv.acc": (0.30, 0.02), "wm.acc": (0.99, 0.01)}),
        # digits: dp+wm inconclusive the other way: the mean wm.acc drop 0.20 is within 0.30, but the seeds
        # spread too much for TOST to show it; adv+wm no conflict.
        g("digits", "none", acc=(0.97, 0.005), **{"adv.acc": (0.02, 0.01)}),
        g("digits", "dp", acc=(0.93, 0.01), **{"adv.acc": (0.02, 0.01)}),
        g("digits", "adv", acc=(0.95, 0.01), **{"adv.acc": (0.80, 0.02)}),
        g("digits", "wm", acc=(0.96, 0.01), **{"adv.acc": (0.02, 0.01), "wm.acc": (0.95, 0.02)}),
        g("digits", "dp+wm", acc=(0.92, 0.01), **{"adv.acc": (0.02, 0.01), "wm.acc": (0.75, 0.25)}),
        g("digits", "adv+wm", acc=(0.94, 0.01), **{"adv.acc": (0.78, 0.02), "wm.acc": (0.93, 0.02)}),
    ]


@pytest.fixture
def synth() -> Callable[..., pd.DataFrame]:
    """The `make_results` factory."""
    return make_results


@pytest.fixture
def table4() -> pd.DataFrame:
    """Table-4-shaped results, 6 seeds per group."""
    return make_results(table4_groups(), seeds=6, rng_seed=4)


@pytest.fixture
def table4_parquet(tmp_path: Path, table4: pd.DataFrame) -> Path:
    """The Table 4 fixture written as a directory of two Parquet part files plus a non-Parquet file."""
    root = tmp_path / "search"
    (root / "part").mkdir(parents=True)
    half = len(table4) // 2
    table4.iloc[:half].to_parquet(root / "part" / "a.parquet", index=False)
    table4.iloc[half:].to_parquet(root / "b.parquet", index=False)
    (root / "experiment_state.json").write_text("{}")
    return root
