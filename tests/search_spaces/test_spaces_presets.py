"""Presets: all validate, their smoke forms too, their headers tell the truth, the paper's values hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import search_spaces as ss
from search_spaces.cost import confirmation_estimate, estimate
from search_spaces.seeds import SeedDesign

PRESETS = ss.presets()
PAPER = [n for n in PRESETS if n != "quickstart" and not n.startswith(("repro-", "digits-", "risks-"))]
REDUCED = "repro-mnist-di-reduced"  # issue 11's reduced DI check, at its own smaller scale
EPOCHS = "repro-mnist-di-epochs"  # DI alone trained longer than the reproduction's 10 epochs
DI_SIZES = ("repro-mnist-di-size-1000", "repro-mnist-di-size-2500")  # DI alone on fewer training images
PGD25 = "repro-fmnist-adv-pgd25"  # ADVTR trained with the paper's PGD-25, 15 epochs
REPRO = [n for n in PRESETS if n.startswith("repro-") and n not in (REDUCED, EPOCHS, PGD25, *DI_SIZES)]


def count(space: ss.Space) -> int:
    exp = ss.expand(space)
    return len(exp.baselines) + (space.search.num_samples or 0 if space.search.algorithm == "optuna"
                                 else len(exp.trials))


def test_the_expected_presets_exist() -> None:
    families = ["baselines", "dp-pairs", "adv-pairs", "decoupled", "sweep-epsilon", "sweep-trigger-size",
                "sweep-gamma", "sweep-ratio", "di-independent", "optuna-dp-wm", "optuna-adv-wm",
                "optuna-adv-rad", "optuna-dp-adv-wm"]
    expected = {"quickstart", "digits-optuna-dp-wm", "risks-fmnist", "risks-fmnist-fit"}
    expected |= {f"{d}-{f}" for d in ("mnist", "fmnist", "cifar10") for f in families}
    pairs = ("dp-wm", "dp-di", "dp-rad", "adv-wm", "adv-di", "adv-rad")  # one preset per pair: a sitting's search
    decoupled = ("decoupled-dp-wm", "decoupled-adv-wm", "decoupled-adv-rad")
    repro = {f"repro-{d}-{f}" for d in ("mnist", "fmnist") for f in ("alone", "sweep-dp-wm", *pairs, *decoupled)}
    repro |= {"repro-fmnist-sweep-gamma-low", "repro-fmnist-sweep-gamma-high", "repro-mnist-di-independent",
              "repro-mnist-di-scale", "repro-mnist-di-reduced", "repro-mnist-di-epochs", PGD25, *DI_SIZES}
    repro |= {f"repro-{d}-{f}" for d in ("mnist", "fmnist") for f in ("rad20", "decoupled-adv-rad20")}  # decision 20
    assert set(PRESETS) == expected | repro


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_validates_round_trips_and_has_a_true_header(name: str) -> None:
    path: Path = PRESETS[name]
    space = ss.load(path)
    assert space.name == name
    assert ss.loads(ss.dump(space)) == space
    header = path.read_text().split("\n\n", 1)[0]
    assert header.startswith(f"# {name}\n")
    m = re.search(r"# Trials: (\d+) = (\d+) baselines \+ (\d+) ", header)
    assert m, header
    exp = ss.expand(space)
    assert int(m[1]) == count(space) and int(m[2]) == len(exp.baselines)
    assert "on 2 CPU cores" in header and "on one GPU" in header
    assert estimate(space).summary().split(";")[0] in header.replace("\n#   ", " ")
    confirm = confirmation_estimate(space)
    if space.search.algorithm == "optuna":  # the Optuna presets confirm their candidates, at a stated cost
        assert confirm is not None and space.search.confirm is not None
        flat = header.replace("\n#   ", " ")
        assert f"# Confirmation: at most {confirm.trials} more trials (top {space.search.confirm.top} " in flat
        assert confirm.summary().split(": ", 1)[1].split(" (rough")[0] in flat
    small = ss.smoke(space)
    assert small.name == f"{name}-smoke" and ss.smoke(small) == small
    assert count(small) <= 40
    for c in ss.expand(small).configs():
        assert c["train.epochs"] == 1 and c["data.train_subset"] <= 256 and c["data.test_subset"] <= 128
        assert c["eval.adv_samples"] <= 64 and c.get("adv.steps", 0) <= 3 and c.get("wm.trigger_size", 0) <= 16


def test_quickstart_is_small() -> None:
    space = ss.load(PRESETS["quickstart"])
    assert space.datasets == ("digits",) and count(space) <= 20
    assert {"dp+wm", "adv+wm"} <= {c["mechanisms"] for c in ss.expand(space).trials}
    for c in ss.expand(space).configs():
        assert c["train.epochs"] <= 5 and c["eval.adv_samples"] <= 200 and c.get("adv.steps", 5) <= 5
    assert estimate(space).cpu_seconds < 300  # the demo: minutes on 2 CPU cores
    assert space.resources.gpu == 0


def test_the_digits_operating_point_is_small_and_confirms_sequentially() -> None:
    space = ss.load(PRESETS["digits-optuna-dp-wm"])
    assert space.datasets == ("digits",) and space.search.algorithm == "optuna" and space.search.num_samples == 10
    confirm = space.search.confirm
    assert confirm is not None and confirm.top == 3 and confirm.seed_design() == SeedDesign(3, 10)
    total = confirmation_estimate(space)
    assert total is not None and estimate(space).cpu_seconds + total.cpu_seconds < 900  # minutes on 2 CPU cores


PAPER_VALUES = {
    # the paper's PGD ran on normalised inputs: 0.25 / step 0.01 at std 0.5 on MNIST and FMNIST, 10/255 / step 0.01
    # at ImageNet's std (about 0.226) on CIFAR-10 (docs/metrics.md, "PGD radius in pixels")
    "mnist": dict(model="cnn4", epochs=25, delta=1e-6, gamma=0.125, step=0.005, labels="source"),
    "fmnist": dict(model="cnn4", epochs=25, delta=1e-6, gamma=0.125, step=0.005, labels="source"),
    "cifar10": dict(model="resnet20", epochs=100, delta=1e-5, gamma=0.0089, step=0.0023, labels="random"),
}


@pytest.mark.parametrize("name", PAPER)
def test_paper_hyperparameters(name: str) -> None:
    space = ss.load(PRESETS[name])
    prefix = name.split("-")[0]
    want = PAPER_VALUES[prefix]
    assert space.datasets == ({"fmnist": "fashion_mnist"}.get(prefix, prefix),)
    assert space.model == want["model"]
    assert space.seeds.single == tuple(range(5)) and space.seeds.combined == tuple(range(10))
    assert space.thresholds == ss.Thresholds()
    exp = ss.expand(space)
    for c in exp.configs() + ([ss.optuna_space(space).suggest(_Low())] if space.search.algorithm == "optuna"
                              else []):
        assert c["train.epochs"] == want["epochs"] and c["train.lr"] == 0.005 and c["train.batch_size"] == 64
        assert c["eval.gamma"] == pytest.approx(want["gamma"]) and c["eval.step_size"] == want["step"]
        assert c["eval.steps"] == 25
        if "adv.step_size" in c:
            assert c["adv.step_size"] == want["step"] and c["adv.steps"] == 25
        if "dp.delta" in c:
            assert c["dp.delta"] == want["delta"] and c["dp.max_grad_norm"] == 1.0
        if "wm.labels" in c:
            assert c["wm.labels"] == want["labels"]
    by_group = {c["mechanisms"]: c for c in exp.baselines}
    # the baselines sit at the paper's values in every preset, so presets of a dataset share them
    if "dp" in by_group:
        assert by_group["dp"]["dp.target_epsilon"] in (1, 3, 10)
    if "wm" in by_group:
        assert by_group["wm"]["wm.decoupled"] is False


def test_presets_of_a_dataset_share_baselines() -> None:
    from explorer.config import TrialConfig

    for prefix in PAPER_VALUES:
        baselines = ss.expand(ss.load(PRESETS[f"{prefix}-baselines"])).baselines
        ref = {TrialConfig.from_dict(c).config_id() for c in baselines}
        for name in PAPER:
            if name.startswith(prefix + "-") and "sweep" not in name:
                base = ss.expand(ss.load(PRESETS[name])).baselines
                # di-independent's DI baseline runs the independent-model control too: its own config
                ids = {TrialConfig.from_dict(c).config_id() for c in base
                       if not (name.endswith("di-independent") and c["mechanisms"] == "di")}
                assert ids <= ref, name


class _Low:
    def suggest_categorical(self, name, choices):  # type: ignore[no-untyped-def]
        return choices[0]

    def suggest_float(self, name, low, high, *, log=False):  # type: ignore[no-untyped-def]
        return low

    def suggest_int(self, name, low, high):  # type: ignore[no-untyped-def]
        return low


@pytest.mark.parametrize("name", REPRO)
def test_reproduction_presets_keep_the_stated_scale(name: str) -> None:
    """docs/reproduction.md's scale: 10,000 training images, 10 epochs, 3 seeds alone / 5 combined, PGD-7 training at
    the paper's gamma in pixels, the paper's PGD-25 for phi_ADV."""
    space = ss.load(PRESETS[name])
    assert space.seeds.single == (0, 1, 2) and space.seeds.combined == (0, 1, 2, 3, 4)
    for c in ss.expand(space).configs():
        assert c["data.train_subset"] == 10000 and c.get("data.test_subset") is None and c["train.epochs"] == 10
        assert (c["eval.gamma"], c["eval.steps"], c["eval.step_size"]) == (0.125, 25, 0.005)
        assert c["train.lr"] == 0.005 and c["train.batch_size"] == 64 and c["model"] == "cnn4"
        if "adv.steps" in c:
            assert c["adv.steps"] == 7 and c["adv.gamma"] in (0.05, 0.125, 0.175)
        if "dp.delta" in c:
            assert c["dp.delta"] == 1e-6 and c["dp.max_grad_norm"] == 1.0
        if "wm.labels" in c:
            assert c["wm.labels"] == "source"


def test_reproduction_presets_of_a_dataset_share_baselines() -> None:
    from explorer.config import TrialConfig

    for short in ("mnist", "fmnist"):
        spaces = [ss.load(PRESETS[n]) for n in REPRO if n.startswith(f"repro-{short}-")]
        seen: dict[tuple[str, int], str] = {}
        for space in spaces:
            for c in ss.expand(space).baselines:
                config = TrialConfig.from_dict(c)
                if c["mechanisms"] in ("none", "dp", "adv", "wm", "rad") and c.get("dp.target_epsilon", 3) == 3 \
                        and c.get("wm.trigger_size", 100) == 100 and c.get("adv.gamma", 0.125) == 0.125:
                    key = (c["mechanisms"], c["seed"], c.get("rad.radius"), c.get("rad.lambda_logit"))  # by recipe
                    assert seen.setdefault(key, config.config_id()) == config.config_id(), (space.name, key)


def test_the_reduced_di_check_keeps_the_issues_setup() -> None:
    """Issue 11's reduced MNIST setup: 4,000 + 1,000 images, 6 epochs, 300 + 300 walked images, DI alone, 3 seeds."""
    space = ss.load(PRESETS[REDUCED])
    configs = ss.expand(space).configs()
    assert [c["seed"] for c in configs] == [0, 1, 2] and {c["mechanisms"] for c in configs} == {"di"}
    for c in configs:
        assert (c["data.train_subset"], c["data.test_subset"], c["train.epochs"]) == (4000, 1000, 6)
        assert c["di.samples"] == 300 and c["dataset"] == "mnist" and c["model"] == "cnn4"


def test_the_longer_di_check_differs_from_the_reproduction_only_in_epochs() -> None:
    """repro-mnist-di-epochs: DI alone at the reproduction's scale except 40 epochs, so that its rows are told
    apart from the 10-epoch baselines by `train.epochs` alone."""
    space = ss.load(PRESETS[EPOCHS])
    configs = ss.expand(space).configs()
    assert [c["seed"] for c in configs] == [0, 1, 2] and {c["mechanisms"] for c in configs} == {"di"}
    for c in configs:
        assert (c["data.train_subset"], c.get("data.test_subset"), c["train.epochs"]) == (10000, None, 40)
        assert c["di.samples"] == 300 and c["dataset"] == "mnist" and c["model"] == "cnn4"
        assert (c["eval.gamma"], c["eval.steps"], c["eval.step_size"]) == (0.125, 25, 0.005)


@pytest.mark.parametrize("name", DI_SIZES)
def test_the_di_size_checks_differ_from_the_reproduction_only_in_training_images(name: str) -> None:
    space = ss.load(PRESETS[name])
    configs = ss.expand(space).configs()
    assert [c["seed"] for c in configs] == [0, 1, 2] and {c["mechanisms"] for c in configs} == {"di"}
    for c in configs:
        assert c["data.train_subset"] == int(name.rsplit("-", 1)[1]) and c.get("data.test_subset") is None
        assert c["train.epochs"] == 10 and c["di.samples"] == 300 and c["dataset"] == "mnist"
        assert (c["eval.gamma"], c["eval.steps"], c["eval.step_size"]) == (0.125, 25, 0.005)


def test_the_pgd25_check_trains_with_the_papers_steps_and_records_every_epoch() -> None:
    space = ss.load(PRESETS[PGD25])
    exp = ss.expand(space)
    assert {c["mechanisms"] for c in exp.configs()} == {"adv", "adv+wm", "none", "wm"}
    for c in exp.configs():
        assert (c["train.epochs"], c["data.train_subset"], c["eval.epoch_adv"]) == (15, 10000, True)
        assert (c["eval.gamma"], c["eval.steps"], c["eval.step_size"]) == (0.125, 25, 0.005)
        if "adv.steps" in c:
            assert (c["adv.steps"], c["adv.gamma"]) == (25, 0.125)
    assert sorted(c["seed"] for c in exp.configs() if c["mechanisms"] in ("adv", "adv+wm")) == sorted([*range(5)] * 2)


def test_the_risks_control_is_the_undefended_model_of_risks_fmnist_stopped_early() -> None:
    """risks-fmnist-fit differs from risks-fmnist's undefended model in the epochs only."""
    fit = [c for c in ss.expand(ss.load(PRESETS["risks-fmnist-fit"])).configs()]
    ten = [c for c in ss.expand(ss.load(PRESETS["risks-fmnist"])).configs() if c["mechanisms"] == "none"]
    assert sorted((c["train.epochs"], c["seed"]) for c in fit) == [(e, s) for e in (1, 2, 3, 5) for s in range(3)]
    assert all(c["mechanisms"] == "none" and c["eval.risks"] for c in fit)
    same = {k: v for k, v in ten[0].items() if k not in ("train.epochs", "seed", "experiment")}
    assert all({k: c.get(k) for k in same} == same for c in fit)


def test_the_risks_preset_runs_the_reproductions_setting_with_risks_on() -> None:
    space = ss.load(PRESETS["risks-fmnist"])
    configs = ss.expand(space).configs()
    assert {c["mechanisms"] for c in configs} == {"none", "dp", "adv", "wm", "rad", "di", "dp+wm", "dp+rad", "di+dp",
                                                  "adv+wm", "adv+rad", "adv+di"}
    for c in configs:
        assert c["eval.risks"] and c["seed"] in (0, 1, 2) and c["train.epochs"] == 10
        assert c["data.train_subset"] == 10000 and c["dataset"] == "fashion_mnist"
