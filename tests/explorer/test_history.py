"""The per-epoch test figures of a trial (the row's ``history`` column; DESIGN 3.12)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from explorer.results import build_row
from explorer.train import restore, setup, snapshot, train, train_epoch

from .conftest import fast_config


def test_history_has_one_figure_per_epoch_and_leaves_the_final_metrics_alone() -> None:
    plain = train(fast_config(("adv",), train__epochs=3))
    recorded = train(fast_config(("adv",), train__epochs=3, eval__epoch_adv=True))
    assert len(plain.history["acc"]) == 3 and "adv.acc" not in plain.history
    assert len(recorded.history["acc"]) == 3 and len(recorded.history["adv.acc"]) == 3
    assert recorded.history["acc"] == plain.history["acc"]
    assert recorded.history["acc"][-1] == recorded.metrics["acc"]  # the last epoch is the one reported
    # the per-epoch attacks draw from their own stream: the reported figures are those of a plain run
    assert recorded.metrics == plain.metrics
    assert fast_config(("adv",), eval__epoch_adv=True).config_id() == fast_config(("adv",)).config_id()
    now = datetime.now(timezone.utc)
    row = build_row(fast_config(("adv",), train__epochs=3, eval__epoch_adv=True), recorded, start=now, end=now)
    assert json.loads(row["history"]) == recorded.history


def test_history_survives_a_resume_from_a_snapshot() -> None:
    config = fast_config(("adv",), train__epochs=3, eval__epoch_adv=True)
    whole = train(config)
    run = setup(config)
    train_epoch(run, 0)
    run.history = {"acc": [whole.history["acc"][0]], "adv.acc": [whole.history["adv.acc"][0]]}
    resumed = train(config, resume_from=snapshot(run, 1, loss=0.0))
    assert resumed.history == whole.history
    fresh = setup(config)
    assert restore(fresh, snapshot(run, 1)) == 1 and fresh.history == run.history
