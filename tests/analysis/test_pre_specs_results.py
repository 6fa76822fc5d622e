"""Results written before the mechanism specs (issue 13) still load, mix with new rows and get verdicts;
their config ids are what the new trial config computes for the same settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq

from analysis import equivalence, load
from explorer_core.config import TrialConfig

OLD = Path(__file__).parent / "data" / "pre_specs"
SETTINGS = {"train.epochs": 1, "data.train_subset": 128}


def test_old_rows_load_and_keep_their_config_ids() -> None:
    df = load(OLD)
    assert sorted(df["mechanisms"]) == ["dp", "dp+wm", "none", "wm"] and (df["status"] == "ok").all()
    for row in df.itertuples():
        extra = {"wm.trigger_size": 8} if "wm" in row.mechanisms else {}
        config = TrialConfig.from_dict({"mechanisms": row.mechanisms, **SETTINGS, **extra})
        assert config.config_id() == row.config_id, row.mechanisms
    eq = equivalence(df)
    assert {"acc", "wm.acc"} <= set(eq.loc[eq["mechanisms"] == "dp+wm", "metric"])


def test_old_and_new_part_files_read_as_one_table(tmp_path: Path) -> None:
    from explorer.results import write_rows
    from explorer_core.rows import row_schema

    shutil.copytree(OLD, tmp_path / "rows")
    old = pq.read_table(OLD / "dp+wm.parquet").to_pylist()[0]
    assert pq.read_schema(OLD / "dp+wm.parquet").names != row_schema().names  # the column order moved (dp last)
    new = {k: old.get(k) for k in row_schema().names} | {"trial_id": "new", "seed": 1}
    write_rows([new], tmp_path / "rows" / "new.parquet")
    df = load(tmp_path / "rows")
    both = df[df["mechanisms"] == "dp+wm"].sort_values("seed")
    assert list(both["seed"]) == [0, 1] and both["dp.epsilon"].nunique() == 1 and both["wm.acc"].nunique() == 1
