"""Expansion: counts, order, roles, reproducible random samples, knobs only where their mechanism is."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import search_spaces as ss
from explorer.config import TrialConfig

SMALL = (Path(__file__).resolve().parent / "data" / "small.yaml").read_text()


def test_grid_counts_by_hand() -> None:
    # Baselines, seeds 0..1: none 1 config; adv 1; dp 2 (epsilon grid); wm 2 (trigger grid) -> 6 configs x 2.
    # Tuples, seeds 0..2: dp+wm 2 x 2 = 4 configs; adv+wm 2 configs -> 6 configs x 3.
    exp = ss.expand(ss.loads(SMALL))
    assert len(exp.baselines) == 12 and len(exp.trials) == 18 and len(exp) == 30
    assert Counter(c["mechanisms"] for c in exp.configs()) == {
        "none": 2, "adv": 2, "dp": 4, "wm": 4, "dp+wm": 12, "adv+wm": 6}
    assert exp.roles() == ["baseline"] * 12 + ["trial"] * 18
    assert {c["seed"] for c in exp.baselines} == {0, 1} and {c["seed"] for c in exp.trials} == {0, 1, 2}
    grid = {(c["dp.target_epsilon"], c["wm.trigger_size"]) for c in exp.trials if c["mechanisms"] == "dp+wm"}
    assert grid == {(1, 10), (1, 20), (3, 10), (3, 20)}


def test_every_config_is_valid_flat_and_named() -> None:
    space = ss.loads(SMALL)
    for c in ss.expand(space).configs():
        assert TrialConfig.from_dict(c).flat() == c
        assert c["experiment"] == "small" and c["dataset"] == "digits"
        assert c["train.epochs"] == 2 and c["train.batch_size"] == 32 and c["eval.adv_samples"] == 50


def test_seeds_innermost_and_no_duplicates() -> None:
    exp = ss.expand(ss.loads(SMALL))
    keys = [TrialConfig.from_dict(c).config_id() for c in exp.configs()]
    pairs = list(zip(keys, [c["seed"] for c in exp.configs()]))
    assert len(set(pairs)) == len(pairs)
    # the replicates of one configuration are adjacent
    runs = [k for i, k in enumerate(keys) if i == 0 or keys[i - 1] != k]
    assert len(runs) == len(set(keys))


def test_knobs_only_in_tuples_that_contain_the_mechanism() -> None:
    for path in ss.presets().values():
        for c in ss.expand(ss.load(path)).configs():
            mechs = set(c["mechanisms"].split("+")) - {"none"}
            prefixes = {k.split(".")[0] for k in c if "." in k}
            assert prefixes - {"data", "train", "eval"} == mechs, (path.name, c["mechanisms"])


def test_dataset_list_crosses_everything() -> None:
    two = ss.loads(SMALL.replace("dataset: digits", "dataset: [digits, synthetic]"))
    assert len(ss.expand(two)) == 2 * len(ss.expand(ss.loads(SMALL)))


def test_baselines_off_and_single_tuple_deduplicated() -> None:
    off = ss.expand(ss.loads(SMALL + "baselines: false\n"))
    assert off.baselines == () and len(off.trials) == 18
    with_dp = ss.expand(ss.loads(SMALL.replace("mechanisms: [[dp, wm], [adv, wm]]",
                                               "mechanisms: [[dp], [dp, wm], [adv, wm]]")))
    assert len(with_dp) == 30  # [dp] is the dp baseline: run once


def test_baselines_set_changes_baselines_only() -> None:
    text = SMALL.replace("wm: {trigger_size: {grid: [10, 20]}}", "wm: {trigger_size: 10, decoupled: true}")
    exp = ss.expand(ss.loads(text + "baselines: {set: {wm.decoupled: false}}\n"))
    assert {c["wm.decoupled"] for c in exp.baselines if c["mechanisms"] == "wm"} == {False}
    assert {c["wm.decoupled"] for c in exp.trials} == {True}


RANDOM = SMALL.replace("dp: {target_epsilon: {grid: [1, 3]}, delta: 1e-5}",
                       "dp: {target_epsilon: {loguniform: [1, 10]}, max_grad_norm: {uniform: [0.5, 2]}}") \
    .replace("wm: {trigger_size: {grid: [10, 20]}}", "wm: {trigger_size: {int: [10, 200]}, labels: {choice: "
             "[random, source]}}")


def test_random_is_reproducible_and_prefix_stable() -> None:
    text = RANDOM + "search: {algorithm: random, num_samples: 5, seed: 7}\n"
    a, b = ss.expand(ss.loads(text)), ss.expand(ss.loads(text))
    assert a == b
    more = ss.expand(ss.loads(text.replace("num_samples: 5", "num_samples: 8")))
    dpwm = [c for c in a.trials if c["mechanisms"] == "dp+wm"]
    assert dpwm == [c for c in more.trials if c["mechanisms"] == "dp+wm"][: len(dpwm)]
    other = ss.expand(ss.loads(text.replace("seed: 7", "seed: 8")))
    assert other.trials != a.trials
    for c in a.trials:
        assert 10 <= c["wm.trigger_size"] <= 200 and isinstance(c["wm.trigger_size"], int)
        assert c["wm.labels"] in ("random", "source")
        if "dp.target_epsilon" in c:
            assert 1 <= c["dp.target_epsilon"] <= 10 and 0.5 <= c["dp.max_grad_norm"] <= 2


def test_random_baselines_use_reference_values_and_enumerate_choices() -> None:
    exp = ss.expand(ss.loads(RANDOM + "search: {algorithm: random, num_samples: 4}\n"))
    dp = [c for c in exp.baselines if c["mechanisms"] == "dp"]
    assert {c["dp.target_epsilon"] for c in dp} == {3.0} and {c["dp.max_grad_norm"] for c in dp} == {1.0}
    wm = [c for c in exp.baselines if c["mechanisms"] == "wm"]
    assert {(c["wm.trigger_size"], c["wm.labels"]) for c in wm} == {(100, "random"), (100, "source")}


def test_the_baseline_rule_finds_the_expanded_baselines_of_a_grid() -> None:
    """analysis.baselines.baseline_settings (the one rule) names, for every grid trial, baselines that the
    expansion runs: same config_id."""
    from analysis.baselines import baseline_settings

    space = ss.loads(SMALL)
    exp = ss.expand(space)
    ids = {TrialConfig.from_dict(c).config_id(): c["mechanisms"] for c in exp.baselines}
    for trial in exp.trials:
        for group in ("none", *trial["mechanisms"].split("+")):
            config = TrialConfig.from_dict(baseline_settings(trial, group))
            assert ids.get(config.config_id()) == group, (group, trial)
    eps1 = next(c for c in exp.trials if c["mechanisms"] == "dp+wm" and c["dp.target_epsilon"] == 1)
    dp = baseline_settings(eps1, "dp")
    assert dp["dp.target_epsilon"] == 1 and dp["mechanisms"] == "dp" and "wm.trigger_size" not in dp


def test_replicates() -> None:
    space = ss.loads(SMALL)
    trial = ss.expand(space).trials[0]
    assert [c["seed"] for c in ss.replicates(space, trial)] == [0, 1, 2]


def test_huge_spaces_are_refused() -> None:
    text = SMALL.replace("{grid: [1, 3]}", "{grid: [" + ", ".join(str(i) for i in range(1, 400)) + "]}") \
        .replace("{grid: [10, 20]}", "{grid: [" + ", ".join(str(i) for i in range(1, 400)) + "]}")
    with pytest.raises(ss.SpaceError, match="at most 100000"):
        ss.loads(text)


def test_baselines_set_for_a_knob_the_space_leaves_at_default() -> None:
    space = ss.loads(SMALL + "baselines: {set: {training.lr: 0.01, adv.random_start: false}}\n")
    exp = ss.expand(space)
    assert {c["train.lr"] for c in exp.baselines} == {0.01} and {c["train.lr"] for c in exp.trials} == {None}
    assert {c["adv.random_start"] for c in exp.baselines if c["mechanisms"] == "adv"} == {False}
