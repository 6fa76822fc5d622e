"""Confirmation: which trials turn a search's best candidates into confirmed operating points (no Ray).

After an Optuna or random search, the best candidates (`analysis.confirmation_candidates` over the rows
as the search left them) are rerun under n seeds, each with every member mechanism alone at the same
knob values (`analysis.baselines.baseline_settings`: the baseline rule), so that the report can test
them with Welch/TOST against exact baselines. Trials are keyed by config_id and seed: rows already in
the output are reused, so planning twice gives the same trials and running them twice runs nothing new.
Confirmation trials record `experiment` = the space's name + `analysis.CONFIRM_SUFFIX`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from analysis.baselines import baseline_settings
from analysis.operating_points import CONFIRM_SUFFIX, confirmation_candidates, screening_rows
from analysis.recorded import RECORD_DIR, search_goal
from explorer.config import ConfigError, TrialConfig, parse_mechanisms

__all__ = ["ConfirmationPlan", "confirm_seeds", "plan_confirmation", "read_space", "write_record"]


@dataclass(frozen=True)
class ConfirmationPlan:
    """candidates: the chosen configs (one row each, with their screening means and settings);
    trials: the flat trial configs to have in the output (candidates and baselines x seeds), unique."""

    candidates: pd.DataFrame
    trials: tuple[dict[str, Any], ...]
    skipped: tuple[str, ...] = ()


def confirm_seeds(seeds: tuple[int, ...], n: int) -> tuple[int, ...]:
    """The first n of the space's seeds, continued with the smallest unused seeds >= 0."""
    out = list(seeds[:n])
    candidate = 0
    while len(out) < n:
        if candidate not in out:
            out.append(candidate)
        candidate += 1
    return tuple(out)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _original(space: Any, row: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """The flat config that produced a result row: the space's knobs at the row's values, in the types the
    space gave them (rows record resolved values, e.g. the model behind `auto`, and floats for integers in
    columns with gaps, so the row itself is not the config)."""
    from search_spaces.domains import Choice, Fixed, Grid
    from search_spaces.expand import concrete
    from search_spaces.knobs import KNOBS

    mechs = parse_mechanisms(row["mechanisms"])
    values: dict[str, Any] = {}
    for key, param in space.knobs_for(mechs).items():
        value = _plain(row.get(key))
        if isinstance(param, Fixed):
            values[key] = param.value
        elif isinstance(param, (Grid, Choice)):
            same = [v for v in param.values() if type(v) is type(value) or _both_numbers(v, value)]
            values[key] = next((v for v in same if v == value), value)
        elif value is not None:
            values[key] = int(value) if KNOBS[key].type == "int" else float(value)
    return concrete(space, str(row["dataset"]), mechs, values, seed=seed)


def _both_numbers(a: Any, b: Any) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))


def plan_confirmation(space: Any, rows: pd.DataFrame, *, top: int, seeds: int) -> ConfirmationPlan:
    """The confirmation trials of `space` for the rows in its output: the `top` candidates per tuple
    under `seeds` seeds, each with its member mechanisms alone (and any other baseline group its
    constraints name) at the same settings under `seeds` seeds."""
    from search_spaces.record import analysis_view

    goal = search_goal({"name": space.name, "analysis": analysis_view(space)})
    view = screening_rows(rows)
    ok = view[(view["status"] == "ok").to_numpy(dtype=bool)] if "status" in view.columns else view
    ours = ok[(ok["experiment"] == space.name).to_numpy(dtype=bool)] if "experiment" in ok.columns else ok
    ids = set(ours.loc[ours["mechanisms"].map(lambda m: len(parse_mechanisms(m)) >= 2), "config_id"])
    if not ids:
        return ConfirmationPlan(pd.DataFrame(), ())
    chosen = confirmation_candidates(view, goal.objectives, goal.thresholds, constraints=goal.constraints or None,
                                     top=top, config_ids=ids)
    experiment = space.name + CONFIRM_SUFFIX
    trials: dict[tuple[str, int], dict[str, Any]] = {}
    skipped: list[str] = []
    keep = []
    for _, candidate in chosen.iterrows():
        row = ours[ours["config_id"] == candidate["config_id"]].iloc[0].to_dict()
        mechs = parse_mechanisms(row["mechanisms"])
        try:
            config = _original(space, row, seed=0)
        except Exception as err:  # noqa: BLE001 - a row that this space cannot have produced
            skipped.append(f"{candidate['config_id']}: {err}")
            continue
        if TrialConfig.from_dict(config).config_id() != candidate["config_id"]:
            skipped.append(f"{candidate['config_id']}: not a config of space {space.name} as it is now")
            continue
        keep.append(candidate)
        for s in confirm_seeds(space.seeds.for_mechanisms(mechs), seeds):
            _add(trials, dict(config, seed=s, experiment=experiment))
        groups = {g for c in space.constraints_for(mechs) for g in c.baseline} | set(mechs)
        for group in sorted(groups):
            settings = baseline_settings(config, group)
            base_mechs = () if group == "none" else (group,)
            for s in confirm_seeds(space.seeds.for_mechanisms(base_mechs), seeds):
                _add(trials, dict(settings, mechanisms=group, seed=s, experiment=experiment))
    return ConfirmationPlan(pd.DataFrame(keep).reset_index(drop=True), tuple(trials.values()), tuple(skipped))


def _add(trials: dict[tuple[str, int], dict[str, Any]], flat: dict[str, Any]) -> None:
    config = TrialConfig.from_dict(flat)
    trials.setdefault((config.config_id(), config.seed), config.flat())


def write_record(space: Any, out: str) -> str:
    """Write `OUT/spaces/<name>.json` (the space, its confirmation settings and analysis view) atomically."""
    from explorer_core.store import resolve
    from search_spaces.record import record

    fs, base = resolve(out)
    folder = f"{base}/{RECORD_DIR}"
    fs.create_dir(folder, recursive=True)
    path = f"{folder}/{space.name}.json"
    tmp = f"{folder}/.{space.name}.json.tmp"
    with fs.open_output_stream(tmp) as fh:
        fh.write(json.dumps(record(space), indent=1).encode("utf-8"))
    fs.move(tmp, path)
    return path


def read_space(out: str, name: str | None = None) -> Any:
    """The space recorded in OUT (the only one, or `name`); ConfigError with one line when there is none."""
    import search_spaces as ss
    from explorer_core.store import resolve

    from pyarrow.fs import FileSelector, FileType

    fs, base = resolve(out)
    try:
        if fs.get_file_info(base).type == FileType.NotFound:
            raise ConfigError(f"OUT: got {out!r}, expected the output folder or URI of an `explorer search`")
        infos = fs.get_file_info(FileSelector(f"{base}/{RECORD_DIR}", allow_not_found=True))
    except OSError as err:
        raise ConfigError(f"OUT: got {out!r}, expected the output of an `explorer search` ({err})") from None
    names = sorted(i.base_name[: -len(".json")] for i in infos
                   if i.type == FileType.File and i.base_name.endswith(".json") and not i.base_name.startswith("."))
    if not names:
        raise ConfigError(f"OUT: got {out!r}, expected the output of an `explorer search` with its recorded space "
                          f"({RECORD_DIR}/<name>.json; outputs written before confirmation existed lack it: rerun "
                          "the search with the same --out, finished trials are reused)")
    if name is None and len(names) > 1:
        raise ConfigError(f"--space: got nothing, expected one of {', '.join(names)} (OUT holds several searches)")
    chosen = name or names[0]
    if chosen not in names:
        raise ConfigError(f"--space: got {chosen!r}, expected one of {', '.join(names)}")
    path = f"{base}/{RECORD_DIR}/{chosen}.json"
    try:
        with fs.open_input_stream(path) as fh:
            document = json.loads(fh.read().decode("utf-8"))
        return ss.loads(document["space_yaml"], source=path)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"{path}: got an unreadable record ({type(err).__name__}: {err}), expected the JSON "
                          "file `explorer search` writes") from None
