"""A mechanism spec is checked before it is used: each malformed part gets its own reason."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import pytest

from explorer_core.config import Section, number
from explorer.mechanisms.wm.spec import SPEC as WM
from explorer_core.spec import MechanismSpec, Metric, Rule, Threshold, spec_problems


@dataclass(frozen=True, kw_only=True, slots=True)
class ToyConfig(Section):
    prefix: ClassVar[str] = "toy"
    level: float = 0.5

    def __post_init__(self) -> None:
        number("toy.level", self.level, lo=0, hi=1)


@dataclass(frozen=True, kw_only=True, slots=True)
class NoDefault(Section):
    prefix: ClassVar[str] = "toy"
    level: float


@dataclass(frozen=True, kw_only=True, slots=True)
class BadDefault(Section):
    prefix: ClassVar[str] = "toy"
    level: float = 2.0

    def __post_init__(self) -> None:
        number("toy.level", self.level, lo=0, hi=1)


DROP = Threshold("toy", 0.1, 0, 1, True, False, "a drop")
GOOD = MechanismSpec(name="toy", title="toy", paper="none", config_cls=ToyConfig, mechanism="toy.mech:Toy", order=50,
                     metrics=(Metric("toy.acc", "max", "fraction", "toy accuracy"),), objective="toy.acc",
                     rule=Rule("toy.acc", "drop_vs_baseline", DROP), smoke_caps={"toy.level": 1})


def test_a_good_spec_and_the_builtins_have_no_problems() -> None:
    assert spec_problems(GOOD) == [] and spec_problems(WM) == []


@pytest.mark.parametrize("change, reason", [
    ({"name": "none"}, "name 'none'"),
    ({"name": "Toy!"}, "name 'Toy!'"),
    ({"config_cls": NoDefault}, "knobs without a default: level"),
    ({"config_cls": BadDefault}, "config_cls(): ConfigError: toy.level: got 2.0"),
    ({"name": "other", "objective": "other.acc"}, "with prefix 'other'"),
    ({"mechanism": "toy.mech.Toy"}, "expected 'module:Class'"),
    ({"metrics": (Metric("acc", "max", "", ""),), "objective": "acc", "rule": None}, "starting with 'toy.'"),
    ({"objective": "toy.nope"}, "objective 'toy.nope'"),
    ({"rule": Rule("toy.nope", "max", DROP)}, "rule metric 'toy.nope'"),
    ({"rule": Rule("toy.acc", "max", dataclasses.replace(DROP, default=3))}, "default 3 outside"),
    ({"rule": Rule("toy.acc", "fraction_of_baseline", DROP)}, "an absolute companion rule"),
    ({"smoke_caps": {"toy.nope": 1}}, "knob 'toy.nope'"),
    ({"order": "first"}, "order 'first'"),
])
def test_each_malformed_part_is_named(change: dict, reason: str) -> None:
    problems = spec_problems(dataclasses.replace(GOOD, **change))
    assert any(reason in p for p in problems), problems


def test_not_a_spec() -> None:
    assert spec_problems(ToyConfig) == ["expected a explorer_core.spec.MechanismSpec, got type"]


def test_threshold_interval_text() -> None:
    assert DROP.allowed == "a drop: a number in (0, 1]" and DROP.admits(1) and not DROP.admits(0)
    assert not DROP.admits(True) and not DROP.admits(float("nan"))
