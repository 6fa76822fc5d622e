"""Small configs that train in about a second on two CPU cores."""

from __future__ import annotations

from typing import Any

from explorer.config import TrialConfig

FAST: dict[str, Any] = {
    "dataset": "synthetic", "model": "tiny", "data.train_subset": 192, "data.test_subset": 96,
    "train.epochs": 1, "train.batch_size": 32, "train.device": "cpu", "eval.adv_samples": 32, "eval.steps": 2,
}
KNOBS: dict[str, dict[str, Any]] = {
    "adv": {"adv.steps": 2, "adv.gamma": 0.1},
    "wm": {"wm.trigger_size": 16, "wm.batch_size": 8},
    "dp": {"dp.target_epsilon": 5.0},
    "rad": {"rad.ratio": 0.1, "rad.iterations": 3, "rad.marking_epochs": 1},
    "di": {"di.samples": 20, "di.max_steps": 3},
}


def fast_config(mechanisms: tuple[str, ...] = (), **overrides: Any) -> TrialConfig:
    values: dict[str, Any] = dict(FAST, mechanisms=list(mechanisms))
    for name in mechanisms:
        values.update(KNOBS.get(name, {}))
    values.update({k.replace("__", "."): v for k, v in overrides.items()})
    return TrialConfig.from_dict(values)


import pytest  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _test_process(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Marked radioactive sets go to a temporary cache, never the user's ~/.cache/explorer; one intra-op
    thread, because the tiny test models only lose to thread synchronisation (5x on a busy 2-core box)."""
    import torch

    mp = pytest.MonkeyPatch()
    mp.setenv("EXPLORER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    mp.undo()


@pytest.fixture
def make_config():  # type: ignore[no-untyped-def]
    """``make_config(("dp", "wm"), train__epochs=2)``: a fast trial config."""
    return fast_config
