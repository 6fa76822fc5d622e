"""Figure data is checked as data; each figure has a title, labelled axes with units and a legend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import (
    config_summary,
    conflict_matrix_data,
    conflicts,
    curve_data,
    pareto_data,
    plot_conflicts,
    plot_curve,
    plot_pareto,
)
from analysis.plots import save


def test_pareto_data_marks_front_and_feasibility() -> None:
    configs = pd.DataFrame(
        {
            "config_id": list("abcd"),
            "mechanisms": ["dp+wm"] * 4,
            "acc": [0.9, 0.8, 0.95, 0.7],
            "adv.acc": [0.5, 0.6, 0.1, 0.4],
        }
    )
    data = pareto_data(
        configs,
        {"acc": "max", "adv.acc": "max"},
        feasible=pd.Series([True, True, False, True]),
        constraints={"acc": (">=", 0.75)},
    )
    points = data.points.set_index("config_id")
    assert points["feasible"].to_dict() == {"a": True, "b": True, "c": False, "d": False}
    assert points["on_front"].to_dict() == {"a": True, "b": True, "c": False, "d": False}
    assert data.front["config_id"].tolist() == ["b", "a"]  # sorted by x
    assert data.region == {"x": (">=", 0.75)}
    assert data.x_label == "test accuracy (fraction)"


def test_curve_data_is_the_mean_and_std_per_value(synth) -> None:  # type: ignore[no-untyped-def]
    groups = [
        {"dataset": d, "mechanisms": "dp+wm", "params": {"dp.target_epsilon": e}, "metrics": {"wm.acc": (w, 0.05)}}
        for d in ("mnist", "cifar10")
        for e, w in ((1.0, 0.2), (8.0, 0.7), (64.0, 0.9))
    ]
    df = synth(groups, seeds=3)
    data = curve_data(df, "wm.acc", "dp.target_epsilon")
    expected = df.groupby(["dataset", "dp.target_epsilon"])["wm.acc"].agg(["mean", "std"]).reset_index()
    merged = data.table.merge(expected, left_on=["dataset", "value"], right_on=["dataset", "dp.target_epsilon"])
    assert len(merged) == 6
    assert np.allclose(merged["mean_x"], merged["mean_y"]) and np.allclose(merged["std_x"], merged["std_y"])
    assert data.log_x and data.x_label == "DP ε (target)"


@pytest.fixture
def figures(table4: pd.DataFrame) -> dict[str, object]:
    summary = config_summary(table4)
    mnist = summary[summary["dataset"] == "mnist"]
    return {
        "pareto": plot_pareto(pareto_data(mnist, {"acc": "max", "adv.acc": "max"}, title="Pareto front: mnist")),
        "curve": plot_curve(curve_data(table4.assign(**{"adv.gamma": table4["adv.gamma"]}), "acc", "adv.gamma")),
        "matrix": plot_conflicts(conflict_matrix_data(conflicts(table4))),
    }


def test_every_figure_has_title_labels_and_legend(figures: dict[str, object], tmp_path: Path) -> None:
    for name, fig in figures.items():
        ax = fig.axes[0]  # type: ignore[attr-defined]
        assert ax.get_title(), name
        assert ax.get_xlabel() and ax.get_ylabel(), name
        assert ax.get_legend() is not None and ax.get_legend().get_texts(), name
        path = save(fig, tmp_path / f"{name}.png")  # type: ignore[arg-type]
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "(fraction)" in figures["pareto"].axes[0].get_xlabel()  # type: ignore[attr-defined]
    assert "pixels" in figures["curve"].axes[0].get_xlabel()  # type: ignore[attr-defined]


def test_conflict_matrix_data_grid(table4: pd.DataFrame) -> None:
    data = conflict_matrix_data(conflicts(table4))
    assert data.rows == ["adv+wm", "dp+wm"] and data.columns == ["digits", "mnist", "fashion_mnist", "cifar10"]
    assert data.verdicts == [
        ["no conflict", "no conflict", "no conflict", "conflict"],
        ["inconclusive", "conflict", "conflict", "inconclusive"],
    ]
    assert data.texts[1][1] == "conflict:\nwm.acc"


def _decoupled_search(synth) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """An Optuna-like dp+wm search: sampled epsilon and |D_T|, wm.decoupled true or false, one seed each."""
    rng = np.random.default_rng(3)
    groups = []
    for i in range(12):
        decoupled = bool(i % 2)
        groups.append(
            {
                "dataset": "digits",
                "mechanisms": "dp+wm",
                "params": {
                    "dp.target_epsilon": float(rng.uniform(1, 20)),
                    "wm.trigger_size": int(20 + 7 * i),
                    "wm.decoupled": decoupled,
                },
                "metrics": {"wm.acc": (1.0 if decoupled else 0.2, 0.0)},
            }
        )
    return synth(groups, seeds=1)


def test_curves_never_join_unlike_configs(synth) -> None:  # type: ignore[no-untyped-def]
    df = _decoupled_search(synth)
    data = curve_data(df, "wm.acc", "dp.target_epsilon")
    assert not data.joined and data.varying == ("wm.decoupled", "wm.trigger_size")
    assert len(data.table) == 12  # one point per config
    by_series = data.table.groupby("series")["mean"].agg(["min", "max"])
    assert by_series.to_dict("index") == {
        "digits · dp+wm · wm.decoupled=False": {"min": 0.2, "max": 0.2},
        "digits · dp+wm · wm.decoupled=True": {"min": 1.0, "max": 1.0},
    }
    assert "one series per wm.decoupled" in data.title and "sampled: wm.trigger_size" in data.title
    lines = plot_curve(data).axes[0].get_lines()
    assert lines and all(line.get_linestyle() == "None" for line in lines)
    # listed knobs only (no sampled one): lines, one per value of the other knob
    grid = df.assign(**{"wm.trigger_size": 50, "dp.target_epsilon": df["dp.target_epsilon"].round(0)})
    lined = curve_data(grid, "wm.acc", "dp.target_epsilon")
    assert lined.joined and set(lined.table["series"]) == set(by_series.index)


def test_three_objectives_give_pairwise_projections(synth) -> None:  # type: ignore[no-untyped-def]
    from analysis import pareto_projections, plot_pareto_projections

    summary = config_summary(_decoupled_search(synth)).assign(**{"dp.epsilon": lambda d: d["dp.target_epsilon"]})
    objectives = {"acc": "max", "wm.acc": "max", "dp.epsilon": "min"}
    panels = pareto_projections(summary, objectives)
    assert [(p.x, p.y) for p in panels] == [("acc", "wm.acc"), ("acc", "dp.epsilon"), ("wm.acc", "dp.epsilon")]
    assert all(p.n_objectives == 3 for p in panels)
    assert all(p.points["on_front"].tolist() == panels[0].points["on_front"].tolist() for p in panels)
    fig = plot_pareto_projections(panels, "front")
    assert len(fig.axes) == 3 and {ax.get_xlabel().split(",")[0] for ax in fig.axes} == {
        "test accuracy (fraction)", "watermark accuracy on D_T (fraction)"}
