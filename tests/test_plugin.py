"""A third-party mechanism as a plug-in: examples/gaussian_noise, made visible to importlib.metadata by a
``*.dist-info`` folder on PYTHONPATH (no file of explorer, search_spaces or analysis is edited), then run
through `explorer train` (alone and with dp), a smoke search whose space sets its knobs, and `explorer
report` with its own verdict row. Broken plug-ins are reported in one line and the built-ins keep working."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "gaussian_noise"
EXPLORER = [sys.executable, "-m", "explorer.cli"]
SMALL = ["--epochs", "1", "--set", "data.train_subset=256", "--set", "data.test_subset=128",
         "--set", "eval.adv_samples=16", "--set", "eval.steps=2", "--quiet"]


def _dist_info(root: Path, package: str, entry_points: str) -> Path:
    """A minimal installed-distribution record: METADATA and entry_points.txt, as pip would write them."""
    info = root / f"{package.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[protection_explorer.mechanisms]\n{entry_points}\n")
    return root


def _env(*paths: Path) -> dict[str, str]:
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    env["PYTHONPATH"] = os.pathsep.join([*(str(p) for p in paths), str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    site = _dist_info(tmp_path_factory.mktemp("site"), "gaussian-noise-mechanism", "gauss = gaussian_noise.spec:SPEC")
    return _env(site, EXAMPLE)


def test_train_with_the_plugin_alone_and_with_dp(plugin_env: dict[str, str], tmp_path: Path) -> None:
    for mechanisms in ("gauss", "dp,gauss"):
        out = tmp_path / f"{mechanisms.replace(',', '+')}.parquet"
        run = _run([*EXPLORER, "train", "--mechanisms", mechanisms, "--set", "gauss.sigma=0.3", *SMALL,
                    "--out", str(out)], plugin_env, tmp_path)
        assert run.returncode == 0, run.stderr[-2000:]
        row = pd.read_parquet(out).iloc[0]
        assert row["status"] == "ok" and row["mechanisms"] == mechanisms.replace(",", "+")
        assert row["gauss.sigma"] == 0.3 and 0 <= row["gauss.noisy_acc"] <= 1
        assert ("dp" in mechanisms) == bool(pd.notna(row["dp.epsilon"]))  # no epsilon without dp


@pytest.mark.slow  # a search and a report, ~1 min: make test-slow (train and broken plug-ins stay default)
def test_search_sets_its_knobs_and_report_shows_its_verdict(plugin_env: dict[str, str], tmp_path: Path,
                                                            ray_tmp: Path) -> None:
    space = tmp_path / "gauss.yaml"
    space.write_text("name: gauss-dp\ndataset: digits\nmechanisms: [[dp, gauss]]\nseeds: 2\n"
                     "training: {epochs: 1}\ngauss: {sigma: {grid: [0.1, 0.25]}}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text(space.read_text().replace("0.25]", "2]"))
    run = _run([*EXPLORER, "validate", str(bad)], plugin_env, tmp_path, timeout=60)
    assert run.returncode == 2 and "gauss.sigma: got 2, expected a number >= 0 and <= 1" in run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    out, report = tmp_path / "out", tmp_path / "report"
    run = _run([*EXPLORER, "search", str(space), "--out", str(out), "--smoke", "--num-cpus", "2",
                "--progress-every", "600"], dict(plugin_env, RAY_TMPDIR=str(ray_tmp)), tmp_path, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = pd.read_parquet(out / "rows")
    assert (rows["status"] == "ok").all(), rows[["mechanisms", "status", "error"]]
    assert set(rows["mechanisms"]) == {"none", "dp", "gauss", "dp+gauss"}
    assert set(rows.loc[rows["mechanisms"] == "dp+gauss", "gauss.sigma"]) == {0.1, 0.25}
    run = _run([*EXPLORER, "report", str(out), "--out", str(report)], plugin_env, tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    eq = pd.read_csv(report / "equivalence.csv")
    mine = eq[(eq["metric"] == "gauss.noisy_acc") & (eq["role"] == "verdict")]
    assert set(mine["mechanisms"]) == {"dp+gauss"} and set(mine["baseline"]) == {"gauss"}
    assert "gauss.noisy_acc drop 0.1" in (report / "report.md").read_text()


BROKEN = {
    "import error": ("broken-import", "gauss = gaussian_noise_missing.spec:SPEC", "cannot import"),
    "bad spec": ("broken-spec", "gauss = gaussian_noise.spec:GaussConfig", "bad spec"),
    "name clash": ("clashing-dp", "dp = explorer.mechanisms.dp.spec:SPEC", "clashes with the mechanism from built-in"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_plugin_is_one_line_and_builtins_keep_working(case: str, tmp_path: Path) -> None:
    package, entry, reason = BROKEN[case]
    env = _env(_dist_info(tmp_path / "site", package, entry), EXAMPLE)
    run = _run([*EXPLORER, "validate", str(ROOT / "search_spaces" / "presets" / "quickstart.yaml")], env, tmp_path,
               timeout=60)
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stderr.splitlines() if "plug-in" in line]
    assert len(lines) == 1 and package in lines[0] and reason in lines[0], run.stderr
    assert "trials: 16 = 10 baselines + 6 grid trials" in run.stdout


def test_the_plugin_class_orders_before_dp_and_owns_only_the_closed_vocabulary(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from explorer.api import OWNS, Mechanism
    from explorer.mechanisms.dp.mechanism import DPSGD

    monkeypatch.syspath_prepend(str(EXAMPLE))
    from gaussian_noise.mechanism import GaussianNoise

    noise = GaussianNoise(GaussianNoise.config_cls(), torch.Generator())
    assert (noise.name, noise.order) == ("gauss", 40) and noise.order < DPSGD.order  # noise lands before DP wraps
    assert noise.problems(None, []) == []  # type: ignore[arg-type]
    assert set(OWNS) == {"optimizer", "criterion"} and DPSGD.owns == {"optimizer"}
    with pytest.raises(TypeError, match=r"InputOwner.owns: got 'input', expected a subset of optimizer, criterion"):
        class InputOwner(Mechanism):  # noqa: F841 - defining it is the test
            name, order, owns = "owner", 1, frozenset({"input"})
