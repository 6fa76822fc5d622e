"""What a search records in its output, so that `explorer confirm` and `explorer report` know the space.

``OUT/spaces/<name>.json`` holds the space as YAML (``dump``; ``loads`` reads it back equal), its
confirmation settings and an *analysis view*: the objectives, the conflict thresholds and the constraints
in the terms of the ``analysis`` package (plain JSON, so that ``analysis`` needs nothing from here).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from explorer_core import registry, views
from .schema import Space, dump

__all__ = ["FORMAT", "RECORD_DIR", "analysis_view", "record"]

FORMAT = 1
RECORD_DIR = "spaces"
#: Drop constraints the analysis applies as thresholds: metric -> the analysis threshold's name.
_DROP_THRESHOLDS: views.Dict[str, str] = views.Dict(lambda: {
    "acc": "acc", **{s.rule.metric: s.rule.threshold.key for s in registry.specs().values()
                     if s.rule is not None and s.rule.kind == "drop_vs_baseline"}})
_OPERATORS = {"min": ">=", "max": "<="}


def analysis_view(space: Space) -> dict[str, Any]:
    """``{"objectives": {metric: max|min}, "thresholds": {acc, alpha, wm, adv, ...}, "constraints":
    {metric: [operator, bound]}, "notes": [...]}``: the space's search goal for the analysis.

    Absolute constraints (``min``/``max``) become bounds on config means; an explicit ``drop_vs_baseline`` on
    acc or a mechanism's drop metric (wm.acc, adv.acc) against the default baselines replaces that threshold of
    the conflict rule. What
    the analysis cannot express (a drop against other baselines) is named in ``notes``.
    """
    thresholds: dict[str, float] = space.thresholds.as_dict()
    constraints: dict[str, list[Any]] = {}
    notes: list[str] = []
    if not space.search.conflict:
        notes.append("the search ran without the conflict rule (constraints: none); the analysis applies it")
    for c in space.search.constraints:
        if c.kind in _OPERATORS:
            constraints[c.metric] = [_OPERATORS[c.kind], c.threshold]
        elif c.metric in _DROP_THRESHOLDS and not c.baseline:
            thresholds[_DROP_THRESHOLDS[c.metric]] = c.threshold
        else:
            against = ", ".join(c.baseline) or "its own mechanism"
            notes.append(f"constraint {c.name} {c.threshold:g} against {against} is not applied by the analysis")
    return {
        "objectives": {o.metric: o.direction for o in space.search.objectives},
        "thresholds": thresholds,
        "constraints": constraints,
        "notes": notes,
    }


def record(space: Space) -> dict[str, Any]:
    """The JSON document a search writes to ``OUT/spaces/<name>.json``."""
    confirm = space.search.confirm
    return {
        "format": FORMAT,
        "name": space.name,
        "algorithm": space.search.algorithm,
        "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "confirm": {"top": confirm.top, "seeds": confirm.seeds,
                    "design": confirm.design.text if confirm.design else None} if confirm else None,
        "analysis": analysis_view(space),
        "space_yaml": dump(space),
    }
