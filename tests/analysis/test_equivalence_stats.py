"""Welch and TOST figures equal scipy's and statsmodels' (directly and inside `equivalence`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from statsmodels.stats.weightstats import ttost_ind

from analysis import compare, equivalence, load
from analysis.stats import one_sample_p, welch_p


@pytest.mark.parametrize("seed", range(6))
def test_compare_matches_scipy_and_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.90, 0.01 + 0.02 * rng.random(), size=int(rng.integers(3, 9)))
    y = rng.normal(0.92, 0.01 + 0.02 * rng.random(), size=int(rng.integers(3, 9)))
    threshold = float(rng.choice([0.02, 0.05, 0.1]))
    result = compare(x, y, threshold)
    tost_p, (_, p_low, _), _ = ttost_ind(x, y, -threshold, threshold, usevar="unequal")
    assert result.welch_p == pytest.approx(scipy.stats.ttest_ind(x, y, equal_var=False).pvalue, rel=1e-9)
    assert result.tost_p == pytest.approx(tost_p, rel=1e-9)
    assert result.p_no_conflict == pytest.approx(p_low, rel=1e-9)
    drop = scipy.stats.ttest_ind(y - threshold, x, equal_var=False, alternative="greater").pvalue
    assert result.p_conflict == pytest.approx(drop, rel=1e-9)
    assert (result.n, result.n_baseline) == (len(x), len(y))
    assert result.mean == pytest.approx(x.mean()) and result.std_baseline == pytest.approx(y.std(ddof=1))


def test_one_sample_matches_scipy() -> None:
    values = np.array([-2.1, -3.4, -2.8, -4.0, -3.1])
    for alternative in ("less", "greater", "two-sided"):
        expected = scipy.stats.ttest_1samp(values, -3.0, alternative=alternative).pvalue
        got = one_sample_p(values.mean(), values.std(ddof=1), len(values), -3.0, alternative)  # type: ignore[arg-type]
        assert float(got) == pytest.approx(expected, rel=1e-9)


def test_zero_variance_is_decided_by_the_means_and_small_n_is_nan() -> None:
    p = welch_p(
        [0.4, 0.99, 0.5], [0.0, 0.0, 0.1], [5, 5, 1], [1.0, 0.99, 0.5], [0.0, 0.0, 0.0], [5, 5, 5], alternative="less"
    )
    assert p[0] == 0.0 and p[1] == 1.0 and np.isnan(p[2])


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # scipy, on a constant (1.0, 1.0, ...) group
def test_equivalence_table_matches_scipy_and_statsmodels_on_the_raw_rows(table4_parquet: Path) -> None:
    df = load(table4_parquet)
    table = equivalence(df)
    drop_rows = table[table["test"] == "welch+tost"]
    assert len(drop_rows) == 36  # 8 combos x (acc vs 2 members + none) + wm.acc x 8 + adv.acc x 4
    for row in drop_rows.itertuples():
        x = df.loc[df["config_id"] == row.config_id, row.metric].to_numpy()
        y = df.loc[(df["mechanisms"] == row.baseline) & (df["dataset"] == row.dataset), row.metric].to_numpy()
        assert (row.n, row.n_baseline) == (len(x), len(y))
        assert row.mean == pytest.approx(x.mean()) and row.std == pytest.approx(x.std(ddof=1))
        assert row.mean_baseline == pytest.approx(y.mean()) and row.difference == pytest.approx(x.mean() - y.mean())
        if np.ptp(x) == 0 and np.ptp(y) == 0:
            continue  # scipy gives NaN; we decide by the means (tested above)
        tost_p, (_, p_low, _), _ = ttost_ind(x, y, -row.threshold, row.threshold, usevar="unequal")
        welch = scipy.stats.ttest_ind(x, y, equal_var=False).pvalue
        assert row.welch_p == pytest.approx(welch, rel=1e-9)
        assert row.tost_p == pytest.approx(tost_p, rel=1e-9)
        assert row.p_no_conflict == pytest.approx(p_low, rel=1e-9)


def test_acc_is_judged_against_the_lower_member_baseline(table4: pd.DataFrame) -> None:
    table = equivalence(table4)
    acc = table[(table["metric"] == "acc") & (table["dataset"] == "cifar10") & (table["mechanisms"] == "adv+wm")]
    roles = dict(zip(acc["baseline"], acc["role"]))
    assert roles == {"adv": "verdict", "wm": "member", "none": "reference"}  # adv (0.80) < wm (0.90)
