"""Ray Tune at the edge (DESIGN 5): a search's orchestration, phase by phase.

Ray is imported only under ``explorer.tune``: the worker-side trial (:mod:`explorer.tune.trial`), the Optuna
bridge (:mod:`explorer.tune.optuna_bridge`), the Ray session (:mod:`explorer.tune.session`) and the phases
(:mod:`explorer.tune.phases`: one function runs each, the grid, the baselines, the Optuna search, the
confirmation and the looks of a sequential seed design). This module decides which phases a space needs and what
each runs, from the rows already in OUT, so that a rerun or ``--resume`` runs only what is missing.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

import ray

from explorer.config import ConfigError, parse_mechanisms
from explorer.outcome import SearchOutcome, session_outcome
from explorer.tune.optuna_bridge import ConstrainedOptunaSearch, Constraints, Suggest, absolute_data
from explorer.tune.phases import BestPoint, Phase, done_keys, drop_stale_errors, existing_rows, key, run_phase
from explorer.tune.paths import rows_uri
from explorer.tune.session import (
    RayStartError,
    SearchOptions,
    absolute,
    check_resources,
    check_writable,
    init_ray,
    say,
)
from explorer.tune.trial import trainable

__all__ = ["SearchOptions", "SearchOutcome", "RayStartError", "run_search", "run_search_outcome", "run_confirm",
           "ConstrainedOptunaSearch", "rows_uri"]

# The names experiments saved by earlier versions pickled (Tune's state holds the trainable and the searcher's
# space and constraints): a --resume of such a search still finds them here.
_trainable, _Suggest, _Constraints = trainable, Suggest, Constraints


def run_search(opts: SearchOptions) -> int:
    """Run (or resume) a search; returns the number of trials that errored in it. Raises ConfigError for bad
    input."""
    return run_search_outcome(opts).errored


def run_search_outcome(opts: SearchOptions) -> SearchOutcome:
    """Run (or resume) a search; returns how the trials that ended in it did. Raises ConfigError for bad input,
    including what the trials would meet on this machine (:mod:`explorer.preflight`) before Ray starts, and
    RayStartError when a local Ray does not start."""
    import search_spaces as ss

    try:
        space = ss.load(opts.space_path)
        if opts.smoke:
            space = ss.smoke(space)
    except ss.SpaceError as err:
        raise ConfigError(str(err)) from None
    opts = replace(opts, out=absolute(opts.out))
    if os.environ.get("EXPLORER_DATA_DIR"):  # inherited by the local Ray's workers
        os.environ["EXPLORER_DATA_DIR"] = str(Path(os.environ["EXPLORER_DATA_DIR"]).expanduser().absolute())
    _preflight(space, opts)
    check_writable(opts.out)
    since = datetime.now(timezone.utc)
    init_ray(opts, space.name)
    try:
        _search(space, opts)
    finally:
        ray.shutdown()
    return session_outcome(existing_rows(opts.out), since)


def _preflight(space: Any, opts: SearchOptions) -> None:
    """Exit 2 on what would fail every affected trial here; on a cluster (whose nodes may hold data this
    machine lacks) only warn."""
    from explorer.preflight import problems, space_configs

    found = problems(absolute_data(c) for c in space_configs(space))
    if not found:
        return
    if opts.address is None:
        more = f" (and {len(found) - 1} more problems)" if len(found) > 1 else ""
        raise ConfigError(f"{space.source}: {found[0]}{more}")
    for problem in found[:5]:
        say(opts, f"warning: {problem} (on this machine; the cluster's nodes may differ)")


def _goal(space: Any) -> Any:
    """The space's objectives, thresholds and constraints as the analysis takes them (the report's too)."""
    from analysis.recorded import search_goal
    from search_spaces.record import analysis_view

    return search_goal({"name": space.name, "analysis": analysis_view(space)})


class _Runner:
    """A space's phases in one session: each runs only the trials missing from OUT (or restores its experiment
    with ``--resume``), and counts the trials that errored."""

    def __init__(self, space: Any, opts: SearchOptions) -> None:
        self.space, self.opts = space, opts
        self.resources = space.resources.as_tune()
        self.concurrency = opts.max_concurrent or space.search.max_concurrent
        self.goal = _goal(space)
        self.errors = 0

    def best(self, rows: Any) -> BestPoint:
        return BestPoint(self.opts.out, rows, self.goal, _tuples(self.space))

    def grid(self, name: str, configs: Sequence[Mapping[str, Any]], rows: Any, objectives: dict[str, str],
             reports: Sequence[str] = ()) -> None:
        """A grid phase over ``configs`` (the trials missing from OUT); with nothing to run, only a ``--resume``
        restores it (to finish what it left running)."""
        drop_stale_errors(self.opts.out, rows, {key(c) for c in configs})
        if configs or self.opts.resume:
            phase = Phase(name, objectives, configs=tuple(dict(c) for c in configs), reports=tuple(reports),
                          feasible=self.best(rows))
            self.errors += run_phase(phase, self.opts, self.resources, self.concurrency).num_errors


def _search(space: Any, opts: SearchOptions) -> int:
    import search_spaces as ss
    from explorer.confirm import write_record

    runner = _Runner(space, opts)
    check_resources(runner.resources, opts)
    write_record(space, opts.out)
    rows = existing_rows(opts.out)
    done = done_keys(rows)
    objectives = {o.metric: o.direction for o in space.search.objectives} if space.search.objectives else {"acc": "max"}

    if space.search.algorithm != "optuna":
        from explorer.looks import grid_cells, with_meta

        expansion = ss.expand(space).configs()
        configs = [with_meta(absolute_data(c), space.seeds.design_for(parse_mechanisms(c["mechanisms"])), 0)
                   for c in expansion if key(c) not in done]
        first = " (the first look of a sequential design)" if space.seeds.sequential else ""
        say(opts, f"{len(configs)} trials to run{first} ({len(expansion) - len(configs)} already in {opts.out})")
        runner.grid(space.name, configs, rows, objectives)
        _looks(runner, grid_cells(space, expansion), objectives, expansion, len({key(c) for c in expansion} & done))
        _after_search(runner)
        return runner.errors

    osp = ss.optuna_space(space)
    baselines = [absolute_data(c) for c in osp.baselines() if key(c) not in done]
    say(opts, f"baselines: {len(baselines)} to run ({len(osp.baselines()) - len(baselines)} reused)")
    runner.grid(f"{space.name}-baselines", baselines, rows, objectives, reports=osp.metrics)
    rows = existing_rows(opts.out)
    searcher = ConstrainedOptunaSearch(space=Suggest(osp), metric=list(osp.metrics), mode=list(osp.modes),
                                       sampler=osp.make_sampler(), constraint_keys=osp.constraint_names)
    phase = Phase(f"{space.name}-search", objectives, reports=tuple(osp.metrics), searcher=searcher,
                  samples=osp.num_samples, constraints=Constraints(osp, _baseline_rows(rows)),
                  feasible=runner.best(rows))
    runner.errors += run_phase(phase, opts, runner.resources, runner.concurrency).num_errors
    _after_search(runner)
    return runner.errors


def _looks(runner: _Runner, cells: Sequence[Any], objectives: dict[str, str],
           first: Sequence[Mapping[str, Any]] = (), reused: int = 0) -> None:
    """The looks of a sequential seed design (`explorer.looks`): after each, the cells still undecided get the
    seeds of their next look, with their baselines, until every cell is decided or at its max."""
    from explorer.looks import plan_look, summary

    if not cells:
        return
    opts, space = runner.opts, runner.space
    bound = 2 * max(len(c.design.looks()) for c in cells)  # a resume may replay finished looks once
    for look in range(1, bound + 1):
        rows = existing_rows(opts.out)
        plan = plan_look(cells, rows, runner.goal.thresholds, look)
        if not plan.trials:
            break
        say(opts, f"look {look}: {len(plan.cells)} undecided cell(s) get more seeds, {len(plan.trials)} trials "
                  "with their baselines")
        for cell in plan.cells.itertuples(index=False):
            say(opts, f"  {cell.mechanisms} {cell.config_id} ({cell.dataset}): {cell.n} -> {cell.next_n} seeds; "
                      f"{cell.reasons}")
        runner.grid(f"{space.name}-look{look}-{plan.digest}", [absolute_data(t) for t in plan.trials], rows,
                    objectives)
    for line in summary(cells, existing_rows(opts.out), runner.goal.thresholds, first, reused):
        say(opts, line)


def _tuples(space: Any) -> list[str]:
    """The space's mechanism tuples as `mechanisms` values ("dp+wm"): the candidates of its operating points."""
    from explorer.config import mechanisms_name

    return [mechanisms_name(t) for t in space.mechanisms]


def _baseline_rows(rows: Any) -> Any:
    """The ok rows of the undefended model and of single mechanisms: what baselines are made of."""
    if rows is None or len(rows) == 0:
        return rows
    single = rows["mechanisms"].map(lambda m: len(parse_mechanisms(m)) <= 1).to_numpy(dtype=bool)
    return rows[single & (rows["status"] == "ok").to_numpy(dtype=bool)].reset_index(drop=True)


def _after_search(runner: _Runner) -> None:
    """Confirmation when the space asks for it, then the final best point."""
    confirm = runner.space.search.confirm
    if confirm is not None:
        _confirm(runner, confirm.top, confirm.seed_design())
    else:
        _final_line(runner)


def _confirmation_trials(space: Any, opts: SearchOptions, top: int, design: Any
                         ) -> tuple[list[dict[str, Any]], Any, list[Any], list[dict[str, Any]], int]:
    """The confirmation trials missing from OUT (`explorer.confirm.plan_confirmation`: the first look of a
    sequential design), the rows read, the cells later looks may add seeds to, the whole first look and how many
    of its trials OUT held already."""
    from explorer.confirm import plan_confirmation
    from explorer.looks import confirmation_cells, with_meta

    rows = existing_rows(opts.out)
    plan = plan_confirmation(space, rows, top=top, seeds=design.min)
    for text in plan.skipped:
        say(opts, f"confirmation skips {text}")
    configs = [with_meta(absolute_data(c), design, 0) for c in plan.trials if key(c) not in done_keys(rows)]
    seeds = f"{design.min}-{design.max} seeds (first look: {design.min})" if design.sequential else \
        f"{design.min} seeds"
    say(opts, f"confirmation: {len(plan.candidates)} candidate(s) x {seeds} with their baselines at the "
              f"same settings: {len(configs)} trials to run ({len(plan.trials) - len(configs)} already in {opts.out})")
    return configs, rows, confirmation_cells(space, design, plan.trials), list(plan.trials), \
        len(plan.trials) - len(configs)


def _confirm(runner: _Runner, top: int, design: Any,
             planned: tuple[list[dict[str, Any]], Any, list[Any], list[dict[str, Any]], int] | None = None) -> None:
    """Run the confirmation trials missing from OUT, then its looks (a sequential design), then print the best
    point over all rows."""
    space = runner.space
    configs, rows, cells, first, reused = planned or _confirmation_trials(space, runner.opts, top, design)
    if configs:
        runner.grid(f"{space.name}-confirm", configs, rows, runner.goal.objectives)
    _looks(runner, cells, runner.goal.objectives, first, reused)
    _final_line(runner)


def _final_line(runner: _Runner) -> None:
    best = runner.best(existing_rows(runner.opts.out)).best()
    from explorer.tune.progress import best_text

    say(runner.opts, f"best feasible over all rows in {runner.opts.out}: {best_text(best, runner.goal.objectives)}")


def run_confirm(opts: SearchOptions, *, top: int | None = None, seeds: int | None = None,
                space_name: str | None = None) -> int:
    """`explorer confirm OUT`: confirm the best candidates of the search recorded in OUT (resumable: only
    trials missing from OUT run). Returns the number of errored trials; ConfigError for bad input."""
    from explorer.confirm import read_space
    from explorer.looks import plan_look
    from search_spaces.schema import Confirm
    from search_spaces.seeds import SeedDesign

    opts = replace(opts, out=absolute(opts.out))
    space = read_space(opts.out, space_name)
    if space.search.algorithm == "grid":
        raise ConfigError(f"OUT: got the grid search {space.name!r}, expected an Optuna or random search (a grid "
                          "runs every config under its seeds with exact baselines already)")
    default = space.search.confirm or Confirm()
    top = top or default.top
    design = SeedDesign(seeds, seeds) if seeds else default.seed_design()
    check_writable(opts.out)
    planned = _confirmation_trials(space, opts, top, design)
    runner = _Runner(space, opts)
    if not planned[0] and not plan_look(planned[2], planned[1], runner.goal.thresholds, 1).trials:
        _final_line(runner)  # nothing missing: no Ray needed
        return 0
    init_ray(opts)
    try:
        check_resources(runner.resources, opts)
        _confirm(runner, top, design, planned)
        return runner.errors
    finally:
        ray.shutdown()
