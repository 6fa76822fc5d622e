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
