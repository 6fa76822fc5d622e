"""What makes the radioactive loss gap (φ_RAD) large, measured: training length, mark strength, which images.

For each variant it trains a model on the marked data and a clean model of the same setup (no marks,
same seed), and prints, side by side:

- ``gap``: φ_RAD of the marked model, the mean of CE(x) - CE(x_marked) over D_RAD (what the trials report);
- ``clean``: the same statistic for the clean model on the same images (the test's false-positive level);
- ``held-out``: both models' gap on test images marked with the same carriers (what a verifier could use
  without the training images);
- ``bound``: the marked model's mean loss on the clean D_RAD images, CE(x): the gap can never exceed it
  (CE(x_marked) >= 0), so it says how large φ_RAD can get on a dataset the model fits well;
- the accuracy of both models, the marks' PSNR and the paired t-test's p-value.

    python benchmarks/rad_gap.py --data-dir ../shared/datasets --dataset mnist --train 10000 \\
        --epochs 10 30 --radius 0.098 0.157 --lambda-logit 100 10
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from scipy import stats

from explorer.config import TrialConfig
from explorer.mechanisms.radioactive import Radioactive, _per_sample_loss, mark_images
from explorer.mechanisms.base import TrainData
from explorer.train import make_context, train


def _gaps(net: torch.nn.Module, clean: torch.Tensor, marked: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    net.eval()
    diff = (_per_sample_loss(net, clean, y) - _per_sample_loss(net, marked, y)).double().numpy()
    p = float(stats.ttest_rel(diff, np.zeros_like(diff), alternative="greater").pvalue)
    return float(diff.mean()), p


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--train", type=int, default=10000, help="training images")
    parser.add_argument("--epochs", type=int, nargs="+", default=[10])
    parser.add_argument("--radius", type=float, nargs="+", default=[25 / 255])
    parser.add_argument("--lambda-logit", type=float, nargs="+", default=[100.0])
    parser.add_argument("--ratio", type=float, nargs="+", default=[0.1])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--held-out", type=int, default=1000, help="test images marked for the held-out gap")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (1 on a busy machine)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.dataset}, {args.train} training images")
    print(f"{'epochs':>6} {'radius':>7} {'λ_logit':>7} {'ratio':>5} {'seed':>4} | {'acc':>6} {'gap':>8} {'p':>8} "
          f"{'psnr':>5} {'bound':>7} | {'clean acc':>9} {'clean':>8} | {'held-out':>8} {'clean':>8} | {'s':>4}")
    clean_models: dict[tuple[int, int], Any] = {}
    marking_nets: dict[int, Any] = {}
    for epochs, radius, lam, ratio, seed in itertools.product(args.epochs, args.radius, args.lambda_logit,
                                                               args.ratio, args.seeds):
        t = time.perf_counter()
        base = {"dataset": args.dataset, "model": "cnn4", "data.dir": args.data_dir, "data.train_subset": args.train,
                "train.epochs": epochs, "train.device": "cpu", "eval.adv_samples": 10, "eval.steps": 1, "seed": seed}
        config = TrialConfig.from_dict({**base, "mechanisms": ["rad"], "rad.radius": radius,
                                        "rad.lambda_logit": lam, "rad.ratio": ratio})
        out = train(config)
        rad: Radioactive = out.composer.mechanisms[0]  # type: ignore[union-attr,assignment]
        if (epochs, seed) not in clean_models:
            clean_models[(epochs, seed)] = train(TrialConfig.from_dict(base))
        clean = clean_models[(epochs, seed)]
        clean_gap = rad.evaluate(None, SimpleNamespace(model=clean.network, network=clean.network))  # type: ignore
        # held-out: test images marked with the same carriers by the same (seeded) marking network
        ctx = make_context(config)
        n = min(args.held_out, len(ctx.data.test_y))
        x, y = ctx.data.test_x[:n], ctx.data.test_y[:n]
        if seed not in marking_nets:
            marking_nets[seed] = rad._marking_network(ctx, TrainData(ctx.data.train_x, ctx.data.train_y))
        marked = mark_images(marking_nets[seed], x, y, rad.carriers, replace(rad.config))
        held, _ = _gaps(out.network, x, marked, y)
        held_clean, _ = _gaps(clean.network, x, marked, y)
        m = out.metrics
        bound = float(_per_sample_loss(out.network.eval(), rad.clean, rad.labels).mean())
        print(f"{epochs:>6} {radius:>7.4f} {lam:>7g} {ratio:>5g} {seed:>4} | {m['acc']:>6.4f} "
              f"{m['rad.loss_gap']:>8.4f} {m['rad.p_value']:>8.1e} {m['rad.psnr']:>5.1f} {bound:>7.4f} | "
              f"{clean.metrics['acc']:>9.4f} {clean_gap['loss_gap']:>8.4f} | {held:>8.4f} {held_clean:>8.4f} | "
              f"{time.perf_counter() - t:>4.0f}", flush=True)


if __name__ == "__main__":
    main()
