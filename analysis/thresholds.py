"""The thresholds of the conflict rule (DESIGN 3.6), validated at construction."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace

from analysis.errors import AnalysisInputError

__all__ = ["Thresholds"]

_EXPECTED: dict[str, str] = {
    "acc": "a drop in (0, 1] (fraction of test accuracy)",
    "wm": "a drop in (0, 1] (fraction of watermark accuracy)",
    "adv": "a drop in (0, 1] (fraction of accuracy under PGD)",
    "di_p": "a p-value in (0, 1)",
    "rad_gap": "a finite loss gap (nats)",
    "rad_rel": "a fraction in [0, 1) of the rad-alone loss gap (0: the absolute rule rad_gap)",
    "alpha": "a significance level in (0, 0.5)",
}


def _valid(name: str, value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    if name in ("acc", "wm", "adv"):
        return 0 < value <= 1
    if name == "di_p":
        return 0 < value < 1
    if name == "alpha":
        return 0 < value < 0.5
    if name == "rad_rel":
        return 0 <= value < 1
    return True


@dataclass(frozen=True, kw_only=True, slots=True)
class Thresholds:
    """When a combination is in conflict (paper Section 3), and the significance level of the tests.

    acc: largest tolerated drop of test accuracy below the lower single-mechanism baseline.
    wm / adv: largest tolerated drop of `wm.acc` / `adv.acc` below the wm-alone / adv-alone baseline.
    di_p: DI verifies when `di.p_value` is below this.
    rad_rel: `rad.loss_gap` must keep at least this fraction of the rad-alone baseline's mean (our rule,
    docs/metrics.md decision 19: the paper's 1e-2 over its smallest rad-alone gap, 0.191); 0 switches to
    the paper's absolute rule, `rad.loss_gap` >= rad_gap, which is always reported beside it.
    alpha: significance level of every test.
    """

    acc: float = 0.10
    wm: float = 0.30
    adv: float = 0.10
    di_p: float = 1e-3
    rad_gap: float = 1e-2
    rad_rel: float = 0.05
    alpha: float = 0.05

    def __post_init__(self) -> None:
        for name, what in _EXPECTED.items():
            if not _valid(name, getattr(self, name)):
                raise AnalysisInputError(f"threshold {name}={getattr(self, name)!r}: expected {what}")

    @classmethod
    def parse(cls, items: Iterable[str], base: Thresholds | None = None) -> Thresholds:
        """Thresholds from `key=value` strings (e.g. `["acc=0.05", "alpha=0.01"]`) over `base` or the defaults."""
        names = [f.name for f in fields(cls)]
        changes: dict[str, float] = {}
        for item in items:
            key, sep, text = item.partition("=")
            key = key.strip()
            if not sep or key not in names:
                raise AnalysisInputError(f"threshold {item!r}: expected key=value with key one of {', '.join(names)}")
            try:
                changes[key] = float(text)
            except ValueError:
                raise AnalysisInputError(f"threshold {item!r}: value {text!r} is not a number") from None
        return replace(base or cls(), **changes)
