"""``explorer status OUT``: a summary of a running or finished search from its Parquet rows alone.

Needs pandas and pyarrow only (no torch, no ray), so a laptop can watch a cluster's ``s3://`` output.
"""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from explorer.config import ConfigError
from explorer_core import registry

__all__ = ["read_rows", "summarise"]


#: What :func:`summarise` reads besides the metrics: a few of the row's ~110 columns (each Parquet file costs per
#: column read).
_BOOKKEEPING = ("trial_id", "config_id", "seed", "dataset", "mechanisms", "status", "error", "node", "start_time",
                "end_time", "seeds_design", "look", "look_reason", "node_id", "nodes", "retries", "retry_causes",
                "versions")


def status_metrics() -> tuple[str, ...]:
    """``acc`` and, for every installed mechanism (built-ins and plug-ins alike, from the specs), the metric that
    stands for its protection (the spec's ``objective``), in the registry's order."""
    return ("acc", *dict.fromkeys(spec.objective for spec in registry.specs().values()))


#: Retried trials named in the nodes part (the rest are counted).
SHOWN_RETRIED = 3
#: Characters of a look's reason shown per cell (the rows keep it whole).
REASON_CHARS = 240


def read_rows(out: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Every row under ``OUT/rows`` (or OUT itself, for a file or a plain folder of part files), from the row store;
    only ``columns`` (those the files have) when given."""
    import pyarrow as pa

    from explorer_core import store

    try:
        table = store.read_rows(out, None if columns is None else list(columns))
    except FileNotFoundError:
        raise ConfigError(f"OUT: got {out!r}, expected the output folder or URI of an `explorer search`") from None
    except (OSError, ValueError, pa.ArrowException) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError(f"OUT: got {out!r}, expected readable Parquet result rows ({first})") from None
    return table.to_pandas()


def _fmt(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def summarise(rows: pd.DataFrame) -> str:
    """Counts by status, per dataset and mechanisms the mean metrics, the time span, recent errors."""
    if rows.empty:
        return "no trial has finished yet"
    lines: list[str] = []
    counts = rows["status"].value_counts()
    span = (rows["end_time"].max() - rows["start_time"].min()).total_seconds()
    lines.append(f"{len(rows)} trials: {int(counts.get('ok', 0))} ok, {int(counts.get('error', 0))} errored; "
                 f"first start {rows['start_time'].min():%Y-%m-%d %H:%M:%S} UTC, last end "
                 f"{rows['end_time'].max():%Y-%m-%d %H:%M:%S} UTC ({_fmt(span)}); "
                 f"nodes: {', '.join(sorted(rows['node'].dropna().unique()))}")
    lines += _ray_nodes(rows)
    ok = rows[rows["status"] == "ok"]
    if not ok.empty:
        from analysis.schema import missing_mechanisms

        absent = [c for m in missing_mechanisms(rows) for c in m.metrics]  # a plug-in not installed here
        cols = [c for c in dict.fromkeys([*status_metrics(), *absent])
                if c in ok.columns and pd.to_numeric(ok[c], errors="coerce").notna().any()]
        numeric = ok.assign(**{c: pd.to_numeric(ok[c], errors="coerce") for c in cols})
        table = numeric.groupby(["dataset", "mechanisms"])[cols].mean().round(4)
        table.insert(0, "n", ok.groupby(["dataset", "mechanisms"]).size())
        lines.append(table.to_string())
    lines += _looks(rows)
    errors = rows[rows["status"] == "error"].sort_values("end_time").tail(3)
    for _, r in errors.iterrows():
        lines.append(f"error in {r['trial_id']} ({r['mechanisms']}, seed {r['seed']}): {r['error']}")
    return "\n".join(lines)


def _json_list(text: Any) -> list[str]:
    import json

    try:
        value = json.loads(text) if isinstance(text, str) and text else []
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _ray_nodes(rows: pd.DataFrame) -> list[str]:
    """The Ray nodes the trials ran on (every attempt's: the rows' ``nodes``, else ``node_id``) with their trial
    counts, and the trials retried after a failure with the cause and the nodes each ran on."""
    if "node_id" not in rows.columns:
        return []
    per_trial = [_json_list(n) or ([i] if isinstance(i, str) and i else [])
                 for n, i in zip(rows["nodes"] if "nodes" in rows.columns else [None] * len(rows), rows["node_id"])]
    counts: dict[str, int] = {}
    for nodes in per_trial:
        for node in dict.fromkeys(nodes):
            counts[node] = counts.get(node, 0) + 1
    if not counts:
        return []
    lines = ["Ray nodes (trials that ran there): " + ", ".join(
        f"{node} ({n})" for node, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))]
    if "retries" not in rows.columns:
        return lines
    retried = rows.assign(_nodes=per_trial)[(pd.to_numeric(rows["retries"], errors="coerce").fillna(0) > 0).to_numpy()]
    if retried.empty:
        return lines
    from explorer.outcome import retried_text

    causes = [c for text in retried.get("retry_causes", pd.Series(dtype=object)) for c in _json_list(text)]
    shown = [f"{r['trial_id']} on {' then '.join(r['_nodes']) or 'unrecorded nodes'}"
             for _, r in retried.head(SHOWN_RETRIED).iterrows()]
    more = f", +{len(retried) - SHOWN_RETRIED} more" if len(retried) > SHOWN_RETRIED else ""
    lines.append(f"{retried_text(len(retried), causes)}: {', '.join(shown)}{more}")
    return lines


def _looks(rows: pd.DataFrame) -> list[str]:
    """Which cells of a sequential seed design got seeds beyond their first ones, and why (the rows' ``look``
    and ``look_reason``, written by ``explorer.looks``)."""
    if "look" not in rows.columns:
        return []
    look = pd.to_numeric(rows["look"], errors="coerce")
    added = rows[(look > 0).to_numpy(dtype=bool)].assign(look=look[look > 0])
    sequential = rows["seeds_design"].fillna("").astype(str).ne("").any() if "seeds_design" in rows.columns else False
    if added.empty:
        return ["sequential seeds: every cell so far decided at its first seeds (no look added any)"] if sequential \
            else []
    combos = added[added["mechanisms"].astype(str).str.contains("+", regex=False)]
    lines = [f"sequential seeds: looks added {len(added)} trial(s), {len(combos)} to {combos['config_id'].nunique()} "
             f"undecided cell(s) and {len(added) - len(combos)} to their baselines:"]
    ok = rows[rows["status"] == "ok"]
    for config_id, group in combos.groupby("config_id", sort=False):
        last = group.sort_values("look").iloc[-1]
        reason = str(last.get("look_reason") or "").split(f"{config_id} ", 1)[-1]
        reason = reason if len(reason) <= REASON_CHARS else reason[:REASON_CHARS - 3] + "..."
        n = int((ok["config_id"] == config_id).sum())
        lines.append(f"  {last['mechanisms']} {config_id} ({last['dataset']}, design {last.get('seeds_design')}): "
                     f"{n} seeds after look {int(group['look'].max())}, which ran because it was {reason}")
    return lines


def main(out: str) -> int:
    from analysis.schema import missing_mechanisms, missing_text

    rows: Any = read_rows(out, (*_BOOKKEEPING, *status_metrics()))
    if missing_mechanisms(rows):  # rows of a plug-in not installed here: its own columns tell its metrics
        rows = read_rows(out)
    print(summarise(rows))
    missing = missing_text(rows)
    if missing:
        print(missing)
    return 0
