"""The Optuna side of a space: a define-by-run function, objectives and constraints (no Ray import).

The engine passes :meth:`OptunaSpace.suggest` as ``OptunaSearch(space=...)`` (Ray calls it with a
wrapper around ``optuna.Trial``; the returned dict is the whole flat trial config), ``metrics``/``modes``
as ``OptunaSearch(metric=..., mode=...)``, and after each trial sets
``trial.set_constraint(name, value)`` for every item of :meth:`OptunaSpace.constraint_values`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from explorer_core.config import mechanisms_name, parse_mechanisms

from .constraints import Constraint
from .domains import Fixed, Grid
from .expand import concrete, expand
from .schema import Space

__all__ = ["OptunaSpace", "optuna_space", "MECHANISMS_PARAM"]

#: The categorical parameter that picks the tuple when a space has several.
MECHANISMS_PARAM = "mechanisms"


@dataclass(frozen=True)
class OptunaSpace:
    """Everything the engine needs for a constrained multi-objective Optuna search over one space."""

    space: Space

    # -- the search space --------------------------------------------------------------------------------

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Define-by-run: pick the tuple (categorical, if several), then that tuple's knobs only.

        Grids and choices are categorical, ``uniform``/``loguniform`` floats, ``int`` integers; fixed values
        are not parameters. Every trial runs with the first seed of its tuple (see
        :func:`search_spaces.replicates` to rerun a chosen point under all seeds).
        """
        space = self.space
        names = [mechanisms_name(t) for t in space.mechanisms]
        name = trial.suggest_categorical(MECHANISMS_PARAM, names) if len(names) > 1 else names[0]
        mechs = parse_mechanisms(name)
        values: dict[str, Any] = {}
        for key, param in sorted(space.knobs_for(mechs).items()):
            if isinstance(param, Fixed):
                values[key] = param.value
            elif isinstance(param, Grid):
                values[key] = trial.suggest_categorical(key, list(param.values()))
            else:
                values[key] = param.suggest(trial, key)  # type: ignore[union-attr]
        seed = space.seeds.for_mechanisms(mechs)[0]
        return concrete(space, space.datasets[0], mechs, values, seed=seed)

    def baselines(self) -> tuple[dict[str, Any], ...]:
        """The baseline trials to run (and average) before the study starts."""
        return expand(self.space).baselines

    # -- objectives ---------------------------------------------------------------------------------------

    @property
    def metrics(self) -> list[str]:
        """Objective metric names, for ``OptunaSearch(metric=...)``; every trial reports all of them."""
        return [o.metric for o in self.space.search.objectives]

    @property
    def modes(self) -> list[str]:
        """``"max"``/``"min"`` per objective, for ``OptunaSearch(mode=...)``."""
        return [o.direction for o in self.space.search.objectives]

    @property
    def directions(self) -> list[str]:
        """``"maximize"``/``"minimize"`` per objective, for ``optuna.create_study(directions=...)``."""
        return [o.optuna_direction for o in self.space.search.objectives]

    @property
    def num_samples(self) -> int:
        return self.space.search.num_samples or 1

    @property
    def max_concurrent(self) -> int | None:
        return self.space.search.max_concurrent

    # -- constraints --------------------------------------------------------------------------------------

    def constraints_for(self, mechanisms: str | tuple[str, ...] | list[str]) -> tuple[Constraint, ...]:
        """The resolved constraints of one tuple ("dp+wm" or ("dp", "wm"))."""
        return self.space.constraints_for(parse_mechanisms(mechanisms))

    @property
    def constraint_names(self) -> list[str]:
        """Every constraint key any trial of this space reports, in a stable order."""
        out: list[str] = []
        for t in self.space.mechanisms:
            out += [c.name for c in self.space.constraints_for(t) if c.name not in out]
        return out

    def constraint_values(self, row: Mapping[str, Any],
                          baseline_means: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
        """A value for every name in :attr:`constraint_names` (<= 0 feasible; 0.0 where a constraint does
        not apply to the row's tuple, so that all trials carry the same keys)."""
        mechs = parse_mechanisms(row.get("mechanisms", ()))
        out = {n: 0.0 for n in self.constraint_names}
        out.update({c.name: c.value(row, baseline_means) for c in self.space.constraints_for(mechs)})
        return out

    # -- sampler ------------------------------------------------------------------------------------------

    def make_sampler(self) -> Any:
        """The Optuna sampler (NSGA-II by default, TPE on request), seeded with ``search.seed``."""
        import optuna  # lazily: only the engine needs it

        from .samplers import NSGAIISampler

        se = self.space.search
        if se.sampler == "tpe":
            return optuna.samplers.TPESampler(seed=se.seed)
        kwargs: dict[str, Any] = {"seed": se.seed}
        if se.population_size is not None:
            kwargs["population_size"] = se.population_size
        return NSGAIISampler(**kwargs)


def optuna_space(space: Space) -> OptunaSpace:
    """Wrap a validated space (any algorithm; meant for ``search.algorithm: optuna``)."""
    return OptunaSpace(space)
