from __future__ import annotations

import pytest
import torch

from explorer.attacks import PGD
from explorer.compose import CompositionError, attack_mode, plain_step
from explorer.config import TrialConfig
from explorer.mechanisms.base import Batch
from explorer.train import setup, train


def _records(model: torch.nn.Module) -> int:
    """Per-sample gradient records Opacus keeps: captured activations and grad samples."""
    count = 0
    for module in model.modules():
        count += len(getattr(module, "activations", []) or [])
    for p in model.parameters():
        count += int(getattr(p, "grad_sample", None) is not None) + int(getattr(p, "_norm_sample", None) is not None)
    return count


@pytest.mark.parametrize("mode", ["ghost", "hooks"])
def test_pgd_under_dp_leaves_no_per_sample_records(make_config, mode: str) -> None:
    run = setup(make_config(("adv", "dp"), **{"dp.grad_sample_mode": mode}))
    x = run.ctx.data.train_x[:16].float() / 255
    y = run.ctx.data.train_y[:16]
    adv = next(m for m in run.composer.mechanisms if m.name == "adv")
    run.state.model.train()
    adv.transform_batch(run.ctx, run.state, Batch.plain(x, y))
    assert _records(run.state.model) == 0
    assert run.state.model.training
    # the check can fail: the same attack with the hooks on leaves records behind
    one_step = PGD(gamma=0.1, steps=1, step_size=0.1)
    one_step(run.state.model, x, y, torch.Generator().manual_seed(0))
    assert _records(run.state.model) > 0


def test_attack_mode_restores_mode_and_hooks(make_config) -> None:
    run = setup(make_config(("dp",), **{"dp.grad_sample_mode": "hooks"}))
    model = run.state.model
    model.train()
    with attack_mode(model):
        assert not model.training and not model.hooks_enabled
    assert model.training and model.hooks_enabled


def test_plain_step_shares_the_hook_toggle_and_restores_on_error(make_config) -> None:
    run = setup(make_config(("dp",), **{"dp.grad_sample_mode": "hooks"}))
    model = run.state.model
    model.eval()
    x = run.ctx.data.train_x[:8].float() / 255
    y = run.ctx.data.train_y[:8]
    before = [p.detach().clone() for p in run.state.network.parameters()]
    plain_step(run.state, torch.optim.SGD(run.state.network.parameters(), lr=0.1), x, y)
    assert _records(model) == 0 and not model.training and model.hooks_enabled
    assert any(not torch.equal(a, b) for a, b in zip(before, run.state.network.parameters()))
    with pytest.raises((IndexError, RuntimeError)):  # labels out of range: the loss raises inside the toggle
        plain_step(run.state, torch.optim.SGD(run.state.network.parameters(), lr=0.1), x, y + 100)
    assert not model.training and model.hooks_enabled


def test_dp_epsilon_spent_stays_below_target_with_trigger_steps(make_config) -> None:
    config = make_config(("dp", "wm"), train__epochs=2, **{"dp.target_epsilon": 1.0})
    out = train(config)
    assert 0.8 < out.metrics["dp.epsilon"] <= 1.0
    assert out.metrics["dp.noise_multiplier"] > 0


def test_decoupled_watermark_records_the_caveat(make_config) -> None:
    out = train(make_config(("dp", "wm"), **{"wm.decoupled": True}))
    assert "DP guarantee does not cover" in "; ".join(out.caveats)
    assert 0 <= out.metrics["wm.acc"] <= 1  # measured (a NaN fails this too)


def test_interleaved_triggers_stay_clean_under_pgd(make_config) -> None:
    run = setup(make_config(("adv", "wm"), **{"wm.embed": "interleave", "wm.interleave_k": 4}))
    x = run.ctx.data.train_x[:8].float() / 255
    batch = run.composer.transform_batch(run.ctx, run.state, Batch.plain(x, run.ctx.data.train_y[:8]))
    wm = next(m for m in run.composer.mechanisms if m.name == "wm")
    assert len(batch.y) == 12 and batch.aux[8:].all()
    triggers = batch.x[8:]
    assert any(torch.equal(t, s) for t in triggers for s in wm.triggers)  # not perturbed
    assert not torch.equal(batch.x[:8], x)  # the training rows are


def test_every_problem_is_reported_at_once() -> None:
    config = TrialConfig.from_dict({
        "dataset": "synthetic", "mechanisms": ["dp", "wm"], "train.batch_size": 4096,
        "wm.decoupled": True, "wm.embed": "interleave", "wm.labels": "source", "train.device": "cpu"})
    with pytest.raises(CompositionError) as err:
        setup(config)
    message = str(err.value)
    assert "train.batch_size" in message and "wm.decoupled" in message and "wm.labels" in message
    assert "\n" not in message


def test_trigger_set_larger_than_pool_is_refused(make_config) -> None:
    with pytest.raises(CompositionError, match="wm.trigger_size: got 1000, expected at most 256"):
        setup(make_config(("wm",), dataset="digits", **{"wm.source": "synthetic", "wm.trigger_size": 1000}))
