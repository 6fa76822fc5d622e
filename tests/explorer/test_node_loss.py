"""A node lost during a search: on a real two-node cluster of `ray start` processes (as in test_cluster.py), the
worker node's raylet is SIGKILLed while a trial runs there, then the processes it started, as when the machine
goes away (alone, a trial's process outlives its raylet for a few seconds and, on a fast machine, could finish
its trial before it notices). The search still ends with exit 0 and every row ok, none duplicated; Tune retries
the trial from its checkpoint on the head, its row records the retry, its cause and both nodes, and the progress
line, the final summary and `explorer status` say so."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from explorer.cli import main

ROOT = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).with_name("ray"))

#: Two trials of one CPU on two nodes of one CPU: one runs on each. PGD training makes an epoch last long enough
#: (about 0.5 to 3 s on 2 busy cores) to kill the node between the trial's second epoch and its last.
SPACE = """
name: nodeloss
dataset: digits
model: tiny
data: {train_subset: 512, test_subset: 64}
training: {epochs: 15, batch_size: 16}
eval: {adv_samples: 16, steps: 2}
mechanisms: [[adv]]
adv: {steps: 5, gamma: 0.1}
seeds: 2
baselines: false
resources: {cpu: 1, gpu: 0}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _raylets(root: Path) -> dict[int, tuple[str, bool]]:
    """pid -> (Ray node id, is head) of the raylets of the cluster whose RAY_TMPDIR is ``root``."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if args and args[0].endswith("/raylet") and any(str(root) in a for a in args):
            node = next(a.split("=", 1)[1] for a in args if a.startswith("--node_id="))
            found[int(proc.name)] = (node, "--head" in args)
    return found


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started (a raylet's: its workers, the trial among them)."""
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(int(p.name)) == pid]


def _reports(trial_dir: Path) -> list[dict]:
    path = trial_dir / "result.json"
    lines = path.read_text().strip().splitlines() if path.exists() else []
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:  # being written
            continue
    return out


@pytest.mark.slow  # a two-node cluster and a retried trial, 1-3 min: .ci/run runs it beside `make test`
def test_node_loss_retries_the_trial_on_another_node_and_its_row_says_so(  # type: ignore[no-untyped-def]
        tmp_path: Path, kill_ray, capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(tempfile.mkdtemp(prefix="nl", dir="/tmp"))
    token = secrets.token_hex(32)
    env = dict(os.environ, RAY_TMPDIR=str(root), RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token",
               RAY_AUTH_TOKEN=token)
    port, dash = _free_port(), _free_port()
    address = f"127.0.0.1:{port}"
    out = tmp_path / "out"
    try:
        subprocess.run([RAY, "start", "--head", f"--port={port}", "--num-cpus=1", "--dashboard-host=127.0.0.1",
                        f"--dashboard-port={dash}", "--disable-usage-stats"], env=env, check=True,
                       capture_output=True)
        subprocess.run([RAY, "start", f"--address={address}", "--num-cpus=1"], env=env, check=True,
                       capture_output=True)
        raylets = _raylets(root)
        (head_id,) = [node for node, head in raylets.values() if head]
        ((worker_pid, (worker_id, _)),) = [(pid, info) for pid, info in raylets.items() if not info[1]]
        space = tmp_path / "space.yaml"
        space.write_text(SPACE)
        search = subprocess.Popen([sys.executable, "-m", "explorer.cli", "search", str(space), "--out", str(out),
                                   "--address", address, "--progress-every", "5"], env=env, cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # the trial on the worker has checkpointed its second epoch: SIGKILL that node's raylet
        victim, deadline = None, time.monotonic() + 300
        while victim is None and time.monotonic() < deadline and search.poll() is None:
            for trial_dir in out.glob("ray/*/*_0000*"):
                reports = _reports(trial_dir)
                if reports and reports[-1].get("epoch", 0) >= 2 and _parent(reports[-1]["pid"]) == worker_pid:
                    orphans = _children(worker_pid)
                    os.kill(worker_pid, signal.SIGKILL)
                    for pid in orphans:
                        os.kill(pid, signal.SIGKILL)
                    victim, killed_at = trial_dir, reports[-1]["epoch"]
                    break
            time.sleep(0.1)
        assert victim is not None, "no trial ran on the worker node before the search ended"
        assert killed_at < 15, "the trial had finished"
        output, _ = search.communicate(timeout=600)
        assert search.returncode == 0, output[-3000:]

        rows = pd.read_parquet(out / "rows")
        assert len(rows) == 2 and (rows["status"] == "ok").all(), rows[["trial_id", "status", "error"]]
        assert not rows.duplicated(["config_id", "seed"]).any() and rows["trial_id"].is_unique
        retried = rows.set_index("trial_id").loc[victim.name]
        assert retried["retries"] == 1 and json.loads(retried["retry_causes"]) == ["node lost"]
        assert json.loads(retried["nodes"]) == [worker_id, head_id] and retried["node_id"] == head_id
        other = rows[rows["trial_id"] != victim.name].iloc[0]
        assert other["retries"] == 0 and json.loads(other["nodes"]) == [head_id]
        assert retried["epochs_completed"] == 15
        # the retry went on from the checkpoint the killed attempt had reached (the result file lags the trial by
        # an epoch or two), not from epoch 1 and not from further on
        reports = _reports(victim)
        restart = next(r for r in reports if r["pid"] != reports[0]["pid"])  # the first report of the retry
        assert killed_at < restart["epoch"] <= killed_at + 3, (killed_at, [(r["pid"], r["epoch"]) for r in reports])

        progress = [line for line in output.splitlines() if line.startswith("[explorer] ") and " done, " in line]
        assert "1 trial retried after a failure (node lost)" in progress[-1], progress[-3:]
        summary = output[output.index("search finished: "):].splitlines()
        assert summary[1] == "1 trial retried after a failure (node lost)", summary

        capsys.readouterr()
        assert main(["status", str(out)]) == 0
        status = capsys.readouterr().out.splitlines()
        assert status[1] == f"Ray nodes (trials that ran there): {head_id} (2), {worker_id} (1)", status
        assert status[2] == (f"1 trial retried after a failure (node lost): {victim.name} on {worker_id} then "
                             f"{head_id}"), status
    finally:
        kill_ray(root)
        shutil.rmtree(root, ignore_errors=True)
