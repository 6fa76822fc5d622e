"""What the risk metrics cost and whether the attack sees what it should (issue 29), side by side in one run.

For each setting (dataset, training images, epochs) it trains the undefended model once with ``eval.risks`` on and
prints, from the same run:

- ``train s``: the trial's training time (``TrialOutput.train_seconds``);
- ``refs s``: the reference models' one-time training (the first trial of a setup pays it; cached after);
- ``risk s``: what the risk metrics add to a trial once the references are cached (a second evaluation of the
  same trained model, timed alone), and its ratio to the training time;
- the figures: acc, ``risk.mia_auc``, ``risk.mia_tpr_at_1fpr``, ``risk.train_test_gap``.

The known case: a model trained long on few images (it memorises) should score a high AUC, and the
reproduction's undefended model (10,000 images, 10 epochs) near 0.5.

    python benchmarks/risks.py --data-dir ../shared/datasets --dataset fashion_mnist \\
        --setting 10000:10 --setting 500:50 [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch

from explorer.compose import attack_mode
from explorer.config import TrialConfig
from explorer.risks import measure
from explorer.train import make_context, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--setting", action="append", default=[], metavar="IMAGES:EPOCHS",
                        help="training images and epochs (repeatable; default 10000:10 and 500:50)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = [tuple(int(v) for v in s.split(":")) for s in (args.setting or ["10000:10", "500:50"])]
    os.environ["EXPLORER_CACHE_DIR"] = tempfile.mkdtemp(prefix="risk-bench-")  # references trained here, timed
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.dataset}, cnn4, seed {args.seed}; "
          f"reference cache {os.environ['EXPLORER_CACHE_DIR']}")
    print(f"{'images':>6} {'epochs':>6} | {'train s':>8} {'refs s':>8} {'risk s':>7} {'risk/train':>10} | "
          f"{'acc':>6} {'AUC':>6} {'TPR@1%':>6} {'gap':>6}")
    for images, epochs in settings:
        base = {"dataset": args.dataset, "model": "cnn4", "data.dir": args.data_dir, "data.train_subset": images,
                "train.epochs": epochs, "train.batch_size": 64, "train.lr": 0.005, "train.device": "cpu",
                "eval.adv_samples": 10, "eval.steps": 1, "seed": args.seed}
        t = time.perf_counter()
        out = train(TrialConfig.from_dict(base))  # pays the references once
        total = time.perf_counter() - t
        ctx = make_context(TrialConfig.from_dict(base))
        assert out.network is not None
        t = time.perf_counter()
        with attack_mode(out.network):
            measure(ctx, out.network)  # references cached now: what every later trial of the setup pays
        risk = time.perf_counter() - t
        refs = total - out.train_seconds - risk  # the rest of the first trial beyond training and one evaluation
        m = out.metrics
        print(f"{images:>6} {epochs:>6} | {out.train_seconds:>8.1f} {refs:>8.1f} {risk:>7.1f} "
              f"{risk / out.train_seconds:>10.3f} | {m['acc']:>6.3f} {m['risk.mia_auc']:>6.3f} "
              f"{m['risk.mia_tpr_at_1fpr']:>6.3f} {m['risk.train_test_gap']:>6.3f}", flush=True)


if __name__ == "__main__":
    main()
