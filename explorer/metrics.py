"""Metric helpers shared by the mechanisms and the runner (definitions: DESIGN 3.5, docs/metrics.md)."""

from __future__ import annotations

import math

import torch
from torch import nn

from explorer.data import to_float

__all__ = ["accuracy", "predict", "watermark_log10_p"]


@torch.no_grad()
def predict(model: nn.Module, x_uint8_or_float: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Predicted labels for uint8 or float images, in batches; the caller sets eval mode."""
    out = []
    for i in range(0, len(x_uint8_or_float), batch_size):
        xb = x_uint8_or_float[i:i + batch_size]
        xb = to_float(xb) if xb.dtype == torch.uint8 else xb
        out.append(model(xb).argmax(dim=1))
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """Top-1 accuracy as a fraction."""
    if len(y) == 0:
        return float("nan")
    return int((predict(model, x, batch_size) == y).sum()) / len(y)  # exact k/n, not a float32 mean


def watermark_log10_p(accuracy_on_triggers: float, trigger_size: int, num_classes: int) -> float:
    """log10 of the paper's Eq. 3: the chance that a model unrelated to D_T matches as many trigger labels.

    With error rate e = 1 - acc, V = sum_{i <= floor(e n)} C(n, i) ((m-1)/m)^i (1/m)^(n-i), summed in log
    space so that tiny values (1e-100 and below) stay exact.
    """
    n, m = trigger_size, num_classes
    errors = round((1.0 - accuracy_on_triggers) * n)  # accuracy is k/n: recover the integer count
    log_terms = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
        + i * math.log((m - 1) / m) + (n - i) * math.log(1 / m)
        for i in range(0, min(errors, n) + 1)
    ]
    top = max(log_terms)
    log_v = top + math.log(sum(math.exp(t - top) for t in log_terms))
    return min(0.0, log_v / math.log(10))
