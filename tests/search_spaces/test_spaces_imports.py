"""``search_spaces`` must import without torch or ray; the docs' examples validate."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import search_spaces as ss

ROOT = Path(__file__).resolve().parents[2]


def test_no_torch_no_ray() -> None:
    """Nor explorer: the trial config and the mechanism specs lie below both packages (issue 13)."""
    code = ("import search_spaces, search_spaces.cli, search_spaces.cost, sys; "
            "s = search_spaces.load(search_spaces.presets()['mnist-optuna-dp-wm']); search_spaces.expand(s); "
            "search_spaces.smoke(s); search_spaces.estimate(s); "
            "assert not any(m.split('.')[0] in ('torch', 'ray', 'explorer') for m in sys.modules), "
            "[m for m in sys.modules if m.split('.')[0] in ('torch', 'ray', 'explorer')][:5]")
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
