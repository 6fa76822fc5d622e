"""One Parquet row per trial (DESIGN 6): identifiers, every hyperparameter, every metric, bookkeeping.

Every row has every column, with a fixed Arrow schema, so part files written by different trials
(with different mechanisms) read back as one table.
"""

from __future__ import annotations

import json
import platform
import socket
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from explorer import __version__
from explorer.config import TrialConfig
from explorer_core import registry, rows, store, views
from explorer_core.rows import row_schema

__all__ = ["METRICS", "build_row", "error_row", "write_rows", "read_row_file", "versions",
           "plugins"]


#: Metric columns, NaN where they do not apply (definitions: docs/metrics.md): acc, those every trial
#: reports, loss, then each mechanism spec's own (the core's row schema, read on demand).
METRICS: views.Tuple[str] = views.Tuple(rows.metric_columns)


def _version(package: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(package)
    except Exception:  # noqa: BLE001 - absent packages are simply not listed
        return None


def plugins() -> dict[str, dict[str, Any]]:
    """The plug-in mechanisms registered here: name -> the package that registered it, its version, the spec's
    metric columns and rule thresholds, so that a reader without the plug-in knows what its columns are."""
    out: dict[str, dict[str, Any]] = {}
    for name, spec in registry.specs().items():
        if spec.source == "built-in":
            continue
        thresholds, rule = [], spec.rule
        while rule is not None:
            thresholds.append(rule.threshold.key)
            rule = rule.absolute
        out[name] = {"package": spec.source, "version": _version(spec.source),
                     "metrics": [m.name for m in spec.metrics], "thresholds": thresholds}
    return out


def versions() -> str:
    """Versions of the packages a result depends on, as a JSON string; ``plug-ins`` names the plug-in mechanisms
    (:func:`plugins`) when there are any."""
    out: dict[str, Any] = {"explorer": __version__, "python": platform.python_version()}
    for name in ("torch", "opacus", "ray", "optuna", "numpy"):
        found = _version(name)
        if found is not None:
            out[name] = found
    registered = plugins()
    if registered:
        out["plug-ins"] = registered
    return json.dumps(out, sort_keys=True)


def _base(config: TrialConfig, trial_id: str | None, start: datetime | None, end: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {name: None for name in rows.row_schema().names}
    row.update({k: v for k, v in config.flat().items() if k in row})
    row.update(trial_id=trial_id or uuid.uuid4().hex[:12], config_id=config.config_id(), start_time=start,
               end_time=end, node=socket.gethostname(), versions=versions(), retries=0)
    for m in METRICS:
        row[m] = float("nan")
    return row


def build_row(config: TrialConfig, output: Any, *, trial_id: str | None = None,
              start: datetime, end: datetime) -> dict[str, Any]:
    """The row of a finished trial from its config and ``explorer.train.TrialOutput``."""
    row = _base(config, trial_id, start, end)
    row.update({k: float(v) for k, v in output.metrics.items() if k in row})
    row.update(
        model=output.model_name, status="ok", caveats="; ".join(output.caveats), epochs_completed=output.epochs,
        train_seconds=output.train_seconds, images_per_second=output.images / max(output.train_seconds, 1e-9),
        peak_memory_mb=output.peak_memory_mb, device=output.device,
        eval_seconds=getattr(output, "eval_seconds", None), risk_seconds=getattr(output, "risk_seconds", None),
        history=json.dumps(getattr(output, "history", {}), sort_keys=True),
    )
    row.update({k: v for k, v in getattr(output, "resolved", {}).items() if k in row})  # adv.gamma, eval.gamma
    return row


def error_row(config: TrialConfig, message: str, *, trial_id: str | None = None, start: datetime | None,
              end: datetime | None = None, epochs_completed: int = 0) -> dict[str, Any]:
    """The row of a trial that raised: ``status=error`` and the one-line message."""
    row = _base(config, trial_id, start, end or datetime.now(timezone.utc))
    row.update(status="error", error=message.strip().splitlines()[-1] if message.strip() else "error",
               caveats="", epochs_completed=epochs_completed)
    return row


def write_rows(rows: list[dict[str, Any]], path_or_uri: str | Path) -> str:
    """Write rows to one Parquet file of the row store, atomically (:func:`explorer_core.store.write_table`)."""
    return store.write_table(pa.Table.from_pylist(rows, schema=row_schema()), path_or_uri)


def read_row_file(path_or_uri: str | Path) -> list[dict[str, Any]]:
    """The rows of one Parquet file written by :func:`write_rows`; [] when there is no such file."""
    table = store.read_file(path_or_uri)
    return [] if table is None else table.to_pylist()
