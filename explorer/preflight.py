"""What a search checks on the driver before Ray starts: the problems its trials would meet at run time.

The same code as a trial runs, on the CPU and without training: each dataset is loaded (a missing file
or an unreadable imagefolder raises the loader's own :class:`~explorer.data.DatasetMissing`), and the
mechanisms of every distinct configuration are composed, which checks what needs the data (a trigger
set larger than its out-of-distribution pool, too few images for DP-SGD, DI or radioactive marking).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Mapping

from explorer.config import ConfigError, TrialConfig

__all__ = ["space_configs", "problems"]


def space_configs(space: Any) -> list[dict[str, Any]]:
    """The trial configs that stand for a space: all of a grid or random search; for an Optuna search its
    baselines and, per tuple, every knob at the low and at the high end of its domain."""
    import search_spaces as ss
    from search_spaces.expand import concrete

    if space.search.algorithm != "optuna":
        return ss.expand(space).configs()
    configs = list(ss.optuna_space(space).baselines())
    for mechs in space.mechanisms:
        knobs = space.knobs_for(mechs)
        for end in (0, -1):
            values = {k: sorted(p.candidates(), key=_order)[end] for k, p in knobs.items()}
            try:
                configs.append(concrete(space, space.datasets[0], mechs, values))
            except ss.SpaceError:  # these ends do not combine; the space's validation speaks for them
                continue
    return configs


def _order(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, (int, float)) and not isinstance(value, bool) else (1, str(value))


def problems(configs: Iterable[Mapping[str, Any]]) -> list[str]:
    """Distinct one-line problems of these trial configs, in order of appearance; [] when all can start."""
    from explorer.compose import Composer
    from explorer.data import clear_loaded
    from explorer.models import resolve_model
    from explorer.train import make_context

    found: dict[str, None] = {}
    contexts: dict[Any, Any] = {}  # (dataset, data section) -> context of the first config, or its error
    seen: set[tuple[str, str | None]] = set()
    try:
        for flat in configs:
            config = TrialConfig.from_dict(dict(flat))
            if (config.config_id(), config.data.dir) in seen:
                continue
            seen.add((config.config_id(), config.data.dir))
            config = config.replace(train=replace(config.train, device="cpu"))
            key = (config.dataset, config.data)
            if key not in contexts:
                try:
                    contexts[key] = make_context(config)
                except ConfigError as err:
                    contexts[key] = str(err)
            ctx = contexts[key]
            if isinstance(ctx, str):
                found[ctx] = None
                continue
            try:
                Composer.from_context(replace(ctx, config=config, model_name=resolve_model(config.model,
                                                                                           ctx.data.shape)))
            except ConfigError as err:
                found[str(err)] = None
    finally:
        contexts.clear()
        clear_loaded()  # the driver runs no trial: give the datasets' memory back
    return list(found)
