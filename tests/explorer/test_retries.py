"""Trials retried after a failure, without Ray: each attempt's node in the trial's attempts file, the cause the
driver records when Tune retries it, the row's `retries` / `nodes` / `retry_causes`, the progress line, the
search's final summary and `explorer status`. The real thing (a worker node's raylet SIGKILLed during a trial) is
tests/explorer/test_node_loss.py."""

from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pyarrow.fs as pafs
import pytest

from explorer.outcome import session_outcome
from explorer.status import summarise
from explorer.tune.progress import (ATTEMPTS, NODE_LOST, Progress, attempt_columns, end_attempt, failure_cause,
                                    read_attempts, start_attempt, write_error_row)

A, B = "a" * 56, "b" * 56  # Ray node ids


def _storage(folder: Path) -> SimpleNamespace:
    """What Tune's StorageContext offers a trial: a pyarrow filesystem and the trial's folder on it."""
    return SimpleNamespace(storage_filesystem=pafs.LocalFileSystem(), trial_fs_path=str(folder))


def _trial(folder: Path, error: str | None = None, trial_id: str = "t_00000") -> SimpleNamespace:
    error_file = None
    if error is not None:
        error_file = folder / "error.txt"
        error_file.write_text(f"Failure # 1 (occurred at 2026-12-06_05-41-55)\n{error}\n")
    return SimpleNamespace(trial_id=trial_id, storage=_storage(folder),
                           error_file=str(error_file) if error_file else None,
                           config={"trial": {"mechanisms": ["wm"], "dataset": "synthetic", "model": "tiny",
                                             "train.epochs": 3}},
                           last_result={"epoch": 2, "hostname": "vm", "node_id": A})


def test_attempts_record_each_node_and_why_tune_retried(tmp_path: Path) -> None:
    storage = _storage(tmp_path)
    assert read_attempts(storage) == [] and attempt_columns([]) == {"retries": 0, "nodes": "[]",
                                                                    "retry_causes": "[]"}
    start_attempt(storage, A, "vm")
    end_attempt(_trial(tmp_path), NODE_LOST)  # the driver, when Tune retries the trial
    attempts = start_attempt(storage, B, "vm")  # the retry, on another node
    assert attempts == [{"node": A, "host": "vm", "ended": NODE_LOST}, {"node": B, "host": "vm"}]
    assert read_attempts(storage) == attempts
    assert attempt_columns(attempts) == {"retries": 1, "nodes": json.dumps([A, B]),
                                         "retry_causes": json.dumps([NODE_LOST])}
    # a resumed search (the driver was killed) starts a new attempt that is not a retry after a failure
    assert attempt_columns(start_attempt(storage, B, "vm"))["retries"] == 1


def test_an_attempt_that_failed_before_it_recorded_itself_still_counts(tmp_path: Path) -> None:
    storage = _storage(tmp_path)
    start_attempt(storage, A, "vm")
    end_attempt(_trial(tmp_path), "ValueError: one")
    end_attempt(_trial(tmp_path), "ValueError: two")  # the retry died before it could start its attempt
    columns = attempt_columns(start_attempt(storage, B, "vm"))
    assert columns["retries"] == 2 and json.loads(columns["nodes"]) == [A, B]
    assert json.loads(columns["retry_causes"]) == ["ValueError: one", "ValueError: two"]


@pytest.mark.parametrize("text", ["not json", "{\"a\": 1}", "[1, 2]"])
def test_an_unreadable_attempts_file_reads_as_none(tmp_path: Path, text: str) -> None:
    (tmp_path / ATTEMPTS).write_text(text)
    assert read_attempts(_storage(tmp_path)) == []


def test_an_attempts_file_that_cannot_be_written_is_logged_not_raised(tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "file").write_text("x")
    attempts = start_attempt(_storage(tmp_path / "file" / "trial"), A, "vm")  # its parent is a file
    assert attempts == [{"node": A, "host": "vm"}] and "could not record the attempts" in caplog.text


def test_the_cause_is_node_lost_when_ray_says_the_node_died(tmp_path: Path) -> None:
    died = ("ray.exceptions.ActorDiedError: The actor died unexpectedly before finishing this task.\n"
            "\tclass_name: ImplicitFunc\nThe actor died because its node has died. Node Id: " + A)
    assert failure_cause(_trial(tmp_path, died)) == NODE_LOST
    assert failure_cause(_trial(tmp_path, "ValueError: boom")) == "ValueError: boom"


def _listening() -> socket.socket:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


def test_the_cause_is_node_lost_when_the_nodes_raylet_does_not_answer(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Right after a raylet dies Ray still lists its node alive and the trial fails with 'Socket closed': the
    driver asks the raylet's port itself."""
    import ray

    unavailable = ("ray.exceptions.ActorUnavailableError: The actor 17 is unavailable: The actor is temporarily "
                   "unavailable: RpcError: RPC error: Socket closed rpc_code: 14.")
    start_attempt(_storage(tmp_path), A, "vm")
    with _listening() as alive, _listening() as gone:
        dead_port = gone.getsockname()[1]
        gone.close()
        for port, cause in ((alive.getsockname()[1], unavailable), (dead_port, NODE_LOST)):
            nodes = [{"NodeID": A, "Alive": True, "NodeManagerAddress": "127.0.0.1", "NodeManagerPort": port}]
            monkeypatch.setattr(ray, "nodes", lambda nodes=nodes: nodes)
            assert failure_cause(_trial(tmp_path, unavailable)) == cause
        monkeypatch.setattr(ray, "nodes", lambda: [{"NodeID": A, "Alive": False}])
        assert failure_cause(_trial(tmp_path, unavailable)) == NODE_LOST
        monkeypatch.setattr(ray, "nodes", lambda: [])  # a node Ray does not know: the text decides
        assert failure_cause(_trial(tmp_path, unavailable)) != NODE_LOST


def test_the_progress_line_counts_retried_trials_with_their_cause(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(total=3, out=str(tmp_path / "out"), objectives={"acc": "max"},
                        feasible=lambda rows, objectives: None, verbose=True)
    first, second = tmp_path / "t0", tmp_path / "t1"
    first.mkdir()
    second.mkdir()
    start_attempt(_storage(first), A, "vm")
    start_attempt(_storage(second), A, "vm")
    progress.on_trial_start(0, [], _trial(first))
    progress.on_trial_recover(0, [], _trial(first, "The actor died because its node has died."))
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "0/3 done, 0 running, 0 errored, 1 trial retried after a failure (node lost) |" in line, line
    assert read_attempts(_storage(first))[-1]["ended"] == NODE_LOST  # the retry reads it
    progress.on_trial_recover(0, [], _trial(second, "ValueError: boom", trial_id="t_00001"))
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "2 trials retried after a failure (ValueError: boom; node lost) |" in line, line


def test_the_error_row_of_a_retried_trial_has_its_retries_and_nodes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    start_attempt(_storage(tmp_path), A, "vm")
    end_attempt(_trial(tmp_path), NODE_LOST)
    start_attempt(_storage(tmp_path), B, "vm")
    progress = Progress(total=1, out=str(out), objectives={"acc": "max"}, feasible=lambda rows, objectives: None,
                        verbose=False)
    progress.on_trial_error(0, [], _trial(tmp_path, "ValueError: boom"))
    row = pd.read_parquet(out / "rows").iloc[0]
    assert (row["status"], row["error"], row["retries"]) == ("error", "ValueError: boom", 1)
    assert json.loads(row["nodes"]) == [A, B] and json.loads(row["retry_causes"]) == [NODE_LOST]
    # an errored trial whose attempts the driver never saw: retries unknown, not 0
    write_error_row(str(out), _trial(tmp_path).config, "t_00009", "ValueError: late", {"node_id": A})
    late = pd.read_parquet(out / "rows" / "part-t_00009.parquet").iloc[0]
    assert pd.isna(late["retries"]) and late["node_id"] == A


T0 = datetime(2026, 12, 6, 5, tzinfo=timezone.utc)


def _row(trial: str, retries: int | None, nodes: list[str], causes: list[str], t: int = 1) -> dict[str, object]:
    end = T0 + timedelta(seconds=t)
    return {"trial_id": trial, "config_id": "c", "seed": 0, "dataset": "digits", "mechanisms": "wm", "status": "ok",
            "error": None, "node": "vm", "node_id": nodes[-1] if nodes else None, "start_time": T0, "end_time": end,
            "acc": 0.9, "retries": retries, "nodes": json.dumps(nodes) if nodes else None,
            "retry_causes": json.dumps(causes)}


def test_the_search_summary_says_how_many_trials_were_retried_and_why() -> None:
    rows = pd.DataFrame([_row("t0", 1, [A, B], [NODE_LOST]), _row("t1", 0, [B], []),
                         _row("t2", 2, [A, A, B], [NODE_LOST, "ValueError: boom"]),
                         _row("old", 1, [A, B], [NODE_LOST], t=-60)])  # ended before this session
    outcome = session_outcome(rows, since=T0)
    assert (outcome.ran, outcome.retried) == (3, 2)
    assert outcome.retried_line() == "2 trials retried after a failure (node lost x2; ValueError: boom)"
    assert session_outcome(pd.DataFrame([_row("t1", 0, [B], [])]), since=T0).retried_line() is None
    long = "RuntimeError: " + "x" * 300
    line = session_outcome(pd.DataFrame([_row("t0", 1, [A, B], [long])]), since=T0).retried_line()
    assert line is not None and line.endswith("x...)") and len(line) < 160  # the row keeps it whole


def test_status_lists_the_ray_nodes_and_the_retried_trials() -> None:
    rows = pd.DataFrame([_row("t0", 1, [A, B], [NODE_LOST]), _row("t1", 0, [B], []), _row("t2", 0, [B], [])])
    lines = summarise(rows).splitlines()
    assert lines[0].endswith("nodes: vm")
    assert lines[1] == f"Ray nodes (trials that ran there): {B} (3), {A} (1)"
    assert lines[2] == f"1 trial retried after a failure (node lost): t0 on {A} then {B}"
    # rows written before `nodes` existed: each trial's node_id
    old = rows.drop(columns=["nodes", "retries", "retry_causes"])
    assert summarise(old).splitlines()[1] == f"Ray nodes (trials that ran there): {B} (3)"
    assert "Ray nodes" not in summarise(old.drop(columns=["node_id"]))
