"""Checkpoints live only while a trial can still need them (DESIGN 6).

A trial checkpoints every epoch so that a retry or ``--resume`` continues where it stopped. Once it has
finished, its row is in OUT and its checkpoints are only disk. Deleting them outright is not safe while
the experiment runs: Tune saves its experiment state now and then, so after a SIGKILL the saved state
may still list a finished trial as running, and ``--resume`` then restores it from a checkpoint folder
that must exist. Hence two steps:

1. :func:`retire`, when the trial completes: each checkpoint folder's files are replaced by a small
   marker (:data:`MARKER`); a trial resumed from such a folder reads its row instead of training again.
   With ``keep_last`` the last folder keeps its weights too.
2. :func:`sweep`, after ``Tuner.fit`` returns (Tune has then saved the final state, every finished trial
   TERMINATED): the marked folders go, except the last, unmarked, one with ``keep_last``.

Errored trials keep their checkpoints: ``--resume`` retries them from the last one.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

from pyarrow.fs import FileSelector, FileSystem, FileType

__all__ = ["MARKER", "retire", "sweep", "is_retired"]

log = logging.getLogger(__name__)
PREFIX = "checkpoint_"
#: The file that replaces a finished trial's checkpoint.
MARKER = "explorer-finished.json"


def is_retired(directory: str | Path) -> bool:
    """Whether a (local copy of a) checkpoint folder belongs to a trial that had finished."""
    return (Path(directory) / MARKER).is_file()


def _checkpoints(fs: FileSystem, trial_path: str) -> list[str]:
    infos = fs.get_file_info(FileSelector(trial_path, allow_not_found=True))
    return sorted(i.path for i in infos if i.type == FileType.Directory and i.base_name.startswith(PREFIX))


def retire(trial: Any, *, keep_last: bool) -> int:
    """Mark every checkpoint of a Tune trial that has just completed (its row is written) and empty all of
    them but the last with ``keep_last``; returns how many were emptied. Storage errors are logged, never
    raised: a search must not fail because a clean-up did."""
    storage = getattr(trial, "storage", None)
    if storage is None:
        return 0
    fs, marker = storage.storage_filesystem, json.dumps({"trial_id": trial.trial_id, "finished": True}).encode()
    try:
        folders = _checkpoints(fs, storage.trial_fs_path)
        emptied = 0
        for i, folder in enumerate(folders):
            with fs.open_output_stream(f"{folder}/{MARKER}") as fh:  # first the marker, then the weights go
                fh.write(marker)
            if keep_last and i == len(folders) - 1:
                continue
            for info in fs.get_file_info(FileSelector(folder, recursive=True)):
                if info.type == FileType.File and info.base_name != MARKER:
                    fs.delete_file(info.path)
            emptied += 1
        return emptied
    except OSError as err:
        log.warning("could not retire the checkpoints of trial %s: %s", trial.trial_id, err)
        return 0


def sweep(fs: FileSystem, experiment_path: str, *, keep_last: bool) -> int:
    """Delete the retired checkpoint folders of an experiment whose final state Tune has saved; returns how
    many went. With ``keep_last`` a trial's last folder stays if it still holds its weights (its marker
    goes). One recursive listing, so it stays cheap on object stores."""
    try:
        infos = fs.get_file_info(FileSelector(experiment_path, recursive=True, allow_not_found=True))
    except OSError as err:
        log.warning("could not list %s to delete finished trials' checkpoints: %s", experiment_path, err)
        return 0
    marked: set[str] = set()
    weights: set[str] = set()  # checkpoint folders holding more than a marker
    for info in infos:
        folder, _, name = info.path.rpartition("/")
        if info.type == FileType.File and folder.rpartition("/")[2].startswith(PREFIX):
            (marked if name == MARKER else weights).add(folder)
    by_trial: dict[str, list[str]] = defaultdict(list)
    for folder in marked:
        by_trial[folder.rpartition("/")[0]].append(folder)
    gone = 0
    for folders in by_trial.values():
        folders.sort()
        try:
            if keep_last and folders[-1] in weights:
                fs.delete_file(f"{folders[-1]}/{MARKER}")
                folders = folders[:-1]
            for folder in folders:
                fs.delete_dir(folder)
                gone += 1
        except OSError as err:
            log.warning("could not delete the checkpoints %s: %s", folders, err)
    return gone
