from __future__ import annotations

import copy
import io

import pytest
import torch

from explorer.train import snapshot, train


@pytest.mark.parametrize("mechanisms", [(), ("adv", "dp", "wm")], ids=["none", "adv+dp+wm"])
def test_resuming_from_a_snapshot_is_bit_identical(make_config, mechanisms: tuple[str, ...]) -> None:
    config = make_config(mechanisms, train__epochs=2, **({"wm.embed": "interleave"} if mechanisms else {}))
    full = train(config)
    saved: dict = {}

    def keep(epoch: int, info: dict, run) -> None:  # type: ignore[no-untyped-def]
        if epoch == 0:
            saved["snap"] = copy.deepcopy(snapshot(run, epoch + 1, **info))

    train(config, on_epoch=keep)
    buffer = io.BytesIO()
    torch.save(saved["snap"], buffer)
    buffer.seek(0)
    resumed = train(config, resume_from=torch.load(buffer, weights_only=True))
    for (name, a), b in zip(full.network.state_dict().items(), resumed.network.state_dict().values()):
        assert torch.equal(a, b), name
    assert {k: v for k, v in full.metrics.items()} == resumed.metrics
    assert resumed.images == full.images
