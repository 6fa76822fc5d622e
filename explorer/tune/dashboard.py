"""What makes a search findable in the Ray dashboard: the job's name, the way in, each trial's name.

- The job carries ``job_name`` in its metadata, which the dashboard's Jobs page shows as its Name (and
  ``/api/jobs/`` returns); without it a driver job is only its command line.
- Since Ray 2.59 a local Ray turns token authentication on; the dashboard then asks for the token.
  :func:`login_hint` says where the token is and which command prints it.
- Function trainables become actors of class ``ImplicitFunc`` whose repr is the function's name; the
  :class:`TrialRepr` mixin makes it the trial id instead (the dashboard's actor Repr, log prefixes).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ray.job_config import JobConfig

__all__ = ["job_config", "job_name", "login_hint", "TrialRepr"]


def job_name(space_name: str, out: str) -> str:
    """The Ray job's name: the space (when known) and the output it writes."""
    return f"explorer search {space_name} -> {out}" if space_name else f"explorer -> {out}"


def job_config(space_name: str, space_path: str, out: str) -> JobConfig:
    """Job metadata the dashboard shows (``job_name``) and that ``/api/jobs/`` returns."""
    return JobConfig(metadata={"job_name": job_name(space_name, out), "explorer.space": space_path,
                               "explorer.out": out})


def login_hint() -> str:
    """How to get into the dashboard, for the line under its address (call after ``ray.init``, which sets
    ``RAY_AUTH_MODE=token`` in this process when the cluster uses tokens)."""
    if os.environ.get("RAY_AUTH_MODE", "").lower() != "token":
        return "no login needed (Ray's token authentication is off)"
    if os.environ.get("RAY_AUTH_TOKEN"):
        where = "is in $RAY_AUTH_TOKEN"
    else:
        where = f"is in {os.environ.get('RAY_AUTH_TOKEN_PATH') or Path.home() / '.ray' / 'auth_token'}"
    return f"log in with the token that {where}; `ray get-auth-token` prints it"


class TrialRepr:
    """Mixin for the trial actor (``fn.__mixins__``): its repr, shown by the dashboard, is the trial id."""

    _name: str

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._name = f"trial {self.trial_id}"  # type: ignore[attr-defined]
