"""write_report and the `report` CLI: every file, self-contained HTML, partial results, one-line errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis import conflicts, load, write_report
from analysis.report import main

REPO = Path(__file__).resolve().parents[2]
FILES = {"report.md", "report.html", "conflicts.csv", "pareto.csv", "equivalence.csv", "operating_points.csv"}


@pytest.fixture
def sweep_parquet(table4: pd.DataFrame, synth, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """Table 4 plus a DP epsilon sweep of dp and dp+wm on mnist, as one Parquet file."""
    groups = []
    for eps, wm in ((1.0, 0.2), (8.0, 0.8), (64.0, 0.95)):
        groups.append(
            {
                "dataset": "mnist",
                "mechanisms": "dp",
                "params": {"dp.target_epsilon": eps},
                "metrics": {"acc": (0.9 + eps / 1000, 0.01)},
            }
        )
        groups.append(
            {
                "dataset": "mnist",
                "mechanisms": "dp+wm",
                "params": {"dp.target_epsilon": eps},
                "metrics": {"acc": (0.89 + eps / 1000, 0.01), "wm.acc": (wm, 0.03)},
                "experiment": "sweep",
            }
        )
    path = tmp_path / "sweep.parquet"
    pd.concat([table4, synth(groups, seeds=3)], ignore_index=True).to_parquet(path)
    return path


def test_writes_every_file_and_embeds_the_figures(sweep_parquet: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    written = write_report(sweep_parquet, out)
    assert FILES <= set(written)
    pngs = {n for n in written if n.endswith(".png")}
    assert (
        "conflicts.png" in pngs
        and any(n.startswith("pareto_") for n in pngs)
        and any(n.startswith("curve_") for n in pngs)
    )
    assert {p.name for p in out.iterdir()} == set(written)
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(pngs)
    assert not re.search(r"src=['\"](?!data:)", html)  # nothing loaded from outside the file
    markdown = (out / "report.md").read_text()
    assert all(f"]({n})" in markdown for n in pngs)
    cells = pd.read_csv(out / "conflicts.csv", keep_default_na=False)
    expected = conflicts(load(sweep_parquet)).cells
    assert (
        cells[["mechanisms", "dataset", "verdict", "metrics"]].values.tolist()
        == expected[["mechanisms", "dataset", "verdict", "metrics"]].values.tolist()
    )
    assert len(pd.read_csv(out / "pareto.csv")) >= 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report.partial-")]


def test_partial_results_errors_and_missing_baselines(synth, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    df = synth(
        [
            {"dataset": "mnist", "mechanisms": "dp+wm", "metrics": {"wm.acc": (0.5, 0.1)}},
            {"dataset": "mnist", "mechanisms": "adv+wm", "status": "error"},
            {"dataset": "mnist", "mechanisms": "wm", "seeds": 1, "metrics": {"wm.acc": (1.0, 0.0)}},
        ],
        seeds=3,
    )
    written = write_report(df, tmp_path / "out")
    text = written["report.md"].read_text()
    assert "no matching baseline for dp" in text and "none ok" in text and "RuntimeError: boom" in text
    only_errors = synth([{"dataset": "mnist", "mechanisms": "dp+wm", "status": "error"}], seeds=2)
    assert FILES <= set(write_report(only_errors, tmp_path / "errors"))


def test_rewrites_an_existing_report_directory(table4: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("user file")
    write_report(table4, out)
    write_report(table4, out)
    assert (out / "keep.txt").read_text() == "user file" and (out / "report.html").exists()


def test_cli_success(table4_parquet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            str(table4_parquet),
            "--out",
            str(tmp_path / "r"),
            "--objectives",
            "acc:max,wm.acc:max",
            "--threshold",
            "acc=0.05",
            "alpha=0.01",
            "--constraint",
            "acc>=0.5",
        ]
    )
    assert code == 0
    assert "acc drop 0.05" in (tmp_path / "r" / "report.md").read_text()
    assert "report.html" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "pattern"),
    [
        (
            ["{missing}", "--out", "{out}"],
            r"error: results path '.*missing' not found: expected a Parquet file or a directory of \*\.parquet files",
        ),
        (["{bad}", "--out", "{out}"], r"error: results path '.*bad\.parquet' is not a readable Parquet file .*"),
        (
            ["{good}", "--out", "{out}", "--threshold", "acc=2"],
            r"error: threshold acc=2\.0: expected a drop in \(0, 1\].*",
        ),
        (
            ["{good}", "--out", "{out}", "--objectives", "acc"],
            r"error: --objectives 'acc': expected column:max or column:min.*",
        ),
        (
            ["{good}", "--out", "{out}", "--objectives", "nope:max"],
            r"error: objective column\(s\) nope not in the results.*",
        ),
        (
            ["{good}", "--out", "{out}", "--constraint", "acc=>1"],
            r"error: --constraint 'acc=>1': expected COLUMN OP NUMBER.*",
        ),
        (["{good}"], r"error: the following arguments are required: --out"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    argv: list[str], pattern: str, table4_parquet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.parquet").write_text("nope")
    paths = {
        "missing": tmp_path / "missing",
        "bad": tmp_path / "bad.parquet",
        "good": table4_parquet,
        "out": tmp_path / "out",
    }
    assert main([a.format(**paths) for a in argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert re.fullmatch(pattern, err.strip()), err
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.partial-")]


def test_cli_in_a_subprocess_prints_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "analysis", str(tmp_path / "x"), "--out", str(tmp_path / "o")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"error: results path '{tmp_path / 'x'}' not found: "
        + "expected a Parquet file or a directory of *.parquet files"
    )


def test_cli_reports_a_skipped_part_file_as_one_warning_line(
    table4_parquet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (table4_parquet / "being-written.parquet").write_bytes(b"PAR1")
    assert main([str(table4_parquet), "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: skipped unreadable part file") and "being-written" in err[0]
