"""`explorer status OUT` from the rows alone: counts, means, and the looks of a sequential seed design."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd

from explorer.status import summarise


def _row(mechanisms: str, config_id: str, seed: int, look: int | None, reason: str = "",
         design: str | None = "2-4/1") -> dict[str, object]:
    t = datetime(2026, 12, 6, 5, seed, tzinfo=timezone.utc)
    return {"trial_id": f"{config_id}-{seed}", "config_id": config_id, "seed": seed, "dataset": "digits",
            "mechanisms": mechanisms, "status": "ok", "error": None, "node": "vm", "start_time": t, "end_time": t,
            "acc": 0.9, "seeds_design": design, "look": look, "look_reason": reason}


def test_status_names_the_cells_that_got_more_seeds_and_why() -> None:
    why = "look 1: dp+wm c2 undecided at 2 seeds: acc drop 0.065 vs 0.1 (dp): neither test significant"
    rows = pd.DataFrame([_row("dp", "b1", s, 0) for s in range(2)] + [_row("dp+wm", "c1", s, 0) for s in range(2)]
                        + [_row("dp+wm", "c2", s, 0) for s in range(2)]
                        + [_row("dp+wm", "c2", 2, 1, why), _row("dp", "b1", 2, 1, "look 1: baseline of " + why[8:])])
    text = summarise(rows)
    assert "sequential seeds: looks added 2 trial(s), 1 to 1 undecided cell(s) and 1 to their baselines:" in text
    assert "dp+wm c2 (digits, design 2-4/1): 3 seeds after look 1, which ran because it was undecided at 2 seeds: " \
           "acc drop 0.065" in text
    assert "c1" not in text.split("sequential seeds")[1]  # decided at its first seeds: not listed


def test_status_of_a_sequential_search_with_no_look_yet_and_of_a_fixed_one() -> None:
    first = pd.DataFrame([_row("dp+wm", "c1", s, 0) for s in range(2)])
    assert "every cell so far decided at its first seeds" in summarise(first)
    fixed = pd.DataFrame([_row("dp+wm", "c1", s, None, design=None) for s in range(3)])
    assert "sequential" not in summarise(fixed)
