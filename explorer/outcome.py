"""How a search ended, from the rows its trials wrote: how many ran, how many errored and with which errors.

``explorer search`` exits 1 when every trial it ran errored (and prints the distinct errors), 130 when it was
interrupted (:class:`SearchInterrupted`), else 0. Needs pandas only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["SearchInterrupted", "SearchOutcome", "session_outcome"]


class SearchInterrupted(Exception):
    """A search phase ended with trials unfinished (Ctrl-C / SIGINT: Tune saved its state and returned).

    The later phases do not start; ``--resume`` continues where it stopped."""

    def __init__(self, phase: str, unfinished: int, total: int) -> None:
        super().__init__(f"{phase}: {unfinished} of {total} trials unfinished")
        self.phase, self.unfinished, self.total = phase, unfinished, total


@dataclass(frozen=True)
class SearchOutcome:
    """The trials that ended during one ``explorer search`` command."""

    ran: int = 0
    errored: int = 0
    errors: tuple[tuple[str, int], ...] = ()  # (message, trials), most frequent first

    @property
    def all_failed(self) -> bool:
        return self.ran > 0 and self.errored == self.ran

    def summary(self, limit: int = 5) -> list[str]:
        """One line per distinct error message, with its count; the rarest beyond ``limit`` are counted."""
        lines = [f"  {n} x {message}" for message, n in self.errors[:limit]]
        rest = self.errors[limit:]
        if rest:
            lines.append(f"  ... and {len(rest)} more distinct errors ({sum(n for _, n in rest)} trials)")
        return lines


def session_outcome(rows: Any, since: datetime) -> SearchOutcome:
    """The outcome of the rows (a pandas DataFrame in the row schema) that ended at or after ``since``."""
    if rows is None or len(rows) == 0 or "end_time" not in rows.columns:
        return SearchOutcome()
    mine = rows[rows["end_time"] >= since]
    failed = mine[mine["status"] == "error"]
    counts = Counter(str(m) for m in failed["error"].fillna("(no message)"))
    return SearchOutcome(ran=len(mine), errored=len(failed),
                         errors=tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0]))))
