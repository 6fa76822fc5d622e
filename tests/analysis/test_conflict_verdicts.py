"""Conflict verdicts: the paper's Table 4 structure, baseline matching, absolute metrics, edge cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import Thresholds, conflicts, equivalence, load

EXPECTED_TABLE4 = {
    ("dp+wm", "mnist"): ("conflict", "wm.acc"),
    ("adv+wm", "mnist"): ("no conflict", ""),
    ("dp+wm", "fashion_mnist"): ("conflict", "wm.acc"),
    ("adv+wm", "fashion_mnist"): ("no conflict", ""),
    ("dp+wm", "cifar10"): ("inconclusive", "wm.acc"),
    ("adv+wm", "cifar10"): ("conflict", "acc, adv.acc"),
    ("dp+wm", "digits"): ("inconclusive", "wm.acc"),
    ("adv+wm", "digits"): ("no conflict", ""),
}


def test_table4_fixture_yields_the_expected_verdicts(table4_parquet: Path) -> None:
    matrix = conflicts(load(table4_parquet))
    got = {(r.mechanisms, r.dataset): (r.verdict, r.metrics) for r in matrix.cells.itertuples()}
    assert got == EXPECTED_TABLE4
    wide = matrix.table()
    assert list(wide.columns) == ["digits", "mnist", "fashion_mnist", "cifar10"]
    assert wide.loc["dp+wm", "mnist"] == "conflict: wm.acc"
    assert wide.loc["adv+wm", "cifar10"] == "conflict: acc, adv.acc"


def test_a_case_decided_only_by_tost(table4: pd.DataFrame) -> None:
    """fashion_mnist adv+wm: acc is 0.07 below the adv baseline. Welch finds the difference significant
    and cannot show it is below 0.10; only the TOST lower test establishes 'no conflict'."""
    table = equivalence(table4)
    row = table[
        (table["dataset"] == "fashion_mnist")
        & (table["mechanisms"] == "adv+wm")
        & (table["metric"] == "acc")
        & (table["role"] == "verdict")
    ].iloc[0]
    alpha = Thresholds().alpha
    assert 0 < -row["difference"] < row["threshold"]
    assert row["welch_p"] < alpha  # a plain Welch test says "different"
    assert row["p_conflict"] > alpha  # the one-sided Welch test does not show a conflict either
    assert row["tost_p"] < alpha and row["p_no_conflict"] < alpha
    assert row["verdict"] == "no conflict"


def test_within_threshold_but_too_spread_is_inconclusive(table4: pd.DataFrame) -> None:
    table = equivalence(table4)
    row = table[(table["dataset"] == "digits") & (table["mechanisms"] == "dp+wm") & (table["metric"] == "wm.acc")].iloc[
        0
    ]
    assert 0 < -row["difference"] < row["threshold"]
    assert row["p_no_conflict"] > Thresholds().alpha and row["p_conflict"] > Thresholds().alpha
    assert row["verdict"] == "inconclusive"


def test_thresholds_change_the_verdict(table4: pd.DataFrame) -> None:
    lenient = conflicts(table4, Thresholds(wm=0.7))
    cell = lenient.cells[(lenient.cells["mechanisms"] == "dp+wm") & (lenient.cells["dataset"] == "mnist")].iloc[0]
    assert cell["verdict"] == "no conflict"


def test_baselines_match_hyperparameters_and_ignore_variant_flags(synth) -> None:  # type: ignore[no-untyped-def]
    groups = [
        {
            "dataset": "mnist",
            "mechanisms": "dp",
            "params": {"dp.target_epsilon": 1.0},
            "metrics": {"acc": (0.80, 0.01)},
        },
        {
            "dataset": "mnist",
            "mechanisms": "dp",
            "params": {"dp.target_epsilon": 8.0},
            "metrics": {"acc": (0.95, 0.01)},
        },
        {"dataset": "mnist", "mechanisms": "wm", "metrics": {"acc": (0.97, 0.01), "wm.acc": (0.98, 0.01)}},
        {
            "dataset": "mnist",
            "mechanisms": "wm",
            "params": {"wm.decoupled": True},
            "metrics": {"acc": (0.5, 0.01), "wm.acc": (0.2, 0.01)},
        },
        {
            "dataset": "mnist",
            "mechanisms": "dp+wm",
            "params": {"dp.target_epsilon": 8.0, "wm.decoupled": True},
            "metrics": {"acc": (0.94, 0.01), "wm.acc": (0.97, 0.01)},
        },
    ]
    table = equivalence(synth(groups, seeds=4))
    by = {(r.metric, r.baseline): r for r in table.itertuples()}
    assert by[("acc", "dp")].mean_baseline == pytest.approx(0.95)  # epsilon 8, not 1
    assert by[("wm.acc", "wm")].mean_baseline == pytest.approx(0.98)  # default variant, not the decoupled one
    assert by[("acc", "dp")].role == "verdict"


def test_missing_baseline_and_too_few_seeds_are_inconclusive(synth) -> None:  # type: ignore[no-untyped-def]
    groups = [
        {"dataset": "mnist", "mechanisms": "dp", "metrics": {"acc": (0.95, 0.01)}},
        {"dataset": "mnist", "mechanisms": "dp+wm", "metrics": {"acc": (0.94, 0.01), "wm.acc": (0.9, 0.01)}},
        {"dataset": "digits", "mechanisms": "adv", "seeds": 1, "metrics": {"acc": (0.9, 0.0), "adv.acc": (0.5, 0.0)}},
        {"dataset": "digits", "mechanisms": "wm", "metrics": {"acc": (0.9, 0.01), "wm.acc": (1.0, 0.0)}},
        {
            "dataset": "digits",
            "mechanisms": "adv+wm",
            "metrics": {"acc": (0.9, 0.01), "wm.acc": (1.0, 0.0), "adv.acc": (0.5, 0.01)},
        },
        {"dataset": "mnist", "mechanisms": "adv+dp", "status": "error"},
    ]
    matrix = conflicts(synth(groups, seeds=4))
    cells = matrix.cells.set_index(["mechanisms", "dataset"])
    assert cells.loc[("dp+wm", "mnist"), "verdict"] == "inconclusive"
    assert "no matching baseline for wm" in cells.loc[("dp+wm", "mnist"), "note"]
    assert cells.loc[("adv+wm", "digits"), "verdict"] == "inconclusive"
    assert "need >= 2" in matrix.configs.set_index("mechanisms").loc["adv+wm", "reasons"]
    assert cells.loc[("adv+dp", "mnist"), "verdict"] == "no data"
    reasons = matrix.equivalence.set_index(["mechanisms", "metric", "baseline"])["reason"]
    assert reasons[("dp+wm", "wm.acc", "wm")] == "wm.acc: no matching 'wm' baseline"
    assert reasons[("adv+wm", "adv.acc", "adv")] == "adv.acc: n=4 vs baseline n=1, need >= 2 each"


def test_absolute_rules_for_dataset_inference_and_radioactive_data(synth) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    base = [{"dataset": "mnist", "mechanisms": m, "metrics": {"acc": (0.95, 0.01)}} for m in ("dp", "adv", "di")]
    rad = {"dataset": "mnist", "mechanisms": "rad", "metrics": {"acc": (0.95, 0.01), "rad.loss_gap": (0.2, 0.02)}}
    groups = base + [rad,
        {"dataset": "mnist", "mechanisms": "di+dp", "metrics": {"acc": (0.95, 0.01), "di.p_value": (0.05, 0.01)}},
        {
            "dataset": "mnist",
            "mechanisms": "adv+rad",
            "metrics": {"acc": (0.95, 0.01), "adv.acc": (0.05, 0.01), "rad.loss_gap": (0.002, 0.001)},
        },
        {"dataset": "mnist", "mechanisms": "dp+rad", "metrics": {"acc": (0.95, 0.01), "rad.loss_gap": (0.2, 0.02)}},
    ]
    df = synth(groups, seeds=5, rng_seed=int(rng.integers(100)))
    matrix = conflicts(df)
    cells = matrix.cells.set_index("mechanisms")
    assert (cells.loc["di+dp", "verdict"], cells.loc["di+dp", "metrics"]) == ("conflict", "di.p_value")
    assert (cells.loc["adv+rad", "verdict"], cells.loc["adv+rad", "metrics"]) == ("conflict", "rad.loss_gap")
    assert cells.loc["dp+rad", "verdict"] == "no conflict"
    di = matrix.equivalence[matrix.equivalence["metric"] == "di.p_value"].iloc[0]
    assert di["scale"] == "log10" and di["threshold"] == pytest.approx(-3.0)
    assert di["mean"] == pytest.approx(np.log10(df.loc[df["mechanisms"] == "di+dp", "di.p_value"]).mean())


def test_a_mechanism_that_fails_alone_is_noted(synth) -> None:  # type: ignore[no-untyped-def]
    groups = [
        {"dataset": "digits", "mechanisms": "adv", "metrics": {"adv.acc": (0.3, 0.01)}},
        {"dataset": "digits", "mechanisms": "rad", "metrics": {"rad.loss_gap": (0.002, 0.0005)}},
        {
            "dataset": "digits",
            "mechanisms": "adv+rad",
            "metrics": {"adv.acc": (0.3, 0.01), "rad.loss_gap": (-0.003, 0.0005)},
        },
    ]
    matrix = conflicts(synth(groups, seeds=3))
    cell = matrix.cells.iloc[0]
    assert (cell["verdict"], cell["metrics"]) == ("conflict", "rad.loss_gap")
    assert "rad alone also misses its threshold" in cell["note"]
    rad = matrix.equivalence[matrix.equivalence["metric"] == "rad.loss_gap"].iloc[0]
    assert (rad["n_baseline"], rad["mean_baseline"]) == (3, pytest.approx(0.002))


def _rad_groups(alone: tuple[float, float], paired: tuple[float, float]) -> list[dict]:  # type: ignore[type-arg]
    acc = {"acc": (0.98, 0.002)}
    return [
        {"dataset": "mnist", "mechanisms": "dp", "metrics": acc},
        {"dataset": "mnist", "mechanisms": "rad", "metrics": {**acc, "rad.loss_gap": alone}},
        {"dataset": "mnist", "mechanisms": "dp+rad", "metrics": {**acc, "rad.loss_gap": paired}},
    ]


def test_radioactive_rule_is_relative_with_the_papers_absolute_rule_beside_it(synth) -> None:  # type: ignore[no-untyped-def]
    # MNIST-like magnitudes: rad alone marks (0.004) but below the paper's absolute 1e-2
    df = synth(_rad_groups((0.004, 0.0005), (0.003, 0.0005)), seeds=5)
    eq = equivalence(df)
    rad = eq[(eq["metric"] == "rad.loss_gap") & (eq["mechanisms"] == "dp+rad")].set_index("role")
    assert set(rad.index) == {"verdict", "paper rule"}
    assert rad.loc["verdict", "threshold"] == pytest.approx(0.05 * rad.loc["verdict", "mean_baseline"])
    assert rad.loc["verdict", "verdict"] == "no conflict"
    assert "misses the paper's absolute rule" in rad.loc["verdict", "reason"]
    assert (rad.loc["paper rule", "threshold"], rad.loc["paper rule", "verdict"]) == (0.01, "conflict")
    cell = conflicts(df).cells.set_index("mechanisms").loc["dp+rad"]
    assert cell["verdict"] == "no conflict" and "rad alone also misses" in cell["note"]
    # rad_rel=0 switches to the paper's rule, which then decides
    absolute = conflicts(df, Thresholds(rad_rel=0)).cells.set_index("mechanisms").loc["dp+rad"]
    assert (absolute["verdict"], absolute["metrics"]) == ("conflict", "rad.loss_gap")


def test_a_radioactive_mark_that_vanishes_is_a_conflict(synth) -> None:  # type: ignore[no-untyped-def]
    df = synth(_rad_groups((0.2, 0.02), (-0.001, 0.002)), seeds=5)
    cell = conflicts(df).cells.set_index("mechanisms").loc["dp+rad"]
    assert (cell["verdict"], cell["metrics"]) == ("conflict", "rad.loss_gap")
    assert cell["note"] == ""


def test_no_fraction_of_a_mark_that_rad_alone_does_not_make(synth) -> None:  # type: ignore[no-untyped-def]
    df = synth(_rad_groups((0.0, 0.003), (0.003, 0.0005)), seeds=5)
    eq = equivalence(df)
    row = eq[(eq["metric"] == "rad.loss_gap") & (eq["mechanisms"] == "dp+rad") & (eq["role"] == "verdict")].iloc[0]
    assert row["verdict"] == "inconclusive" and "rad alone misses" in row["reason"]


def test_rad_rel_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="rad_rel"):
        Thresholds(rad_rel=1.5)
