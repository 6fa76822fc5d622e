"""The worker side of a search: one Tune trial is one config x one seed (DESIGN 5).

It trains with :func:`explorer.train.train`, checkpoints every epoch (so a retried or resumed trial goes on from
its last epoch), reports every objective in every report, writes its Parquet row itself when it ends and records
each attempt's node (:func:`explorer.tune.progress.start_attempt`). Everything comes from ``ray.tune``.
"""

from __future__ import annotations

import socket
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import ray
from ray import tune

from explorer.config import TrialConfig
from explorer.tune.checkpoints import is_retired
from explorer.tune.paths import rows_uri, trial_dict, trial_meta
from explorer.tune.progress import attempt_columns, start_attempt

__all__ = ["trainable"]


def _limit_resources() -> None:
    import torch

    resources = tune.get_context().get_trial_resources().required_resources
    torch.set_num_threads(max(1, int(resources.get("CPU", 1))))
    share = float(resources.get("GPU", 0))
    if 0 < share < 1 and torch.cuda.is_available():
        # Ray's fractions are bookkeeping only: a trial caps its own share of the GPU memory.
        torch.cuda.set_per_process_memory_fraction(share)


def trainable(config: dict[str, Any], *, out: str, objectives: Sequence[str] = (), constraints: Any = None) -> None:
    import torch

    from explorer.results import build_row, write_rows
    from explorer.train import snapshot, train

    _limit_resources()
    trial_config = TrialConfig.from_dict(trial_dict(config))
    trial_id = tune.get_context().get_trial_id()
    resume = None
    checkpoint = tune.get_checkpoint()
    row = _finished_row(checkpoint, out, trial_id)
    if checkpoint is not None and row is None:
        with checkpoint.as_directory() as d:
            state = Path(d) / "state.pt"  # absent when retired: the trial trains again if its row is gone
            resume = torch.load(state, weights_only=True) if state.exists() else None
    start = datetime.fromtimestamp(resume["extra"]["start"], timezone.utc) if resume else datetime.now(timezone.utc)
    placeholders = {k: float("nan") for k in objectives}

    def on_epoch(epoch: int, info: dict[str, float], run: Any) -> None:
        with tempfile.TemporaryDirectory() as d:
            torch.save(snapshot(run, epoch + 1, **info, start=start.timestamp()), Path(d) / "state.pt")
            tune.report({**placeholders, "epoch": epoch + 1, "loss": info["loss"], "acc": info["acc"]},
                        checkpoint=tune.Checkpoint.from_directory(d))

    if row is None:
        node_id = ray.get_runtime_context().get_node_id()
        # this attempt's node joins the trial's earlier ones (a retry after a lost node ran elsewhere)
        attempts = start_attempt(tune.get_context().get_storage(), node_id, socket.gethostname())
        output = train(trial_config, on_epoch=on_epoch, resume_from=resume)
        row = build_row(trial_config, output, trial_id=trial_id, start=start, end=datetime.now(timezone.utc))
        row["node_id"] = node_id
        row.update(attempt_columns(attempts))
        row.update(trial_meta(config))
        write_rows([row], rows_uri(out, trial_id))
    final: dict[str, Any] = {k: v for k, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    final.update({"epoch": trial_config.train.epochs, "node": row["node"], "node_id": row["node_id"], "status": "ok",
                  "config_id": row["config_id"], "mechanisms": row["mechanisms"]})
    if constraints is not None:
        final.update(constraints(row))
    tune.report(final)


def _finished_row(checkpoint: Any, out: str, trial_id: str) -> dict[str, Any] | None:
    """The row of a trial restored from a retired checkpoint (:mod:`explorer.tune.checkpoints`): it had
    finished before the driver was killed, so it reports that row instead of training again."""
    from explorer.results import read_row_file

    if checkpoint is None:
        return None
    with checkpoint.as_directory() as d:
        if not is_retired(d):
            return None
    rows = read_row_file(rows_uri(out, trial_id))
    return rows[0] if rows else None
