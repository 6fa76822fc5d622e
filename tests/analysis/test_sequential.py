"""Sequential verdicts (analysis.sequential): per-look levels, error rates over all looks, seeds saved."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import conflicts
from analysis.conflicts import undecided
from analysis.sequential import decide, look_levels, seeds_to_decide
from analysis.stats import drop_tests
from search_spaces.seeds import SeedDesign

ALPHA, THRESHOLD = 0.05, 0.10


def test_levels_spend_alpha_over_the_looks_and_a_fixed_design_has_one_look() -> None:
    design = SeedDesign(3, 10)
    levels = look_levels(design, ALPHA)
    assert design.looks() == (3, 4, 5, 6, 7, 8, 9, 10) and len(levels) == 8
    assert math.isclose(sum(levels), ALPHA) and all(0 < v < ALPHA for v in levels)
    assert list(levels) == sorted(levels)  # O'Brien-Fleming type: little at first, most at the end
    assert look_levels(SeedDesign(5, 5), ALPHA) == (ALPHA,)
    assert SeedDesign(2, 7, 2).looks() == (2, 4, 6, 7) and SeedDesign(2, 7, 2).look(5) == 1
    assert SeedDesign(2, 7, 2).next_count(6) == 7 and SeedDesign(2, 7, 2).next_count(7) is None
    assert SeedDesign.parse("2-5/1") == SeedDesign(2, 5) and SeedDesign.parse("") is None
    with pytest.raises(ValueError, match="seeds_design"):
        SeedDesign.parse("five")


def _simulate(design: SeedDesign, true_drop: float, *, sd: float = 0.03, sd_base: float | None = None,
              sequences: int = 4000, seed: int = 0, per_look: tuple[float, ...] | None = None
              ) -> tuple[float, float, float]:
    """Sequences of seeds of a combination and its baseline (n each, growing together) judged at every look with
    the report's tests (`drop_tests`) and decision (`decide`) at the design's levels, stopping when decided.
    Returns (false "no conflict" rate, "conflict" rate, mean seeds used per group)."""
    rng = np.random.default_rng(seed)
    n_max = design.max
    combo = rng.normal(0.8 - true_drop, sd, (sequences, n_max))
    base = rng.normal(0.8, sd if sd_base is None else sd_base, (sequences, n_max))
    verdict = np.full(sequences, "inconclusive", dtype=object)
    used = np.full(sequences, n_max)
    levels = per_look or look_levels(design, ALPHA)
    for k, n in enumerate(design.looks()):
        x, y = combo[:, :n], base[:, :n]
        stats = [np.full(sequences, n), x.mean(1), x.std(1, ddof=1), np.full(sequences, n), y.mean(1),
                 y.std(1, ddof=1)]
        tests = drop_tests(*stats, threshold=np.full(sequences, THRESHOLD))
        now = decide(stats[4] - stats[1] > THRESHOLD, tests["p_conflict"], tests["p_no_conflict"], levels[k])
        live = verdict == "inconclusive"
        decided = live & (now != "inconclusive")
        verdict[decided], used[decided] = now[decided], n
    return float(np.mean(verdict == "no conflict")), float(np.mean(verdict == "conflict")), float(used.mean())


def _upper(rate: float, count: int) -> float:
    """The upper end of the 99 % Monte-Carlo interval of a simulated rate."""
    return rate + 2.576 * math.sqrt(max(rate * (1 - rate), 1e-12) / count)


@pytest.mark.parametrize("design", [SeedDesign(2, 5), SeedDesign(3, 10)], ids=str)
@pytest.mark.parametrize("sd_base", [None, 0.09], ids=["equal spread", "baseline 3x spread"])
def test_a_drop_exactly_at_the_threshold_is_called_no_conflict_at_most_alpha_of_the_time(
        design: SeedDesign, sd_base: float | None) -> None:
    false_clear, false_conflict, _ = _simulate(design, THRESHOLD, sd_base=sd_base)
    assert _upper(false_clear, 4000) <= ALPHA, false_clear
    assert _upper(false_conflict, 4000) <= ALPHA, false_conflict


def test_testing_every_look_at_alpha_itself_would_break_the_rate() -> None:
    """The simulation can fail: without the spending levels, eight looks at 0.05 each call a drop at the
    threshold 'no conflict' far more often than 5 % of the time."""
    design = SeedDesign(3, 10)
    false_clear, _, _ = _simulate(design, THRESHOLD, per_look=(ALPHA,) * len(design.looks()))
    assert false_clear > 0.08


@pytest.mark.parametrize(("design", "share"), [(SeedDesign(2, 5), 0.75), (SeedDesign(3, 10), 0.5)], ids=str)
def test_clear_cells_stop_well_before_the_fixed_design(design: SeedDesign, share: float) -> None:
    """Clear cells (a drop of 0 or of three times the threshold, sd 0.03) use at most `share` of the fixed
    design's seeds on average (measured: 3.6 of 5 and 4.7 of 10 for no drop)."""
    clear, conflict, used = _simulate(design, 0.0, sequences=2000)
    assert clear > 0.95 and conflict == 0 and used < share * design.max, used
    clear, conflict, used = _simulate(design, 0.3, sequences=2000)
    assert conflict > 0.95 and used < share * design.max, used


def test_seeds_to_decide_matches_a_simulated_fixed_design() -> None:
    """The power calculation: with the seeds it names, a fixed design decides about 80 % of the time."""
    sd, effect = 0.04, 0.035  # a drop of 0.065 against the 0.1 threshold
    n = int(seeds_to_decide(effect, sd, sd)[()])
    assert 15 <= n <= 30
    clear, _, _ = _simulate(SeedDesign(n, n), THRESHOLD - effect, sd=sd, sequences=3000, seed=3)
    assert 0.74 <= clear <= 0.88
    assert math.isinf(seeds_to_decide(0.0, sd, sd)[()]) and np.isnan(seeds_to_decide(0.1, np.nan)[()])


def _rows(drop: float, n: int, design: str, sd: float = 0.02, seed: int = 0) -> pd.DataFrame:
    """dp, wm and dp+wm rows of one config each, n seeds, the pair's acc `drop` below dp alone."""
    rng = np.random.default_rng(seed)
    out = []
    for mechs, acc, wm in (("dp", 0.9, np.nan), ("wm", 0.95, 1.0), ("dp+wm", 0.9 - drop, 0.99)):
        for s in range(n):
            out.append({"experiment": "t", "trial_id": f"{mechs}{s}", "config_id": f"c-{mechs}", "seed": s,
                        "dataset": "digits", "model": "cnn4", "mechanisms": mechs, "status": "ok",
                        "acc": acc + rng.normal(0, sd), "wm.acc": wm + rng.normal(0, 0.005) if wm == wm else np.nan,
                        "seeds_design": design})
    return pd.DataFrame(out)


def test_the_report_decides_at_the_looks_level_and_says_why_a_cell_is_undecided() -> None:
    rows = _rows(0.075, 3, "3-10/1")
    eq = conflicts(rows).equivalence
    acc = eq[(eq["metric"] == "acc") & (eq["role"] == "verdict")].iloc[0]
    assert (acc["design"], acc["look"], acc["looks"]) == ("3-10/1", 1, 8)
    assert math.isclose(acc["level"], look_levels(SeedDesign(3, 10), ALPHA)[0])
    assert acc["verdict"] == "inconclusive" and acc["seeds_to_decide"] >= 3
    assert "at look 1 of 8" in acc["reason"] and "seeds each would decide it" in acc["reason"]
    plan = undecided(rows)
    assert list(plan["config_id"]) == ["c-dp+wm"] and int(plan["next_n"].iloc[0]) == 4
    fixed = conflicts(rows.assign(seeds_design="")).equivalence
    assert (fixed["level"] == ALPHA).all() and undecided(rows.assign(seeds_design="")).empty
    # the same rows decided at alpha when the design is fixed: p below 0.05 but above the first look's level
    fixed_acc = fixed[(fixed["metric"] == "acc") & (fixed["role"] == "verdict")].iloc[0]
    assert fixed_acc["p_no_conflict"] == acc["p_no_conflict"]


def test_a_decided_cell_needs_no_more_seeds() -> None:
    rows = _rows(0.0, 3, "3-10/1", sd=0.002)
    assert conflicts(rows).configs["verdict"].tolist() == ["no conflict"]
    assert undecided(rows).empty
    at_max = _rows(0.075, 10, "3-10/1", sd=0.05, seed=1)
    assert conflicts(at_max).configs["verdict"].tolist() == ["inconclusive"]
    assert undecided(at_max).empty  # its design allows no further look


def test_the_report_shows_the_looks_and_what_an_undecided_cell_would_need(tmp_path: Path) -> None:
    from analysis import write_report

    rows = _rows(0.075, 3, "3-10/1")
    extra = _rows(0.075, 4, "3-10/1").query("seed == 3 and mechanisms != 'wm'").assign(
        look=1, look_reason="look 1: dp+wm c-dp+wm undecided at 3 seeds: acc drop 0.075 vs 0.1 (dp)")
    both = pd.concat([rows.assign(look=0, look_reason=""), extra], ignore_index=True)
    out = tmp_path / "report"
    write_report(both, out)
    text = (out / "report.md").read_text()
    section = text.split("## Seeds and looks", 1)[1].split("\n## ", 1)[0]
    assert ("| c-dp+wm | 3-10/1 | 4 | 2 of 8 | inconclusive | undecided at 3 seeds: acc drop 0.075 vs 0.1 (dp) |"
            in section)
    assert "acc: drop" in section and "seeds each would decide it" in section
    eq = pd.read_csv(out / "equivalence.csv")
    assert {"design", "look", "looks", "level", "seeds_to_decide"} <= set(eq.columns)
    plain = tmp_path / "plain"
    write_report(rows.assign(seeds_design=""), plain)
    assert "## Seeds and looks" not in (plain / "report.md").read_text()  # a fixed design has no looks to show


def test_a_sequential_cell_is_compared_with_the_baseline_seeds_it_ran_with() -> None:
    """A shared baseline that another cell's looks extend (dp seed 2 here) must not test this cell again: under
    a sequential design a cell sees only the baseline rows of its own seeds; a fixed design pools them all."""
    rows = _rows(0.075, 3, "3-10/1")
    grown = pd.concat([rows, _rows(0.075, 4, "3-10/1").query("seed == 3 and mechanisms == 'dp'")], ignore_index=True)
    eq = conflicts(grown).equivalence
    acc = eq[(eq["metric"] == "acc") & (eq["role"] == "verdict")].iloc[0]
    assert (acc["n"], acc["n_baseline"]) == (3, 3)
    assert acc["p_no_conflict"] == conflicts(rows).equivalence.query("metric == 'acc' and role == 'verdict'").iloc[0][
        "p_no_conflict"]
    fixed = conflicts(grown.assign(seeds_design="")).equivalence
    assert fixed.query("metric == 'acc' and role == 'verdict'").iloc[0]["n_baseline"] == 4
