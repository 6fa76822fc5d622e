"""An on-disk cache of plain tensors, keyed by everything that determines them.

Several trials on one machine may ask for the same entry at once: the first takes an exclusive lock on
the entry's lock file and computes it; the others wait on the lock and then read what it wrote. Entries
are written to a temporary file and renamed into place, so a reader never sees half a file. Files are
``torch.save`` of a dict of tensors and are read back with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import torch

from explorer_core import store

__all__ = ["cache_dir", "digest", "tensor_digest", "file_digest", "cached"]

Entry = dict[str, torch.Tensor]


def cache_dir() -> Path:
    """``$EXPLORER_CACHE_DIR``, else ``~/.cache/explorer``."""
    return Path(os.environ.get("EXPLORER_CACHE_DIR") or Path.home() / ".cache" / "explorer").expanduser()


def digest(parts: dict[str, Any]) -> str:
    """A stable hex key of a JSON-serialisable mapping."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def tensor_digest(*tensors: torch.Tensor) -> str:
    """sha256 of the tensors' dtypes, shapes and bytes."""
    h = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # no advisory locks here: concurrent trials may compute twice, writes stay atomic
        yield
        return
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read(path: Path) -> Entry | None:
    if not path.is_file():
        return None
    try:
        value = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - a damaged entry is recomputed and replaced
        return None
    return value if isinstance(value, dict) else None


def _write(path: Path, value: Entry) -> None:
    store.write_atomically(path, lambda tmp: torch.save(value, tmp))


def cached(kind: str, key: str, compute: Callable[[], Entry]) -> tuple[Entry, bool]:
    """The entry ``kind/key``, computed (once per machine) if absent; returns (entry, whether it was a hit).

    An unwritable cache directory is not an error: the entry is computed and not stored.
    """
    folder = cache_dir() / kind
    path = folder / f"{key}.pt"
    value = _read(path)
    if value is not None:
        return value, True
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return compute(), False
    with _locked(folder / f"{key}.lock"):
        value = _read(path)  # another trial may have written it while we waited for the lock
        if value is not None:
            return value, True
        value = {k: v.detach().cpu() for k, v in compute().items()}
        try:
            _write(path, value)
        except OSError:
            pass
        return value, False
