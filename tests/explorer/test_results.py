from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from explorer.results import ROW_SCHEMA, error_row, write_rows
from explorer.train import train


def test_rows_of_different_mechanisms_read_back_as_one_table(make_config, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    from explorer.results import build_row

    for i, mechs in enumerate([(), ("dp",), ("wm",)]):
        config = make_config(mechs)
        write_rows([build_row(config, train(config), start=now, end=now)], tmp_path / f"part-{i}.parquet")
    config = make_config(("adv",))
    write_rows([error_row(config, "Traceback...\nValueError: boom", start=now)], tmp_path / "part-err.parquet")
    df = pd.read_parquet(tmp_path)
    assert list(df.columns) == ROW_SCHEMA.names
    assert len(df) == 4
    assert set(df["mechanisms"]) == {"none", "dp", "wm", "adv"}
    assert df.loc[df["mechanisms"] == "adv", "error"].iloc[0] == "ValueError: boom"
    assert df.loc[df["mechanisms"] == "none", "dp.epsilon"].isna().all()
    assert df["wm.acc"].notna().sum() == 1
    assert str(df["start_time"].dtype).startswith("datetime64")


def test_write_is_atomic(tmp_path: Path, make_config) -> None:
    now = datetime.now(timezone.utc)
    write_rows([error_row(make_config(()), "x", start=now)], tmp_path / "r.parquet")
    assert [p.name for p in tmp_path.iterdir()] == ["r.parquet"]
