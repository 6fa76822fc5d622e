"""The data behind each figure, computed apart from drawing so that tests can check it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.conflicts import ConflictMatrix
from analysis.pareto import Constraints, Objectives, feasible_mask, pareto_mask
from analysis.schema import hyperparameter_columns, label, members
from analysis.summary import ok_rows

__all__ = [
    "CurveData",
    "MatrixData",
    "ParetoData",
    "conflict_matrix_data",
    "curve_data",
    "pareto_data",
    "swept_parameters",
]

_PROTECTION_METRIC = {"wm": "wm.acc", "adv": "adv.acc", "rad": "rad.loss_gap", "di": "di.p_value"}
_LOG_METRICS = frozenset({"di.p_value", "di.p_value_m10", "di.p_value_independent", "di.p_value_unseen", "rad.p_value"})


@dataclass(frozen=True)
class ParetoData:
    """Configs of one setting in the plane of two objectives, with feasibility and the front marked.

    points: config_id, mechanisms, x, y, feasible, on_front, reference (a baseline config drawn for
    comparison, not a candidate). front: the on-front points sorted by x. region: constraints on x or y.
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
    """A metric against a hyperparameter: one line per (dataset, model, mechanisms); mean +- std over seeds.

    table: dataset, model, mechanisms, value, n, mean, std (one row per line and hyperparameter value).
    """

    title: str
    metric: str
    parameter: str
    x_label: str
    y_label: str
    log_x: bool
    log_y: bool
    table: pd.DataFrame


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
) -> ParetoData:
    """Plot data for configs (one row per config, e.g. from `config_summary`) and >= 2 objectives.

    The front uses every objective; the plot shows the first two. `feasible` (one bool per config,
    default: all) is combined with `constraints`. `reference` configs are drawn greyed, off the front.
    """
    names = list(objectives)
    if len(names) < 2:
        raise ValueError(f"a Pareto plot needs two objectives, got {names}")
    ok = feasible.to_numpy(dtype=bool) if feasible is not None else np.ones(len(configs), dtype=bool)
    feasible_all = ok & feasible_mask(configs, constraints).to_numpy()
    front = pareto_mask(configs, objectives, lambda _: feasible_all)
    points = pd.DataFrame(
        {
            "config_id": configs["config_id"].to_numpy(),
            "mechanisms": configs["mechanisms"].to_numpy(),
            "x": configs[names[0]].to_numpy(dtype=float),
            "y": configs[names[1]].to_numpy(dtype=float),
            "feasible": feasible_all,
            "on_front": front.to_numpy(),
            "reference": False,
        }
    )
    if reference is not None and len(reference):
        ref = pd.DataFrame(
            {
                "config_id": reference["config_id"].to_numpy(),
                "mechanisms": reference["mechanisms"].to_numpy(),
                "x": reference[names[0]].to_numpy(dtype=float),
                "y": reference[names[1]].to_numpy(dtype=float),
                "feasible": False,
                "on_front": False,
                "reference": True,
            }
        )
        points = pd.concat([points, ref], ignore_index=True)
    region = {k: v for k, v in (constraints or {}).items() if k in names[:2]} if not callable(constraints) else {}
    region = {("x" if k == names[0] else "y"): v for k, v in region.items()}
    on_front = points[points["on_front"]].sort_values(["x", "y"], kind="stable").reset_index(drop=True)
    return ParetoData(
        title=title,
        x=names[0],
        y=names[1],
        x_label=label(names[0]),
        y_label=label(names[1]),
        senses=(objectives[names[0]], objectives[names[1]]),
        points=points,
        front=on_front,
        region=region,
        n_objectives=len(names),
    )


def curve_data(df: pd.DataFrame, metric: str, parameter: str, *, mechanisms: list[str] | None = None) -> CurveData:
    """Mean and standard deviation over the ok rows of `metric` at each value of `parameter`, per line.

    Rows at the same parameter value are pooled whatever their other hyperparameters (the title says so
    when other hyperparameters of those rows vary)."""
    rows = ok_rows(df)
    rows = (
        rows[rows[parameter].notna() & rows[metric].notna()]
        if {metric, parameter} <= set(rows.columns)
        else rows.iloc[0:0]
    )
    if mechanisms is not None:
        rows = rows[rows["mechanisms"].isin(mechanisms)]
    keys = [c for c in ("dataset", "model", "mechanisms") if c in rows.columns]
    table = (
        rows.groupby([*keys, parameter], dropna=False, sort=True)[metric]
        .agg(n="count", mean="mean", std="std")
        .reset_index()
        .rename(columns={parameter: "value"})
    )
    values = pd.to_numeric(table["value"], errors="coerce")
    positive = values[values > 0]
    log_x = bool(len(positive) == len(values) and len(values) and positive.max() / positive.min() >= 20)
    pooled = _other_varying(rows, parameter)
    title = f"{label(metric).split(' (')[0]} vs {label(parameter).split(' (')[0]}"
    if pooled:
        title += f"\n(pooled over {', '.join(pooled[:3])}{', ...' if len(pooled) > 3 else ''})"
    return CurveData(
        title=title,
        metric=metric,
        parameter=parameter,
        x_label=label(parameter),
        y_label=label(metric) + (" (log scale)" if metric in _LOG_METRICS else ""),
        log_x=log_x,
        log_y=metric in _LOG_METRICS,
        table=table,
    )


def _other_varying(rows: pd.DataFrame, parameter: str) -> list[str]:
    out = []
    for column in hyperparameter_columns(rows):
        if column == parameter:
            continue
        varies = rows.groupby(["dataset", "mechanisms", parameter], dropna=False)[column].nunique().max()
        if varies is not None and varies > 1:
            out.append(column)
    return out


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
