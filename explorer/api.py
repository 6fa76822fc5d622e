"""The public plug-in API: everything a mechanism needs, from one module (docs/writing-a-mechanism.md).

A plug-in imports only from here. The names are stable within a minor version; anything else in
``explorer``, ``search_spaces`` or ``analysis`` may move. Two halves:

- **What a mechanism is** (torch-free, for its spec module, which reading results imports without torch):
  :class:`MechanismSpec`, :class:`Metric`, :class:`Rule`, :class:`Threshold`, :class:`Cost`, the knob section
  base :class:`Section` and its validators :func:`number`, :func:`integer`, :func:`choice`, :func:`boolean`,
  :func:`fail`, and :class:`ConfigError`.
- **What it does** (imports torch on first use): the base class :class:`Mechanism` and its vocabulary
  :data:`OWNS`, the hook arguments :class:`TrialContext`, :class:`TrainData`, :class:`Batch`,
  :class:`TrainState` (with its ``criterion``, the training loss), the step :func:`default_step`, and the
  helpers :func:`attack_mode` (eval mode with DP-SGD's per-sample hooks off), :func:`plain_step` (an optimizer
  step outside DP-SGD), :func:`to_float` (uint8 images to [0, 1] floats), :func:`accuracy`, :func:`predict`,
  :func:`generator` and :func:`derive_seed` (seeded streams keyed by (seed, name)).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from explorer_core.config import ConfigError, Section, boolean, choice, fail, integer, number
from explorer_core.spec import Cost, MechanismSpec, Metric, Rule, Threshold

if TYPE_CHECKING:
    from explorer.compose import attack_mode, plain_step
    from explorer.data import to_float
    from explorer.mechanisms.base import OWNS, Batch, Mechanism, TrainData, TrainState, TrialContext, default_step
    from explorer.metrics import accuracy, predict
    from explorer.seeding import derive_seed, generator

__all__ = [
    # what a mechanism is (torch-free)
    "ConfigError", "Cost", "MechanismSpec", "Metric", "Rule", "Section", "Threshold",
    "boolean", "choice", "fail", "integer", "number",
    # what it does (torch)
    "OWNS", "Batch", "Mechanism", "TrainData", "TrainState", "TrialContext", "default_step",
    "accuracy", "attack_mode", "derive_seed", "generator", "plain_step", "predict", "to_float",
]

#: The torch-side names and the module each comes from, imported on first use (PEP 562).
_LAZY: dict[str, str] = {
    **dict.fromkeys(("OWNS", "Batch", "Mechanism", "TrainData", "TrainState", "TrialContext", "default_step"),
                    "explorer.mechanisms.base"),
    "attack_mode": "explorer.compose", "plain_step": "explorer.compose", "to_float": "explorer.data",
    "accuracy": "explorer.metrics", "predict": "explorer.metrics",
    "derive_seed": "explorer.seeding", "generator": "explorer.seeding",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'explorer.api' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
