"""The outcome of one `explorer search` command, from the rows its trials wrote."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from explorer.outcome import SearchOutcome, session_outcome

T0 = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)


def _rows(*rows: tuple[str, str | None, int]) -> pd.DataFrame:
    return pd.DataFrame({"status": [s for s, _, _ in rows], "error": [e for _, e, _ in rows],
                         "end_time": pd.to_datetime([T0 + timedelta(seconds=t) for _, _, t in rows], utc=True)})


def test_only_rows_that_ended_in_this_session_count() -> None:
    rows = _rows(("error", "old failure", -5), ("ok", None, 1), ("error", "TrainingDiverged: nan", 2),
                 ("error", "TrainingDiverged: nan", 3), ("error", "DatasetMissing: x", 4))
    outcome = session_outcome(rows, since=T0)
    assert (outcome.ran, outcome.errored, outcome.all_failed) == (4, 3, False)
    assert outcome.errors == (("TrainingDiverged: nan", 2), ("DatasetMissing: x", 1))
    assert outcome.summary() == ["  2 x TrainingDiverged: nan", "  1 x DatasetMissing: x"]


def test_every_trial_failed_and_the_summary_is_bounded() -> None:
    rows = _rows(*[("error", f"error {i % 7}", i) for i in range(20)])
    outcome = session_outcome(rows, since=T0)
    assert outcome.all_failed and outcome.errored == 20 and len(outcome.errors) == 7
    lines = outcome.summary(limit=3)
    assert lines[:3] == ["  3 x error 0", "  3 x error 1", "  3 x error 2"]
    assert lines[3] == "  ... and 4 more distinct errors (11 trials)"


def test_no_rows_is_no_failure() -> None:
    assert session_outcome(pd.DataFrame(), since=T0) == SearchOutcome()
    assert not SearchOutcome().all_failed
    assert not session_outcome(_rows(("error", "x", -1)), since=T0).all_failed  # nothing ran in this session
