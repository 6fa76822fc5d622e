"""``validate``: exit 0 with the count and cost; exit 2 with exactly one stderr line, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

import search_spaces as ss
from search_spaces.cli import main

ROOT = Path(__file__).resolve().parents[2]
SMALL = (Path(__file__).resolve().parent / "data" / "small.yaml").read_text()


def test_validate_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr()
    assert "trials: 30 = 12 baselines + 18 grid trials" in out.out and "on 2 CPU cores" in out.out
    assert out.err == ""
    assert main(["validate", str(path), "--smoke"]) == 0
    assert "(smoke)" in capsys.readouterr().out


def test_validate_preset_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(ss.presets()["mnist-optuna-dp-wm"])]) == 0
    assert "trials: 63 = 15 baselines + 48 Optuna trials" in capsys.readouterr().out


@pytest.mark.parametrize("text", ["name: [\n", "- a\n", SMALL.replace("epochs: 2", "epochs: -2"), "",
                                  SMALL + "extra: 1\n"])
def test_validate_bad(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                      one_line: Callable[[str], None]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1
    one_line(out.err.rstrip("\n"))
    assert out.err.startswith(str(path))


@pytest.mark.parametrize("argv", [["validate"], ["nope"], [], ["validate", "a", "b"], ["validate", "--bogus", "x"]])
def test_bad_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_file_and_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "missing.yaml")]) == 2
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "Traceback" not in err


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "validate" in capsys.readouterr().out


def test_real_process_exit_codes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.replace("delta: 1e-5", "delta: 2"))
    run = subprocess.run([sys.executable, "-m", "search_spaces", "validate", str(bad)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == f"{bad}:6: dp.delta: got 2, expected a number > 0 and < 1\n"
    good = subprocess.run([sys.executable, "-m", "search_spaces", "validate",
                           str(ss.presets()["quickstart"])], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert good.returncode == 0 and "trials: 16" in good.stdout
