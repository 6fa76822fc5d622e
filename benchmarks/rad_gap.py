"""Radioactive marking recipes swept side by side: φ_RAD, its false-positive level and the accuracy cost.

For each variant (radius x λ_logit x (λ_ft, λ_img) pair x carriers, plus any ``--variant``) it trains a model on the
marked data (cnn4, the trial's own pipeline: ``explorer.train.train``) and compares it with a clean model of
the same setup (no marks, same seed), printing side by side:

- ``acc``, ``clean acc`` and ``cost``: the test accuracy of both models and the marked model's loss of
  accuracy in percentage points (the paper: RAD cost 1 pp on MNIST, 3 pp on Fashion-MNIST, Table 2);
- ``gap``: φ_RAD of the marked model, the mean of CE(x) - CE(x_marked) over D_RAD (what the trials report;
  the paper's Table 2: 0.284 MNIST, 0.191 Fashion-MNIST), and ``p`` its paired one-sided t-test;
- ``clean gap`` and ``clean p``: the same statistic for the clean model on the same images, the test's
  false-positive level (marks that lower a model's loss without its training on them prove nothing);
- ``bound``: the marked model's mean loss on the clean D_RAD images, CE(x): the gap can never exceed it;
- the marks' PSNR and the variant's seconds (marking and training).

The clean model and the marking network are trained once per (dataset, seed) and kept under ``--cache``
(the marking network is the one a trial trains, by the mechanism's own method, seed stream and data, handed to
the trial as ``rad.marking_model``), so variants and later invocations share them. ``--variant`` adds single
points, e.g. ``radius=0.1255,logit=0,ft=0.5,img=0.05`` or ``carriers=class``; the carriers are random
(RAD's) unless named, here and in the grid (``--carriers``). ``--held-out N`` also marks N test images with the same
carriers and prints both models' gap on them (what a verifier could use without the training images).

    python benchmarks/rad_gap.py --data-dir ../shared/datasets --dataset mnist --train 10000 --epochs 10 \\
        --radius 0.09803921568627451 0.12549019607843137 --lambda-logit 100 10 1 0 --penalties 0.01/0.0005 \\
        --variant radius=0.12549019607843137,logit=0,ft=0.5,img=0.05 --threads 1 --cache /tmp/rad
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple

import torch

from explorer.config import TrialConfig
from explorer.mechanisms.base import TrainData
from explorer.mechanisms.rad.mechanism import Radioactive, _per_sample_loss, mark_images
from explorer.metrics import accuracy
from explorer.models import Classifier, build_model
from explorer.train import make_context, train
from explorer.mechanisms.rad.spec import RadConfig


_DEFAULT = RadConfig()


class Variant(NamedTuple):
    radius: float
    lambda_logit: float
    lambda_ft: float
    lambda_img: float
    carriers: str = "random"  # rad.carriers: random (RAD's) or class (the marking network's class directions)

    def knobs(self) -> dict[str, Any]:
        return {"rad.radius": self.radius, "rad.lambda_logit": self.lambda_logit, "rad.lambda_ft": self.lambda_ft,
                "rad.lambda_img": self.lambda_img, "rad.carriers": self.carriers}


def _pair(text: str) -> tuple[float, float]:
    ft, _, img = text.partition("/")
    return float(ft), float(img)


def _variant(text: str) -> Variant:
    """``radius=0.1255,logit=0,ft=0.5,img=0.05,carriers=class``; what is not named keeps RadConfig's default,
    except the carriers: random unless named (as every variant printed before they became a knob)."""
    names = {"radius": "radius", "logit": "lambda_logit", "ft": "lambda_ft", "img": "lambda_img"}
    values: dict[str, float] = {k: getattr(_DEFAULT, k) for k in names.values()}
    carriers = "random"
    for item in text.split(","):
        key, _, value = item.partition("=")
        if key in names:
            values[names[key]] = float(value)
        elif key == "carriers" and value in ("random", "class"):
            carriers = value
        else:
            raise argparse.ArgumentTypeError(f"{item!r}: expected radius=, logit=, ft=, img= or carriers=random|class")
    return Variant(**values, carriers=carriers)


def _gaps(net: torch.nn.Module, clean: torch.Tensor, marked: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    return float((_per_sample_loss(net, clean, y) - _per_sample_loss(net, marked, y)).double().mean())


def _clean_model(base: dict[str, Any], cache: Path) -> tuple[Classifier, float]:
    """The unmarked model of the same setup and seed, trained once and kept under ``cache``."""
    config = TrialConfig.from_dict(base)
    path = cache / f"clean-{config.config_id()}-s{config.seed}.pt"
    ctx = make_context(config)
    net = build_model(ctx.model_name, ctx.data.shape, ctx.data.num_classes, ctx.data.mean, ctx.data.std)
    if path.is_file():
        net.load_state_dict(torch.load(path, weights_only=True))
    else:
        out = train(config)
        assert out.network is not None
        net.load_state_dict(out.network.state_dict())
        torch.save(net.state_dict(), path)
    net.eval()
    return net, accuracy(net, ctx.data.test_x, ctx.data.test_y, config.eval.batch_size)


def _marking_model(config: TrialConfig, cache: Path) -> str:
    """The marking network the trial would train (its seed stream, clean data), kept under ``cache``."""
    cfg: RadConfig = config.rad
    path = cache / f"marking-{config.dataset}-{config.data.train_subset}-e{cfg.marking_epochs}-s{config.seed}.pt"
    if not path.is_file():
        ctx = make_context(config)
        rad = Radioactive(cfg, torch.Generator())
        net = rad._marking_network(ctx, TrainData(ctx.data.train_x, ctx.data.train_y))
        torch.save(net.state_dict(), path)
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--train", type=int, default=10000, help="training images")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--radius", type=float, nargs="*", default=[_DEFAULT.radius])
    parser.add_argument("--lambda-logit", type=float, nargs="*", default=[_DEFAULT.lambda_logit])
    parser.add_argument("--penalties", type=_pair, nargs="*", default=[(_DEFAULT.lambda_ft, _DEFAULT.lambda_img)],
                        help="λ_ft/λ_img pairs (RAD's README example 0.01/0.0005, its script's 0.5/0.05)")
    parser.add_argument("--carriers", nargs="*", default=["random"], choices=["random", "class"],
                        help="rad.carriers of the grid (random: RAD's; class: decision 20's)")
    parser.add_argument("--variant", type=_variant, nargs="*", default=[],
                        help="extra variants, e.g. radius=0.1255,logit=0,ft=0.5,img=0.05")
    parser.add_argument("--ratio", type=float, default=0.1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--held-out", type=int, default=0, help="test images marked for the held-out gap")
    parser.add_argument("--cache", type=Path, default=Path("rad_gap_cache"),
                        help="where the clean models and marking networks are kept between invocations")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (1 on a busy machine)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    args.cache.mkdir(parents=True, exist_ok=True)
    grid = [Variant(r, lam, ft, img, c) for r, lam, (ft, img), c in
            itertools.product(args.radius, args.lambda_logit, args.penalties, args.carriers)]
    variants = grid + [v for v in args.variant if v not in grid]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs; {args.dataset}, "
          f"{args.train} training images, {args.epochs} epochs, ratio {args.ratio:g}; cache "
          f"{os.environ.get('EXPLORER_CACHE_DIR', '~/.cache/explorer')}", flush=True)
    head = (f"{'radius':>6} {'λ_log':>5} {'λ_ft':>5} {'λ_img':>6} {'carriers':>8} {'seed':>4} | {'acc':>6} "
            f"{'clean':>6} {'cost':>5} | {'gap':>7} {'p':>7} | {'clean gap':>9} {'clean p':>7} | {'bound':>6} "
            f"{'psnr':>4}")
    head += f" | {'held-out':>8} {'clean':>7}" if args.held_out else ""
    print(head + f" | {'s':>5}", flush=True)
    for seed, v in itertools.product(args.seeds, variants):
        base = {"dataset": args.dataset, "model": "cnn4", "data.dir": args.data_dir,
                "data.train_subset": args.train, "train.epochs": args.epochs, "train.device": "cpu",
                "eval.adv_samples": 10, "eval.steps": 1, "seed": seed}
        clean_net, clean_acc = _clean_model(base, args.cache)
        rad_base = {**base, "mechanisms": ["rad"], "rad.ratio": args.ratio}
        marking = _marking_model(TrialConfig.from_dict(rad_base), args.cache)
        config = TrialConfig.from_dict({**rad_base, **v.knobs(), "rad.marking_model": marking})
        t = time.perf_counter()
        out = train(config)
        seconds = time.perf_counter() - t
        rad: Radioactive = out.composer.mechanisms[0]  # type: ignore[union-attr,assignment]
        assert out.network is not None and rad.clean is not None and rad.labels is not None
        clean = rad.evaluate(None, SimpleNamespace(model=clean_net, network=clean_net))  # type: ignore[arg-type]
        m = out.metrics
        bound = float(_per_sample_loss(out.network.eval(), rad.clean, rad.labels).mean())
        line = (f"{v.radius:>6.4f} {v.lambda_logit:>5g} {v.lambda_ft:>5g} {v.lambda_img:>6g} {v.carriers:>8} "
                f"{seed:>4} | "
                f"{m['acc']:>6.4f} {clean_acc:>6.4f} {100 * (clean_acc - m['acc']):>5.2f} | "
                f"{m['rad.loss_gap']:>7.4f} {m['rad.p_value']:>7.1e} | {clean['loss_gap']:>9.4f} "
                f"{clean['p_value']:>7.1e} | {bound:>6.4f} {m['rad.psnr']:>4.1f}")
        if args.held_out:  # test images marked with the same carriers by the same marking network
            ctx = make_context(config)
            n = min(args.held_out, len(ctx.data.test_y))
            x, y = ctx.data.test_x[:n], ctx.data.test_y[:n]
            net = build_model(ctx.model_name, ctx.data.shape, ctx.data.num_classes, ctx.data.mean, ctx.data.std)
            net.load_state_dict(torch.load(marking, weights_only=True))
            assert rad.carriers is not None
            marked = mark_images(net, x, y, rad.carriers, rad.config)
            line += f" | {_gaps(out.network, x, marked, y):>8.4f} {_gaps(clean_net, x, marked, y):>7.4f}"
        print(line + f" | {seconds:>5.0f}", flush=True)


if __name__ == "__main__":
    main()
