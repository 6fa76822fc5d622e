"""Operating points: the feasible configs, the recommendation rule, the nearest miss."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import operating_points


def sweep(synth, wm_by_eps: dict[float, float]):  # type: ignore[no-untyped-def]
    groups = [{"dataset": "mnist", "mechanisms": "wm", "metrics": {"acc": (0.97, 0.01), "wm.acc": (0.99, 0.01)}}]
    for eps, wm in wm_by_eps.items():
        groups.append(
            {
                "dataset": "mnist",
                "mechanisms": "dp",
                "params": {"dp.target_epsilon": eps},
                "metrics": {"acc": (0.80 + eps / 100, 0.01)},
            }
        )
        groups.append(
            {
                "dataset": "mnist",
                "mechanisms": "dp+wm",
                "params": {"dp.target_epsilon": eps},
                "metrics": {"acc": (0.79 + eps / 100, 0.01), "wm.acc": (wm, 0.02)},
            }
        )
    return synth(groups, seeds=4)


def test_recommends_the_feasible_config_with_the_best_objective(synth) -> None:  # type: ignore[no-untyped-def]
    points = operating_points(sweep(synth, {1.0: 0.3, 4.0: 0.75, 8.0: 0.8, 16.0: 0.5}), {"acc": "max"})
    candidates = points.candidates.set_index("dp.target_epsilon")
    assert candidates["feasible"].to_dict() == {1.0: False, 4.0: True, 8.0: True, 16.0: False}
    best = points.recommended.iloc[0]
    assert best["status"] == "recommended"
    assert best["config_id"] == candidates.loc[8.0, "config_id"]
    assert "dp.target_epsilon=8" in best["settings"]
    assert candidates.loc[16.0, "misses"] == "wm.acc drop 0.490 > 0.3 (by 0.190)"


def test_names_the_nearest_config_and_its_misses_when_none_is_feasible(synth) -> None:  # type: ignore[no-untyped-def]
    points = operating_points(sweep(synth, {1.0: 0.3, 4.0: 0.6}), {"acc": "max"})
    nearest = points.recommended.iloc[0]
    assert nearest["status"] == "nearest (none passes)" and nearest["evidence"] == "confirmed"
    assert nearest["config_id"] == points.candidates.set_index("dp.target_epsilon").loc[4.0, "config_id"]
    assert nearest["misses"].startswith("wm.acc drop 0.390 > 0.3 (by 0.090); verdict conflict: ")
    assert "wm.acc: conflict (drop 0.390, Welch p=" in nearest["misses"]


def test_constraints_restrict_feasibility(synth) -> None:  # type: ignore[no-untyped-def]
    points = operating_points(sweep(synth, {4.0: 0.9, 8.0: 0.9}), {"acc": "max"}, constraints={"acc": (">=", 0.86)})
    assert points.candidates.set_index("dp.target_epsilon")["feasible"].to_dict() == {4.0: False, 8.0: True}
    strict = operating_points(sweep(synth, {4.0: 0.9, 8.0: 0.9}), {"acc": "max"}, constraints={"acc": (">=", 0.95)})
    nearest = strict.recommended.iloc[0]
    assert nearest["status"] == "nearest (none passes)" and nearest["misses"].startswith("acc 0.87 not >= 0.95")
    assert strict.candidates["shortfall"].min() == pytest.approx((0.95 - 0.87) / 0.95)


def test_best_point_prefers_a_recommended_group_and_says_so(synth) -> None:  # type: ignore[no-untyped-def]
    from analysis import best_point, point_summary

    df = sweep(synth, {4.0: 0.9, 1.0: 0.3})
    df = df[~((df["mechanisms"] == "dp+wm") & (df["dp.target_epsilon"] == 4.0))]  # only the conflicting config
    ok = synth([{"dataset": "fashion_mnist", "mechanisms": m, "metrics": {"acc": (0.9, 0.01), "wm.acc": (0.99, 0.01)}}
                for m in ("dp", "wm", "dp+wm")], seeds=4)
    points = operating_points(pd.concat([df, ok], ignore_index=True), {"acc": "max"})
    assert set(points.recommended["status"]) == {"recommended", "nearest (none passes)"}
    best = best_point(points)
    assert best is not None and best["dataset"] == "fashion_mnist" and best["status"] == "recommended"
    assert point_summary(best, {"acc": "max"}).startswith("acc=0.900 [confirmed, 4 seeds, no conflict; config ")
    assert best_point(operating_points(df.iloc[0:0], {"acc": "max"})) is None
