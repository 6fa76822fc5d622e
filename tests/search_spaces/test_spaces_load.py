"""Parsing and validation: good files load, bad ones give one precise line."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
import search_spaces as ss
from search_spaces.domains import Choice, Fixed, Grid, IntRange, LogUniform, Uniform

SMALL = (Path(__file__).resolve().parent / "data" / "small.yaml").read_text()


def test_small_space_loads_with_domains() -> None:
    space = ss.loads(SMALL, "small.yaml")
    assert space.name == "small" and space.datasets == ("digits",)
    assert space.mechanisms == (("dp", "wm"), ("adv", "wm"))
    assert space.knobs["dp.target_epsilon"] == Grid((1, 3))
    assert space.knobs["dp.delta"] == Fixed(1e-5)
    assert space.knobs["train.epochs"] == Fixed(2)
    assert space.seeds.single == (0, 1) and space.seeds.combined == (0, 1, 2)
    assert space.search.algorithm == "grid" and space.search.conflict
    assert [o.metric for o in space.search.objectives] == ["acc", "wm.acc"]  # wm is in every tuple
    assert space.thresholds == ss.Thresholds(acc=0.10, wm=0.30, adv=0.10, di_p=1e-3, rad_gap=1e-2)


def test_numbers_yaml11_would_miss() -> None:
    text = SMALL.replace("delta: 1e-5", "delta: 1e-6").replace("gamma: 0.25", "gamma: 10/255")
    space = ss.loads(text)
    assert space.knobs["dp.delta"] == Fixed(1e-6)
    assert space.knobs["adv.gamma"] == Fixed(10 / 255)
    quoted = ss.loads(SMALL + "data: {dir: '10/255'}\n")
    assert quoted.knobs["data.dir"] == Fixed("10/255")


def test_all_domain_kinds() -> None:
    text = SMALL.replace("dp: {target_epsilon: {grid: [1, 3]}, delta: 1e-5}",
                         "dp: {target_epsilon: {loguniform: [1, 10]}, max_grad_norm: {uniform: [0.5, 2]}, "
                         "accountant: {choice: [rdp, prv]}}") \
        .replace("wm: {trigger_size: {grid: [10, 20]}}", "wm: {trigger_size: {int: [10, 200]}}")
    space = ss.loads(text + "search: {algorithm: random, num_samples: 3}\n")
    k = space.knobs
    assert k["dp.target_epsilon"] == LogUniform(1, 10) and k["dp.max_grad_norm"] == Uniform(0.5, 2)
    assert k["dp.accountant"] == Choice(("rdp", "prv")) and k["wm.trigger_size"] == IntRange(10, 200)


@pytest.mark.parametrize(
    ("old", "new", "line", "key", "allowed"),
    [
        ("target_epsilon: {grid: [1, 3]}", "target_epsilon: -1", 6, "dp.target_epsilon", "a number > 0"),
        ("target_epsilon: {grid: [1, 3]}", "target_epsilon: {grid: [1, -3]}", 6, "dp.target_epsilon", "> 0"),
        ("target_epsilon: {grid: [1, 3]}", "target_eps: 3", 6, "dp.target_eps", "a known key"),
        ("target_epsilon: {grid: [1, 3]}", "target_epsilon: {uniform: [3, 1]}", 6, "dp.target_epsilon", "lo < hi"),
        ("target_epsilon: {grid: [1, 3]}", "target_epsilon: [1, 3]", 6, "dp.target_epsilon", "{grid: [..]}"),
        ("steps: 3", "steps: {uniform: [1, 5]}", 7, "adv.steps", "{int: [lo, hi]}"),
        ("steps: 3", "steps: 2.5", 7, "adv.steps", "an integer >= 1"),
        ("epochs: 2", "epochs: 0", 3, "training.epochs", "an integer >= 1"),
        ("dataset: digits", "dataset: imagenet", 2, "dataset", "one of"),
        ("[adv, wm]]", "[adv, foo]]", 5, "mechanisms[1]", "one of adv, di, dp, rad, wm"),
        ("[adv, wm]]", "[dp, wm]]", 5, "mechanisms[1]", "each tuple once"),
        ("name: small", "name: 'has space'", 1, "name", "letters, digits"),
        ("seeds: {single: 2, combined: 3}", "seeds: 0", 9, "seeds", "a seed count in [1, 1000]"),
        ("wm: {trigger_size: {grid: [10, 20]}}", "wm: {source: digits}", 8, "wm.source", "out-of-distribution"),
    ],
)
def test_bad_values_name_file_line_key(old: str, new: str, line: int, key: str, allowed: str,
                                      one_line: Callable[[str], None]) -> None:
    assert old in SMALL
    with pytest.raises(ss.SpaceError) as info:
        ss.loads(SMALL.replace(old, new), "space.yaml")
    err = info.value
    one_line(str(err))
    assert str(err).startswith(f"space.yaml:{line}: {key}: got "), str(err)
    assert allowed in err.allowed
    assert (err.source, err.line, err.key) == ("space.yaml", line, key)


@pytest.mark.parametrize(
    ("extra", "key", "allowed"),
    [
        ("rad2: 1\n", "rad2", "a known key"),
        ("di: {samples: 10}\n", "di", "no tuple in mechanisms contains di"),
        ("search: {algorithm: optuna, objectives: {adv.acc: max, dp.epsilon: min}}\n",
         "search.objectives.dp.epsilon", "every tuple"),
        ("search: {algorithm: random, num_samples: 0}\n", "search.num_samples", "[1, 100000]"),
        ("search: {algorithm: optuna, num_samples: 9223372036854775808}\n", "search.num_samples", "[1, 100000]"),
        ("search: {algorithm: optuna, seed: 4294967296}\n", "search.seed", "[0, 4294967295]"),
        ("search: {algorithm: optuna, population_size: 1}\n", "search.population_size", "[2, 100000]"),
        ("search: {max_concurrent: 1000000}\n", "search.max_concurrent", "[1, 100000]"),
        ("search: {num_samples: 3}\n", "search.num_samples", "with algorithm grid"),
        ("search: {algorithm: grid, sampler: tpe}\n", "search.sampler", "with algorithm grid"),
        ("search: {algorithm: optuna, sampler: cmaes}\n", "search.sampler", "nsga2, tpe"),
        ("search: {objectives: {loss: min}}\n", "search.objectives.loss", "a metric"),
        ("search: {constraints: [{metric: acc, min: 0.5, max: 1}]}\n", "search.constraints[0]", "exactly one"),
        ("search: {constraints: [{metric: rad.loss_gap, min: 0.5}]}\n", "search.constraints[0].metric", "needs rad"),
        ("search: {constraints: maybe}\n", "search.constraints", "conflict, none"),
        ("resources: {gpu: 0.3}\n", "resources.gpu", "a fraction 1/k"),
        ("resources: {cpu: 0}\n", "resources.cpu", "> 0"),
        ("thresholds: {acc: 2}\n", "thresholds.acc", "a number in (0, 1]"),
        ("thresholds: {di_p: 0}\n", "thresholds.di_p", "(0, 1)"),
        ("baselines: {set: {wm.decoupled: 3}}\n", "wm.decoupled", "true or false"),
        ("baselines: {set: {rad.ratio: 0.2}}\n", "baselines.set.rad.ratio", "a knob of a mechanism in the tuples"),
        ("baselines: sometimes\n", "baselines", "true, false"),
        ("data: {train_subset: {grid: [10, 20]}}\n", "data.train_subset", "one fixed value"),
    ],
)
def test_bad_sections(extra: str, key: str, allowed: str, one_line: Callable[[str], None]) -> None:
    with pytest.raises(ss.SpaceError) as info:
        ss.loads(SMALL + extra, "space.yaml")
    one_line(str(info.value))
    assert info.value.key == key and allowed in info.value.allowed, str(info.value)
    assert info.value.line == 10, str(info.value)


def test_optuna_needs_reference_inside_range_or_baselines_set() -> None:
    text = SMALL.replace("{grid: [1, 3]}", "{loguniform: [5, 10]}") + "search: {algorithm: optuna}\n"
    with pytest.raises(ss.SpaceError, match="baselines.set.dp.target_epsilon"):
        ss.loads(text)
    ok = ss.loads(text + "baselines: {set: {dp.target_epsilon: 5}}\n")
    assert ok.baselines.overrides == {"dp.target_epsilon": 5}


def test_optuna_has_one_dataset() -> None:
    text = SMALL.replace("dataset: digits", "dataset: [digits, synthetic]") + "search: {algorithm: optuna}\n"
    with pytest.raises(ss.SpaceError, match="one space per dataset"):
        ss.loads(text)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "space"),
        ("- 1\n- 2\n", "space"),
        ("just a string\n", "space"),
        ("a: [1, 2\n", "yaml"),
        ("name: x\nname: y\n", "name"),
        ("name: !!python/object/apply:os.system [ls]\n", "name"),
        ("? [a, b]\n: 1\n", "space"),
        ("a: &x [1, *x]\n", "a[1][1]"),
        ("\x00\x01", "yaml"),
        ("name: x\n<<: {dataset: digits}\n", "space"),
        ("name: x\n", "dataset"),
    ],
)
def test_garbage_is_one_line(text: str, key: str, one_line: Callable[[str], None]) -> None:
    with pytest.raises(ss.SpaceError) as info:
        ss.loads(text, "g.yaml")
    one_line(str(info.value))
    assert info.value.key == key, str(info.value)


def test_missing_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ss.SpaceError) as info:
        ss.load(tmp_path / "nope.yaml")
    assert "a readable file" in str(info.value) and "\n" not in str(info.value)


def test_round_trip_small_and_defaults() -> None:
    space = ss.loads(SMALL)
    again = ss.loads(ss.dump(space))
    assert again == space
    assert ss.dump(again) == ss.dump(space)


def test_round_trip_strings_that_look_numeric() -> None:
    space = ss.loads(SMALL + "data: {dir: '1e-3'}\n")
    assert ss.loads(ss.dump(space)) == space
