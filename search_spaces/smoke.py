"""``smoke(space)``: the same space, shrunk to run in seconds (tests, CI, ``validate --smoke``).

Tiny data subsets, one epoch, one seed per role, at most two values per grid, few random or Optuna
samples, confirmation of one candidate under two seeds, and small attack, watermark, marking and DI
budgets. Ranges of capped knobs are cut at the cap.
The result is validated; ``smoke(smoke(s)) == smoke(s)``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from explorer_core import registry, views
from .domains import Choice, Fixed, Grid, Param, is_number
from .knobs import KNOBS
from .schema import Space
from .validate import validate

__all__ = ["smoke", "SMOKE_CAPS"]

#: Upper bounds applied to knobs in a smoke space (added when the knob's mechanism is used).
SMOKE_CAPS: views.Dict[str, int] = views.Dict(lambda: {
    "data.train_subset": 256,
    "data.test_subset": 128,
    "train.epochs": 1,
    "train.batch_size": 64,
    "eval.adv_samples": 64,
    "eval.steps": 3,
    **{k: v for s in registry.specs().values() for k, v in s.smoke_caps.items()},
})
_RANDOM_SAMPLES = 2
_OPTUNA_SAMPLES = 4
_POPULATION = 2
_CONFIRM = (1, 2)  # top, seeds


def _cap(param: Param, cap: int) -> tuple[Param, Any]:
    """(capped param, the value baselines should use if it is a range, else None)."""
    if isinstance(param, Fixed):
        v = param.value
        return Fixed(min(v, cap) if is_number(v) else cap if v is None else v), None  # type: ignore[type-var]
    if isinstance(param, (Grid, Choice)):
        vals: list[Any] = []
        for v in param.values():
            c = min(v, cap) if is_number(v) else (cap if v is None else v)  # type: ignore[type-var]
            if c not in vals:
                vals.append(c)
        return (Fixed(vals[0]) if len(vals) == 1 else type(param)(tuple(vals))), None
    if param.low >= cap:  # type: ignore[union-attr]
        return Fixed(cap), None
    if param.high <= cap:  # type: ignore[union-attr]
        return param, None
    return type(param)(param.low, cap), cap  # type: ignore[union-attr,call-arg,arg-type]


def _two(param: Param) -> Param:
    if isinstance(param, (Grid, Choice)) and len(param.values()) > 2:
        return type(param)((param.values()[0], param.values()[-1]))
    return param


def smoke(space: Space) -> Space:
    """A small, valid version of ``space`` with the same structure (tuples, datasets, algorithm)."""
    used = set(space.used_mechanisms())
    knobs = {k: _two(p) for k, p in space.knobs.items()}
    overrides = dict(space.baselines.overrides)
    for key, cap in SMOKE_CAPS.items():
        mech = key.partition(".")[0]
        if mech in registry.specs() and mech not in used:
            continue
        param = knobs.get(key, Fixed(KNOBS[key].default))
        new, reference = _cap(param, cap)
        knobs[key] = new
        if reference is not None:
            overrides[key] = reference
        if key in overrides and is_number(overrides[key]):
            overrides[key] = min(overrides[key], cap)
    # one seed each, no sequential design: a smoke run checks that trials run, not verdicts
    seeds = dataclasses.replace(space.seeds, single=space.seeds.single[:1], combined=space.seeds.combined[:1],
                                single_design=None, combined_design=None)
    search = space.search
    if search.algorithm == "random":
        search = dataclasses.replace(search, num_samples=min(search.num_samples or 1, _RANDOM_SAMPLES))
    elif search.algorithm == "optuna":
        search = dataclasses.replace(search, num_samples=min(search.num_samples or 1, _OPTUNA_SAMPLES))
    if search.confirm is not None:
        confirm = dataclasses.replace(search.confirm, top=min(search.confirm.top, _CONFIRM[0]),
                                      seeds=min(search.confirm.seeds, _CONFIRM[1]), design=None)
        search = dataclasses.replace(search, confirm=confirm)
    if search.population_size is not None:
        search = dataclasses.replace(search, population_size=min(search.population_size, _POPULATION))
    name = space.name if space.name.endswith("-smoke") else (space.name[:94] + "-smoke")
    shrunk = dataclasses.replace(space, name=name, knobs=knobs, seeds=seeds, search=search,
                                 baselines=dataclasses.replace(space.baselines, overrides=overrides))
    return validate(shrunk)
