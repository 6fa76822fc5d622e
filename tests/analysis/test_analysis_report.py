"""write_report and the `report` CLI: every file, self-contained HTML, partial results, one-line errors."""

from __future__ import annotations

import json
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
            r"error: thresholds.acc: got 2\.0, expected .*a number in \(0, 1\]",
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


def _record(folder: Path, name: str = "search", recorded: str = "2026-01-01T00:00:00+00:00", **view: object) -> None:
    """A search record as `explorer search` writes it (search_spaces.record), analysis view only."""
    analysis_view = {
        "objectives": {"acc": "max", "wm.acc": "max", "dp.epsilon": "min"},
        "thresholds": {"acc": 0.1, "wm": 0.25, "adv": 0.1, "di_p": 1e-3, "rad_gap": 1e-2},
        "constraints": {"acc": [">=", 0.5]},
        "notes": [],
        **view,
    }
    (folder / "spaces").mkdir(parents=True, exist_ok=True)
    document = {"format": 1, "name": name, "recorded": recorded, "analysis": analysis_view, "space_yaml": ""}
    (folder / "spaces" / f"{name}.json").write_text(json.dumps(document))


@pytest.fixture
def confirmed_search(synth, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """An output folder: dp+wm at a sampled epsilon confirmed under 4 seeds with exact baselines, a screening
    candidate under one seed, and the search's record."""
    eps = 6.2519
    dp = [{"dataset": "digits", "mechanisms": "dp", "params": {"dp.target_epsilon": e},
           "metrics": {"acc": (a, 0.01), "dp.epsilon": (e, 0)}} for e, a in ((3.0, 0.80), (eps, 0.86))]
    groups = dp + [
        {"dataset": "digits", "mechanisms": "wm", "metrics": {"acc": (0.97, 0.01), "wm.acc": (1.0, 0.0)}},
        {"dataset": "digits", "mechanisms": "dp+wm", "params": {"dp.target_epsilon": eps, "wm.decoupled": True},
         "metrics": {"acc": (0.85, 0.01), "wm.acc": (1.0, 0.0), "dp.epsilon": (eps, 0.0)}},
    ]
    screening = {"dataset": "digits", "mechanisms": "dp+wm", "params": {"dp.target_epsilon": 2.5},
                 "metrics": {"acc": (0.84, 0.0), "wm.acc": (0.9, 0.0), "dp.epsilon": (2.5, 0.0)}, "seeds": 1}
    df = synth([*groups, screening], seeds=4)
    folder = tmp_path / "out"
    (folder / "rows").mkdir(parents=True)
    df.to_parquet(folder / "rows" / "part-0.parquet")
    _record(folder)
    return folder


def test_the_report_answers_with_a_confirmed_point_and_the_search_goal(confirmed_search: Path, tmp_path: Path) -> None:
    assert main([str(confirmed_search), "--out", str(tmp_path / "r")]) == 0
    text = (tmp_path / "r" / "report.md").read_text()
    answer = text.split("## Operating points")[1].split("### Per combination")[0]
    assert "Recommended: dp+wm on digits / cnn4: acc=0.850, wm.acc=1.000, dp.epsilon=6.252 [confirmed, 4 seeds, " \
           "no conflict; config " in answer
    assert "acc: no conflict (drop 0.010, Welch p=" in answer and "TOST lower p=" in answer
    assert "### Confirmed points" in text and "### Screening points (unconfirmed)" in text
    intro = text.split("## Data")[0]
    assert "objectives: acc (max), wm.acc (max), dp.epsilon (min)" in intro and "constraints: acc >= 0.5" in intro
    assert "thresholds: acc drop 0.1, " in intro and "wm.acc drop 0.25" in intro
    assert "search goal recorded by search (" in intro and "objectives, thresholds, constraints taken from it" in intro
    assert {p.name for p in (tmp_path / "r").glob("pareto_*.png")}  # the 3-objective front, as projections
    points = pd.read_csv(tmp_path / "r" / "operating_points.csv").set_index("dp.target_epsilon")
    assert points.loc[6.2519, "evidence"] == "confirmed" and points.loc[2.5, "evidence"] == "screening"
    assert points.loc[6.2519, "pareto_rank"] == 1
    # the command line wins over the record
    assert main([str(confirmed_search / "rows"), "--out", str(tmp_path / "r2"), "--objectives", "acc:max",
                 "--threshold", "acc=0.05"]) == 0
    intro = (tmp_path / "r2" / "report.md").read_text().split("## Data")[0]
    assert "objectives: acc (max)\n" in intro and "thresholds: acc drop 0.05, " in intro and "wm.acc drop 0.25" in intro
    assert "constraints taken from it; objectives, thresholds from the command line" in intro


def test_a_malformed_search_record_exits_2(confirmed_search: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (confirmed_search / "spaces" / "search.json").write_text("{not json")
    assert main([str(confirmed_search), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: search record ") and "cannot be read" in err[0]
    _record(confirmed_search, objectives={"acc": "up"})
    assert main([str(confirmed_search), "--out", str(tmp_path / "r")]) == 2
    assert "objectives must be max or min" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
