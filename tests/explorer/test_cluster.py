"""cluster.yaml validated offline, and `explorer search` on a real two-node Ray cluster of `ray start` processes."""

from __future__ import annotations

import copy
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).with_name("ray"))


def _validate(config: dict[str, Any]) -> None:
    """What `ray up` checks before it touches the cloud: Ray's JSON schema, then its own config validation."""
    import ray.autoscaler
    from ray.autoscaler._private.util import prepare_config, validate_config

    schema = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())
    jsonschema.validate(config, schema)
    validate_config(prepare_config(copy.deepcopy(config)))


def _cluster() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "cluster.yaml").read_text())


def test_cluster_yaml_validates_offline() -> None:
    config = _cluster()
    _validate(config)
    workers = config["available_node_types"]["gpu_worker"]
    assert workers["min_workers"] == 0 and workers["resources"]["GPU"] >= 1
    assert any("--dashboard-host=127.0.0.1" in c for c in config["head_start_ray_commands"])


def _fractional_gpu(c: dict) -> None:
    c["available_node_types"]["gpu_worker"]["resources"]["GPU"] = 0.25


def _undefined_head(c: dict) -> None:
    c["head_node_type"] = "no_such_node_type"


def _misspelled(c: dict) -> None:
    c["idle_timeout_minuts"] = c.pop("idle_timeout_minutes")


def _string_commands(c: dict) -> None:
    c["setup_commands"] = "pip install explorer"


@pytest.mark.parametrize("mutate", [_fractional_gpu, _undefined_head, _misspelled, _string_commands])
def test_mutated_cluster_yaml_fails(mutate) -> None:  # type: ignore[no-untyped-def]
    config = _cluster()
    mutate(config)
    with pytest.raises((jsonschema.ValidationError, ValueError)):
        _validate(config)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SPACE = """
name: twonodes
dataset: digits
model: tiny
data: {train_subset: 256, test_subset: 64}
training: {epochs: 2, batch_size: 32}
eval: {adv_samples: 16, steps: 2}
mechanisms: [[wm]]
wm: {trigger_size: 16}
seeds: 4
baselines: false
resources: {cpu: 1, gpu: 0}
"""


def test_search_runs_on_a_real_two_node_cluster(tmp_path: Path, kill_ray) -> None:  # type: ignore[no-untyped-def]
    root = Path(tempfile.mkdtemp(prefix="mn", dir="/tmp"))
    token = secrets.token_hex(32)
    env = dict(os.environ, RAY_TMPDIR=str(root), RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token",
               RAY_AUTH_TOKEN=token)
    port, dash = _free_port(), _free_port()
    address = f"127.0.0.1:{port}"
    try:
        subprocess.run([RAY, "start", "--head", f"--port={port}", "--num-cpus=1", "--dashboard-host=127.0.0.1",
                        f"--dashboard-port={dash}", "--disable-usage-stats"], env=env, check=True,
                       capture_output=True)
        subprocess.run([RAY, "start", f"--address={address}", "--num-cpus=1", "--num-gpus=1"], env=env,
                       check=True, capture_output=True)
        space = tmp_path / "space.yaml"
        space.write_text(SPACE)
        search = subprocess.Popen([sys.executable, "-m", "explorer.cli", "search", str(space), "--out",
                                   str(tmp_path / "out"), "--address", address], env=env, cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # the dashboard answers on localhost while the search runs (with the cluster's token)
        request = urllib.request.Request(f"http://127.0.0.1:{dash}/api/cluster_status",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200 and "autoscalerReport" in response.read().decode()
        output, _ = search.communicate(timeout=300)
        assert search.returncode == 0, output[-3000:]
        rows = pd.read_parquet(tmp_path / "out" / "rows")
        assert len(rows) == 4 and (rows["status"] == "ok").all()
        assert rows["node_id"].nunique() == 2, rows[["node", "node_id"]]
    finally:
        kill_ray(root)
        shutil.rmtree(root, ignore_errors=True)
