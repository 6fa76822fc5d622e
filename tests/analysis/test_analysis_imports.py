"""`analysis` reads results on a laptop without torch or ray."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: Of explorer, only the built-in mechanisms' torch-free specs, which the registry loads through their entry points
#: (as it loads a plug-in's) on first use, not at import: explorer, explorer.mechanisms, explorer.mechanisms.<name>
#: and its .spec.
CODE = (
    "import re, sys, analysis, analysis.report, analysis.plots, analysis.schema; "
    "assert 'explorer.mechanisms.dp.spec' not in sys.modules; list(analysis.schema.METRICS); "
    "spec = re.compile(r'explorer(\\.mechanisms(\\.\\w+(\\.spec)?)?)?$'); "
    "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'ray') "
    "or (m.split('.')[0] == 'explorer' and not spec.match(m))); "
    "assert not bad, bad; assert sys.modules['matplotlib'].get_backend() is not None; "
    "assert 'explorer.mechanisms.dp.spec' in sys.modules"
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
