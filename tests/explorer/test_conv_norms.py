"""The Conv2d norm sampler gives Opacus's own per-sample norms, and ghost clipping still equals per-sample hooks."""

from __future__ import annotations

import copy

import pytest
import torch
from opacus import PrivacyEngine
from opacus.grad_sample.conv import compute_conv_grad_sample
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from explorer.mechanisms.dp import conv_norms
from explorer.models import build_model

LAYERS = [  # (in, out, kernel, stride, padding, dilation, groups, bias, size)
    (1, 8, 5, 1, 2, 1, 1, True, 12),  # patch 25: Opacus's unfold
    (16, 8, 3, 1, 1, 1, 1, True, 10),  # patch 144: one backward kernel per sample
    (16, 8, 3, 2, 1, 1, 1, False, 11),
    (32, 16, 3, 1, 2, 2, 1, True, 9),
    (32, 16, 5, 1, 0, 1, 2, True, 9),  # grouped: patch 16 * 25
]


@pytest.mark.parametrize("spec", LAYERS, ids=lambda s: f"{s[0]}to{s[1]}k{s[2]}s{s[3]}d{s[5]}g{s[6]}")
def test_norms_match_opacus_per_sample_gradients(spec: tuple) -> None:
    cin, cout, k, stride, padding, dilation, groups, bias, size = spec
    torch.manual_seed(0)
    layer = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
    x = torch.randn(7, cin, size, size)
    backprops = torch.randn_like(layer(x))
    expected = {p: g.flatten(1).norm(2, dim=1) for p, g in compute_conv_grad_sample(layer, [x], backprops).items()}
    got = conv_norms.conv2d_norm_sample(layer, [x], backprops)
    assert set(got) == set(expected) == ({layer.weight, layer.bias} if bias else {layer.weight})
    for p in expected:
        assert got[p].shape == (7,)
        torch.testing.assert_close(got[p], expected[p], rtol=1e-5, atol=1e-6)


def test_the_fast_path_is_taken_for_large_patches() -> None:
    assert conv_norms._per_sample_kernel_applies(nn.Conv2d(16, 8, 3), torch.zeros(2, 16, 5, 5))
    assert not conv_norms._per_sample_kernel_applies(nn.Conv2d(1, 8, 5), torch.zeros(2, 1, 5, 5))
    assert not conv_norms._per_sample_kernel_applies(nn.Conv2d(16, 8, 3, padding="same"), torch.zeros(2, 16, 5, 5))
    assert not conv_norms._per_sample_kernel_applies(nn.Conv2d(16, 8, 3, padding_mode="reflect"),
                                                     torch.zeros(2, 16, 5, 5))


def _one_private_step(model: nn.Module, mode: str, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    model = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    loader = DataLoader(TensorDataset(x, y), batch_size=len(y))
    criterion = nn.CrossEntropyLoss()
    wrapped = PrivacyEngine().make_private(module=model, optimizer=opt, data_loader=loader, criterion=criterion,
                                           noise_multiplier=0.0, max_grad_norm=0.05, poisson_sampling=False,
                                           grad_sample_mode=mode)
    if mode == "ghost":
        model, opt, criterion, _ = wrapped
    else:
        model, opt, _ = wrapped
    opt.zero_grad()
    criterion(model(x), y).backward()
    opt.step()
    return [p.detach().clone() for p in model.parameters()]


def test_ghost_clipping_with_the_sampler_equals_per_sample_hooks() -> None:
    """cnn4 has both kinds of convolution; a tight clipping norm makes every sample's norm count."""
    torch.manual_seed(0)
    model = build_model("cnn4", (1, 28, 28), 10, (0.5,), (0.25,))
    x, y = torch.rand(24, 1, 28, 28), torch.randint(0, 10, (24,))
    ghost = _one_private_step(model, "ghost", x, y)
    hooks = _one_private_step(model, "hooks", x, y)
    moved = max((a - b).abs().max().item() for a, b in zip(hooks, model.parameters()))
    assert moved > 1e-4  # the step did something
    for a, b in zip(ghost, hooks):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
