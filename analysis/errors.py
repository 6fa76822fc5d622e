"""The one exception type that `analysis` raises for bad user input."""

from __future__ import annotations

__all__ = ["AnalysisInputError"]


class AnalysisInputError(ValueError):
    """Bad input (path, column, threshold, objective): a one-line message naming it and what is expected."""
