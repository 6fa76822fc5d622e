"""How a search ended, from the rows its trials wrote: how many ran, how many errored and with which errors, how
many were retried after a failure and why.

``explorer search`` exits 1 when every trial it ran errored (and prints the distinct errors), 130 when it was
interrupted (:class:`SearchInterrupted`), else 0. Needs pandas only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

__all__ = ["SearchInterrupted", "SearchOutcome", "session_outcome", "retried_text"]

#: Characters of a retry's cause shown in a line (the rows keep it whole).
CAUSE_CHARS = 100


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
    retried: int = 0  # trials that Tune retried after a failure (a lost node, an error) before they ended
    retry_causes: tuple[str, ...] = ()  # the cause of each of their retries

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

    def retried_line(self) -> str | None:
        """``1 trial retried after a failure (node lost)``; None when no trial was retried."""
        return retried_text(self.retried, list(self.retry_causes)) if self.retried else None


def retried_text(trials: int, causes: Iterable[str]) -> str:
    """``2 trials retried after a failure (node lost x2; ValueError: boom)``: the trials, then each distinct cause
    of their retries, most frequent first, with its count when above one."""
    counts = Counter(cause if len(cause) <= CAUSE_CHARS else cause[:CAUSE_CHARS - 3] + "..." for cause in causes)
    why = "; ".join(f"{cause} x{n}" if n > 1 else cause
                    for cause, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    return f"{trials} trial{'' if trials == 1 else 's'} retried after a failure ({why or 'cause not recorded'})"


def _causes(text: Any) -> list[str]:
    """The ``retry_causes`` of a row (a JSON list of strings)."""
    import json

    try:
        causes = json.loads(text) if isinstance(text, str) and text else []
    except ValueError:
        return []
    return [str(c) for c in causes] if isinstance(causes, list) else []


def session_outcome(rows: Any, since: datetime) -> SearchOutcome:
    """The outcome of the rows (a pandas DataFrame in the row schema) that ended at or after ``since``."""
    if rows is None or len(rows) == 0 or "end_time" not in rows.columns:
        return SearchOutcome()
    mine = rows[rows["end_time"] >= since]
    failed = mine[mine["status"] == "error"]
    counts = Counter(str(m) for m in failed["error"].fillna("(no message)"))
    retried, causes = 0, []
    if "retries" in mine.columns:
        again = mine[(mine["retries"].fillna(0).astype(int) > 0).to_numpy(dtype=bool)]
        retried = len(again)
        if "retry_causes" in again.columns:
            causes = [c for text in again["retry_causes"] for c in _causes(text)]
    return SearchOutcome(ran=len(mine), errored=len(failed),
                         errors=tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0]))),
                         retried=retried, retry_causes=tuple(causes))
