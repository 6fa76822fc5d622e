"""Smoke versions and the cost model."""

from __future__ import annotations

from pathlib import Path

import pytest

import search_spaces as ss
from explorer_core import registry
from search_spaces.cost import human_seconds, trial_passes
from search_spaces.domains import Fixed, Grid, IntRange

SMALL = (Path(__file__).resolve().parent / "data" / "small.yaml").read_text()


def test_smoke_shrinks_and_keeps_structure() -> None:
    text = SMALL.replace("[1, 3]", "[1, 3, 10]") + "data: {train_subset: 1000}\n"
    space = ss.loads(text)
    small = ss.smoke(space)
    assert small.mechanisms == space.mechanisms and small.datasets == space.datasets
    assert small.knobs["dp.target_epsilon"] == Grid((1, 10))  # first and last grid values
    assert small.knobs["data.train_subset"] == Fixed(256) and small.knobs["train.epochs"] == Fixed(1)
    assert small.knobs["wm.trigger_size"] == Grid((10, 16))  # grid values capped at 16
    assert small.seeds.single == (0,) and small.seeds.combined == (0,)
    assert "rad.iterations" not in small.knobs  # caps only for mechanisms in the space
    assert len(ss.expand(small)) < len(ss.expand(space))
    assert ss.smoke(small) == small


def test_smoke_of_sampled_ranges() -> None:
    text = SMALL.replace("wm: {trigger_size: {grid: [10, 20]}}", "wm: {trigger_size: {int: [10, 200]}}") \
        + "search: {algorithm: optuna, num_samples: 30, population_size: 10}\n"
    small = ss.smoke(ss.loads(text))
    assert small.knobs["wm.trigger_size"] == IntRange(10, 16)
    assert small.baselines.overrides["wm.trigger_size"] == 16
    assert small.search.num_samples == 4 and small.search.population_size == 2
    random_small = ss.smoke(ss.loads(SMALL + "search: {algorithm: random, num_samples: 9}\n"))
    assert random_small.search.num_samples == 2


def test_cost_multipliers() -> None:
    base = {"dataset": "mnist", "model": "cnn4", "mechanisms": "none", "train.epochs": 1,
            "eval.adv_samples": 1, "eval.steps": 1, "data.test_subset": 3}
    plain = trial_passes(base)
    dp = trial_passes({**base, "mechanisms": "dp"})
    adv = trial_passes({**base, "mechanisms": "adv", "adv.steps": 9})
    train = 60000
    assert abs((dp - plain) - (registry.get("dp").cost.train_factor - 1) * train) < 1e-6
    assert abs((adv - plain) - 9 * train) < 1e-6  # (steps + 1)x the plain training
    assert trial_passes({**base, "data.train_subset": 600}) < plain / 50


def test_estimate_and_human_units() -> None:
    est = ss.estimate(ss.loads(SMALL))
    assert est.trials == 30 and est.passes > 0 and est.gpu_seconds > 0 and est.cpu_seconds > 0
    assert "on 2 CPU cores" in est.summary()
    assert human_seconds(30) == "30 s" and human_seconds(600) == "10 min"
    assert human_seconds(3 * 3600) == "3.0 h" and human_seconds(5 * 86400) == "5.0 days"


def test_the_cpu_rate_scales_with_the_image_pixels() -> None:
    """cnn4 on 8x8 digits runs ~12x more images per second than on 28x28 MNIST on a CPU; a GPU's rate stays."""
    from search_spaces import cost

    config = {"dataset": "digits", "model": "cnn4", "mechanisms": "none"}
    small = cost._seconds(config, 1e6)
    large = cost._seconds({**config, "dataset": "mnist"}, 1e6)
    assert large[0] / small[0] == pytest.approx(784 / 64) and large[1] == small[1]
    assert cost._seconds({**config, "dataset": "imagefolder:/x"}, 1e6) == large  # unknown size: the reference
