"""Column names of the result schema and how to read them (metrics, hyperparameters, mechanisms), from the
mechanism specs of :mod:`explorer_core.registry` (torch-free; plug-ins included).

Results outlive their plug-ins (DESIGN 3.13): rows may name a mechanism whose plug-in is not installed here.
Its columns (``<name>.*``) are then read from the rows themselves: the ``plug-ins`` entry of their ``versions``
names its package and its metric columns (rows written since it was added); in older rows, a column that is
constant within every config is taken as a knob and the others as metrics. Its metrics are raw columns without
a verdict; :func:`missing_text` says so in one line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from explorer_core import registry, views
from explorer_core.spec import RISK_METRICS

__all__ = [
    "default_objectives",
    "ENVIRONMENT",
    "LOG_METRICS",
    "MECHANISMS",
    "METRICS",
    "MISSING_PREFIX",
    "VARIANT_FLAGS",
    "MissingMechanism",
    "combinations",
    "dataset_order",
    "hyperparameter_columns",
    "label",
    "members",
    "metric_columns",
    "missing_mechanisms",
    "missing_text",
]

MECHANISMS: views.Tuple[str] = views.Tuple(registry.names)
"""Mechanism names as they appear in the `mechanisms` column ("none" is the undefended model): the specs'."""

METRICS: views.Tuple[str] = views.Tuple(lambda: (
    "acc", *(m.name for s in registry.specs().values() for m in s.metrics), *(m.name for m in RISK_METRICS), "loss"))
"""Metric columns (floats, NaN where not applicable), from the mechanism specs; some are derived, not chosen."""

VARIANT_FLAGS: views.Tuple[str] = views.Tuple(
    lambda: tuple(f for s in registry.specs().values() for f in s.variant_flags))
"""Variant switches that baseline matching ignores (a baseline runs in its mechanism's default variant)."""

ENVIRONMENT: tuple[str, ...] = ("data.dir", "train.device", "eval.batch_size", "eval.epoch_adv", "eval.risks",
                                "eval.risk_samples", "eval.risk_references")
"""Hyperparameter columns that say where or how fast a trial ran, or what it also recorded, not what it
computed: never matched."""

_HYPER_PREFIXES: views.FrozenSet[str] = views.FrozenSet(lambda: frozenset({*MECHANISMS, "train", "data", "eval"}))

_LABELS: views.Dict[str, str] = views.Dict(lambda: {
    "acc": "test accuracy (fraction)",
    **{m.name: m.label for s in registry.specs().values() for m in s.metrics},
    **{m.name: m.label for m in RISK_METRICS},
    **{k: v for s in registry.specs().values() for k, v in s.knob_labels.items()},
    "train.epochs": "epochs",
    "train.batch_size": "batch size (images)",
    "train.lr": "learning rate",
    "data.train_subset": "training subset (images)",
    "data.test_subset": "test subset (images)",
})
LOG_METRICS: views.FrozenSet[str] = views.FrozenSet(
    lambda: frozenset(m.name for s in registry.specs().values() for m in s.metrics if m.log_scale))
"""Metrics plotted on a log scale (p-values)."""


def default_objectives() -> dict[str, str]:
    """``acc`` and every metric each trial reports whatever its mechanisms (a spec's ``everywhere`` metric), with
    its direction: the report's Pareto objectives when none are given. Read from the specs at each call."""
    return {"acc": "max", **{m.name: m.direction for spec in registry.specs().values() for m in spec.metrics
                             if m.everywhere}}


def label(column: str) -> str:
    """Human-readable axis label with units for a result column (the column name when unknown)."""
    return _LABELS.get(column, column)


def metric_columns(df: pd.DataFrame) -> list[str]:
    """The metric columns present in `df`, in schema order, then those of mechanisms not installed here (raw
    columns: no verdict judges them)."""
    known = [c for c in METRICS if c in df.columns]
    return known + [c for m in missing_mechanisms(df) for c in m.metrics]


def hyperparameter_columns(df: pd.DataFrame) -> list[str]:
    """Columns named `<prefix>.<knob>` (prefix: a mechanism, train, data or eval) that are not metrics; a
    mechanism not installed here included (its knobs as :func:`missing_mechanisms` tells them apart)."""
    knobs = {c for m in missing_mechanisms(df) for c in m.knobs}
    return [
        c
        for c in df.columns
        if isinstance(c, str)
        and "." in c
        and ((c.split(".", 1)[0] in _HYPER_PREFIXES and c not in METRICS) or c in knobs)
    ]


#: How the line on mechanisms that are not installed here begins.
MISSING_PREFIX = "missing plug-in"


@dataclass(frozen=True)
class MissingMechanism:
    """A mechanism that results name (in their `mechanisms` column) but whose plug-in is not installed here."""

    name: str
    package: str | None
    """The package that registered it, with its version ("gaussian-noise-mechanism 0.1.0"), from the rows'
    `versions`; None when the rows do not record it (rows written before they did)."""
    metrics: tuple[str, ...]
    """Its metric columns in the results (raw columns: no verdict)."""
    knobs: tuple[str, ...]
    """Its hyperparameter columns (matched like any mechanism's own knobs when finding its baselines)."""
    thresholds: tuple[str, ...]
    """The keys of its conflict rule's thresholds, when the rows record them."""
    recorded: bool
    """Whether the rows say which of its columns are metrics (else: those that vary within a config)."""


def _plugin_records(df: pd.DataFrame) -> dict[str, dict]:
    """Mechanism -> what the rows' `versions` record of the plug-in that wrote it (package, version, metrics)."""
    if "versions" not in df.columns:
        return {}
    out: dict[str, dict] = {}
    for text in pd.unique(df["versions"].dropna()):
        try:
            document = json.loads(text) if isinstance(text, str) else {}
        except ValueError:
            continue
        plugins = document.get("plug-ins") if isinstance(document, dict) else None
        for name, info in (plugins or {}).items() if isinstance(plugins, dict) else ():
            if isinstance(info, dict):
                out.setdefault(str(name), info)
    return out


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else []


def _varies_within_a_config(rows: pd.DataFrame, column: str) -> bool:
    if "config_id" not in rows.columns or rows.empty:
        return False
    values = rows[column].astype(str)  # None, NaN and values alike, hashable
    return bool((values.groupby(rows["config_id"].astype(str)).nunique(dropna=False) > 1).any())


#: What this process has learned of each missing mechanism from the rows (their `versions`, or configs run under
#: several seeds), for the frames made from them that cannot tell (a summary: one row per config, no `versions`).
_LEARNED: dict[str, MissingMechanism] = {}


def missing_mechanisms(df: pd.DataFrame) -> list[MissingMechanism]:
    """The mechanisms named in `df["mechanisms"]` that are not installed here, sorted by name, with their
    columns told apart into metrics and knobs: as the rows' `versions` record them, else (a frame without
    `versions`, made from rows) as this process learned from the rows, else the columns that vary within a config
    are metrics."""
    if "mechanisms" not in df.columns or df.empty:
        return []
    named = {m for value in pd.unique(df["mechanisms"].dropna()) for m in members(value)}
    unknown = sorted(named - set(MECHANISMS))
    if not unknown:
        return []
    records = _plugin_records(df)
    out = []
    for name in unknown:
        columns = [c for c in df.columns if isinstance(c, str) and c.startswith(f"{name}.")]
        info = records.get(name)
        if info is not None and isinstance(info.get("metrics"), list):
            version = f" {info['version']}" if info.get("version") else ""
            found = MissingMechanism(name, f"{info['package']}{version}" if info.get("package") else None,
                                     tuple(str(c) for c in info["metrics"]), (),
                                     tuple(str(t) for t in _as_list(info.get("thresholds"))), True)
            _LEARNED[name] = found
        elif "versions" not in df.columns and name in _LEARNED:  # a frame made from the rows (a summary)
            found = _LEARNED[name]
        else:
            mine = df[df["mechanisms"].map(lambda v: name in members(v)).to_numpy(dtype=bool)]
            found = MissingMechanism(name, None, tuple(c for c in columns if _varies_within_a_config(mine, c)), (),
                                     (), False)
            if columns and "config_id" in mine.columns and mine["config_id"].duplicated().any():  # seeds tell
                _LEARNED[name] = found
        metrics = tuple(c for c in columns if c in found.metrics)
        out.append(MissingMechanism(name, found.package, metrics, tuple(c for c in columns if c not in metrics),
                                    found.thresholds, found.recorded))
    return out


def _listed(kind: str, items: Iterable[str]) -> str:
    """``metric a is`` / ``metrics a, b are``."""
    items = list(items)
    return f"{kind}{'s' if len(items) > 1 else ''} {', '.join(items)} {'are' if len(items) > 1 else 'is'}"


def missing_text(df: pd.DataFrame, thresholds: Mapping[str, float] | None = None) -> str | None:
    """One line on what the results name that is not installed here: each missing mechanism with its package
    (when the rows record it), its metrics (raw columns without a verdict) and its recorded thresholds (not
    applied); `thresholds` are those of a search record that no installed mechanism knows. None when nothing is
    missing."""
    missing = missing_mechanisms(df)
    rest = dict(thresholds or {})
    clauses = []
    for m in missing:
        source = f"package {m.package}" if m.package else "its package is not recorded in these rows"
        if m.metrics:
            guessed = "" if m.recorded else " (taken as its columns that vary within a config: the rows do not say)"
            raw = "raw columns" if len(m.metrics) > 1 else "a raw column"
            parts = [f"its {_listed('metric', m.metrics)} kept as {raw} without a verdict{guessed}"]
        else:
            parts = ["no column of it is known as a metric, so none is shown"]
        mine = {k: rest.pop(k) for k in dict.fromkeys([*m.thresholds, m.name]) if k in rest}
        if mine:
            parts.append(f"its recorded {_listed('threshold', (f'{k}={v:g}' for k, v in mine.items()))} not applied")
        clauses.append(f"mechanism {m.name} ({source}) is not installed here: " + ", and ".join(parts))
    if rest:
        clauses.append(f"the recorded {_listed('threshold', (f'{k}={v:g}' for k, v in rest.items()))} not applied: "
                       "no mechanism installed here has it (its package is not recorded)")
    if not clauses:
        return None
    return f"{MISSING_PREFIX}{'s' if len(clauses) > 1 else ''}: " + "; ".join(clauses) + \
        ("; installing the plug-ins gives their verdicts" if len(clauses) > 1 else
         "; installing the plug-in gives its verdicts")


def members(mechanisms: str) -> tuple[str, ...]:
    """Mechanism names of a `mechanisms` value: "dp+wm" -> ("dp", "wm"); "none" -> ()."""
    if not isinstance(mechanisms, str) or mechanisms in ("", "none"):
        return ()
    return tuple(sorted(m for m in mechanisms.split("+") if m))


def combinations(values: Iterable[str]) -> list[str]:
    """The values with two or more mechanisms, sorted by size then name."""
    return sorted({v for v in values if len(members(v)) >= 2}, key=lambda v: (len(members(v)), v))


_DATASET_ORDER = ("digits", "mnist", "fashion_mnist", "cifar10")


def dataset_order(name: str) -> tuple[int, str]:
    """Sort key: the paper's datasets first (digits, mnist, fashion_mnist, cifar10), then by name."""
    base = name.split("/")[0]
    return (_DATASET_ORDER.index(base) if base in _DATASET_ORDER else len(_DATASET_ORDER), name)
