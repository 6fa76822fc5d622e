"""Draw the figures from their computed data (see `plot_data`), with matplotlib's object API (Agg).

No pyplot and no global backend switch: each function returns a `matplotlib.figure.Figure`, which
`save` writes as PNG and a notebook displays as it is.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from itertools import cycle
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis.plot_data import CurveData, MatrixData, ParetoData, SweepData
from analysis.schema import dataset_order
from explorer_core import registry, views

__all__ = [
    "VERDICT_COLOURS",
    "plot_conflicts",
    "plot_curve",
    "plot_pareto",
    "plot_pareto_projections",
    "plot_risk_fit",
    "plot_risks",
    "plot_sweeps",
    "save",
]

VERDICT_COLOURS: dict[str, str] = {
    "conflict": "#d9534f",
    "no conflict": "#5cb85c",
    "inconclusive": "#f0ad4e",
    "no data": "#bdbdbd",
    "": "#ffffff",
}
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
_FRACTIONS: views.FrozenSet[str] = views.FrozenSet(lambda: frozenset(
    {"acc", *(m.name for s in registry.specs().values() for m in s.metrics if m.unit == "fraction")}))


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plot_pareto(data: ParetoData) -> Figure:
    """Configs as points (hollow: infeasible, grey x: reference baselines, diamonds: confirmed), the
    feasible front ringed, and the region allowed by constraints on the plotted axes shaded."""
    fig = _figure(7.5, 5.2)
    _draw_pareto(fig.add_subplot(), data)
    return fig


def plot_pareto_projections(panels: Sequence[ParetoData], title: str = "") -> Figure:
    """The pairwise projections of one front (`plot_data.pareto_projections`) side by side, three per row."""
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    fig = _figure(5.2 * columns, 4.6 * rows)
    for i, data in enumerate(panels):
        _draw_pareto(fig.add_subplot(rows, columns, i + 1), data, legend=i == 0, title=f"{data.y} vs {data.x}")
    if title:
        fig.suptitle(title)
    return fig


def _draw_pareto(ax: Any, data: ParetoData, *, legend: bool = True, title: str | None = None) -> None:
    candidates = data.points[~data.points["reference"]]
    confirmed = candidates["evidence"] == "confirmed"
    for (mechs, group), colour in zip(candidates.groupby("mechanisms", sort=True), cycle(_PALETTE)):
        for kind, marker, size in (("screening", "o", 30), ("confirmed", "D", 60)):
            part = group[(confirmed[group.index] == (kind == "confirmed")).to_numpy()]
            good, bad = part[part["feasible"]], part[~part["feasible"]]
            name = f"{mechs}" + (" (confirmed)" if kind == "confirmed" else "")
            ax.scatter(good["x"], good["y"], color=colour, marker=marker, s=size, label=name if len(good) else None)
            ax.scatter(bad["x"], bad["y"], facecolors="none", edgecolors=colour, marker=marker, s=size,
                       label=name if len(bad) and not len(good) else None)
    reference = data.points[data.points["reference"]].dropna(subset=["x", "y"])
    if len(reference):
        ax.scatter(reference["x"], reference["y"], marker="x", color="#888888", s=36, label="baselines (reference)")
    _shade(ax, data)
    handles, labels = ax.get_legend_handles_labels()
    if (~candidates["feasible"]).any():
        handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="none", markeredgecolor="#444444"))
        labels.append("infeasible (hollow)")
    front = data.front.dropna(subset=["x", "y"])
    if len(front):
        if data.n_objectives == 2:
            ax.plot(front["x"], front["y"], linestyle="--", color="black", linewidth=1)
        ax.scatter(front["x"], front["y"], s=150, facecolors="none", edgecolors="black", linewidths=1.5)
        handles.append(Line2D([], [], marker="o", markersize=11, linestyle="--", color="black", markerfacecolor="none"))
        labels.append(
            "Pareto front (feasible)" + ("" if data.n_objectives == 2 else f", all {data.n_objectives} objectives")
        )
    ax.set_title(title or data.title, fontsize=10)
    ax.set_xlabel(f"{data.x_label}, {'higher' if data.senses[0] == 'max' else 'lower'} is better", fontsize=9)
    ax.set_ylabel(f"{data.y_label}, {'higher' if data.senses[1] == 'max' else 'lower'} is better", fontsize=9)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(handles, labels, fontsize=8, loc="best")


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
    """One series with error bars (one standard deviation over seeds) per dataset, combination and
    combination of the other varying knobs; points of sampled configs are drawn apart, not joined."""
    fig = _figure(7.5, 5.0)
    ax = fig.add_subplot()
    table = data.table
    groups = sorted(
        table.groupby("series", sort=True),
        key=lambda kv: (dataset_order(str(kv[1]["dataset"].iloc[0])) if "dataset" in kv[1] else (0, ""), kv[0]),
    )
    for (name, group), colour in zip(groups, cycle(_PALETTE)):
        group = group.sort_values("value")
        ax.errorbar(
            group["value"].astype(float),
            group["mean"],
            yerr=group["std"].fillna(0.0),
            marker="o",
            linestyle="-" if data.joined else "none",
            capsize=3,
            color=colour,
            label=str(name),
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
    ax.set_title(data.title, fontsize=10)
    ax.set_xlabel(data.x_label)
    ax.set_ylabel(data.y_label + " (mean ± std over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best", title="dataset · mechanisms" + (" · knobs" if data.varying else ""),
              title_fontsize=8)
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


_SWEEP_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")
_MARKERS = ("o", "^", "s", "D", "v")


def _series_order(name: str) -> tuple[float, str]:
    try:
        return float(name.split()[-1]), name
    except (ValueError, IndexError):
        return 0.0, name


def plot_sweeps(data: SweepData) -> Figure:
    """One panel per (dataset, pair) of the sweeps: each verdict metric of the pair (solid, marker face in
    the colour of that metric's verdict) and of the mechanism alone it was tested against (dotted), by knob value;
    marker shape tells the other knob's value apart (e.g. |D_T|)."""
    table = data.table
    order = list(dict.fromkeys([*data.metric_labels, *sorted(map(str, set(table["metric"])))]))
    styles = {m: (data.metric_labels.get(m, m), c) for m, c in zip(order, cycle(_SWEEP_COLOURS))}
    datasets = list(dict.fromkeys(table["dataset"])) or ["(no rows)"]  # in the table's order
    pairs = list(dict.fromkeys(table["pair"])) or ["(no rows)"]
    fig = _figure(5.4 * len(pairs) + 2.4, 3.9 * len(datasets))
    series_names = sorted(set(table["series"]) - {""}, key=_series_order)
    markers = dict(zip(series_names, cycle(_MARKERS)))
    for i, dataset in enumerate(datasets):
        for j, pair in enumerate(pairs):
            ax = fig.add_subplot(len(datasets), len(pairs), i * len(pairs) + j + 1)
            panel = table[(table["dataset"] == dataset) & (table["pair"] == pair)]
            ax.set_title(f"{dataset} · {pair}", fontsize=10)
            ax.set_ylim(-0.02, 1.05)
            ax.grid(alpha=0.3)
            if panel.empty:
                ax.text(0.5, 0.5, "no sweep rows", ha="center", va="center", transform=ax.transAxes, color="grey")
                continue
            knob = str(panel["knob"].iloc[0])
            label, log_x = data.knob_axes.get(knob, (knob, False))
            for (metric, series), group in panel.groupby(["metric", "series"], sort=True):
                name, colour = styles[str(metric)]
                marker = markers.get(str(series), "o")
                group = group.sort_values("x")
                ax.errorbar(group["x"], group["mean"], yerr=group["std"].fillna(0.0), color=colour, capsize=3,
                            linestyle="-", marker="none")
                ax.scatter(group["x"], group["mean"], marker=marker, s=42, zorder=3, edgecolors=colour,
                           facecolors=[VERDICT_COLOURS.get(str(v), "#ffffff") for v in group["verdict"]])
                base = group.dropna(subset=["base_mean"])
                ax.plot(base["x"], base["base_mean"], linestyle=":", color=colour, marker=marker, markersize=4,
                        markerfacecolor="white")
            ticks = sorted(set(panel["x"]))
            if log_x:
                ax.set_xscale("log")
                ax.minorticks_off()
            if len(ticks) == 1:
                ax.set_xlim(ticks[0] * (0.5 if log_x else 0.6), ticks[0] * (2.0 if log_x else 1.4))
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
            ax.set_xlabel(label)
            ax.set_ylabel("fraction (mean ± std over seeds)")
    shown = set(map(str, table["metric"]))
    handles: list[Any] = [Line2D([], [], color=c, label=n) for m, (n, c) in styles.items() if m in shown]
    handles += [Line2D([], [], color="black", linestyle="-", label="the pair"),
                Line2D([], [], color="black", linestyle=":", label="the mechanism alone")]
    handles += [Line2D([], [], color="black", marker=m, linestyle="none", markerfacecolor="white", label=n)
                for n, m in markers.items()]
    handles += [Line2D([], [], color="black", marker="o", linestyle="none", markerfacecolor=VERDICT_COLOURS[v],
                       label=f"metric's verdict: {v}") for v in ("conflict", "no conflict", "inconclusive")
                if v in set(table["verdict"])]
    fig.legend(handles=handles, loc="outside right upper", fontsize=8)
    fig.suptitle(data.title)
    return fig


RISK_COLOURS: dict[str, str] = {"raises": "#d9534f", "lowers": "#5cb85c", "no change": "#9e9e9e",
                                 "inconclusive": "#f0ad4e"}


def plot_risks(table: Any, metric: str = "risk.mia_auc", title: str = "") -> Figure:
    """One panel per dataset: each mechanism or tuple's mean of ``metric`` (± sd over seeds) as a point coloured
    by its verdict against the undefended model (`analysis.risks.risk_verdicts` rows), whose mean is the dashed
    line (0.5, chance, dotted, for the AUC)."""
    from analysis.schema import label

    rows = table[table["metric"] == metric]
    datasets = sorted(set(rows["dataset"]), key=dataset_order) or [""]
    height = 1.4 + 0.32 * max(1, max((int((rows["dataset"] == d).sum()) for d in datasets), default=1))
    fig = _figure(5.2 * len(datasets), height)
    for i, dataset in enumerate(datasets):
        ax = fig.add_subplot(1, len(datasets), i + 1)
        mine = rows[rows["dataset"] == dataset].reset_index(drop=True)
        y = np.arange(len(mine))
        for yi, (mean, sd, verdict) in enumerate(zip(mine["mean"], mine["std"].fillna(0), mine["verdict"])):
            ax.errorbar(mean, yi, xerr=sd, fmt="o", markersize=8, capsize=4, color=RISK_COLOURS.get(verdict, "#bdbdbd"))
        ax.set_yticks(y, [f"{m} ({str(c)[:6]})" if (mine["mechanisms"] == m).sum() > 1 else str(m)
                          for m, c in zip(mine["mechanisms"], mine["config_id"])], fontsize=8)
        for value in sorted(set(mine["mean_none"].dropna().round(6))):
            ax.axvline(value, color="black", linestyle="--", linewidth=1)
        if metric == "risk.mia_auc":
            ax.axvline(0.5, color="#1f77b4", linestyle=":", linewidth=1)
        lo = float(np.nanmin(np.r_[mine["mean"] - mine["std"].fillna(0), mine["mean_none"]])) if len(mine) else 0.0
        hi = float(np.nanmax(np.r_[mine["mean"] + mine["std"].fillna(0), mine["mean_none"]])) if len(mine) else 1.0
        pad = max(0.01, 0.1 * (hi - lo))
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(len(mine) - 0.5, -0.5)
        ax.set_xlabel(label(metric))
        ax.set_title(str(dataset), fontsize=10)
    present = [v for v in RISK_COLOURS if v in set(rows["verdict"])]
    handles: list[Any] = [Patch(color=RISK_COLOURS[v], label=v) for v in present]
    handles.append(Line2D([], [], color="black", linestyle="--", label="undefended (none)"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8)
    text = title or f"{label(metric)} against the undefended model"
    fig.suptitle("\n".join(textwrap.wrap(text, width=max(40, int(9.5 * 5.2 * len(datasets))))), fontsize=11)
    return fig


def plot_risk_fit(table: Any, metric: str = "risk.mia_auc", title: str = "") -> Figure:
    """One panel per dataset: each configuration's mean ``metric`` against its mean train-test gap (± sd over
    seeds; `analysis.risks.risk_against_fit` rows). Undefended configurations are black squares joined in order
    of their gap (labelled by epochs where those differ), so a mechanism's point can be read against an
    undefended model that fits as much: above the line it leaks more than its fit explains, on it no more."""
    from analysis.schema import label

    datasets = sorted(set(table["dataset"]), key=dataset_order) or [""]
    fig = _figure(6.0 * len(datasets), 5.0)
    colours = dict(zip(sorted({str(m) for m in table.loc[~table["undefended"].astype(bool), "mechanisms"]},
                              key=lambda m: (m.count("+"), m)), cycle(_PALETTE + ("#d62728", "#aec7e8", "#98df8a"))))
    for i, dataset in enumerate(datasets):
        ax = fig.add_subplot(1, len(datasets), i + 1)
        mine = table[table["dataset"] == dataset]
        none = mine[mine["undefended"].astype(bool)].sort_values("gap_mean")
        if len(none):
            ax.errorbar(none["gap_mean"], none["mean"], xerr=none["gap_std"].fillna(0), yerr=none["std"].fillna(0),
                        fmt="s-", color="black", markersize=6, capsize=3, linewidth=1, zorder=3)
            if none["epochs"].nunique() > 1:
                for x, y, e in zip(none["gap_mean"], none["mean"], none["epochs"]):
                    ax.annotate(f"{e:g} ep", (x, y), textcoords="offset points", xytext=(6, -10), fontsize=7)
        for r in mine[~mine["undefended"].astype(bool)].itertuples(index=False):
            ax.errorbar(r.gap_mean, r.mean, xerr=0 if np.isnan(r.gap_std) else r.gap_std,
                        yerr=0 if np.isnan(r.std) else r.std, fmt="o", markersize=6, capsize=3, alpha=0.85,
                        color=colours[str(r.mechanisms)], zorder=4)
        if metric == "risk.mia_auc":
            ax.axhline(0.5, color="#1f77b4", linestyle=":", linewidth=1)
        ax.set_xlabel(label("risk.train_test_gap"))
        ax.set_ylabel(label(metric))
        ax.set_title(str(dataset), fontsize=10)
    handles: list[Any] = [Line2D([], [], color="black", marker="s", label="undefended (none)")]
    handles += [Line2D([], [], color=c, marker="o", linestyle="", label=m) for m, c in colours.items()]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6), fontsize=8)
    text = title or f"{label(metric)} against the train-test gap (overfitting)"
    fig.suptitle("\n".join(textwrap.wrap(text, width=max(40, int(9.5 * 6.0 * len(datasets))))), fontsize=11)
    return fig


def save(fig: Figure, path: str | os.PathLike[str]) -> str:
    """Write the figure as a PNG and return the path."""
    fig.savefig(path, format="png")
    return os.fspath(path)
