"""Results on S3, end to end: `explorer search`, `status`, `confirm`, `report`, a SIGKILLed search resumed with
`--resume`, and `analysis.load`, given nothing but s3:// URIs of a local S3-compatible server (moto's server mode,
the `s3` fixture of tests/conftest.py, with test credentials). Rows and Tune's state with the trials'
checkpoints are all written to the bucket."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import search_spaces as ss
from analysis import load
from explorer.cli import main

OPTUNA = """
name: s3opt
dataset: synthetic
model: tiny
data: {train_subset: 128, test_subset: 64}
training: {epochs: 2, batch_size: 32}
eval: {adv_samples: 16, steps: 2}
mechanisms: [[dp, wm]]
dp: {target_epsilon: {loguniform: [2, 20]}}
wm: {trigger_size: {int: [8, 16]}}
baselines: {set: {dp.target_epsilon: 4, wm.trigger_size: 16}}
seeds: 1
search:
  algorithm: optuna
  sampler: tpe
  num_samples: 2
  objectives: {acc: max, wm.acc: max}
  confirm: false
  max_concurrent: 2
resources: {cpu: 1, gpu: 0}
"""

GRID = """
name: s3grid
dataset: synthetic
model: tiny
data: {train_subset: 128, test_subset: 64}
training: {epochs: 3, batch_size: 32}
eval: {adv_samples: 16, steps: 2}
mechanisms: [[dp, wm]]
wm: {trigger_size: 16}
dp: {target_epsilon: {grid: [2, 8]}}
seeds: 1
resources: {cpu: 1, gpu: 0}
"""


@pytest.fixture
def _private_ray(ray_tmp: Path) -> Path:
    return ray_tmp


def _rows(s3, key: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The rows as pyarrow reads them from the bucket (not through the explorer)."""
    import pyarrow.dataset as ds

    return ds.dataset(f"{s3.bucket}/{key}/rows", filesystem=s3.fs, format="parquet").to_table().to_pandas()


@pytest.mark.slow  # three Ray phases and a confirmation, 2-4 min: .ci/run runs it beside `make test`
@pytest.mark.usefixtures("_private_ray")
def test_s3_search_status_confirm_report_and_load_through_s3_uris_only(  # type: ignore[no-untyped-def]
        s3, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    space = tmp_path / "s3opt.yaml"
    space.write_text(OPTUNA)
    out = s3.uri("results/s3opt")
    monkeypatch.chdir(tmp_path)  # a URI taken for a local path would land here
    assert main(["search", str(space), "--out", out, "--num-cpus", "2", "--keep-checkpoints"]) == 0
    assert "search finished: results in s3://" in capsys.readouterr().err
    files = s3.files("results/s3opt")
    searched = [f for f in files if f.startswith("rows/part-")]
    assert len(searched) == 3 + 2 and "spaces/s3opt.json" in files
    # Tune's state and every trial's last checkpoint went to the bucket too (--keep-checkpoints keeps them)
    assert len([f for f in files if re.fullmatch(r"ray/[^/]+/[^/]+/checkpoint_\d+/state\.pt", f)]) == 5, files
    assert sum(f.endswith("tuner.pkl") for f in files) == 2  # the baselines' phase and the search's
    assert sorted(os.listdir(tmp_path)) == ["s3opt.yaml"]

    assert main(["status", out]) == 0
    status = capsys.readouterr().out
    assert status.startswith("5 trials: 5 ok, 0 errored") and "dp+wm" in status, status

    assert main(["confirm", out, "--top", "1", "--seeds", "2", "--num-cpus", "2"]) == 0
    err = capsys.readouterr().err
    assert re.search(r"confirmation: 1 candidate\(s\) x 2 seeds .*: 5 trials to run", err), err[-2000:]
    rows = _rows(s3, "results/s3opt")
    assert len(rows) == 5 + 5 and (rows["status"] == "ok").all()
    assert not rows.duplicated(["config_id", "seed"]).any()
    assert (rows["experiment"] == "s3opt:confirm").sum() == 5
    assert (rows["retries"] == 0).all() and rows["nodes"].notna().all()

    report = tmp_path / "report"
    assert main(["report", out, "--out", str(report)]) == 0
    markdown = (report / "report.md").read_text()
    assert f"source: {out}" in markdown and "objectives: acc (max), wm.acc (max)" in markdown
    points = pd.read_csv(report / "operating_points.csv")
    assert "confirmed" in set(points["evidence"])

    loaded = load(out)
    assert len(loaded) == 10 and set(loaded["trial_id"]) == set(rows["trial_id"])
    assert len(load(out, status="ok", mechanisms="dp+wm")) == (rows["mechanisms"] == "dp+wm").sum() == 2 + 1
    assert sorted(os.listdir(tmp_path)) == ["report", "s3opt.yaml"]


@pytest.mark.slow  # two Ray starts, 1-3 min: .ci/run runs it beside `make test`
@pytest.mark.usefixtures("_private_ray")
def test_s3_sigkill_then_resume_gives_every_trial_exactly_once(  # type: ignore[no-untyped-def]
        s3, tmp_path: Path, ray_tmp: Path, kill_ray, capsys: pytest.CaptureFixture[str]) -> None:
    space = tmp_path / "s3grid.yaml"
    space.write_text(GRID)
    expected = len(ss.expand(ss.load(str(space))))
    out = s3.uri("killed")
    cmd = [sys.executable, "-m", "explorer.cli", "search", str(space), "--out", out, "--num-cpus", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def parts() -> list[str]:
        return [f for f in s3.files("killed") if f.startswith("rows/part-")]

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(parts()) < 2 and proc.poll() is None:
        time.sleep(0.5)
    assert proc.poll() is None, "the search ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    kill_ray(ray_tmp)
    before = len(parts())
    assert 2 <= before < expected
    assert any(re.fullmatch(r"ray/s3grid-[^/]+/tuner\.pkl", f) for f in s3.files("killed"))  # the saved state

    assert main(["search", str(space), "--out", out, "--resume", "--num-cpus", "2"]) == 0
    err = capsys.readouterr().err
    assert re.search(r"\[explorer\] resuming s3://", err), err[-2000:]
    rows = _rows(s3, "killed")
    assert len(rows) == expected and (rows["status"] == "ok").all()  # 0 lost
    assert not rows.duplicated(["config_id", "seed"]).any() and rows["trial_id"].is_unique  # 0 duplicated
    progress = [line for line in err.splitlines() if line.startswith("[explorer] ") and " done, " in line]
    assert progress and f"{expected}/{expected} done, 0 running, 0 errored" in progress[-1], progress[-3:]
    assert len(load(out)) == expected


def test_s3_rows_read_back_by_status_report_and_load(s3, make_config, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Without Ray (the default suite): rows written to the bucket as trials write them, read through the URI."""
    from datetime import datetime, timezone

    from explorer.results import build_row, write_rows
    from explorer.train import train

    out = s3.uri("byhand")
    for mechanisms in ((), ("wm",)):
        for seed in (0, 1):
            config = make_config(mechanisms, seed=seed)
            start = datetime.now(timezone.utc)
            row = build_row(config, train(config), trial_id=f"t{len(mechanisms)}{seed}", start=start,
                            end=datetime.now(timezone.utc))
            write_rows([row], s3.uri(f"byhand/rows/part-{row['trial_id']}.parquet"))
    assert s3.files("byhand") == [f"rows/part-t{m}{s}.parquet" for m in (0, 1) for s in (0, 1)]
    assert main(["status", out]) == 0
    assert capsys.readouterr().out.startswith("4 trials: 4 ok, 0 errored")
    assert main(["report", out, "--out", str(tmp_path / "report")]) == 0
    assert "source: s3://" in (tmp_path / "report" / "report.md").read_text()
    df = load(out)
    assert len(df) == 4 and set(df["mechanisms"]) == {"none", "wm"}


def test_s3_a_missing_bucket_or_output_is_one_line_and_exit_2(s3, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    space = tmp_path / "s3grid.yaml"
    space.write_text(GRID)
    nobucket = s3.uri("x").replace(f"s3://{s3.bucket}/", "s3://no-such-bucket/")
    assert main(["search", str(space), "--out", nobucket]) == 2  # before Ray starts
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-bucket" in err[0], err
    assert err[0].startswith(f"error: --out: got {nobucket!r}, expected a writable folder or URI"), err
    for command in (["status", s3.uri("nothing")], ["report", s3.uri("nothing"), "--out", str(tmp_path / "r")]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and "nothing" in err[0], err
    assert not (tmp_path / "r").exists()


@pytest.mark.slow  # pyarrow retries a dead endpoint for about 6 s per call, 30-40 s: .ci/run runs it
def test_s3_an_unreachable_store_is_one_line_and_exit_2(s3, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """The S3 endpoint down (a closed port): every command says so in one line, `analysis.load` raises its
    input error; nothing is written."""
    import socket

    from analysis.errors import AnalysisInputError

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    down = s3.uri("x").replace(s3.endpoint, f"127.0.0.1:{port}")
    space = tmp_path / "s3grid.yaml"
    space.write_text(GRID)
    for command in (["search", str(space), "--out", down], ["status", down], ["confirm", down],
                    ["report", down, "--out", str(tmp_path / "r")]):
        assert main(command) == 2, command
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and f"127.0.0.1:{port}" in err[0], (command, err)
    with pytest.raises(AnalysisInputError, match="cannot be read .*Could not connect"):
        load(down)
    assert sorted(os.listdir(tmp_path)) == ["s3grid.yaml"]
