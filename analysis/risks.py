"""Unintended risks: does a mechanism or a combination raise or lower a risk against the undefended model?

Every trial measures `risk.*` (docs/metrics.md, "Unintended risks"). Following the SoK of Duddu, Szyller &
Asokan (IEEE S&P 2024), each configuration with at least one mechanism is compared, per risk, with the
undefended model ("none") at the same dataset, model, training, data and eval settings (the baseline rule of
`analysis.baselines`), with the conflict rule's own tests:

- **raises** when the risk rises more than its threshold (`thresholds.risk_auc`, `risk_tpr`, `risk_gap`; 0.02
  by default) above the undefended model and the one-sided Welch test of that is significant at alpha;
- **lowers** when it falls more than the threshold below it, likewise;
- **no change** when the TOST shows the change within plus or minus the threshold;
- **inconclusive** otherwise (or with fewer than 2 seeds on a side, or no undefended model at these settings).

Lower is better for every risk, so "raises" is the worse side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.baselines import member_baselines
from analysis.schema import dataset_order, members
from analysis.stats import welch_p
from analysis.summary import ok_rows
from analysis.thresholds import Thresholds
from explorer_core.spec import RISK_METRICS, RISK_THRESHOLDS

__all__ = ["FIT_COLUMNS", "RISK_COLUMNS", "RISK_VERDICTS", "risk_against_fit", "risk_verdicts"]

RISK_VERDICTS: tuple[str, ...] = ("raises", "lowers", "no change", "inconclusive")
RISK_COLUMNS: tuple[str, ...] = (
    "dataset", "model", "mechanisms", "config_id", "metric", "n", "mean", "std", "n_none", "mean_none", "std_none",
    "difference", "threshold", "p_raises", "p_lowers", "tost_p", "verdict", "reason",
)

FIT_COLUMNS: tuple[str, ...] = (
    "dataset", "model", "mechanisms", "config_id", "undefended", "epochs", "n", "gap_mean", "gap_std", "mean", "std",
)
GAP = "risk.train_test_gap"


def risk_against_fit(df: pd.DataFrame, metric: str = "risk.mia_auc") -> pd.DataFrame:
    """One row per configuration with both `metric` and the train-test gap: their means and sds over seeds, the
    undefended model's configurations included (`undefended` True), with `train.epochs`.

    The SoK names overfitting as what drives membership inference, so a mechanism that lowers the attack's AUC
    may do it only by fitting less; set beside undefended models of the same gap (e.g. stopped after fewer
    epochs), the table shows whether it does more than that."""
    rows = ok_rows(df)
    if rows.empty or metric not in rows.columns or GAP not in rows.columns:
        return pd.DataFrame(columns=list(FIT_COLUMNS))
    rows = rows[(rows[metric].notna() & rows[GAP].notna()).to_numpy(dtype=bool)]
    if rows.empty:
        return pd.DataFrame(columns=list(FIT_COLUMNS))
    grouped = rows.groupby("config_id", sort=True)
    stats = grouped.agg(n=(metric, "count"), mean=(metric, "mean"), std=(metric, "std"), gap_mean=(GAP, "mean"),
                        gap_std=(GAP, "std"))
    first = grouped[[c for c in ("dataset", "model", "mechanisms", "train.epochs") if c in rows.columns]].first()
    out = first.join(stats).reset_index().rename(columns={"train.epochs": "epochs"})
    if "epochs" not in out:
        out["epochs"] = np.nan
    if "model" not in out:
        out["model"] = None
    out["undefended"] = out["mechanisms"].map(lambda v: len(members(v)) == 0)
    order = out["dataset"].map(lambda d: dataset_order(str(d)))
    out = out.assign(_o=order, _k=out["mechanisms"].map(lambda v: (len(members(v)), str(v))))
    out = out.sort_values(["_o", "_k", "gap_mean"], kind="stable").drop(columns=["_o", "_k"])
    return out.reset_index(drop=True)[list(FIT_COLUMNS)]


def risk_verdicts(df: pd.DataFrame, thresholds: Thresholds | None = None) -> pd.DataFrame:
    """One row per (config with >= 1 mechanism, risk metric with values): the config's and the undefended
    model's n, mean, std, the difference, the tests and the verdict (`RISK_VERDICTS`), with a reason."""
    th = thresholds or Thresholds()
    rows = ok_rows(df)
    metrics = [m.name for m in RISK_METRICS if m.name in rows.columns and rows[m.name].notna().any()]
    if rows.empty or not metrics:
        return pd.DataFrame(columns=list(RISK_COLUMNS))
    defended = rows[rows["mechanisms"].map(lambda v: len(members(v)) >= 1).to_numpy(dtype=bool)]
    if defended.empty:
        return pd.DataFrame(columns=list(RISK_COLUMNS))
    grouped = defended.groupby("config_id", sort=True)
    first = grouped[[c for c in defended.columns if c not in metrics and c != "config_id"]].first().reset_index()
    base = member_baselines(first, rows, "none", metrics, nearest=False)
    frames = []
    for metric in metrics:
        stats = grouped[metric].agg(["count", "mean", "std"])
        n = first["config_id"].map(stats["count"]).fillna(0).to_numpy(dtype=float)
        mean = first["config_id"].map(stats["mean"]).to_numpy(dtype=float)
        std = first["config_id"].map(stats["std"]).to_numpy(dtype=float)
        n0, mean0, std0 = (base[f"{k}:{metric}"].fillna(0 if k == "n" else np.nan).to_numpy(dtype=float)
                           for k in ("n", "mean", "std"))
        t = th.get(RISK_THRESHOLDS[metric].key)
        p_raises = welch_p(mean, std, n, mean0, std0, n0, shift=t, alternative="greater")
        p_lowers = welch_p(mean, std, n, mean0, std0, n0, shift=-t, alternative="less")
        inside_low = welch_p(mean, std, n, mean0, std0, n0, shift=-t, alternative="greater")
        inside_high = welch_p(mean, std, n, mean0, std0, n0, shift=t, alternative="less")
        frame = pd.DataFrame({
            "dataset": first["dataset"], "model": first.get("model"), "mechanisms": first["mechanisms"],
            "config_id": first["config_id"], "metric": metric, "n": n.astype(int), "mean": mean, "std": std,
            "n_none": n0.astype(int), "mean_none": mean0, "std_none": std0, "difference": mean - mean0,
            "threshold": t, "p_raises": p_raises, "p_lowers": p_lowers,
            "tost_p": np.maximum(inside_low, inside_high),
        })
        frame = frame[frame["n"] > 0]
        frame["verdict"], frame["reason"] = _verdicts(frame, th.alpha)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    order = out["dataset"].map(lambda d: dataset_order(str(d)))
    out = out.assign(_o=order, _k=out["mechanisms"].map(lambda v: (len(members(v)), str(v))))
    out = out.sort_values(["_o", "_k", "config_id", "metric"], kind="stable").drop(columns=["_o", "_k"])
    return out.reset_index(drop=True)[list(RISK_COLUMNS)]


def _verdicts(frame: pd.DataFrame, alpha: float) -> tuple[list[str], list[str]]:
    verdicts, reasons = [], []
    for r in frame.itertuples(index=False):
        change = f"{r.difference:+.3f}"
        if r.n_none == 0:
            verdict, reason = "inconclusive", f"{r.metric}: no undefended model at these settings"
        elif r.n < 2 or r.n_none < 2:
            verdict, reason = "inconclusive", f"{r.metric}: n={r.n} vs none n={r.n_none}, need >= 2 each"
        elif r.difference > r.threshold and r.p_raises < alpha:
            verdict, reason = "raises", f"{r.metric} {change} > +{r.threshold:g} vs none (Welch p={r.p_raises:.2g})"
        elif r.difference < -r.threshold and r.p_lowers < alpha:
            verdict, reason = "lowers", f"{r.metric} {change} < -{r.threshold:g} vs none (Welch p={r.p_lowers:.2g})"
        elif r.tost_p < alpha:
            verdict = "no change"
            reason = f"{r.metric} {change} within ±{r.threshold:g} of none (TOST p={r.tost_p:.2g})"
        else:
            verdict = "inconclusive"
            reason = (f"{r.metric} {change} vs ±{r.threshold:g} (none; sd {r.std:.3g} / {r.std_none:.3g}, "
                      f"n={r.n}/{r.n_none}): no test significant (p raises {r.p_raises:.2g}, lowers "
                      f"{r.p_lowers:.2g}, TOST {r.tost_p:.2g})")
        verdicts.append(verdict)
        reasons.append(reason)
    return verdicts, reasons
