"""Workable operating points: feasible configurations, the recommended one, or the nearest miss."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.conflicts import conflicts
from analysis.equivalence import equivalence
from analysis.pareto import Constraints, Objectives, feasible_mask, losses, pareto_mask
from analysis.schema import hyperparameter_columns, members
from analysis.summary import config_summary
from analysis.thresholds import Thresholds

__all__ = ["RULE", "OperatingPoints", "operating_points"]

RULE = (
    "Per (dataset, model, mechanisms): among the feasible configs, prefer those whose statistical verdict is "
    "'no conflict', then the best mean of the first objective, then of the next objectives in order, then "
    "more seeds, then the smaller config_id. A config is feasible when every mean-based check of the "
    "conflict rule is within its threshold (a missing baseline counts as a miss) and every constraint holds. "
    "When none is feasible, the nearest is the config with the smallest sum of shortfalls, each divided "
    "by its threshold (a missing value counts as infinitely far)."
)
_GROUP = ["dataset", "model", "mechanisms"]


@dataclass(frozen=True)
class OperatingPoints:
    """candidates: one row per config (means over seeds, `margin:<metric>`, feasible, on_front, verdict,
    shortfall, misses). recommended: one row per (dataset, model, mechanisms) with `status`
    "recommended" or "nearest (none feasible)", the chosen config and what it misses."""

    candidates: pd.DataFrame
    recommended: pd.DataFrame
    objectives: dict[str, str]
    rule: str = RULE


def operating_points(
    df: pd.DataFrame,
    objectives: Objectives | None = None,
    thresholds: Thresholds | None = None,
    *,
    constraints: Constraints | None = None,
    mechanisms: str | Sequence[str] | None = None,
    equivalence_table: pd.DataFrame | None = None,
) -> OperatingPoints:
    """Feasible configs and a recommendation per (dataset, model, mechanisms); see `RULE`.

    `mechanisms` selects the candidate combinations (default: every value with >= 2 mechanisms, or
    every config when there is none); `df` should keep the baselines, which the checks need.
    `objectives` default to {"acc": "max"}; `constraints` apply to the config means.
    """
    objectives = dict(objectives or {"acc": "max"})
    th = thresholds or Thresholds()
    summary = config_summary(df)
    candidates = summary[_selected(summary, mechanisms)].reset_index(drop=True)
    eq = equivalence(df, th) if equivalence_table is None else equivalence_table
    candidates = _with_checks(candidates, eq, conflicts(df, th, equivalence_table=eq).configs, th)
    candidates = _with_constraints(candidates, constraints)
    candidates["feasible"] = candidates["shortfall"] == 0
    candidates["on_front"] = False
    for _, index in candidates.groupby(_GROUP, dropna=False).groups.items():
        group = candidates.loc[index]
        candidates.loc[index, "on_front"] = pareto_mask(group, objectives, lambda g: g["feasible"]).to_numpy()
    return OperatingPoints(candidates=candidates, recommended=_recommend(candidates, objectives), objectives=objectives)


def _selected(summary: pd.DataFrame, mechanisms: str | Sequence[str] | None) -> np.ndarray:
    if mechanisms is not None:
        wanted = [mechanisms] if isinstance(mechanisms, str) else list(mechanisms)
        return summary["mechanisms"].isin(wanted).to_numpy(dtype=bool)
    combo = summary["mechanisms"].map(lambda v: len(members(v)) >= 2).to_numpy(dtype=bool)
    return combo if combo.any() else np.ones(len(summary), dtype=bool)


def _with_checks(candidates: pd.DataFrame, eq: pd.DataFrame, verdicts: pd.DataFrame, th: Thresholds) -> pd.DataFrame:
    decisive = eq[eq["role"] == "verdict"]
    margins = decisive.pivot_table(index="config_id", columns="metric", values="margin", aggfunc="first", dropna=False)
    scales = decisive.groupby("metric")["threshold"].first()
    out = candidates.merge(verdicts[["config_id", "verdict"]], how="left", on="config_id")
    shortfall = np.zeros(len(out))
    misses: list[list[str]] = [[] for _ in range(len(out))]
    for metric in margins.columns:
        margin = out["config_id"].map(margins[metric]).to_numpy(dtype=float)
        relevant = out["config_id"].isin(decisive.loc[decisive["metric"] == metric, "config_id"]).to_numpy()
        out[f"margin:{metric}"] = margin
        scale = _scale(metric, float(scales[metric]))
        for i in np.flatnonzero(relevant & ~(margin >= 0)):
            shortfall[i] += math.inf if np.isnan(margin[i]) else -margin[i] / scale
            misses[i].append(_miss_text(metric, margin[i], th))
    out["verdict"] = out["verdict"].fillna("")
    out["shortfall"] = shortfall
    out["misses"] = ["; ".join(m) for m in misses]
    return out


def _scale(metric: str, threshold: float) -> float:
    if metric == "di.p_value":
        return 1.0  # decades of p-value
    return abs(threshold) if threshold else 1.0


def _miss_text(metric: str, margin: float, th: Thresholds) -> str:
    if np.isnan(margin):
        return f"{metric}: no value or no baseline to check"
    if metric == "di.p_value":
        return f"di.p_value above {th.di_p:g} by {-margin:.2f} decades"
    if metric == "rad.loss_gap":
        return f"rad.loss_gap below {th.rad_gap:g} by {-margin:.3g}"
    limit = th.acc if metric == "acc" else (th.wm if metric == "wm.acc" else th.adv)
    return f"{metric} drop {limit - margin:.3f} > {limit:g} (by {-margin:.3f})"


def _with_constraints(candidates: pd.DataFrame, constraints: Constraints | None) -> pd.DataFrame:
    if constraints is None or candidates.empty:
        return candidates
    ok = feasible_mask(candidates, constraints).to_numpy()
    out = candidates.copy()
    if callable(constraints):
        out.loc[~ok, "shortfall"] += math.inf
        out.loc[~ok, "misses"] = out.loc[~ok, "misses"].map(
            lambda t: "; ".join(x for x in (t, "constraint function") if x)
        )
        return out
    for column, (op, bound) in constraints.items():
        values = pd.to_numeric(out[column], errors="coerce").to_numpy(dtype=float)
        broken = ~feasible_mask(out, {column: (op, bound)}).to_numpy()
        gap = np.where(np.isnan(values), math.inf, np.abs(values - bound) / (abs(bound) or 1.0))
        out.loc[broken, "shortfall"] += gap[broken]
        texts = [f"{column} {v:.3g} not {op} {bound:g}" for v in values[broken]]
        out.loc[broken, "misses"] = [
            "; ".join(x for x in (t, new) if x) for t, new in zip(out.loc[broken, "misses"], texts)
        ]
    return out


def _recommend(candidates: pd.DataFrame, objectives: dict[str, str]) -> pd.DataFrame:
    columns = [*_GROUP, "status", "config_id", "n_seeds", *objectives, "verdict", "settings", "misses"]
    out = []
    for key, group in candidates.groupby(_GROUP, dropna=False, sort=True):
        feasible = group[group["feasible"]]
        if len(feasible):
            ranked = _rank(feasible, objectives)
            status = "recommended"
        else:
            ranked = group.sort_values(["shortfall", "config_id"], kind="stable")
            status = "nearest (none feasible)"
        best = ranked.iloc[0]
        row = dict(zip(_GROUP, key))
        row.update(
            status=status,
            config_id=best["config_id"],
            n_seeds=best["n_seeds"],
            verdict=best["verdict"],
            settings=_settings(best, group),
            misses=best["misses"] if status != "recommended" else "",
        )
        row.update({k: best.get(k, np.nan) for k in objectives})
        out.append(row)
    return pd.DataFrame(out, columns=columns)


def _rank(feasible: pd.DataFrame, objectives: dict[str, str]) -> pd.DataFrame:
    loss = losses(feasible, objectives)
    order = pd.DataFrame(
        {
            "_verdict": (feasible["verdict"] != "no conflict").to_numpy(dtype=int),
            **{f"_o{i}": np.nan_to_num(loss[:, i], nan=np.inf) for i in range(loss.shape[1])},
            "_seeds": -feasible["n_seeds"].to_numpy(dtype=float),
            "_id": feasible["config_id"].astype(str).to_numpy(),
        },
        index=feasible.index,
    )
    return feasible.loc[order.sort_values(list(order.columns), kind="stable").index]


def _settings(best: pd.Series, group: pd.DataFrame) -> str:
    names = set(members(str(best["mechanisms"])))
    columns = [c for c in hyperparameter_columns(group) if c.split(".", 1)[0] in names and pd.notna(best.get(c))]
    varying = [c for c in columns if group[c].nunique(dropna=False) > 1]
    return ", ".join(f"{c}={_format(best[c])}" for c in (varying or columns))


def _format(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)
