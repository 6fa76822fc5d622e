"""Welch, TOST and one-sample t-tests from summary statistics, vectorised over many comparisons.

The figures are scipy's: `scipy.stats.ttest_ind_from_stats(..., equal_var=False)` on shifted means is
Welch's test, and TOST is the larger p of the two one-sided Welch tests at the bounds, exactly what
`statsmodels...ttost_ind(x1, x2, low, upp, usevar="unequal")` returns. When both groups have zero
variance scipy returns NaN; the difference is then known exactly and the p-value is 0 or 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pandas as pd
import scipy.stats

__all__ = ["Comparison", "compare", "drop_tests", "one_sample_p", "welch_p"]

Alternative = str  # "two-sided", "less" or "greater", as in scipy
ArrayLike: TypeAlias = np.ndarray | pd.Series | Sequence[float] | float


def welch_p(
    mean1: ArrayLike,
    std1: ArrayLike,
    n1: ArrayLike,
    mean2: ArrayLike,
    std2: ArrayLike,
    n2: ArrayLike,
    *,
    shift: ArrayLike = 0.0,
    alternative: Alternative = "two-sided",
) -> np.ndarray:
    """p-value of Welch's test of mean1 - mean2 against `shift` (NaN where a group has < 2 values)."""
    m1, s1, c1, m2, s2, c2, d = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (mean1, std1, n1, mean2, std2, n2, shift))
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        p = scipy.stats.ttest_ind_from_stats(
            m1 - d, s1, c1, m2, s2, c2, equal_var=False, alternative=alternative
        ).pvalue
        p = np.asarray(p, dtype=float).copy()
        exact = (s1 == 0) & (s2 == 0)
        p[exact] = _exact_p(m1 - m2 - d, alternative)[exact]
    p[(c1 < 2) | (c2 < 2) | np.isnan(m1) | np.isnan(m2)] = np.nan
    return p


def one_sample_p(
    mean: ArrayLike, std: ArrayLike, n: ArrayLike, popmean: ArrayLike, alternative: Alternative
) -> np.ndarray:
    """p-value of the one-sample t-test of the mean against `popmean` (as `scipy.stats.ttest_1samp`)."""
    m, s, c, mu = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (mean, std, n, popmean)))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (m - mu) / (s / np.sqrt(c))
        df = c - 1
        if alternative == "greater":
            p = scipy.stats.t.sf(t, df)
        elif alternative == "less":
            p = scipy.stats.t.cdf(t, df)
        else:
            p = 2 * scipy.stats.t.sf(np.abs(t), df)
    p = np.asarray(p, dtype=float).copy()
    exact = s == 0
    p[exact] = _exact_p(m - mu, alternative)[exact]
    p[(c < 2) | np.isnan(m)] = np.nan
    return p


def _exact_p(diff: np.ndarray, alternative: Alternative) -> np.ndarray:
    if alternative == "greater":
        return np.where(diff > 0, 0.0, 1.0)
    if alternative == "less":
        return np.where(diff < 0, 0.0, 1.0)
    return np.where(diff != 0, 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class Comparison:
    """A protected group (x) against its baseline (y) for a drop threshold `threshold` >= 0.

    welch_p: two-sided Welch p of mean(x) != mean(y). p_conflict: one-sided Welch p that the drop
    mean(y) - mean(x) exceeds the threshold. tost_p: TOST p of |mean(x) - mean(y)| < threshold.
    p_no_conflict: TOST's lower one-sided p, that the drop is below the threshold (non-inferiority).
    """

    n: int
    mean: float
    std: float
    n_baseline: int
    mean_baseline: float
    std_baseline: float
    difference: float
    threshold: float
    welch_p: float
    p_conflict: float
    tost_p: float
    p_no_conflict: float


def compare(x: np.ndarray, y: np.ndarray, threshold: float) -> Comparison:
    """Compare two samples (NaNs dropped) with Welch's test and TOST at +-threshold."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    stats = [len(x), _mean(x), _std(x), len(y), _mean(y), _std(y)]
    table = drop_tests(*(np.array([v]) for v in stats), threshold=np.array([threshold]))
    return Comparison(
        n=len(x),
        mean=stats[1],
        std=stats[2],
        n_baseline=len(y),
        mean_baseline=stats[4],
        std_baseline=stats[5],
        difference=stats[1] - stats[4],
        threshold=threshold,
        **{k: float(v[0]) for k, v in table.items()},
    )


def drop_tests(
    n: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    n_base: np.ndarray,
    mean_base: np.ndarray,
    std_base: np.ndarray,
    *,
    threshold: np.ndarray,
) -> dict[str, np.ndarray]:
    """Vectorised figures of `Comparison`: welch_p, p_conflict, tost_p, p_no_conflict."""
    args = (mean, std, n, mean_base, std_base, n_base)
    lower = welch_p(*args, shift=-threshold, alternative="greater")
    upper = welch_p(*args, shift=threshold, alternative="less")
    return {
        "welch_p": welch_p(*args),
        "p_conflict": welch_p(*args, shift=-threshold, alternative="less"),
        "tost_p": np.maximum(lower, upper),
        "p_no_conflict": lower,
    }


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else float("nan")


def _std(values: np.ndarray) -> float:
    return float(values.std(ddof=1)) if len(values) >= 2 else float("nan")
