"""Baseline matching: which rows a combination's metrics are compared against.

The baseline of member mechanism M of a combination is the set of ok rows with `mechanisms == M` that
share the combination's dataset, model, every `train.*`, `data.*` and `eval.*` value and every value of
M's own hyperparameters (`M.*`), except the variant flags `wm.decoupled` and `rad.decoupled`: where
rows in the default variant (flag false or missing) exist for a key, only those are used. The
reference "none" (undefended model) matches on dataset, model, `train.*`, `data.*` and `eval.*`.
Every matching row is pooled, whatever its config_id. Columns that only say where a trial ran
(`schema.ENVIRONMENT`: data.dir, train.device, eval.batch_size) are not matched.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.schema import ENVIRONMENT, VARIANT_FLAGS, hyperparameter_columns

__all__ = ["baseline_stats", "match_columns"]

_SHARED_PREFIXES = ("train.", "data.", "eval.")


def match_columns(df: pd.DataFrame, mechanism: str) -> list[str]:
    """Columns whose values a baseline of `mechanism` ("none" for the undefended model) must share."""
    ids = [c for c in ("dataset", "model") if c in df.columns]
    own = () if mechanism == "none" else (f"{mechanism}.",)
    hyper = [
        c
        for c in hyperparameter_columns(df)
        if c.startswith((*_SHARED_PREFIXES, *own)) and c not in VARIANT_FLAGS and c not in ENVIRONMENT
    ]
    return ids + sorted(hyper)


def baseline_stats(rows: pd.DataFrame, mechanism: str, metrics: Sequence[str]) -> pd.DataFrame:
    """Pooled count, mean and sample std of `metrics` over the baseline rows, one row per match key.

    Columns: the match columns, then `n:<metric>`, `mean:<metric>`, `std:<metric>` and `n_configs`.
    """
    keys = match_columns(rows, mechanism)
    base = rows[(rows["mechanisms"] == mechanism).fillna(False).to_numpy(dtype=bool)]
    flag = f"{mechanism}.decoupled"
    if flag in base.columns and not base.empty:
        default = ~(base[flag] == True).fillna(False).to_numpy(dtype=bool)  # noqa: E712 (object column)
        has_default = (
            pd.Series(default, index=base.index).groupby([base[k] for k in keys], dropna=False).transform("any")
        )
        base = base[default | ~has_default.to_numpy(dtype=bool)]
    columns = [*keys, *(f"{s}:{m}" for m in metrics for s in ("n", "mean", "std")), "n_configs"]
    if base.empty:
        return pd.DataFrame(columns=columns)
    grouped = base.groupby(keys, dropna=False, sort=False)
    parts = []
    for metric in metrics:
        values = grouped[metric]
        parts += [
            values.count().rename(f"n:{metric}"),
            values.mean().rename(f"mean:{metric}"),
            values.std(ddof=1).rename(f"std:{metric}"),
        ]
    parts.append(grouped["config_id"].nunique().rename("n_configs"))
    return pd.concat(parts, axis=1).reset_index()[columns]
