"""Shared fixtures: the offline datasets in ../shared/datasets, when this checkout has them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Radioactive marks go to a per-session cache, never to the user's ~/.cache/explorer."""
    old = os.environ.get("EXPLORER_CACHE_DIR")
    os.environ["EXPLORER_CACHE_DIR"] = str(tmp_path_factory.mktemp("explorer-cache"))
    yield
    if old is None:
        os.environ.pop("EXPLORER_CACHE_DIR", None)
    else:
        os.environ["EXPLORER_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def shared_datasets_root() -> Path:
    """Where the offline datasets would be (it may be missing, or hold only some of them)."""
    return Path(os.environ.get("EXPLORER_TEST_DATA", SHARED_DATASETS))


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The read-only offline MNIST / Fashion-MNIST copies (our IDX reader never writes next to them)."""
    root = Path(os.environ.get("EXPLORER_TEST_DATA", SHARED_DATASETS))
    if not (root / "MNIST" / "raw").is_dir():
        pytest.skip(f"offline datasets not found at {root} (set EXPLORER_TEST_DATA to a folder holding MNIST/raw)")
    return root


def kill_ray_processes(root: Path | str) -> None:
    """SIGKILL every process of the Ray runtime whose RAY_TMPDIR is ``root``, and only those.

    Ray renames its helpers (``ray::DashboardAgent``) over their command line and environment, so a
    process counts as ours when its command line, its environment or one of its open files names ``root``.
    """
    import signal

    root = str(root)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            ours = root.encode() in (proc / "cmdline").read_bytes() or f"RAY_TMPDIR={root}".encode() in (
                proc / "environ").read_bytes()
            if not ours:
                ours = any(os.readlink(fd).startswith(root) for fd in (proc / "fd").iterdir())
            if ours:
                os.kill(int(proc.name), signal.SIGKILL)
        except OSError:
            continue


@pytest.fixture
def ray_tmp(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A short private RAY_TMPDIR (socket paths must stay under 107 bytes); its Ray processes die afterwards."""
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.setenv("RAY_TMPDIR", str(root))
    yield root
    kill_ray_processes(root)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def kill_ray():  # type: ignore[no-untyped-def]
    """:func:`kill_ray_processes`, for tests that stop a Ray runtime mid-way."""
    return kill_ray_processes
