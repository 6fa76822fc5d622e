"""The row schema: one row per trial, its columns in a fixed order (docs/metrics.md): identity, every knob of the
shared sections and of each mechanism's spec, the metrics, then the bookkeeping. Computed from the specs in use
(plug-ins included) on each call, cached per registry generation."""

from __future__ import annotations

from dataclasses import fields
from functools import lru_cache
from typing import Any

import pyarrow as pa

from explorer_core import registry
from explorer_core.config import COMMON_SECTIONS
from explorer_core.spec import RISK_METRICS

__all__ = ["metric_columns", "row_schema"]

#: The columns after the metrics: status, cost figures, the sequential design, where the trial ran, when, versions.
_BOOKKEEPING: tuple[tuple[str, Any], ...] = (
    ("status", pa.string()), ("error", pa.string()), ("caveats", pa.string()), ("epochs_completed", pa.int64()),
    ("train_seconds", pa.float64()), ("images_per_second", pa.float64()), ("peak_memory_mb", pa.float64()),
    ("eval_seconds", pa.float64()), ("risk_seconds", pa.float64()),
    ("history", pa.string()), ("seeds_design", pa.string()), ("look", pa.int64()), ("look_reason", pa.string()),
    ("device", pa.string()), ("node", pa.string()), ("node_id", pa.string()),
    ("retries", pa.int64()), ("nodes", pa.string()), ("retry_causes", pa.string()),
    ("start_time", pa.timestamp("us", tz="UTC")), ("end_time", pa.timestamp("us", tz="UTC")),
    ("versions", pa.string()),
)


def metric_columns() -> tuple[str, ...]:
    """acc, the metrics every trial reports (the specs' ``everywhere`` ones, then the risks), loss, then each
    mechanism's own."""
    return _metric_columns(registry.generation())


def row_schema() -> pa.Schema:
    """The Arrow schema of a row."""
    return _row_schema(registry.generation())


@lru_cache(maxsize=4)
def _metric_columns(generation: int) -> tuple[str, ...]:
    everywhere = [m.name for s in registry.specs().values() for m in s.metrics if m.everywhere]
    own = [m.name for s in registry.specs().values() for m in s.metrics if not m.everywhere]
    return ("acc", *everywhere, *(m.name for m in RISK_METRICS), "loss", *own)


def _arrow_type(annotation: str) -> pa.DataType:
    if "bool" in annotation:
        return pa.bool_()
    if "float" in annotation:
        return pa.float64()
    if "int" in annotation:
        return pa.int64()
    return pa.string()


@lru_cache(maxsize=4)
def _row_schema(generation: int) -> pa.Schema:
    cols: list[tuple[str, pa.DataType]] = [
        ("experiment", pa.string()), ("trial_id", pa.string()), ("config_id", pa.string()), ("seed", pa.int64()),
        ("dataset", pa.string()), ("model", pa.string()), ("mechanisms", pa.string()),
    ]
    sections: list[Any] = [*COMMON_SECTIONS.values(), *(s.config_cls for s in registry.specs().values())]
    for section in sections:
        cols += [(f"{section.prefix}.{f.name}", _arrow_type(str(f.type))) for f in fields(section)]
    cols += [(m, pa.float64()) for m in _metric_columns(generation)]
    return pa.schema([*cols, *_BOOKKEEPING])
