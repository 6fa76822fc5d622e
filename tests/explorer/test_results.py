from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from explorer.results import error_row, write_rows
from explorer_core.rows import row_schema
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
    assert list(df.columns) == row_schema().names
    assert len(df) == 4
    assert set(df["mechanisms"]) == {"none", "dp", "wm", "adv"}
    assert df.loc[df["mechanisms"] == "adv", "error"].iloc[0] == "ValueError: boom"
    assert df.loc[df["mechanisms"] == "none", "dp.epsilon"].isna().all()
    assert df["wm.acc"].notna().sum() == 1
    assert str(df["start_time"].dtype).startswith("datetime64")


_KILLED_WRITER = """
import os, signal, sys
from datetime import datetime, timezone
import pyarrow.parquet as pq
import explorer.results as results
from explorer_core import store
from explorer.config import TrialConfig

def dying(table, where, **kwargs):  # write a third of the file, then die as a SIGKILLed process does
    with open(where, "wb") as fh:
        fh.write(b"PAR1" + b"x" * 1000)
        fh.flush()
    os.kill(os.getpid(), signal.SIGKILL)

store.pq.write_table = dying  # the row store writes every row file
config = TrialConfig.from_dict({"dataset": "synthetic", "mechanisms": ["dp"], "seed": 7})
results.write_rows([results.error_row(config, "new", start=datetime.now(timezone.utc))], sys.argv[1])
"""


def test_a_writer_killed_mid_write_leaves_the_old_file_intact(tmp_path: Path, make_config) -> None:
    """write_rows writes a temporary file and renames it: SIGKILL in the middle of the write (in a subprocess)
    leaves the file that was there readable and unchanged, and no part file under the real name."""
    import signal
    import subprocess
    import sys

    from analysis import load

    now = datetime.now(timezone.utc)
    target = tmp_path / "part-r.parquet"
    write_rows([error_row(make_config(()), "old", start=now)], target)
    before = target.read_bytes()
    run = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(target)], capture_output=True, timeout=120)
    assert run.returncode == -signal.SIGKILL, run.stderr.decode()[-2000:]
    assert target.read_bytes() == before  # a writer that wrote in place would have left 1004 bytes of junk
    assert list(pd.read_parquet(target)["error"]) == ["old"]
    leftovers = [p.name for p in tmp_path.iterdir() if p != target]
    assert leftovers and all(name.startswith(".part-r.parquet.") for name in leftovers)  # hidden: loaders skip it
    assert list(load(tmp_path)["error"]) == ["old"]
