"""Terminal progress of a search, the rows of trials that errored for good, and finished trials' clean-up.

One Tune callback: a line on every trial start and end, and a heartbeat line at least every
``heartbeat_s`` seconds while trials run (with each running trial's epochs), so a search of long trials
is never silent. Its per-event work does not grow with the number of finished trials: the best feasible
point (a pass over every finished trial) is recomputed only when that costs at most 1/20 of the time
since the last recomputation, and always for the last line.

A trial that Tune retries after a failure (a lost node, an error) is counted on the line with its cause.
Each trial's attempts live in :data:`ATTEMPTS` beside its Tune files (``OUT/ray/<experiment>/<trial>/``):
the trial appends the node of each attempt when it starts (:func:`start_attempt`), and the driver writes
why an attempt ended when Tune retries it (:func:`end_attempt`); the row's ``retries``, ``nodes`` and
``retry_causes`` come from that file (:func:`attempt_columns`).
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from ray import tune

from explorer.config import TrialConfig
from explorer.outcome import retried_text
from explorer.tune.checkpoints import retire
from explorer.tune.paths import rows_uri, trial_dict, trial_meta

__all__ = ["Progress", "write_error_row", "error_message", "best_text", "ATTEMPTS", "NODE_LOST", "start_attempt",
           "end_attempt", "read_attempts", "attempt_columns", "failure_cause"]

log = logging.getLogger(__name__)

#: The best-feasible pass may take at most 1/BEST_COST_RATIO of the driver's time.
BEST_COST_RATIO = 20.0
#: Running trials named in a line; the rest are counted.
SHOWN_RUNNING = 4
#: A trial's attempts (a JSON list of ``{"node", "host", "ended"}``) in its folder under ``OUT/ray``.
ATTEMPTS = "explorer-attempts.json"
#: The cause of a retry whose trial died with its node (the Ray node's raylet died or lost contact).
NODE_LOST = "node lost"
#: What Ray 2.60 says when a trial's actor or task died with its node (the GCS's and the core worker's texts).
_NODE_MARKERS = ("because its node has died", "the node it was running on is dead", "nodediederror")


class Progress(tune.Callback):
    """Done / running / errored / total, elapsed, ETA, the best feasible point so far, running trials' epochs.

    It also writes the row of every trial that errored for good (after its retries) and retires the
    checkpoints of every trial that finished (:func:`explorer.tune.checkpoints.retire`).
    """

    def __init__(self, total: int, out: str, objectives: dict[str, str], feasible: Callable[..., Any],
                 verbose: bool, *, heartbeat_s: float = 60.0, keep_checkpoints: bool = False) -> None:
        self.total, self.out, self.objectives, self.feasible, self.verbose = total, out, objectives, feasible, verbose
        self.heartbeat_s, self.keep_checkpoints = heartbeat_s, keep_checkpoints
        self.done: dict[str, dict[str, Any]] = {}
        self.errored: set[str] = set()
        self.finished_before = 0  # trials that had ended before a resume: not part of this session's rate
        self._fresh()

    def _fresh(self) -> None:
        """What belongs to one driver session (a resumed search starts these anew)."""
        self.start = self.last_line = time.monotonic()
        self.running: dict[str, tuple[int | None, int | None]] = {}  # trial id -> (epochs done, epochs)
        self.retried: dict[str, list[str]] = {}  # trial id -> the cause of each retry in this session
        self.synced = False
        self.best: dict[str, Any] | None = None
        self.best_for = -1  # len(done) when best was computed
        self.best_at, self.best_cost = -math.inf, 0.0

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Tuner.restore unpickles the callback as it was saved: what ran then is not running now
        self.__dict__.update(state)
        self.__dict__.setdefault("heartbeat_s", 60.0)
        self.__dict__.setdefault("keep_checkpoints", False)
        self._fresh()

    # --- bookkeeping -------------------------------------------------------------------------------------

    def _sync(self, trials: list) -> None:
        """On the first event, count the trials a restored experiment had already ended (no event comes for them)."""
        if self.synced:
            return
        self.synced = True
        for t in trials:
            if t.status == "TERMINATED" and t.trial_id not in self.done:
                self._record(t)
            elif t.status == "ERROR":
                self.errored.add(t.trial_id)
        self.finished_before = len(self.done) + len(self.errored)

    def _record(self, trial: Any) -> None:
        config = trial_dict(trial.config)
        self.done[trial.trial_id] = dict(trial.last_result or {}, mechanisms=trial.config.get(
            "mechanisms", config.get("mechanisms")), config=config)

    def _best(self, final: bool) -> dict[str, Any] | None:
        now = time.monotonic()
        if self.best_for != len(self.done) and (final or now - self.best_at >= BEST_COST_RATIO * self.best_cost):
            t = time.perf_counter()
            try:
                self.best = self.feasible(list(self.done.values()), self.objectives)
            except Exception:  # noqa: BLE001 - progress text must never stop a search
                self.best = None
            self.best_cost, self.best_at, self.best_for = time.perf_counter() - t, now, len(self.done)
        return self.best

    def _running_text(self) -> str:
        parts = []
        for trial_id, (epoch, epochs) in list(self.running.items())[:SHOWN_RUNNING]:
            of = f"/{epochs}" if epochs else ""
            parts.append(f"{trial_id} epoch {epoch}{of}" if epoch is not None else f"{trial_id} starting")
        more = len(self.running) - SHOWN_RUNNING
        return ", ".join(parts) + (f", +{more} more" if more > 0 else "")

    def _line(self, *, heartbeat: bool = False) -> None:
        self.last_line = time.monotonic()
        if not self.verbose:
            return
        finished = len(self.done) + len(self.errored)
        elapsed = self.last_line - self.start
        now = finished - self.finished_before
        eta = f"{elapsed / now * (self.total - finished):.0f}s" if now > 0 else "?"
        best = self._best(final=finished >= self.total)
        best_txt = best_text(best, self.objectives)
        retried = [cause for causes in self.retried.values() for cause in causes]
        again = f", {retried_text(len(self.retried), retried)}" if self.retried else ""
        line = (f"[explorer] {len(self.done)}/{self.total} done, {len(self.running)} running, "
                f"{len(self.errored)} errored{again} | {elapsed:.0f}s elapsed, ETA {eta} | best feasible: {best_txt}")
        if heartbeat and self.running:
            line += f" | running: {self._running_text()}"
        print(line, file=sys.stderr, flush=True)

    # --- Tune's events -----------------------------------------------------------------------------------

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        if time.monotonic() - self.last_line >= self.heartbeat_s:
            self._line(heartbeat=True)

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._sync(trials)
        if trial.trial_id in self.errored:  # retried after a resume (resume_errored)
            self.errored.discard(trial.trial_id)
            self.finished_before -= 1
        epochs = trial_dict(trial.config).get("train.epochs")
        self.running[trial.trial_id] = (None, epochs if isinstance(epochs, int) else None)
        self._line()

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        if trial.trial_id in self.running and isinstance(result.get("epoch"), int):
            self.running[trial.trial_id] = (result["epoch"], self.running[trial.trial_id][1])

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._sync(trials)
        self.running.pop(trial.trial_id, None)
        self._record(trial)
        retire(trial, keep_last=self.keep_checkpoints)
        self._line()

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """Tune retries the trial from its last checkpoint: say why its attempt ended, in its attempts file (the
        retry reads it) and on the line."""
        self._sync(trials)
        self.running.pop(trial.trial_id, None)
        cause = failure_cause(trial)
        end_attempt(trial, cause)
        self.retried.setdefault(trial.trial_id, []).append(cause)
        self._line()

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._sync(trials)
        self.running.pop(trial.trial_id, None)
        self.errored.add(trial.trial_id)
        write_error_row(self.out, trial.config, trial.trial_id, error_message(trial), trial.last_result,
                        attempts=_attempts_of(trial))
        self._line()


def best_text(best: Mapping[str, Any] | None, objectives: Mapping[str, str]) -> str:
    """The best point as the line shows it: its own ``text`` when it has one, else its objectives."""
    if not best:
        return "none yet"
    if "text" in best:
        return str(best["text"])
    return ", ".join(f"{k}={best[k]:.3f}" for k in objectives if k in best)


def _last_failure(trial: Any) -> str:
    """The text of the trial's last failure in its error file (Tune appends one section per failure)."""
    path = getattr(trial, "error_file", None)
    if not path or not os.path.exists(path):
        return ""
    text = Path(path).read_text(errors="replace")
    return text.rsplit("Failure # ", 1)[-1]


def failure_cause(trial: Any) -> str:
    """Why a trial's attempt failed: :data:`NODE_LOST` when it died with its Ray node (Ray's error says so, or
    the node of its attempt is dead), else the last line of its error."""
    text = _last_failure(trial).lower()
    if any(marker in text for marker in _NODE_MARKERS) or _node_dead(_attempts_of(trial)):
        return NODE_LOST
    return error_message(trial)


def _node_dead(attempts: list[dict[str, Any]]) -> bool:
    """Whether the Ray node of the last attempt is gone: the cluster says it is dead, or its raylet does not
    answer (a node that just died is still listed alive until its health checks fail, some 30 s later)."""
    node = attempts[-1].get("node") if attempts else None
    if not node:
        return False
    try:
        import ray

        found = [n for n in ray.nodes() if n.get("NodeID") == node]
    except Exception:  # noqa: BLE001 - no Ray here (tests) or a GCS hiccup: the error text decides
        return False
    if not found:
        return False
    if not found[0].get("Alive", True):
        return True
    host, port = found[0].get("NodeManagerAddress"), found[0].get("NodeManagerPort")
    if not host or not port:
        return False
    try:
        with socket.create_connection((str(host), int(port)), timeout=2):
            return False
    except OSError:  # refused or timed out: its raylet is gone
        return True


def _attempts_path(storage: Any) -> tuple[Any, str] | None:
    try:
        return storage.storage_filesystem, f"{storage.trial_fs_path}/{ATTEMPTS}"
    except (AttributeError, RuntimeError):
        return None


def read_attempts(storage: Any) -> list[dict[str, Any]]:
    """A trial's attempts so far (``storage``: its Tune StorageContext); [] when none is recorded or readable."""
    where = _attempts_path(storage)
    if where is None:
        return []
    fs, path = where
    try:
        with fs.open_input_stream(path) as fh:
            attempts = json.loads(fh.read().decode("utf-8"))
    except (OSError, ValueError):  # not there yet (FileNotFoundError is an OSError), or torn
        return []
    return [a for a in attempts if isinstance(a, dict)] if isinstance(attempts, list) else []


def _write_attempts(storage: Any, attempts: list[dict[str, Any]]) -> None:
    where = _attempts_path(storage)
    if where is None:
        return
    fs, path = where
    try:
        fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        with fs.open_output_stream(path) as fh:  # one PUT on object stores
            fh.write(json.dumps(attempts).encode("utf-8"))
    except OSError as err:
        log.warning("could not record the attempts of a trial in %s: %s", path, err)


def start_attempt(storage: Any, node: str | None, host: str | None) -> list[dict[str, Any]]:
    """In the trial, when it starts training: append this attempt (its Ray node and host) to the trial's
    attempts and return them all."""
    attempts = [*read_attempts(storage), {"node": node, "host": host}]
    _write_attempts(storage, attempts)
    return attempts


def end_attempt(trial: Any, cause: str) -> None:
    """In the driver, when Tune retries a trial: record why its last attempt ended (an attempt that failed
    before it could record itself is added with no node)."""
    storage = getattr(trial, "storage", None)
    if storage is None:
        return
    attempts = read_attempts(storage)
    if attempts and "ended" not in attempts[-1]:
        attempts[-1]["ended"] = cause
    else:
        attempts.append({"node": None, "host": None, "ended": cause})
    _write_attempts(storage, attempts)


def _attempts_of(trial: Any) -> list[dict[str, Any]]:
    storage = getattr(trial, "storage", None)
    return read_attempts(storage) if storage is not None else []


def attempt_columns(attempts: list[dict[str, Any]]) -> dict[str, Any]:
    """The row's ``retries`` (attempts that Tune retried after a failure), ``nodes`` (the Ray node of every
    attempt, in order; JSON) and ``retry_causes`` (why each retried attempt ended; JSON)."""
    causes = [str(a["ended"]) for a in attempts if a.get("ended")]
    return {"retries": len(causes), "nodes": json.dumps([a["node"] for a in attempts if a.get("node")]),
            "retry_causes": json.dumps(causes)}


def error_message(trial: Any) -> str:
    """The last line of a Tune trial's error file."""
    path = getattr(trial, "error_file", None)
    if path and os.path.exists(path):
        lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
        if lines:
            return lines[-1].strip()
    return "trial failed (no error message recorded)"


def write_error_row(out: str, config: Mapping[str, Any], trial_id: str, message: str,
                    last: Mapping[str, Any] | None = None, attempts: list[dict[str, Any]] | None = None) -> None:
    """The ``status=error`` row of a trial that Tune gave up on; host and start come from its last report, its
    retries and nodes from its ``attempts`` when known."""
    from explorer.results import error_row, write_rows

    last = last or {}
    started = last.get("timestamp", 0) - last.get("time_total_s", 0) if last.get("timestamp") else None
    row = error_row(TrialConfig.from_dict(trial_dict(config)), message, trial_id=trial_id,
                    start=datetime.fromtimestamp(started, timezone.utc) if started else None,
                    epochs_completed=int(last.get("epoch", 0) or 0))
    row["node"] = last.get("hostname")
    row["node_id"] = last.get("node_id")
    if attempts:
        row.update(attempt_columns(attempts))
        row["node_id"] = row["node_id"] or next((a["node"] for a in reversed(attempts) if a.get("node")), None)
    else:
        row["retries"] = None  # not known: the driver did not see this trial's attempts
    row.update(trial_meta(config))
    write_rows([row], rows_uri(out, trial_id))
