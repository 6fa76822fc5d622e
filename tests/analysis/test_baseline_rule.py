"""The one baseline rule: exact baselines at the candidate's own knob values, else the nearest (labelled)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import equivalence, operating_points
from analysis.baselines import baseline_settings, match_config, member_baselines

SAMPLED_EPS = 6.251912  # what an Optuna sampler might draw


def _group(mechanisms: str, params: dict, **metrics: tuple[float, float]) -> dict:  # type: ignore[type-arg]
    return {"dataset": "digits", "mechanisms": mechanisms, "params": params, "metrics": metrics}


def _rows(synth, *, exact: bool, dp_acc_at_eps: float = 0.88):  # type: ignore[no-untyped-def]
    groups = [
        _group("dp", {"dp.target_epsilon": 3.0}, acc=(0.80, 0.01)),
        _group("dp", {"dp.target_epsilon": 20.0}, acc=(0.95, 0.01)),
        _group("wm", {"wm.trigger_size": 57}, acc=(0.97, 0.01), **{"wm.acc": (1.0, 0.0)}),
        _group("wm", {"wm.trigger_size": 50}, acc=(0.97, 0.01), **{"wm.acc": (0.9, 0.02)}),
        _group(
            "dp+wm",
            {"dp.target_epsilon": SAMPLED_EPS, "wm.trigger_size": 57, "wm.decoupled": True},
            acc=(0.86, 0.01),
            **{"wm.acc": (1.0, 0.0)},
        ),
    ]
    if exact:
        groups.append(_group("dp", {"dp.target_epsilon": SAMPLED_EPS}, acc=(dp_acc_at_eps, 0.01)))
    return synth(groups, seeds=3)


def test_a_sampled_epsilon_gets_its_dp_baseline_at_the_same_epsilon(synth) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(synth, exact=True)
    candidate = rows[rows["mechanisms"] == "dp+wm"].iloc[0].to_dict()
    dp = match_config(candidate, rows, "dp", ["acc"])
    assert dp.match == "exact" and dp.label == "exact" and dp.n == 3
    assert dp.means["acc"] == pytest.approx(0.88)  # not 0.80, the baselines.set value epsilon = 3
    wm = match_config(candidate, rows, "wm", ["acc", "wm.acc"])
    assert wm.match == "exact" and wm.means["wm.acc"] == pytest.approx(1.0)  # |D_T| 57, decoupled flag ignored
    eq = equivalence(rows)
    acc = eq[(eq["metric"] == "acc") & (eq["baseline"] == "dp")].iloc[0]
    assert acc["baseline_match"] == "exact" and acc["mean_baseline"] == pytest.approx(0.88)


def test_without_an_exact_baseline_the_nearest_is_a_screening_estimate(synth) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(synth, exact=False)
    candidate = rows[rows["mechanisms"] == "dp+wm"].iloc[0].to_dict()
    dp = match_config(candidate, rows, "dp", ["acc"])
    # |ln 6.25 - ln 3| = 0.73 < |ln 6.25 - ln 20| = 1.16
    assert dp.match == "nearest" and dp.settings == "dp.target_epsilon=3" and dp.means["acc"] == pytest.approx(0.80)
    assert dp.label == "nearest (dp.target_epsilon=3)"
    assert match_config(candidate, rows, "dp", ["acc"], nearest=False).match == "missing"
    eq = equivalence(rows)
    row = eq[(eq["metric"] == "acc") & (eq["baseline"] == "dp")].iloc[0]
    assert row["baseline_match"] == "nearest" and row["verdict"] == "inconclusive"
    assert "screening only" in row["reason"] and np.isnan(row["p_conflict"])
    points = operating_points(rows, {"acc": "max"})
    assert points.candidates.iloc[0]["evidence"] == "screening"
    assert "dp nearest (dp.target_epsilon=3)" in points.candidates.iloc[0]["baselines"]
    assert points.recommended.iloc[0]["status"] == "screening only (unconfirmed)"


def test_shared_knobs_must_match_even_for_the_nearest(synth) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(synth, exact=False)
    candidate = rows[rows["mechanisms"] == "dp+wm"].iloc[0].to_dict()
    assert match_config({**candidate, "train.lr": 0.5}, rows, "dp", ["acc"]).match == "missing"
    assert match_config({**candidate, "dp.accountant": "rdp"}, rows, "dp", ["acc"]).match == "missing"  # not numeric


def test_member_baselines_is_aligned_with_its_candidates(synth) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(synth, exact=True)
    candidates = rows[rows["mechanisms"] == "dp+wm"].iloc[[0, 1]].set_index(pd.Index([7, 3]))
    found = member_baselines(candidates, rows, "dp", ["acc"])
    assert list(found.index) == [7, 3] and list(found["match"]) == ["exact", "exact"]
    assert found["n_configs"].tolist() == [1, 1] and found["n:acc"].tolist() == [3, 3]


def test_baseline_settings_keep_own_and_shared_knobs_in_the_default_variant() -> None:
    config = {
        "experiment": "x", "dataset": "digits", "model": "auto", "mechanisms": "dp+wm", "seed": 4,
        "train.lr": 0.1, "data.dir": "/d", "eval.steps": 5, "dp.target_epsilon": SAMPLED_EPS,
        "wm.trigger_size": 57, "wm.decoupled": True,
    }
    assert baseline_settings(config, "wm") == {
        "experiment": "x", "dataset": "digits", "model": "auto", "mechanisms": "wm", "seed": 4, "train.lr": 0.1,
        "data.dir": "/d", "eval.steps": 5, "wm.trigger_size": 57, "wm.decoupled": False,
    }
    assert baseline_settings(config, "none")["mechanisms"] == "none"
    assert "dp.target_epsilon" not in baseline_settings(config, "none")
