"""The cost of running trials through `explorer search` (Ray Tune) instead of in one process.

Runs the same N small trials twice, side by side in one run: (a) `explorer search` on a local Ray with one
trial at a time, wall time from the command's start to its end (Ray's start-up included); (b) the same
trial configs trained in this process one after another with `explorer.train.train`. Prints both wall
times and their ratio (goal: <= 1.2x), and the ratio without Ray's start-up and shutdown.

    python benchmarks/tune_overhead.py [--trials 6] [--epochs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPACE = """
name: overhead
dataset: digits
model: tiny
training: {{epochs: {epochs}, batch_size: 32}}
eval: {{adv_samples: 100, steps: 5}}
mechanisms: [[wm]]
wm: {{trigger_size: 50}}
seeds: {seeds}
baselines: false
search: {{max_concurrent: 1}}
resources: {{cpu: 2, gpu: 0}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2, help="alternate the two ways this often; medians")
    args = parser.parse_args()
    import search_spaces as ss
    from explorer.config import TrialConfig
    from explorer.train import train

    tmp = Path(tempfile.mkdtemp(prefix="ovh", dir="/tmp"))
    try:
        space_path = tmp / "space.yaml"
        space_path.write_text(SPACE.format(epochs=args.epochs, seeds=args.trials))
        configs = ss.expand(ss.load(str(space_path))).configs()
        assert len(configs) == args.trials

        def in_process() -> float:
            t = time.perf_counter()
            for c in configs:
                train(TrialConfig.from_dict(c))
            return time.perf_counter() - t

        def through_tune(i: int) -> tuple[float, float]:
            env = dict(os.environ, RAY_TMPDIR=str(tmp / "r"), RAY_USAGE_STATS_ENABLED="0")
            cmd = [sys.executable, "-m", "explorer.cli", "search", str(space_path), "--out", str(tmp / f"out{i}"),
                   "--num-cpus", "2"]
            t = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t
            if proc.returncode != 0:
                raise SystemExit(proc.stderr[-2000:])
            lines = [line for line in proc.stderr.splitlines() if "[explorer]" in line and "done" in line]
            return wall, float(lines[-1].split("|")[1].split("s elapsed")[0]) if lines else float("nan")

        ours, tune_runs = [], []
        for i in range(args.repeats):
            ours.append(in_process())
            tune_runs.append(through_tune(i))
        in_proc = statistics.median(ours)
        through = statistics.median(w for w, _ in tune_runs)
        tune_only = statistics.median(t for _, t in tune_runs)
    finally:
        subprocess.run(["pkill", "-9", "-f", str(tmp / "r")], check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{args.trials} trials (digits, tiny net, wm, {args.epochs} epochs), one at a time")
    print(f"in one process, one after another: {in_proc:.1f} s (median of {ours})")
    print(f"through `explorer search` (Ray start-up included): {through:.1f} s -> "
          f"ratio {through / in_proc:.2f}x (goal <= 1.2x)")
    print(f"  of which the trials, from the first start to the last end: {tune_only:.1f} s -> "
          f"ratio {tune_only / in_proc:.2f}x")


if __name__ == "__main__":
    main()
