"""``search_spaces`` must import without torch or ray; the docs' examples validate."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

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
