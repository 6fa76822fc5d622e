"""The one row store: where a search's rows live and how they are written and read, for the driver, ``explorer
status`` and :func:`analysis.load` alike.

A location is a local path or any URI pyarrow opens (``file://``, ``s3://BUCKET/KEY?endpoint_override=...``,
``gs://``). Rows are Parquet part files, one per trial, under ``OUT/rows/`` (:data:`ROWS_DIR`); each is written
atomically (a temporary name and a rename locally, one PUT on an object store), so a reader never sees half a
file. Files and folders whose names start with ``.`` or ``_`` are not rows (temporary files, markers). Needs
pyarrow only (no torch, no ray); errors are pyarrow's (``OSError``, ``ValueError``, ``pyarrow.ArrowException``),
which each caller turns into its one-line message.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

__all__ = ["ROWS_DIR", "resolve", "part_files", "write_table", "write_atomically", "read_file", "read_rows"]

ROWS_DIR = "rows"


def resolve(path_or_uri: str | os.PathLike[str]) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem and path of a local path (made absolute) or a URI."""
    text = str(path_or_uri)
    if "://" in text:
        return pafs.FileSystem.from_uri(text)
    return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(text))


def part_files(fs: pafs.FileSystem, root: str) -> list[str]:
    """Every ``*.parquet`` file under ``root``, sorted, none inside or named like a hidden or marker entry."""
    keep = []
    for info in fs.get_file_info(pafs.FileSelector(root, recursive=True)):
        relative = info.path[len(root):].strip("/").split("/")
        if info.type == pafs.FileType.File and info.base_name.endswith(".parquet") \
                and not any(part.startswith((".", "_")) for part in relative):
            keep.append(info.path)
    return sorted(keep)


def write_table(table: pa.Table, path_or_uri: str | os.PathLike[str]) -> str:
    """Write one Parquet file atomically (its folder made first); returns its path on the filesystem."""
    fs, path = resolve(path_or_uri)
    parent = path.rsplit("/", 1)[0]
    fs.create_dir(parent, recursive=True)
    if isinstance(fs, pafs.LocalFileSystem):
        write_atomically(Path(path), lambda tmp: pq.write_table(table, tmp))
    else:
        pq.write_table(table, path, filesystem=fs)
    return path


def write_atomically(path: Path, write: Callable[[str], object]) -> None:
    """Call ``write`` on a hidden temporary file beside ``path``, then rename it onto ``path``: a reader sees the
    old file or the new one, never part of one (a local file; an object store's PUT is atomic itself)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_file(path_or_uri: str | os.PathLike[str]) -> pa.Table | None:
    """One Parquet file; None when there is no such file."""
    fs, path = resolve(path_or_uri)
    if fs.get_file_info(path).type != pafs.FileType.File:
        return None
    return pq.read_table(path, filesystem=fs)


def read_rows(path_or_uri: str | os.PathLike[str], columns: list[str] | tuple[str, ...] | None = None) -> pa.Table:
    """Every row of a search: the part files under ``OUT/rows`` when there is such a folder, else those under the
    folder itself, else the one file (a file that is not Parquet is skipped); only ``columns`` (those the files
    have) when given. ``FileNotFoundError`` when there is nothing at the location."""
    fs, base = resolve(path_or_uri)
    info = fs.get_file_info(base)
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"nothing at {path_or_uri}")
    if info.type == pafs.FileType.File:
        target: str | list[str] = base
    else:
        sub = f"{base}/{ROWS_DIR}"
        target = part_files(fs, sub if fs.get_file_info(sub).type == pafs.FileType.Directory else base)
    dataset = ds.dataset(target, filesystem=fs, format="parquet", exclude_invalid_files=True)  # a torn file: skipped
    names = None if columns is None else [c for c in columns if c in dataset.schema.names]
    return dataset.to_table(columns=names)
