from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from explorer.cli import main

FAST = ["--dataset", "synthetic", "--model", "tiny", "--epochs", "1", "--device", "cpu", "--quiet",
        "--set", "data.train_subset=128", "--set", "eval.adv_samples=16", "--set", "eval.steps=2"]


def test_train_prints_one_json_row_and_writes_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "row.parquet"
    code = main(["train", *FAST, "--mechanisms", "dp,wm", "--set", "wm.trigger_size=16",
                 "--set", "dp.target_epsilon=2", "--out", str(out)])
    assert code == 0
    row = json.loads(capsys.readouterr().out)
    assert row["mechanisms"] == "dp+wm" and row["status"] == "ok"
    assert row["dp.epsilon"] <= 2 and math.isfinite(row["wm.log10_p"])
    df = pd.read_parquet(out)
    assert len(df) == 1 and df["wm.trigger_size"].iloc[0] == 16 and df["trial_id"].iloc[0] == row["trial_id"]


def test_config_file_and_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "trial.yaml"
    cfg.write_text("mechanisms: [adv]\nadv:\n  gamma: 0.05\n  steps: 2\nseed: 3\n")
    assert main(["train", *FAST, "--config", str(cfg), "--seed", "4"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["adv.gamma"] == 0.05 and row["seed"] == 4 and row["mechanisms"] == "adv"


@pytest.mark.parametrize("args, needle", [
    (["--mechanisms", "dp,magic"], "mechanisms: got 'magic'"),
    (["--dataset", "imagenet"], "dataset: got 'imagenet'"),
    (["--set", "dp.epsilon=3", "--mechanisms", "dp"], "dp.epsilon: got 3"),
    (["--set", "nothing"], "--set: got 'nothing'"),
    (["--mechanisms", "adv", "--set", "adv.gamma=1.5"], "adv.gamma: got 1.5, expected a number > 0 and <= 1"),
    (["--mechanisms", "adv", "--set", "adv.gamma=0"], "adv.gamma: got 0"),
    (["--mechanisms", "dp", "--set", "dp.target_epsilon=0"], "dp.target_epsilon: got 0"),
    (["--mechanisms", "dp", "--set", "dp.target_epsilon=-1"], "dp.target_epsilon: got -1"),
    (["--mechanisms", "wm", "--set", "wm.source=digits", "--set", "wm.trigger_size=5000"],
     "wm.trigger_size: got 5000, expected at most 359"),
    (["--dataset", "mnist", "--data-dir", "/nonexistent"], "dataset 'mnist' not found: expected"),
    (["--config", "/nonexistent.yaml"], "--config: got"),
    (["--out", "x.csv"], "--out: got 'x.csv'"),
])
def test_bad_input_exits_2_with_one_line(args: list[str], needle: str, capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    assert main(["train", *FAST, *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], captured.err


def test_missing_dataset_from_a_shell_has_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "explorer.cli", "train", "--dataset", "fashion_mnist",
                           "--data-dir", str(tmp_path), "--out", str(tmp_path / "r.parquet")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "FashionMNIST/raw" in proc.stderr and "Traceback" not in proc.stderr
    assert not list(tmp_path.iterdir())  # nothing half-written


@pytest.mark.parametrize("args, needle", [
    (["--out", "/proc/nowhere/r.parquet"], "--out: got '/proc/nowhere/r.parquet', expected a writable location"),
    (["--mechanisms", "dp", "--set", "dp.target_epsilon=0.00001"], "dp.target_epsilon: got 1e-05, expected a budget"),
    (["--set", "adv.gamma=1/0", "--mechanisms", "adv"], "--set: got 'adv.gamma=1/0'"),
])
def test_more_bad_input_exits_2_before_training(args: list[str], needle: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", *FAST, *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def test_yaml_1_2_numbers_in_set_and_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("mechanisms: [dp]\ndp: {delta: 1e-6}\n")
    assert main(["train", *FAST, "--config", str(cfg), "--set", "eval.gamma=8/255"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["dp.delta"] == 1e-6 and row["eval.gamma"] == pytest.approx(8 / 255)


def test_every_user_error_is_a_branch_of_the_one_root() -> None:
    from analysis.errors import AnalysisInputError
    from explorer_core.errors import ConfigError, SpaceError, UserError
    from search_spaces.domains import DomainError

    for cls in (ConfigError, SpaceError, AnalysisInputError, DomainError):
        assert issubclass(cls, UserError), cls


@pytest.mark.parametrize("argv", [["status", "OUT"], ["report", "OUT"]])
def test_a_user_error_a_command_did_not_report_is_one_line_and_exit_2(argv: list[str], monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import analysis.report
    import explorer.cli as cli
    from analysis.errors import AnalysisInputError

    def raise_(*_: object) -> int:
        raise AnalysisInputError("OUT: got 'x', expected something else")

    monkeypatch.setattr(cli, "_cmd_status", raise_)
    monkeypatch.setattr(analysis.report, "main", raise_)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err == "error: OUT: got 'x', expected something else\n"
