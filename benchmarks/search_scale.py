"""How `explorer search` scales with the number of trials: driver overhead, driver memory, disk, status, report.

For each size N, one search of N trivial trials (tiny net, synthetic data, 64 images, one epoch; half of
them with a watermark of 8 images) through `explorer search` on a local Ray, then `explorer status` and
`explorer report` on its output. Per size it prints:

- overhead per trial: (wall time of the search - the trials' own time / concurrency) / N, where a trial's
  own time is its row's end_time - start_time (the trainable from entry to its row); what Ray, Tune and
  the driver add per trial (worker start-up, scheduling, experiment state), Ray's start-up included;
- driver CPU per trial: the `explorer search` process's own CPU seconds / N (Ray's processes excluded);
- driver peak memory: the search process's peak resident set (VmHWM);
- disk per trial: everything under OUT (rows and Tune's state) / N, and the rows' share;
- `explorer status OUT` and `explorer report OUT` wall times (fresh processes, imports included).

Goal: overhead and disk per trial within 1.5x from 100 to 1,000 trials; status < 2 s and report < 60 s at
1,000 trials.

    python benchmarks/search_scale.py [--sizes 100 1000] [--num-cpus 2] [--keep DIR]
    python benchmarks/search_scale.py --reads OUT [OUT ...] [--repeats 3]   # status/report on kept outputs
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
name: scale-{n}
dataset: synthetic
model: tiny
data: {{train_subset: 64, test_subset: 32}}
training: {{epochs: 1, batch_size: 32}}
eval: {{adv_samples: 8, steps: 1}}
mechanisms: [[wm]]
wm: {{trigger_size: 8}}
seeds: {seeds}
baselines: true
resources: {{cpu: 1, gpu: 0}}
"""


def _proc_figures(pid: int) -> tuple[float, float] | None:
    """(own CPU seconds, peak RSS in MiB) of a live process, from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
        hwm = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmHWM"))
        return cpu, int(hwm.split()[1]) / 1024
    except (OSError, StopIteration, IndexError, ValueError):
        return None


def _kill_ray(root: Path) -> None:
    """SIGKILL leftover processes of the Ray runtime whose RAY_TMPDIR is ``root`` (after a failed search)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if f"RAY_TMPDIR={root}".encode() in (proc / "environ").read_bytes():
                os.kill(int(proc.name), signal.SIGKILL)
        except OSError:
            continue


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t


def run_size(n: int, tmp: Path, num_cpus: int) -> dict[str, float]:
    import pandas as pd

    space = tmp / f"scale-{n}.yaml"
    space.write_text(SPACE.format(n=n, seeds=n // 2))
    out, ray_root = tmp / f"out-{n}", tmp / f"r{n}"
    ray_root.mkdir()
    env = dict(os.environ, RAY_TMPDIR=str(ray_root), RAY_USAGE_STATS_ENABLED="0")
    cmd = [sys.executable, "-m", "explorer.cli", "search", str(space), "--out", str(out), "--num-cpus", str(num_cpus)]
    log = open(tmp / f"search-{n}.log", "w")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    figures = None
    while proc.poll() is None:
        figures = _proc_figures(proc.pid) or figures
        time.sleep(0.5)
    wall = time.perf_counter() - t0
    log.close()
    _kill_ray(ray_root)
    if proc.returncode != 0 or figures is None:
        raise SystemExit(f"search of {n} trials exited {proc.returncode}; see {tmp / f'search-{n}.log'}")
    rows = pd.read_parquet(out / "rows")
    assert len(rows) == n and (rows["status"] == "ok").all(), rows["status"].value_counts()
    own = float((rows["end_time"] - rows["start_time"]).dt.total_seconds().sum())
    status = min(_timed([sys.executable, "-m", "explorer.cli", "status", str(out)], env) for _ in range(3))
    report = _timed([sys.executable, "-m", "explorer.cli", "report", str(out), "--out", str(tmp / f"report-{n}")], env)
    return {"n": n, "wall": wall, "own": own, "overhead": (wall - own / num_cpus) / n, "cpu": figures[0] / n,
            "rss": figures[1], "disk": _du(out) / n, "rows_disk": _du(out / "rows") / n,
            "checkpoints": len(list((out / "ray").rglob("checkpoint_*"))), "status": status, "report": report}


def reads(outs: list[str], repeats: int) -> None:
    """`explorer status` and `explorer report` on existing outputs, alternated, against the start-up they
    share (a fresh Python importing explorer.status, i.e. pandas and pyarrow): the rest grows with the rows."""
    import pandas as pd

    env = dict(os.environ)
    startup = [sys.executable, "-c", "import explorer.status"]
    times: dict[str, dict[str, list[float]]] = {o: {"status": [], "report": [], "startup": []} for o in outs}
    with tempfile.TemporaryDirectory(prefix="reads", dir="/tmp") as tmp:
        for i in range(repeats):
            for out in outs:
                times[out]["startup"].append(_timed(startup, env))
                times[out]["status"].append(_timed([sys.executable, "-m", "explorer.cli", "status", out], env))
                times[out]["report"].append(_timed([sys.executable, "-m", "explorer.cli", "report", out, "--out",
                                                    f"{tmp}/r{i}"], env))
    print(f"best of {repeats}, alternated: rows, start-up (python + pandas + pyarrow), status, status - start-up, "
          "report")
    for out in outs:
        n = len(pd.read_parquet(Path(out) / "rows", columns=["trial_id"]))
        t = {k: min(v) for k, v in times[out].items()}
        print(f"{n:>6} rows  start-up {t['startup']:.2f} s  status {t['status']:.2f} s  "
              f"status - start-up {t['status'] - t['startup']:.2f} s  report {t['report']:.1f} s  ({out})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs of the local Ray (= trials at a time)")
    parser.add_argument("--keep", help="keep the outputs and logs in this folder")
    parser.add_argument("--reads", nargs="+", metavar="OUT",
                        help="only time `explorer status` and `explorer report` on these outputs (no search)")
    parser.add_argument("--repeats", type=int, default=3, help="with --reads: alternations (best of)")
    args = parser.parse_args()
    if args.reads:
        reads(args.reads, args.repeats)
        return
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="scale", dir="/tmp"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"trivial trials (synthetic, tiny net, 1 epoch), local Ray with {args.num_cpus} CPUs, "
          f"{args.num_cpus} trials at a time")
    header = ("trials", "overhead/trial", "driver CPU/trial", "driver peak RSS", "disk/trial (rows)", "status",
              "report", "search wall", "trials' own")
    print("  ".join(f"{h:>17}" for h in header), flush=True)
    results = []
    try:
        for n in args.sizes:
            r = run_size(n, tmp, args.num_cpus)
            results.append(r)
            cells = (f"{r['n']}", f"{r['overhead']:.2f} s", f"{r['cpu'] * 1000:.0f} ms", f"{r['rss']:.0f} MiB",
                     f"{r['disk'] / 1024:.0f} KiB ({r['rows_disk'] / 1024:.0f})", f"{r['status']:.2f} s",
                     f"{r['report']:.1f} s", f"{r['wall']:.0f} s", f"{r['own']:.0f} s")
            print("  ".join(f"{c:>17}" for c in cells), flush=True)
            if r["checkpoints"]:
                print(f"  {r['checkpoints']} checkpoint folders left under OUT/ray", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    if len(results) >= 2:
        a, b = results[0], results[-1]
        print(f"ratios {b['n']} vs {a['n']}: overhead/trial {b['overhead'] / a['overhead']:.2f}x, "
              f"driver CPU/trial {b['cpu'] / a['cpu']:.2f}x, disk/trial {b['disk'] / a['disk']:.2f}x "
              f"(goal <= 1.5x); status {b['status']:.2f} s (goal < 2 s), report {b['report']:.1f} s (goal < 60 s)")


if __name__ == "__main__":
    main()
