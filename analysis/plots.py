"""Draw the figures from their computed data (see `plot_data`), with matplotlib's object API (Agg).

No pyplot and no global backend switch: each function returns a `matplotlib.figure.Figure`, which
`save` writes as PNG and a notebook displays as it is.
"""

from __future__ import annotations

import os
from itertools import cycle

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis.plot_data import CurveData, MatrixData, ParetoData
from analysis.schema import dataset_order

__all__ = ["VERDICT_COLOURS", "plot_conflicts", "plot_curve", "plot_pareto", "save"]

VERDICT_COLOURS: dict[str, str] = {
    "conflict": "#d9534f",
    "no conflict": "#5cb85c",
    "inconclusive": "#f0ad4e",
    "no data": "#bdbdbd",
    "": "#ffffff",
}
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
_FRACTIONS = frozenset({"acc", "adv.acc", "wm.acc"})


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plot_pareto(data: ParetoData) -> Figure:
    """Configs as points (hollow: infeasible, grey x: reference baselines), the feasible front ringed,
    and the region allowed by constraints on the plotted axes shaded."""
    fig = _figure(7.5, 5.2)
    ax = fig.add_subplot()
    candidates = data.points[~data.points["reference"]]
    for (mechs, group), colour in zip(candidates.groupby("mechanisms", sort=True), cycle(_PALETTE)):
        good = group[group["feasible"]]
        bad = group[~group["feasible"]]
        ax.scatter(good["x"], good["y"], color=colour, s=36, label=f"{mechs}")
        ax.scatter(bad["x"], bad["y"], facecolors="none", edgecolors=colour, s=36)
    reference = data.points[data.points["reference"]]
    if len(reference):
        ax.scatter(reference["x"], reference["y"], marker="x", color="#888888", s=36, label="baselines (reference)")
    _shade(ax, data)
    handles, labels = ax.get_legend_handles_labels()
    if (~candidates["feasible"]).any():
        handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="none", markeredgecolor="#444444"))
        labels.append("infeasible (hollow)")
    if len(data.front):
        if data.n_objectives == 2:
            ax.plot(data.front["x"], data.front["y"], linestyle="--", color="black", linewidth=1)
        ax.scatter(data.front["x"], data.front["y"], s=150, facecolors="none", edgecolors="black", linewidths=1.5)
        handles.append(Line2D([], [], marker="o", markersize=11, linestyle="--", color="black", markerfacecolor="none"))
        labels.append(
            "Pareto front (feasible)" + ("" if data.n_objectives == 2 else f", {data.n_objectives} objectives")
        )
    ax.set_title(data.title)
    ax.set_xlabel(f"{data.x_label}, {'higher' if data.senses[0] == 'max' else 'lower'} is better")
    ax.set_ylabel(f"{data.y_label}, {'higher' if data.senses[1] == 'max' else 'lower'} is better")
    ax.grid(alpha=0.3)
    ax.legend(handles, labels, fontsize=8, loc="best")
    return fig


def _shade(ax: object, data: ParetoData) -> None:
    for axis, (op, bound) in data.region.items():
        values = data.points[axis].dropna()
        low, high = (min(values.min(), bound), max(values.max(), bound)) if len(values) else (bound - 1, bound + 1)
        pad = (high - low) * 0.05 or 0.05
        span = (bound, high + pad) if op in (">", ">=") else (low - pad, bound) if op in ("<", "<=") else None
        if span is None:
            continue
        shade = ax.axvspan if axis == "x" else ax.axhspan  # type: ignore[attr-defined]
        column = data.x if axis == "x" else data.y
        shade(*span, color="#5cb85c", alpha=0.10, label=f"feasible region ({column} {op} {bound:g})")


def plot_curve(data: CurveData) -> Figure:
    """One line with error bars (one standard deviation over seeds) per dataset and combination."""
    fig = _figure(7.5, 5.0)
    ax = fig.add_subplot()
    table = data.table
    several_models = table.groupby("dataset")["model"].nunique().max() > 1 if "model" in table else False
    keys = [c for c in ("dataset", "model", "mechanisms") if c in table.columns]
    groups = sorted(
        table.groupby(keys, sort=True),
        key=lambda kv: dataset_order(str(kv[0][0] if isinstance(kv[0], tuple) else kv[0])),
    )
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        parts = dict(zip(keys, key))
        name = f"{parts.get('dataset')} · {parts.get('mechanisms')}" + (
            f" · {parts.get('model')}" if several_models else ""
        )
        group = group.sort_values("value")
        ax.errorbar(
            group["value"].astype(float),
            group["mean"],
            yerr=group["std"].fillna(0.0),
            marker="o",
            capsize=3,
            label=name,
        )
    if data.log_x:
        ax.set_xscale("log")
        ticks = sorted(set(table["value"].astype(float)))
        if len(ticks) <= 12:
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
            ax.minorticks_off()
    if data.log_y:
        ax.set_yscale("log")
    if data.metric in _FRACTIONS:
        ax.set_ylim(-0.02, 1.02)
    ax.set_title(data.title)
    ax.set_xlabel(data.x_label)
    ax.set_ylabel(data.y_label + " (mean ± std over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best", title="dataset · mechanisms", title_fontsize=8)
    return fig


def plot_conflicts(data: MatrixData) -> Figure:
    """The verdict matrix as a coloured table, each cell naming the deciding metrics."""
    rows, columns = max(1, len(data.rows)), max(1, len(data.columns))
    fig = _figure(max(6.0, 2.2 + 2.3 * columns), 1.6 + 0.65 * rows)
    ax = fig.add_subplot()
    order = list(VERDICT_COLOURS)
    codes = np.array(
        [[order.index(v if v in order else "") for v in row] for row in data.verdicts] or [[order.index("")]]
    )
    ax.imshow(codes, cmap=ListedColormap(list(VERDICT_COLOURS.values())), vmin=0, vmax=len(order) - 1, aspect="auto")
    for i, row in enumerate(data.texts):
        for j, text in enumerate(row):
            ax.text(j, i, text, ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(data.columns)), data.columns)
    ax.set_yticks(range(len(data.rows)), data.rows)
    ax.set_xticks(np.arange(-0.5, columns), minor=True)
    ax.set_yticks(np.arange(-0.5, rows), minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("dataset")
    ax.set_ylabel("mechanism combination")
    ax.set_title(data.title)
    present = [v for v in order[:-1] if any(v in row for row in data.verdicts)] or ["no data"]
    ax.legend(
        handles=[Patch(color=VERDICT_COLOURS[v], label=v) for v in present],
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
        fontsize=8,
        title="verdict",
    )
    return fig


def save(fig: Figure, path: str | os.PathLike[str]) -> str:
    """Write the figure as a PNG and return the path."""
    fig.savefig(path, format="png")
    return os.fspath(path)
