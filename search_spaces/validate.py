"""Loading: read, parse and check every concrete trial, so that a loaded space always runs."""

from __future__ import annotations

from pathlib import Path

from .domains import Choice, Fixed, Grid
from explorer_core.errors import SpaceError
from .expand import concrete, expand
from .reader import read_file, read_text
from .schema import Space, parse

__all__ = ["load", "loads", "validate"]


def validate(space: Space) -> Space:
    """Check a space end to end (every trial through ``TrialConfig``; for optuna the baselines and each
    tuple at both ends of every range); return it, or raise :class:`SpaceError`."""
    expand(space)
    if space.search.algorithm == "optuna" and not space.search.objectives:
        raise SpaceError(space.source, space.line_of("search"), "search.objectives", "none",
                         "at least one objective for an Optuna study")
    if space.search.algorithm == "optuna":
        for mechs in space.mechanisms:
            knobs = space.knobs_for(mechs)
            for end in (0, -1):
                values = {}
                for key, p in knobs.items():
                    if isinstance(p, Fixed):
                        values[key] = p.value
                    elif isinstance(p, (Grid, Choice)):
                        values[key] = p.values()[end]
                    else:
                        values[key] = p.candidates()[end]
                concrete(space, space.datasets[0], mechs, values)
    return space


def loads(text: str, source: str = "<string>") -> Space:
    """Parse and validate YAML text; errors name ``source`` and the line."""
    return validate(parse(read_text(text, source)))


def load(path: str | Path) -> Space:
    """Read, parse and validate a space file."""
    return validate(parse(read_file(str(path))))
