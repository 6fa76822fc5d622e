"""The phases of a search (DESIGN 5): each is one Tune experiment, run or restored by :func:`run_phase` over a
:class:`Phase` value, and what they share: the rows already in OUT, the trials to run again, the progress
line's best point."""

from __future__ import annotations

import pickle
import re
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from ray import tune

from analysis.operating_points import best_point, operating_points, point_summary
from explorer.config import ConfigError, TrialConfig
from explorer.outcome import SearchInterrupted
from explorer.tune.checkpoints import sweep
from explorer.tune.dashboard import TrialRepr
from explorer.tune.paths import RAY_DIR, ROWS_DIR, join_uri, rows_uri
from explorer.tune.progress import Progress, write_error_row
from explorer.tune.session import SearchOptions, absolute
from explorer.tune.trial import trainable

__all__ = ["BestPoint", "Phase", "done_keys", "drop_stale_errors", "existing_rows", "key", "run_phase"]


def existing_rows(out: str) -> Any:
    """The rows already in OUT (the row store's), or an empty frame when there are none yet."""
    import pandas as pd

    from explorer_core import store

    try:
        return store.read_rows(join_uri(out, ROWS_DIR)).to_pandas()
    except (FileNotFoundError, OSError, ValueError):
        return pd.DataFrame()


def done_keys(rows: Any) -> set[tuple[str, int]]:
    if rows is None or len(rows) == 0:
        return set()
    ok = rows[rows["status"] == "ok"]
    return set(zip(ok["config_id"], ok["seed"].astype(int)))


def drop_stale_errors(out: str, rows: Any, keys: set[tuple[str, int]]) -> None:
    """Remove error rows of (config, seed) pairs about to run again, so each pair keeps one row."""
    from explorer_core.store import resolve

    if rows is None or len(rows) == 0:
        return
    fs, base = resolve(out)
    rerun = [(c, int(s)) in keys for c, s in zip(rows["config_id"], rows["seed"])]
    stale = rows[(rows["status"] == "error").to_numpy() & np.array(rerun, dtype=bool)]
    for trial_id in stale["trial_id"]:
        fs.delete_file(f"{base}/{ROWS_DIR}/part-{trial_id}.parquet")


def key(flat: Mapping[str, Any]) -> tuple[str, int]:
    from explorer.looks import strip

    config = TrialConfig.from_dict(strip(flat))
    return config.config_id(), config.seed


def _no_point(results: list[dict[str, Any]], objectives: dict[str, str]) -> None:
    return None


class BestPoint:
    """The progress line's best feasible point: `analysis.best_point` over the rows in OUT so far, the rule
    and function of the report's recommendation. It reads each finished trial's row once, and recomputes
    only once five times the last computation's duration has passed (at most a sixth of the driver's time);
    the line after each phase (`_final_line`) covers every row."""

    def __init__(self, out: str, rows: Any, goal: Any, mechanisms: Sequence[str]) -> None:
        self.out, self.rows, self.goal, self.mechanisms = out, rows, goal, list(mechanisms)
        self.seen: set[str] = set()
        self.last: dict[str, Any] | None = None
        self.when = self.took = 0.0

    def __call__(self, results: list[dict[str, Any]], objectives: dict[str, str]) -> dict[str, Any] | None:
        import pandas as pd

        new = [str(r["trial_id"]) for r in results if r.get("trial_id") and str(r["trial_id"]) not in self.seen]
        if not new or time.monotonic() - self.when < 5 * self.took:
            return self.last
        parts = [p for p in (self.rows, *(_read_row(self.out, t) for t in new)) if p is not None and len(p)]
        self.seen.update(new)
        self.rows = pd.concat(parts, ignore_index=True) if parts else self.rows
        self.last = self.best()
        return self.last

    def best(self) -> dict[str, Any] | None:
        """The best point of the rows held now, as ``{objective: value, ..., "text": summary}``."""
        start = time.monotonic()
        try:
            if self.rows is None or len(self.rows) == 0:
                return None
            rows = self.rows.drop_duplicates(["config_id", "seed"], keep="last")
            points = operating_points(rows, self.goal.objectives, self.goal.thresholds,
                                      constraints=self.goal.constraints or None, mechanisms=self.mechanisms)
            point = best_point(points)
        finally:
            self.when, self.took = time.monotonic(), time.monotonic() - start
        if point is None:
            return None
        summary = point_summary(point, self.goal.objectives)
        passed = point["status"] == "recommended" or (point["evidence"] != "confirmed" and bool(point["feasible"]))
        text = summary if passed else f"none yet (nearest: {summary}; misses {point['misses']})"
        return {**{k: point[k] for k in self.goal.objectives}, "text": text}


def _read_row(out: str, trial_id: str) -> Any:
    from explorer_core import store

    try:
        table = store.read_file(rows_uri(out, trial_id))
    except (OSError, ValueError):
        return None
    return None if table is None else table.to_pandas()


def _trial_dirname(trial: Any) -> str:
    return str(trial.trial_id)


def _experiment_dir(out: str, name: str, resume: bool) -> tuple[str, bool]:
    """The Tune experiment of this phase: the latest one when resuming, else a fresh timestamped one."""
    from explorer_core.store import resolve

    storage = join_uri(absolute(out), RAY_DIR)
    if resume:
        fs, base = resolve(storage)
        from pyarrow.fs import FileSelector

        try:
            infos = fs.get_file_info(FileSelector(base, allow_not_found=True))
        except OSError:
            infos = []
        pattern = re.compile(rf"{re.escape(name)}-\d{{8}}-\d{{6}}")
        candidates = sorted(i.base_name for i in infos if pattern.fullmatch(i.base_name))
        for exp in reversed(candidates):
            if tune.Tuner.can_restore(join_uri(storage, exp)):
                return join_uri(storage, exp), True
    return join_uri(storage, f"{name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"), False


def _run_phase(name: str, trainable: Any, opts: SearchOptions, resources: dict[str, float], *,
               param_space: dict | None, tune_config: tune.TuneConfig, total: int, objectives: dict[str, str],
               feasible: Any = _no_point) -> Any:
    path, restorable = _experiment_dir(opts.out, name, opts.resume)
    progress = Progress(total, opts.out, objectives, feasible, opts.verbose, heartbeat_s=opts.heartbeat_s,
                        keep_checkpoints=opts.keep_checkpoints)
    wrapped = tune.with_resources(trainable, resources)
    wrapped.__mixins__ = (TrialRepr,)  # the trial actors' repr (dashboard, log prefixes): their trial ids
    if restorable:
        if opts.verbose:
            print(f"[explorer] resuming {path}", file=sys.stderr, flush=True)
        try:
            tuner = tune.Tuner.restore(path, trainable=wrapped, resume_unfinished=True, resume_errored=True)
        except (pickle.UnpicklingError, AttributeError, ImportError, TypeError, EOFError) as err:
            # The state pickles the explorer's own classes: a state written by another version may not load.
            raise ConfigError(
                f"--resume: the saved search {path} cannot be read by this version of the explorer "
                f"({type(err).__name__}: {err}); finish it with the version that wrote it, or run the same command "
                "without --resume (the rows already written are kept, and a grid search skips their trials)") from None
    else:
        plain, sep, query = path.partition("?")
        storage, exp_name = plain.rsplit("/", 1)
        storage += sep + query
        run_config = tune.RunConfig(
            name=exp_name, storage_path=storage, callbacks=[progress], verbose=0,
            failure_config=tune.FailureConfig(max_failures=opts.retries),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2))
        tuner = tune.Tuner(wrapped, param_space=param_space, tune_config=tune_config, run_config=run_config)
    results = tuner.fit()
    _reconcile(results, opts.out)
    sweep(results.filesystem, results.experiment_path, keep_last=opts.keep_checkpoints)
    # Tune caught a SIGINT, saved its state and returned: stop here, not in the next phase. Trials it had not
    # yet created (a searcher creates them lazily) count as unfinished too, and so do the ones it was running:
    # its cleanup marks them TERMINATED (the saved state, which a resume reads, keeps them RUNNING), so a trial
    # counts as finished only with its final report.
    planned = max(len(results), total)
    reports = [results[i] for i in range(len(results))]
    finished = sum(1 for r in reports if r.error is None and (r.metrics or {}).get("status") == "ok")
    unfinished = planned - finished - results.num_errors
    if unfinished > 0:
        raise SearchInterrupted(name, unfinished, planned)
    return results


def _reconcile(results: Any, out: str) -> None:
    """Rows for errored trials whose end the driver did not see (e.g. a driver killed right after)."""
    from explorer_core.store import resolve

    fs, base = resolve(out)
    for result in results:
        trial_id = (result.metrics or {}).get("trial_id")
        if result.error is not None and trial_id:
            if fs.get_file_info(f"{base}/{ROWS_DIR}/part-{trial_id}.parquet").type.name == "NotFound":
                message = str(result.error).strip().splitlines()[-1] if str(result.error).strip() else "trial failed"
                write_error_row(out, result.config, trial_id, message, result.metrics)


def _tune_config(**kwargs: Any) -> tune.TuneConfig:
    return tune.TuneConfig(trial_dirname_creator=_trial_dirname, trial_name_creator=_trial_dirname, **kwargs)


@dataclass(frozen=True)
class Phase:
    """One Tune experiment of a search: the grid, the baselines, the Optuna search, the confirmation or one look.

    ``name`` is the experiment's (a resume restores the latest one of that name); ``configs`` the trial dicts of a
    grid phase, or ``searcher`` and ``samples`` for a searched one; ``objectives`` what the progress line shows,
    ``reports`` the metrics every report carries (an Optuna study's); ``constraints`` what the trials report for the
    study's constraints; ``feasible`` the progress line's best point."""

    name: str
    objectives: dict[str, str]
    configs: tuple[dict[str, Any], ...] = ()
    reports: tuple[str, ...] = ()  # the metrics every report carries (an Optuna study's); default: objectives
    searcher: Any = None
    samples: int = 0
    constraints: Any = None
    feasible: Callable[..., Any] = _no_point

    @property
    def total(self) -> int:
        return self.samples if self.searcher is not None else len(self.configs)


def run_phase(phase: Phase, opts: SearchOptions, resources: dict[str, float], concurrency: int | None) -> Any:
    """Run (or, with ``--resume``, restore and finish) one phase; raises :class:`SearchInterrupted` when trials are
    left unfinished (Ctrl-C). Returns Tune's ResultGrid."""
    fn = tune.with_parameters(trainable, out=opts.out, objectives=list(phase.reports or phase.objectives),
                              constraints=phase.constraints)
    if phase.searcher is not None:
        config = _tune_config(search_alg=phase.searcher, num_samples=phase.samples,
                              max_concurrent_trials=concurrency)
        return _run_phase(phase.name, fn, opts, resources, param_space=None, tune_config=config, total=phase.total,
                          objectives=phase.objectives, feasible=phase.feasible)
    return _run_phase(phase.name, fn, opts, resources, param_space={"trial": tune.grid_search(list(phase.configs))},
                      tune_config=_tune_config(max_concurrent_trials=concurrency), total=phase.total,
                      objectives=phase.objectives, feasible=phase.feasible)
