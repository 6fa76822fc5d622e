"""The thresholds of the conflict rule (DESIGN 3.6): the one class of :mod:`explorer_core.thresholds`, whose
bad values raise :class:`AnalysisInputError` here, as every bad input to `analysis` does."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from analysis.errors import AnalysisInputError
from explorer_core import registry
from explorer_core.config import ConfigError
from explorer_core.spec import Rule
from explorer_core.thresholds import Thresholds as _Shared

__all__ = ["Thresholds", "describe", "rule_of"]


class Thresholds(_Shared):
    """When a combination is in conflict (paper Section 3), and the significance level of the tests.

    acc: largest tolerated drop of test accuracy below the lower single-mechanism baseline.
    wm / adv: largest tolerated drop of `wm.acc` / `adv.acc` below the wm-alone / adv-alone baseline.
    di_p: DI verifies when `di.p_value` is below this.
    rad_rel: `rad.loss_gap` must keep at least this fraction of the rad-alone baseline's mean (our rule,
    docs/metrics.md decision 19: the paper's 1e-2 over its smallest rad-alone gap, 0.191); 0 switches to
    the paper's absolute rule, `rad.loss_gap` >= rad_gap, which is always reported beside it.
    alpha: significance level of every test. A plug-in mechanism adds its own (its spec's rule).
    """

    __slots__ = ()

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ConfigError as err:
            raise AnalysisInputError(str(err)) from None

    @classmethod
    def parse(cls, items: Iterable[str], base: _Shared | None = None) -> Thresholds:
        try:
            return super().parse(items, base)  # type: ignore[return-value]
        except ConfigError as err:
            raise AnalysisInputError(str(err)) from None


def rule_of(metric: str) -> tuple[str, Rule] | None:
    """(mechanism, rule) of the spec whose conflict rule is about ``metric``; None for acc and others."""
    for name, spec in registry.specs().items():
        if spec.rule is not None and spec.rule.metric == metric:
            return name, spec.rule
    return None


def _rule_text(name: str, rule: Rule, th: _Shared) -> str:
    value = th.get(rule.threshold.key)
    if rule.kind == "drop_vs_baseline":
        return f"{rule.metric} drop {value:g}"
    if rule.kind == "max":
        return f"{rule.metric} < {value:g}"
    if rule.kind == "min":
        return f"{rule.metric} >= {value:g}"
    absolute = rule.absolute
    if value <= 0 and absolute is not None:
        return _rule_text(name, absolute, th)
    beside = "" if absolute is None else (f" (ours; the paper's absolute rule, {_rule_text(name, absolute, th)}, "
                                          "is shown beside it)")
    return f"{rule.metric} >= {value:g} x the {name}-alone mean{beside}"


def describe(th: _Shared) -> str:
    """The conflict rule under ``th`` in one line: acc, each mechanism's rule (its spec's), alpha."""
    rules = [_rule_text(n, s.rule, th) for n, s in registry.specs().items() if s.rule is not None]
    return ", ".join([f"acc drop {th.acc:g}", *rules, f"alpha {th.alpha:g}"])
