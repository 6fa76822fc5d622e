"""The mechanism specs in use, from the entry-point group ``protection_explorer.mechanisms`` (name = the
mechanism's name, value = ``module:SPEC``): first the built-ins, which this project's own distribution registers
there (pyproject.toml), then plug-ins of other distributions, each by name.

Adding a built-in is a folder under ``explorer/mechanisms/`` (its torch-free ``spec.py`` and its implementation)
plus its line in pyproject.toml's entry points; the core names none of them. A plug-in that cannot be imported,
whose spec is malformed or whose name clashes is skipped with one line on stderr naming its package; the others
keep working. Torch-free: a spec names its class by path.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from importlib import metadata
from typing import Any

from explorer_core.errors import fail
from explorer_core.spec import MechanismSpec, spec_problems

__all__ = ["GROUP", "DISTRIBUTION", "specs", "names", "get", "plugin_errors", "generation", "reload"]

GROUP = "protection_explorer.mechanisms"
#: The distribution whose entry points are the built-ins (its name as pip normalises it).
DISTRIBUTION = "protection-conflict-explorer"

_SPECS: dict[str, MechanismSpec] | None = None
_GENERATION = 0
_ERRORS: list[str] = []


def _package(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.name if dist is not None else ep.value.partition(":")[0]


def _plugin(ep: metadata.EntryPoint, known: dict[str, MechanismSpec]) -> MechanismSpec | str:
    """The plug-in's spec, or why it is skipped."""
    try:
        spec: Any = ep.load()
    except Exception as err:  # noqa: BLE001 - any failure of third-party code is reported, not raised
        return f"cannot import {ep.value} ({type(err).__name__}: {' '.join(str(err).split())})"
    problems = spec_problems(spec)
    if problems:
        return "bad spec: " + "; ".join(problems)
    if spec.name != ep.name:
        return f"entry point {ep.name!r} names the spec of {spec.name!r}; expected the same name"
    if spec.name in known:
        return f"name {spec.name!r} clashes with the mechanism from {known[spec.name].source}"
    source = "built-in" if _builtin(ep) else _package(ep)
    return spec if spec.source == source else dataclasses.replace(spec, source=source)


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _builtin(ep: metadata.EntryPoint) -> bool:
    dist = getattr(ep, "dist", None)
    return dist is not None and _normalised(dist.name) == DISTRIBUTION


def _load() -> dict[str, MechanismSpec]:
    out: dict[str, MechanismSpec] = {}
    points = sorted(metadata.entry_points(group=GROUP), key=lambda e: (not _builtin(e), e.name, e.value))
    if not any(_builtin(ep) for ep in points):
        raise RuntimeError(f"no built-in mechanism is registered: the {DISTRIBUTION} distribution is not installed "
                           f"in this environment (pip install -e . from the project's folder)")
    for ep in points:
        got = _plugin(ep, out)
        if isinstance(got, str):
            kind = "built-in" if _builtin(ep) else "plug-in"
            line = f"explorer: {kind} mechanism {ep.name!r} of package {_package(ep)} skipped: {got}"
            _ERRORS.append(line)
            print(line, file=sys.stderr)
        else:
            out[got.name] = got
    return out


def specs() -> dict[str, MechanismSpec]:
    """Name -> spec: built-ins by name, then plug-ins by name. Loaded once per process."""
    global _SPECS
    if _SPECS is None:
        _SPECS = _load()
    return _SPECS


def names() -> tuple[str, ...]:
    """Every mechanism name, sorted (the canonical ``mechanisms`` order, e.g. ``adv+dp+wm``)."""
    return tuple(sorted(specs()))


def get(name: str) -> MechanismSpec:
    """The spec of one mechanism; a ConfigError naming the known ones otherwise."""
    found = specs().get(name)
    if found is None:
        raise fail("mechanisms", name, "one of " + ", ".join(names()))
    return found


def plugin_errors() -> list[str]:
    """The one-line reports of plug-ins skipped by this process."""
    specs()
    return list(_ERRORS)


def generation() -> int:
    """Bumped by each :func:`reload`: what :mod:`explorer_core.views` recompute on."""
    return _GENERATION


def reload() -> dict[str, MechanismSpec]:
    """Forget the loaded specs and read the entry points again (tests)."""
    global _SPECS, _GENERATION
    _SPECS = None
    _GENERATION += 1
    _ERRORS.clear()
    return specs()
