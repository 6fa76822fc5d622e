"""How close the DI Blind Walk comes to plain batched inference, on cnn4 and MNIST, on the CPU.

The walk (``explorer.mechanisms.di.mechanism.blind_walk``) is a sequence of forward passes: per image,
3 norms x 10 directions x up to ``max_steps`` checks. Its floor is the cost of those forward passes run as
plain batched inference. Printed, alternately timed, median of ``--repeats``:

1. plain inference: ``model(x)`` under ``torch.inference_mode`` on batches of the walk's batch size, images/s;
2. the walk: walked images/s, and the forward passes it made per second (counted by a hook on the model);
3. the ratio walk forward passes/s over plain images/s (1.0: the walk costs nothing beyond its passes).

    python benchmarks/di_walk.py --data-dir ../shared/datasets [--images 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import time

import torch

from explorer.config import TrialConfig
from explorer.data import to_float
from explorer.mechanisms.di import mechanism as di
from explorer.train import make_context, train


class _Counter(torch.nn.Module):
    """Wraps a model and counts the images it is called on."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model, self.images = model, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.images += len(x)
        return self.model(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--images", type=int, default=200, help="test images walked per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--batch", type=int, default=None, help="walked rows per forward pass (default: the walk's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU; walk of {di.__file__}")
    config = TrialConfig.from_dict({"dataset": "mnist", "model": "cnn4", "data.dir": args.data_dir,
                                    "data.train_subset": 5000, "train.epochs": 3, "train.device": "cpu",
                                    "eval.adv_samples": 10, "eval.steps": 1})
    net = train(config).network.eval()
    data = make_context(config).data
    x, y = data.test_x[:args.images], data.test_y[:args.images]
    # the same script times older code too (run it with PYTHONPATH=<a checkout of it>): before the walk took a
    # batch size, it walked _WALK_BATCH rows per pass
    takes_batch = "batch" in inspect.signature(di.blind_walk).parameters
    default = di.walk_batch(torch.device("cpu")) if hasattr(di, "walk_batch") else di._WALK_BATCH
    batch = args.batch or default
    if not takes_batch and batch != default:
        raise SystemExit(f"--batch: this checkout's walk ({di.__file__}) has a fixed batch of {default}")
    plain_x = to_float(data.test_x[:batch]).contiguous(memory_format=torch.channels_last)
    counter = _Counter(net)

    plain_rates, walk_rates, pass_rates = [], [], []
    for _ in range(args.repeats + 1):  # the first round warms up
        t = time.perf_counter()
        seen = 0
        with torch.inference_mode():
            while seen < 20 * batch:
                net(plain_x)
                seen += batch
        plain_rates.append(seen / (time.perf_counter() - t))
        counter.images = 0
        g = torch.Generator().manual_seed(0)
        t = time.perf_counter()
        di.blind_walk(counter, x, y, g, **({"batch": batch} if takes_batch else {}))
        seconds = time.perf_counter() - t
        walk_rates.append(len(y) / seconds)
        pass_rates.append(counter.images / seconds)
    plain, walk, passes = (statistics.median(r[1:]) for r in (plain_rates, walk_rates, pass_rates))
    print(f"plain inference, batch {batch}: {plain:.0f} images/s")
    print(f"blind walk, {len(y)} images: {walk:.2f} walked images/s ({1000 / walk:.0f} ms per image), "
          f"{passes:.0f} forward passes/s ({passes / walk:.0f} per image)")
    print(f"ratio walk passes / plain inference = {passes / plain:.2f} (goal: close to 1)")


if __name__ == "__main__":
    main()
