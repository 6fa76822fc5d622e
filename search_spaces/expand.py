"""Concrete trials: a space expanded into flat trial-config dicts, baselines first.

Every dict is ``TrialConfig.from_dict(...).flat()``: complete, validated, with dotted keys (the Parquet
columns) and ``experiment`` set to the space's name. A mechanism's keys appear only in trials whose tuple
contains it. Random samples are drawn from a generator keyed by (search.seed, dataset, tuple, grid point,
sample index), so they are reproducible and adding samples keeps the earlier ones.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from explorer_core.config import ConfigError, TrialConfig, mechanisms_name, parse_mechanisms

from .domains import Choice, Fixed, Grid, IntRange, Param
from explorer_core.errors import SpaceError
from .knobs import KNOBS, knob_mechanism
from .schema import Space, config_error

__all__ = [
    "MAX_TRIALS",
    "Expansion",
    "expand",
    "baseline_groups",
    "upper_bound",
    "concrete",
    "replicates",
    "reference_value",
]

#: Spaces with more concrete trials than this are rejected (a typo in a grid, usually).
MAX_TRIALS = 100_000


@dataclass(frozen=True)
class Expansion:
    """The concrete trials of a space: ``baselines`` (run first) and ``trials`` (empty for optuna)."""

    baselines: tuple[dict[str, Any], ...]
    trials: tuple[dict[str, Any], ...]

    def configs(self) -> list[dict[str, Any]]:
        """Baselines then trials."""
        return [*self.baselines, *self.trials]

    def roles(self) -> list[str]:
        """``"baseline"`` or ``"trial"`` for each entry of :meth:`configs`."""
        return ["baseline"] * len(self.baselines) + ["trial"] * len(self.trials)

    def __len__(self) -> int:
        return len(self.baselines) + len(self.trials)


def baseline_groups(space: Space) -> tuple[tuple[str, ...], ...]:
    """``()`` (the undefended model) and each mechanism of the tuples alone; nothing when turned off."""
    if not space.baselines.enabled:
        return ()
    return ((), *((m,) for m in space.used_mechanisms()))


def reference_value(space: Space, key: str) -> Any:
    """The value baselines use for a sampled range: ``baselines.set`` or the knob's default."""
    if key in space.baselines.overrides:
        return space.baselines.overrides[key]
    return KNOBS[key].default


def _dims(space: Space, mechs: tuple[str, ...], *, baseline: bool) -> tuple[list[tuple[str, tuple[Any, ...]]],
                                                                            list[tuple[str, Param]]]:
    """(enumerated dims, sampled dims) for one tuple; baselines enumerate choices and fix ranges."""
    enumerated: list[tuple[str, tuple[Any, ...]]] = []
    sampled: list[tuple[str, Param]] = []
    for key, param in sorted(_baseline_knobs(space, mechs).items() if baseline else space.knobs_for(mechs).items()):
        if baseline and key in space.baselines.overrides:
            enumerated.append((key, (space.baselines.overrides[key],)))
        elif isinstance(param, (Fixed, Grid)) or (isinstance(param, Choice) and
                                                 (baseline or space.search.algorithm == "grid")):
            enumerated.append((key, param.values()))
        elif baseline:
            enumerated.append((key, (reference_value(space, key),)))
        else:
            sampled.append((key, param))
    return enumerated, sampled


def _baseline_knobs(space: Space, mechs: tuple[str, ...]) -> dict[str, Param]:
    """A baseline group's knobs: the space's, plus ``baselines.set`` keys the space leaves at their default."""
    knobs = space.knobs_for(mechs)
    extra = {k: Fixed(v) for k, v in space.baselines.overrides.items()
             if k not in knobs and knob_mechanism(k) in (None, *mechs)}
    return {**knobs, **extra}


def _points(dims: list[tuple[str, tuple[Any, ...]]]) -> Iterator[dict[str, Any]]:
    keys = [k for k, _ in dims]
    for combo in itertools.product(*(v for _, v in dims)):
        yield dict(zip(keys, combo))


def upper_bound(space: Space) -> int:
    """The number of trials before duplicates are dropped (cheap; used to refuse huge spaces)."""
    total = 0
    for _ in space.datasets:
        for g in baseline_groups(space):
            total += math.prod(len(v) for _, v in _dims(space, g, baseline=True)[0]) * len(
                space.seeds.pool_for(g))
        if space.search.algorithm == "optuna":
            continue
        for t in space.mechanisms:
            n = math.prod(len(v) for _, v in _dims(space, t, baseline=False)[0])
            total += n * (space.search.num_samples or 1) * len(space.seeds.pool_for(t))
    if space.search.algorithm == "optuna":
        total += space.search.num_samples or 0
    return total


def concrete(space: Space, dataset: str, mechanisms: tuple[str, ...] | list[str], values: Mapping[str, Any],
             seed: int = 0) -> dict[str, Any]:
    """One validated flat trial config; a bad combination is a :class:`SpaceError` at the knob's line."""
    raw = {"experiment": space.name, "dataset": dataset, "model": space.model,
           "mechanisms": mechanisms_name(tuple(mechanisms)), "seed": seed, **values}
    try:
        return TrialConfig.from_dict(raw).flat()
    except ConfigError as e:
        key, value, allowed = config_error(e, "mechanisms", raw["mechanisms"])
        config_key = key.replace("training.", "train.", 1) if key.startswith("training.") else key
        raise SpaceError(space.source, space.line_of(config_key) or space.line_of("mechanisms"), key, value,
                         allowed) from None


def _stable_seed(*parts: Any) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def _rounded(value: Any, param: Param) -> Any:
    if isinstance(param, IntRange) or not isinstance(value, float):
        return value
    r = float(f"{value:.4g}")  # readable hyperparameters; stay inside the range
    return min(max(r, param.low), param.high)  # type: ignore[union-attr]


def _sample(space: Space, sampled: list[tuple[str, Param]], *parts: Any) -> dict[str, Any]:
    rng = random.Random(_stable_seed(space.search.seed, *parts))
    return {key: _rounded(param.sample(rng), param) for key, param in sampled}  # type: ignore[union-attr]


def _identity(flat: Mapping[str, Any]) -> str:
    return json.dumps({k: v for k, v in flat.items() if k != "experiment"}, sort_keys=True, default=str)


def expand(space: Space, *, most: bool = False) -> Expansion:
    """All concrete trials of a grid or random space (for optuna: the baselines only), in run order.

    Seeds are innermost, so the replicates of a configuration are adjacent. A trial identical to a
    baseline (same config and seed) is kept once, as a baseline. With a sequential seed design these are
    the trials of the first look; ``most=True`` gives every trial the design may run (each tuple and its
    mechanisms alone at their ``max`` seeds; the undefended model, which decides no verdict, at its first).
    """
    bound = upper_bound(space)
    if bound > MAX_TRIALS:
        raise SpaceError(space.source, space.line_of("mechanisms"), "space", f"{bound} trials",
                         f"at most {MAX_TRIALS} (fewer grid values, samples or seeds)")
    seen: set[str] = set()
    baselines: list[dict[str, Any]] = []
    trials: list[dict[str, Any]] = []

    def add(into: list[dict[str, Any]], flat: dict[str, Any], seeds: tuple[int, ...]) -> None:
        for s in seeds:
            row = dict(flat, seed=s)
            ident = _identity(row)
            if ident not in seen:
                seen.add(ident)
                into.append(row)

    def seeds_of(group: tuple[str, ...]) -> tuple[int, ...]:
        return space.seeds.pool_for(group) if most and group else space.seeds.for_mechanisms(group)

    for dataset in space.datasets:
        for group in baseline_groups(space):
            for values in _points(_dims(space, group, baseline=True)[0]):
                add(baselines, concrete(space, dataset, group, values), seeds_of(group))
    if space.search.algorithm == "optuna":
        return Expansion(tuple(baselines), ())
    for dataset in space.datasets:
        for mechs in space.mechanisms:
            enumerated, sampled = _dims(space, mechs, baseline=False)
            seeds = seeds_of(mechs)
            for gi, values in enumerate(_points(enumerated)):
                if space.search.algorithm == "grid":
                    add(trials, concrete(space, dataset, mechs, values), seeds)
                    continue
                for k in range(space.search.num_samples or 1):
                    drawn = _sample(space, sampled, dataset, mechanisms_name(mechs), gi, k)
                    add(trials, concrete(space, dataset, mechs, {**values, **drawn}), seeds)
    return Expansion(tuple(baselines), tuple(trials))


def replicates(space: Space, config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The config under each seed of its tuple (e.g. to confirm a Pareto point found by Optuna)."""
    mechs = parse_mechanisms(config.get("mechanisms", ()))
    return [dict(config, seed=s) for s in space.seeds.for_mechanisms(mechs)]


