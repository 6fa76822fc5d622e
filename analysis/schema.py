"""Column names of the result schema and how to read them (metrics, hyperparameters, mechanisms)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

__all__ = [
    "ENVIRONMENT",
    "MECHANISMS",
    "METRICS",
    "VARIANT_FLAGS",
    "combinations",
    "dataset_order",
    "hyperparameter_columns",
    "label",
    "members",
    "metric_columns",
]

MECHANISMS: tuple[str, ...] = ("adv", "di", "dp", "rad", "wm")
"""Mechanism names as they appear in the `mechanisms` column ("none" is the undefended model)."""

METRICS: tuple[str, ...] = (
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
    "dp.noise_multiplier",
    "loss",
)
"""Metric columns (floats, NaN where not applicable); `dp.noise_multiplier` is derived, not chosen."""

VARIANT_FLAGS: tuple[str, ...] = ("wm.decoupled", "rad.decoupled")
"""Variant switches that baseline matching ignores (a baseline runs in its mechanism's default variant)."""

ENVIRONMENT: tuple[str, ...] = ("data.dir", "train.device", "eval.batch_size")
"""Hyperparameter columns that say where or how fast a trial ran, not what it computed: never matched."""

_HYPER_PREFIXES = frozenset({*MECHANISMS, "train", "data", "eval"})

_LABELS: dict[str, str] = {
    "acc": "test accuracy (fraction)",
    "adv.acc": "accuracy under PGD (fraction)",
    "wm.acc": "watermark accuracy on D_T (fraction)",
    "wm.log10_p": "watermark log10 p (Eq. 3)",
    "rad.loss_gap": "radioactive loss gap (nats)",
    "rad.p_value": "radioactive p-value",
    "rad.psnr": "radioactive PSNR (dB)",
    "di.p_value": "DI p-value (all held-out rows)",
    "di.p_value_m10": "DI p-value (m = 10, harmonic mean)",
    "di.p_value_independent": "DI p-value (model trained on half B)",
    "di.p_value_unseen": "DI p-value (unseen half B as members)",
    "dp.epsilon": "DP ε spent",
    "dp.target_epsilon": "DP ε (target)",
    "dp.delta": "DP δ",
    "dp.max_grad_norm": "DP clipping norm C",
    "adv.gamma": "PGD γ (pixels, [0,1] scale)",
    "adv.steps": "PGD steps",
    "adv.step_size": "PGD step size (pixels, [0,1] scale)",
    "wm.trigger_size": "trigger-set size |D_T| (images)",
    "rad.ratio": "radioactive ratio (fraction of training set)",
    "rad.radius": "radioactive radius (pixels, [0,1] scale)",
    "di.samples": "DI samples",
    "train.epochs": "epochs",
    "train.batch_size": "batch size (images)",
    "train.lr": "learning rate",
    "data.train_subset": "training subset (images)",
    "data.test_subset": "test subset (images)",
}


def label(column: str) -> str:
    """Human-readable axis label with units for a result column (the column name when unknown)."""
    return _LABELS.get(column, column)


def metric_columns(df: pd.DataFrame) -> list[str]:
    """The metric columns present in `df`, in schema order."""
    return [c for c in METRICS if c in df.columns]


def hyperparameter_columns(df: pd.DataFrame) -> list[str]:
    """Columns named `<prefix>.<knob>` (prefix: a mechanism, train, data or eval) that are not metrics."""
    return [
        c
        for c in df.columns
        if isinstance(c, str) and "." in c and c.split(".", 1)[0] in _HYPER_PREFIXES and c not in METRICS
    ]


def members(mechanisms: str) -> tuple[str, ...]:
    """Mechanism names of a `mechanisms` value: "dp+wm" -> ("dp", "wm"); "none" -> ()."""
    if not isinstance(mechanisms, str) or mechanisms in ("", "none"):
        return ()
    return tuple(sorted(m for m in mechanisms.split("+") if m))


def combinations(values: Iterable[str]) -> list[str]:
    """The values with two or more mechanisms, sorted by size then name."""
    return sorted({v for v in values if len(members(v)) >= 2}, key=lambda v: (len(members(v)), v))


_DATASET_ORDER = ("digits", "mnist", "fashion_mnist", "cifar10")


def dataset_order(name: str) -> tuple[int, str]:
    """Sort key: the paper's datasets first (digits, mnist, fashion_mnist, cifar10), then by name."""
    base = name.split("/")[0]
    return (_DATASET_ORDER.index(base) if base in _DATASET_ORDER else len(_DATASET_ORDER), name)
