"""Workable operating points: feasible configurations, the recommended one, or the nearest miss."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.conflicts import conflicts
from analysis.equivalence import RISE_METRICS, equivalence
from analysis.pareto import Constraints, Objectives, feasible_mask, losses, pareto_mask, pareto_ranks
from analysis.schema import LOG_METRICS, hyperparameter_columns, members
from analysis.summary import config_summary
from analysis.thresholds import Thresholds, rule_of

__all__ = [
    "CONFIRM_SUFFIX",
    "EVIDENCE",
    "RULE",
    "STATUSES",
    "OperatingPoints",
    "best_point",
    "confirmation_candidates",
    "operating_points",
    "point_summary",
    "screening_rows",
]

CONFIRM_SUFFIX = ":confirm"
"""Rows of confirmation trials carry `experiment` = the space's name + this suffix."""

EVIDENCE: tuple[str, ...] = ("confirmed", "screening")
"""A candidate is `confirmed` when it has >= 2 seeds and every baseline of its drop checks (acc, wm.acc,
adv.acc) matched exactly with >= 2 rows, so that its verdict is a statistical test at its own settings;
otherwise its figures are a `screening` estimate (one seed, or a nearest or missing baseline)."""

STATUSES: tuple[str, ...] = ("recommended", "nearest (none passes)", "screening only (unconfirmed)")

RULE = (
    "Per (dataset, model, mechanisms). A config is feasible when every mean-based check of the conflict rule "
    "is within its threshold (a missing baseline counts as a miss) and every constraint holds. It is confirmed "
    "when it has >= 2 seeds and exact baselines (>= 2 seeds each) at its own settings, so that its verdict is "
    "a Welch/TOST test; otherwise it is a screening estimate (one seed, or the nearest baseline). The "
    "recommended config is a confirmed, feasible one whose verdict is 'no conflict' (a config of one mechanism "
    "has no verdict to pass): the best mean of the "
    "first objective, then of the next objectives in order, then more seeds, then the smaller config_id. When "
    "no confirmed config passes, the nearest confirmed one is named with what it misses (the smallest sum of "
    "shortfalls, each divided by its threshold; a verdict other than 'no conflict' is a miss). Without any "
    "confirmed config, the best screening config is shown, labelled unconfirmed. Pareto ranks are computed "
    "among the feasible configs of the same evidence (1: on the front)."
)
_GROUP = ["dataset", "model", "mechanisms"]
_PASSING = ("no conflict", "")  # "": a single mechanism or the undefended model, no conflict to judge
_DROP_TEST = "welch+tost"


@dataclass(frozen=True)
class OperatingPoints:
    """candidates: one row per config (means over seeds, `margin:<metric>`, feasible, on_front, verdict,
    evidence, baselines, tests, pareto_rank, shortfall, misses). recommended: one row per (dataset, model,
    mechanisms) with a `status` of `STATUSES`, the chosen config, its verdict and tests, and what it misses."""

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
    candidates = _with_evidence(candidates, eq)
    candidates = _with_constraints(candidates, constraints)
    candidates["feasible"] = candidates["shortfall"] == 0
    candidates["on_front"] = False
    candidates["pareto_rank"] = np.nan
    for _, index in candidates.groupby(_GROUP, dropna=False).groups.items():
        group = candidates.loc[index]
        candidates.loc[index, "on_front"] = pareto_mask(group, objectives, lambda g: g["feasible"]).to_numpy()
        for _, same in group.groupby("evidence").groups.items():
            part = candidates.loc[same]
            candidates.loc[same, "pareto_rank"] = pareto_ranks(part, objectives, lambda g: g["feasible"]).to_numpy()
    return OperatingPoints(candidates=candidates, recommended=_recommend(candidates, objectives), objectives=objectives)


def best_point(points: OperatingPoints) -> pd.Series | None:
    """The one point to name first (the report's answer and the search's progress line): the best
    recommended config over all groups, else the best nearest confirmed one, else the best screening one,
    ranked as within a group (`RULE`). None when there is no candidate."""
    rec = points.recommended
    if rec.empty:
        return None
    order = {status: i for i, status in enumerate(STATUSES)}
    status = rec["status"].map(order).fillna(len(order))
    top = rec[(status == status.min()).to_numpy()]
    chosen = points.candidates[points.candidates["config_id"].isin(top["config_id"])]
    feasible = chosen[chosen["feasible"]]
    if top["status"].iloc[0] == "recommended":
        ranked = _rank(chosen, points.objectives)
    elif top["status"].iloc[0] == "screening only (unconfirmed)" and len(feasible):
        ranked = _rank(feasible, points.objectives)
    else:
        ranked = _nearest(chosen, points.objectives)
    return top[(top["config_id"] == ranked.iloc[0]["config_id"]).to_numpy()].iloc[0]


def screening_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows as the search left them: without the rows of confirmation trials (`CONFIRM_SUFFIX`)."""
    if "experiment" not in df.columns:
        return df
    confirm = df["experiment"].astype(str).str.endswith(CONFIRM_SUFFIX).to_numpy(dtype=bool)
    return df[~confirm]


def confirmation_candidates(
    df: pd.DataFrame,
    objectives: Objectives,
    thresholds: Thresholds | None = None,
    *,
    constraints: Constraints | None = None,
    top: int = 3,
    config_ids: Sequence[str] | set[str] | None = None,
) -> pd.DataFrame:
    """The configs worth confirming, best first: per (dataset, model, mechanisms), the feasible configs on
    the Pareto front of `objectives`, ranked as the recommendation is (`RULE`), at most `top`; where no
    config is feasible, the `top` nearest ones. `config_ids` limits the candidates (e.g. to one search's).
    Pass the screening view (`screening_rows`) so that the choice does not move once confirmation ran."""
    points = operating_points(df, objectives, thresholds, constraints=constraints)
    candidates = points.candidates
    if config_ids is not None:
        candidates = candidates[candidates["config_id"].isin(list(config_ids))]
    chosen = []
    for _, group in candidates.groupby(_GROUP, dropna=False, sort=True):
        front = group[pareto_mask(group, points.objectives, lambda g: g["feasible"]).to_numpy()]
        ranked = _rank(front, points.objectives) if len(front) else _nearest(group, points.objectives)
        chosen.append(ranked.head(top))
    return pd.concat(chosen, ignore_index=True) if chosen else candidates.iloc[0:0]


def point_summary(point: pd.Series, objectives: Mapping[str, str]) -> str:
    """One line for a recommended row: objective means, evidence, seeds, verdict, config and settings."""
    values = ", ".join(f"{k}={float(point[k]):.3f}" for k in objectives if k in point and pd.notna(point[k]))
    evidence = "confirmed" if point.get("evidence") == "confirmed" else "screening, unconfirmed"
    seeds = int(point["n_seeds"]) if pd.notna(point.get("n_seeds")) else 0
    verdict = point.get("verdict") or "no verdict"
    baselines = point.get("baselines") or ""
    basis = "" if baselines in ("", "exact") else f"; baselines {baselines}"
    settings = f": {point['settings']}" if point.get("settings") else ""
    return (
        f"{values} [{evidence}, {seeds} seed{'s' if seeds != 1 else ''}, {verdict}{basis}; "
        f"config {point['config_id']}{settings}]"
    )


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
    if metric in LOG_METRICS:
        return 1.0  # decades of p-value
    return abs(threshold) if threshold else 1.0


def _miss_text(metric: str, margin: float, th: Thresholds) -> str:
    if np.isnan(margin):
        return f"{metric}: no value or no baseline to check"
    found = rule_of(metric)
    if found is None:
        limit = th.acc
        return f"{metric} drop {limit - margin:.3f} > {limit:g} (by {-margin:.3f})"
    name, rule = found
    value = th.get(rule.threshold.key)
    if rule.kind == "fraction_of_baseline" and value <= 0 and rule.absolute is not None:
        rule = rule.absolute
        value = th.get(rule.threshold.key)
    unit = " decades" if metric in LOG_METRICS else ""
    fmt = ".2f" if metric in LOG_METRICS else ".3g"
    if rule.kind == "max":
        return f"{metric} above {value:g} by {-margin:{fmt}}{unit}"
    if rule.kind == "min":
        return f"{metric} below {value:g} by {-margin:{fmt}}{unit}"
    if rule.kind == "fraction_of_baseline":
        return f"{metric} below {value:g} x the {name}-alone gap by {-margin:.3g}"
    change = "rise" if metric in RISE_METRICS else "drop"
    return f"{metric} {change} {value - margin:.3f} > {value:g} (by {-margin:.3f})"


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


def _with_evidence(candidates: pd.DataFrame, eq: pd.DataFrame) -> pd.DataFrame:
    rows = eq[eq["config_id"].isin(candidates["config_id"])]
    drop = rows[(rows["test"] == _DROP_TEST) & rows["role"].isin(["verdict", "member"])]
    weak = drop[(drop["baseline_match"] != "exact") | (drop["n_baseline"] < 2) | (drop["n"] < 2)]
    decisive = rows[rows["role"] == "verdict"]
    unconfirmed = set(weak["config_id"]) | set(decisive.loc[decisive["n"] < 2, "config_id"])
    out = candidates.copy()
    screening = out["config_id"].isin(unconfirmed).to_numpy() | (out["n_seeds"].to_numpy(dtype=float) < 2)
    out["evidence"] = np.where(screening, "screening", "confirmed")
    inexact = drop[drop["baseline_match"] != "exact"].drop_duplicates(["config_id", "baseline"])
    notes: dict[str, list[str]] = {}
    for row in inexact.itertuples(index=False):
        text = f"{row.baseline} missing" if row.baseline_match == "missing" else (
            f"{row.baseline} nearest ({row.baseline_settings})"
        )
        notes.setdefault(str(row.config_id), []).append(text)
    out["baselines"] = [", ".join(notes.get(str(c), [])) or "exact" for c in out["config_id"]]
    tests: dict[str, list[str]] = {}
    for row in decisive.itertuples(index=False):
        tests.setdefault(str(row.config_id), []).append(_test_text(row))
    out["tests"] = ["; ".join(tests.get(str(c), [])) for c in out["config_id"]]
    out["settings"] = ""
    for _, index in out.groupby(_GROUP, dropna=False).groups.items():
        group = out.loc[index]
        out.loc[index, "settings"] = [_settings(row, group) for _, row in group.iterrows()]
    return out


def _test_text(row: Any) -> str:
    """`wm.acc: no conflict (drop 0.012, Welch p=0.98, TOST lower p=0.0003)` for one deciding comparison."""
    if row.test == _DROP_TEST:
        rises = row.metric in RISE_METRICS
        detail = f"{'rise' if rises else 'drop'} {round(row.difference if rises else -row.difference, 3) + 0.0:.3f}"
        if not pd.isna(row.p_conflict):
            detail += f", Welch p={row.p_conflict:.2g}, TOST lower p={row.p_no_conflict:.2g}"
        elif row.baseline_match == "nearest":
            detail += f" vs nearest {row.baseline} ({row.baseline_settings})"
    else:
        shown = "log10 mean" if row.scale == "log10" else "mean"
        detail = f"{shown} {row.mean:.3g}"
        if not pd.isna(row.p_conflict):
            detail += f", t-test p={row.p_conflict:.2g} / {row.p_no_conflict:.2g}"
    looks = int(getattr(row, "looks", 1) or 1)
    if looks > 1 and not pd.isna(row.p_conflict):
        detail += f", level {row.level:.2g} at look {int(row.look)} of {looks}"
    seeds = getattr(row, "seeds_to_decide", float("nan"))
    if row.verdict == "inconclusive" and not pd.isna(seeds):
        detail += ("; its mean sits on the threshold" if math.isinf(seeds)
                   else f"; about {int(seeds)} seeds each would decide it")
    return f"{row.metric}: {row.verdict} ({detail})"


def _recommend(candidates: pd.DataFrame, objectives: dict[str, str]) -> pd.DataFrame:
    columns = [
        *_GROUP, "status", "config_id", "evidence", "n_seeds", *objectives, "verdict", "feasible", "pareto_rank",
        "tests", "settings", "baselines", "misses",
    ]
    out = []
    for key, group in candidates.groupby(_GROUP, dropna=False, sort=True):
        confirmed = group[group["evidence"] == "confirmed"]
        passing = confirmed[confirmed["feasible"] & confirmed["verdict"].isin(_PASSING)]
        if len(passing):
            best, status = _rank(passing, objectives).iloc[0], "recommended"
        elif len(confirmed):
            best, status = _nearest(confirmed, objectives).iloc[0], "nearest (none passes)"
        else:
            feasible = group[group["feasible"]]
            ranked = _rank(feasible, objectives) if len(feasible) else _nearest(group, objectives)
            best, status = ranked.iloc[0], "screening only (unconfirmed)"
        row = dict(zip(_GROUP, key))
        row.update({c: best.get(c) for c in columns if c not in row})
        row.update(status=status, misses=_misses(best) if status != "recommended" else "")
        out.append(row)
    return pd.DataFrame(out, columns=columns)


def _nearest(group: pd.DataFrame, objectives: dict[str, str]) -> pd.DataFrame:
    """Smallest shortfall first (a verdict other than 'no conflict' adds 1 for a confirmed config), then
    the ranking of `_rank`."""
    penalty = ((group["evidence"] == "confirmed") & ~group["verdict"].isin(_PASSING)).to_numpy(dtype=float)
    ranked = _rank(group.assign(_miss=group["shortfall"].to_numpy(dtype=float) + penalty), objectives)
    return ranked.sort_values("_miss", kind="stable").drop(columns="_miss")


def _misses(best: pd.Series) -> str:
    parts = [best["misses"]] if best.get("misses") else []
    if best.get("evidence") == "confirmed" and best.get("verdict") not in _PASSING:
        parts.append(f"verdict {best.get('verdict') or 'missing'}: {best.get('tests', '')}")
    if best.get("evidence") != "confirmed":
        parts.append("unconfirmed: " + ("one seed" if best.get("n_seeds", 0) < 2 else f"baselines {best['baselines']}"))
    return "; ".join(p for p in parts if p)


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
