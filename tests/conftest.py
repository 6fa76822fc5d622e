"""Shared fixtures: the offline datasets in ../shared/datasets, when this checkout has them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The read-only offline MNIST / Fashion-MNIST copies (our IDX reader never writes next to them)."""
    root = Path(os.environ.get("EXPLORER_TEST_DATA", SHARED_DATASETS))
    if not (root / "MNIST" / "raw").is_dir():
        pytest.skip(f"offline datasets not found at {root} (set EXPLORER_TEST_DATA to a folder holding MNIST/raw)")
    return root
