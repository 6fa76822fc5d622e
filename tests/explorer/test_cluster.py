"""cluster.yaml validated offline, and `explorer search` on a real two-node Ray cluster of `ray start` processes."""

from __future__ import annotations

import copy
import json
import os
import re
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


@pytest.mark.ray  # `ray start` processes
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


def _fake_autoscaling_config(port: int) -> dict[str, Any]:
    """cluster.yaml's node types on Ray's fake multi-node provider: the same resources, smaller counts (a head
    that runs no trial, each worker type from 0 to 2 nodes) and a 6 s idle timeout. The provider launches
    each worker as local Ray processes through Ray's own autoscaler; its head type is `ray.head.default`."""
    real = _cluster()
    types = real["available_node_types"]
    head = types[real["head_node_type"]]
    nodes: dict[str, Any] = {"ray.head.default": {"resources": dict(head["resources"]), "node_config": {},
                                                  "max_workers": 0}}
    for name, node in types.items():
        if name != real["head_node_type"]:
            nodes[name] = {"resources": dict(node["resources"]), "node_config": {}, "min_workers": 0,
                           "max_workers": 2}
    return {
        "cluster_name": "explorer-fake", "max_workers": 2, "upscaling_speed": 1.0, "idle_timeout_minutes": 0.1,
        # use_node_id_as_ip: the fake nodes share this machine's IP; the autoscaler tells them apart by id
        "provider": {"type": "fake_multinode", "use_node_id_as_ip": True, "disable_node_updaters": True,
                     "disable_launch_config_check": True, "gcs_address": f"127.0.0.1:{port}"},
        "auth": {"ssh_user": "ubuntu"}, "available_node_types": nodes, "head_node_type": "ray.head.default",
        # what prepare_config would fill in from the provider's defaults (the wheel ships none for this one)
        "file_mounts": {}, "cluster_synced_files": [], "file_mounts_sync_continuously": False,
        "rsync_exclude": [], "rsync_filter": [], "initialization_commands": [], "setup_commands": [],
        "head_setup_commands": [], "worker_setup_commands": [], "head_start_ray_commands": [],
        "worker_start_ray_commands": [],
    }


AUTOSCALED = """
name: autoscaled
dataset: synthetic
model: tiny
data: {train_subset: 128, test_subset: 64}
training: {epochs: 2, batch_size: 32}
eval: {adv_samples: 16, steps: 2}
mechanisms: [[wm]]
wm: {trigger_size: 16}
seeds: 4
baselines: false
resources: {cpu: 1, gpu: 0.5}
"""


@pytest.mark.ray  # `ray start` processes
@pytest.mark.slow
def test_a_search_on_an_autoscaling_cluster_runs_on_workers_that_come_and_go(tmp_path: Path, kill_ray) -> None:  # type: ignore[no-untyped-def]
    import time

    root = Path(tempfile.mkdtemp(prefix="as", dir="/tmp"))
    token = secrets.token_hex(32)
    env = dict(os.environ, RAY_TMPDIR=str(root), RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token",
               RAY_AUTH_TOKEN=token)
    port, dash = _free_port(), _free_port()
    config = _fake_autoscaling_config(port)
    (tmp_path / "fake.yaml").write_text(yaml.safe_dump(config))
    head = config["available_node_types"]["ray.head.default"]["resources"]

    def nodes() -> list[dict[str, Any]]:
        request = urllib.request.Request(f"http://127.0.0.1:{dash}/api/v0/nodes?detail=1",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read().decode())["data"]["result"]["result"]

    try:
        subprocess.run([RAY, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
                        f"--num-cpus={head.get('CPU', 0)}", f"--num-gpus={head.get('GPU', 0)}",
                        f"--autoscaling-config={tmp_path / 'fake.yaml'}", "--dashboard-host=127.0.0.1",
                        f"--dashboard-port={dash}", "--disable-usage-stats"],
                       env=dict(env, RAY_FAKE_CLUSTER="1", AUTOSCALER_UPDATE_INTERVAL_S="1"), check=True,
                       capture_output=True)
        assert [n["is_head_node"] for n in nodes()] == [True]  # no worker before the search asks for one
        space = tmp_path / "space.yaml"
        space.write_text(AUTOSCALED)
        search = subprocess.run([sys.executable, "-m", "explorer.cli", "search", str(space), "--out",
                                 str(tmp_path / "out"), "--address", "auto"], env=env, cwd=ROOT,
                                capture_output=True, text=True, timeout=600)
        assert search.returncode == 0, search.stderr[-3000:]
        rows = pd.read_parquet(tmp_path / "out" / "rows")
        assert len(rows) == 4 and (rows["status"] == "ok").all()
        everyone = nodes()
        head_ids = {n["node_id"] for n in everyone if n["is_head_node"]}
        workers = {n["node_id"] for n in everyone if not n["is_head_node"]}
        assert workers and set(rows["node_id"]) <= workers and not set(rows["node_id"]) & head_ids, everyone
        monitor = (root / "ray" / "session_latest" / "logs" / "monitor.log").read_text()
        worker_type = next(t for t in config["available_node_types"] if t != "ray.head.default")
        assert re.search(rf"Adding \d+ node\(s\) of type {worker_type}", monitor)  # launched by the autoscaler
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(n["state"] == "ALIVE" for n in nodes() if not n["is_head_node"]):
            time.sleep(2)
        assert all(n["state"] == "DEAD" for n in nodes() if not n["is_head_node"]), nodes()
        monitor = (root / "ray" / "session_latest" / "logs" / "monitor.log").read_text()
        reasons = {i: re.findall(rf"Terminating the node with id {i} .*\((\w+)\)", monitor) for i in workers}
        assert all(r == ["idle"] for r in reasons.values()), reasons  # the autoscaler's idle timeout, not a crash
    finally:
        kill_ray(root)
        shutil.rmtree(root, ignore_errors=True)
