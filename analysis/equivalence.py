"""Per combination and metric: the comparison with its matching baseline (Welch, TOST) or threshold."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.baselines import match_columns, member_baselines
from analysis.schema import LOG_METRICS, dataset_order, members
from analysis.sequential import config_designs, decide, levels, look_levels, seeds_to_decide
from analysis.stats import drop_tests, one_sample_p, welch_p
from analysis.summary import ok_rows
from analysis.thresholds import Thresholds
from explorer_core import registry, views
from search_spaces.seeds import SeedDesign
from explorer_core.spec import Rule

__all__ = ["COLUMNS", "DROP_METRICS", "equivalence"]

DROP_METRICS: views.Dict[str, tuple[str, str]] = views.Dict(lambda: {
    s.rule.metric: (n, s.rule.threshold.key)
    for n, s in registry.specs().items()
    if s.rule is not None and s.rule.kind == "drop_vs_baseline"
})
"""Metric -> (mechanism that makes it relevant and is its baseline, Thresholds key), from the specs' rules."""

RISE_METRICS: views.FrozenSet[str] = views.FrozenSet(lambda: frozenset(
    m.name for s in registry.specs().values() for m in s.metrics if m.direction == "min" and m.name in DROP_METRICS
))
"""Drop-rule metrics where lower is better: for them the rule's bad change is a rise above the baseline."""


def _absolute_rules() -> list[tuple[str, Rule, Rule | None]]:
    """(mechanism, absolute rule, relative rule it stands beside or None) for every spec with one."""
    out: list[tuple[str, Rule, Rule | None]] = []
    for name, spec in registry.specs().items():
        rule = spec.rule
        if rule is None:
            continue
        if rule.kind in ("max", "min"):
            out.append((name, rule, None))
        elif rule.kind == "fraction_of_baseline" and rule.absolute is not None:
            out.append((name, rule.absolute, rule))
    return out


_LOG_RULE_METRICS: views.FrozenSet[str] = views.FrozenSet(
    lambda: frozenset(r.metric for _, r, _ in _absolute_rules() if r.metric in LOG_METRICS))


def _column(metric: str) -> str:
    """The column a rule's test runs on: ``log10:<metric>`` for p-values, else the metric."""
    return f"log10:{metric}" if metric in _LOG_RULE_METRICS else metric

COLUMNS: tuple[str, ...] = (
    "dataset",
    "model",
    "mechanisms",
    "config_id",
    "metric",
    "baseline",
    "baseline_match",
    "baseline_settings",
    "role",
    "test",
    "scale",
    "n",
    "mean",
    "std",
    "n_baseline",
    "baseline_configs",
    "mean_baseline",
    "std_baseline",
    "difference",
    "threshold",
    "margin",
    "welch_p",
    "tost_p",
    "p_conflict",
    "p_no_conflict",
    "design",
    "look",
    "looks",
    "level",
    "seeds_to_decide",
    "verdict",
    "reason",
)
_TINY = 1e-300  # p-values of 0 are clipped here before log10


def equivalence(
    df: pd.DataFrame, thresholds: Thresholds | None = None, *, designs: dict[str, SeedDesign] | None = None
) -> pd.DataFrame:
    """One row per (combination config, metric, baseline): n, mean, std of both, tests and verdict.

    Combinations are `mechanisms` values with >= 2 mechanisms; each config_id (its seeds) is compared.
    Rows: `acc` against each member's baseline (role "verdict" for the lower baseline mean, "member"
    for the others) and the undefended model ("reference"); `wm.acc` / `adv.acc` against the wm / adv
    baseline; `di.p_value` (log10 scale) against its absolute threshold by a one-sample t-test;
    `rad.loss_gap` against `rad_rel` x the rad-alone mean by Welch's test, with the paper's absolute rule
    beside it (role "paper rule"; it decides when `rad_rel` is 0). Only rows with role "verdict" decide.
    `margin` is how far
    the mean lies inside its threshold (negative: beyond it), in the metric's scale.

    Each test decides at `level`: alpha, or for a config whose rows ran under a sequential seed design
    (`design`, e.g. "2-5/1") the level of the look its n seeds reach (`look` of `looks`, counted from 1;
    `analysis.sequential`; `designs`, config_id -> design, adds to or overrides those the rows carry). An
    inconclusive comparison gets `seeds_to_decide`: about how many seeds per
    group a one-sided test would need to decide it with 80 % power at the level of its design's last look (alpha
    without a design), if its effect and spread hold.
    """
    th = thresholds or Thresholds()
    rows = ok_rows(df)
    logs = {_column(m): np.log10(rows[m].clip(lower=_TINY)) for m in _LOG_RULE_METRICS if m in rows.columns}
    if logs:
        rows = rows.assign(**logs)
    is_combo = rows["mechanisms"].map(lambda v: len(members(v)) >= 2).to_numpy(dtype=bool)
    configs = _config_stats(rows[is_combo])
    if configs.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    designs = {**config_designs(rows[is_combo]), **(designs or {})}
    combos = rows[is_combo]
    sequential = combos[combos["config_id"].isin([c for c, d in designs.items() if d.sequential])]
    seed_sets = {str(cid): frozenset(int(s) for s in group["seed"]) for cid, group in sequential.groupby("config_id")}
    parts = [_drop_rows(configs, rows, th, designs, seed_sets), _absolute_rows(configs, rows, th, designs, seed_sets)]
    out = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    order = out["dataset"].map(lambda d: dataset_order(str(d)))
    out = out.assign(_order=order).sort_values(
        ["_order", "mechanisms", "config_id", "metric", "role"], kind="stable", ignore_index=True
    )
    return out[list(COLUMNS)]


def _config_stats(rows: pd.DataFrame) -> pd.DataFrame:
    wanted = ["acc", *DROP_METRICS, *dict.fromkeys(_column(r.metric) for _, r, _ in _absolute_rules())]
    metrics = [m for m in wanted if m in rows.columns]
    if rows.empty:
        return pd.DataFrame()
    grouped = rows.groupby("config_id", sort=True)
    keys = sorted(
        {
            c
            for m in {"none", *(x for v in rows["mechanisms"].unique() for x in members(v))}
            for c in match_columns(rows, m)
        }
    )
    first = grouped[[c for c in ("model", "mechanisms", *keys) if c in rows.columns and c != "config_id"]].first()
    first = first.loc[:, ~first.columns.duplicated()]
    parts = [first]
    for metric in metrics:
        values = grouped[metric]
        parts += [
            values.count().rename(f"n:{metric}"),
            values.mean().rename(f"mean:{metric}"),
            values.std(ddof=1).rename(f"std:{metric}"),
        ]
    return pd.concat(parts, axis=1).reset_index()


def _with_looks(frame: pd.DataFrame, designs: dict[str, SeedDesign], alpha: float) -> pd.DataFrame:
    """The design, look and level of each comparison (`analysis.sequential.levels`)."""
    chosen = [designs.get(str(c)) for c in frame["config_id"]]
    n = frame["n"].to_numpy(dtype=float)
    frame["design"] = [d.text if d is not None else "" for d in chosen]
    frame["looks"] = [len(d.looks()) if d is not None else 1 for d in chosen]
    frame["look"] = [d.look(int(k)) + 1 if d is not None else 1 for d, k in zip(chosen, n)]
    frame["level"] = levels(chosen, n, alpha)
    # the power calculation sizes a decision at the level of the design's last look (alpha without a design)
    frame["last_level"] = [look_levels(d, alpha)[-1] if d is not None else alpha for d in chosen]
    return frame


def _sizes(frame: pd.DataFrame, std_other: pd.Series | None = None) -> np.ndarray:
    """`seeds_to_decide` of each comparison at its design's last level, and that level in the reason."""
    return np.array([
        seeds_to_decide(m, s, None if std_other is None else o, alpha=a)[()]
        for m, s, o, a in zip(frame["margin"], frame["std"],
                              frame["std"] if std_other is None else std_other, frame["last_level"])
    ], dtype=float)


def _at_level(row: object) -> str:
    """", level 0.0112 at look 8 of 8" for a sequential comparison, else ""."""
    looks = int(getattr(row, "looks"))
    return f", level {getattr(row, 'level'):.2g} at look {int(getattr(row, 'look'))} of {looks}" if looks > 1 else ""


def _sized(row: object) -> str:
    """The power calculation's part of an inconclusive reason."""
    seeds = float(getattr(row, "seeds_to_decide"))
    if np.isnan(seeds):
        return ""
    if np.isinf(seeds):
        return "; the mean sits on the threshold: more seeds would not decide it"
    level = float(getattr(row, "last_level"))
    at = "" if int(getattr(row, "looks")) == 1 else "the last look's "
    return f"; about {int(seeds)} seeds each would decide it (80 % power at {at}level {level:.2g}, if the effect and " \
           "spread hold)"


def _member_baselines(chosen: pd.DataFrame, rows: pd.DataFrame, mech: str, metrics: list[str],
                      seed_sets: dict[str, frozenset[int]]) -> pd.DataFrame:
    """`member_baselines`, except that a config under a sequential design (`seed_sets`: its seeds) is compared
    with the baseline rows of its own seeds. The driver runs a cell and its baselines under the same seed numbers,
    so a cell's data, and with it its tests, change only at its own looks: a shared baseline that another
    cell's looks extend does not test it again (a test the spending would not count)."""
    base = member_baselines(chosen, rows, mech, metrics)
    for cid, seeds in seed_sets.items():
        index = chosen.index[(chosen["config_id"] == cid).to_numpy()]
        if len(index):
            own = member_baselines(chosen.loc[index], rows[rows["seed"].isin(list(seeds)).to_numpy()], mech, metrics)
            base.loc[index, own.columns] = own
    return base


def _drop_rows(
    configs: pd.DataFrame, rows: pd.DataFrame, th: Thresholds, designs: dict[str, SeedDesign],
    seed_sets: dict[str, frozenset[int]]
) -> pd.DataFrame:
    metrics = [m for m in ("acc", *DROP_METRICS) if m in rows.columns]
    mechs = sorted({x for v in configs["mechanisms"] for x in members(v)})
    frames = []
    for mech in [*mechs, "none"]:
        chosen = (
            configs
            if mech == "none"
            else configs[configs["mechanisms"].map(lambda v, m=mech: m in members(v)).to_numpy(dtype=bool)]
        )
        base = _member_baselines(chosen, rows, mech, metrics, seed_sets)
        merged = pd.concat([chosen, base.add_suffix(":base", axis=1)], axis=1)
        for metric in metrics:
            relevant = metric == "acc" or DROP_METRICS[metric][0] == mech
            if not relevant or (mech == "none" and metric != "acc"):
                continue
            threshold = th.acc if metric == "acc" else th.get(DROP_METRICS[metric][1])
            frames.append(_frame(merged, metric, mech, threshold, "reference" if mech == "none" else "verdict"))
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    out = _pick_acc_verdict(out)
    # the metric's worse side: a drop where higher is better, a rise where lower is (the spec's direction)
    sign = np.where(out["metric"].isin(list(RISE_METRICS)).to_numpy(), -1.0, 1.0)
    tests = drop_tests(
        out["n"].to_numpy(dtype=float), sign * out["mean"].to_numpy(dtype=float), out["std"].to_numpy(dtype=float),
        out["n_baseline"].to_numpy(dtype=float), sign * out["mean_baseline"].to_numpy(dtype=float),
        out["std_baseline"].to_numpy(dtype=float), threshold=out["threshold"].to_numpy(dtype=float),
    )
    out = out.assign(**tests, test="welch+tost", scale="linear", margin=out["threshold"] + sign * out["difference"])
    screening = (out["baseline_match"] == "nearest").to_numpy()
    out.loc[screening, ["welch_p", "tost_p", "p_conflict", "p_no_conflict"]] = np.nan  # not the same settings
    out = _with_looks(out, designs, th.alpha)
    out["seeds_to_decide"] = _sizes(out, out["std_baseline"])
    out["verdict"], out["reason"] = _drop_verdicts(out)
    out.loc[out["verdict"] != "inconclusive", "seeds_to_decide"] = np.nan
    return out.drop(columns="last_level")


def _frame(merged: pd.DataFrame, metric: str, mech: str, threshold: float, role: str) -> pd.DataFrame:
    def col(name: str, suffix: str = "") -> pd.Series:
        key = f"{name}:{metric}{suffix}"
        return merged[key] if key in merged.columns else pd.Series(np.nan, index=merged.index)

    n_base = col("n", ":base").fillna(0)
    return pd.DataFrame(
        {
            "dataset": merged["dataset"],
            "model": merged.get("model"),
            "mechanisms": merged["mechanisms"],
            "config_id": merged["config_id"],
            "metric": metric,
            "baseline": mech,
            "baseline_match": merged["match:base"],
            "baseline_settings": merged["baseline_settings:base"],
            "role": role,
            "n": col("n").fillna(0).astype(int),
            "mean": col("mean"),
            "std": col("std"),
            "n_baseline": n_base.astype(int),
            "baseline_configs": merged["n_configs:base"].fillna(0).astype(int),
            "mean_baseline": col("mean", ":base"),
            "std_baseline": col("std", ":base"),
            "difference": col("mean") - col("mean", ":base"),
            "threshold": threshold,
        }
    )


def _pick_acc_verdict(out: pd.DataFrame) -> pd.DataFrame:
    # acc is judged against the lower member baseline; a missing member baseline decides instead.
    member = (out["metric"] == "acc") & (out["baseline"] != "none")
    ranked = (
        out[member]
        .assign(_has=out["n_baseline"] > 0)
        .sort_values(["config_id", "_has", "mean_baseline"], kind="stable")
    )
    chosen = ranked.groupby("config_id", sort=False).head(1).index
    out.loc[member, "role"] = "member"
    out.loc[chosen, "role"] = "verdict"
    return out


def _drop_verdicts(out: pd.DataFrame) -> tuple[list[str], list[str]]:
    verdicts, reasons = [], []
    for row in out.itertuples(index=False):
        alpha, at = row.level, _at_level(row)
        rises = row.metric in RISE_METRICS
        drop = row.difference if rises else -row.difference  # the change to the worse side
        shown = f"{round(drop, 3) + 0.0:.3f}"  # never "-0.000"
        noun, verb = ("rise", "rises") if rises else ("drop", "drops")
        if row.n == 0:
            verdict, reason = "inconclusive", f"{row.metric}: no values for the combination"
        elif row.baseline_configs == 0:
            verdict, reason = "inconclusive", f"{row.metric}: no matching '{row.baseline}' baseline"
        elif row.n_baseline == 0:
            verdict, reason = "inconclusive", f"{row.metric}: the '{row.baseline}' baseline has no values"
        elif row.baseline_match == "nearest":
            verdict = "inconclusive"
            reason = (
                f"{row.metric}: screening only, no '{row.baseline}' baseline at these settings "
                f"(nearest: {row.baseline_settings}; {noun} {shown} vs {row.threshold:g})"
            )
        elif row.n < 2 or row.n_baseline < 2:
            verdict, reason = "inconclusive", f"{row.metric}: n={row.n} vs baseline n={row.n_baseline}, need >= 2 each"
        elif (tested := str(decide(drop > row.threshold, row.p_conflict, row.p_no_conflict, alpha))) == "conflict":
            verdict, reason = (
                "conflict",
                f"{row.metric} {verb} {shown} > {row.threshold:g} vs {row.baseline} (Welch p={row.p_conflict:.2g}{at})",
            )
        elif tested == "no conflict":
            verdict, reason = (
                "no conflict",
                f"{row.metric} {noun} {shown} < {row.threshold:g} vs {row.baseline} "
                f"(TOST lower p={row.p_no_conflict:.2g}{at})",
            )
        else:
            verdict = "inconclusive"
            spread = f"sd {row.std:.3g} / {row.std_baseline:.3g}, n={row.n}/{row.n_baseline}"
            reason = (
                f"{row.metric} {noun} {shown} vs {row.threshold:g} ({row.baseline}; {spread}): neither test "
                f"significant (Welch p={row.p_conflict:.2g}, TOST lower p={row.p_no_conflict:.2g}{at})"
                + _sized(row)
            )
        verdicts.append(verdict)
        reasons.append(reason)
    return verdicts, reasons


def _stat(frame: pd.DataFrame, kind: str, column: str) -> pd.Series:
    """The `kind:column` statistic (n, mean, std) of each row, NaN where the column is absent."""
    key = f"{kind}:{column}"
    return frame[key] if key in frame.columns else pd.Series(np.nan, index=frame.index)


def _absolute_rows(
    configs: pd.DataFrame, rows: pd.DataFrame, th: Thresholds, designs: dict[str, SeedDesign],
    seed_sets: dict[str, frozenset[int]]
) -> pd.DataFrame:
    # Each spec's absolute rule (di.p_value below di_p on a log10 scale, rad.loss_gap reaching rad_gap). The
    # mechanism's own baseline is attached for reference: when it misses the threshold too, the reason says so.
    frames = []
    for mech, rule, relative in _absolute_rules():
        metric, column = rule.metric, _column(rule.metric)
        value = th.get(rule.threshold.key)
        bound = math.log10(value) if column != metric else value
        bad_side = "greater" if rule.kind == "max" else "less"
        scale = "log10" if column != metric else "linear"
        chosen = configs[configs["mechanisms"].map(lambda v, m=mech: m in members(v)).to_numpy(dtype=bool)]
        if chosen.empty:
            continue
        n, mean, std = (_stat(chosen, kind, column) for kind in ("n", "mean", "std"))
        n = n.fillna(0).astype(int)
        base = _member_baselines(chosen, rows, mech, [column], seed_sets).add_suffix(":base", axis=1)
        base_n = _stat(base, "n", f"{column}:base")
        good_side = "less" if bad_side == "greater" else "greater"
        frame = pd.DataFrame(
            {
                "dataset": chosen["dataset"],
                "model": chosen.get("model"),
                "mechanisms": chosen["mechanisms"],
                "config_id": chosen["config_id"],
                "metric": metric,
                "baseline": mech,
                "baseline_match": base["match:base"].to_numpy(),
                "baseline_settings": base["baseline_settings:base"].to_numpy(),
                "role": "verdict",
                "test": "one-sample t",
                "scale": scale,
                "n": n,
                "mean": mean,
                "std": std,
                "n_baseline": base_n.fillna(0).astype(int).to_numpy(),
                "baseline_configs": base["n_configs:base"].fillna(0).astype(int).to_numpy(),
                "mean_baseline": _stat(base, "mean", f"{column}:base").to_numpy(),
                "std_baseline": _stat(base, "std", f"{column}:base").to_numpy(),
                "difference": mean - bound,
                "threshold": bound,
                "margin": (bound - mean) if bad_side == "greater" else (mean - bound),
                "welch_p": np.nan,
                "tost_p": np.nan,
                "p_conflict": one_sample_p(mean, std, n, bound, bad_side),
                "p_no_conflict": one_sample_p(mean, std, n, bound, good_side),
            }
        )
        frame = _with_looks(frame, designs, th.alpha)
        frame["seeds_to_decide"] = _sizes(frame)
        frame["verdict"], frame["reason"] = _absolute_verdicts(frame, bad_side)
        frame.loc[frame["verdict"] != "inconclusive", "seeds_to_decide"] = np.nan
        if relative is not None and th.get(relative.threshold.key) > 0:
            # ours decides (a fraction of the mechanism-alone mean); the paper's absolute rule is shown beside it
            frames.append(_relative(frame, mech, th.get(relative.threshold.key), value).drop(columns="last_level"))
            frame["role"] = "paper rule"
        frames.append(frame.drop(columns="last_level"))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _relative(absolute: pd.DataFrame, mech: str, rel: float, bound: float) -> pd.DataFrame:
    """The verdict rows of a ``fraction_of_baseline`` rule (the radioactive one: `rad.loss_gap` must keep
    `rad_rel` of the rad-alone mean); `bound` is the absolute rule's, named in the reason when the baseline misses it.

    Welch's test of mean - rel * mean_baseline (the baseline's spread scaled with it): below 0 significantly
    is a conflict, above 0 significantly is no conflict. Only an exact baseline decides (docs/metrics.md 19).
    """
    frame = absolute.copy()
    metric = str(frame["metric"].iloc[0]) if len(frame) else ""
    threshold = rel * frame["mean_baseline"]
    frame["test"] = f"welch vs {rel:g} x baseline"
    frame["threshold"] = threshold
    frame["difference"] = frame["mean"] - threshold
    frame["margin"] = frame["mean"] - threshold
    stats = (frame["mean"], frame["std"], frame["n"], threshold, rel * frame["std_baseline"], frame["n_baseline"])
    frame["welch_p"] = np.nan
    frame["p_conflict"] = welch_p(*stats, alternative="less")
    frame["p_no_conflict"] = welch_p(*stats, alternative="greater")
    frame["seeds_to_decide"] = _sizes(frame, rel * frame["std_baseline"])
    # a fraction of a gap means something only where rad alone marks its data at all (gap > 0)
    marks = one_sample_p(frame["mean_baseline"], frame["std_baseline"], frame["n_baseline"], 0.0, "greater")
    verdicts, reasons = [], []
    for row, p_marks in zip(frame.itertuples(index=False), np.asarray(marks, dtype=float)):
        alpha, at = row.level, _at_level(row)
        shown = f"mean {metric} {row.mean:.3g} vs {rel:g} x {mech} alone ({row.mean_baseline:.3g})"
        if row.n < 2 or row.n_baseline < 2:
            verdict, reason = "inconclusive", f"{metric}: n={row.n} vs baseline n={row.n_baseline}, need >= 2 each"
        elif row.baseline_match != "exact":
            verdict = "inconclusive"
            reason = f"{metric}: no matching '{mech}' baseline ({row.baseline_match}: {row.baseline_settings})"
        elif not p_marks < alpha:
            verdict = "inconclusive"
            reason = (f"{metric}: {mech} alone misses: its mean {row.mean_baseline:.3g} is not above 0 "
                      f"(p={p_marks:.2g}), so no fraction of it can be kept")
        elif (tested := str(decide(row.difference < 0, row.p_conflict, row.p_no_conflict, alpha))) == "conflict":
            verdict, reason = "conflict", f"{shown}: below (Welch p={row.p_conflict:.2g}{at})"
        elif tested == "no conflict":
            verdict, reason = "no conflict", f"{shown}: not below (Welch p={row.p_no_conflict:.2g}{at})"
        else:
            verdict = "inconclusive"
            reason = (f"{shown}: not significant (p={row.p_conflict:.2g} / {row.p_no_conflict:.2g}{at}; "
                      f"sd {row.std:.3g}, n={row.n}/{row.n_baseline})" + _sized(row))
        if verdict != "inconclusive" and row.mean_baseline < bound:
            reason += f"; {mech} alone misses the paper's absolute rule ({row.mean_baseline:.3g} < {bound:g})"
        verdicts.append(verdict)
        reasons.append(reason)
    frame["verdict"], frame["reason"] = verdicts, reasons
    frame.loc[frame["verdict"] != "inconclusive", "seeds_to_decide"] = np.nan
    return frame


def _absolute_verdicts(frame: pd.DataFrame, bad_side: str) -> tuple[list[str], list[str]]:
    verdicts, reasons = [], []
    word = "above" if bad_side == "greater" else "below"
    for row in frame.itertuples(index=False):
        alpha, at = row.level, _at_level(row)
        shown = f"mean {row.scale} {row.metric}" if row.scale == "log10" else f"mean {row.metric}"
        on_bad_side = row.difference > 0 if bad_side == "greater" else row.difference < 0
        if row.n < 2:
            verdict, reason = "inconclusive", f"{row.metric}: n={row.n}, need >= 2"
        elif (tested := str(decide(on_bad_side, row.p_conflict, row.p_no_conflict, alpha))) == "conflict":
            verdict, reason = (
                "conflict",
                f"{shown} {row.mean:.3g} {word} {row.threshold:.3g} (t-test p={row.p_conflict:.2g}{at})",
            )
        elif tested == "no conflict":
            verdict, reason = (
                "no conflict",
                f"{shown} {row.mean:.3g} not {word} {row.threshold:.3g} (t-test p={row.p_no_conflict:.2g}{at})",
            )
        else:
            verdict = "inconclusive"
            reason = (
                f"{shown} {row.mean:.3g} vs {row.threshold:.3g}: not significant "
                f"(p={row.p_conflict:.2g} / {row.p_no_conflict:.2g}{at}; sd {row.std:.3g}, n={row.n})"
                + _sized(row)
            )
        base_bad = row.mean_baseline > row.threshold if bad_side == "greater" else row.mean_baseline < row.threshold
        if row.n_baseline and base_bad:
            where = f", nearest settings {row.baseline_settings}" if row.baseline_match == "nearest" else ""
            reason += f"; {row.baseline} alone misses it too (mean {row.mean_baseline:.3g}{where})"
        verdicts.append(verdict)
        reasons.append(reason)
    return verdicts, reasons
