"""The data behind each figure, computed apart from drawing so that tests can check it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.conflicts import ConflictMatrix
from analysis.pareto import Constraints, Objectives, feasible_mask, pareto_mask
from analysis.schema import ENVIRONMENT, LOG_METRICS, hyperparameter_columns, label, members
from analysis.summary import ok_rows
from explorer_core import registry, views

__all__ = [
    "MAX_SERIES",
    "CurveData",
    "MatrixData",
    "ParetoData",
    "SweepData",
    "conflict_matrix_data",
    "curve_data",
    "pareto_data",
    "pareto_projections",
    "swept_parameters",
]

#: Mechanism -> the metric its verdict is about (mechanisms with a conflict rule in their spec).
_PROTECTION_METRIC: views.Dict[str, str] = views.Dict(
    lambda: {n: s.rule.metric for n, s in registry.specs().items() if s.rule is not None})
_LOG_METRICS = LOG_METRICS


@dataclass(frozen=True)
class ParetoData:
    """Configs of one setting in the plane of two objectives, with feasibility and the front marked.

    points: config_id, mechanisms, x, y, feasible, on_front, reference (a baseline config drawn for
    comparison, not a candidate), evidence (confirmed, screening or empty). front: the on-front points sorted
    by x. region: constraints on x or y.
    """

    title: str
    x: str
    y: str
    x_label: str
    y_label: str
    senses: tuple[str, str]
    points: pd.DataFrame
    front: pd.DataFrame
    region: Mapping[str, tuple[str, float]] = field(default_factory=dict)
    n_objectives: int = 2


@dataclass(frozen=True)
class CurveData:
    """A metric against a hyperparameter: one series per (dataset, model, mechanisms) and combination of the
    other hyperparameters that vary; mean +- std over seeds.

    table: dataset, model, mechanisms, series (its label), config_id, value, n, mean, std: one row per
    series and hyperparameter value (`joined`: drawn as lines) or, where another varying knob was sampled
    (too many values to make series of), one row per config (drawn as points, not joined).
    varying: the other hyperparameters that vary (the series keys, then the sampled ones).
    """

    title: str
    metric: str
    parameter: str
    x_label: str
    y_label: str
    log_x: bool
    log_y: bool
    table: pd.DataFrame
    joined: bool = True
    varying: tuple[str, ...] = ()


@dataclass(frozen=True)
class SweepData:
    """The sweep points of a reproduction (the paper's Figures 1-2): each verdict metric of a pair beside the
    mechanism alone it was tested against, by knob value.

    table: one row per (pair, dataset, point, metric): pair, dataset (its display name), knob (the x axis),
    x, series (the other knob, e.g. "|D_T| 25", or ""), metric, mean, std (over the pair's seeds), base_mean,
    base_std (the mechanism alone at the point's knob values; NaN where none ran), baseline (that mechanism),
    verdict (that metric's: the point conflicts where any of its metrics does).
    metric_labels: legend names of the metrics, in colour order (others keep their column name);
    knob_axes: knob -> (x-axis label, log scale) (others: the knob's name, linear).
    """

    title: str
    table: pd.DataFrame
    metric_labels: Mapping[str, str] = field(default_factory=dict)
    knob_axes: Mapping[str, tuple[str, bool]] = field(default_factory=dict)


@dataclass(frozen=True)
class MatrixData:
    """The conflict matrix as grids: rows (combinations) x columns (datasets), verdict and cell text."""

    title: str
    rows: list[str]
    columns: list[str]
    verdicts: list[list[str]]
    texts: list[list[str]]


def pareto_data(
    configs: pd.DataFrame,
    objectives: Objectives,
    *,
    feasible: pd.Series | None = None,
    reference: pd.DataFrame | None = None,
    constraints: Constraints | None = None,
    title: str = "Pareto front",
    axes: tuple[str, str] | None = None,
) -> ParetoData:
    """Plot data for configs (one row per config, e.g. from `config_summary`) and >= 2 objectives.

    The front uses every objective; the plot shows `axes` (default: the first two objectives). `feasible`
    (one bool per config, default: all) is combined with `constraints`. `reference` configs are drawn
    greyed, off the front. A config's `evidence` column (confirmed or screening), when present, is kept.
    """
    names = list(objectives)
    if len(names) < 2:
        raise ValueError(f"a Pareto plot needs two objectives, got {names}")
    x, y = axes or (names[0], names[1])
    ok = feasible.to_numpy(dtype=bool) if feasible is not None else np.ones(len(configs), dtype=bool)
    feasible_all = ok & feasible_mask(configs, constraints).to_numpy()
    front = pareto_mask(configs, objectives, lambda _: feasible_all)
    evidence = configs["evidence"].to_numpy() if "evidence" in configs.columns else np.full(len(configs), "")
    points = pd.DataFrame(
        {
            "config_id": configs["config_id"].to_numpy(),
            "mechanisms": configs["mechanisms"].to_numpy(),
            "x": configs[x].to_numpy(dtype=float),
            "y": configs[y].to_numpy(dtype=float),
            "feasible": feasible_all,
            "on_front": front.to_numpy(),
            "reference": False,
            "evidence": evidence,
        }
    )
    if reference is not None and len(reference):
        ref = pd.DataFrame(
            {
                "config_id": reference["config_id"].to_numpy(),
                "mechanisms": reference["mechanisms"].to_numpy(),
                "x": pd.to_numeric(reference[x], errors="coerce").to_numpy(dtype=float)
                if x in reference
                else np.nan,
                "y": pd.to_numeric(reference[y], errors="coerce").to_numpy(dtype=float)
                if y in reference
                else np.nan,
                "feasible": False,
                "on_front": False,
                "reference": True,
                "evidence": "",
            }
        )
        points = pd.concat([points, ref], ignore_index=True)
    region = {k: v for k, v in (constraints or {}).items() if k in (x, y)} if not callable(constraints) else {}
    region = {("x" if k == x else "y"): v for k, v in region.items()}
    on_front = points[points["on_front"]].sort_values(["x", "y"], kind="stable").reset_index(drop=True)
    return ParetoData(
        title=title,
        x=x,
        y=y,
        x_label=label(x),
        y_label=label(y),
        senses=(objectives[x], objectives[y]),
        points=points,
        front=on_front,
        region=region,
        n_objectives=len(names),
    )


def pareto_projections(configs: pd.DataFrame, objectives: Objectives, **kwargs: object) -> list[ParetoData]:
    """`pareto_data` for every pair of objectives (one pair for two objectives, three for three, ...):
    the front and feasibility use all objectives, each projection shows two of them."""
    names = list(objectives)
    return [
        pareto_data(configs, objectives, axes=(a, b), **kwargs)  # type: ignore[arg-type]
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    ]


MAX_SERIES = 10
"""More series than this in one curve plot: draw points per config, coloured by dataset and combination."""
_SAMPLED_VALUES = 6  # a numeric knob with more distinct values than this in a group was sampled, not listed


def curve_data(df: pd.DataFrame, metric: str, parameter: str, *, mechanisms: list[str] | None = None) -> CurveData:
    """Mean and standard deviation over the ok rows of `metric` at each value of `parameter`, per series.

    Rows are never pooled over unlike configs: each combination of the other hyperparameters that vary
    within a (dataset, model, mechanisms) group is its own series (e.g. `wm.decoupled=True` apart from
    `False`). Where one of them was sampled (more than a few numeric values), every config is its own
    point, coloured by its series of the listed knobs, and points are not joined."""
    rows = ok_rows(df)
    rows = (
        rows[rows[parameter].notna() & rows[metric].notna()]
        if {metric, parameter} <= set(rows.columns)
        else rows.iloc[0:0]
    )
    if mechanisms is not None:
        rows = rows[rows["mechanisms"].isin(mechanisms)]
    keys = [c for c in ("dataset", "model", "mechanisms") if c in rows.columns]
    listed, sampled = _other_varying(rows, parameter, keys)
    if len(_series_keys(rows, keys, listed)) > MAX_SERIES:
        sampled, listed = [*listed, *sampled], []
    joined = not sampled
    rows = rows.assign(series=_series_labels(rows, keys, listed))
    by = [*keys, "series", parameter] if joined else [*keys, "series", "config_id", parameter]
    table = (
        rows.groupby(by, dropna=False, sort=True)[metric]
        .agg(n="count", mean="mean", std="std")
        .reset_index()
        .rename(columns={parameter: "value"})
    )
    if "config_id" not in table.columns:
        firsts = rows.groupby(by, dropna=False, sort=True)["config_id"].first().to_numpy()
        table.insert(table.columns.get_loc("value"), "config_id", firsts)
    values = pd.to_numeric(table["value"], errors="coerce")
    positive = values[values > 0]
    log_x = bool(len(positive) == len(values) and len(values) and positive.max() / positive.min() >= 20)
    title = f"{label(metric).split(' (')[0]} vs {label(parameter).split(' (')[0]}"
    if listed:
        title += f"\n(one series per {_names(listed)})"
    if sampled:
        title += f"\n(one point per config, not joined; sampled: {_names(sampled)})"
    return CurveData(
        title=title,
        metric=metric,
        parameter=parameter,
        x_label=label(parameter),
        y_label=label(metric) + (" (log scale)" if metric in _LOG_METRICS else ""),
        log_x=log_x,
        log_y=metric in _LOG_METRICS,
        table=table,
        joined=joined,
        varying=(*listed, *sampled),
    )


def _names(columns: list[str]) -> str:
    return ", ".join(columns[:3]) + (", ..." if len(columns) > 3 else "")


def _other_varying(rows: pd.DataFrame, parameter: str, keys: list[str]) -> tuple[list[str], list[str]]:
    """(listed, sampled): the other hyperparameters that take several values within a group of `keys`;
    sampled ones are numeric with more than a few values."""
    listed: list[str] = []
    sampled: list[str] = []
    if rows.empty:
        return listed, sampled
    for column in hyperparameter_columns(rows):
        if column == parameter or column in ENVIRONMENT:
            continue
        counts = rows.groupby(keys, dropna=False)[column].nunique(dropna=False) if keys else None
        most = int(counts.max()) if counts is not None and len(counts) else 0
        if most <= 1:
            continue
        numeric = pd.api.types.is_numeric_dtype(rows[column]) and not pd.api.types.is_bool_dtype(rows[column])
        (sampled if numeric and most > _SAMPLED_VALUES else listed).append(column)
    return listed, sampled


def _series_keys(rows: pd.DataFrame, keys: list[str], listed: list[str]) -> pd.DataFrame:
    return rows[[*keys, *listed]].astype(str).drop_duplicates()


def _series_labels(rows: pd.DataFrame, keys: list[str], listed: list[str]) -> list[str]:
    several_models = "model" in rows.columns and rows.groupby("dataset")["model"].nunique().max() > 1
    shown = [k for k in keys if k != "model" or several_models]
    labels = []
    for record in rows[[*shown, *listed]].to_dict("records"):
        parts = [str(record[k]) for k in shown]
        parts += [f"{k}={_short(record[k])}" for k in listed if record[k] is not None and not pd.isna(record[k])]
        labels.append(" · ".join(parts))
    return labels


def _short(value: object) -> str:
    if isinstance(value, float) and not pd.isna(value):
        return f"{value:g}"
    return str(value)


def swept_parameters(df: pd.DataFrame) -> list[tuple[str, str]]:
    """(metric, hyperparameter) pairs worth a curve: numeric knobs with >= 2 values among ok rows, against
    acc and the protection metric of each mechanism whose rows sweep the knob."""
    rows = ok_rows(df)
    pairs: list[tuple[str, str]] = []
    for column in hyperparameter_columns(rows):
        values = pd.to_numeric(rows[column], errors="coerce") if rows[column].dtype != bool else None
        if values is None or values.nunique() < 2 or column.startswith(("data.", "eval.")):
            continue
        sweeping = rows.loc[values.notna(), "mechanisms"].unique()
        mechs = sorted({m for v in sweeping for m in members(v)})
        metrics = ["acc", *(_PROTECTION_METRIC[m] for m in mechs if m in _PROTECTION_METRIC)]
        pairs += [(m, column) for m in metrics if m in rows.columns and rows[m].notna().any()]
    return pairs


def conflict_matrix_data(matrix: ConflictMatrix) -> MatrixData:
    """The wide conflict table as grids of verdicts and cell texts."""
    table = matrix.table()
    verdicts = [[str(text).split(":")[0].split(" (")[0] if text else "" for text in row] for row in table.to_numpy()]
    return MatrixData(
        title="Conflict verdicts (rows: combinations, columns: datasets)",
        rows=[str(r) for r in table.index],
        columns=[str(c) for c in table.columns],
        verdicts=verdicts,
        texts=[[str(t).replace(": ", ":\n", 1) for t in row] for row in table.to_numpy()],
    )
