"""One row per configuration: metric means and standard deviations over its seeds."""

from __future__ import annotations

import pandas as pd

from analysis.schema import hyperparameter_columns, metric_columns

__all__ = ["ID_COLUMNS", "config_summary", "ok_rows"]

ID_COLUMNS: tuple[str, ...] = ("config_id", "dataset", "model", "mechanisms")


def ok_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows whose `status` is "ok" (all rows when there is no status column)."""
    if "status" not in df.columns:
        return df
    return df[(df["status"] == "ok").fillna(False).to_numpy(dtype=bool)]


def config_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Average the ok rows of each `config_id` over its seeds.

    Columns: the id columns, every hyperparameter column (its first value), `n_seeds`, each metric's
    mean under its own name and its sample standard deviation (ddof=1) as `std:<metric>`.
    """
    rows = ok_rows(df)
    ids = [c for c in ID_COLUMNS if c in rows.columns]
    hyper = hyperparameter_columns(rows)
    metrics = metric_columns(rows)
    if rows.empty:
        columns = [*ids, *hyper, "n_seeds", *metrics, *(f"std:{m}" for m in metrics)]
        return pd.DataFrame(columns=columns)
    grouped = rows.groupby("config_id", sort=True, dropna=True)
    first = grouped[[c for c in (*ids, *hyper) if c != "config_id"]].first()
    counts = grouped.size().rename("n_seeds")
    means = grouped[metrics].mean()
    stds = grouped[metrics].std(ddof=1).add_prefix("std:")
    out = pd.concat([first, counts, means, stds], axis=1).reset_index()
    return out[[*ids, *hyper, "n_seeds", *metrics, *stds.columns]]
