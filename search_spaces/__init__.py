"""Search spaces of the protection-conflict explorer: a validated YAML format, its expansion into concrete
trial configs (grid, random) or an Optuna define-by-run space, conflict constraints, smoke versions, a cost
estimate and presets that reproduce Szyller & Asokan (AAAI 2023). Imports neither torch nor ray.

    space = search_spaces.load("search_spaces/presets/quickstart.yaml")
    exp = search_spaces.expand(space)          # exp.baselines, exp.trials: flat TrialConfig dicts
    osp = search_spaces.optuna_space(space)    # osp.suggest(trial), osp.metrics, osp.constraint_values(...)
"""

from __future__ import annotations

from pathlib import Path

from .constraints import (
    METRICS,
    Constraint,
    Objective,
    Thresholds,
    conflict_constraints,
    constraint_values,
    default_objectives,
)
from .cost import CostEstimate, estimate
from .domains import Choice, Fixed, Grid, IntRange, LogUniform, Param, Uniform
from explorer_core.errors import SpaceError
from .expand import (
    Expansion,
    baseline_groups,
    expand,
    replicates,
)
from .optuna_space import OptunaSpace, optuna_space
from .schema import Baselines, Confirm, Resources, Search, Seeds, Space, dump, to_dict
from .smoke import smoke
from .validate import load, loads, validate

__all__ = [
    "PRESETS_DIR",
    "presets",
    "SpaceError",
    "Space",
    "Seeds",
    "Baselines",
    "Search",
    "Confirm",
    "Resources",
    "Thresholds",
    "Objective",
    "Constraint",
    "METRICS",
    "Param",
    "Fixed",
    "Grid",
    "Choice",
    "Uniform",
    "LogUniform",
    "IntRange",
    "load",
    "loads",
    "validate",
    "dump",
    "to_dict",
    "Expansion",
    "expand",
    "baseline_groups",
    "replicates",
    "OptunaSpace",
    "optuna_space",
    "conflict_constraints",
    "constraint_values",
    "default_objectives",
    "smoke",
    "CostEstimate",
    "estimate",
]

#: The directory of the shipped presets.
PRESETS_DIR = Path(__file__).resolve().parent / "presets"
#: The entry-point group of other preset folders (value ``module:DIR``, a Path): the reproduction's, a plug-in's.
PRESETS_GROUP = "protection_explorer.presets"


def presets() -> dict[str, Path]:
    """Preset names (file stems) -> paths: the shipped ones, then those of every folder registered in
    :data:`PRESETS_GROUP`, by entry-point name. A folder that does not load, or a name already taken, is one line on
    stderr and skipped."""
    import sys
    from importlib import metadata

    found = {p.stem: p for p in sorted(PRESETS_DIR.glob("*.yaml"))}
    for ep in sorted(metadata.entry_points(group=PRESETS_GROUP), key=lambda e: (e.name, e.value)):
        try:
            folder = Path(ep.load())
        except Exception as err:  # noqa: BLE001 - a broken registration is reported, the rest keep working
            why = " ".join(str(err).split())  # one line, whatever the exception's message
            print(f"explorer: presets {ep.name!r} ({ep.value}) skipped: {type(err).__name__}: {why}", file=sys.stderr)
            continue
        for path in sorted(folder.glob("*.yaml")):
            if path.stem in found:
                print(f"explorer: preset {path} skipped: the name {path.stem!r} is taken by {found[path.stem]}",
                      file=sys.stderr)
                continue
            found[path.stem] = path
    return found
