"""The one error root of the project: :class:`UserError`, a mistake in what the user gave (a knob, a space, a
results folder), raised as one line and turned by every command into that line on stderr and exit code 2.
Anything else that escapes is a bug or a failure of the machine, and is reported as such."""

from __future__ import annotations

from typing import Any

__all__ = ["UserError", "ConfigError", "SpaceError", "fail", "show"]

_MAX_VALUE_CHARS = 80
_NO_VALUE = object()


def show(value: Any) -> str:
    """A short one-line ``repr`` of a user value for error messages."""
    text = repr(value)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 3] + "..."
    return text.replace("\n", "\\n").replace("\r", "\\r")


def _one_line(text: str) -> str:
    return " ".join(str(text).splitlines()) if ("\n" in str(text) or "\r" in str(text)) else str(text)


class UserError(ValueError):
    """The root of every user-facing error: ``str(err)`` is the one line a command prints before exiting 2."""


class ConfigError(UserError):
    """A user-facing configuration error, one line. Raised as ``ConfigError(key, value, allowed)`` it keeps
    the three as fields and reads ``KEY: got VALUE, expected ALLOWED``; ``ConfigError(message)`` (a problem
    not about one key) has ``key`` None."""

    def __init__(self, key: str, value: Any = _NO_VALUE, allowed: str | None = None) -> None:
        self.key: str | None = None
        self.value: Any = None
        self.allowed: str | None = None
        if allowed is None or value is _NO_VALUE:
            super().__init__(key)
            return
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key}: got {value!r}, expected {allowed}")

    def __reduce__(self) -> tuple[Any, ...]:
        if self.key is None:
            return (type(self), (str(self),))
        return (type(self), (self.key, self.value, self.allowed))


def fail(key: str, value: Any, allowed: str) -> ConfigError:
    """The error for ``key`` holding ``value`` where ``allowed`` was expected (raise it)."""
    return ConfigError(key, value, allowed)


class SpaceError(UserError):
    """A search space is invalid. ``str(err)`` is one line: ``FILE:LINE: KEY: got VALUE, expected ALLOWED``.

    The parts are kept as attributes (``source``, ``line``, ``key``, ``value``, ``allowed``); ``line`` is
    ``None`` when unknown (a space built in code) and ``value`` is the already formatted text.
    """

    def __init__(self, source: str, line: int | None, key: str, value: str, allowed: str) -> None:
        self.source, self.line, self.key, self.value, self.allowed = source, line, key, value, allowed
        where = f"{source}:{line}" if line is not None else source
        super().__init__(_one_line(f"{where}: {key}: got {value}, expected {allowed}"))
