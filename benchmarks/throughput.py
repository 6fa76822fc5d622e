"""Training throughput, measured side by side in one process on cnn4 with MNIST-size batches.

Prints three ratios and the absolute figures they come from:
1. our training epoch vs a bare PyTorch loop over the same tensors (goal: >= 0.95);
2. DP-SGD (ghost clipping, and per-sample hooks for reference) vs non-private (goal: <= 2.5x);
3. our in-memory data path vs torchvision's DataLoader with ToTensor (goal: >= 10x).
Each measurement alternates the contenders and keeps the median, because the machines are noisy.

    python benchmarks/throughput.py --data-dir ../shared/datasets [--images 4096] [--repeats 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from explorer.config import TrialConfig
from explorer.data import to_float
from explorer.models import build_model
from explorer.seeding import derive_seed, generator
from explorer.train import setup, train_epoch


def _median_times(contenders: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for fn in contenders.values():
        fn()  # warm-up
    for _ in range(repeats):
        for name, fn in contenders.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def _config(data_dir: str, images: int, batch: int, mechanisms: list[str], **extra: object) -> TrialConfig:
    return TrialConfig.from_dict({"dataset": "mnist", "model": "cnn4", "mechanisms": mechanisms,
                                  "data.dir": data_dir, "data.train_subset": images, "train.epochs": 50,
                                  "train.batch_size": batch, "train.device": "cpu", **extra})


def step_vs_bare(data_dir: str, images: int, repeats: int) -> None:
    run = setup(_config(data_dir, images, 64, []))
    x_all, y_all = run.ctx.data.train_x, run.ctx.data.train_y
    torch.manual_seed(derive_seed(0, "model"))
    model = build_model("cnn4", run.ctx.data.shape, 10, run.ctx.data.mean, run.ctx.data.std)
    opt = torch.optim.SGD(model.parameters(), lr=0.005, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.005, div_factor=20, total_steps=10**6)
    g = generator(0, "data")
    epoch = iter(range(10**6))

    def bare() -> None:
        model.train()
        for idx in torch.randperm(len(y_all), generator=g).split(64):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(to_float(x_all[idx])), y_all[idx]).backward()
            opt.step()
            sched.step()

    t = _median_times({"ours": lambda: train_epoch(run, next(epoch)), "bare": bare}, repeats)
    n = len(y_all)
    print(f"1. training step, cnn4, batch 64, {n} images: ours {n / t['ours']:.0f} img/s, "
          f"bare PyTorch {n / t['bare']:.0f} img/s, ratio ours/bare = {t['bare'] / t['ours']:.3f} (goal >= 0.95)")


def dp_vs_plain(data_dir: str, images: int, repeats: int) -> None:
    runs = {
        "plain": setup(_config(data_dir, images, 256, [])),
        "dp-ghost": setup(_config(data_dir, images, 256, ["dp"], **{"dp.grad_sample_mode": "ghost"})),
        "dp-hooks": setup(_config(data_dir, images, 256, ["dp"], **{"dp.grad_sample_mode": "hooks"})),
    }
    counters = {k: iter(range(10**6)) for k in runs}
    t = _median_times({k: (lambda k=k: train_epoch(runs[k], next(counters[k]))) for k in runs}, repeats)
    # Poisson batches vary in size: compare time per expected image
    n = images
    print(f"2. DP-SGD, cnn4, batch 256, {n} images/epoch: non-private {n / t['plain']:.0f} img/s, "
          f"ghost clipping {n / t['dp-ghost']:.0f} img/s, per-sample hooks {n / t['dp-hooks']:.0f} img/s; "
          f"cost ghost/non-private = {t['dp-ghost'] / t['plain']:.2f}x (goal <= 2.5x), "
          f"hooks/non-private = {t['dp-hooks'] / t['plain']:.2f}x")


def data_path(data_dir: str, images: int, repeats: int) -> None:
    from torchvision import datasets, transforms

    run = setup(_config(data_dir, images, 64, []))
    x_all, y_all = run.ctx.data.train_x, run.ctx.data.train_y
    g = torch.Generator().manual_seed(0)
    tmp = tempfile.mkdtemp()
    try:
        shutil.copytree(Path(data_dir) / "MNIST", Path(tmp) / "MNIST")  # torchvision unpacks next to the .gz
        ds = datasets.MNIST(tmp, train=True, download=True, transform=transforms.ToTensor())
        subset = torch.utils.data.Subset(ds, range(images))
        loader = torch.utils.data.DataLoader(subset, batch_size=64, shuffle=True, num_workers=0)

        def ours() -> None:
            for idx in torch.randperm(len(y_all), generator=g).split(64):
                to_float(x_all[idx]), y_all[idx]

        def torchvision_loader() -> None:
            for _ in loader:
                pass

        t = _median_times({"ours": ours, "loader": torchvision_loader}, repeats)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"3. data path, batch 64, {images} images: in-memory uint8 {images / t['ours']:.0f} img/s, "
          f"torchvision DataLoader+ToTensor {images / t['loader']:.0f} img/s, "
          f"ratio = {t['loader'] / t['ours']:.1f}x (goal >= 10x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    parser.add_argument("--images", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not (Path(args.data_dir) / "MNIST" / "raw").is_dir():
        raise SystemExit(f"error: --data-dir: got {args.data_dir!r}, expected a folder holding MNIST/raw")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    step_vs_bare(args.data_dir, args.images, args.repeats)
    dp_vs_plain(args.data_dir, args.images, args.repeats)
    data_path(args.data_dir, args.images * 4, args.repeats)


if __name__ == "__main__":
    main()
