"""The one user-facing error of the package."""

from __future__ import annotations

from typing import Any

__all__ = ["SpaceError", "show"]

_MAX_VALUE_CHARS = 80


def show(value: Any) -> str:
    """A short one-line ``repr`` of a user value for error messages."""
    text = repr(value)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 3] + "..."
    return text.replace("\n", "\\n").replace("\r", "\\r")


def _one_line(text: str) -> str:
    return " ".join(str(text).splitlines()) if ("\n" in str(text) or "\r" in str(text)) else str(text)


class SpaceError(ValueError):
    """A search space is invalid. ``str(err)`` is one line: ``FILE:LINE: KEY: got VALUE, expected ALLOWED``.

    The parts are kept as attributes (``source``, ``line``, ``key``, ``value``, ``allowed``); ``line`` is
    ``None`` when unknown (a space built in code) and ``value`` is the already formatted text.
    """

    def __init__(self, source: str, line: int | None, key: str, value: str, allowed: str) -> None:
        self.source, self.line, self.key, self.value, self.allowed = source, line, key, value, allowed
        where = f"{source}:{line}" if line is not None else source
        super().__init__(_one_line(f"{where}: {key}: got {value}, expected {allowed}"))
