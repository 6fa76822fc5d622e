"""`explorer search` through a real local Ray runtime (each test starts and stops its own)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import search_spaces as ss
from explorer.cli import main
from explorer.tune import SearchOptions, run_search

TINY = """
name: {name}
dataset: synthetic
model: tiny
data: {{train_subset: 128, test_subset: 64}}
training: {{epochs: {epochs}, batch_size: 32{lr}}}
eval: {{adv_samples: 16, steps: 2}}
mechanisms: [[dp, wm]]
wm: {{trigger_size: 16}}
dp: {{target_epsilon: {eps}}}
seeds: {seeds}
baselines: {baselines}
resources: {{cpu: {cpu}, gpu: {gpu}}}
"""


def _space(tmp_path: Path, name: str = "t", *, epochs: int = 1, eps: str = "{grid: [2, 8]}", seeds: int = 1,
           baselines: str = "true", cpu: float = 1, gpu: float = 0, lr: str = "") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(TINY.format(name=name, epochs=epochs, eps=eps, seeds=seeds, baselines=baselines, cpu=cpu,
                                gpu=gpu, lr=lr))
    return str(path)


@pytest.fixture(autouse=True)
def _private_ray(ray_tmp: Path) -> Path:
    return ray_tmp


def test_search_writes_one_row_per_trial_and_errors_become_rows(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    space = _space(tmp_path, lr=", lr: {grid: [0.05, 1.0e+12]}", eps="4")
    expected = len(ss.expand(ss.load(space)))
    out = tmp_path / "out"
    assert main(["search", space, "--out", str(out), "--retries", "0", "--num-cpus", "2"]) == 0  # some errors: 0
    rows = pd.read_parquet(tmp_path / "out" / "rows")
    assert len(rows) == expected and rows["trial_id"].is_unique
    failed = rows[rows["status"] == "error"]
    err = capsys.readouterr().err.strip().splitlines()
    end = max(i for i, line in enumerate(err) if line.startswith("search finished: "))
    assert err[end].startswith(f"search finished: results in {out} ({len(failed)} errored trials); ")
    assert sum(int(line.split(" x ")[0]) for line in err[end + 1:]) == len(failed) > 0  # the distinct errors
    assert (failed["train.lr"] == 1e12).all() and failed["error"].str.contains("TrainingDiverged").all()
    ok = rows[rows["status"] == "ok"]
    assert (ok["train.lr"] == 0.05).all() and ok["acc"].notna().all() and len(ok) == expected - len(failed)
    assert set(rows["mechanisms"]) == {"none", "dp", "wm", "dp+wm"}


def test_fractional_gpus_run_four_trials_at_once(tmp_path: Path) -> None:
    space = _space(tmp_path, eps="{grid: [1, 2, 4, 8]}", baselines="false", cpu=0.5, gpu=0.25, epochs=3)
    run_search(SearchOptions(space_path=space, out=str(tmp_path / "out"), num_cpus=2, num_gpus=1, verbose=False))
    rows = pd.read_parquet(tmp_path / "out" / "rows")
    assert len(rows) == 4 and (rows["status"] == "ok").all()
    # all four intervals share a moment: the last start comes before the first end
    assert rows["start_time"].max() < rows["end_time"].min(), rows[["start_time", "end_time"]]


def test_sigkill_then_resume_gives_every_trial_exactly_once(tmp_path: Path, ray_tmp: Path, kill_ray,  # type: ignore[no-untyped-def]
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    space = _space(tmp_path, "killed", epochs=3)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "explorer.cli", "search", space, "--out", str(out), "--num-cpus", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(list((out / "rows").glob("part-*.parquet"))) < 2:
        time.sleep(0.5)
    assert proc.poll() is None, "the search ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = len(list((out / "rows").glob("part-*.parquet")))
    expected = len(ss.expand(ss.load(space)))
    assert 2 <= before < expected
    kill_ray(ray_tmp)
    assert main(["search", space, "--out", str(out), "--resume", "--num-cpus", "2"]) == 0
    rows = pd.read_parquet(out / "rows")
    assert len(rows) == expected and (rows["status"] == "ok").all()
    assert not rows.duplicated(["config_id", "seed"]).any()
    progress = [line for line in capsys.readouterr().err.splitlines()
                if line.startswith("[explorer] ") and " done, " in line]
    assert progress and f"{expected}/{expected} done, 0 running, 0 errored" in progress[-1], progress[-3:]


def test_ctrl_c_stops_the_search_with_130_and_resume_finishes_it(tmp_path: Path, ray_tmp: Path, kill_ray,  # type: ignore[no-untyped-def]
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    space = _space(tmp_path, "interrupted", epochs=60, baselines="false")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "explorer.cli", "search", space, "--out", str(out), "--num-cpus", "2",
           "--max-concurrent", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def second_trial_reported() -> bool:  # the first trial has its row and the second has reported an epoch
        reports = [p for p in (out / "ray").rglob("result.json") if p.stat().st_size > 0]
        return bool(list((out / "rows").glob("part-*.parquet"))) and len(reports) >= 2

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not second_trial_reported() and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, "the search ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 130, err[-2000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith("search interrupted: interrupted") and "1 of 2 trials unfinished" in last, last
    assert last.endswith("continue with the same command plus --resume")
    assert len(pd.read_parquet(out / "rows")) == 1
    kill_ray(ray_tmp)
    assert main(["search", space, "--out", str(out), "--resume", "--num-cpus", "2"]) == 0
    rows = pd.read_parquet(out / "rows")
    assert len(rows) == 2 and (rows["status"] == "ok").all() and rows["config_id"].is_unique



def test_a_saved_state_this_version_cannot_read_is_a_one_line_error(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    space = _space(tmp_path, "old", baselines="false")
    saved = tmp_path / "out" / "ray" / "old-20261202-152616"
    saved.mkdir(parents=True)
    (saved / "tuner.pkl").write_bytes(b"\x80\x04cexplorer.gone\nState\n.")  # a class an older version had
    assert main(["search", space, "--out", str(tmp_path / "out"), "--resume", "--num-cpus", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"error: --resume: the saved search {saved} cannot be read by this version"), err
    assert "ModuleNotFoundError: No module named 'explorer.gone'" in err[-1] and "without --resume" in err[-1]
    assert not list((tmp_path / "out").rglob("*.parquet")) and (saved / "tuner.pkl").exists()

OPTUNA = """
name: opt
dataset: synthetic
model: tiny
data: {train_subset: 128, test_subset: 64}
training: {epochs: 1, batch_size: 32}
eval: {adv_samples: 16, steps: 2}
mechanisms: [[dp, wm]]
dp: {target_epsilon: {loguniform: [2, 20]}}
wm: {trigger_size: {int: [8, 16]}}
baselines: {set: {dp.target_epsilon: 4, wm.trigger_size: 16}}
seeds: 1
search: {algorithm: optuna, num_samples: 3, population_size: 2, confirm: false, max_concurrent: 2,
         objectives: {acc: max, wm.acc: max}}
"""


def test_an_optuna_search_runs_baselines_then_nsga2_trials(tmp_path: Path) -> None:
    """The default sampler (NSGA-II) through Ray: Tune pickles it (Optuna 5.1's holds a lock) and runs it."""
    space = tmp_path / "opt.yaml"
    space.write_text(OPTUNA)
    assert main(["search", str(space), "--out", str(tmp_path / "out"), "--num-cpus", "2"]) == 0
    rows = pd.read_parquet(tmp_path / "out" / "rows")
    assert (rows["status"] == "ok").all() and len(rows) == 3 + 3
    searched = rows[rows["mechanisms"] == "dp+wm"]
    assert len(searched) == 3 and searched["dp.target_epsilon"].between(2, 20).all()
    assert set(rows["mechanisms"]) == {"none", "dp", "wm", "dp+wm"}


def test_a_trial_larger_than_the_local_ray_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", _space(tmp_path, gpu=0.5), "--out", str(tmp_path / "out"), "--num-cpus", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == ("error: resources.gpu: got 0.5, expected at most 0 per trial on this machine "
                       "(no GPU here: --num-gpus N declares logical GPUs)")
    assert not list((tmp_path / "out" / "rows").glob("*.parquet"))


@pytest.mark.parametrize("extra, needle", [
    (["--address", "127.0.0.1:1"], "--address: got '127.0.0.1:1'"),
    (["--out", "/proc/forbidden"], "--out: got '/proc/forbidden'"),
    (["--max-concurrent", "0"], "--max-concurrent: got 0"),
    (["--progress-every", "0"], "--progress-every: got 0, expected a number of seconds > 0"),
    (["--progress-every", "nan"], "--progress-every: got nan"),
])
def test_bad_input_exits_2_and_starts_nothing(tmp_path: Path, extra: list[str], needle: str, ray_tmp: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    args = ["search", _space(tmp_path), "--out", str(tmp_path / "out"), *extra]
    if extra[0] == "--out":
        args = ["search", _space(tmp_path), *extra]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]
    assert not any(ray_tmp.iterdir())


def test_invalid_space_exits_2_with_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndataset: digits\nmechanisms: [[dp, wm]]\ndp: {target_epsilon: -1}\n")
    assert main(["search", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.yaml:4" in err[0] and "dp.target_epsilon" in err[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # two Ray searches: make test-slow
def test_rerun_replaces_the_error_row_of_a_pair(tmp_path: Path) -> None:
    space = _space(tmp_path, lr=", lr: {grid: [0.05, 1.0e+12]}", eps="4", baselines="false")
    out = str(tmp_path / "out")
    run_search(SearchOptions(space_path=space, out=out, retries=0, num_cpus=2, verbose=False))
    first = pd.read_parquet(tmp_path / "out" / "rows")
    run_search(SearchOptions(space_path=space, out=out, retries=0, num_cpus=2, verbose=False))
    second = pd.read_parquet(tmp_path / "out" / "rows")
    assert len(first) == len(second) == 2
    assert not second.duplicated(["config_id", "seed"]).any()
    assert set(second["trial_id"]) != set(first["trial_id"])  # the errored pair ran again, its old row went


def test_a_search_whose_every_trial_fails_exits_1_with_the_errors(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    space = _space(tmp_path, lr=", lr: 1.0e+12", eps="{grid: [2, 8]}", baselines="false")
    out = tmp_path / "out"
    assert main(["search", space, "--out", str(out), "--retries", "0", "--num-cpus", "2"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-2] == f"search failed: all 2 trials errored (their rows are in {out}); the errors:"
    assert err[-1].startswith("  2 x ") and "TrainingDiverged" in err[-1], err[-3:]
    rows = pd.read_parquet(out / "rows")
    assert len(rows) == 2 and (rows["status"] == "error").all()


SEQUENTIAL = """
name: seq
dataset: synthetic
model: tiny
data: {train_subset: 128, test_subset: 64}
training: {epochs: 1, batch_size: 32}
eval: {adv_samples: 16, steps: 2}
mechanisms: [[dp, wm]]
wm: {trigger_size: 16}
dp: {target_epsilon: 4}
seeds: {min: 2, max: 3}
thresholds: {alpha: 1.0e-12}   # no test can decide at 2 seeds: the look must add seeds
resources: {cpu: 1, gpu: 0}
"""


def test_sequential_seeds_follow_the_reports_rule_and_a_resume_adds_none(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The driver's looks add exactly the trials that `explorer.looks.plan_look` names from the rows before
    each look (the report's verdicts), every row says which look added it and why, and a rerun with --resume
    once no cell can get more seeds adds none."""
    from analysis import load
    from explorer.looks import grid_cells, plan_look

    path = tmp_path / "seq.yaml"
    path.write_text(SEQUENTIAL)
    out = tmp_path / "out"
    assert main(["search", str(path), "--out", str(out), "--num-cpus", "2"]) == 0
    err = capsys.readouterr().err
    rows = load(out)
    assert (rows["status"] == "ok").all() and rows["trial_id"].is_unique
    assert "look 1: 1 undecided cell(s) get more seeds" in err
    assert "sequential seeds: 1 cell(s): 0 conflict, 0 no conflict, 1 undecided" in err
    space = ss.load(str(path))
    cells = grid_cells(space, ss.expand(space).configs())
    assert len(cells) == 1
    for look in (1, 2):
        before = rows[rows["look"] < look]
        planned = {(t["mechanisms"], t["seed"]) for t in plan_look(cells, before, space.thresholds, look).trials}
        ran = set(zip(rows.loc[rows["look"] == look, "mechanisms"], rows.loc[rows["look"] == look, "seed"]))
        assert planned == ran, look
    added = rows[rows["look"] == 1]
    assert ("dp+wm", 2) in set(zip(added["mechanisms"], added["seed"]))
    assert set(added["mechanisms"]) <= {"dp+wm", "dp", "wm"}  # the undefended model decides nothing: no seeds
    assert added["look_reason"].str.contains("undecided at 2 seeds").all()
    assert set(rows["seeds_design"]) == {"2-3/1"}

    assert main(["search", str(path), "--out", str(out), "--num-cpus", "2", "--resume"]) == 0
    err = capsys.readouterr().err
    assert "0 trials to run" in err and "get more seeds" not in err
    assert len(load(out)) == len(rows)
