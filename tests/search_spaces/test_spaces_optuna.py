"""The Optuna side: define-by-run with a real study, objectives, constraints and their signs."""

from __future__ import annotations

import math
import pickle
import warnings
from pathlib import Path

import optuna
import pytest

import search_spaces as ss
from explorer.config import TrialConfig

SMALL = (Path(__file__).resolve().parent / "data" / "small.yaml").read_text()
OPTUNA = SMALL.replace("dp: {target_epsilon: {grid: [1, 3]}, delta: 1e-5}",
                       "dp: {target_epsilon: {loguniform: [0.5, 10]}, accountant: {choice: [rdp, prv]}}") \
    .replace("adv: {gamma: 0.25, steps: 3}", "adv: {gamma: {uniform: [0.1, 0.35]}, steps: {int: [2, 5]}}") \
    .replace("wm: {trigger_size: {grid: [10, 20]}}",
             "wm: {trigger_size: {int: [10, 200]}, decoupled: {grid: [false, true]}}") \
    + "baselines: {set: {adv.steps: 3, adv.gamma: 0.25}}\n" \
    + "search: {algorithm: optuna, num_samples: 12, population_size: 4, seed: 3}\n"

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_suggest_with_a_real_study_gives_valid_configs() -> None:
    osp = ss.optuna_space(ss.loads(OPTUNA))
    study = optuna.create_study(directions=osp.directions, sampler=osp.make_sampler())
    seen = set()
    for _ in range(12):
        trial = study.ask()
        config = osp.suggest(trial)
        assert TrialConfig.from_dict(config).flat() == config
        mechs = config["mechanisms"]
        seen.add(mechs)
        assert trial.params["mechanisms"] == mechs  # the tuple is a categorical parameter
        names = set(trial.params) - {"mechanisms"}
        if mechs == "adv+wm":
            assert names == {"adv.gamma", "adv.steps", "wm.trigger_size", "wm.decoupled"}
            assert not any(k.startswith("dp.") for k in config)
        else:
            assert names == {"dp.target_epsilon", "dp.accountant", "wm.trigger_size", "wm.decoupled"}
            assert not any(k.startswith("adv.") for k in config)
        assert config["seed"] == 0 and config["experiment"] == "small"
        assert config["train.epochs"] == 2  # fixed values are in the config, not parameters
        values = [0.9, 0.5] if osp.directions == ["maximize", "maximize"] else [0.9] * len(osp.directions)
        study.tell(trial, values)
    assert seen == {"dp+wm", "adv+wm"}
    assert osp.metrics == ["acc", "wm.acc"] and osp.modes == ["max", "max"]


def test_single_tuple_has_no_mechanisms_param() -> None:
    text = OPTUNA.replace("mechanisms: [[dp, wm], [adv, wm]]", "mechanisms: [[dp, wm]]") \
        .replace("adv: {gamma: {uniform: [0.1, 0.35]}, steps: {int: [2, 5]}}\n", "") \
        .replace("baselines: {set: {adv.steps: 3, adv.gamma: 0.25}}\n", "")
    osp = ss.optuna_space(ss.loads(text))
    trial = optuna.create_study(directions=osp.directions).ask()
    config = osp.suggest(trial)
    assert "mechanisms" not in trial.params and config["mechanisms"] == "dp+wm"
    assert osp.baselines() and {c["mechanisms"] for c in osp.baselines()} == {"none", "dp", "wm"}


def test_make_sampler() -> None:
    osp = ss.optuna_space(ss.loads(OPTUNA))
    assert isinstance(osp.make_sampler(), optuna.samplers.NSGAIISampler)
    tpe = ss.optuna_space(ss.loads(OPTUNA.replace("population_size: 4, ", "sampler: tpe, ")))
    assert isinstance(tpe.make_sampler(), optuna.samplers.TPESampler)


@pytest.mark.parametrize("sampler", ["nsga2", "tpe"])
def test_the_sampler_survives_pickling_mid_study(sampler: str) -> None:
    """Ray Tune pickles its searcher with the sampler inside (Optuna 5.1's NSGA-II holds a thread lock)."""
    text = OPTUNA if sampler == "nsga2" else OPTUNA.replace("population_size: 4, ", "sampler: tpe, ")
    osp = ss.optuna_space(ss.loads(text))

    def run(study: optuna.Study, n: int) -> None:
        for _ in range(n):
            trial = study.ask()
            osp.suggest(trial)
            study.tell(trial, [trial.number / 12] * len(osp.directions))

    study = optuna.create_study(directions=osp.directions, sampler=osp.make_sampler())
    run(study, 6)  # past NSGA-II's first generation of 4, so its generation cache and lock are in use
    restored = pickle.loads(pickle.dumps(study.sampler))
    study.sampler = restored
    run(study, 6)
    assert len(study.trials) == 12 and restored.__class__ is study.sampler.__class__
    pickle.dumps(restored)  # and again


BASE = {"none": {"acc": 0.99, "adv.acc": 0.1}, "dp": {"acc": 0.95, "adv.acc": 0.05},
        "wm": {"acc": 0.98, "wm.acc": 1.0}, "adv": {"acc": 0.97, "adv.acc": 0.8},
        "rad": {"acc": 0.98, "rad.loss_gap": 0.004},
        "di": {"acc": 0.99}}


def test_constraint_signs_follow_optuna() -> None:
    ok = {"mechanisms": "dp+wm", "acc": 0.93, "wm.acc": 0.95}
    values = ss.constraint_values(ok, BASE)
    assert values == pytest.approx({"acc.drop_vs_baseline": 0.95 - 0.93 - 0.10,
                                    "wm.acc.drop_vs_baseline": 1.0 - 0.95 - 0.30})
    assert all(v <= 0 for v in values.values())
    bad = ss.constraint_values({"mechanisms": "dp+wm", "acc": 0.80, "wm.acc": 0.5}, BASE)
    assert all(v > 0 for v in bad.values())
    # absolute bounds
    di = ss.constraint_values({"mechanisms": "adv+di", "acc": 0.95, "adv.acc": 0.75, "di.p_value": 0.01}, BASE)
    assert di["di.p_value.max"] == pytest.approx(0.01 - 1e-3) and di["di.p_value.max"] > 0
    assert di["adv.acc.drop_vs_baseline"] == pytest.approx(0.8 - 0.75 - 0.1)
    # rad.loss_gap keeps 5 % of the rad-alone gap (ours); rad_rel=0: the paper's absolute 1e-2
    rad = ss.constraint_values({"mechanisms": "dp+rad", "acc": 0.95, "rad.loss_gap": 0.003}, BASE)
    assert rad["rad.loss_gap.fraction_of_baseline"] == pytest.approx(0.05 * 0.004 - 0.003)
    rad = ss.constraint_values({"mechanisms": "dp+rad", "acc": 0.95, "rad.loss_gap": 0.003}, BASE,
                               thresholds=ss.Thresholds(rad_rel=0))
    assert rad["rad.loss_gap.min"] == pytest.approx(1e-2 - 0.003)
    # the lower single-mechanism baseline counts for acc
    assert ss.constraint_values({"mechanisms": "adv+di", "acc": 0.97, "adv.acc": 0.8, "di.p_value": 0},
                                BASE)["acc.drop_vs_baseline"] == pytest.approx(0.97 - 0.97 - 0.1)
    # a missing or NaN metric is infeasible
    assert ss.constraint_values({"mechanisms": "dp+wm", "acc": math.nan}, BASE)["acc.drop_vs_baseline"] == math.inf
    assert ss.constraint_values({"mechanisms": "dp+wm", "acc": 0.9}, BASE)["wm.acc.drop_vs_baseline"] == math.inf
    with pytest.raises(ValueError, match="no baseline mean"):
        ss.constraint_values({"mechanisms": "dp+wm", "acc": 0.9, "wm.acc": 1.0}, {"dp": {"acc": 0.9}})
    thr = ss.Thresholds(acc=1e-12, wm=1e-12)  # a drop threshold is > 0 (one Thresholds for search and analysis)
    assert ss.constraint_values(ok, BASE, thresholds=thr)["acc.drop_vs_baseline"] == pytest.approx(0.02)


def test_space_constraints_explicit_replace_rule() -> None:
    text = OPTUNA.replace("seed: 3}", "seed: 3, constraints: [conflict, {metric: acc, drop_vs_baseline: 0.02}, "
                          "{metric: acc, min: 0.9}, {metric: dp.epsilon, max: 5}]}")
    osp = ss.optuna_space(ss.loads(text))
    names = osp.constraint_names
    assert names[:2] == ["acc.drop_vs_baseline", "wm.acc.drop_vs_baseline"]
    assert set(names) == {"acc.drop_vs_baseline", "wm.acc.drop_vs_baseline", "acc.min", "dp.epsilon.max",
                          "adv.acc.drop_vs_baseline"}
    row = {"mechanisms": "adv+wm", "acc": 0.96, "wm.acc": 1.0}
    values = osp.constraint_values(row, BASE)
    assert set(values) == set(names)
    assert values["acc.drop_vs_baseline"] == pytest.approx(0.97 - 0.96 - 0.02)  # explicit 0.02, not 0.10
    assert values["dp.epsilon.max"] == 0.0  # not applicable to adv+wm: reported as feasible
    none = ss.optuna_space(ss.loads(OPTUNA.replace("seed: 3}", "seed: 3, constraints: none}")))
    assert none.constraint_names == []


def test_constrained_study_end_to_end() -> None:
    """ask -> suggest -> fake metrics -> set_constraint -> tell: best trials are all feasible."""
    osp = ss.optuna_space(ss.loads(OPTUNA))
    study = optuna.create_study(directions=osp.directions, sampler=osp.make_sampler())
    for _ in range(16):
        trial = study.ask()
        c = osp.suggest(trial)
        eps = c.get("dp.target_epsilon", 10.0)
        row = {"mechanisms": c["mechanisms"], "acc": 0.9 + 0.008 * min(eps, 10),
               "wm.acc": 1.2 - c["wm.trigger_size"] / 200}
        for name, value in osp.constraint_values(row, BASE).items():
            trial.set_constraint(name, value)
        study.tell(trial, [row[m] for m in osp.metrics])
    best = study.best_trials
    assert best and all(all(v <= 0 for v in t.constraints.values()) for t in best)


def test_suggest_through_rays_optuna_search() -> None:
    """Ray's OptunaSearch calls the function with its captor; the result is our flat config."""
    ray_optuna = pytest.importorskip("ray.tune.search.optuna")
    osp = ss.optuna_space(ss.loads(OPTUNA))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        searcher = ray_optuna.OptunaSearch(space=osp.suggest, metric=osp.metrics, mode=osp.modes,
                                           sampler=osp.make_sampler())
        config = searcher.suggest("trial_1")
    assert TrialConfig.from_dict(config).flat() == config


def test_spaces_and_the_suggest_function_pickle() -> None:
    """Ray pickles the searcher (and with it the define-by-run function) to checkpoint and resume."""
    import pickle

    osp = ss.optuna_space(ss.loads(OPTUNA, "o.yaml"))
    again = pickle.loads(pickle.dumps(osp.suggest))
    study = optuna.create_study(directions=osp.directions, sampler=osp.make_sampler())
    assert again(study.ask())["experiment"] == "small"
    assert pickle.loads(pickle.dumps(osp.space)) == osp.space
