"""How many cnn4 trials one GPU packs: k = 1, 2, 4, 8 concurrent trials through `explorer search` (`gpu: 1/k`).

For each k, one search of k trials (cnn4, watermark with a noise trigger set, MNIST-shaped data: the real
MNIST under --data-dir if it is there, else fabricated 28x28 images in MNIST's IDX format, which cost the
same to train on) on a local Ray with one GPU, all k at once. Prints per k:

- aggregate images/s: the k trials' training images over the span from the first start to the last end,
  and the sum of the trials' own images/s; both as a ratio to k = 1;
- per-trial peak GPU memory (``torch.cuda.max_memory_allocated``) against its cap (1/k of the GPU, which
  each trial sets with ``torch.cuda.set_per_process_memory_fraction``);
- errored trials, and how many of them ran out of GPU memory.

Without a GPU it says so and exits 0.

    python benchmarks/gpu_packing.py [--ks 1 2 4 8] [--data-dir ../shared/datasets] [--train-images 20000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPACE = """
name: gpu-pack-{k}
dataset: mnist
model: cnn4
data: {{dir: {data_dir}, train_subset: {train}, test_subset: 1000}}
training: {{epochs: {epochs}, batch_size: 128, device: cuda}}
eval: {{adv_samples: 200, steps: 5}}
mechanisms: [[wm]]
wm: {{trigger_size: 100, source: noise}}
seeds: {k}
baselines: false
search: {{max_concurrent: {k}}}
resources: {{cpu: 1, gpu: {share}}}
"""


def _fabricate_mnist(root: Path, train: int, test: int) -> None:
    """Random 28x28 images and labels in MNIST's raw IDX layout (what explorer's loader reads)."""
    import numpy as np

    rng = np.random.default_rng(0)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n in (("train", train), ("t10k", test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
            (2051).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (n, 28, 28)) + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(
            (2049).to_bytes(4, "big") + n.to_bytes(4, "big") + labels.tobytes())


def _kill_ray(root: Path) -> None:
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if f"RAY_TMPDIR={root}".encode() in (proc / "environ").read_bytes():
                os.kill(int(proc.name), signal.SIGKILL)
        except OSError:
            continue


def run_k(k: int, tmp: Path, data_dir: Path, train: int, epochs: int, total_mib: float) -> dict[str, float]:
    import pandas as pd

    space = tmp / f"k{k}.yaml"
    space.write_text(SPACE.format(k=k, share=1 / k, data_dir=data_dir, train=train, epochs=epochs))
    ray_root = tmp / f"r{k}"
    ray_root.mkdir()
    env = dict(os.environ, RAY_TMPDIR=str(ray_root), RAY_USAGE_STATS_ENABLED="0")
    cmd = [sys.executable, "-m", "explorer.cli", "search", str(space), "--out", str(tmp / f"out{k}"),
           "--num-cpus", str(max(2, k + 1)), "--num-gpus", "1", "--retries", "0"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    _kill_ray(ray_root)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"k={k}: explorer search exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    rows = pd.read_parquet(tmp / f"out{k}" / "rows")
    ok = rows[rows["status"] == "ok"]
    images = float((ok["images_per_second"] * ok["train_seconds"]).sum())
    span = (ok["end_time"].max() - ok["start_time"].min()).total_seconds() if len(ok) else float("nan")
    errors = rows[rows["status"] == "error"]
    return {"k": k, "wall": wall, "ok": len(ok), "errors": len(errors),
            "oom": int(errors["error"].str.contains("out of memory", case=False).sum()),
            "span_ips": images / span if len(ok) else float("nan"),
            "sum_ips": float(ok["images_per_second"].sum()), "peak": float(ok["peak_memory_mb"].max()),
            "cap": total_mib / k}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--data-dir", help="a root holding MNIST/raw (default: fabricated MNIST-shaped data)")
    parser.add_argument("--train-images", type=int, default=20000, help="training images per trial and epoch")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("no GPU here (torch.cuda.is_available() is False): nothing to measure; run this on a GPU machine")
        return
    props = torch.cuda.get_device_properties(0)
    total_mib = props.total_memory / 2**20
    tmp = Path(tempfile.mkdtemp(prefix="gpupack", dir="/tmp"))
    try:
        data_dir = Path(args.data_dir).absolute() if args.data_dir else tmp / "data"
        if not (data_dir / "MNIST" / "raw").is_dir():
            _fabricate_mnist(data_dir, max(args.train_images, 1000), 1000)
        results = [run_k(k, tmp, data_dir, args.train_images, args.epochs, total_mib) for k in args.ks]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{props.name}, {total_mib:.0f} MiB; cnn4 + wm, batch 128, {args.train_images} images x {args.epochs} "
          f"epochs per trial, {'MNIST' if args.data_dir else 'fabricated MNIST-shaped data'}")
    base = results[0]
    print(f"{'k':>3} {'ok':>3} {'errors (OOM)':>13} {'images/s (span)':>16} {'vs k=1':>7} {'sum of trials':>14} "
          f"{'vs k=1':>7} {'peak MiB / cap MiB':>19} {'wall s':>7}")
    for r in results:
        print(f"{r['k']:>3} {r['ok']:>3} {r['errors']:>6} ({r['oom']:>3})  {r['span_ips']:>16.0f} "
              f"{r['span_ips'] / base['span_ips']:>6.2f}x {r['sum_ips']:>14.0f} "
              f"{r['sum_ips'] / base['sum_ips']:>6.2f}x {r['peak']:>9.0f} / {r['cap']:<8.0f} {r['wall']:>7.0f}")


if __name__ == "__main__":
    main()
