"""The mechanism registry: names to classes, so configs and the CLI refer to mechanisms by name."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from explorer.mechanisms.base import Mechanism

__all__ = ["register", "get", "names"]

_REGISTRY: dict[str, type[Mechanism]] = {}
BUILTIN_MODULES = ("explorer.mechanisms.dp", "explorer.mechanisms.adversarial", "explorer.mechanisms.watermark",
                   "explorer.mechanisms.radioactive", "explorer.mechanisms.dataset_inference")
M = TypeVar("M", bound="type[Mechanism]")


def _load_builtins() -> None:
    import importlib

    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def register(cls: M, *, replace: bool = False) -> M:
    """Register a mechanism class under ``cls.name`` (usable as a decorator)."""
    if cls.name in _REGISTRY and not replace and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"mechanism {cls.name!r} is already registered ({_REGISTRY[cls.name].__qualname__})")
    _REGISTRY[cls.name] = cls
    return cls


def get(name: str) -> type[Mechanism]:
    _load_builtins()

    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"mechanism: got {name!r}, expected one of {', '.join(names())}") from None


def names() -> list[str]:
    _load_builtins()

    return sorted(_REGISTRY)
