"""Where a search keeps things under OUT: its rows (``OUT/rows``) and Tune's own state (``OUT/ray``)."""

from __future__ import annotations

from typing import Any, Mapping

ROWS_DIR = "rows"
RAY_DIR = "ray"


def join_uri(base: str, *parts: str) -> str:
    """Append path parts to a local path or URI, keeping a ``?query`` (``s3://b/x?region=r``) at the end."""
    path, sep, query = base.partition("?")
    return "/".join([path.rstrip("/"), *parts]) + (sep + query if sep else "")


def rows_uri(out: str, trial_id: str) -> str:
    """Where a trial's row lives: one Parquet part file per trial, so a retried trial overwrites its own."""
    return join_uri(out, ROWS_DIR, f"part-{trial_id}.parquet")


def trial_dict(config: Mapping[str, Any]) -> dict[str, Any]:
    """The flat trial config inside a Tune trial's config (grid searches nest it under ``trial``)."""
    return dict(config["trial"]) if "trial" in config else dict(config)
