"""Sequential seeds (DESIGN 3.10): the trials each look adds, planned from the rows alone (no Ray).

A space with ``seeds: {min: m, max: M, step: s}`` (or ``search.confirm.seeds`` so) runs its first m seeds,
then looks at every combination config (a *cell*): the cells whose verdict is still undecided
(`analysis.conflicts.undecided`, the report's own verdict at the look's level) get the seeds of their
next look, and so do the baselines their undecided comparisons test against, the member mechanisms alone
at the same settings (each up to its own design's max; never the undefended model, which decides nothing).
Decided cells get nothing more. Planning twice from the same rows gives the same trials, and trials
already in the output are never planned again, so an interrupted look resumes and a rerun once every cell
is decided adds none.

Each trial's row says which look added it and why (`seeds_design`, `look`, `look_reason`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from analysis.baselines import baseline_settings
from analysis.conflicts import undecided
from analysis.thresholds import Thresholds
from explorer.config import TrialConfig, parse_mechanisms
from search_spaces.seeds import SeedDesign

__all__ = ["Baseline", "Cell", "LookPlan", "bounds", "confirmation_cells", "grid_cells", "plan_look", "summary",
           "with_meta"]


@dataclass(frozen=True)
class Baseline:
    """A member mechanism alone at a cell's settings: its flat config, design and seeds in order."""

    config: dict[str, Any]
    design: SeedDesign
    pool: tuple[int, ...]


@dataclass(frozen=True)
class Cell:
    """A combination config that looks may give more seeds: its flat config (any seed), its design, the seeds
    it may run in order, and its baselines."""

    config: dict[str, Any]
    design: SeedDesign
    pool: tuple[int, ...]
    baselines: tuple[Baseline, ...] = ()

    @property
    def config_id(self) -> str:
        return TrialConfig.from_dict(self.config).config_id()


@dataclass(frozen=True)
class LookPlan:
    """The trials of one look (flat configs with their row bookkeeping, `with_meta`) and the undecided
    cells they are for (`analysis.sequential.undecided` rows)."""

    look: int
    cells: pd.DataFrame
    trials: tuple[dict[str, Any], ...] = field(default=())

    @property
    def digest(self) -> str:
        """A short hash of the planned (config_id, seed) pairs: the same plan resumes the same Tune experiment."""
        keys = sorted(f"{TrialConfig.from_dict(strip(t)).config_id()}:{t['seed']}" for t in self.trials)
        return hashlib.sha256("|".join(keys).encode()).hexdigest()[:8]


def with_meta(config: Mapping[str, Any], design: SeedDesign | None, look: int, reason: str = "") -> dict[str, Any]:
    """A trial dict with the row bookkeeping of a sequential design (nothing for a fixed number of seeds)."""
    out = dict(config)
    if design is not None and design.sequential:
        out.update(_seeds_design=design.text, _look=look, _look_reason=reason)
    return out


def strip(config: Mapping[str, Any]) -> dict[str, Any]:
    """A trial dict without its bookkeeping keys: a config."""
    return {k: v for k, v in config.items() if not str(k).startswith("_")}


def _baselines(space: Any, config: Mapping[str, Any], mechs: tuple[str, ...], *, design: SeedDesign | None = None,
               seeds: Sequence[int] | None = None) -> tuple[Baseline, ...]:
    out = []
    for m in mechs:
        # the exact baseline the verdict tests against: M alone at the cell's own settings (`baselines.set`
        # moves the search's screening baselines elsewhere, but the verdict never uses those)
        flat = TrialConfig.from_dict({**baseline_settings(config, m), "seed": 0}).flat()
        own = design or space.seeds.design_for((m,))
        out.append(Baseline(flat, own, tuple(seeds) if seeds is not None else space.seeds.pool_for((m,))))
    return tuple(out)


def grid_cells(space: Any, configs: Iterable[Mapping[str, Any]]) -> list[Cell]:
    """The cells of a grid or random space: each combination config among ``configs`` (its expansion), with
    the space's seed designs for tuples and for mechanisms alone. Empty when no design is sequential."""
    if not space.seeds.sequential:
        return []
    cells: dict[str, Cell] = {}
    for config in configs:
        mechs = parse_mechanisms(config["mechanisms"])
        if len(mechs) < 2:
            continue
        flat = strip(config)
        design = space.seeds.design_for(mechs)
        cell = Cell(flat, design, space.seeds.pool_for(mechs), _baselines(space, flat, mechs))
        cells.setdefault(cell.config_id, cell)
    return list(cells.values())


def confirmation_cells(space: Any, design: SeedDesign, trials: Sequence[Mapping[str, Any]]) -> list[Cell]:
    """The cells of a confirmation: each candidate among its planned ``trials``, under the confirmation's design
    for the candidate and its baselines alike (seeds: the space's first ones, continued)."""
    from explorer.confirm import confirm_seeds

    if not design.sequential:
        return []
    cells: dict[str, Cell] = {}
    for config in trials:
        mechs = parse_mechanisms(config["mechanisms"])
        if len(mechs) < 2:
            continue
        flat = strip(config)
        pool = confirm_seeds(space.seeds.for_mechanisms(mechs), design.max)
        groups = sorted({g for c in space.constraints_for(mechs) for g in c.baseline if g != "none"} | set(mechs))
        baselines = tuple(
            Baseline(b.config, design, confirm_seeds(space.seeds.for_mechanisms((b.config["mechanisms"],)), design.max))
            for b in _baselines(space, flat, tuple(groups), design=design))
        cell = Cell(flat, design, pool, baselines)
        cells.setdefault(cell.config_id, cell)
    return list(cells.values())


def _done(rows: pd.DataFrame) -> set[tuple[str, int]]:
    if rows is None or rows.empty:
        return set()
    ok = rows[(rows["status"] == "ok").to_numpy(dtype=bool)] if "status" in rows.columns else rows
    return set(zip(ok["config_id"].astype(str), ok["seed"].astype(int)))


def plan_look(cells: Sequence[Cell], rows: pd.DataFrame, thresholds: Thresholds | None, look: int) -> LookPlan:
    """The trials that look number ``look`` adds: for every cell whose verdict over ``rows`` is undecided and
    whose design allows another look, the seeds up to that look's count, for the cell and for its baselines
    (each capped at its own design's max, never below its min). Trials already ok in ``rows`` are left out."""
    if not cells or rows is None or rows.empty:
        return LookPlan(look, pd.DataFrame())
    by_id = {c.config_id: c for c in cells}
    designs = {cid: c.design for cid, c in by_id.items()}
    mine = undecided(rows, thresholds, designs=designs)
    mine = mine[mine["config_id"].isin(list(by_id))].reset_index(drop=True)
    done = _done(rows)
    trials: dict[tuple[str, int], dict[str, Any]] = {}
    for row in mine.itertuples(index=False):
        cell = by_id[str(row.config_id)]
        target = int(row.next_n)
        why = f"{row.mechanisms} {row.config_id} undecided at {row.n} seeds: {row.reasons}"
        for s in cell.pool[:target]:
            _add(trials, done, dict(cell.config, seed=s), cell.design, look, f"look {look}: {why}")
        for base in cell.baselines:
            if base.config["mechanisms"] not in row.baselines:
                continue  # not what an undecided comparison of the cell tests against
            count = max(base.design.min, min(target, base.design.max))
            for s in base.pool[:count]:
                _add(trials, done, dict(base.config, seed=s), base.design, look, f"look {look}: baseline of {why}")
    return LookPlan(look, mine, tuple(trials.values()))


def _add(trials: dict[tuple[str, int], dict[str, Any]], done: set[tuple[str, int]], flat: dict[str, Any],
         design: SeedDesign, look: int, reason: str) -> None:
    config = TrialConfig.from_dict(flat)
    key = (config.config_id(), config.seed)
    if key in done or key in trials:
        return
    full = config.flat()
    full["experiment"] = flat.get("experiment", full["experiment"])
    trials[key] = with_meta(full, design, look, reason)


def _keys(flats: Iterable[Mapping[str, Any]]) -> set[tuple[str, int]]:
    out = set()
    for flat in flats:
        config = TrialConfig.from_dict(strip(flat))
        out.add((config.config_id(), config.seed))
    return out


def bounds(cells: Sequence[Cell], first: Iterable[Mapping[str, Any]]) -> tuple[set[tuple[str, int]],
                                                                               set[tuple[str, int]]]:
    """The (config_id, seed) keys of the first look (``first``: its trial configs) and of every trial the looks
    may add to them: each cell's and each of its baselines' seeds up to their max."""
    start = _keys(first)
    most = set(start)
    for cell in cells:
        most |= {(cell.config_id, s) for s in cell.pool}
        for base in cell.baselines:
            cid = TrialConfig.from_dict(base.config).config_id()
            most |= {(cid, s) for s in base.pool}
    return start, most


def summary(cells: Sequence[Cell], rows: pd.DataFrame, thresholds: Thresholds | None,
            first: Iterable[Mapping[str, Any]] = (), reused: int = 0) -> list[str]:
    """Lines for the end of a search: how the cells of a sequential design ended, what the looks added, and
    how many trials it ran of the most it could (``first``: the first look's trial configs, ``reused`` of
    which were in the output before it started: `explorer validate` does not count those)."""
    from analysis.conflicts import conflicts

    if not cells or rows is None or rows.empty:
        return []
    ids = {c.config_id for c in cells}
    design = {c.config_id: c.design for c in cells}
    configs = conflicts(rows, thresholds, designs=design).configs
    mine = configs[configs["config_id"].isin(list(ids))]
    start, most = bounds(cells, first)
    keys = list(zip(rows["config_id"].astype(str), rows["seed"].astype(int)))
    ours = rows[[k in most for k in keys]]
    ok = ours[(ours["status"] == "ok").to_numpy(dtype=bool)] if "status" in ours.columns else ours
    seeds = ok[ok["config_id"].isin(list(ids))].groupby("config_id")["seed"].nunique()
    looks = pd.to_numeric(ours["look"], errors="coerce") if "look" in ours.columns else pd.Series(dtype=float)
    added = ours[(looks > 0).to_numpy(dtype=bool)] if len(looks) else ours.iloc[0:0]
    grown = {str(c) for c in added["config_id"]} & ids
    counts = {v: int((mine["verdict"] == v).sum()) for v in ("conflict", "no conflict", "inconclusive")}
    per_look = ", ".join(f"look {int(k)}: {int(v)}" for k, v in looks[looks > 0].value_counts().sort_index().items())
    used = len({k for k in keys if k in most})
    lines = [f"sequential seeds: {len(ids)} cell(s): {counts['conflict']} conflict, {counts['no conflict']} no "
             f"conflict, {counts['inconclusive']} undecided; {len(ids) - len(grown)} needed only their first seeds, "
             f"{len(grown)} got more; looks added {len(added)} trial(s)" + (f" ({per_look})" if per_look else "")
             + (f"; {used - reused} trials run of at most {len(most) - reused} ({len(start) - reused} at the first "
                f"look" + (f"; {reused} more reused from the output" if reused else "") + ")" if start else "")]
    for row in mine[mine["verdict"] == "inconclusive"].itertuples(index=False):
        n = int(seeds.get(row.config_id, 0))
        d = design.get(str(row.config_id))
        where = "at its max" if d is not None and n >= d.max else "short of its max (errored or unfinished trials)"
        lines.append(f"  undecided {where}: {row.mechanisms} {row.config_id} ({row.dataset}), {n} seeds: {row.reasons}")
    return lines
