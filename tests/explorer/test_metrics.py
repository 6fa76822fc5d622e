from __future__ import annotations

import math

import pytest
import torch
from scipy.stats import binom

from explorer.attacks import PGD
from explorer.metrics import watermark_log10_p


@pytest.mark.parametrize("acc, n, m", [(1.0, 10, 10), (0.7, 20, 10), (0.5, 12, 4), (0.0, 5, 10), (0.9, 100, 43)])
def test_eq3_matches_binomial_tail(acc: float, n: int, m: int) -> None:
    # Eq. 3 counts i errors with prob. (m-1)/m each: P(errors <= floor(e n)) for errors ~ Binomial(n, (m-1)/m).
    expected = binom.cdf(math.floor((1 - acc) * n + 1e-9), n, (m - 1) / m)
    assert watermark_log10_p(acc, n, m) == pytest.approx(math.log10(expected), rel=1e-9, abs=1e-12)


def test_eq3_is_stable_for_tiny_values() -> None:
    value = watermark_log10_p(1.0, 1000, 10)
    assert value == pytest.approx(-1000.0)
    assert math.isfinite(watermark_log10_p(0.95, 1000, 10))


def test_pgd_stays_in_the_ball_and_in_pixel_range() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    x = torch.rand(8, 1, 4, 4)
    y = torch.randint(0, 3, (8,))
    attack = PGD(gamma=0.1, steps=5, step_size=0.05)
    x_adv = attack(model, x, y, torch.Generator().manual_seed(1))
    assert (x_adv - x).abs().max() <= 0.1 + 1e-6
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    loss = torch.nn.functional.cross_entropy
    assert loss(model(x_adv), y) > loss(model(x), y)
    again = attack(model, x, y, torch.Generator().manual_seed(1))
    assert torch.equal(x_adv, again)


def test_eq3_counts_errors_exactly_for_every_k_over_n() -> None:
    for n in (7, 100, 333):
        for k in range(n + 1):
            acc = k / n
            # exact, in integers: V = sum_{i <= n-k} C(n, i) 9^i / 10^n
            expected = math.log10(sum(math.comb(n, i) * 9 ** i for i in range(n - k + 1))) - n
            assert watermark_log10_p(acc, n, 10) == pytest.approx(expected, rel=1e-9, abs=1e-9)
