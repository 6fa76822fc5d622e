"""Read the Parquet results of one or more searches into one DataFrame."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from analysis.errors import AnalysisInputError
from analysis.schema import METRICS, missing_text
from explorer_core import store

__all__ = ["EXPECTED", "REQUIRED_COLUMNS", "ResultsPath", "check_columns", "file_info", "filesystem", "load",
           "read_results"]

ResultsPath = str | os.PathLike[str]
EXPECTED = "expected a Parquet file or a directory of *.parquet files"
REQUIRED_COLUMNS: tuple[str, ...] = ("config_id", "seed", "dataset", "model", "mechanisms")
_TIME_COLUMNS = ("start_time", "end_time")


def load(source: ResultsPath | Sequence[ResultsPath], /, **filters: object) -> pd.DataFrame:
    """Concatenate the results at one or more paths or URIs (`file://`, `s3://`, `gs://`).

    A path is a Parquet file or a directory searched recursively for `*.parquet` files (names starting
    with `.` or `_` are skipped, as are other files). Errored rows are kept. `filters` keep the rows
    whose column equals the value (a list, tuple or set: any of them; None: missing), e.g.
    `load(path, dataset="mnist", status="ok")`. Part files that cannot be read inside a directory (a
    running search may be writing one) are skipped with a warning and listed in
    `df.attrs["skipped_files"]`. Rows that name a mechanism whose plug-in is not installed here load too:
    its columns stay raw columns, and one warning line says what is missing (`analysis.schema.missing_text`,
    also in `df.attrs["missing_plugins"]`). Raises `AnalysisInputError` for a missing or malformed path.
    """
    return read_results(source, filters, warn_missing=True)


def read_results(
    source: ResultsPath | Sequence[ResultsPath], filters: dict[str, object], *, warn_missing: bool
) -> pd.DataFrame:
    """`load`, with or without its warning on missing plug-ins (the report writes its own line)."""
    sources = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    if not sources:
        raise AnalysisInputError(f"no results path given: {EXPECTED}")
    frames: list[pd.DataFrame] = []
    skipped: list[str] = []
    for item in sources:
        frame, bad = _read_source(os.fspath(item))
        frames.append(frame)
        skipped.extend(bad)
    df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True, sort=False)
    df = _normalise(df)
    missing = missing_text(df)
    df = _apply_filters(df, filters)
    df.attrs["skipped_files"] = skipped
    df.attrs["missing_plugins"] = missing
    if missing and warn_missing:
        warnings.warn(missing, stacklevel=3)
    return df


def _read_source(text: str) -> tuple[pd.DataFrame, list[str]]:
    fs, path = filesystem(text)
    info = file_info(fs, path, text)
    if info.type == pafs.FileType.NotFound:
        raise AnalysisInputError(f"results path {text!r} not found: {EXPECTED}")
    if info.type == pafs.FileType.File:
        try:
            table = pq.read_table(path, filesystem=fs)
        except (pa.ArrowException, OSError) as exc:
            raise AnalysisInputError(
                f"results path {text!r} is not a readable Parquet file ({_first_line(exc)}): {EXPECTED}"
            ) from None
        return check_columns(table.to_pandas(), f"results path {text!r}"), []
    try:
        files = store.part_files(fs, path)
    except OSError as exc:  # the store went away between the two calls
        raise AnalysisInputError(f"results path {text!r} cannot be read ({_first_line(exc)}): {EXPECTED}") from None
    if not files:
        raise AnalysisInputError(f"results path {text!r} contains no *.parquet files: {EXPECTED}")
    tables, skipped = [], []
    for file in files:
        try:
            tables.append(pq.read_table(file, filesystem=fs))
        except (pa.ArrowException, OSError) as exc:
            skipped.append(file)
            warnings.warn(f"skipped unreadable part file {file!r}: {_first_line(exc)}", stacklevel=3)
    if not tables:
        raise AnalysisInputError(f"results path {text!r} has no readable *.parquet file: {EXPECTED}")
    return check_columns(_concat(tables), f"results path {text!r}"), skipped


def file_info(fs: pafs.FileSystem, path: str, text: str) -> pafs.FileInfo:
    """What `path` is on `fs`; `AnalysisInputError` when the store cannot be reached (an S3 endpoint down, no
    credentials), as for any bad results path."""
    try:
        return fs.get_file_info(path)
    except OSError as exc:
        raise AnalysisInputError(f"results path {text!r} cannot be read ({_first_line(exc)}): {EXPECTED}") from None


def filesystem(text: str) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem and path of a local path or a URI (`file://`, `s3://`, `gs://`): the row store's."""
    try:
        return store.resolve(text)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise AnalysisInputError(f"results path {text!r} cannot be opened ({_first_line(exc)}): {EXPECTED}") from None


def _concat(tables: list[pa.Table]) -> pd.DataFrame:
    if len(tables) == 1:
        return tables[0].to_pandas()
    try:
        return pa.concat_tables(tables, promote_options="permissive").to_pandas()
    except (pa.ArrowException, TypeError):
        # NOTE: part files written by different versions may disagree on a column type; pandas can still
        # hold both (object column), so fall back to concatenating DataFrames.
        return pd.concat([t.to_pandas() for t in tables], ignore_index=True, sort=False)


def check_columns(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """Raise `AnalysisInputError` unless `df` has the columns every result row has."""
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        names = ", ".join(missing)
        raise AnalysisInputError(f"{where} lacks column(s) {names}: expected explorer result rows (one per trial)")
    return df


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    for column in METRICS:
        if column in df.columns and not pd.api.types.is_float_dtype(df[column]):
            df[column] = pd.to_numeric(df[column], errors="coerce").astype(float)
    for column in _TIME_COLUMNS:
        if column in df.columns:
            df[column] = _utc(df[column])
    if {"experiment", "trial_id"} <= set(df.columns):
        df = df.drop_duplicates(subset=["experiment", "trial_id"], keep="last", ignore_index=True)
    return df


def _utc(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(values):
        return values.dt.tz_localize("UTC")
    return pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")


def _apply_filters(df: pd.DataFrame, filters: dict[str, object]) -> pd.DataFrame:
    for column, value in filters.items():
        if column not in df.columns:
            available = ", ".join(str(c) for c in df.columns[:12])
            raise AnalysisInputError(f"filter {column!r}: no such column (columns include {available}, ...)")
        values = df[column]
        if value is None:
            keep = values.isna()
        elif isinstance(value, (list, tuple, set, frozenset)):
            keep = values.isin(list(value))
        else:
            keep = values == value
        df = df[keep.fillna(False).to_numpy(dtype=bool)]
    return df.reset_index(drop=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
