"""`explorer confirm` refuses bad input with one line and exit code 2, before any Ray starts."""

from __future__ import annotations

from pathlib import Path

import pytest

import search_spaces as ss
from explorer.cli import main
from explorer.confirm import read_space, write_record

OPTUNA = """
name: {name}
dataset: synthetic
mechanisms: [[dp, wm]]
dp: {{target_epsilon: {{loguniform: [1, 10]}}}}
baselines: {{set: {{dp.target_epsilon: 3}}}}
search: {{algorithm: optuna, num_samples: 2}}
"""
GRID = "name: grid\ndataset: synthetic\nmechanisms: [[dp, wm]]\n"


def _out(tmp_path: Path, *spaces: str) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    for text in spaces:
        write_record(ss.loads(text), str(out))
    return out


def test_the_recorded_space_reads_back_equal(tmp_path: Path) -> None:
    space = ss.loads(OPTUNA.format(name="a"))
    out = _out(tmp_path, OPTUNA.format(name="a"))
    assert read_space(str(out)) == space and (out / "spaces" / "a.json").is_file()
    assert not list((out / "spaces").glob(".*"))  # the temporary file was renamed


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("none", [], "error: OUT: got '{out}', expected the output folder or URI of an `explorer search`"),
        ("empty", [], "error: OUT: got '{out}', expected the output of an `explorer search` with its recorded space"),
        ("one", ["--top", "0"], "error: --top: got 0, expected an integer in [1, 1000]"),
        ("one", ["--top", str(2**63)], f"error: --top: got {2**63}, expected an integer in [1, 1000]"),
        ("one", ["--seeds", "1"], "error: --seeds: got 1, expected an integer in [2, 1000]"),
        ("one", ["--seeds", "1001"], "error: --seeds: got 1001, expected an integer in [2, 1000]"),
        ("one", ["--retries", "-1"], "error: --retries: got -1, expected an integer >= 0"),
        ("two", [], "error: --space: got nothing, expected one of a, b (OUT holds several searches)"),
        ("two", ["--space", "c"], "error: --space: got 'c', expected one of a, b"),
        ("grid", [], "error: OUT: got the grid search 'grid', expected an Optuna or random search"),
        ("broken", [], "error: {out}/spaces/a.json: got an unreadable record (JSONDecodeError"),
    ],
)
def test_bad_input_exits_2_with_one_line(setup: str, args: list[str], message: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    spaces = {"none": (), "empty": (), "one": (OPTUNA.format(name="a"),), "grid": (GRID,),
              "two": (OPTUNA.format(name="a"), OPTUNA.format(name="b")), "broken": (OPTUNA.format(name="a"),)}
    out = tmp_path / "out"
    if setup != "none":
        out = _out(tmp_path, *spaces[setup])
    if setup == "broken":
        (out / "spaces" / "a.json").write_text("{oops")
    assert main(["confirm", str(out), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message.format(out=out)), err
    assert not (out / "rows").exists() and not (out / "ray").exists()
