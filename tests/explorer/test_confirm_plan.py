"""Planning confirmation (no Ray): which candidates, which seeds, which exact baselines, stable once run."""

from __future__ import annotations

import importlib
from typing import Any

import pandas as pd

import explorer.confirm
import explorer.tune.driver as driver
import explorer.tune.optuna_bridge as bridge
import explorer.tune.phases as phases
import search_spaces as ss
from analysis import CONFIRM_SUFFIX, write_report
from explorer.config import TrialConfig
from explorer.confirm import confirm_seeds, plan_confirmation

SPACE = """
name: plan
dataset: synthetic
model: tiny
training: {epochs: 1, batch_size: 32}
mechanisms: [[dp, wm]]
dp: {target_epsilon: {loguniform: [1, 20]}}
wm: {trigger_size: {int: [10, 40]}, decoupled: {choice: [true, false]}}
baselines: {set: {dp.target_epsilon: 3, wm.trigger_size: 20}}
seeds: {single: 2, combined: [5, 6]}
search: {algorithm: optuna, num_samples: 4, objectives: {acc: max, wm.acc: max, dp.epsilon: min}}
"""


BASELINES = importlib.import_module("analysis.baselines")
EQUIVALENCE = importlib.import_module("analysis.equivalence")  # the package shadows these with functions
POINTS = importlib.import_module("analysis.operating_points")


class _Fixed:
    """An Optuna trial stand-in that answers with given values."""

    def __init__(self, **values: Any) -> None:
        self.values = values

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return self.values[name]

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        return float(self.values[name])

    def suggest_int(self, name: str, low: int, high: int) -> int:
        return int(self.values[name])


def _row(flat: dict[str, Any], **metrics: float) -> dict[str, Any]:
    config = TrialConfig.from_dict(flat)
    row = {**config.flat(), "config_id": config.config_id(), "status": "ok", "trial_id": f"t{len(metrics)}"}
    row.update({"acc": float("nan"), "wm.acc": float("nan"), "dp.epsilon": float("nan"), "adv.acc": 0.1})
    row.update(metrics)
    if "wm.trigger_size" in row and row["wm.trigger_size"] is not None:
        row["wm.trigger_size"] = float(row["wm.trigger_size"])  # as in a Parquet column with gaps
    return row


def _screened(space: ss.Space) -> pd.DataFrame:
    osp = ss.optuna_space(space)
    rows = []
    for c in osp.baselines():
        eps = c.get("dp.target_epsilon")
        rows.append(_row(c, acc=0.9 if c["mechanisms"] != "dp" else 0.8, **(
            {"wm.acc": 1.0} if c["mechanisms"] == "wm" else {}), **({"dp.epsilon": eps} if eps else {})))
    drawn = [(6.2519, 30, True, 0.85, 1.0), (2.5, 12, True, 0.80, 1.0), (15.0, 35, False, 0.9, 0.2),
             (1.2, 25, True, 0.7, 1.0)]
    for eps, size, decoupled, acc, wm in drawn:
        c = osp.suggest(_Fixed(**{"dp.target_epsilon": eps, "wm.trigger_size": size, "wm.decoupled": decoupled}))
        rows.append(_row(c, acc=acc, **{"wm.acc": wm, "dp.epsilon": eps}))
    return pd.DataFrame(rows)


def test_the_driver_and_the_report_use_one_baseline_implementation() -> None:
    assert bridge.match_config is BASELINES.match_config
    assert explorer.confirm.baseline_settings is BASELINES.baseline_settings
    assert EQUIVALENCE.member_baselines is BASELINES.member_baselines
    assert phases.best_point is POINTS.best_point
    assert phases.operating_points is POINTS.operating_points
    assert not hasattr(ss, "baseline_config_ids") and not hasattr(driver, "_baseline_means")


def test_the_driver_constraints_and_the_verdict_margins_agree_on_the_same_rows() -> None:
    """Optuna's constraint values (driver) are minus the report's margins (analysis), nearest or exact."""
    space = ss.loads(SPACE)
    rows = _screened(space)
    osp = ss.optuna_space(space)
    constraints = driver._Constraints(osp, driver._baseline_rows(rows))
    points = POINTS.operating_points(rows, {"acc": "max"}).candidates.set_index("config_id")
    for row in rows[rows["mechanisms"] == "dp+wm"].to_dict("records"):
        values = constraints(row)
        assert values["baselines"].startswith("dp nearest (dp.target_epsilon=")
        margins = points.loc[row["config_id"]]
        assert values["constraint.acc.drop_vs_baseline"] == -margins["margin:acc"]
        assert values["constraint.wm.acc.drop_vs_baseline"] == -margins["margin:wm.acc"]


def test_plan_reruns_the_best_candidates_with_exact_baselines_at_their_settings(tmp_path: Any) -> None:
    space = ss.loads(SPACE)
    rows = _screened(space)
    plan = plan_confirmation(space, rows, top=2, seeds=3)
    assert not plan.skipped
    by_eps = rows.set_index("config_id")["dp.target_epsilon"]
    assert [by_eps[c] for c in plan.candidates["config_id"]] == [6.2519, 2.5]  # best acc first; eps 15 fails wm
    keys = {(TrialConfig.from_dict(t).config_id(), t["seed"]) for t in plan.trials}
    assert len(keys) == len(plan.trials) == 2 * (3 + 3 + 3)
    first = [t for t in plan.trials if t.get("dp.target_epsilon") == 6.2519]
    assert {(t["mechanisms"], t["seed"]) for t in first} == {
        ("dp+wm", 5), ("dp+wm", 6), ("dp+wm", 0), ("dp", 0), ("dp", 1), ("dp", 2)}
    assert all(t["experiment"] == "plan" + CONFIRM_SUFFIX for t in plan.trials)
    wm = [t for t in plan.trials if t["mechanisms"] == "wm" and t["wm.trigger_size"] == 30]
    assert len(wm) == 3 and all(t["wm.decoupled"] is False for t in wm)
    assert confirm_seeds((5, 6), 3) == (5, 6, 0) and confirm_seeds((0, 1, 2, 3), 2) == (0, 1)
    screened = set(zip(rows["config_id"], rows["seed"]))
    assert len(keys & screened) == 2  # each candidate's screening trial is reused, not rerun

    # once confirmation ran (here: it found the first candidate much worse), the plan stays the same
    ran = [_row(t, acc=0.3, **{"wm.acc": 0.1, "dp.epsilon": t.get("dp.target_epsilon") or float("nan")})
           for t in plan.trials if (TrialConfig.from_dict(t).config_id(), t["seed"]) not in screened]
    after = pd.concat([rows, pd.DataFrame(ran)], ignore_index=True)
    again = plan_confirmation(space, after, top=2, seeds=3)
    assert list(again.candidates["config_id"]) == list(plan.candidates["config_id"])
    assert {TrialConfig.from_dict(t).config_id() for t in again.trials} == {c for c, _ in keys}


def test_the_report_labels_an_unconfirmed_point_as_such(tmp_path: Any) -> None:
    rows = _screened(ss.loads(SPACE))
    written = write_report(rows, tmp_path / "report", objectives={"acc": "max", "wm.acc": "max"})
    text = written["report.md"].read_text()
    assert "No confirmed operating point yet. The best screening point (unconfirmed" in text
    assert "### Screening points (unconfirmed)" in text and "### Confirmed points\n\nNone:" in text
    assert "screening, unconfirmed, 1 seed" in text and "dp nearest (dp.target_epsilon=3)" in text
    table = pd.read_csv(written["operating_points.csv"])
    assert set(table["evidence"]) == {"screening"}
    assert set(pd.read_csv(written["equivalence.csv"]).query("baseline == 'dp'")["baseline_match"]) == {"nearest"}
