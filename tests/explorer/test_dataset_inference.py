"""Dataset inference: the Blind Walk, one row per sample, the regressor and tests, the independent model."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from explorer.cli import main
from explorer.compose import CompositionError
from explorer.data import half_indices
from explorer.mechanisms.di import mechanism as di
from explorer.seeding import generator
from explorer.train import setup, train


class _Threshold(nn.Module):
    """Predicts class 1 while every pixel stays below 0.5 + c, class 0 after: the walk flips at a known k."""

    def __init__(self, c: float) -> None:
        super().__init__()
        self.c = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flipped = (x.flatten(1).amax(1) >= 0.5 + self.c).float()
        return torch.stack([flipped, 1 - flipped], dim=1)


def test_the_walk_stops_at_the_first_misclassified_multiple() -> None:
    x = torch.full((4, 1, 6, 6), 0.5)
    y = torch.ones(4, dtype=torch.long)
    f = di.blind_walk(_Threshold(0.02), x, y, torch.Generator().manual_seed(0), max_steps=50)
    assert f.shape == (4, 3, 10)
    g = torch.Generator().manual_seed(0)  # replay the directions: linf first, chunk by chunk
    base = (torch.rand((40, 1, 6, 6), generator=g) - 0.5) * 0.01
    top = base.flatten(1).amax(1)  # the largest positive step decides the flip
    k = torch.clamp(torch.ceil(0.02 / top - 1e-6), max=51)
    expected = (k.view(-1, 1, 1, 1) * base).clamp(-0.5, 0.5).flatten(1).abs().amax(1)
    assert torch.allclose(f[:, 0].flatten(), expected, atol=1e-6)


def test_never_and_always_misclassified_samples_keep_the_last_and_first_step() -> None:
    x = torch.full((3, 1, 4, 4), 0.5)
    always_right = di.blind_walk(_Threshold(10.0), x, torch.ones(3, dtype=torch.long),
                                 torch.Generator().manual_seed(1), max_steps=3)
    always_wrong = di.blind_walk(_Threshold(10.0), x, torch.zeros(3, dtype=torch.long),
                                 torch.Generator().manual_seed(1), max_steps=3)
    ratio = always_right / always_wrong  # same directions, k = 4 vs k = 1 (no clipping at these sizes)
    assert torch.allclose(ratio, torch.full_like(ratio, 4.0), rtol=1e-5)


def test_a_row_is_one_sample() -> None:
    f = torch.rand(6, 3, 10)
    f[4] += 5.0  # one odd sample
    rows = di.feature_rows(f, f)
    assert rows.shape == (6, 30)
    assert int(rows.mean(1).argmax()) == 4 and bool((rows[4] > rows[[0, 1, 2, 3, 5]].amax(0)).all())
    # columns are norm-major: the three norms are standardised separately, over samples and directions
    assert torch.allclose(rows.view(6, 3, 10).mean(dim=(0, 2)), torch.zeros(3), atol=1e-5)


def test_reference_rows_mix_samples_as_the_notebooks_do() -> None:
    """The notebooks' [n, 10, 3] tensor, dimensions reversed ([3, 10, n]), reshaped to [n, 30]."""
    n = 60
    f = torch.arange(n * 30, dtype=torch.float32).view(n, 3, 10)  # f[i, norm, direction] = 30 i + 10 norm + d
    ours = di.feature_rows(f, f, layout="reference")
    z = di.feature_rows(f, f).view(n, 3, 10)  # the same standardisation, one row per sample
    notebooks = z.transpose(1, 2).numpy().T.reshape(n, 30)  # numpy's .T reverses every dimension
    assert torch.equal(ours, torch.from_numpy(notebooks.copy()))
    # row 0: linf, direction 0, samples 0-29; row 1: samples 30-59; row 2: linf, direction 1, samples 0-29
    assert torch.equal(ours[0], z[:30, 0, 0]) and torch.equal(ours[1], z[30:, 0, 0])
    assert torch.equal(ours[2], z[:30, 0, 1])
    assert torch.equal(ours[20], z[:30, 1, 0])  # the second half of the rows starts with l2


def test_regressor_and_tests_separate_members_from_non_members() -> None:
    g = torch.Generator().manual_seed(0)
    members, others = torch.randn(200, 30, generator=g) + 1.0, torch.randn(200, 30, generator=g)
    reg = di.fit_regressor(members[:100], others[:100], seed=0)
    with torch.no_grad():
        s_test, s_train = reg(others[100:])[:, 0].double().numpy(), reg(members[100:])[:, 0].double().numpy()
    assert di.welch_p(s_test, s_train) < 1e-20 and di.harmonic_p(s_test, s_train, torch.Generator()) < 1e-6
    same = torch.randn(200, 30, generator=g) + 1.0  # non-members from the members' distribution
    reg = di.fit_regressor(members[:100], same[:100], seed=0)
    with torch.no_grad():
        s_test, s_train = reg(same[100:])[:, 0].double().numpy(), reg(members[100:])[:, 0].double().numpy()
    assert di.welch_p(s_test, s_train) > 0.01


def test_welch_p_keeps_an_underflow_as_zero() -> None:
    """The all-rows test of a strongly separated pair underflows to 0; it is recorded as 0, not as 1."""
    p = di.welch_p(np.linspace(5.0, 5.1, 500), np.linspace(-5.1, -5.0, 500))
    assert p == 0.0


def test_walk_features_do_not_depend_on_the_batch() -> None:
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))
    torch.manual_seed(0)
    x, y = torch.rand(12, 1, 8, 8), torch.randint(0, 3, (12,))
    a = di.blind_walk(net.eval(), x, y, torch.Generator().manual_seed(1), max_steps=5, batch=20)
    b = di.blind_walk(net.eval(), x, y, torch.Generator().manual_seed(1), max_steps=5, batch=4096)
    assert torch.allclose(a, b)


def test_harmonic_p_draws_the_same_positions_in_both_vectors() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(1, 1, 50), rng.normal(0, 1, 50)
    got = di.harmonic_p(a, b, torch.Generator().manual_seed(5), m=10, draws=20)
    g = torch.Generator().manual_seed(5)
    ps = []
    for _ in range(20):
        pos = torch.randperm(50, generator=g)[:10].numpy()
        ps.append(stats.ttest_ind(a[pos], b[pos], alternative="greater", equal_var=False).pvalue)
    assert got == pytest.approx(stats.hmean(ps))
    assert di.welch_p(np.ones(5), np.ones(5)) == 1.0  # a degenerate test is no evidence


@pytest.mark.parametrize("rows", ["sample", "reference"])
def test_di_trial_reports_p_values(make_config, rows: str) -> None:
    out = train(make_config(("di",), **{"di.samples": 40, "di.rows": rows}))
    for key in ("di.p_value", "di.p_value_m10"):
        assert 0.0 <= out.metrics[key] <= 1.0
    assert "di.p_value_independent" not in out.metrics and "di.p_value_unseen" not in out.metrics


def test_independent_model_trains_on_the_other_half(make_config, monkeypatch: pytest.MonkeyPatch) -> None:
    """Table 10: the model trains on half A, the independent one on half B (each with the trigger set)."""
    config = make_config(("di", "wm"), **{"di.independent": True})
    seen: list[torch.Tensor] = []
    original = di.DatasetInference._independent_model

    def spy(self, ctx):  # type: ignore[no-untyped-def]
        state = original(self, ctx)
        seen.append(state.train.x)
        return state

    monkeypatch.setattr(di.DatasetInference, "_independent_model", spy)
    out = train(config)
    assert 0.0 <= out.metrics["di.p_value_independent"] <= 1.0 and 0.0 <= out.metrics["di.p_value_unseen"] <= 1.0
    run = setup(config)
    ctx = run.ctx
    members = ctx.data.train_x[half_indices(len(ctx.data.train_y), 0, generator(config.seed, "half"))]
    other = ctx.data.train_x[half_indices(len(ctx.data.train_y), 1, generator(config.seed, "half"))]
    assert torch.equal(run.state.train.x, members)  # the victim's sampled stream is half A
    assert torch.equal(seen[0], other) and len(members) + len(other) == len(ctx.data.train_y)
    flat = {tuple(r.tolist()) for r in members.flatten(1)}
    assert not any(tuple(r.tolist()) in flat for r in other.flatten(1))


def test_too_many_samples_and_a_preset_half_are_refused(make_config) -> None:
    with pytest.raises(CompositionError, match=r"di.samples: got 150, expected at most 96 \(192 in the training"):
        setup(make_config(("di",), **{"di.samples": 150}))
    with pytest.raises(CompositionError) as err:
        setup(make_config(("di",), **{"di.samples": 150, "di.independent": True, "data.train_half": 0}))
    assert "di.samples: got 150, expected at most 48 (48 in the member half" in str(err.value)  # of 96 left
    assert "data.train_half: got 0, expected null with di.independent" in str(err.value)


FAST = ["--dataset", "synthetic", "--model", "tiny", "--epochs", "1", "--device", "cpu", "--quiet",
        "--mechanisms", "di", "--set", "data.train_subset=128", "--set", "eval.adv_samples=8",
        "--set", "eval.steps=1", "--set", "di.max_steps=2"]


@pytest.mark.parametrize("args, needle", [
    (["--set", "di.samples=5000"], "di.samples: got 5000, expected at most 128 (128 in the training data, 256 test"),
    (["--set", "di.samples=3"], "di.samples: got 3, expected an integer >= 4"),
    (["--set", "data.train_subset=3"], "di.samples: got null, expected at least 4 images each"),
    (["--set", "data.train_half=2"], "data.train_half: got 2, expected null, 0 or 1"),
    (["--set", "di.rows=mixed"], "di.rows: got 'mixed', expected one of sample, reference"),
])
def test_bad_di_input_exits_2_with_one_line(args: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", *FAST, *args]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1, captured.err
    assert lines[0].startswith("error: ") and needle in lines[0], captured.err


def test_di_prints_its_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", *FAST, "--set", "di.samples=24"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["di.samples"] == 24 and all(math.isfinite(row[k]) for k in ("di.p_value", "di.p_value_m10"))
