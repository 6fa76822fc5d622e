"""`explorer confirm` on an existing output, through a real local Ray: only missing trials run, a second
call runs none, a SIGKILLed confirmation finishes on rerun without duplicate rows, and the search's final
best point is the report's answer."""

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

from analysis import load
from explorer.cli import main

SPACE = """
name: conf
dataset: synthetic
model: tiny
data: {train_subset: 128, test_subset: 64}
training: {epochs: 3, batch_size: 32}
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
  objectives: {acc: max, wm.acc: max, dp.epsilon: min}
  confirm: false
  max_concurrent: 2
resources: {cpu: 1, gpu: 0}
"""


@pytest.fixture(autouse=True)
def _private_ray(ray_tmp: Path) -> Path:
    return ray_tmp


def _parts(out: Path) -> list[Path]:
    return sorted((out / "rows").glob("part-*.parquet"))


def _to_run(err: str) -> int:
    found = re.findall(r"confirmation: \d+ candidate\(s\) x 2 seeds .*?: (\d+) trials to run", err)
    assert found, err[-2000:]
    return int(found[-1])


@pytest.mark.slow  # three Ray starts, ~2 min: make test-slow (the confirmation plan is tested without Ray)
def test_confirm_adds_only_missing_trials_and_survives_sigkill(  # type: ignore[no-untyped-def]
        tmp_path: Path, ray_tmp: Path, kill_ray, capsys: pytest.CaptureFixture[str]) -> None:
    space = tmp_path / "conf.yaml"
    space.write_text(SPACE)
    out = tmp_path / "out"
    assert main(["search", str(space), "--out", str(out), "--num-cpus", "2"]) == 0
    capsys.readouterr()
    searched = len(_parts(out))
    assert searched == 3 + 2 and (out / "spaces" / "conf.json").is_file()

    cmd = [sys.executable, "-m", "explorer.cli", "confirm", str(out), "--top", "1", "--seeds", "2", "--num-cpus", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(_parts(out)) < searched + 1:
        time.sleep(0.2)
    assert proc.poll() is None, "the confirmation ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    kill_ray(ray_tmp)
    killed = len(_parts(out))
    planned = 1 + 2 + 2  # the candidate's second seed, dp alone and wm alone at its settings under 2 seeds
    assert searched < killed < searched + planned

    assert main(["confirm", str(out), "--top", "1", "--seeds", "2", "--num-cpus", "2"]) == 0
    err = capsys.readouterr().err
    assert _to_run(err) == searched + planned - killed
    rows = pd.read_parquet(out / "rows")
    assert len(rows) == searched + planned and (rows["status"] == "ok").all()
    assert not rows.duplicated(["config_id", "seed"]).any()
    assert (rows["experiment"] == "conf:confirm").sum() == planned
    final = [line for line in err.splitlines() if "best feasible over all rows" in line][-1]

    assert main(["confirm", str(out), "--top", "1", "--seeds", "2"]) == 0  # nothing missing: no Ray either
    assert _to_run(capsys.readouterr().err) == 0 and len(_parts(out)) == searched + planned

    # the final progress line and the report name the same point, a confirmed one (2 seeds, exact baselines)
    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    markdown = (tmp_path / "report" / "report.md").read_text()
    chosen = re.search(r"config ([0-9a-f]{12})", final)
    assert chosen and "[confirmed, 2 seeds" in final, final
    assert f"config {chosen.group(1)}" in markdown.split("## Conflict verdicts")[0]
    points = pd.read_csv(tmp_path / "report" / "operating_points.csv")
    assert points.set_index("config_id").loc[chosen.group(1), "evidence"] == "confirmed"
    assert "objectives: acc (max), wm.acc (max), dp.epsilon (min)" in markdown  # recorded by the search
    assert len(load(out / "rows")) == searched + planned
