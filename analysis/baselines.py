"""The baseline rule: which rows a combination's metrics are compared against (one implementation).

The baseline of member mechanism M of a combination is M alone at the *same* values of its own knobs:
the ok rows with `mechanisms == M` that share the combination's dataset, model, every `train.*`,
`data.*` and `eval.*` value and every value of M's own hyperparameters (`M.*`), except the variant
flags `wm.decoupled` and `rad.decoupled` (a baseline runs in its mechanism's default variant: where rows
with the flag false or missing exist for a key, only those are used). The reference "none" (undefended
model) matches on dataset, model, `train.*`, `data.*` and `eval.*`. Every matching row is pooled,
whatever its config_id. Columns that only say where a trial ran (`schema.ENVIRONMENT`) are not matched.

Where no exact baseline exists, a *screening estimate* may use the nearest one: among M's baseline
settings that share every matched value except M's numeric knobs, the one with the smallest sum over
those knobs of |ln a - ln b| (|a - b| where a value is not positive); ties go to the smaller values.
Such a match is labelled "nearest" and never decides a statistical verdict.

The driver (`explorer.tune`: constraints, progress line), the verdicts (`equivalence`) and the operating
points all call `member_baselines` / `match_config`; confirmation runs build their baseline trials with
`baseline_settings`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.schema import ENVIRONMENT, VARIANT_FLAGS, hyperparameter_columns

__all__ = [
    "MATCHES",
    "BaselineMatch",
    "baseline_settings",
    "baseline_stats",
    "match_columns",
    "match_config",
    "member_baselines",
]

MATCHES: tuple[str, ...] = ("exact", "nearest", "missing")
"""How a combination's baseline was found: the same settings, the nearest settings (a screening
estimate), or none at all."""

_SHARED_PREFIXES = ("train.", "data.", "eval.")
_IDS = ("dataset", "model")


def _own_prefixes(mechanism: str) -> tuple[str, ...]:
    return () if mechanism == "none" else (f"{mechanism}.",)


def match_columns(df: pd.DataFrame, mechanism: str) -> list[str]:
    """Columns whose values a baseline of `mechanism` ("none" for the undefended model) must share."""
    ids = [c for c in _IDS if c in df.columns]
    hyper = [
        c
        for c in hyperparameter_columns(df)
        if c.startswith((*_SHARED_PREFIXES, *_own_prefixes(mechanism)))
        and c not in VARIANT_FLAGS
        and c not in ENVIRONMENT
    ]
    return ids + sorted(hyper)


def baseline_settings(config: Mapping[str, Any], mechanism: str) -> dict[str, Any]:
    """The settings of `mechanism`'s baseline for a combination's flat config: its dataset, model,
    `train.*`, `data.*`, `eval.*` (environment keys included, so it runs where the combination ran) and
    `mechanism.*` values, the variant flags at their default (false) and `mechanisms` = `mechanism`.
    Seed and experiment are copied when present."""
    own = _own_prefixes(mechanism)
    out = {k: v for k, v in config.items() if k in (*_IDS, "seed", "experiment")}
    out.update({k: v for k, v in config.items() if isinstance(k, str) and k.startswith((*_SHARED_PREFIXES, *own))})
    out.update({flag: False for flag in VARIANT_FLAGS if flag.startswith(own) and own})
    out["mechanisms"] = mechanism
    return out


def _default_variant(base: pd.DataFrame, mechanism: str, keys: list[str]) -> pd.DataFrame:
    flag = f"{mechanism}.decoupled"
    if flag not in base.columns or base.empty:
        return base
    default = ~(base[flag] == True).fillna(False).to_numpy(dtype=bool)  # noqa: E712 (object column)
    groups = [base[k] for k in keys] if keys else [pd.Series(0, index=base.index)]
    has_default = pd.Series(default, index=base.index).groupby(groups, dropna=False).transform("any")
    return base[default | ~has_default.to_numpy(dtype=bool)]


def _baseline_rows(rows: pd.DataFrame, mechanism: str, keys: list[str]) -> pd.DataFrame:
    ok = rows if "status" not in rows.columns else rows[(rows["status"] == "ok").fillna(False).to_numpy(dtype=bool)]
    base = ok[(ok["mechanisms"] == mechanism).fillna(False).to_numpy(dtype=bool)]
    return _default_variant(base, mechanism, keys)


def _stats(base: pd.DataFrame, keys: list[str], metrics: Sequence[str]) -> pd.DataFrame:
    """Per distinct key: n, mean, std (ddof=1) of each metric and the number of configs pooled."""
    columns = [*keys, *(f"{s}:{m}" for m in metrics for s in ("n", "mean", "std")), "n_configs"]
    if base.empty:
        return pd.DataFrame(columns=columns)
    base = base.assign(**{m: np.nan for m in metrics if m not in base.columns})
    grouped = base.groupby(keys, dropna=False, sort=True)
    out = grouped[list(metrics)].agg(["count", "mean", "std"]) if metrics else pd.DataFrame(index=grouped.size().index)
    out.columns = [f"{ {'count': 'n'}.get(stat, stat)}:{metric}" for metric, stat in out.columns] if metrics else []
    out["n_configs"] = grouped["config_id"].nunique()
    return out.reset_index()[columns]


def baseline_stats(rows: pd.DataFrame, mechanism: str, metrics: Sequence[str]) -> pd.DataFrame:
    """Pooled count, mean and sample std of `metrics` over the baseline rows, one row per match key.

    Columns: the match columns, then `n:<metric>`, `mean:<metric>`, `std:<metric>` and `n_configs`.
    """
    keys = match_columns(rows, mechanism)
    return _stats(_baseline_rows(rows, mechanism, keys), keys, metrics)


def _same(a: Any, b: Any) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    return bool(a == b)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _distance(a: Any, b: Any) -> float:
    a, b = float(a), float(b)
    if a > 0 and b > 0:
        return abs(math.log(a) - math.log(b))
    return abs(a - b)


def _nearest(
    candidate: Mapping[str, Any], settings: list[tuple[Any, ...]], keys: list[str], own: list[str]
) -> int | None:
    """Index (in `settings`, one tuple of `keys` values per baseline setting) of the nearest baseline
    setting, or None when no setting qualifies."""
    best: tuple[float, tuple[float, ...]] | None = None
    chosen = None
    shared = [(j, k) for j, k in enumerate(keys) if k not in own]
    owned = [(j, k) for j, k in enumerate(keys) if k in own]
    for i, setting in enumerate(settings):
        if any(not _same(candidate.get(k), setting[j]) for j, k in shared):
            continue
        distance, qualifies, order = 0.0, True, []
        for j, k in owned:
            a, b = candidate.get(k), setting[j]
            if _same(a, b):
                order.append(float(b) if _numeric(b) else 0.0)
                continue
            if not (_numeric(a) and _numeric(b)):
                qualifies = False
                break
            distance += _distance(a, b)
            order.append(float(b))
        if not qualifies:
            continue
        rank = (distance, tuple(order))
        if best is None or rank < best:
            best, chosen = rank, i
    return chosen


def _settings_text(values: Mapping[str, Any], candidate: Mapping[str, Any], own: list[str]) -> str:
    differing = [k for k in own if not _same(candidate.get(k), values.get(k))]
    return ", ".join(f"{k}={_show(values.get(k))}" for k in differing)


def _show(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


def member_baselines(
    candidates: pd.DataFrame,
    rows: pd.DataFrame,
    mechanism: str,
    metrics: Sequence[str],
    *,
    nearest: bool = True,
) -> pd.DataFrame:
    """The baseline of `mechanism` for every candidate row (a config or a trial), aligned with `candidates`.

    Columns: `match` ("exact", "nearest" or "missing"; see `MATCHES`), `baseline_settings` (for a nearest
    match, the baseline's own-knob values that differ from the candidate's, e.g. "dp.target_epsilon=3"),
    `n_configs` and, per metric, `n:<metric>`, `mean:<metric>`, `std:<metric>` over the pooled rows.
    With `nearest=False` a candidate without an exact baseline is "missing".
    """
    keys = match_columns(rows, mechanism)
    own = [k for k in keys if k.startswith(_own_prefixes(mechanism))] if mechanism != "none" else []
    stats = _stats(_baseline_rows(rows, mechanism, keys), keys, metrics)
    value_columns = [c for c in stats.columns if c not in keys]
    positions = np.full(len(candidates), -1)
    kinds = np.full(len(candidates), "missing", dtype=object)
    settings = np.full(len(candidates), "", dtype=object)
    if not stats.empty and not candidates.empty:
        settings_list = list(stats[keys].itertuples(index=False, name=None))
        lookup = {tuple(_key(v) for v in s): i for i, s in enumerate(settings_list)}
        present = [k for k in keys if k in candidates.columns]
        absent = ("<missing>",)
        for i, values in enumerate(candidates[present].itertuples(index=False, name=None)):
            candidate = dict(zip(present, values))
            position = lookup.get(tuple(_key(candidate[k]) if k in candidate else absent for k in keys))
            if position is not None:
                positions[i], kinds[i] = position, "exact"
            elif nearest:
                found = _nearest(candidate, settings_list, keys, own)
                if found is not None:
                    positions[i], kinds[i] = found, "nearest"
                    settings[i] = _settings_text(dict(zip(keys, settings_list[found])), candidate, own)
    out = pd.DataFrame({"match": kinds, "baseline_settings": settings}, index=candidates.index)
    chosen = positions >= 0
    for column in value_columns:
        values = np.full(len(candidates), np.nan)
        if chosen.any():
            values[chosen] = pd.to_numeric(stats[column], errors="coerce").to_numpy(dtype=float)[positions[chosen]]
        out[column] = values
    return out


def _key(value: Any) -> Any:
    """A hashable, NaN-safe form of one matched value (missing values match missing values)."""
    if _missing(value):
        return ("<missing>",)
    if isinstance(value, (np.bool_, bool)):
        return ("bool", bool(value))
    if _numeric(value):
        return float(value)
    return value


@dataclass(frozen=True)
class BaselineMatch:
    """The baseline of one mechanism for one config: how it matched, its settings when nearest, the
    pooled means per metric and the number of rows behind them."""

    mechanism: str
    match: str
    settings: str = ""
    means: dict[str, float] = field(default_factory=dict)
    n: int = 0

    @property
    def label(self) -> str:
        """`exact`, `nearest (dp.target_epsilon=3)` or `missing`."""
        return f"nearest ({self.settings})" if self.match == "nearest" and self.settings else self.match


def match_config(
    config: Mapping[str, Any], rows: pd.DataFrame, mechanism: str, metrics: Sequence[str], *, nearest: bool = True
) -> BaselineMatch:
    """`member_baselines` for one flat config or result row (the driver's view of the same rule)."""
    found = member_baselines(pd.DataFrame([dict(config)]), rows, mechanism, metrics, nearest=nearest).iloc[0]
    if found["match"] == "missing":
        return BaselineMatch(mechanism, "missing")
    means = {m: float(found[f"mean:{m}"]) for m in metrics if not pd.isna(found[f"mean:{m}"])}
    n = max((int(found[f"n:{m}"]) for m in metrics if not pd.isna(found[f"n:{m}"])), default=0)
    return BaselineMatch(mechanism, str(found["match"]), str(found["baseline_settings"]), means, n)
