"""What a protection mechanism *is*, declared once and torch-free (DESIGN 4, "One definition per mechanism").

A :class:`MechanismSpec` names the mechanism, its config class (knobs, defaults, validation), the metrics it
reports, its protection metric with the conflict rule and default threshold, its stage order, smoke caps
and cost. ``explorer`` (training), ``search_spaces`` (validation, search, cost) and ``analysis`` (verdicts,
plots, report) all read it; the mechanism's class (``mechanism``, "module:Class") holds only what it does.
Built-ins and plug-ins register the same way (:mod:`explorer_core.registry`).
"""

from __future__ import annotations

import math
import re
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Callable, Literal, Mapping

__all__ = ["Metric", "Threshold", "Rule", "Cost", "MechanismSpec", "RISK_METRICS", "RISK_THRESHOLDS", "RuleKind",
           "spec_problems"]

RuleKind = Literal["drop_vs_baseline", "fraction_of_baseline", "min", "max"]
_NAME = re.compile(r"[a-z][a-z0-9_]{0,15}")
_RESERVED = frozenset({"none", "data", "train", "training", "eval", "acc", "alpha", "loss", "risk"})


@dataclass(frozen=True)
class Metric:
    """One metric column. ``name`` is ``<mechanism>.<what>``; ``direction`` is where it is better.

    ``everywhere``: every trial reports it, with or without the mechanism (``adv.acc``, DESIGN 3.5).
    ``searchable``: it may be a search objective or constraint (diagnostic columns are not).
    ``optional``: the mechanism reports it only in some settings (e.g. with a knob on); every other metric of
    the mechanism must come out of its ``evaluate``, or the trial is an error.
    """

    name: str
    direction: Literal["max", "min"]
    unit: str
    label: str
    log_scale: bool = False
    everywhere: bool = False
    searchable: bool = True
    optional: bool = False


@dataclass(frozen=True)
class Threshold:
    """A threshold of the conflict rule: its key (in ``Thresholds`` and a space's ``thresholds:``), default
    and the interval it must lie in, with what it means for error messages."""

    key: str
    default: float
    low: float
    high: float
    low_open: bool
    high_open: bool
    meaning: str

    @property
    def allowed(self) -> str:
        lo = "(" if self.low_open else "["
        hi = ")" if self.high_open else "]"
        return f"{self.meaning}: a number in {lo}{self.low:g}, {self.high:g}{hi}"

    def admits(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below


#: Unintended risks every trial measures like accuracy, whatever its mechanisms (DESIGN 3.11; explorer.risks):
#: membership inference by RMIA (Zarifzadeh et al., ICML 2024) and the train-test gap of the SoK (Duddu et al.,
#: S&P 2024). Lower is better for all three; ``eval.risks: false`` leaves them NaN.
RISK_THRESHOLDS: dict[str, Threshold] = {
    "risk.mia_auc": Threshold("risk_auc", 0.02, 0, 1, True, False, "a change of membership-inference AUC"),
    "risk.mia_tpr_at_1fpr": Threshold("risk_tpr", 0.02, 0, 1, True, False, "a change of TPR at 1 % FPR"),
    "risk.train_test_gap": Threshold("risk_gap", 0.02, 0, 1, True, False, "a change of the train-test gap"),
}
"""How far a risk must move against the undefended model, at the same settings, to be 'raised' or 'lowered'
(analysis.risks); below it, shown by TOST, 'no change'."""
RISK_METRICS: tuple[Metric, ...] = (
    Metric("risk.mia_auc", "min", "AUC", "membership-inference AUC (RMIA; 0.5: chance)", everywhere=True),
    Metric("risk.mia_tpr_at_1fpr", "min", "fraction", "membership-inference TPR at 1 % FPR", everywhere=True),
    Metric("risk.train_test_gap", "min", "fraction", "training minus test accuracy", everywhere=True),
)


@dataclass(frozen=True)
class Rule:
    """The conflict rule on a mechanism's protection metric (paper Section 3; DESIGN 3.6).

    - ``drop_vs_baseline``: in conflict when the metric drops more than the threshold below the mechanism
      alone; ``fraction_of_baseline``: when it keeps less than that fraction of the mechanism-alone mean;
    - ``max`` / ``min``: when it lies above / below an absolute bound.
    ``absolute``: an absolute rule reported beside a relative one, deciding when the relative threshold is 0
    (the paper's ``rad.loss_gap >= 1e-2``, docs/metrics.md decision 19).
    """

    metric: str
    kind: RuleKind
    threshold: Threshold
    absolute: Rule | None = None


@dataclass(frozen=True)
class Cost:
    """Image passes of the mechanism (:mod:`search_spaces.cost`): ``train_factor`` multiplies every private
    training pass (DP-SGD's clipping and accounting), ``extra_per_image`` adds passes per training image and
    epoch (PGD steps), ``passes(config, n, n_test, factor)`` adds the rest (trigger sets, marking, walks)."""

    train_factor: float = 1.0
    extra_per_image: Callable[[Mapping[str, Any]], float] | None = None
    passes: Callable[[Mapping[str, Any], int, int, float], float] | None = None


@dataclass(frozen=True)
class MechanismSpec:
    """The one declaration of a mechanism (see the module docstring)."""

    name: str
    title: str
    paper: str
    config_cls: type
    mechanism: str  # "module:Class" of its torch-side class (imported only to train)
    order: int  # stage priority: data-replacing first, DP-SGD (90) wraps last
    metrics: tuple[Metric, ...]
    objective: str  # the metric that stands for its protection in default objectives
    rule: Rule | None = None  # None: the mechanism is judged on acc only (DP-SGD's ε is guaranteed)
    smoke_caps: Mapping[str, int] = field(default_factory=dict)
    cost: Cost = Cost()
    fixed_only: frozenset[str] = frozenset()  # knobs that take one fixed value (paths)
    variant_flags: tuple[str, ...] = ()  # switches baseline matching ignores (e.g. wm.decoupled)
    knob_labels: Mapping[str, str] = field(default_factory=dict)  # axis labels with units
    source: str = "built-in"  # the distribution that registered it (set by the registry)

    def metric(self, name: str) -> Metric:
        return next(m for m in self.metrics if m.name == name)

    def knobs(self) -> tuple[str, ...]:
        return tuple(f"{self.name}.{f.name}" for f in fields(self.config_cls))


#: Which metric direction each rule kind needs ("drop_vs_baseline" follows either: a drop where higher is
#: better, a rise where lower is).
_RULE_DIRECTION = {"max": "min", "min": "max", "fraction_of_baseline": "max"}


def _against_direction(rule: Rule, direction: str) -> str | None:
    """Why a rule contradicts its metric's direction (it could never call the metric's worse side a conflict)."""
    want = _RULE_DIRECTION.get(rule.kind)
    if want is None or want == direction:
        return None
    meaning = {"max": "lies above a bound", "min": "lies below a bound",
               "fraction_of_baseline": "keeps too small a fraction of the mechanism-alone mean"}[rule.kind]
    return (f"rule {rule.kind} on {rule.metric!r}: a conflict when the metric {meaning} needs a metric whose "
            f"direction is {want!r}, got {direction!r} (use drop_vs_baseline, which follows the direction, or "
            f"the opposite bound)")


def spec_problems(spec: Any) -> list[str]:
    """What is wrong with a spec (a plug-in's, say); [] when it is usable."""
    if not isinstance(spec, MechanismSpec):
        return [f"expected a explorer_core.spec.MechanismSpec, got {type(spec).__name__}"]
    out = []
    if not _NAME.fullmatch(spec.name) or spec.name in _RESERVED:
        reserved = ", ".join(sorted(_RESERVED))
        out.append(f"name {spec.name!r}: expected lower-case letters, digits and _ (not {reserved})")
    if getattr(spec.config_cls, "prefix", None) != spec.name:
        out.append(f"config_cls {getattr(spec.config_cls, '__name__', spec.config_cls)!r}: expected a "
                   f"explorer_core.config.Section dataclass with prefix {spec.name!r}")
    else:
        try:
            missing = [f.name for f in fields(spec.config_cls)
                       if f.default is MISSING and f.default_factory is MISSING]  # type: ignore[misc]
            if missing:
                out.append(f"config_cls: knobs without a default: {', '.join(missing)}")
            else:
                spec.config_cls()
        except Exception as err:  # noqa: BLE001 - a broken plug-in is reported, not raised
            out.append(f"config_cls(): {type(err).__name__}: {err}")
    if ":" not in spec.mechanism:
        out.append(f"mechanism {spec.mechanism!r}: expected 'module:Class'")
    names = [m.name for m in spec.metrics]
    for m in names:
        if not m.startswith(f"{spec.name}."):
            out.append(f"metric {m!r}: expected a name starting with {spec.name + '.'!r}")
    if len(set(names)) != len(names):
        out.append("metrics: each name once")
    if spec.objective not in names:
        out.append(f"objective {spec.objective!r}: expected one of its metrics ({', '.join(names)})")
    if spec.rule is not None and spec.rule.kind == "fraction_of_baseline" and spec.rule.absolute is None:
        out.append("rule fraction_of_baseline: expected an absolute companion rule (reported beside it)")
    rule = spec.rule
    while rule is not None:
        if rule.metric not in names:
            out.append(f"rule metric {rule.metric!r}: expected one of its metrics")
        elif (bad := _against_direction(rule, spec.metric(rule.metric).direction)) is not None:
            out.append(bad)
        if not rule.threshold.admits(rule.threshold.default):
            out.append(f"threshold {rule.threshold.key}: default {rule.threshold.default!r} outside its interval")
        rule = rule.absolute
    for key in (*spec.smoke_caps, *spec.fixed_only, *spec.variant_flags):
        if not key.startswith(f"{spec.name}.") and key.partition(".")[0] in ("data", "train", "eval"):
            continue
        if key not in spec.knobs():
            out.append(f"knob {key!r} (smoke cap, fixed or variant): expected one of {', '.join(spec.knobs())}")
    if not isinstance(spec.order, int) or isinstance(spec.order, bool):
        out.append(f"order {spec.order!r}: expected an integer")
    return out
