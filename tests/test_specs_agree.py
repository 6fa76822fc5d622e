"""Every place that lists mechanisms or metrics agrees with the mechanism specs (explorer_core.registry):
adding a built-in is one folder plus its entry-point line in pyproject.toml, and this test names whatever else went
stale."""

from __future__ import annotations

import importlib
import re
from dataclasses import fields
from pathlib import Path

import pytest

import analysis.plot_data
from analysis.equivalence import DROP_METRICS
from explorer_core.spec import RISK_METRICS
import analysis.schema
import explorer.config
import explorer.registry
import explorer.results
import explorer_core.rows
import search_spaces.constraints
import search_spaces.cost
import search_spaces.knobs
import search_spaces.schema
from explorer_core import registry
from search_spaces.smoke import SMOKE_CAPS
from explorer_core.spec import spec_problems
from explorer_core.thresholds import Thresholds, threshold_specs

ROOT = Path(__file__).resolve().parents[1]
SPECS = registry.specs()
BUILTIN = {n: s for n, s in SPECS.items() if s.source == "built-in"}
SPEC_METRICS = [m.name for s in SPECS.values() for m in s.metrics]


def _section(doc: str, title: str) -> str:
    text = (ROOT / "docs" / doc).read_text()
    return text.split(title, 1)[1].split("\n## ", 1)[0]


def test_builtins_are_one_folder_each_registered_as_plugins_are_and_valid() -> None:
    from importlib import metadata

    folders = sorted(p.parent.name for p in (ROOT / "explorer" / "mechanisms").glob("*/spec.py"))
    points = {ep.name: ep.value for ep in metadata.distribution(registry.DISTRIBUTION).entry_points
              if ep.group == registry.GROUP}
    assert sorted(points) == folders == list(BUILTIN) == ["adv", "di", "dp", "rad", "wm"]
    for name, value in points.items():
        assert value == f"explorer.mechanisms.{name}.spec:SPEC"
        assert importlib.import_module(f"explorer.mechanisms.{name}.spec").SPEC is BUILTIN[name]
        assert BUILTIN[name].mechanism.startswith(f"explorer.mechanisms.{name}.mechanism:")
    for spec in BUILTIN.values():
        assert spec_problems(spec) == [], spec.name
        assert explorer.registry.get(spec.name).spec is spec
        assert explorer.registry.get(spec.name).order == spec.order


def test_mechanism_lists_agree() -> None:
    assert explorer.config.MECHANISMS == registry.names() == analysis.schema.MECHANISMS
    assert explorer.registry.names() == list(registry.names())
    assert set(registry.names()) <= set(search_spaces.schema.TOP_KEYS)


def test_metric_lists_agree() -> None:
    risks = {m.name for m in RISK_METRICS}
    assert set(explorer.results.METRICS) == set(analysis.schema.METRICS) == {"acc", "loss", *SPEC_METRICS, *risks}
    assert set(explorer.results.METRICS) <= set(explorer_core.rows.row_schema().names)
    searchable = {m.name for s in SPECS.values() for m in s.metrics if m.searchable}
    assert set(search_spaces.constraints.METRICS) == {"acc"} | searchable | risks
    assert all(search_spaces.constraints.METRICS[r] is None for r in risks)  # measured in every trial
    assert set(search_spaces.constraints.DEFAULT_DIRECTIONS) == set(search_spaces.constraints.METRICS)
    for spec in SPECS.values():
        for m in spec.metrics:
            assert analysis.schema.label(m.name) == m.label
            assert search_spaces.constraints.METRICS.get(m.name, spec.name) == (None if m.everywhere else spec.name)
            assert (m.name in analysis.schema.LOG_METRICS) == m.log_scale


def test_knobs_agree() -> None:
    for spec in SPECS.values():
        keys = {f"{spec.name}.{f.name}" for f in fields(spec.config_cls)}
        assert keys == {k for k, knob in search_spaces.knobs.KNOBS.items() if knob.section == spec.name}
        assert keys <= set(explorer_core.rows.row_schema().names)
        assert spec.fixed_only <= search_spaces.knobs.FIXED_ONLY
        assert set(spec.variant_flags) <= set(analysis.schema.VARIANT_FLAGS)
        assert {search_spaces.knobs.knob_mechanism(k) for k in keys} == {spec.name}


def test_smoke_caps_and_cost_agree() -> None:
    for spec in SPECS.values():
        assert spec.smoke_caps.items() <= SMOKE_CAPS.items()
        config = {"dataset": "digits", "mechanisms": spec.name, "train.epochs": 1}
        alone = search_spaces.cost.trial_passes(config)
        plain = search_spaces.cost.trial_passes({**config, "mechanisms": "none"})
        assert alone >= plain, spec.name
        assert (alone > plain) == (spec.cost != type(spec.cost)()), spec.name


def test_rules_and_thresholds_agree() -> None:
    keys = set(threshold_specs())
    assert set(Thresholds().as_dict()) == keys
    for name, spec in SPECS.items():
        constraints = search_spaces.constraints.conflict_constraints([name])
        if spec.rule is None:
            assert [c.metric for c in constraints] == ["acc"]
            continue
        assert spec.rule.threshold.key in keys
        assert constraints[-1].metric == spec.rule.metric
        assert analysis.plot_data._PROTECTION_METRIC[name] == spec.rule.metric
        if spec.rule.kind == "drop_vs_baseline":
            assert DROP_METRICS[spec.rule.metric] == (name, spec.rule.threshold.key)


def test_docs_tables_agree() -> None:
    table = _section("metrics.md", "## Metrics")
    documented = set(re.findall(r"^\| `([^`]+)` \|", table, re.M))
    assert documented == {"acc", "loss", *(m for m in SPEC_METRICS if m.split(".")[0] in BUILTIN),
                          *(m.name for m in RISK_METRICS)}
    rules = _section("search-spaces.md", "### Constraints and the conflict rule")
    listed = set(re.findall(r"^\| `([^`]+)` \|", rules, re.M)) - {"acc.drop_vs_baseline"}
    expected = set()
    for name in BUILTIN:
        for th in ({}, {"rad_rel": 0}):
            expected |= {c.name for c in search_spaces.constraints.conflict_constraints([name], Thresholds(**th))}
    assert listed == expected - {"acc.drop_vs_baseline"}
    smoke = _section("search-spaces.md", "## Smoke versions")
    for key in SMOKE_CAPS:
        if key.split(".")[0] in BUILTIN:
            assert f"`{key}`" in smoke or f"`{key.split('.', 1)[1]}`" in smoke, key
    guide = (ROOT / "docs" / "writing-a-mechanism.md").read_text()
    assert "explorer/mechanisms/<name>/" in guide and "entry points in `pyproject.toml`" in guide


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_each_builtin_row_has_its_columns(name: str) -> None:
    config = explorer.config.TrialConfig.from_dict({"mechanisms": name})
    assert set(config.flat()) <= set(explorer_core.rows.row_schema().names)
    assert getattr(config, name) == SPECS[name].config_cls()
