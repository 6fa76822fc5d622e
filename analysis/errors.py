"""The one exception type that `analysis` raises for bad user input, a branch of the project's error root."""

from __future__ import annotations

from explorer_core.errors import UserError

__all__ = ["AnalysisInputError"]


class AnalysisInputError(UserError):
    """Bad input (path, column, threshold, objective): a one-line message naming it and what is expected."""
