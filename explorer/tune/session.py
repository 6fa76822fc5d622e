"""A search's session: its options, the Ray runtime it starts or joins, and what must hold before trials run."""

from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray

from explorer.config import ConfigError
from explorer.tune.dashboard import job_config, login_hint
from explorer.tune.paths import ROWS_DIR

__all__ = ["RayStartError", "SearchOptions", "absolute", "check_address", "check_resources", "check_writable",
           "init_ray", "say"]


#: Seconds before a second start of a local Ray that did not come up.
RETRY_S = 10.0


class RayStartError(RuntimeError):
    """The local Ray runtime did not start (not the user's input: exit 1 with one line)."""


@dataclass(frozen=True)
class SearchOptions:
    """What ``explorer search`` (or ``explorer confirm``) was asked for; frozen: the driver derives copies
    (``dataclasses.replace``), e.g. with ``out`` made absolute."""

    space_path: str
    out: str
    address: str | None = None
    resume: bool = False
    smoke: bool = False
    max_concurrent: int | None = None
    retries: int = 1
    num_cpus: int | None = None  # local Ray only
    num_gpus: float | None = None  # local Ray only; logical GPUs are fine
    verbose: bool = True
    keep_checkpoints: bool = False  # keep each finished trial's final checkpoint (default: delete them all)
    heartbeat_s: float = 60.0  # a progress line at least this often


def check_address(address: str) -> None:
    if address == "auto":
        return
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=5):
            pass
    except (OSError, ValueError):
        raise ConfigError(f"--address: got {address!r}, expected a reachable Ray head as HOST:PORT or 'auto' "
                          "(is the cluster up? `ray status` on the head)") from None


def init_ray(opts: SearchOptions, space_name: str = "") -> None:
    os.environ.setdefault("RAY_TRAIN_ENABLE_V2_MIGRATION_WARNINGS", "0")
    # one checkpoint per epoch is what resuming needs; Tune's snapshot-frequency warning is noise here
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    job = job_config(space_name, opts.space_path, opts.out)
    if opts.address:
        check_address(opts.address)
        try:
            context = ray.init(address=opts.address, log_to_driver=False, job_config=job)
        except ConnectionError as err:
            raise ConfigError(f"--address: got {opts.address!r}, expected a running Ray cluster ({err})") from None
    else:
        context = _start_local(opts, job)
    url = getattr(context, "dashboard_url", None)
    say(opts, f"Ray dashboard: http://{url} (job '{job.metadata['job_name']}')" if url else
         "Ray dashboard: not running")
    if url:
        say(opts, f"dashboard login: {login_hint()}")


def _start_local(opts: SearchOptions, job: Any) -> Any:
    """A local Ray; a start that times out (a machine too loaded for Ray's processes to come up in time) is
    tried once more, then reported in one line (:class:`RayStartError`) instead of Ray's traceback."""
    for attempt in (1, 2):
        try:
            return ray.init(address="local", num_cpus=opts.num_cpus, num_gpus=opts.num_gpus,  # type: ignore[arg-type]
                            include_dashboard=True, dashboard_host="127.0.0.1", log_to_driver=False, job_config=job)
        except Exception as err:  # noqa: BLE001 - Ray raises bare Exceptions for start-up failures
            ray.shutdown()
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            if attempt == 2:
                raise RayStartError(f"the local Ray runtime did not start, twice ({first}); is the machine "
                                    "overloaded or out of memory?") from None
            say(opts, f"the local Ray runtime did not start ({first}); trying once more")
            time.sleep(RETRY_S)
    raise AssertionError("unreachable")


def absolute(out: str) -> str:
    return out if "://" in out else str(Path(out).expanduser().absolute())


def check_writable(out: str) -> None:
    from explorer_core.store import resolve

    try:
        fs, base = resolve(out)
        fs.create_dir(f"{base}/{ROWS_DIR}", recursive=True)
        probe = f"{base}/{ROWS_DIR}/.write-probe-{os.getpid()}"  # resolved: no query string left
        with fs.open_output_stream(probe) as fh:
            fh.write(b"ok")
        fs.delete_file(probe)
    except Exception as err:  # noqa: BLE001 - any storage failure means the same thing to the user
        raise ConfigError(f"--out: got {out!r}, expected a writable folder or URI ({type(err).__name__}: "
                          f"{str(err).splitlines()[0] if str(err) else 'not writable'})") from None


def check_resources(resources: dict[str, float], opts: SearchOptions) -> None:
    """A local Ray must be able to hold one trial (Tune would leave it pending forever); a cluster may
    still be scaling up, so there it is only a warning."""
    total = ray.cluster_resources()
    short = [f"resources.{key}: got {need:g}, expected at most {total.get(key.upper(), 0):g}"
             for key, need in resources.items() if need > total.get(key.upper(), 0) + 1e-9]
    if not short:
        return
    if opts.address is None:
        hint = " (no GPU here: --num-gpus N declares logical GPUs)" if any("gpu" in s for s in short) else ""
        raise ConfigError(f"{short[0]} per trial on this machine{hint}")
    say(opts, f"waiting for the cluster to provide {short[0]} per trial (autoscaling?)")


def say(opts: SearchOptions, text: str) -> None:
    if opts.verbose:
        print(f"[explorer] {text}", file=sys.stderr, flush=True)
