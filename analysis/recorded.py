"""The search goal a search recorded beside its rows (`OUT/spaces/<name>.json`): objectives, thresholds,
constraints. The report uses it unless the command line overrides it.

A record may name thresholds of a plug-in mechanism that is not installed here (DESIGN 3.13): they are kept
aside in `SearchGoal.unknown_thresholds` (not applied; `analysis.schema.missing_text` names them) and the
rest of the goal is used as recorded."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from analysis.errors import AnalysisInputError
from analysis.load import ResultsPath, file_info, filesystem
from analysis.thresholds import Thresholds
from explorer_core.thresholds import threshold_specs

__all__ = ["RECORD_DIR", "SearchGoal", "recorded_goal", "search_goal"]

RECORD_DIR = "spaces"
_EXPECTED = "expected the JSON file that `explorer search` writes"


@dataclass(frozen=True)
class SearchGoal:
    """What a search optimised: `objectives` (column -> max|min), `thresholds`, `constraints` (column ->
    (operator, bound)), `notes` on what the analysis cannot apply, and the `name` of the space."""

    name: str
    objectives: dict[str, str]
    thresholds: Thresholds
    constraints: dict[str, tuple[str, float]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    source: str = ""
    unknown_thresholds: dict[str, float] = field(default_factory=dict)
    """Recorded thresholds that no mechanism installed here has (a plug-in's): not applied."""


def search_goal(document: dict[str, Any], source: str = "<record>") -> SearchGoal:
    """A `SearchGoal` from a record's JSON document (its "name" and "analysis" entries)."""
    try:
        view = document["analysis"]
        objectives = {str(k): str(v) for k, v in view["objectives"].items()}
        recorded = {str(k): float(v) for k, v in view["thresholds"].items()}
        known = threshold_specs()
        unknown = {k: v for k, v in recorded.items() if k not in known}
        thresholds = Thresholds(**{k: v for k, v in recorded.items() if k in known})
        constraints = {str(k): (str(op), float(bound)) for k, (op, bound) in view.get("constraints", {}).items()}
        notes = tuple(str(n) for n in view.get("notes", ()))
        name = str(document["name"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AnalysisInputError(
            f"search record {source!r} is malformed ({type(exc).__name__}: {exc}): {_EXPECTED}"
        ) from None
    if any(v not in ("max", "min") for v in objectives.values()):
        raise AnalysisInputError(f"search record {source!r}: objectives must be max or min: {_EXPECTED}")
    return SearchGoal(name, objectives, thresholds, constraints, notes, source, unknown)


def recorded_goal(results: ResultsPath | Sequence[ResultsPath]) -> tuple[SearchGoal | None, list[str]]:
    """The goal recorded beside the results (in `PATH/spaces/` or, for `OUT/rows`, `OUT/spaces/`): the most
    recently recorded one when there are several, with a note naming the others. (None, []) when none."""
    paths = [results] if isinstance(results, (str, os.PathLike)) else list(results)
    found: list[tuple[str, SearchGoal]] = []
    for path in paths:
        found += _read_records(os.fspath(path))
    if not found:
        return None, []
    found.sort(key=lambda item: item[0])
    recorded, goal = found[-1]
    notes = []
    others = sorted({g.name for _, g in found[:-1] if g.name != goal.name})
    if others:
        notes.append(
            f"several searches are recorded ({', '.join(others)}); the goal of the latest, {goal.name}, is used"
        )
    return goal, notes


def _read_records(text: str) -> list[tuple[str, SearchGoal]]:
    fs, path = filesystem(text)
    path = path.rstrip("/")
    folders = [path]
    if path.rsplit("/", 1)[-1] == "rows" or file_info(fs, path, text).type == pafs.FileType.File:
        folders.append(path.rsplit("/", 1)[0])
    out = []
    for folder in folders:
        selector = pafs.FileSelector(f"{folder}/{RECORD_DIR}", allow_not_found=True)
        try:
            infos = fs.get_file_info(selector)
        except (pa.ArrowException, OSError):
            continue
        for info in sorted(infos, key=lambda i: i.path):
            if info.type != pafs.FileType.File or not info.base_name.endswith(".json"):
                continue
            try:
                with fs.open_input_stream(info.path) as fh:
                    document = json.loads(fh.read().decode("utf-8"))
            except (pa.ArrowException, OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise AnalysisInputError(f"search record {info.path!r} cannot be read ({exc}): {_EXPECTED}") from None
            if not isinstance(document, dict):
                raise AnalysisInputError(f"search record {info.path!r} is not a JSON object: {_EXPECTED}")
            out.append((str(document.get("recorded", "")), search_goal(document, info.path)))
        if out:
            break
    return out
