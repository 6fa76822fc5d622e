"""Constraint-aware Optuna vs random search on a cheap problem with a known feasible region.

Two objectives to maximise, x + 0.3y and y + 0.3x on [0, 1]^2, and one constraint that opposes them:
(x - 0.3)^2 + (y - 0.3)^2 <= 0.15^2 (a disk covering 7 % of the square, away from the objectives'
optimum, like a conflict threshold). For each sampler and seed, the constraint goes to the study through
``Trial.set_constraint``, exactly as ``explorer.tune.ConstrainedOptunaSearch`` does. Prints, averaged over
seeds, the trials until the first and the third feasible point and the feasible trials within the budget.

    python benchmarks/optuna_constraints.py [--seeds 20] [--budget 40]
"""

from __future__ import annotations

import argparse
import statistics
import warnings
from typing import Any, Callable

import optuna

CENTER, RADIUS = (0.3, 0.3), 0.15


def constraint(x: float, y: float) -> float:
    return (x - CENTER[0]) ** 2 + (y - CENTER[1]) ** 2 - RADIUS ** 2


def run(sampler: Any, budget: int) -> list[int]:
    """The 1-based trial numbers of the feasible trials."""
    study = optuna.create_study(directions=["maximize", "maximize"], sampler=sampler)
    hits = []
    for i in range(budget):
        trial = study.ask()
        x, y = trial.suggest_float("x", 0, 1), trial.suggest_float("y", 0, 1)
        trial.set_constraint("disk", constraint(x, y))
        study.tell(trial, [x + 0.3 * y, y + 0.3 * x])
        if constraint(x, y) <= 0:
            hits.append(i + 1)
    assert all(constraint(t.params["x"], t.params["y"]) <= 0 for t in study.best_trials if hits)
    return hits


SAMPLERS: dict[str, Callable[[int], Any]] = {
    "random": lambda s: optuna.samplers.RandomSampler(seed=s),
    "nsga2 (constrained, population 8)": lambda s: optuna.samplers.NSGAIISampler(seed=s, population_size=8),
    "tpe (constrained)": lambda s: optuna.samplers.TPESampler(seed=s),
}


def compare(seeds: int, budget: int) -> dict[str, tuple[float, float, float]]:
    """Per sampler: mean trials to the first feasible point, to the third, and feasible trials in the budget."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    out = {}
    for name, make in SAMPLERS.items():
        runs = [run(make(seed), budget) for seed in range(seeds)]
        first = statistics.mean(h[0] if h else budget + 1 for h in runs)
        third = statistics.mean(h[2] if len(h) >= 3 else budget + 1 for h in runs)
        out[name] = (first, third, statistics.mean(len(h) for h in runs))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--budget", type=int, default=40)
    args = parser.parse_args()
    print(f"{args.seeds} seeds, {args.budget} trials each (a miss counts as budget + 1)")
    print(f"{'sampler':36s} {'1st feasible':>13s} {'3rd feasible':>13s} {'feasible/budget':>16s}")
    for name, (first, third, count) in compare(args.seeds, args.budget).items():
        print(f"{name:36s} {first:13.1f} {third:13.1f} {count:16.1f}")


if __name__ == "__main__":
    main()
