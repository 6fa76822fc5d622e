"""Registry views are computed on demand: nothing is read at import, and a reload (a plug-in installed) shows in
every module's lists at once."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from explorer_core import registry, views

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_packages_reads_no_spec() -> None:
    code = ("import analysis.schema, analysis.report, search_spaces, search_spaces.knobs, explorer.config, "
            "explorer.results, explorer_core.registry as r; assert r._SPECS is None, 'specs loaded at import'")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_a_view_recomputes_once_per_registry_generation() -> None:
    calls: list[int] = []
    view = views.Tuple(lambda: (calls.append(1), ("a", "b"))[1])
    assert view == ("a", "b") and list(view) == ["a", "b"] and view[1] == "b" and "a" in view and len(view) == 2
    assert ("x", *view) == ("x", "a", "b") and view + ("c",) == ("a", "b", "c")
    assert len(calls) == 1
    registry.reload()
    assert view == ("a", "b") and len(calls) == 2
    mapping = views.Dict(lambda: {"k": 1})
    assert {**mapping} == {"k": 1} and mapping == {"k": 1} and mapping["k"] == 1
    assert views.FrozenSet(lambda: frozenset({1})) | {2} == {1, 2}


@pytest.fixture
def flooding_installed(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.syspath_prepend(str(ROOT / "examples" / "flooding"))
    real = metadata.entry_points
    extra = metadata.EntryPoint("flood", "flooding.spec:SPEC", registry.GROUP)

    def points(**kwargs: str) -> list[metadata.EntryPoint]:
        found = list(real(**kwargs))
        return [*found, extra] if kwargs.get("group") == registry.GROUP else found

    monkeypatch.setattr(metadata, "entry_points", points)
    registry.reload()
    yield
    monkeypatch.undo()
    registry.reload()


def test_a_plugin_registered_after_import_shows_in_every_list(flooding_installed: None) -> None:
    import analysis.schema
    import explorer.config
    import explorer.results
    import search_spaces.constraints
    import search_spaces.knobs
    from analysis.equivalence import RISE_METRICS
    from explorer_core.rows import row_schema

    assert "flood" in explorer.config.MECHANISMS and "flood" in analysis.schema.MECHANISMS
    assert "flood.loss_gap" in analysis.schema.METRICS and "flood.loss_gap" in explorer.results.METRICS
    assert "flood.loss_gap" in row_schema().names and "flood.level" in row_schema().names
    assert "flood.level" in search_spaces.knobs.KNOBS and "flood.loss_gap" in search_spaces.constraints.METRICS
    assert "flood.loss_gap" in RISE_METRICS  # lower is better: its rule judges a rise


def test_and_is_gone_after_a_reload_without_it() -> None:
    import analysis.schema
    from explorer_core.rows import row_schema

    registry.reload()
    assert "flood" not in analysis.schema.MECHANISMS and "flood.loss_gap" not in row_schema().names
