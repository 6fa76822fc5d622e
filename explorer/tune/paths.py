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


#: Keys of a trial dict that are not config keys but bookkeeping for its row (``explorer.looks``): the key
#: without its leading ``_`` is the row column.
META_KEYS = ("_seeds_design", "_look", "_look_reason")


def trial_dict(config: Mapping[str, Any]) -> dict[str, Any]:
    """The flat trial config inside a Tune trial's config (grid searches nest it under ``trial``)."""
    flat = dict(config["trial"]) if "trial" in config else dict(config)
    return {k: v for k, v in flat.items() if k not in META_KEYS}


def trial_meta(config: Mapping[str, Any]) -> dict[str, Any]:
    """The row columns a trial dict carries besides its config (``seeds_design``, ``look``, ``look_reason``)."""
    flat = config["trial"] if "trial" in config else config
    return {k[1:]: flat[k] for k in META_KEYS if k in flat}
