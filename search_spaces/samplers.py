"""Optuna samplers that survive pickling: Ray Tune pickles its searcher, sampler included, into the experiment.

Optuna 5.1's genetic samplers (NSGA-II) keep a ``threading.Lock``, which pickle refuses, so ``tune.Tuner``
failed with "cannot pickle '_thread.lock' object" before the first trial. The subclass drops its locks on the
way out and makes fresh ones on the way in; an unpickled sampler carries on the same study.
"""

from __future__ import annotations

import threading
from typing import Any

import optuna

__all__ = ["NSGAIISampler"]

_LOCKS = (type(threading.Lock()), type(threading.RLock()))


class NSGAIISampler(optuna.samplers.NSGAIISampler):
    """Optuna's NSGA-II (Deb et al., IEEE TEC 2002), picklable."""

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        locks = [name for name, value in state.items() if isinstance(value, _LOCKS)]
        for name in locks:
            del state[name]
        state["_dropped_locks"] = locks
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        locks = state.pop("_dropped_locks", [])
        self.__dict__.update(state)
        for name in locks:
            setattr(self, name, threading.Lock())
