"""Ray Tune at the edge (DESIGN 5): the trainable, the search driver, the Optuna constraint bridge.

Ray is imported only under ``explorer.tune``. Everything comes from ``ray.tune`` (Ray 2.60 runs Train v2, whose
``ray.train.*`` objects are not meant for Tune). One trial is one config x one seed; it checkpoints each
epoch, reports every objective in every report, and writes its Parquet row itself when it ends.
Errored trials get their row from the driver once Tune has given up retrying them.
"""

from __future__ import annotations

import math
import os
import pickle
import re
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import ray
from ray import tune
from ray.tune.search.optuna import OptunaSearch

from analysis.baselines import match_config
from analysis.operating_points import best_point, operating_points, point_summary
from explorer.config import ConfigError, TrialConfig, parse_mechanisms
from explorer.outcome import SearchInterrupted, SearchOutcome, session_outcome
from explorer.tune.checkpoints import is_retired, sweep
from explorer.tune.dashboard import TrialRepr, job_config, login_hint
from explorer.tune.paths import RAY_DIR, ROWS_DIR, join_uri, rows_uri, trial_dict, trial_meta
from explorer.tune.progress import Progress, attempt_columns, best_text, start_attempt, write_error_row
from search_spaces.constraints import METRICS

__all__ = ["SearchOptions", "SearchOutcome", "run_search", "run_search_outcome", "run_confirm",
           "ConstrainedOptunaSearch",
           "rows_uri"]

# --- the trainable ------------------------------------------------------------------------------------


def _limit_resources() -> None:
    import torch

    resources = tune.get_context().get_trial_resources().required_resources
    torch.set_num_threads(max(1, int(resources.get("CPU", 1))))
    share = float(resources.get("GPU", 0))
    if 0 < share < 1 and torch.cuda.is_available():
        # Ray's fractions are bookkeeping only: a trial caps its own share of the GPU memory.
        torch.cuda.set_per_process_memory_fraction(share)


def _trainable(config: dict[str, Any], *, out: str, objectives: Sequence[str] = (), constraints: Any = None) -> None:
    import torch

    from explorer.results import build_row, write_rows
    from explorer.train import snapshot, train

    _limit_resources()
    trial_config = TrialConfig.from_dict(trial_dict(config))
    trial_id = tune.get_context().get_trial_id()
    resume = None
    checkpoint = tune.get_checkpoint()
    row = _finished_row(checkpoint, out, trial_id)
    if checkpoint is not None and row is None:
        with checkpoint.as_directory() as d:
            state = Path(d) / "state.pt"  # absent when retired: the trial trains again if its row is gone
            resume = torch.load(state, weights_only=True) if state.exists() else None
    start = datetime.fromtimestamp(resume["extra"]["start"], timezone.utc) if resume else datetime.now(timezone.utc)
    placeholders = {k: float("nan") for k in objectives}

    def on_epoch(epoch: int, info: dict[str, float], run: Any) -> None:
        with tempfile.TemporaryDirectory() as d:
            torch.save(snapshot(run, epoch + 1, **info, start=start.timestamp()), Path(d) / "state.pt")
            tune.report({**placeholders, "epoch": epoch + 1, "loss": info["loss"], "acc": info["acc"]},
                        checkpoint=tune.Checkpoint.from_directory(d))

    if row is None:
        node_id = ray.get_runtime_context().get_node_id()
        # this attempt's node joins the trial's earlier ones (a retry after a lost node ran elsewhere)
        attempts = start_attempt(tune.get_context().get_storage(), node_id, socket.gethostname())
        output = train(trial_config, on_epoch=on_epoch, resume_from=resume)
        row = build_row(trial_config, output, trial_id=trial_id, start=start, end=datetime.now(timezone.utc))
        row["node_id"] = node_id
        row.update(attempt_columns(attempts))
        row.update(trial_meta(config))
        write_rows([row], rows_uri(out, trial_id))
    final: dict[str, Any] = {k: v for k, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    final.update({"epoch": trial_config.train.epochs, "node": row["node"], "node_id": row["node_id"], "status": "ok",
                  "config_id": row["config_id"], "mechanisms": row["mechanisms"]})
    if constraints is not None:
        final.update(constraints(row))
    tune.report(final)


def _finished_row(checkpoint: Any, out: str, trial_id: str) -> dict[str, Any] | None:
    """The row of a trial restored from a retired checkpoint (:mod:`explorer.tune.checkpoints`): it had
    finished before the driver was killed, so it reports that row instead of training again."""
    from explorer.results import read_row_file

    if checkpoint is None:
        return None
    with checkpoint.as_directory() as d:
        if not is_retired(d):
            return None
    rows = read_row_file(rows_uri(out, trial_id))
    return rows[0] if rows else None


# --- the Optuna constraint bridge -------------------------------------------------------------------


class ConstrainedOptunaSearch(OptunaSearch):
    """OptunaSearch that records metric-based constraints (Optuna 5's ``Trial.set_constraint``) before ``tell``.

    Ray's OptunaSearch passes no constraints; the trainable reports ``constraint.<name>`` values (<= 0 is
    feasible) and this subclass hands them to the study, so NSGA-II/TPE rank feasible points first and
    ``study.best_trials`` holds feasible trials only.
    """

    def __init__(self, *args: Any, constraint_keys: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._constraint_keys = tuple(constraint_keys)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        ot_trial = self._ot_trials.get(trial_id)
        if ot_trial is not None and result:
            for key in self._constraint_keys:
                value = result.get(f"constraint.{key}")
                if value is not None:
                    ot_trial.set_constraint(key, float(value) if math.isfinite(value) else 1e12)
        super().on_trial_complete(trial_id, result=result, error=error)

    @property
    def study(self) -> Any:
        return self._ot_study


# --- the driver ------------------------------------------------------------------------------------------


@dataclass
class SearchOptions:
    """What ``explorer search`` was asked for."""

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


def _check_address(address: str) -> None:
    if address == "auto":
        return
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=5):
            pass
    except (OSError, ValueError):
        raise ConfigError(f"--address: got {address!r}, expected a reachable Ray head as HOST:PORT or 'auto' "
                          "(is the cluster up? `ray status` on the head)") from None


def _init_ray(opts: SearchOptions, space_name: str = "") -> None:
    os.environ.setdefault("RAY_TRAIN_ENABLE_V2_MIGRATION_WARNINGS", "0")
    # one checkpoint per epoch is what resuming needs; Tune's snapshot-frequency warning is noise here
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    job = job_config(space_name, opts.space_path, opts.out)
    if opts.address:
        _check_address(opts.address)
        try:
            context = ray.init(address=opts.address, log_to_driver=False, job_config=job)
        except ConnectionError as err:
            raise ConfigError(f"--address: got {opts.address!r}, expected a running Ray cluster ({err})") from None
    else:
        context = ray.init(address="local", num_cpus=opts.num_cpus, num_gpus=opts.num_gpus,  # type: ignore[arg-type]
                           include_dashboard=True, dashboard_host="127.0.0.1", log_to_driver=False, job_config=job)
    url = getattr(context, "dashboard_url", None)
    _say(opts, f"Ray dashboard: http://{url} (job '{job.metadata['job_name']}')" if url else
         "Ray dashboard: not running")
    if url:
        _say(opts, f"dashboard login: {login_hint()}")


def _absolute(out: str) -> str:
    return out if "://" in out else str(Path(out).expanduser().absolute())


def _check_writable(out: str) -> None:
    from explorer.results import resolve

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


def _existing_rows(out: str) -> Any:
    from explorer.results import resolve

    import pandas as pd
    import pyarrow.dataset as ds

    fs, base = resolve(out)
    try:
        dataset = ds.dataset(f"{base}/{ROWS_DIR}", filesystem=fs, format="parquet", exclude_invalid_files=True)
        return dataset.to_table().to_pandas()
    except (FileNotFoundError, OSError, ValueError):
        return pd.DataFrame()


def _done_keys(rows: Any) -> set[tuple[str, int]]:
    if rows is None or len(rows) == 0:
        return set()
    ok = rows[rows["status"] == "ok"]
    return set(zip(ok["config_id"], ok["seed"].astype(int)))


def _absolute_data(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Trials run in their own working directory (and on other nodes): resolve a relative data root here."""
    out = dict(flat)
    if out.get("data.dir") and "://" not in out["data.dir"]:
        out["data.dir"] = str(Path(out["data.dir"]).expanduser().absolute())
    return out


class _Suggest:
    """The space's define-by-run function with data roots made absolute (picklable, for the searcher state)."""

    def __init__(self, osp: Any) -> None:
        self.osp = osp

    def __call__(self, trial: Any) -> dict[str, Any]:
        return _absolute_data(self.osp.suggest(trial))


def _drop_stale_errors(out: str, rows: Any, keys: set[tuple[str, int]]) -> None:
    """Remove error rows of (config, seed) pairs about to run again, so each pair keeps one row."""
    from explorer.results import resolve

    if rows is None or len(rows) == 0:
        return
    fs, base = resolve(out)
    rerun = [(c, int(s)) in keys for c, s in zip(rows["config_id"], rows["seed"])]
    stale = rows[(rows["status"] == "error").to_numpy() & np.array(rerun, dtype=bool)]
    for trial_id in stale["trial_id"]:
        fs.delete_file(f"{base}/{ROWS_DIR}/part-{trial_id}.parquet")


def _key(flat: Mapping[str, Any]) -> tuple[str, int]:
    from explorer.looks import strip

    config = TrialConfig.from_dict(strip(flat))
    return config.config_id(), config.seed


class _Constraints:
    """The Optuna constraints of a finished trial (``constraint.<name>``, <= 0 feasible) against its
    baselines as the analysis finds them (`analysis.baselines.match_config`: exact, else the nearest, a
    screening estimate), and how they matched (``baselines``). Picklable: it travels to the trials."""

    def __init__(self, osp: Any, baseline_rows: Any) -> None:
        self.osp, self.rows = osp, baseline_rows

    def __call__(self, row: Mapping[str, Any]) -> dict[str, Any]:
        from explorer.config import parse_mechanisms

        mechs = parse_mechanisms(row.get("mechanisms", ()))
        groups = sorted({g for c in self.osp.constraints_for(mechs) for g in c.baseline})
        matches = {g: match_config(row, self.rows, g, list(METRICS)) for g in groups}
        means = {g: m.means for g, m in matches.items() if m.match != "missing"}
        try:
            values = self.osp.constraint_values(row, means)
        except ValueError:  # a baseline is missing: this point cannot be shown feasible
            values = {k: math.inf for k in self.osp.constraint_names}
        labels = [f"{g} {m.label}" for g, m in matches.items() if m.match != "exact"]
        return {**{f"constraint.{k}": v for k, v in values.items()}, "baselines": ", ".join(labels) or "exact"}


def _no_point(results: list[dict[str, Any]], objectives: dict[str, str]) -> None:
    return None


class _BestPoint:
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
    from explorer.results import resolve

    import pyarrow.parquet as pq

    fs, path = resolve(rows_uri(out, trial_id))
    try:
        return pq.read_table(path, filesystem=fs).to_pandas()
    except (OSError, ValueError):
        return None


def _trial_dirname(trial: Any) -> str:
    return str(trial.trial_id)


def _experiment_dir(out: str, name: str, resume: bool) -> tuple[str, bool]:
    """The Tune experiment of this phase: the latest one when resuming, else a fresh timestamped one."""
    from explorer.results import resolve

    storage = join_uri(_absolute(out), RAY_DIR)
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
    from explorer.results import resolve

    fs, base = resolve(out)
    for result in results:
        trial_id = (result.metrics or {}).get("trial_id")
        if result.error is not None and trial_id:
            if fs.get_file_info(f"{base}/{ROWS_DIR}/part-{trial_id}.parquet").type.name == "NotFound":
                message = str(result.error).strip().splitlines()[-1] if str(result.error).strip() else "trial failed"
                write_error_row(out, result.config, trial_id, message, result.metrics)


def run_search(opts: SearchOptions) -> int:
    """Run (or resume) a search; returns the number of trials that errored in it. Raises ConfigError for bad
    input."""
    return run_search_outcome(opts).errored


def run_search_outcome(opts: SearchOptions) -> SearchOutcome:
    """Run (or resume) a search; returns how the trials that ended in it did. Raises ConfigError for bad input,
    including what the trials would meet on this machine (:mod:`explorer.preflight`) before Ray starts."""
    import search_spaces as ss

    try:
        space = ss.load(opts.space_path)
        if opts.smoke:
            space = ss.smoke(space)
    except ss.SpaceError as err:
        raise ConfigError(str(err)) from None
    opts.out = _absolute(opts.out)
    if os.environ.get("EXPLORER_DATA_DIR"):  # inherited by the local Ray's workers
        os.environ["EXPLORER_DATA_DIR"] = str(Path(os.environ["EXPLORER_DATA_DIR"]).expanduser().absolute())
    _preflight(space, opts)
    _check_writable(opts.out)
    since = datetime.now(timezone.utc)
    _init_ray(opts, space.name)
    try:
        _search(space, opts)
    finally:
        ray.shutdown()
    return session_outcome(_existing_rows(opts.out), since)


def _preflight(space: Any, opts: SearchOptions) -> None:
    """Exit 2 on what would fail every affected trial here; on a cluster (whose nodes may hold data this
    machine lacks) only warn."""
    from explorer.preflight import problems, space_configs

    found = problems(_absolute_data(c) for c in space_configs(space))
    if not found:
        return
    if opts.address is None:
        more = f" (and {len(found) - 1} more problems)" if len(found) > 1 else ""
        raise ConfigError(f"{space.source}: {found[0]}{more}")
    for problem in found[:5]:
        _say(opts, f"warning: {problem} (on this machine; the cluster's nodes may differ)")


def _tune_config(**kwargs: Any) -> tune.TuneConfig:
    return tune.TuneConfig(trial_dirname_creator=_trial_dirname, trial_name_creator=_trial_dirname, **kwargs)


def _check_resources(resources: dict[str, float], opts: SearchOptions) -> None:
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
    _say(opts, f"waiting for the cluster to provide {short[0]} per trial (autoscaling?)")


def _goal(space: Any) -> Any:
    """The space's objectives, thresholds and constraints as the analysis takes them (the report's too)."""
    from analysis.recorded import search_goal
    from search_spaces.record import analysis_view

    return search_goal({"name": space.name, "analysis": analysis_view(space)})


def _search(space: Any, opts: SearchOptions) -> int:
    import search_spaces as ss
    from explorer.confirm import write_record

    resources = space.resources.as_tune()
    _check_resources(resources, opts)
    concurrency = opts.max_concurrent or space.search.max_concurrent
    write_record(space, opts.out)
    goal = _goal(space)
    rows = _existing_rows(opts.out)
    done = _done_keys(rows)
    objectives = {o.metric: o.direction for o in space.search.objectives} if space.search.objectives else {"acc": "max"}
    name = space.name
    errors = 0

    if space.search.algorithm != "optuna":
        from explorer.looks import grid_cells, with_meta

        expansion = ss.expand(space).configs()
        configs = [with_meta(_absolute_data(c), space.seeds.design_for(parse_mechanisms(c["mechanisms"])), 0)
                   for c in expansion if _key(c) not in done]
        _drop_stale_errors(opts.out, rows, {_key(c) for c in configs})
        first = " (the first look of a sequential design)" if space.seeds.sequential else ""
        _say(opts, f"{len(configs)} trials to run{first} ({len(expansion) - len(configs)} already in {opts.out})")
        if configs or opts.resume:
            trainable = tune.with_parameters(_trainable, out=opts.out, objectives=list(objectives))
            results = _run_phase(name, trainable, opts, resources, param_space={"trial": tune.grid_search(configs)},
                                 tune_config=_tune_config(max_concurrent_trials=concurrency), total=len(configs),
                                 objectives=objectives, feasible=_BestPoint(opts.out, rows, goal, _tuples(space)))
            errors = results.num_errors
        errors += _looks(space, opts, grid_cells(space, expansion), goal, objectives, expansion,
                         len({_key(c) for c in expansion} & done))
        return errors + _after_search(space, opts, goal)

    osp = ss.optuna_space(space)
    baselines = [_absolute_data(c) for c in osp.baselines() if _key(c) not in done]
    _drop_stale_errors(opts.out, rows, {_key(c) for c in baselines})
    _say(opts, f"baselines: {len(baselines)} to run ({len(osp.baselines()) - len(baselines)} reused)")
    if baselines or opts.resume:
        base_trainable = tune.with_parameters(_trainable, out=opts.out, objectives=list(osp.metrics))
        _run_phase(f"{name}-baselines", base_trainable, opts, resources,
                   param_space={"trial": tune.grid_search(baselines)},
                   tune_config=_tune_config(max_concurrent_trials=concurrency), total=len(baselines),
                   objectives=objectives, feasible=_BestPoint(opts.out, rows, goal, _tuples(space)))
    rows = _existing_rows(opts.out)
    searcher = ConstrainedOptunaSearch(space=_Suggest(osp), metric=list(osp.metrics), mode=list(osp.modes),
                                       sampler=osp.make_sampler(), constraint_keys=osp.constraint_names)
    trainable = tune.with_parameters(_trainable, out=opts.out, objectives=list(osp.metrics),
                                     constraints=_Constraints(osp, _baseline_rows(rows)))
    progress = _BestPoint(opts.out, rows, goal, _tuples(space))
    results = _run_phase(f"{name}-search", trainable, opts, resources, param_space=None,
                         tune_config=_tune_config(search_alg=searcher, num_samples=osp.num_samples,
                                                  max_concurrent_trials=concurrency),
                         total=osp.num_samples, objectives=objectives, feasible=progress)
    return results.num_errors + _after_search(space, opts, goal)


def _looks(space: Any, opts: SearchOptions, cells: Sequence[Any], goal: Any, objectives: dict[str, str],
           first: Sequence[Mapping[str, Any]] = (), reused: int = 0) -> int:
    """The looks of a sequential seed design (`explorer.looks`): after each, the cells still undecided get the
    seeds of their next look, with their baselines, until every cell is decided or at its max. Returns the
    trials that errored."""
    from explorer.looks import plan_look, summary

    if not cells:
        return 0
    errors = 0
    bound = 2 * max(len(c.design.looks()) for c in cells)  # a resume may replay finished looks once
    concurrency = opts.max_concurrent or space.search.max_concurrent
    trainable = tune.with_parameters(_trainable, out=opts.out, objectives=list(objectives))
    for look in range(1, bound + 1):
        rows = _existing_rows(opts.out)
        plan = plan_look(cells, rows, goal.thresholds, look)
        if not plan.trials:
            break
        _say(opts, f"look {look}: {len(plan.cells)} undecided cell(s) get more seeds, {len(plan.trials)} trials "
                   "with their baselines")
        for cell in plan.cells.itertuples(index=False):
            _say(opts, f"  {cell.mechanisms} {cell.config_id} ({cell.dataset}): {cell.n} -> {cell.next_n} seeds; "
                       f"{cell.reasons}")
        configs = [_absolute_data(t) for t in plan.trials]
        _drop_stale_errors(opts.out, rows, {_key(c) for c in configs})
        results = _run_phase(f"{space.name}-look{look}-{plan.digest}", trainable, opts, space.resources.as_tune(),
                             param_space={"trial": tune.grid_search(configs)},
                             tune_config=_tune_config(max_concurrent_trials=concurrency), total=len(configs),
                             objectives=objectives, feasible=_BestPoint(opts.out, rows, goal, _tuples(space)))
        errors += results.num_errors
    for line in summary(cells, _existing_rows(opts.out), goal.thresholds, first, reused):
        _say(opts, line)
    return errors


def _tuples(space: Any) -> list[str]:
    """The space's mechanism tuples as `mechanisms` values ("dp+wm"): the candidates of its operating points."""
    from explorer.config import mechanisms_name

    return [mechanisms_name(t) for t in space.mechanisms]


def _baseline_rows(rows: Any) -> Any:
    """The ok rows of the undefended model and of single mechanisms: what baselines are made of."""
    from explorer.config import parse_mechanisms

    if rows is None or len(rows) == 0:
        return rows
    single = rows["mechanisms"].map(lambda m: len(parse_mechanisms(m)) <= 1).to_numpy(dtype=bool)
    return rows[single & (rows["status"] == "ok").to_numpy(dtype=bool)].reset_index(drop=True)


def _after_search(space: Any, opts: SearchOptions, goal: Any) -> int:
    """Confirmation when the space asks for it, then the final best point; returns the errored trials."""
    confirm = space.search.confirm
    if confirm is not None:
        return _confirm(space, opts, confirm.top, confirm.seed_design(), goal)
    _final_line(space, opts, goal)
    return 0


def _confirmation_trials(space: Any, opts: SearchOptions, top: int, design: Any
                         ) -> tuple[list[dict[str, Any]], Any, list[Any], list[dict[str, Any]], int]:
    """The confirmation trials missing from OUT (`explorer.confirm.plan_confirmation`: the first look of a
    sequential design), the rows read, the cells later looks may add seeds to, the whole first look and how many
    of its trials OUT held already."""
    from explorer.confirm import plan_confirmation
    from explorer.looks import confirmation_cells, with_meta

    rows = _existing_rows(opts.out)
    plan = plan_confirmation(space, rows, top=top, seeds=design.min)
    for text in plan.skipped:
        _say(opts, f"confirmation skips {text}")
    configs = [with_meta(_absolute_data(c), design, 0) for c in plan.trials if _key(c) not in _done_keys(rows)]
    seeds = f"{design.min}-{design.max} seeds (first look: {design.min})" if design.sequential else \
        f"{design.min} seeds"
    _say(opts, f"confirmation: {len(plan.candidates)} candidate(s) x {seeds} with their baselines at the "
               f"same settings: {len(configs)} trials to run ({len(plan.trials) - len(configs)} already in {opts.out})")
    return configs, rows, confirmation_cells(space, design, plan.trials), list(plan.trials), \
        len(plan.trials) - len(configs)


def _confirm(space: Any, opts: SearchOptions, top: int, design: Any, goal: Any,
             planned: tuple[list[dict[str, Any]], Any, list[Any], list[dict[str, Any]], int] | None = None) -> int:
    """Run the confirmation trials missing from OUT, then its looks (a sequential design), then print the best
    point over all rows."""
    configs, rows, cells, first, reused = planned or _confirmation_trials(space, opts, top, design)
    _drop_stale_errors(opts.out, rows, {_key(c) for c in configs})
    errors = 0
    if configs:
        concurrency = opts.max_concurrent or space.search.max_concurrent
        trainable = tune.with_parameters(_trainable, out=opts.out, objectives=list(goal.objectives))
        results = _run_phase(f"{space.name}-confirm", trainable, opts, space.resources.as_tune(),
                             param_space={"trial": tune.grid_search(configs)},
                             tune_config=_tune_config(max_concurrent_trials=concurrency), total=len(configs),
                             objectives=goal.objectives, feasible=_BestPoint(opts.out, rows, goal, _tuples(space)))
        errors = results.num_errors
    errors += _looks(space, opts, cells, goal, goal.objectives, first, reused)
    _final_line(space, opts, goal)
    return errors


def _final_line(space: Any, opts: SearchOptions, goal: Any) -> None:
    best = _BestPoint(opts.out, _existing_rows(opts.out), goal, _tuples(space)).best()
    _say(opts, f"best feasible over all rows in {opts.out}: {best_text(best, goal.objectives)}")


def run_confirm(opts: SearchOptions, *, top: int | None = None, seeds: int | None = None,
                space_name: str | None = None) -> int:
    """`explorer confirm OUT`: confirm the best candidates of the search recorded in OUT (resumable: only
    trials missing from OUT run). Returns the number of errored trials; ConfigError for bad input."""
    from explorer.confirm import read_space
    from explorer.looks import plan_look
    from search_spaces.schema import Confirm
    from search_spaces.seeds import SeedDesign

    opts.out = _absolute(opts.out)
    space = read_space(opts.out, space_name)
    if space.search.algorithm == "grid":
        raise ConfigError(f"OUT: got the grid search {space.name!r}, expected an Optuna or random search (a grid "
                          "runs every config under its seeds with exact baselines already)")
    default = space.search.confirm or Confirm()
    top = top or default.top
    design = SeedDesign(seeds, seeds) if seeds else default.seed_design()
    _check_writable(opts.out)
    planned = _confirmation_trials(space, opts, top, design)
    if not planned[0] and not plan_look(planned[2], planned[1], _goal(space).thresholds, 1).trials:
        _final_line(space, opts, _goal(space))  # nothing missing: no Ray needed
        return 0
    _init_ray(opts)
    try:
        _check_resources(space.resources.as_tune(), opts)
        return _confirm(space, opts, top, design, _goal(space), planned)
    finally:
        ray.shutdown()


def _say(opts: SearchOptions, text: str) -> None:
    if opts.verbose:
        print(f"[explorer] {text}", file=sys.stderr, flush=True)
