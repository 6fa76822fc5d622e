"""A search can bound a risk or minimise it: risk.* are metrics of every trial (DESIGN 3.11)."""

from __future__ import annotations

import search_spaces as ss

SPACE = """
name: riskc
dataset: digits
mechanisms: [[dp, wm]]
dp: {target_epsilon: {loguniform: [1, 10]}}
seeds: 2
search:
  algorithm: optuna
  num_samples: 4
  objectives: {acc: max, risk.mia_auc: min}
  constraints: [conflict, {metric: risk.mia_auc, max: 0.55}]
"""


def test_a_risk_bound_is_a_constraint_and_a_risk_an_objective() -> None:
    space = ss.loads(SPACE)
    osp = ss.optuna_space(space)
    assert list(osp.metrics) == ["acc", "risk.mia_auc"] and list(osp.modes) == ["max", "min"]
    assert "risk.mia_auc.max" in osp.constraint_names
    means = {"dp": {"acc": 0.9}, "wm": {"acc": 0.9, "wm.acc": 1.0}}
    row = {"mechanisms": "dp+wm", "acc": 0.9, "wm.acc": 1.0, "dp.epsilon": 3.0}
    assert osp.constraint_values({**row, "risk.mia_auc": 0.57}, means)["risk.mia_auc.max"] > 0  # infeasible
    assert osp.constraint_values({**row, "risk.mia_auc": 0.52}, means)["risk.mia_auc.max"] <= 0


def test_a_risk_threshold_is_a_threshold_of_the_space() -> None:
    space = ss.loads(SPACE + "thresholds: {risk_auc: 0.05}\n")
    assert space.thresholds.risk_auc == 0.05 and space.thresholds.risk_gap == 0.02
    try:
        ss.loads(SPACE + "thresholds: {risk_auc: 2}\n")
    except ss.SpaceError as err:
        assert "thresholds.risk_auc: got 2" in str(err)
    else:
        raise AssertionError("risk_auc 2 accepted")
