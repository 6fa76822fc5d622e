"""The paper's tables from a reproduction's rows, side by side with the paper (docs/reproduction.md).

`reproduction_tables(df)` computes every table as a DataFrame of text cells ("ours / paper"); `write_document`
fills a Markdown template's `{{name}}` placeholders with them, so the prose (scale, deviations, the measured
reason of each disagreement) lives in the template and every figure comes from the rows:

    explorer reproduction results/reproduction --template reproduction/template.md --out docs/reproduction.md

Which rows are "the paper's setting" is decided by knob values (`PAPER_KNOBS`), so that one output folder
can hold the pairs, the decoupled variants and the sweeps of a dataset together.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from pathlib import Path

import numpy as np
import pandas as pd

from reproduction import paper
from analysis.conflicts import ConflictMatrix, conflicts
from analysis.errors import AnalysisInputError
from analysis.load import load
from analysis.plot_data import SweepData
from analysis.plots import plot_sweeps, save
from analysis.summary import ok_rows
from analysis.thresholds import Thresholds

__all__ = ["DATASETS", "PAPER_KNOBS", "RAD_RECIPES", "SWEEPS_FIGURE", "Reproduction", "paper_setting",
           "reproduction_tables", "write_document", "format_p", "wall_hours"]

DATASETS: dict[str, str] = {"mnist": "MNIST", "fashion_mnist": "FMNIST", "cifar10": "CIFAR-10"}
PAPER_KNOBS: dict[str, object] = {
    "dp.target_epsilon": 3.0, "wm.trigger_size": 100, "wm.decoupled": False, "rad.decoupled": False,
    "adv.gamma": 0.125, "di.independent": False, "di.samples": 300, "data.train_subset": 10000, "train.epochs": 10,
    "rad.radius": 25 / 255, "rad.lambda_logit": 100.0,  # the marks of the committed rows (docs/metrics.md, 20)
}
"""The knob values of the paper's main experiments (Tables 2, 4, 5, 11) at the reproduction's scale (DI walks
300 + 300 images; `repro-mnist-di-scale` walks 1000 + 1000, `repro-mnist-di-epochs` trains 40 epochs; the legacy
marking recipe, so that the reruns with decision 20's marks stay out of the main tables); a row matches where it
has the knob."""

#: The legend names of Figures 1-2's metrics (in colour order) and their x axes (label, log scale).
SWEEP_LABELS: dict[str, str] = {"acc": "accuracy", "adv.acc": "φ_ADV", "wm.acc": "φ_WM"}
SWEEP_AXES: dict[str, tuple[str, bool]] = {"dp.target_epsilon": ("DP-SGD ε (target)", True),
                                           "adv.gamma": ("training γ (px)", False)}

#: The radioactive marking recipes whose rows the reproduction holds (docs/metrics.md, decision 20), each by the two
#: knobs that tell them apart; the main tables take the first (the committed rows').
RAD_RECIPES: dict[str, dict[str, object]] = {
    "legacy (25/255, λ_logit 100)": {"rad.radius": 25 / 255, "rad.lambda_logit": 100.0},
    "decision 20 (32/255, λ_logit 10)": {"rad.radius": 32 / 255, "rad.lambda_logit": 10.0},
}

SWEEPS_FIGURE = "reproduction-sweeps.png"
"""The file name of Figures 1-2, written under `img/` beside the document."""

NO_DATA = "no data"
"""A verdict cell whose pair has no rows yet (its search has not run): neither agreement nor disagreement."""
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z0-9_]+)\s*\}\}")


def format_p(p: float) -> str:
    """A p-value for a table: 3 significant digits, "< 1e-300" for an underflow to 0."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    if p == 0:
        return "< 1e-300"
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


def _num(v: float, digits: int = 3) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _matches(rows: pd.DataFrame, knobs: Mapping[str, object]) -> np.ndarray:
    keep = np.ones(len(rows), dtype=bool)
    for key, want in knobs.items():
        if key not in rows.columns:
            continue
        col = rows[key]
        present = col.notna().to_numpy()
        if isinstance(want, bool):
            same = (col.astype("boolean") == want).fillna(False).to_numpy(dtype=bool)
        else:
            same = np.isclose(pd.to_numeric(col, errors="coerce").to_numpy(dtype=float), float(want))  # type: ignore
        keep &= ~present | same
    return keep


def paper_setting(rows: pd.DataFrame, **overrides: object) -> pd.DataFrame:
    """The ok rows at the paper's knob values (`PAPER_KNOBS` updated with `overrides`)."""
    ok = ok_rows(rows)
    return ok[_matches(ok, {**PAPER_KNOBS, **overrides})]


def _stats(rows: pd.DataFrame, mechanisms: str, metric: str) -> tuple[float, float, int]:
    values = rows.loc[rows["mechanisms"] == mechanisms, metric] if metric in rows.columns else pd.Series(dtype=float)
    values = pd.to_numeric(values, errors="coerce").dropna()
    return (float(values.mean()) if len(values) else math.nan, float(values.std(ddof=1)) if len(values) > 1 else
            math.nan, int(len(values)))


def _cell(rows: pd.DataFrame, mechanisms: str, metric: str, ref: float | None, *, p_value: bool = False) -> str:
    mean, std, n = _stats(rows, mechanisms, metric)
    if n == 0:
        ours = "—"
    elif p_value:
        values = pd.to_numeric(rows.loc[rows["mechanisms"] == mechanisms, metric], errors="coerce").dropna()
        ours = f"{format_p(float(values.max()))} (max of {n})"
    else:
        ours = f"{_num(mean)} ± {_num(std)}" if n > 1 else _num(mean)
    if ref is None:
        return ours
    theirs = (f"< {paper.DI_BELOW:g}" if p_value and ref == paper.DI_BELOW
              else (format_p(ref) if p_value else f"{ref:g}"))
    return f"{ours} / {theirs}"


@dataclass(frozen=True)
class Reproduction:
    """Every table of docs/reproduction.md as a DataFrame of text cells, plus the verdict comparison."""

    tables: dict[str, pd.DataFrame]
    verdicts: pd.DataFrame  # one row per (pair, dataset): ours, the paper's, agree
    agreement: str
    sweeps: SweepData  # the points of Figures 1-2, for `plots.plot_sweeps`


def reproduction_tables(df: pd.DataFrame, thresholds: Thresholds | None = None) -> Reproduction:
    """Tables 2, 4, 5, 6-8, 10 and 11 and the sweeps, from the rows of a reproduction (all datasets)."""
    th = thresholds or Thresholds()
    if df.empty or "dataset" not in df.columns:
        raise AnalysisInputError("the reproduction rows are empty: expected the Parquet rows of its searches")
    datasets = [d for d in DATASETS if d in set(df["dataset"])]
    main = paper_setting(df)
    tables: dict[str, pd.DataFrame] = {}
    tables["table2"] = _table2(main, datasets)
    tables["table4"] = _pairs_table(main, datasets, "dp")
    tables["table5"] = _pairs_table(main, datasets, "adv")
    verdicts = _verdicts(main, datasets, th)
    tables["verdicts"] = verdicts.drop(columns=["agree_bool", "agree_absolute_bool", "reasons"], errors="ignore")
    tables["disagreements"] = _disagreements(verdicts)
    decoupled = _relaxed(paper_setting(df, **{"wm.decoupled": True, "rad.decoupled": True}))
    tables["decoupled"] = _decoupled(main, decoupled, datasets)
    tables["decoupled_verdicts"] = _decoupled_verdicts(main, decoupled, datasets, th)
    tables["rad_recipes"] = _rad_recipes(df, datasets, th)
    tables["table10"] = _table10(ok_rows(df), datasets)
    tables["di_scale"] = _di_scale(ok_rows(df), datasets)
    every = conflicts(ok_rows(df), th)  # every setting's verdict against its own baselines
    tables["advtr_training"] = _advtr_training(ok_rows(df), datasets, every)
    (dp_wm, gamma) = _SWEEPS
    tables["sweep_dp_wm"] = _sweep(ok_rows(df), datasets, *dp_wm, ["acc", "wm.acc", "dp.epsilon"],
                                   verdicts=every, paper_verdict=_paper_sweep_verdict)
    tables["sweep_gamma"] = _sweep(ok_rows(df), datasets, *gamma, ["acc", "wm.acc", "adv.acc"],
                                   verdicts=every, paper_verdict=_paper_sweep_verdict)
    sweeps = SweepData(title="Figures 1-2 at the reproduction's scale",
                       table=_sweep_points(ok_rows(df), datasets, every), metric_labels=SWEEP_LABELS,
                       knob_axes=SWEEP_AXES)
    tables["runs"] = _runs(df)
    agree = int(verdicts["agree_bool"].sum())
    judged = int(verdicts["ours"].isin(["conflict", "no conflict"]).sum())
    missing = int((verdicts["ours"] == NO_DATA).sum())
    agreement = (f"{agree} of {len(verdicts)} cells agree with the paper's verdict ({judged} reached a verdict, "
                 f"{len(verdicts) - judged - missing} inconclusive, {missing} without rows yet); with the paper's "
                 f"absolute φ_RAD rule in place of ours, {int(verdicts['agree_absolute_bool'].sum())} of "
                 f"{len(verdicts)}")
    relaxed = tables["decoupled_verdicts"]
    agreement += (f"; of the relaxed variants (Tables 6-8), {_count(relaxed, 'yes')} of {_count(relaxed, 'yes', 'no')} "
                  f"judged agree ({int((relaxed['ours'] == NO_DATA).sum())} without rows yet)")
    points = pd.concat([tables["sweep_dp_wm"], tables["sweep_gamma"]])
    agreement += (f"; of the sweep points run where the paper states a verdict (Figures 1-2), "
                  f"{_count(points, 'yes')} of {_count(points, 'yes', 'no')} judged agree")
    return Reproduction(tables=tables, verdicts=verdicts, agreement=agreement, sweeps=sweeps)


def _count(table: pd.DataFrame, *agree: str) -> int:
    return int(table["agree"].isin(agree).sum()) if "agree" in table else 0


def _table2(rows: pd.DataFrame, datasets: list[str]) -> pd.DataFrame:
    cols = [("none acc", "none", "acc", "none.acc"), ("ADVTR acc", "adv", "acc", "adv.acc"),
            ("ADVTR φ_ADV", "adv", "adv.acc", "adv.adv.acc"), ("DPSGD acc", "dp", "acc", "dp.acc"),
            ("WM acc", "wm", "acc", "wm.acc"), ("WM φ_WM", "wm", "wm.acc", "wm.wm.acc"),
            ("RAD acc", "rad", "acc", "rad.acc"), ("RAD φ_RAD", "rad", "rad.loss_gap", "rad.rad.loss_gap"),
            ("DI φ_DI", "di", "di.p_value", "di.di.p_value")]
    out = []
    for d in datasets:
        ref = paper.BASELINES.get(d, {})
        sub = rows[rows["dataset"] == d]
        out.append({"dataset": DATASETS[d], **{name: _cell(sub, mech, metric, ref.get(key),
                                                            p_value=metric == "di.p_value")
                                                for name, mech, metric, key in cols}})
    return pd.DataFrame(out)


def _pairs_table(rows: pd.DataFrame, datasets: list[str], base: str) -> pd.DataFrame:
    ref_pairs = paper.DP_PAIRS if base == "dp" else paper.ADV_PAIRS
    wm, rad, di = (f"{base}+wm" if base < "wm" else f"wm+{base}", f"{base}+rad" if base < "rad" else f"rad+{base}",
                   f"di+{base}" if "di" < base else f"{base}+di")
    out = []
    for d in datasets:
        sub, b, p = rows[rows["dataset"] == d], paper.BASELINES.get(d, {}), ref_pairs.get(d, {})
        row = {"dataset": DATASETS[d], f"{base.upper()} acc": _cell(sub, base, "acc", b.get(f"{base}.acc"))}
        row["WM alone acc"] = _cell(sub, "wm", "acc", b.get("wm.acc"))
        row["WM alone φ_WM"] = _cell(sub, "wm", "wm.acc", b.get("wm.wm.acc"))
        row[f"+{base.upper()} acc"] = _cell(sub, wm, "acc", p.get(wm, {}).get("acc"))
        row[f"+{base.upper()} φ_WM"] = _cell(sub, wm, "wm.acc", p.get(wm, {}).get("wm.acc"))
        if base == "adv":
            row["+ADV φ_ADV (WM)"] = _cell(sub, wm, "adv.acc", p.get(wm, {}).get("adv.acc"))
        row["RAD alone acc"] = _cell(sub, "rad", "acc", b.get("rad.acc"))
        row["RAD alone φ_RAD"] = _cell(sub, "rad", "rad.loss_gap", b.get("rad.rad.loss_gap"))
        row[f"+{base.upper()} acc (RAD)"] = _cell(sub, rad, "acc", p.get(rad, {}).get("acc"))
        row[f"+{base.upper()} φ_RAD"] = _cell(sub, rad, "rad.loss_gap", p.get(rad, {}).get("rad.loss_gap"))
        if base == "adv":
            row["+ADV φ_ADV (RAD)"] = _cell(sub, rad, "adv.acc", p.get(rad, {}).get("adv.acc"))
        row[f"+{base.upper()} φ_DI"] = _cell(sub, di, "di.p_value", p.get(di, {}).get("di.p_value"), p_value=True)
        out.append(row)
    return pd.DataFrame(out)


_VERDICT_COLUMNS = ["pair", "dataset", "ours", "deciding metrics", "evidence (mean vs threshold or baseline; p-values)",
                    "paper", "agree", "paper's absolute φ_RAD rule", "agree_bool", "agree_absolute_bool", "reasons"]


def _agrees(ours: str, metrics: str, paper_verdict: str, paper_metric: str) -> bool:
    return ours == paper_verdict and (ours != "conflict" or paper_metric in metrics.split(", "))


def _absolute_rule(eq: pd.DataFrame) -> pd.DataFrame:
    """The equivalence table with the paper's absolute φ_RAD rule deciding in place of the relative one."""
    relative = (eq["role"] == "verdict") & (eq["metric"] == "rad.loss_gap")
    keys = ["dataset", "model", "mechanisms", "config_id"]
    has_paper_rule = eq[keys].apply(tuple, axis=1).isin(set(eq.loc[eq["role"] == "paper rule", keys]
                                                            .apply(tuple, axis=1)))
    out = eq[~(relative & has_paper_rule)].copy()
    out.loc[out["role"] == "paper rule", "role"] = "verdict"
    return out


def _verdicts(rows: pd.DataFrame, datasets: list[str], th: Thresholds) -> pd.DataFrame:
    matrix = conflicts(rows, th)
    eq = matrix.equivalence
    cells_abs = conflicts(rows, th, equivalence_table=_absolute_rule(eq)).cells if len(eq) else matrix.cells
    out = []
    for (pair, d), (their_verdict, their_metric) in paper.VERDICTS.items():
        if d not in datasets:
            continue
        cell = matrix.cells[(matrix.cells["mechanisms"] == pair) & (matrix.cells["dataset"] == d)]
        ours = str(cell["verdict"].iloc[0]) if len(cell) else NO_DATA
        metrics = str(cell["metrics"].iloc[0]) if len(cell) else ""
        decisive = eq[(eq["mechanisms"] == pair) & (eq["dataset"] == d) & (eq["role"] == "verdict")]
        evidence = "; ".join(
            f"{r.metric} {_num(r.mean)} vs {_num(r.threshold if r.test != 'welch+tost' else r.mean_baseline)}"
            f" (p_conflict {format_p(r.p_conflict)}, p_no_conflict {format_p(r.p_no_conflict)})"
            for r in decisive.itertuples())
        # the paper's absolute φ_RAD rule, computed beside ours (docs/metrics.md, decision 19)
        reference = eq[(eq["mechanisms"] == pair) & (eq["dataset"] == d) & (eq["role"] == "paper rule")]
        absolute = ", ".join(f"{r.verdict} ({r.metric} {_num(r.mean)} vs {_num(r.threshold)})"
                             for r in reference.itertuples())
        agree = _agrees(ours, metrics, their_verdict, their_metric)
        cell_abs = cells_abs[(cells_abs["mechanisms"] == pair) & (cells_abs["dataset"] == d)]
        agree_abs = bool(len(cell_abs)) and _agrees(str(cell_abs["verdict"].iloc[0]), str(cell_abs["metrics"].iloc[0]),
                                                    their_verdict, their_metric)
        out.append({"pair": pair, "dataset": DATASETS[d], "ours": ours, "deciding metrics": metrics,
                    "evidence (mean vs threshold or baseline; p-values)": evidence,
                    "paper": their_verdict + (f": {their_metric}" if their_metric else ""),
                    "agree": "—" if ours == NO_DATA else "yes" if agree else "no",
                    "paper's absolute φ_RAD rule": absolute,
                    "agree_bool": agree, "agree_absolute_bool": agree_abs,
                    "reasons": "; ".join(decisive["reason"].astype(str))})
    return pd.DataFrame(out, columns=_VERDICT_COLUMNS)


def _rad_recipes(df: pd.DataFrame, datasets: list[str], th: Thresholds) -> pd.DataFrame:
    """RAD alone and its pairs at each marking recipe (`RAD_RECIPES`), labelled by recipe: φ_RAD and accuracy
    beside the undefended model's and the paper's, and the verdicts of dp+rad, adv+rad and adv+rad with RAD
    decoupled against baselines of the same recipe (the undefended, DP and ADVTR rows are shared)."""
    out = []
    for label, knobs in RAD_RECIPES.items():
        rows = paper_setting(df, **knobs)
        verdicts = _verdicts(rows, datasets, th).set_index(["pair", "dataset"])
        relaxed = _decoupled_verdicts(rows, _relaxed(paper_setting(df, **knobs, **{"rad.decoupled": True})),
                                      datasets, th).set_index(["pair", "dataset"])

        def verdict(table: pd.DataFrame, pair: str, d: str) -> str:
            if (pair, DATASETS[d]) not in table.index:
                return ""
            row = table.loc[(pair, DATASETS[d])]
            if row["ours"] == NO_DATA:
                return NO_DATA
            return f"{row['ours']} (paper: {row['paper']}; agree: {row['agree']})"

        for d in datasets:
            sub = rows[rows["dataset"] == d]
            ref = paper.BASELINES.get(d, {})
            out.append({"recipe": label, "dataset": DATASETS[d],
                        "none acc": _cell(sub, "none", "acc", ref.get("none.acc")),
                        "RAD acc": _cell(sub, "rad", "acc", ref.get("rad.acc")),
                        "RAD φ_RAD": _cell(sub, "rad", "rad.loss_gap", ref.get("rad.rad.loss_gap")),
                        "dp+rad": verdict(verdicts, "dp+rad", d), "adv+rad": verdict(verdicts, "adv+rad", d),
                        "adv+rad, RAD decoupled": verdict(relaxed, "adv+rad (relaxed)", d)})
    columns = ["recipe", "dataset", "none acc", "RAD acc", "RAD φ_RAD", "dp+rad", "adv+rad",
               "adv+rad, RAD decoupled"]
    return pd.DataFrame(out, columns=columns)


def _disagreements(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The cells with rows whose verdict differs from the paper's, with the analysis's own reasons."""
    columns = ["pair", "dataset", "ours", "paper", "the analysis's reasons"]
    if verdicts.empty:
        return pd.DataFrame(columns=columns)
    rows = verdicts[~verdicts["agree_bool"] & (verdicts["ours"] != NO_DATA)]
    return pd.DataFrame({"pair": rows["pair"], "dataset": rows["dataset"], "ours": rows["ours"],
                         "paper": rows["paper"], "the analysis's reasons": rows["reasons"]})


def _relaxed(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows trained with a decoupled mechanism: a pair without WM or RAD has nothing to relax (Section 7)."""
    flags = [rows[c].astype("boolean").fillna(False).to_numpy(dtype=bool)
             for c in ("wm.decoupled", "rad.decoupled") if c in rows.columns]
    return rows[np.logical_or.reduce(flags)] if flags else rows.iloc[0:0]


def _decoupled(coupled: pd.DataFrame, relaxed: pd.DataFrame, datasets: list[str]) -> pd.DataFrame:
    out = []
    for d in datasets:
        for pair, protection in (("adv+wm", "wm.acc"), ("adv+rad", "rad.loss_gap"), ("dp+wm", "wm.acc")):
            c, r = coupled[coupled["dataset"] == d], relaxed[relaxed["dataset"] == d]
            flag = "rad.decoupled" if "rad" in pair else "wm.decoupled"
            r = r[(r[flag].astype("boolean") == True).fillna(False).to_numpy(dtype=bool)] if flag in r else r.iloc[0:0]  # noqa: E712
            pc = {**paper.DP_PAIRS.get(d, {}), **paper.ADV_PAIRS.get(d, {})}.get(pair, {})
            pr = paper.DECOUPLED.get(d, {}).get(pair, {})
            row = {"pair": pair, "dataset": DATASETS[d],
                   "coupled acc": _cell(c, pair, "acc", pc.get("acc")),
                   "coupled protection": _cell(c, pair, protection, pc.get(protection)),
                   "relaxed acc": _cell(r, pair, "acc", pr.get("acc")),
                   "relaxed protection": _cell(r, pair, protection, pr.get(protection))}
            if pair.startswith("adv"):
                row["coupled φ_ADV"] = _cell(c, pair, "adv.acc", pc.get("adv.acc"))
                row["relaxed φ_ADV"] = _cell(r, pair, "adv.acc", pr.get("adv.acc"))
            out.append(row)
    return pd.DataFrame(out)


def _decoupled_verdicts(coupled: pd.DataFrame, relaxed: pd.DataFrame, datasets: list[str],
                        th: Thresholds) -> pd.DataFrame:
    """Each relaxed pair judged against the ordinary (coupled) baselines, beside the paper's Section 7 verdict."""
    columns = ["pair", "dataset", "ours", "deciding metrics", "paper", "agree", "under the paper's absolute φ_RAD rule"]
    rows = pd.concat([coupled[coupled["mechanisms"].map(lambda m: "+" not in str(m)).to_numpy(dtype=bool)],
                      relaxed[relaxed["mechanisms"].map(lambda m: "+" in str(m)).to_numpy(dtype=bool)]])
    has_pairs = (rows["mechanisms"].map(lambda m: "+" in str(m))).any() if len(rows) else False
    empty = pd.DataFrame(columns=["mechanisms", "dataset", "verdict", "metrics"])
    matrix = conflicts(rows, th) if has_pairs else None
    cells = matrix.cells if matrix is not None else empty
    cells_abs = (conflicts(rows, th, equivalence_table=_absolute_rule(matrix.equivalence)).cells
                 if matrix is not None and len(matrix.equivalence) else cells)
    out = []
    for d in datasets:
        for (pair, dataset), (their_verdict, their_metric) in paper.DECOUPLED_VERDICTS.items():
            if dataset != d:
                continue
            cell = cells[(cells["mechanisms"] == pair) & (cells["dataset"] == d)]
            ours = str(cell["verdict"].iloc[0]) if len(cell) else NO_DATA
            metrics = str(cell["metrics"].iloc[0]) if len(cell) else ""
            agree = _agrees(ours, metrics, their_verdict, their_metric)
            absolute = ""
            if "rad" in pair and len(cell):
                cell_abs = cells_abs[(cells_abs["mechanisms"] == pair) & (cells_abs["dataset"] == d)]
                verdict_abs, metrics_abs = str(cell_abs["verdict"].iloc[0]), str(cell_abs["metrics"].iloc[0])
                absolute = (verdict_abs + (f": {metrics_abs}" if metrics_abs else "") + "; agrees: "
                            + ("yes" if _agrees(verdict_abs, metrics_abs, their_verdict, their_metric) else "no"))
            out.append({"pair": f"{pair} (relaxed)", "dataset": DATASETS[d], "ours": ours, "deciding metrics": metrics,
                        "paper": their_verdict + (f": {their_metric}" if their_metric else ""),
                        "agree": "—" if ours == NO_DATA else "yes" if agree else "no",
                        "under the paper's absolute φ_RAD rule": absolute})
    return pd.DataFrame(out, columns=columns)


def _table10(rows: pd.DataFrame, datasets: list[str]) -> pd.DataFrame:
    if "di.independent" not in rows.columns:
        return pd.DataFrame(columns=["dataset"])
    sub = rows[(rows["di.independent"].astype("boolean") == True).fillna(False).to_numpy(dtype=bool)]  # noqa: E712
    out = []
    for d in datasets:
        s = sub[sub["dataset"] == d]
        if s.empty:
            continue
        row = {"dataset": DATASETS[d], "models": str(len(s))}
        for key, label in (("di.p_value", "victim (half A)"), ("di.p_value_unseen", "unseen half B as members"),
                           ("di.p_value_independent", "model trained on half B")):
            values = pd.to_numeric(s[key], errors="coerce").dropna() if key in s else pd.Series(dtype=float)
            ours = ", ".join(format_p(float(v)) for v in values) or "—"
            row[label] = f"{ours} / {format_p(paper.DI_TABLE10[key])} (CIFAR-10)"
        out.append(row)
    return pd.DataFrame(out)


def _di_scale(rows: pd.DataFrame, datasets: list[str]) -> pd.DataFrame:
    """DI alone by training set, epochs and walked images: where φ_DI reaches the paper's 1e-3 rule on every seed,
    and where its < 1e-30."""
    columns = ["dataset", "training images", "epochs", "walked images", "seeds", "φ_DI (di.p_value) per seed",
               "m = 10 variant per seed", "≤ 1e-3 on every seed", f"< {paper.DI_BELOW:g} on every seed"]
    need = ["data.train_subset", "train.epochs", "di.samples", "di.p_value"]
    if any(k not in rows.columns for k in need):
        return pd.DataFrame(columns=columns)
    alone = rows[(rows["mechanisms"] == "di").to_numpy(dtype=bool)]
    if "di.independent" in alone.columns:
        alone = alone[~(alone["di.independent"].astype("boolean") == True).fillna(False).to_numpy(dtype=bool)]  # noqa: E712
    out = []
    for (d, n, epochs, walked), group in alone.groupby(["dataset", "data.train_subset", "train.epochs", "di.samples"],
                                                       sort=True):
        if d not in datasets:
            continue
        group = group.sort_values("seed")
        p = pd.to_numeric(group["di.p_value"], errors="coerce")
        m10 = pd.to_numeric(group["di.p_value_m10"], errors="coerce") if "di.p_value_m10" in group else p * math.nan
        out.append({"dataset": DATASETS[d], "training images": f"{int(n):,}", "epochs": int(epochs),
                    "walked images": f"{int(walked):,} + {int(walked):,}", "seeds": len(group),
                    "φ_DI (di.p_value) per seed": ", ".join(format_p(float(v)) for v in p),
                    "m = 10 variant per seed": ", ".join(format_p(float(v)) for v in m10),
                    "≤ 1e-3 on every seed": "yes" if bool((p <= 1e-3).all()) else "no",
                    f"< {paper.DI_BELOW:g} on every seed": "yes" if bool((p < paper.DI_BELOW).all()) else "no"})
    order = {DATASETS[d]: i for i, d in enumerate(datasets)}
    out.sort(key=lambda row: order[str(row["dataset"])])  # stable: within a dataset, by scale
    return pd.DataFrame(out, columns=columns)


def _history(rows: pd.DataFrame, key: str) -> list[list[float]]:
    """Each row's per-epoch test figures for ``key`` (the row's ``history`` JSON; [] where it has none)."""
    out = []
    for text in rows["history"] if "history" in rows.columns else [None] * len(rows):
        try:
            values = json.loads(text).get(key, []) if isinstance(text, str) and text else []
        except (ValueError, AttributeError):
            values = []
        out.append([float(v) for v in values])
    return out


def _mean_sd(values: list[float]) -> str:
    clean = [v for v in values if not math.isnan(v)]
    if not clean:
        return ""
    if len(clean) == 1:
        return _num(clean[0])
    return f"{_num(float(np.mean(clean)))} ± {_num(float(np.std(clean, ddof=1)))}"


def _advtr_training(rows: pd.DataFrame, datasets: list[str], verdicts: ConflictMatrix) -> pd.DataFrame:
    """ADVTR trained otherwise than the reproduction's PGD-7 for 10 epochs (issue 28: the paper's PGD-25), alone
    and with WM: our final-epoch figures, the verdict of adv+wm against ADVTR and WM alone at the same settings,
    and beside them the paper's code's selection, the epoch with the best test figure (`best_test_so_far`,
    `best_adv_so_far`), from the rows' per-epoch `history`: labelled as theirs, never a verdict input."""
    columns = ["dataset", "mechanisms", "training", "seeds", "acc (final epoch, ours)", "φ_ADV (final epoch, ours)",
               "φ_WM (final epoch, ours)", "acc, best epoch on test (the paper's selection)",
               "φ_ADV, best epoch on test (the paper's selection)", "verdict (ours)"]
    need = ["adv.steps", "train.epochs", "adv.gamma"]
    if any(k not in rows.columns for k in need):
        return pd.DataFrame(columns=columns)
    steps = pd.to_numeric(rows["adv.steps"], errors="coerce")
    epochs = pd.to_numeric(rows["train.epochs"], errors="coerce")
    mine = rows[(rows["mechanisms"].isin(["adv", "adv+wm"]) & ((steps != 7) | (epochs != 10))
                 & np.isclose(pd.to_numeric(rows["adv.gamma"], errors="coerce"), 0.125)).to_numpy(dtype=bool)]
    config_verdicts = verdicts.configs.set_index("config_id")["verdict"] if len(verdicts.configs) else pd.Series()
    out = []
    for (d, mechs, k, e), group in mine.groupby(["dataset", "mechanisms", "adv.steps", "train.epochs"], sort=True):
        if d not in datasets:
            continue
        acc_h, adv_h = _history(group, "acc"), _history(group, "adv.acc")
        best_acc = [max(h) for h in acc_h if h]
        best_adv = [max(h) for h in adv_h if h]
        picked = [f"{_num(max(h))} (epoch {h.index(max(h)) + 1})" for h in adv_h if h]
        verdict = ", ".join(sorted({str(config_verdicts.get(c, "")) for c in group["config_id"]} - {""}))
        out.append({"dataset": DATASETS[d], "mechanisms": mechs, "training": f"PGD-{int(k)}, {int(e)} epochs",
                    "seeds": len(group),
                    "acc (final epoch, ours)": _mean_sd(list(pd.to_numeric(group["acc"], errors="coerce"))),
                    "φ_ADV (final epoch, ours)": _mean_sd(list(pd.to_numeric(group["adv.acc"], errors="coerce"))),
                    "φ_WM (final epoch, ours)": _mean_sd(list(pd.to_numeric(group.get("wm.acc", pd.Series(
                        math.nan, index=group.index)), errors="coerce"))) if "wm" in mechs else "",
                    "acc, best epoch on test (the paper's selection)": _mean_sd(best_acc),
                    "φ_ADV, best epoch on test (the paper's selection)":
                        (_mean_sd(best_adv) + f" ({'; '.join(picked)})") if best_adv else "",
                    "verdict (ours)": verdict if "+" in mechs else ""})
    return pd.DataFrame(out, columns=columns)


_SWEEPS: tuple[tuple[str, list[str], dict[str, object]], ...] = (
    ("dp+wm", ["dp.target_epsilon", "wm.trigger_size"], {"wm.decoupled": False}),  # Figure 1
    ("adv+wm", ["adv.gamma"], {"wm.decoupled": False, "wm.trigger_size": 100}),  # Figure 2
)
"""(pair, knobs swept, knobs held) of the paper's sweeps; the first knob is the x axis of its figure."""
_KNOB_LABELS = {"wm.trigger_size": "|D_T|", "dp.target_epsilon": "ε", "adv.gamma": "γ (px)"}


def _sweep_groups(rows: pd.DataFrame, datasets: list[str], pair: str, knobs: list[str],
                  fixed: Mapping[str, object]) -> Iterator[tuple[str, dict[str, Any], pd.DataFrame]]:
    """(dataset, knob values, rows) of each sweep point of `pair` that has rows."""
    sub = rows[(rows["mechanisms"] == pair).to_numpy(dtype=bool)]
    sub = sub[_matches(sub, fixed)]
    if sub.empty or any(k not in sub.columns for k in knobs):
        return
    for keys, group in sub.groupby(["dataset", *knobs], sort=True):
        if keys[0] in datasets:
            yield str(keys[0]), dict(zip(knobs, keys[1:])), group


def _sweep_points(rows: pd.DataFrame, datasets: list[str], verdicts: ConflictMatrix) -> pd.DataFrame:
    """`SweepData.table`: the verdict metrics of every sweep point beside the mechanisms alone."""
    columns = ["pair", "dataset", "knob", "x", "series", "metric", "mean", "std", "base_mean", "base_std",
               "baseline", "verdict"]
    eq = verdicts.equivalence
    out = []
    for pair, knobs, fixed in _SWEEPS:
        for d, point, group in _sweep_groups(rows, datasets, pair, knobs, fixed):
            ids = set(group["config_id"])
            series = "; ".join(f"{_KNOB_LABELS.get(k, k)} {float(v):g}" for k, v in point.items() if k != knobs[0])
            tests = eq[(eq["mechanisms"] == pair) & (eq["role"] == "verdict") & eq["config_id"].isin(ids)]
            for t in tests.itertuples():
                exact = t.baseline_match == "exact"
                out.append({"pair": pair, "dataset": DATASETS[d], "knob": knobs[0], "x": float(point[knobs[0]]),
                            "series": series, "metric": t.metric, "mean": float(t.mean), "std": float(t.std),
                            "base_mean": float(t.mean_baseline) if exact else math.nan,
                            "base_std": float(t.std_baseline) if exact else math.nan, "baseline": t.baseline,
                            "verdict": t.verdict})
    order = list(DATASETS.values())
    out.sort(key=lambda r: order.index(str(r["dataset"])))  # stable: the paper's dataset order
    return pd.DataFrame(out, columns=columns)


def _sweep(rows: pd.DataFrame, datasets: list[str], pair: str, knobs: list[str], fixed: Mapping[str, object],
           metrics: list[str], verdicts: ConflictMatrix,
           paper_verdict: Callable[[str, str, Mapping[str, float]], str]) -> pd.DataFrame:
    """One row per sweep point with its metrics and its own verdict: each point is judged against the
    mechanisms alone at the same knob values (the baseline rule), so a point whose baselines have not run
    shows the analysis's "inconclusive". "alone" gives each verdict metric's mean for the mechanism alone at
    the point's knob values that it was tested against."""
    columns = ["dataset", *knobs, "n", *metrics, "alone", "verdict", "paper", "agree"]
    configs, eq = verdicts.configs, verdicts.equivalence
    out = []
    for d, point, group in _sweep_groups(rows, datasets, pair, knobs, fixed):
        shown = {k: f"{v:g}" if isinstance(v, float) else v for k, v in point.items()}  # 100, not 100.0
        row: dict[str, object] = {"dataset": DATASETS[d], **shown, "n": len(group)}
        for m in metrics:
            v = pd.to_numeric(group[m], errors="coerce").dropna()
            row[m] = ("" if v.empty else f"{_num(float(v.mean()))} ± {_num(float(v.std(ddof=1)))}" if len(v) > 1
                      else _num(float(v.mean())))
        mine = configs[(configs["mechanisms"] == pair) & configs["config_id"].isin(set(group["config_id"]))]
        tests = eq[(eq["mechanisms"] == pair) & (eq["role"] == "verdict") & eq["config_id"].isin(mine["config_id"])]
        row["alone"] = "; ".join(  # a "nearest" baseline (other knob values) only screens, so it is not shown
            f"{t.metric} {_num(float(t.mean_baseline))} ({t.baseline})"
            for t in tests.itertuples() if t.baseline_match == "exact" and pd.notna(t.mean_baseline))
        texts = sorted({f"{r.verdict}: {r.metrics}" if r.metrics else str(r.verdict) for r in mine.itertuples()})
        row["verdict"] = "; ".join(texts) if texts else NO_DATA
        theirs = paper_verdict(pair, d, {k: float(v) for k, v in point.items()})
        row["paper"] = theirs or "—"
        verdict = str(mine["verdict"].iloc[0]) if len(set(mine["verdict"])) == 1 else ""
        row["agree"] = ("—" if not theirs or verdict not in ("conflict", "no conflict")
                        else "yes" if theirs.split(":")[0] == verdict else "no")
        out.append(row)
    order = list(DATASETS.values())
    out.sort(key=lambda r: order.index(str(r["dataset"])))  # stable: the paper's dataset order, then the knobs
    return pd.DataFrame(out, columns=columns)


def _paper_sweep_verdict(pair: str, dataset: str, point: Mapping[str, float]) -> str:
    """The paper's verdict at a sweep point, where Table 11 or Appendix A states one (`paper.SWEEPS`)."""
    if pair == "dp+wm":
        return "conflict: wm.acc"  # every epsilon and |D_T| stays in conflict on every dataset
    at_paper_gamma = math.isclose(point.get("adv.gamma", math.nan), 0.125)  # PAPER_KNOBS["adv.gamma"]
    if at_paper_gamma:
        verdict, metric = paper.VERDICTS.get((pair, dataset), ("", ""))
        return verdict + (f": {metric}" if metric else "")
    if pair == "adv+wm" and dataset == "fashion_mnist" and math.isclose(point.get("adv.gamma", math.nan), 0.05):
        return "no conflict"  # the paper's gamma 0.1 on normalised inputs
    return ""


def wall_hours(rows: pd.DataFrame) -> float:
    """Hours during which at least one of the rows' trials ran (overlaps merged; idle gaps between
    sittings left out)."""
    spans = rows[["start_time", "end_time"]].dropna().sort_values("start_time").to_numpy()
    total, current = 0.0, None
    for start, end in spans:
        if current is None or start > current[1]:
            if current is not None:
                total += (current[1] - current[0]).total_seconds()
            current = [start, end]
        else:
            current[1] = max(current[1], end)
    if current is not None:
        total += (current[1] - current[0]).total_seconds()
    return total / 3600


def _trial_seconds(rows: pd.DataFrame) -> pd.Series:
    """Each trial's start to end (training, the walk and every evaluation)."""
    start = pd.to_datetime(rows["start_time"], utc=True, errors="coerce")
    end = pd.to_datetime(rows["end_time"], utc=True, errors="coerce")
    return (end - start).dt.total_seconds().dropna()


def _runs(df: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (experiment, dataset), group in df.groupby(["experiment", "dataset"], sort=True):
        ok = group[group["status"] == "ok"] if "status" in group else group
        devices = ", ".join(sorted({str(v) for v in group.get("device", pd.Series(dtype=str)).dropna()}))
        out.append({"search": experiment, "dataset": DATASETS.get(dataset, dataset), "trials": len(group),
                    "ok": len(ok), "wall time (h)": f"{wall_hours(group):.2f}",
                    "trial time, sum (h)": f"{_trial_seconds(group).sum() / 3600:.2f}",
                    "of it training (h)": f"{pd.to_numeric(ok['train_seconds'], errors='coerce').sum() / 3600:.2f}",
                    "device": devices})
    return pd.DataFrame(out)


def _markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return "(no rows yet)"
    esc: Callable[[object], str] = lambda v: ("" if v is None or (isinstance(v, float) and math.isnan(v))  # noqa: E731
                                              else str(v)).replace("|", "\\|")
    lines = ["| " + " | ".join(esc(c) for c in table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(esc(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def write_document(results: str | os.PathLike[str] | pd.DataFrame, template: str | os.PathLike[str],
                   out: str | os.PathLike[str], thresholds: Thresholds | None = None) -> Path:
    """Fill `template`'s `{{table}}` placeholders (`tables` keys, and `agreement`) from the rows; write `out`.

    `{{figure_sweeps}}` draws Figures 1-2 (`plots.plot_sweeps`) into `img/reproduction-sweeps.png` beside
    `out` and links it. An unknown placeholder is an error (so a template cannot silently lose a table)."""
    df = results if isinstance(results, pd.DataFrame) else load(results)
    repro = reproduction_tables(df, thresholds)
    text = Path(template).read_text(encoding="utf-8")
    values = {name: _markdown(table) for name, table in repro.tables.items()}
    values["agreement"] = repro.agreement
    values["figure_sweeps"] = f"![{repro.sweeps.title}](img/{SWEEPS_FIGURE})"
    used = {m.group(1) for m in _PLACEHOLDER.finditer(text)}
    unknown = sorted(used - set(values))
    if unknown:
        raise AnalysisInputError(f"template {os.fspath(template)!r}: unknown placeholder(s) {', '.join(unknown)}; "
                                 f"expected one of {', '.join(sorted(values))}")
    filled = _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
    path = Path(out)
    if "figure_sweeps" in used:
        figure = path.parent / "img" / SWEEPS_FIGURE
        figure.parent.mkdir(parents=True, exist_ok=True)
        tmp_png = figure.with_name(f".{figure.name}.tmp")
        save(plot_sweeps(repro.sweeps), tmp_png)
        os.replace(tmp_png, figure)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(filled, encoding="utf-8")
    os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> int:
    """CLI: `reproduction RESULTS... --template IN.md --out OUT.md [--threshold K=V ...]`; bad input: one line, 2."""
    import argparse
    import sys

    from analysis.cli_args import UsageError

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # type: ignore[override]
            raise UsageError(message)

    parser = _Parser(prog="explorer reproduction",
                     description="The paper's tables from a reproduction's rows (docs/reproduction.md).")
    parser.add_argument("results", nargs="+", help="Parquet files or folders of the reproduction's rows")
    parser.add_argument("--template", required=True, help="Markdown with {{table}} placeholders")
    parser.add_argument("--out", required=True, help="the Markdown file to write")
    parser.add_argument("--threshold", action="append", nargs="+", default=[], metavar="KEY=VALUE",
                        help="conflict thresholds, as for `explorer report`")
    try:
        args = parser.parse_args(argv)
        if not Path(args.template).is_file():
            raise AnalysisInputError(f"--template: got {args.template!r}, expected an existing Markdown file")
        thresholds = Thresholds.parse([kv for group in args.threshold for kv in group])
        path = write_document(args.results if len(args.results) > 1 else args.results[0], args.template, args.out,
                              thresholds)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except (UsageError, AnalysisInputError) as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write {args.out!r}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0
