"""Ray Tune at the edge (DESIGN 5): the only package that imports Ray.

- :mod:`explorer.tune.driver`: the search's orchestration (``run_search``, ``run_confirm``), phase by phase;
- :mod:`explorer.tune.phases`: one function runs each phase (grid, baselines, Optuna search, confirmation, looks);
- :mod:`explorer.tune.trial`: the worker side, one trial;
- :mod:`explorer.tune.optuna_bridge`: constraints handed to the Optuna study, the define-by-run space;
- :mod:`explorer.tune.session`: the options, the Ray runtime, the checks before trials run;
- :mod:`explorer.tune.progress`: terminal progress and heartbeat, error rows, finished trials' clean-up;
- :mod:`explorer.tune.checkpoints`: deleting the checkpoints of finished trials;
- :mod:`explorer.tune.dashboard`: the Ray job's name, the dashboard login hint, trial actor names;
- :mod:`explorer.tune.paths`: where rows and Tune's state live under OUT.
"""

from __future__ import annotations

from explorer.tune.driver import (
    ConstrainedOptunaSearch,
    RayStartError,
    SearchOptions,
    SearchOutcome,
    run_confirm,
    run_search,
    run_search_outcome,
)
from explorer.tune.paths import rows_uri
from explorer.tune.progress import Progress

#: The progress callback's name before the package split: experiments saved then pickled it under this name.
_Progress = Progress

__all__ = ["SearchOptions", "SearchOutcome", "RayStartError", "run_search", "run_search_outcome", "run_confirm",
           "ConstrainedOptunaSearch",
           "rows_uri", "Progress"]
