"""What radioactive marking and dataset inference cost, on cnn4 and MNIST, on the CPU (or --device).

Prints, each with the absolute figure it comes from:
1. the marking network: seconds per epoch over the training set, times ``rad.marking_epochs``;
2. the mark optimisation: seconds per image (``rad.iterations`` steps), times 10 % of the training set;
3. dataset inference per model: Blind Walk seconds per embedded image on a trained model, times the
   default 2 x 1000 images, plus the regressor and the 101 Welch tests.
Both costs are linear in the number of images, so ``--mark-images`` and ``--di-samples`` below the full
counts measure a part and scale it (the output says when it does). Nothing is cached in between.

    python benchmarks/mechanism_cost.py --data-dir ../shared/datasets [--mark-images 6000] [--di-samples 1000]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from explorer.config import RadConfig, TrialConfig
from explorer.mechanisms.di import mechanism as di
from explorer.mechanisms.base import TrainData
from explorer.mechanisms.rad.mechanism import Radioactive, mark_images
from explorer.seeding import generator
from explorer.train import make_context, train


def _mnist(data_dir: str, **extra: object) -> TrialConfig:
    return TrialConfig.from_dict({"dataset": "mnist", "model": "cnn4", "data.dir": data_dir, "train.device": "cpu",
                                  "eval.adv_samples": 10, "eval.steps": 1, **extra})


def marking(data_dir: str, images: int, epoch_images: int | None) -> None:
    cfg = RadConfig()
    ctx = make_context(_mnist(data_dir, mechanisms=["rad"], **{"data.train_subset": epoch_images}))
    seen = len(ctx.data.train_y)
    t = time.perf_counter()
    net = Radioactive(replace(cfg, marking_epochs=1), generator(0, "rad"))._marking_network(
        ctx, TrainData(ctx.data.train_x, ctx.data.train_y))
    epoch = (time.perf_counter() - t) * 60000 / seen
    n = min(images, seen)
    carriers = torch.nn.functional.normalize(torch.randn(10, 512), dim=1)
    t = time.perf_counter()
    mark_images(net, ctx.data.train_x[:n], ctx.data.train_y[:n], carriers, cfg)
    per_image = (time.perf_counter() - t) / n
    net_s, mark_s = epoch * cfg.marking_epochs, per_image * 6000
    print(f"marking network: {epoch:.1f} s per epoch of 60000 images x {cfg.marking_epochs} epochs = {net_s:.0f} s"
          + ("" if seen == 60000 else f" (measured on {seen} images, scaled)"))
    print(f"mark optimisation: {per_image * 1000:.1f} ms per image x 6000 images (10 % of MNIST) = {mark_s:.0f} s"
          + ("" if n == 6000 else f" (measured on {n} images, scaled)"))
    print(f"marking 10 % of MNIST ({cfg.iterations} iterations): {net_s + mark_s:.0f} s")


def dataset_inference(data_dir: str, samples: int) -> None:
    out = train(_mnist(data_dir, **{"data.train_subset": 5000, "train.epochs": 3}))
    net = out.network.eval()
    ctx = make_context(_mnist(data_dir))
    g = torch.Generator().manual_seed(0)
    t = time.perf_counter()
    with torch.no_grad():
        f_train = di.blind_walk(net, ctx.data.train_x[:samples], ctx.data.train_y[:samples], g)
        f_test = di.blind_walk(net, ctx.data.test_x[:samples], ctx.data.test_y[:samples], g)
    walk = (time.perf_counter() - t) / (2 * samples)
    t = time.perf_counter()
    split = samples // 2
    reg = di.fit_regressor(di.feature_rows(f_train, f_train)[:split], di.feature_rows(f_train, f_test)[:split], 0)
    with torch.no_grad():
        s_test = reg(di.feature_rows(f_train, f_test)[split:])[:, 0].double().numpy()
        s_train = reg(di.feature_rows(f_train, f_train)[split:])[:, 0].double().numpy()
    di.harmonic_p(s_test, s_train, g), di.welch_p(s_test, s_train)
    rest = time.perf_counter() - t
    scaled = "" if samples == di.DEFAULT_SAMPLES else f" (measured on 2 x {samples} images, scaled)"
    print(f"DI Blind Walk: {walk * 1000:.1f} ms per image (3 norms x 10 directions, <= 50 steps) x 2000 images "
          f"= {walk * 2 * di.DEFAULT_SAMPLES:.0f} s{scaled}; regressor and tests {rest:.1f} s")
    print(f"DI per model (cnn4, acc {out.metrics['acc']:.3f}): {walk * 2 * di.DEFAULT_SAMPLES + rest:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--mark-images", type=int, default=6000, help="images marked and timed (6000 = 10 %%)")
    parser.add_argument("--epoch-images", type=int, default=None,
                        help="train the marking network's timed epoch on this many images (default: all 60000)")
    parser.add_argument("--di-samples", type=int, default=di.DEFAULT_SAMPLES, help="members and non-members walked")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    marking(args.data_dir, args.mark_images, args.epoch_images)
    dataset_inference(args.data_dir, args.di_samples)


if __name__ == "__main__":
    main()
