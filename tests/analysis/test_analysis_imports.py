"""`analysis` reads results on a laptop without torch or ray."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CODE = (
    "import sys, analysis, analysis.report, analysis.plots; "
    "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'ray', 'explorer')); "
    "assert not bad, bad; assert sys.modules['matplotlib'].get_backend() is not None"
)


def test_importing_analysis_imports_neither_torch_nor_ray() -> None:
    result = subprocess.run([sys.executable, "-c", CODE], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_public_names_are_exported() -> None:
    import analysis

    assert all(hasattr(analysis, name) for name in analysis.__all__)
    assert {
        "load",
        "pareto_front",
        "hypervolume",
        "equivalence",
        "conflicts",
        "operating_points",
        "write_report",
    } <= set(analysis.__all__)
