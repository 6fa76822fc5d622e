"""Metrics, objectives, the paper's conflict thresholds and the constraints built from them.

A constraint value follows Optuna 5's ``trial.set_constraint(key, value)`` convention: feasible when
``value <= 0``. A missing or NaN metric gives ``+inf`` (infeasible).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Mapping, Sequence

from explorer_core import registry, views
from explorer_core.config import parse_mechanisms
from explorer_core.spec import RISK_METRICS, Rule
from explorer_core.thresholds import Thresholds

__all__ = [
    "METRICS",
    "DEFAULT_DIRECTIONS",
    "Objective",
    "Thresholds",
    "Constraint",
    "ConstraintKind",
    "default_objectives",
    "conflict_constraints",
    "constraint_values",
]


def _metrics() -> dict[str, str | None]:
    out: dict[str, str | None] = {"acc": None, **{m.name: None for m in RISK_METRICS}}
    for spec in registry.specs().values():
        out.update({m.name: (None if m.everywhere else spec.name) for m in spec.metrics if m.searchable})
    return out


#: Metric (Parquet column) a search may use -> the mechanism a trial must have for it to exist (None: always).
METRICS: views.Dict[str, str | None] = views.Dict(_metrics)
#: The direction in which each metric is better.
DEFAULT_DIRECTIONS: views.Dict[str, str] = views.Dict(lambda: {
    "acc": "max", **{m.name: m.direction for m in RISK_METRICS},
    **{m.name: m.direction for s in registry.specs().values() for m in s.metrics if m.searchable}})
ConstraintKind = Literal["drop_vs_baseline", "fraction_of_baseline", "min", "max"]


@dataclass(frozen=True)
class Objective:
    """One objective: a metric and ``max`` or ``min``."""

    metric: str
    direction: Literal["max", "min"]

    @property
    def optuna_direction(self) -> str:
        return "maximize" if self.direction == "max" else "minimize"


@dataclass(frozen=True)
class Constraint:
    """A feasibility condition on one metric of a finished trial.

    - ``drop_vs_baseline``: ``reference - value - threshold <= 0``, where ``reference`` is the lowest mean of
      ``metric`` over the baseline groups in ``baseline`` ('none' or mechanism names; empty: resolved from
      the trial's mechanisms by :meth:`resolve`); for a metric where lower is better, its rise:
      ``value - reference - threshold <= 0`` with the highest mean.
    - ``fraction_of_baseline``: ``threshold * reference - value <= 0`` (the value keeps at least that fraction of
      the baseline's mean; the radioactive rule, docs/metrics.md decision 19).
    - ``min``: ``threshold - value <= 0``;  ``max``: ``value - threshold <= 0``.
    """

    metric: str
    kind: ConstraintKind
    threshold: float
    baseline: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The key for ``trial.set_constraint`` and the reported result, e.g. ``wm.acc.drop_vs_baseline``."""
        return f"{self.metric}.{self.kind}"

    def applies_to(self, mechanisms: Iterable[str]) -> bool:
        need = METRICS.get(self.metric)
        return need is None or need in set(mechanisms)

    def resolve(self, mechanisms: Sequence[str]) -> Constraint:
        """Fix an empty ``baseline``: the metric's own mechanism if the trial has it, else the trial's
        single-mechanism baselines (the lower one counts), else the undefended model."""
        if self.kind not in ("drop_vs_baseline", "fraction_of_baseline") or self.baseline:
            return self
        own = METRICS.get(self.metric)
        mechs = tuple(sorted(mechanisms))
        ref = (own,) if own is not None and own in mechs else (mechs or ("none",))
        return Constraint(self.metric, self.kind, self.threshold, ref)

    def value(self, row: Mapping[str, Any], baseline_means: Mapping[str, Mapping[str, float]]) -> float:
        """This constraint's value for a finished trial (<= 0: feasible)."""
        v = row.get(self.metric)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or math.isnan(v):
            return math.inf
        if self.kind == "min":
            return float(self.threshold - v)
        if self.kind == "max":
            return float(v - self.threshold)
        if not self.baseline:
            raise ValueError(f"constraint {self.name}: resolve() it against the trial's mechanisms first")
        refs = []
        for group in self.baseline:
            mean = baseline_means.get(group, {}).get(self.metric)
            if mean is None or (isinstance(mean, float) and math.isnan(mean)):
                raise ValueError(f"constraint {self.name}: no baseline mean of {self.metric!r} for {group!r}")
            refs.append(float(mean))
        if self.kind == "fraction_of_baseline":
            return float(self.threshold * min(refs) - v)
        if DEFAULT_DIRECTIONS.get(self.metric) == "min":  # lower is better: the worse side is a rise
            return float(v - max(refs) - self.threshold)
        return float(min(refs) - v - self.threshold)


def default_objectives(tuples: Sequence[Sequence[str]]) -> tuple[Objective, ...]:
    """``acc`` (max) plus the protection metric of each mechanism present in every tuple."""
    specs = registry.specs()
    common = set(specs)
    for t in tuples:
        common &= set(t)
    out = [Objective("acc", "max")]
    for name in sorted(common):
        metric = specs[name].metric(specs[name].objective)
        out.append(Objective(metric.name, metric.direction))
    return tuple(out)


def _rule_constraint(name: str, rule: Rule, thresholds: Thresholds) -> Constraint:
    threshold = thresholds.get(rule.threshold.key)
    if rule.kind == "fraction_of_baseline" and threshold <= 0 and rule.absolute is not None:
        return _rule_constraint(name, rule.absolute, thresholds)
    baseline = (name,) if rule.kind in ("drop_vs_baseline", "fraction_of_baseline") else ()
    return Constraint(rule.metric, rule.kind, threshold, baseline)


def conflict_constraints(mechanisms: Sequence[str], thresholds: Thresholds | None = None) -> tuple[Constraint, ...]:
    """The paper's conflict rule for one tuple, as constraints (feasible: no conflict): ``acc`` against the
    lower member baseline, then each member's rule from its spec."""
    th = thresholds if thresholds is not None else Thresholds()
    mechs = tuple(sorted(mechanisms))
    out = [Constraint("acc", "drop_vs_baseline", th.acc, mechs or ("none",))]
    specs = registry.specs()
    for name in mechs:
        rule = specs[name].rule
        if rule is not None:
            out.append(_rule_constraint(name, rule, th))
    return tuple(out)


def constraint_values(row: Mapping[str, Any], baseline_means: Mapping[str, Mapping[str, float]],
                      constraints: Sequence[Constraint] | None = None,
                      thresholds: Thresholds | None = None) -> dict[str, float]:
    """Constraint values of one finished trial; each ``<= 0`` means feasible.

    ``row`` holds the trial's metrics and its ``mechanisms`` ("dp+wm"); ``baseline_means`` maps a baseline
    group ('none', 'dp', 'wm', ...) to its mean metrics, e.g. ``{"wm": {"acc": 0.99, "wm.acc": 1.0}}``.
    Without ``constraints``, the conflict rule under ``thresholds`` for the row's mechanisms applies; given
    ones that do not apply to the row's mechanisms are skipped, and empty baselines are resolved.
    """
    mechs = parse_mechanisms(row.get("mechanisms", ()))
    chosen = conflict_constraints(mechs, thresholds) if constraints is None else constraints
    return {c.name: c.resolve(mechs).value(row, baseline_means) for c in chosen if c.applies_to(mechs)}
