"""Sequential verdicts: significance levels per look, and what an undecided cell would need (DESIGN 3.10).

A search with ``seeds: {min: m, max: M, step: s}`` looks at each cell's verdict after m, m + s, ..., M
seeds and adds seeds only where the verdict is still undecided. Each look tests at its own level, so
that over all looks the chance of a false "no conflict" (or a false "conflict") stays at or below alpha:

- **Spending**: the O'Brien-Fleming-type alpha-spending function of Lan & DeMets ("Discrete sequential
  boundaries for clinical trials", Biometrika 1983), alpha(t) = 2 - 2 Phi(z_{1-alpha/2} / sqrt(t)) at
  information fraction t = n / M. It spends little at the first looks, where a handful of seeds has
  little power, and most at the last.
- **Levels**: look k tests at alpha(t_k) - alpha(t_{k-1}). These levels sum to alpha, so by the union
  (Bonferroni) bound each error rate over all looks is at most alpha for any test that is valid at its
  own level; no normal-theory boundary is assumed. That matters here: with 2-10 seeds per group the
  t-statistics are far from the Brownian motion that classic boundaries assume (Pocock's constant
  boundary, applied to Welch p-values at 3-10 seeds, gave a false "no conflict" rate of 0.057 in
  ``tests/analysis/test_sequential.py``'s simulation; these levels stay below 0.05).
- A fixed number of seeds is one look at alpha: exactly the verdicts of a non-sequential design.

The verdict rule itself is `analysis.equivalence`'s; it calls :func:`levels` for every comparison, so
the driver (``explorer.looks``) and the report decide with the same function.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.stats

from search_spaces.seeds import SeedDesign

__all__ = [
    "DESIGN_COLUMN",
    "LOOK_COLUMN",
    "REASON_COLUMN",
    "POWER",
    "config_designs",
    "decide",
    "look_levels",
    "levels",
    "seeds_to_decide",
    "spent",
]

DESIGN_COLUMN = "seeds_design"
"""Result column: the trial's seed design as ``SeedDesign.text`` ("2-5/1"); empty for a fixed number of seeds."""
LOOK_COLUMN = "look"
"""Result column: the look that added the trial (0: the first seeds)."""
REASON_COLUMN = "look_reason"
"""Result column: why a look added the trial (the undecided verdict it was run for); empty at look 0."""
POWER = 0.8
"""The power at which :func:`seeds_to_decide` sizes an undecided comparison."""


def spent(t: float | np.ndarray, alpha: float) -> np.ndarray:
    """The O'Brien-Fleming-type spending function alpha(t) = 2 - 2 Phi(z_{1-alpha/2} / sqrt(t)), t in (0, 1]."""
    t = np.clip(np.asarray(t, dtype=float), 1e-12, 1.0)
    z = scipy.stats.norm.ppf(1 - alpha / 2)
    return 2 * scipy.stats.norm.sf(z / np.sqrt(t))


def look_levels(design: SeedDesign, alpha: float) -> tuple[float, ...]:
    """The level of each look of ``design`` (they sum to ``alpha``; one look: ``alpha`` itself)."""
    looks = design.looks()
    if len(looks) == 1:
        return (float(alpha),)
    cumulative = spent(np.asarray(looks, dtype=float) / design.max, alpha)
    cumulative[-1] = alpha  # exactly alpha at t = 1, whatever the rounding
    return tuple(float(v) for v in np.diff(np.concatenate([[0.0], cumulative])))


def levels(designs: Sequence[SeedDesign | None], n: Sequence[float] | np.ndarray, alpha: float) -> np.ndarray:
    """The level at which each comparison is tested: its design's level at the look its ``n`` seeds reach
    (``alpha`` where there is no sequential design)."""
    out = np.full(len(designs), float(alpha))
    for i, (design, count) in enumerate(zip(designs, np.asarray(n, dtype=float))):
        if design is not None and design.sequential and not math.isnan(count):
            out[i] = look_levels(design, alpha)[design.look(int(count))]
    return out


def decide(beyond: np.ndarray | Sequence[bool] | bool, p_conflict: np.ndarray | Sequence[float] | float,
           p_no_conflict: np.ndarray | Sequence[float] | float,
           level: np.ndarray | Sequence[float] | float) -> np.ndarray:
    """The verdict of each comparison of the conflict rule: "conflict" when the mean lies ``beyond`` the
    threshold and the test that it is beyond is significant at ``level``; else "no conflict" when the
    test that it is within is; else "inconclusive" (NaN p-values never decide). Every rule of
    `analysis.equivalence` ends in this function."""
    b, pc, pn, lv = np.broadcast_arrays(np.asarray(beyond, dtype=bool), np.asarray(p_conflict, dtype=float),
                                        np.asarray(p_no_conflict, dtype=float), np.asarray(level, dtype=float))
    with np.errstate(invalid="ignore"):
        conflict = b & (pc < lv)
        clear = ~conflict & (pn < lv)
    return np.where(conflict, "conflict", np.where(clear, "no conflict", "inconclusive"))


def config_designs(rows: pd.DataFrame) -> dict[str, SeedDesign]:
    """config_id -> the sequential design its rows ran under (rows without ``seeds_design`` have none; of
    several, the one with the most seeds, whose levels are the smallest)."""
    if DESIGN_COLUMN not in rows.columns or rows.empty:
        return {}
    out: dict[str, SeedDesign] = {}
    pairs = rows[["config_id", DESIGN_COLUMN]].dropna().drop_duplicates()
    for config_id, text in pairs.itertuples(index=False):
        try:
            design = SeedDesign.parse(text)
        except ValueError:
            continue  # a value this version cannot read: that config is judged as a fixed design
        if design is not None and design.sequential:
            known = out.get(str(config_id))
            if known is None or (design.max, -design.min) > (known.max, -known.min):
                out[str(config_id)] = design
    return out


def seeds_to_decide(
    effect: np.ndarray | Sequence[float] | float,
    std: np.ndarray | Sequence[float] | float,
    std_other: np.ndarray | Sequence[float] | float | None = None,
    *,
    alpha: float = 0.05,
    power: float = POWER,
    cap: int = 10_000,
) -> np.ndarray:
    """Seeds per group with which a one-sided t-test at ``alpha`` would show the side of the threshold that
    ``effect`` (the mean's distance from it) lies on, with probability ``power``, if the effect and the
    spread (``std``; ``std_other`` for a second group, Welch) stay as seen. NaN where the spread is
    unknown; inf where the effect is 0 or the answer exceeds ``cap``.

    The usual normal-theory size, refined with Welch-Satterthwaite degrees of freedom: the smallest n with
    |effect| / sqrt(s1^2/n + s2^2/n) >= t_{1-alpha}(df) + t_{power}(df).
    """
    e, s1 = np.broadcast_arrays(np.abs(np.asarray(effect, dtype=float)), np.asarray(std, dtype=float))
    two = std_other is not None
    s2 = np.broadcast_to(np.asarray(std_other if two else 0.0, dtype=float), e.shape)
    out = np.full(e.shape, np.nan)
    for i in np.ndindex(e.shape):
        a, b, d = s1[i], s2[i], e[i]
        if math.isnan(a) or math.isnan(b) or math.isnan(d):
            continue
        var = a * a + b * b
        if var == 0:
            out[i] = 2.0 if d > 0 else math.inf  # no spread: any two seeds show it
            continue
        if d == 0:
            out[i] = math.inf
            continue
        z = scipy.stats.norm.ppf(1 - alpha) + scipy.stats.norm.ppf(power)
        n = max(2, math.ceil(z * z * var / (d * d)))
        while n <= cap:
            df = (n - 1) * var * var / (a**4 + b**4) if two else n - 1
            need = scipy.stats.t.ppf(1 - alpha, df) + scipy.stats.t.ppf(power, df)
            if d / math.sqrt(var / n) >= need:
                break
            n += 1
        out[i] = float(n) if n <= cap else math.inf
    return out
