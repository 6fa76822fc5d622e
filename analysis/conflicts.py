"""The verdict matrix of the paper's Table 11: combinations x datasets, naming the deciding metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.equivalence import equivalence
from analysis.sequential import config_designs
from search_spaces.seeds import SeedDesign
from analysis.schema import combinations, dataset_order, members
from analysis.summary import ok_rows
from analysis.thresholds import Thresholds

__all__ = ["UNDECIDED_COLUMNS", "VERDICTS", "ConflictMatrix", "cell_text", "conflicts", "undecided"]

VERDICTS: tuple[str, ...] = ("conflict", "no conflict", "inconclusive", "no data")
_CELL_COLUMNS = [
    "mechanisms",
    "dataset",
    "model",
    "verdict",
    "metrics",
    "n_configs",
    "n_conflict",
    "n_no_conflict",
    "n_inconclusive",
    "note",
]
_CONFIG_COLUMNS = ["dataset", "model", "mechanisms", "config_id", "verdict", "metrics", "reasons"]


@dataclass(frozen=True)
class ConflictMatrix:
    """Verdicts per configuration and per (combination, dataset, model) cell, with their evidence.

    cells: one row per cell: verdict, deciding metrics, how many configs had each verdict, a note.
    configs: one row per combination config: verdict, deciding metrics and the reasons.
    equivalence: the `equivalence` table the verdicts came from.
    """

    cells: pd.DataFrame
    configs: pd.DataFrame
    equivalence: pd.DataFrame
    thresholds: Thresholds

    def table(self) -> pd.DataFrame:
        """Wide view: one row per combination, one column per dataset (dataset/model when a dataset has
        several models), each cell like "conflict: wm.acc" or "no conflict"."""
        if self.cells.empty:
            return pd.DataFrame()
        cells = self.cells.assign(setting=_settings(self.cells), text=[cell_text(r) for r in self.cells.itertuples()])
        wide = cells.pivot_table(index="mechanisms", columns="setting", values="text", aggfunc="first")
        rows = [c for c in combinations(wide.index) if c in wide.index] + [c for c in wide.index if len(members(c)) < 2]
        columns = sorted(wide.columns, key=dataset_order)
        return wide.loc[rows, columns].fillna("").rename_axis(index="combination", columns="dataset")


def cell_text(cell: Any) -> str:
    """Short text of one cell: the verdict, the deciding metrics and the share of configs if mixed."""
    verdict, metrics = cell.verdict, cell.metrics
    text = f"{verdict}: {metrics}" if metrics and verdict in ("conflict", "inconclusive") else str(verdict)
    n, hits = int(cell.n_configs), int(cell.n_conflict)
    if verdict == "conflict" and n > 1:
        text += f" ({hits}/{n} configs)"
    return text


def conflicts(
    df: pd.DataFrame,
    thresholds: Thresholds | None = None,
    *,
    equivalence_table: pd.DataFrame | None = None,
    designs: dict[str, SeedDesign] | None = None,
) -> ConflictMatrix:
    """Decide every combination config and summarise per (combination, dataset, model).

    A config is in conflict when any of its deciding metrics is; "no conflict" when all of them are
    shown not to be; otherwise inconclusive. A cell is "conflict" when at least one of its configs is
    (the conflict occurs in the explored settings), "no conflict" when all are, "inconclusive"
    otherwise, and "no data" when the combination has no ok trial.
    """
    th = thresholds or Thresholds()
    eq = equivalence(df, th, designs=designs) if equivalence_table is None else equivalence_table
    configs = _config_verdicts(eq)
    cells = pd.concat([_cells(configs), _empty_cells(df, configs)], ignore_index=True)
    return ConflictMatrix(cells=cells[_CELL_COLUMNS], configs=configs, equivalence=eq, thresholds=th)


def _config_verdicts(eq: pd.DataFrame) -> pd.DataFrame:
    keys = ["dataset", "model", "mechanisms", "config_id"]
    decisive = eq.loc[eq["role"] == "verdict", [*keys, "metric", "verdict", "reason"]]
    if decisive.empty:
        return pd.DataFrame(columns=_CONFIG_COLUMNS)
    grouped = decisive.assign(_c=decisive["verdict"] == "conflict", _n=decisive["verdict"] == "no conflict").groupby(
        keys, dropna=False, sort=True
    )
    out = grouped.agg(
        _any_conflict=("_c", "any"), _all_clear=("_n", "all"), reasons=("reason", "; ".join)
    ).reset_index()
    out["verdict"] = np.select([out["_any_conflict"], out["_all_clear"]], ["conflict", "no conflict"], "inconclusive")
    rows = decisive.merge(out[[*keys, "verdict"]], on=keys, suffixes=("", "_config"))
    deciding = rows[(rows["verdict"] == rows["verdict_config"]) & (rows["verdict_config"] != "no conflict")]
    names = deciding.groupby(keys, dropna=False)["metric"].agg(lambda m: ", ".join(sorted(set(m)))).rename("metrics")
    out = out.merge(names.reset_index(), on=keys, how="left")
    out["metrics"] = out["metrics"].fillna("")
    return out[_CONFIG_COLUMNS]


def _cells(configs: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (mechs, dataset, model), group in configs.groupby(["mechanisms", "dataset", "model"], dropna=False, sort=True):
        counts = {v: int((group["verdict"] == v).sum()) for v in ("conflict", "no conflict", "inconclusive")}
        n = len(group)
        if counts["conflict"]:
            verdict = "conflict"
        elif counts["no conflict"] == n:
            verdict = "no conflict"
        else:
            verdict = "inconclusive"
        chosen = group[group["verdict"] == verdict]
        metrics = sorted({m for text in chosen["metrics"] for m in text.split(", ") if m})
        out.append(
            {
                "mechanisms": mechs,
                "dataset": dataset,
                "model": model,
                "verdict": verdict,
                "metrics": ", ".join(metrics),
                "n_configs": n,
                "n_conflict": counts["conflict"],
                "n_no_conflict": counts["no conflict"],
                "n_inconclusive": counts["inconclusive"],
                "note": _note(group, counts),
            }
        )
    return pd.DataFrame(out, columns=_CELL_COLUMNS)


def _note(group: pd.DataFrame, counts: dict[str, int]) -> str:
    notes = []
    parts = [part for text in group["reasons"] for part in text.split("; ")]
    missing = sorted({part.split("'")[1] for part in parts if "no matching" in part})
    if missing:
        notes.append("no matching baseline for " + ", ".join(missing))
    screening = int(group["reasons"].str.contains("screening only", regex=False).sum())
    if screening:
        notes.append(
            f"{screening} config(s) screening only (no exact baseline at their settings: "
            "confirm them, `explorer confirm`)"
        )
    weak = sorted({part.split(" alone")[0] for part in parts if " alone misses" in part})
    if weak:
        notes.append(f"{', '.join(weak)} alone also misses its threshold here (a weak mechanism, not only a conflict)")
    if len(group) > 1:
        notes.append(", ".join(f"{k} {v}" for k, v in counts.items() if v) + f" of {len(group)} configs")
    return "; ".join(notes)


def _empty_cells(df: pd.DataFrame, configs: pd.DataFrame) -> pd.DataFrame:
    if df.empty or "mechanisms" not in df.columns:
        return pd.DataFrame(columns=_CELL_COLUMNS)
    model = df["model"] if "model" in df.columns else pd.Series("", index=df.index)
    every = df.assign(model=model)
    every = every[every["mechanisms"].map(lambda v: len(members(v)) >= 2).to_numpy(dtype=bool)]
    seen = set(zip(configs["mechanisms"], configs["dataset"], configs["model"]))
    ok = ok_rows(every)
    out = []
    for (mechs, dataset, mdl), group in every.groupby(["mechanisms", "dataset", "model"], dropna=False, sort=True):
        if (mechs, dataset, mdl) in seen:
            continue
        n_ok = int(((ok["mechanisms"] == mechs) & (ok["dataset"] == dataset)).sum())
        note = f"{len(group)} trial(s), none ok" if n_ok == 0 else f"{n_ok} ok trial(s) without usable metrics"
        out.append(
            {
                "mechanisms": mechs,
                "dataset": dataset,
                "model": mdl,
                "verdict": "no data",
                "metrics": "",
                "n_configs": 0,
                "n_conflict": 0,
                "n_no_conflict": 0,
                "n_inconclusive": 0,
                "note": note,
            }
        )
    return pd.DataFrame(out, columns=_CELL_COLUMNS)


def _settings(cells: pd.DataFrame) -> list[str]:
    models = cells.groupby("dataset")["model"].nunique()
    return [f"{d}/{m}" if models.get(d, 1) > 1 else str(d) for d, m in zip(cells["dataset"], cells["model"])]


UNDECIDED_COLUMNS = ("dataset", "model", "mechanisms", "config_id", "n", "design", "next_n", "baselines", "reasons")
"""The columns of :func:`undecided`."""


def undecided(df: pd.DataFrame, thresholds: Thresholds | None = None, *,
              designs: dict[str, SeedDesign] | None = None) -> pd.DataFrame:
    """The combination configs in ``df`` whose verdict (`analysis.conflicts`, the report's) is still
    inconclusive and whose design allows another look: one row each with its seeds ``n``, ``design``
    (text), the seed count of the next look ``next_n``, the ``baselines`` its undecided comparisons test
    against (a tuple of mechanism names: those need seeds too) and the ``reasons`` of its undecided metrics.

    ``designs`` (config_id -> design) overrides the designs the rows carry, e.g. for a plan whose first
    rows were written before the design was chosen.
    """
    th = thresholds or Thresholds()
    known = {**config_designs(df), **(designs or {})}
    matrix = conflicts(df, th, designs=known)
    eq = matrix.equivalence
    out = []
    for row in matrix.configs.itertuples(index=False):
        if row.verdict != "inconclusive":
            continue
        design = known.get(str(row.config_id))
        if design is None or not design.sequential:
            continue
        mine = eq[(eq["config_id"] == row.config_id) & (eq["role"] == "verdict")]
        n = int(mine["n"].max()) if len(mine) else 0
        next_n = design.next_count(n)
        if next_n is None:
            continue
        open_rows = mine[mine["verdict"] == "inconclusive"]
        against = open_rows.loc[open_rows["test"] != "one-sample t", "baseline"]  # one-sample: a fixed bound
        out.append({"dataset": row.dataset, "model": row.model, "mechanisms": row.mechanisms,
                    "config_id": row.config_id, "n": n, "design": design.text, "next_n": next_n,
                    "baselines": tuple(sorted({str(b) for b in against if b != "none"})),
                    "reasons": "; ".join(str(r) for r in open_rows["reason"])})
    return pd.DataFrame(out, columns=list(UNDECIDED_COLUMNS))
