"""The trial configuration, re-exported from :mod:`explorer_core.config` (torch-free, below both packages)
and the built-in mechanisms' config sections from their specs (:mod:`explorer.mechanisms`)."""

from __future__ import annotations

from explorer_core import registry, views
from explorer_core.config import (
    DATASETS,
    MODELS,
    ConfigError,
    DataConfig,
    EvalConfig,
    TrainConfig,
    TrialConfig,
    mechanisms_name,
    parse_mechanisms,
    resolve_model,
)
from explorer.mechanisms.adv.spec import AdvConfig, default_gamma
from explorer.mechanisms.di.spec import DIConfig
from explorer.mechanisms.dp.spec import DPConfig
from explorer.mechanisms.rad.spec import RadConfig
from explorer.mechanisms.wm.spec import WMConfig

__all__ = [
    "MECHANISMS",
    "DATASETS",
    "MODELS",
    "ConfigError",
    "DataConfig",
    "TrainConfig",
    "EvalConfig",
    "DPConfig",
    "AdvConfig",
    "default_gamma",
    "WMConfig",
    "RadConfig",
    "DIConfig",
    "TrialConfig",
    "mechanisms_name",
    "parse_mechanisms",
    "resolve_model",
]

#: Every mechanism name, built-ins and plug-ins, sorted (the canonical ``mechanisms`` order, ``adv+dp+wm``).
MECHANISMS: views.Tuple[str] = views.Tuple(registry.names)
