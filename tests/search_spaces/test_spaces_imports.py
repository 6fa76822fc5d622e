"""``search_spaces`` must import without torch or ray; the docs' examples validate."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import search_spaces as ss

ROOT = Path(__file__).resolve().parents[2]


def test_no_torch_no_ray() -> None:
    """Of explorer, only the built-in mechanisms' torch-free specs, loaded by the core's registry through their entry
    points as a plug-in's are; the trial config lies in the core below both packages."""
    code = ("import re, search_spaces, search_spaces.cli, search_spaces.cost, sys; "
            "s = search_spaces.load(search_spaces.presets()['mnist-optuna-dp-wm']); search_spaces.expand(s); "
            "search_spaces.smoke(s); search_spaces.estimate(s); "
            "spec = re.compile(r'explorer(\\.mechanisms(\\.\\w+(\\.spec)?)?)?$'); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'ray') "
            "or (m.split('.')[0] == 'explorer' and not spec.match(m))]; assert not bad, bad[:5]")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr


def test_public_names() -> None:
    for name in ss.__all__:
        assert hasattr(ss, name), name


def test_docs_examples_validate() -> None:
    text = (ROOT / "docs" / "search-spaces.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert len(blocks) >= 2
    spaces = [ss.loads(b, "docs/search-spaces.md") for b in blocks]
    assert spaces[0].search.algorithm == "grid" and spaces[1].search.algorithm == "optuna"
    assert "counts 76 trials" in text and len(ss.expand(spaces[0])) == 76
    for s in spaces:
        assert ss.loads(ss.dump(s)) == s


def test_preset_folders_come_from_entry_points_and_a_broken_or_clashing_one_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from importlib import metadata

    assert ss.presets()["repro-mnist-alone"].parent.name == "presets"  # the reproduction's, through its entry point
    (tmp_path / "mine.yaml").write_text("name: mine\n")
    (tmp_path / "quickstart.yaml").write_text("name: quickstart\n")
    import types
    module = types.ModuleType("fake_presets")
    module.DIR = tmp_path  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_presets", module)
    noisy = types.ModuleType("noisy_presets")

    def fail(name: str) -> None:
        raise ValueError("first line\nsecond line")

    noisy.__getattr__ = fail  # type: ignore[method-assign]
    monkeypatch.setitem(sys.modules, "noisy_presets", noisy)
    points = [metadata.EntryPoint("broken", "no_such_module_xyz:DIR", ss.PRESETS_GROUP),
              metadata.EntryPoint("fake", "fake_presets:DIR", ss.PRESETS_GROUP),
              metadata.EntryPoint("noisy", "noisy_presets:DIR", ss.PRESETS_GROUP)]
    monkeypatch.setattr(metadata, "entry_points", lambda group: points if group == ss.PRESETS_GROUP else [])
    found = ss.presets()
    assert found["mine"] == tmp_path / "mine.yaml" and found["quickstart"].parent == ss.PRESETS_DIR
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3  # one line each, a message of several lines too
    assert err[0].startswith("explorer: presets 'broken' (no_such_module_xyz:DIR) skipped: ModuleNotFoundError")
    assert err[1].startswith(f"explorer: preset {tmp_path / 'quickstart.yaml'} skipped: the name 'quickstart' is taken")
    assert err[2] == "explorer: presets 'noisy' (noisy_presets:DIR) skipped: ValueError: first line second line"
