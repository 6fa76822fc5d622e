"""The Optuna side of a search: constraints handed to the study, the space's define-by-run function, and each
finished trial's constraint values against its baselines (`analysis.baselines.match_config`, the one rule)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from ray.tune.search.optuna import OptunaSearch

from analysis.baselines import match_config
from search_spaces.constraints import METRICS

__all__ = ["ConstrainedOptunaSearch", "Constraints", "Suggest", "absolute_data"]


def absolute_data(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Trials run in their own working directory (and on other nodes): resolve a relative data root here."""
    out = dict(flat)
    if out.get("data.dir") and "://" not in out["data.dir"]:
        out["data.dir"] = str(Path(out["data.dir"]).expanduser().absolute())
    return out


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


class Suggest:
    """The space's define-by-run function with data roots made absolute (picklable, for the searcher state)."""

    def __init__(self, osp: Any) -> None:
        self.osp = osp

    def __call__(self, trial: Any) -> dict[str, Any]:
        return absolute_data(self.osp.suggest(trial))


class Constraints:
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
