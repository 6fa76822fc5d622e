"""The progress line after a resume: Tuner.restore unpickles the callback of the killed run."""

from __future__ import annotations

import pickle
import re
import time
from types import SimpleNamespace

import pytest

from explorer.tune import _Progress


def _trial(trial_id: str, acc: float = 0.5) -> SimpleNamespace:
    return SimpleNamespace(trial_id=trial_id, config={"trial": {"mechanisms": ["wm"]}}, last_result={"acc": acc},
                           error_file=None)


def _no_best(rows: list, objectives: dict) -> None:
    return None


def _last_line(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_a_resumed_progress_keeps_what_ended_and_forgets_what_ran(capsys: pytest.CaptureFixture[str]) -> None:
    before = _Progress(total=4, out="unused", objectives={"acc": "max"}, feasible=_no_best,
                       verbose=True)
    before.on_trial_start(0, [], _trial("a"))
    before.on_trial_complete(0, [], _trial("a"))
    before.on_trial_start(0, [], _trial("b"))
    before.errored.add("c")  # errored for good before the kill
    before.start -= 10_000  # the killed driver's clock

    after = pickle.loads(pickle.dumps(before))
    assert not after.running and set(after.done) == {"a"} and after.errored == {"c"}
    after.on_trial_start(1, [], _trial("b"))
    line = _last_line(capsys)
    assert "1/4 done, 1 running, 1 errored" in line and "ETA ?" in line
    assert int(re.search(r"\| (\d+)s elapsed", line).group(1)) < 60  # type: ignore[union-attr]

    after.on_trial_start(1, [], _trial("c"))  # retried: no longer counted as errored
    assert "1/4 done, 2 running, 0 errored" in _last_line(capsys)
    after.on_trial_complete(1, [], _trial("b"))
    after.on_trial_complete(1, [], _trial("c"))
    line = _last_line(capsys)
    assert "3/4 done, 0 running, 0 errored" in line and "ETA ?" not in line


def test_trials_a_restored_experiment_had_ended_are_counted(capsys: pytest.CaptureFixture[str]) -> None:
    """Tune sends no event for them: the first event's trial list says they ended."""
    progress = _Progress(total=3, out="unused", objectives={"acc": "max"}, feasible=_no_best, verbose=True)
    ended = SimpleNamespace(**vars(_trial("a")), status="TERMINATED")
    again = SimpleNamespace(**vars(_trial("b")), status="PENDING")
    progress.on_trial_start(0, [ended, again], again)
    assert "1/3 done, 1 running, 0 errored" in _last_line(capsys) and set(progress.done) == {"a"}
    progress.on_trial_complete(0, [ended, again], again)
    assert "2/3 done, 0 running, 0 errored" in _last_line(capsys)


def _running(trial_id: str, epochs: int) -> SimpleNamespace:
    return SimpleNamespace(trial_id=trial_id, config={"trial": {"mechanisms": ["wm"], "train.epochs": epochs}},
                           last_result={"acc": 0.5}, error_file=None)


def test_heartbeat_lines_name_the_running_trials_and_their_epochs(capsys: pytest.CaptureFixture[str]) -> None:
    progress = _Progress(total=8, out="unused", objectives={"acc": "max"}, feasible=_no_best, verbose=True,
                         heartbeat_s=0.05)
    for i in range(6):
        progress.on_trial_start(0, [], _running(f"t{i}", 5))
    progress.on_trial_result(0, [], _running("t1", 5), {"epoch": 2})
    progress.on_step_end(0, [])
    assert "running:" not in _last_line(capsys)  # no heartbeat before heartbeat_s has passed
    time.sleep(0.06)
    progress.on_step_end(0, [])
    line = _last_line(capsys)
    assert "0/8 done, 6 running" in line
    assert line.endswith("| running: t0 starting, t1 epoch 2/5, t2 starting, t3 starting, +2 more"), line
    progress.on_step_end(0, [])
    assert capsys.readouterr().err == ""  # the next one waits heartbeat_s again


def test_best_feasible_is_recomputed_rarely_when_it_is_costly_and_for_the_last_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[int] = []

    def slow_best(rows: list, objectives: dict) -> dict:
        calls.append(len(rows))
        time.sleep(0.02)  # 20 ms: the next pass may come 20 x 20 ms = 0.4 s later
        return {"acc": max(r["acc"] for r in rows)}

    total = 60
    progress = _Progress(total=total, out="unused", objectives={"acc": "max"}, feasible=slow_best, verbose=True)
    for i in range(total):
        progress.on_trial_start(0, [], _trial(f"t{i}", acc=i / 100))
        progress.on_trial_complete(0, [], _trial(f"t{i}", acc=i / 100))
    assert calls[-1] == total and len(calls) < total / 4, calls  # O(1) passes per 0.4 s, not one per event
    assert f"{total}/{total} done" in (line := _last_line(capsys)) and "acc=0.590" in line
