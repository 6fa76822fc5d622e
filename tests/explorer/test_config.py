from __future__ import annotations

import subprocess
import sys

import pytest

from explorer.config import ConfigError, TrialConfig, mechanisms_name, parse_mechanisms


def test_flat_and_nested_keys_agree() -> None:
    a = TrialConfig.from_dict({"mechanisms": "dp,wm", "dp.target_epsilon": 1, "wm.trigger_size": 50})
    b = TrialConfig.from_dict({"mechanisms": ["wm", "dp"], "dp": {"target_epsilon": 1}, "wm": {"trigger_size": 50}})
    assert a == b
    assert a.flat()["mechanisms"] == "dp+wm"
    assert a.config_id() == b.config_id()


def test_config_id_ignores_seed_only() -> None:
    a = TrialConfig.from_dict({"seed": 1})
    assert a.config_id() == TrialConfig.from_dict({"seed": 2}).config_id()
    assert a.config_id() != TrialConfig.from_dict({"seed": 1, "train.epochs": 9}).config_id()


@pytest.mark.parametrize("values, key", [
    ({"mechanisms": "dp,foo"}, "mechanisms"),
    ({"dataset": "imagenet"}, "dataset"),
    ({"mechanisms": "adv", "adv.gamma": 0.0}, "adv.gamma"),
    ({"mechanisms": "adv", "adv.gamma": 1.5}, "adv.gamma"),
    ({"mechanisms": "dp", "dp.target_epsilon": 0}, "dp.target_epsilon"),
    ({"mechanisms": "dp", "dp.target_epsilon": -3}, "dp.target_epsilon"),
    ({"mechanisms": "dp", "dp.eps": 3}, "dp.eps"),
    ({"wm.trigger_size": 10}, "wm.trigger_size"),
    ({"mechanisms": "wm", "wm.trigger_size": 0}, "wm.trigger_size"),
    ({"mechanisms": "wm", "wm.labels": "mine"}, "wm.labels"),
    ({"train.epochs": 1.5}, "train.epochs"),
    ({"train.lr": True}, "train.lr"),
    ({"bogus": 1}, "bogus"),
])
def test_bad_values_name_the_key_on_one_line(values: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        TrialConfig.from_dict(values)
    message = str(err.value)
    assert message.startswith(f"{key}:") and "\n" not in message and "expected" in message


def test_mechanism_parsing() -> None:
    assert parse_mechanisms("wm+dp") == ("dp", "wm")
    assert parse_mechanisms("none") == ()
    assert mechanisms_name(()) == "none"
    with pytest.raises(ConfigError):
        parse_mechanisms("dp,dp")


def test_config_module_does_not_import_torch() -> None:
    code = "import explorer.config, sys; assert 'torch' not in sys.modules and 'ray' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# Configs written before the mechanism specs (issue 13) keep their ids: replicates and existing results match. rad
# configs name the marks they were written with (the defaults moved: docs/metrics.md, decision 20).
_OLD_MARKS = {"rad.radius": 25 / 255, "rad.lambda_logit": 100.0}
PINNED_IDS = [
    ({"mechanisms": "dp,wm", "dp.target_epsilon": 3}, "d53686a9a59d"),
    ({}, "f38c6f5aca8a"),
    ({"mechanisms": "adv,rad", "dataset": "mnist", "adv.gamma": 0.125, **_OLD_MARKS}, "83ade419d38f"),
    ({"mechanisms": "di", "di.samples": 32, "train.epochs": 2}, "94f5fa56cc00"),
    ({"mechanisms": "adv,di,dp,rad,wm", **_OLD_MARKS}, "b72c14e84bb3"),
]


@pytest.mark.parametrize("values, config_id", PINNED_IDS)
def test_config_ids_are_unchanged(values: dict, config_id: str) -> None:
    assert TrialConfig.from_dict(values).config_id() == config_id


def test_config_error_carries_key_value_allowed() -> None:
    with pytest.raises(ConfigError) as err:
        TrialConfig.from_dict({"mechanisms": "dp", "dp.accountant": "gdp"})
    assert (err.value.key, err.value.value, err.value.allowed) == ("dp.accountant", "gdp", "one of rdp, prv")
    assert str(err.value) == "dp.accountant: got 'gdp', expected one of rdp, prv"
    plain = ConfigError("--out: got 'x', expected a path ending in .parquet")
    assert plain.key is None and str(plain).startswith("--out")
    import pickle

    again = pickle.loads(pickle.dumps(err.value))
    assert (again.key, again.allowed, str(again)) == ("dp.accountant", "one of rdp, prv", str(err.value))


def test_trial_config_is_frozen_pickles_and_replaces() -> None:
    import pickle

    config = TrialConfig.from_dict({"mechanisms": "di,wm", "wm.trigger_size": 20})
    assert pickle.loads(pickle.dumps(config)) == config and hash(pickle.loads(pickle.dumps(config))) == hash(config)
    assert config.dp is None and config.wm is not None and config.wm.trigger_size == 20
    with pytest.raises(AttributeError, match="frozen"):
        config.seed = 3  # type: ignore[misc]
    with pytest.raises(AttributeError, match="no attribute or mechanism"):
        config.nope  # noqa: B018
    without = config.replace(mechanisms=("wm",), di=None)
    assert without.mechanisms == ("wm",) and without.di is None and without.wm == config.wm
    with pytest.raises(ConfigError, match="no di.\\* keys"):
        TrialConfig(mechanisms=("wm",), di=config.di)
    with pytest.raises(TypeError, match="unknown section"):
        TrialConfig(nope=1)


def test_model_auto_is_one_rule() -> None:
    from explorer.models import resolve_model as in_explorer
    from explorer_core.config import DATASET_SHAPES, auto_model, resolve_model
    from search_spaces.cost import _model

    assert in_explorer is resolve_model
    assert {d: auto_model("auto", d) for d in DATASET_SHAPES} == {
        "digits": "cnn4", "synthetic": "cnn4", "mnist": "cnn4", "fashion_mnist": "cnn4",
        "cifar10": "resnet20", "gtsrb": "resnet20"}
    assert resolve_model("auto", (1, 4, 4)) == "tiny" and resolve_model("tiny", (1, 28, 28)) == "tiny"
    assert _model({"dataset": "digits", "model": "auto"}) == "cnn4"
    assert _model({"dataset": "imagefolder:/x", "model": "auto"}) == "resnet20"


def test_a_section_checks_the_rest_of_the_trial() -> None:
    """The watermark's hook: its trigger source must not be the training dataset itself (an OOD trigger set)."""
    with pytest.raises(ConfigError, match="wm.source: got 'mnist', expected an out-of-distribution source"):
        TrialConfig.from_dict({"dataset": "mnist", "mechanisms": "wm", "wm.source": "mnist"})
    assert TrialConfig.from_dict({"dataset": "mnist", "mechanisms": "wm", "wm.source": "fashion_mnist"}).wm
