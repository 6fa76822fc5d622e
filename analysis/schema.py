"""Column names of the result schema and how to read them (metrics, hyperparameters, mechanisms), from the
mechanism specs of :mod:`search_spaces.registry` (torch-free; plug-ins included)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from search_spaces import registry

__all__ = [
    "ENVIRONMENT",
    "LOG_METRICS",
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

MECHANISMS: tuple[str, ...] = registry.names()
"""Mechanism names as they appear in the `mechanisms` column ("none" is the undefended model): the specs'."""

METRICS: tuple[str, ...] = ("acc", *(m.name for s in registry.specs().values() for m in s.metrics), "loss")
"""Metric columns (floats, NaN where not applicable), from the mechanism specs; some are derived, not chosen."""

VARIANT_FLAGS: tuple[str, ...] = tuple(f for s in registry.specs().values() for f in s.variant_flags)
"""Variant switches that baseline matching ignores (a baseline runs in its mechanism's default variant)."""

ENVIRONMENT: tuple[str, ...] = ("data.dir", "train.device", "eval.batch_size", "eval.epoch_adv")
"""Hyperparameter columns that say where or how fast a trial ran, or what it also recorded, not what it
computed: never matched."""

_HYPER_PREFIXES = frozenset({*MECHANISMS, "train", "data", "eval"})

_LABELS: dict[str, str] = {
    "acc": "test accuracy (fraction)",
    **{m.name: m.label for s in registry.specs().values() for m in s.metrics},
    **{k: v for s in registry.specs().values() for k, v in s.knob_labels.items()},
    "train.epochs": "epochs",
    "train.batch_size": "batch size (images)",
    "train.lr": "learning rate",
    "data.train_subset": "training subset (images)",
    "data.test_subset": "test subset (images)",
}
LOG_METRICS: frozenset[str] = frozenset(m.name for s in registry.specs().values() for m in s.metrics if m.log_scale)
"""Metrics plotted on a log scale (p-values)."""


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
