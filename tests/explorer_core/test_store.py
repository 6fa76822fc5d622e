"""The one row store (explorer_core.store): what the driver, explorer status and analysis.load all read and write."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from explorer_core import store


def _write(path: Path, **columns: list) -> None:
    store.write_table(pa.table(columns), path)


def test_rows_are_read_from_out_rows_a_folder_or_one_file(tmp_path: Path) -> None:
    _write(tmp_path / "out" / "rows" / "part-a.parquet", trial_id=["a"], acc=[0.5])
    _write(tmp_path / "out" / "rows" / "sub" / "part-b.parquet", trial_id=["b"], acc=[0.7], extra=[1])
    (tmp_path / "out" / "rows" / ".part-c.parquet.tmp").write_bytes(b"half a file")  # a write in progress
    _write(tmp_path / "out" / "rows" / "_markers" / "part-d.parquet", trial_id=["d"], acc=[0.1])
    (tmp_path / "out" / "rows" / "part-e.parquet").write_bytes(b"torn")  # not Parquet: skipped
    _write(tmp_path / "out" / "ray" / "not-a-row.parquet", trial_id=["x"], acc=[0.0])
    table = store.read_rows(tmp_path / "out")
    assert sorted(table.column("trial_id").to_pylist()) == ["a", "b"]
    assert store.read_rows(tmp_path / "out", ["acc", "missing"]).column_names == ["acc"]
    assert store.read_rows(tmp_path / "out" / "rows").num_rows == 2  # the rows folder itself
    assert store.read_rows(tmp_path / "out" / "rows" / "part-a.parquet").num_rows == 1  # one file
    with pytest.raises(FileNotFoundError):
        store.read_rows(tmp_path / "nowhere")


def test_a_file_is_written_whole_or_not_at_all_and_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "rows" / "part-a.parquet"
    _write(target, acc=[0.5])
    assert store.read_file(target).column("acc").to_pylist() == [0.5]  # type: ignore[union-attr]
    assert store.read_file(tmp_path / "rows" / "absent.parquet") is None

    def fail(*_: object, **__: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store.pq, "write_table", fail)
    with pytest.raises(OSError, match="disk full"):
        _write(target, acc=[0.9])
    assert store.read_file(target).column("acc").to_pylist() == [0.5]  # type: ignore[union-attr]
    assert [p.name for p in target.parent.iterdir()] == ["part-a.parquet"]  # no temporary file left


def test_paths_and_uris_resolve_to_one_filesystem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    fs, path = store.resolve("out/../out/rows")
    assert path == str(tmp_path / "out" / "rows") and type(fs).__name__ == "LocalFileSystem"
    fs, path = store.resolve(f"file://{tmp_path}/x")
    assert path == f"{tmp_path}/x"
