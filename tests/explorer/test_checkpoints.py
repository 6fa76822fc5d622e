"""Finished trials' checkpoints: retired when a trial completes, swept once Tune has saved its final state."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from pyarrow.fs import LocalFileSystem

from explorer.tune.checkpoints import MARKER, is_retired, retire, sweep


def _trial(root: Path, trial_id: str, epochs: int) -> SimpleNamespace:
    folder = root / trial_id
    for i in range(epochs):
        (folder / f"checkpoint_{i:06d}").mkdir(parents=True)
        (folder / f"checkpoint_{i:06d}" / "state.pt").write_bytes(b"weights" * 100)
    (folder / "result.json").write_text("{}")
    return SimpleNamespace(trial_id=trial_id, storage=SimpleNamespace(storage_filesystem=LocalFileSystem(),
                                                                      trial_fs_path=str(folder)))


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("keep_last", [False, True])
def test_retire_marks_every_checkpoint_then_sweep_removes_them(tmp_path: Path, keep_last: bool) -> None:
    done, running = _trial(tmp_path, "a_00000", 3), _trial(tmp_path, "a_00001", 2)
    assert retire(done, keep_last=keep_last) == (2 if keep_last else 3)
    folders = sorted((tmp_path / "a_00000").glob("checkpoint_*"))
    assert all(is_retired(f) for f in folders) and not any(is_retired(f) for f in (tmp_path / "a_00001").iterdir())
    weights = [f.name for f in folders if (f / "state.pt").exists()]
    assert weights == (["checkpoint_000002"] if keep_last else [])  # a resumed trial would read its row instead

    assert sweep(LocalFileSystem(), str(tmp_path), keep_last=keep_last) == (2 if keep_last else 3)
    kept = {"a_00000/checkpoint_000002/state.pt"} if keep_last else set()
    running_files = {f"a_00001/checkpoint_{i:06d}/state.pt" for i in range(2)}  # not finished: untouched
    assert _files(tmp_path) == {"a_00000/result.json", "a_00001/result.json", *running_files, *kept}
    assert sweep(LocalFileSystem(), str(tmp_path), keep_last=keep_last) == 0  # nothing left to sweep


def test_sweep_keeps_no_empty_folder_when_the_weights_were_not_kept(tmp_path: Path) -> None:
    """Retired without keeping (the run that started the experiment), swept with --keep-checkpoints (a resume)."""
    retire(_trial(tmp_path, "b_00000", 2), keep_last=False)
    assert sweep(LocalFileSystem(), str(tmp_path), keep_last=True) == 2
    assert _files(tmp_path) == {"b_00000/result.json"} and not list(tmp_path.rglob("checkpoint_*"))


def test_clean_up_without_storage_or_on_a_missing_folder_does_nothing(tmp_path: Path) -> None:
    assert retire(SimpleNamespace(trial_id="x"), keep_last=False) == 0
    assert sweep(LocalFileSystem(), str(tmp_path / "missing"), keep_last=False) == 0
    assert not (tmp_path / "missing").exists() and MARKER.endswith(".json")
