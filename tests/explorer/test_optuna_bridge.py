from __future__ import annotations

import importlib.util
from pathlib import Path


BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "optuna_constraints.py"


def _bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("optuna_constraints", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_constrained_samplers_reach_feasible_points_sooner_than_random() -> None:
    result = _bench().compare(seeds=8, budget=30)
    random_first, random_third, random_count = result["random"]
    tpe_first, tpe_third, tpe_count = result["tpe (constrained)"]
    nsga_first, nsga_third, nsga_count = result["nsga2 (constrained, population 8)"]
    assert tpe_first < random_first and tpe_third < random_third and tpe_count > 2 * random_count
    assert nsga_third < random_third and nsga_count > random_count


def _objective(config: dict) -> None:
    from ray import tune

    x, y = config["x"], config["y"]
    tune.report({"f1": x + 0.3 * y, "f2": y + 0.3 * x, "constraint.disk": (x - 0.3) ** 2 + (y - 0.3) ** 2 - 0.0225})


def test_tune_bridge_hands_constraints_to_the_study(ray_tmp: Path) -> None:
    import optuna
    import ray
    from ray import tune

    from explorer.tune import ConstrainedOptunaSearch

    root = str(ray_tmp)
    searcher = ConstrainedOptunaSearch(
        space={"x": tune.uniform(0, 1), "y": tune.uniform(0, 1)}, metric=["f1", "f2"], mode=["max", "max"],
        sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=5), constraint_keys=["disk"])
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        tune.Tuner(_objective, tune_config=tune.TuneConfig(search_alg=searcher, num_samples=16),
                   run_config=tune.RunConfig(storage_path=f"{root}/store", verbose=0)).fit()
    finally:
        ray.shutdown()
    trials = searcher.study.trials
    assert len(trials) == 16 and all("disk" in t.constraints for t in trials)
    best = searcher.study.best_trials
    assert best and all(t.constraints["disk"] <= 0 for t in best)
    assert any(t.constraints["disk"] > 0 for t in trials)  # infeasible ones existed and were kept out
