"""load(): Parquet files, directories and URIs; filters; clear errors for bad paths."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import AnalysisInputError, load


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("trial_id", ignore_index=True)


def test_directory_reads_parquet_parts_recursively_and_ignores_other_files(
    table4_parquet: Path, table4: pd.DataFrame
) -> None:
    df = load(table4_parquet)
    assert len(df) == len(table4)
    assert set(df["trial_id"]) == set(table4["trial_id"])
    merged = _sorted(df).set_index("trial_id")["acc"]
    expected = _sorted(table4).set_index("trial_id")["acc"]
    pd.testing.assert_series_equal(merged, expected, check_names=False)


def test_file_uri_and_list_of_paths(tmp_path: Path, synth) -> None:  # type: ignore[no-untyped-def]
    a = synth([{"dataset": "mnist", "mechanisms": "dp", "experiment": "a"}], seeds=3)
    b = synth([{"dataset": "digits", "mechanisms": "wm", "experiment": "b"}], seeds=2)
    a.to_parquet(tmp_path / "a.parquet")
    b.to_parquet(tmp_path / "b.parquet")
    assert len(load((tmp_path / "a.parquet").as_uri())) == 3
    both = load([tmp_path / "a.parquet", str(tmp_path / "b.parquet")])
    assert sorted(both["dataset"]) == ["digits", "digits", "mnist", "mnist", "mnist"]
    assert both["wm.trigger_size"].notna().sum() == 2


def test_part_files_with_different_columns_are_aligned(tmp_path: Path, synth) -> None:  # type: ignore[no-untyped-def]
    dp = synth([{"dataset": "mnist", "mechanisms": "dp"}], seeds=2)
    wm = synth([{"dataset": "mnist", "mechanisms": "wm", "experiment": "other"}], seeds=2)
    dp.drop(columns=[c for c in dp.columns if c.startswith("wm.")]).to_parquet(tmp_path / "p1.parquet")
    wm.drop(columns=[c for c in wm.columns if c.startswith("dp.") and c != "dp.epsilon"]).to_parquet(
        tmp_path / "p2.parquet"
    )
    df = load(tmp_path)
    assert len(df) == 4
    assert df.loc[df["mechanisms"] == "dp", "wm.trigger_size"].isna().all()
    assert (df.loc[df["mechanisms"] == "wm", "wm.trigger_size"] == 100).all()


def test_filters_and_errored_rows(tmp_path: Path, synth) -> None:  # type: ignore[no-untyped-def]
    df = synth(
        [
            {"dataset": "mnist", "mechanisms": "dp"},
            {"dataset": "mnist", "mechanisms": "dp+wm", "status": "error"},
            {"dataset": "cifar10", "mechanisms": "dp"},
        ],
        seeds=2,
    )
    df.to_parquet(tmp_path / "r.parquet")
    assert len(load(tmp_path / "r.parquet")) == 6  # errored rows are kept
    assert len(load(tmp_path / "r.parquet", status="ok")) == 4
    assert set(load(tmp_path / "r.parquet", dataset="mnist", status="ok")["mechanisms"]) == {"dp"}
    assert len(load(tmp_path / "r.parquet", dataset=["mnist", "cifar10"])) == 6
    with pytest.raises(AnalysisInputError, match="filter 'nope'"):
        load(tmp_path / "r.parquet", nope=1)


def test_iso_string_times_become_utc_timestamps(tmp_path: Path, synth) -> None:  # type: ignore[no-untyped-def]
    df = synth([{"dataset": "mnist", "mechanisms": "none"}], seeds=2)
    df["start_time"] = ["2026-01-01T10:00:00+02:00", "2026-01-01T08:30:00Z"]
    df.to_parquet(tmp_path / "r.parquet")
    times = load(tmp_path / "r.parquet")["start_time"]
    assert str(times.dt.tz) == "UTC"
    assert list(times.dt.hour) == [8, 8]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "not found: expected a Parquet file or a directory of \\*.parquet files"),
        (
            lambda p: (p / "bad.parquet").write_text("not parquet") and p / "bad.parquet",
            "is not a readable Parquet file",
        ),
        (lambda p: (p / "empty").mkdir() or p / "empty", "contains no \\*.parquet files"),
        (
            lambda p: pd.DataFrame({"x": [1]}).to_parquet(p / "x.parquet") or p / "x.parquet",
            "lacks column\\(s\\) config_id",
        ),
    ],
)
def test_bad_paths_raise_one_line_errors(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    with pytest.raises(AnalysisInputError, match=message) as info:
        load(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_unreadable_part_in_a_running_search_is_skipped(table4_parquet: Path, table4: pd.DataFrame) -> None:
    (table4_parquet / "c.parquet").write_bytes(b"PAR1 truncated")
    with pytest.warns(UserWarning, match="skipped unreadable part file"):
        df = load(table4_parquet)
    assert len(df) == len(table4)
    assert df.attrs["skipped_files"][0].endswith("c.parquet")
