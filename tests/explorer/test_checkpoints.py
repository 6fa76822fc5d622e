"""Finished trials' checkpoints: retired when a trial completes, swept once Tune has saved its final state."""

from __future__ import annotations

import json
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
    done = _trial(tmp_path, "a_00000", 3)
    _trial(tmp_path, "a_00001", 2)  # not finished: never retired
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


def _mark_running(experiment: Path, trial_id: str) -> None:
    """What a driver SIGKILLed between a trial's end and Tune's next state snapshot leaves: the saved state
    still lists the trial as running (from its last checkpoint), though its row is written."""
    state_file = next(experiment.glob("experiment_state-*.json"))
    state = json.loads(state_file.read_text())
    for entry in state["trial_data"]:
        trial = json.loads(entry[0])
        if trial["trial_id"] == trial_id:
            trial["status"] = "RUNNING"
            entry[0] = json.dumps(trial)
    state_file.write_text(json.dumps(state))


@pytest.mark.slow  # two Ray searches, ~40 s: make test-slow
def test_a_resume_does_not_need_a_finished_trials_checkpoint_and_keeps_the_final_one(
        tmp_path: Path, ray_tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd
    import torch

    import explorer.tune.phases as phases
    from explorer.tune import SearchOptions, run_search

    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    out = tmp_path / "out"
    opts = dict(space_path=str(space), out=str(out), num_cpus=2, keep_checkpoints=True, heartbeat_s=0.5)
    with monkeypatch.context() as patch:
        patch.setattr(phases, "sweep", lambda *a, **k: 0)  # the state between a trial's end and Tune's final save
        assert run_search(SearchOptions(**opts)) == 0
    first = pd.read_parquet(out / "rows").set_index("trial_id")
    assert len(first) == 2 and (first["status"] == "ok").all()
    assert any(" | running: " in line for line in capsys.readouterr().err.splitlines())  # heartbeats
    experiment = next((out / "ray").glob("ckpt-*"))
    folders = sorted(experiment.glob("*/checkpoint_*"))
    assert len(folders) == 4 and all(is_retired(f) for f in folders)
    assert [f.name for f in folders if (f / "state.pt").exists()] == ["checkpoint_000001"] * 2

    again = first.index[0]
    _mark_running(experiment, again)
    assert run_search(SearchOptions(**opts, resume=True)) == 0
    rows = pd.read_parquet(out / "rows").set_index("trial_id")
    assert len(rows) == 2 and (rows["status"] == "ok").all()
    assert rows.loc[again, "end_time"] == first.loc[again, "end_time"]  # it read its row, it did not train again
    assert "2/2 done, 0 running, 0 errored" in capsys.readouterr().err
    kept = sorted(p.relative_to(experiment) for p in experiment.glob("*/checkpoint_*/*"))
    assert kept == sorted(Path(t, "checkpoint_000001", "state.pt") for t in rows.index), kept
    for path in kept:
        state = torch.load(experiment / path, weights_only=True)
        assert state["epochs_done"] == 2 and "network" in state


SPACE = """
name: ckpt
dataset: synthetic
model: tiny
data: {train_subset: 128, test_subset: 64}
training: {epochs: 2, batch_size: 32}
eval: {adv_samples: 16, steps: 2}
mechanisms: [[wm]]
wm: {trigger_size: 16}
seeds: 2
baselines: false
"""
