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
