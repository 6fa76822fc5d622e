"""Mechanism names to classes. What a mechanism is lives in its spec (:mod:`explorer_core.registry`:
built-ins and entry-point plug-ins); the spec names its class as ``module:Class``, imported here on first use."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, TypeVar

from explorer_core import registry as specs
from explorer_core.config import ConfigError

if TYPE_CHECKING:
    from explorer.mechanisms.base import Mechanism

__all__ = ["register", "get", "names"]

_REGISTRY: dict[str, type[Mechanism]] = {}
M = TypeVar("M", bound="type[Mechanism]")


def register(cls: M, *, replace: bool = False) -> M:
    """Register a class under ``cls.name`` (a spec of that name must exist), e.g. to swap in a test double."""
    if cls.name in _REGISTRY and not replace and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"mechanism {cls.name!r} is already registered ({_REGISTRY[cls.name].__qualname__})")
    _REGISTRY[cls.name] = cls
    return cls


def _load(name: str) -> type[Mechanism]:
    from explorer.mechanisms.base import Mechanism

    spec = specs.get(name)
    module, _, attr = spec.mechanism.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, TypeError) as err:  # TypeError: e.g. an ``owns`` outside explorer.api.OWNS
        raise ConfigError("mechanisms", name, f"a mechanism whose class {spec.mechanism} imports (from "
                          f"{spec.source}: {type(err).__name__}: {err})") from None
    if not (isinstance(cls, type) and issubclass(cls, Mechanism) and cls.name == name):
        raise ConfigError("mechanisms", name, f"a mechanism whose class {spec.mechanism} subclasses "
                          f"explorer.mechanisms.base.Mechanism with its spec (from {spec.source})")
    return cls


def get(name: str) -> type[Mechanism]:
    """The class of a mechanism (ConfigError for an unknown name or a class that does not import)."""
    if name not in _REGISTRY:
        _REGISTRY[name] = _load(name)
    return _REGISTRY[name]


def names() -> list[str]:
    """Every mechanism name, sorted."""
    return list(specs.names())
