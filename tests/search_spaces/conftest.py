"""Shared fixtures for the search_spaces tests (``--import-mode=importlib``: no helper imports)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
#: FILE[:LINE]: KEY: got VALUE, expected ALLOWED
ERROR_LINE = re.compile(r"[^\n]+?(:\d+)?: [^\n]+?: got [^\n]*, expected [^\n]+")


def _check(message: str) -> None:
    assert "\n" not in message and "\r" not in message, message
    assert "Traceback" not in message
    assert ERROR_LINE.fullmatch(message), message


@pytest.fixture
def small() -> str:
    """A small valid grid space on digits (tests/search_spaces/data/small.yaml)."""
    return (HERE / "data" / "small.yaml").read_text()


@pytest.fixture
def one_line() -> Callable[[str], None]:
    """Assert that an error message is one ``FILE:LINE: KEY: got V, expected A`` line."""
    return _check
