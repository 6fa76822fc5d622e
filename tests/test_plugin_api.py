"""The public plug-in API (explorer.api) and the second example, examples/flooding: a training-loss mechanism
whose lower-is-better metric is judged by a rise rule, importing nothing of the explorer but explorer.api."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch import nn

import explorer.api as api
from explorer.mechanisms.base import TrainData, TrainState
from explorer_core.spec import MechanismSpec, Metric, Rule, Threshold, spec_problems

from .test_plugin import EXPLORER, SMALL, _dist_info, _env, _run

ROOT = Path(__file__).resolve().parents[1]
FLOODING = ROOT / "examples" / "flooding"
EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def flood_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    site = _dist_info(tmp_path_factory.mktemp("site"), "flooding-mechanism", "flood = flooding.spec:SPEC")
    return _env(site, FLOODING)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_plugin_imports_only_the_public_api(example: Path) -> None:
    ours = ("explorer", "search_spaces", "analysis")
    for path in example.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            for name in names:
                if name.split(".")[0] in ours:
                    assert name == "explorer.api", f"{path.relative_to(ROOT)}:{node.lineno} imports {name}"


def test_the_api_names_everything_it_exports_and_its_spec_half_needs_no_torch() -> None:
    assert all(hasattr(api, name) for name in api.__all__)
    code = "import sys; import explorer.api as a; a.MechanismSpec; a.number; print('torch' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.stdout.strip() == "False", run.stderr


def _spec(direction: str, kind: str) -> MechanismSpec:
    from flooding_test_config import FakeConfig  # type: ignore[import-not-found]

    return MechanismSpec(name="fake", title="fake", paper="-", config_cls=FakeConfig, mechanism="m:C", order=1,
                         metrics=(Metric("fake.m", direction, "x", "x"),), objective="fake.m",  # type: ignore[arg-type]
                         rule=Rule("fake.m", kind, Threshold("fake", 0.1, 0, 1, True, False, "x")))  # type: ignore[arg-type]


def test_a_rule_against_its_metrics_direction_is_refused_in_one_line(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "flooding_test_config.py").write_text(
        "from dataclasses import dataclass\nfrom typing import ClassVar\nfrom explorer.api import Section\n"
        "@dataclass(frozen=True, kw_only=True, slots=True)\nclass FakeConfig(Section):\n"
        "    prefix: ClassVar[str] = 'fake'\n    level: float = 0.1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert spec_problems(_spec("min", "drop_vs_baseline")) == []  # a rise rule: follows the direction
    assert spec_problems(_spec("max", "drop_vs_baseline")) == []
    assert spec_problems(_spec("min", "max")) == []
    [problem] = spec_problems(_spec("max", "max"))
    assert problem.startswith("rule max on 'fake.m': a conflict when the metric lies above a bound needs a metric "
                              "whose direction is 'min', got 'max'")
    [problem] = spec_problems(_spec("min", "min"))
    assert "needs a metric whose direction is 'max', got 'min'" in problem


def test_decoupled_steps_use_the_trials_loss_as_it_was_before_dp_wrapped_it() -> None:
    calls: list[str] = []

    class Spy(nn.CrossEntropyLoss):
        def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            calls.append(self.reduction)
            return super().forward(logits, target)

    net = nn.Linear(4, 3)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    state = TrainState(net, net, opt, nn.CrossEntropyLoss(), None, TrainData(torch.zeros(1), torch.zeros(1)),  # type: ignore[arg-type]
                       api.default_step, plain_criterion=Spy())
    api.plain_step(state, opt, torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1]))
    assert calls == ["mean"] and state.loss is state.plain_criterion


def test_train_with_the_flooding_plugin_alone_and_under_dp(flood_env: dict[str, str], tmp_path: Path) -> None:
    """Its loss wrapper runs inside DP-SGD's ghost clipping too (per-sample losses via ``reduction``)."""
    gaps = {}
    for mechanisms in ("flood", "dp,flood"):
        out = tmp_path / f"{mechanisms.replace(',', '+')}.parquet"
        run = _run([*EXPLORER, "train", "--mechanisms", mechanisms, "--set", "flood.level=0.3", *SMALL,
                    "--out", str(out)], flood_env, tmp_path)
        assert run.returncode == 0, run.stderr[-2000:]
        row = pd.read_parquet(out).iloc[0]
        assert row["status"] == "ok" and row["flood.level"] == 0.3
        gaps[mechanisms] = row["flood.loss_gap"]
        assert row["loss"] >= 0.3 - 1e-6  # the flooded training loss never sinks below the flood level
    assert all(pd.notna(v) for v in gaps.values())

    # `explorer status` shows the plug-in's metric beside the built-ins', taken from its spec (no list to edit)
    status = _run([*EXPLORER, "status", str(tmp_path)], flood_env, tmp_path)
    assert status.returncode == 0, status.stderr[-2000:]
    header = next(line for line in status.stdout.splitlines() if line.lstrip().startswith("n "))
    assert "flood.loss_gap" in header.split() and "dp.epsilon" in header.split(), status.stdout
    assert any(line.split()[:2] == ["digits", "dp+flood"] for line in status.stdout.splitlines()), status.stdout


def test_a_rise_of_the_flooding_gap_beyond_its_threshold_is_a_conflict(flood_env: dict[str, str],
                                                                       tmp_path: Path) -> None:
    """flood.loss_gap is lower-is-better: dp+flood's gap rising 0.3 nats over flooding alone (threshold 0.1) is a
    conflict; rising 0.02 is not. Judged by the report's own rule in a process where the plug-in is installed."""
    code = f"""
import importlib.util
from analysis import conflicts
spec = importlib.util.spec_from_file_location("synthetic", {str(ROOT / 'tests' / 'analysis' / 'conftest.py')!r})
synthetic = importlib.util.module_from_spec(spec)
spec.loader.exec_module(synthetic)
synthetic.HYPER_DEFAULTS["flood"] = {{"flood.level": 0.1, "flood.eval_samples": 1000}}
synthetic.METRIC_NAMES += ("flood.loss_gap",)
make_results = synthetic.make_results
for rise in (0.3, 0.02):
    df = make_results([
        {{"dataset": "digits", "mechanisms": "none", "metrics": {{"acc": (0.95, 0.005)}}}},
        {{"dataset": "digits", "mechanisms": "dp", "metrics": {{"acc": (0.90, 0.005)}}}},
        {{"dataset": "digits", "mechanisms": "flood", "params": {{"flood.level": 0.1}},
          "metrics": {{"acc": (0.94, 0.005), "flood.loss_gap": (0.20, 0.01)}}}},
        {{"dataset": "digits", "mechanisms": "dp+flood", "params": {{"flood.level": 0.1}},
          "metrics": {{"acc": (0.90, 0.005), "flood.loss_gap": (0.20 + rise, 0.01)}}}},
    ])
    eq = conflicts(df).equivalence
    row = eq[(eq["metric"] == "flood.loss_gap") & (eq["role"] == "verdict")].iloc[0]
    print(row["verdict"], "|", row["reason"])
"""
    run = _run([sys.executable, "-c", code], flood_env, tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    high, low = run.stdout.strip().splitlines()
    assert high.startswith("conflict | flood.loss_gap rises 0.300 > 0.1 vs flood"), high
    assert low.startswith("no conflict | flood.loss_gap rise 0.020 < 0.1 vs flood"), low
