"""`explorer report RESULTS --out DIR`: Markdown and HTML report, CSV tables and PNG figures.

Everything is computed and written into a temporary directory beside DIR and then moved into place,
so an interrupted or failed run leaves no half-written report.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.cli_args import UsageError, parse_constraints, parse_objectives, parser
from analysis.conflicts import ConflictMatrix, conflicts
from analysis.document import Block, Heading, Image, Items, Table, Text, to_html, to_markdown
from analysis.equivalence import RISE_METRICS, equivalence
from analysis.errors import AnalysisInputError
from analysis.load import ResultsPath, check_columns, read_results
from analysis.operating_points import OperatingPoints, best_point, operating_points, point_summary
from analysis.pareto import Constraints, Objectives, pareto_mask
from analysis.plot_data import conflict_matrix_data, curve_data, pareto_data, pareto_projections, swept_parameters
from analysis.plots import (plot_conflicts, plot_curve, plot_pareto, plot_pareto_projections, plot_risk_fit, plot_risks,
                            save)
from analysis.recorded import SearchGoal, recorded_goal
from analysis.risks import risk_against_fit, risk_verdicts
from analysis.schema import dataset_order, default_objectives, members, missing_text
from analysis.summary import config_summary
from analysis.thresholds import Thresholds, describe
from explorer_core import registry
from explorer_core.spec import RISK_METRICS, RISK_THRESHOLDS

__all__ = ["MAX_CURVES", "main", "write_report"]

MAX_CURVES = 12


def _verdict_text() -> str:
    """How a metric is judged, naming the metrics of the installed mechanisms' rules (from the specs)."""
    rules = [spec.rule for spec in registry.specs().values() if spec.rule is not None]
    drops = ["acc", *(r.metric for r in rules if r.kind == "drop_vs_baseline")]
    logged = {m.name for spec in registry.specs().values() for m in spec.metrics if m.log_scale}
    bounded = [f"{r.metric} (log10)" if r.metric in logged else r.metric for r in rules if r.kind != "drop_vs_baseline"]
    text = (f"A drop-based metric ({', '.join(drops)}) is a conflict when its mean drop exceeds the threshold and "
            "the one-sided Welch test of 'drop > threshold' is significant at alpha; it is no conflict when the "
            "lower one-sided test of the TOST (drop < threshold) is significant; otherwise inconclusive (for a "
            "metric where lower is better, the same with its rise). ")
    if bounded:
        text += f"{' and '.join(bounded)} use one-sample t-tests against their thresholds in the same way. "
    return text + ("A configuration is in conflict if any of its metrics is; a cell is in conflict if any of its "
                   "configurations is. Under a sequential seed design each test is at the level of its look "
                   "instead of alpha (see 'Seeds and looks').")


def write_report(
    results: ResultsPath | Sequence[ResultsPath] | pd.DataFrame,
    out_dir: str | os.PathLike[str],
    thresholds: Thresholds | None = None,
    *,
    objectives: Objectives | None = None,
    constraints: Constraints | None = None,
    recorded: bool = True,
) -> dict[str, Path]:
    """Write report.md, report.html (self-contained), conflicts.csv, pareto.csv, equivalence.csv,
    operating_points.csv and the PNG figures into `out_dir`; return {file name: path}.

    `results` is a DataFrame or what `load` accepts. Objectives, thresholds and constraints left as None
    come from the search recorded beside the results (`OUT/spaces/*.json`, when `recorded`), else the
    defaults. Works on partial results (a running search), errored rows and combinations without
    baselines (the report says so).
    """
    df = results if isinstance(results, pd.DataFrame) else read_results(results, {}, warn_missing=False)
    source = "a DataFrame" if isinstance(results, pd.DataFrame) else _source_text(results)
    if isinstance(results, pd.DataFrame):
        check_columns(df, "the DataFrame")
    goal, notes = (None, []) if isinstance(results, pd.DataFrame) or not recorded else recorded_goal(results)
    given = {"objectives": objectives is not None, "thresholds": thresholds is not None,
             "constraints": constraints is not None}
    if objectives is None and goal is not None:
        objectives = goal.objectives
    if objectives is None:  # the defaults that the results have
        defaults = default_objectives()
        objectives = {k: v for k, v in defaults.items() if k in df.columns} or defaults
    objectives = dict(objectives)
    if thresholds is None and goal is not None:
        thresholds = goal.thresholds
    if constraints is None and goal is not None:
        constraints = goal.constraints or None
    missing = [c for c in objectives if c not in df.columns]
    if missing:
        raise AnalysisInputError(
            f"objective column(s) {', '.join(missing)} not in the results: expected metric columns such as "
            f"{', '.join(default_objectives())}"
        )
    # results that name plug-ins not installed here: one line, in the report and as a warning
    plugins = missing_text(df, goal.unknown_thresholds if goal is not None else None)
    if plugins:
        warnings.warn(plugins, stacklevel=2)
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; the report directory should not be
    try:
        origin = _goal_text(goal, given, notes) + ([plugins] if plugins else [])
        names = _build(df, staging, thresholds or Thresholds(), objectives, constraints, source, origin)
        return _move_into_place(staging, out, names)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _goal_text(goal: SearchGoal | None, given: dict[str, bool], notes: list[str]) -> list[str]:
    if goal is None:
        return []
    used = [k for k, v in given.items() if not v]
    items = [f"search goal recorded by {goal.name} ({goal.source}): {', '.join(used) or 'nothing'} taken from it"
             + ("" if all(not v for v in given.values()) else
                f"; {', '.join(k for k, v in given.items() if v)} from the command line")]
    return items + [f"note: {n}" for n in (*goal.notes, *notes)]


def _source_text(results: ResultsPath | Sequence[ResultsPath]) -> str:
    if isinstance(results, (str, os.PathLike)):
        return os.fspath(results)
    return ", ".join(os.fspath(r) for r in results)


def _move_into_place(staging: Path, out: Path, names: list[str]) -> dict[str, Path]:
    if not out.exists():
        os.replace(staging, out)
    else:
        for name in names:
            os.replace(staging / name, out / name)
    return {name: out / name for name in names}


def _build(
    df: pd.DataFrame,
    folder: Path,
    th: Thresholds,
    objectives: dict[str, str],
    constraints: Constraints | None,
    source: str,
    origin: list[str],
) -> list[str]:
    eq = equivalence(df, th)
    matrix = conflicts(df, th, equivalence_table=eq)
    points = operating_points(df, objectives, th, constraints=constraints, equivalence_table=eq)
    front = _pareto_table(points, objectives)
    blocks: list[Block] = [
        Heading("Protection-conflict report", 1),
        *_intro(df, th, objectives, constraints, source, origin),
    ]
    names = ["report.md", "report.html", "conflicts.csv", "pareto.csv", "equivalence.csv", "operating_points.csv"]
    blocks += _operating_section(points, objectives)
    blocks += _conflict_section(matrix, folder, names)
    blocks += _seeds_section(df, matrix)
    blocks += _risks_section(df, th, folder, names)
    blocks += _pareto_section(df, points, front, objectives, constraints, folder, names)
    blocks += _curve_section(df, folder, names)
    matrix.cells.to_csv(folder / "conflicts.csv", index=False)
    front.to_csv(folder / "pareto.csv", index=False)
    eq.to_csv(folder / "equivalence.csv", index=False)
    points.candidates.to_csv(folder / "operating_points.csv", index=False)
    (folder / "report.md").write_text(to_markdown(blocks), encoding="utf-8")
    (folder / "report.html").write_text(to_html(blocks, "Protection-conflict report"), encoding="utf-8")
    return names


def _intro(
    df: pd.DataFrame,
    th: Thresholds,
    objectives: dict[str, str],
    constraints: Constraints | None,
    source: str,
    origin: list[str],
) -> list[Block]:
    status = df["status"] if "status" in df.columns else pd.Series("ok", index=df.index)
    ok = int((status == "ok").sum())
    items = [
        f"source: {source}",
        f"generated: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"trials read: {len(df)} ({ok} ok, {len(df) - ok} not ok); the report covers the trials written so far",
        f"thresholds: {describe(th)}",
        "objectives: " + ", ".join(f"{k} ({v})" for k, v in objectives.items()),
    ]
    if constraints is not None:
        items.append(
            "constraints: "
            + (
                "a function"
                if callable(constraints)
                else ", ".join(f"{k} {o} {v:g}" for k, (o, v) in constraints.items())
            )
        )
    items += origin
    skipped = df.attrs.get("skipped_files", [])
    if skipped:
        items.append(f"skipped {len(skipped)} unreadable part file(s), e.g. {skipped[0]}")
    blocks: list[Block] = [Items(tuple(items)), Heading("Data")]
    if df.empty:
        return [*blocks, Text("No trials in the results.")]
    counts = df.groupby(["dataset", "mechanisms"], dropna=False).size().rename("trials").reset_index()
    if "status" in df.columns:
        ok_counts = df[status == "ok"].groupby(["dataset", "mechanisms"], dropna=False).size()
        counts["ok"] = [int(ok_counts.get((d, m), 0)) for d, m in zip(counts["dataset"], counts["mechanisms"])]
    counts["configs"] = df.groupby(["dataset", "mechanisms"], dropna=False)["config_id"].nunique().to_numpy()
    blocks += [Table(counts.sort_values(["dataset", "mechanisms"], key=_sort_key), max_rows=100)]
    if ok < len(df) and "error" in df.columns:
        errors = (
            df.loc[status != "ok", "error"].fillna("(no message)").astype(str).str.split("\n").str[0].value_counts()
        )
        blocks += [
            Text("Errored trials (first line of each error):"),
            Table(errors.rename_axis("error").reset_index(name="trials"), max_rows=10),
        ]
    if "caveats" in df.columns:
        caveats = df["caveats"].dropna().astype(str).str.split("; ").explode()
        caveats = caveats[caveats.str.len() > 0].value_counts()
        if len(caveats):
            blocks += [
                Text("Caveats recorded by the trials:"),
                Table(caveats.rename_axis("caveat").reset_index(name="trials"), max_rows=10),
            ]
    return blocks


def _sort_key(column: pd.Series) -> pd.Series:
    if column.name == "dataset":
        return column.map(lambda v: dataset_order(str(v)))
    return column.map(lambda v: (len(members(str(v))), str(v)))


def _conflict_section(matrix: ConflictMatrix, folder: Path, names: list[str]) -> list[Block]:
    blocks: list[Block] = [Heading("Conflict verdicts")]
    if matrix.cells.empty:
        return [*blocks, Text("No combination of two or more mechanisms with ok trials: nothing to judge.")]
    path = folder / "conflicts.png"
    save(plot_conflicts(conflict_matrix_data(matrix)), path)
    names.append(path.name)
    blocks += [
        Table(matrix.table(), index=True, max_rows=200),
        Image(path, "Conflict verdicts per combination and dataset"),
        Text(_verdict_text()),
    ]
    noted = matrix.cells[matrix.cells["note"].str.len() > 0]
    if len(noted):
        notes = tuple(f"{r.mechanisms} on {r.dataset}: {r.note}" for r in noted.itertuples())
        blocks += [
            Text("Notes (missing baselines make a cell inconclusive; 'no data' means no ok trial):"),
            Items(notes),
        ]
    decisive = matrix.equivalence[matrix.equivalence["role"].isin(["verdict", "paper rule"])]
    columns = [
        "dataset",
        "mechanisms",
        "config_id",
        "metric",
        "role",
        "baseline",
        "n",
        "mean",
        "std",
        "n_baseline",
        "mean_baseline",
        "std_baseline",
        "difference",
        "threshold",
        "welch_p",
        "tost_p",
        "p_conflict",
        "p_no_conflict",
        "level",
        "verdict",
    ]
    absolute = [spec.rule.metric for spec in registry.specs().values() if spec.rule and spec.rule.absolute]
    blocks += [
        Heading("Evidence", 3),
        Text(
            "The deciding comparison of every metric (role 'verdict'), and for "
            + (" and ".join(absolute) or "a metric whose spec has one") + " the absolute rule beside ours "
            "(role 'paper rule', not deciding); every row, with the member baselines, is in equivalence.csv:"
        ),
        Table(decisive[columns], max_rows=80),
    ]
    return blocks


def _seeds_section(df: pd.DataFrame, matrix: ConflictMatrix) -> list[Block]:
    """The cells of a sequential seed design: their seeds, looks and verdicts, why looks added seeds, and for
    the undecided ones the effect, its spread and about how many seeds would decide it."""
    eq = matrix.equivalence
    if eq.empty or "design" not in eq.columns or not (eq["looks"] > 1).any():
        return []
    decisive = eq[(eq["role"] == "verdict") & (eq["looks"] > 1)]
    verdicts = matrix.configs.set_index("config_id")["verdict"]
    look = pd.to_numeric(df["look"], errors="coerce") if "look" in df.columns else pd.Series(0, index=df.index)
    rows = []
    for (dataset, mechanisms, config_id), group in decisive.groupby(["dataset", "mechanisms", "config_id"],
                                                                    sort=True):
        mine = df[(df["config_id"] == config_id).to_numpy() & (look > 0).to_numpy()]
        reason = ""
        if len(mine):
            last = str(mine.loc[look[mine.index].idxmax(), "look_reason"] or "")
            reason = last.split(f"{config_id} ", 1)[-1]
        open_ = group[group["verdict"] == "inconclusive"]
        figures = "; ".join(
            f"{r.metric}: {_effect(r)}" + ("" if pd.isna(r.seeds_to_decide) else
                                            " (the mean sits on the threshold)" if r.seeds_to_decide == float("inf")
                                            else f", about {int(r.seeds_to_decide)} seeds each would decide it")
            for r in open_.itertuples())
        rows.append({"dataset": dataset, "mechanisms": mechanisms, "config_id": config_id,
                     "design": group["design"].iloc[0], "seeds": int(group["n"].max()),
                     "look": f"{int(group['look'].max())} of {int(group['looks'].max())}",
                     "verdict": str(verdicts.get(config_id, "")), "more seeds because": reason or "(first look)",
                     "undecided: effect, spread, seeds to decide": figures})
    table = pd.DataFrame(rows)
    grown = int((table["more seeds because"] != "(first look)").sum())
    return [
        Heading("Seeds and looks"),
        Text(
            "These cells ran under a sequential seed design (seeds: {min, max, step}): they started with min seeds, "
            "and a cell whose verdict was still undecided got more seeds, with the baselines its undecided "
            "comparisons test against, until it was decided or reached max. Each look tests at its own level "
            "(O'Brien-Fleming-type alpha spending, Lan & DeMets 1983, split over the looks by the union bound), so "
            "that over all looks a false 'no conflict' and a false 'conflict' each stay at or below alpha; "
            f"equivalence.csv gives every comparison's design, look and level. {grown} of {len(table)} cells got "
            "more than their first seeds. For a cell still undecided at its max, the figures say how far its "
            "mean lies from the threshold, with what spread, and about how many seeds per group a one-sided test "
            "at the design's last level would need to decide it with 80 % power if they held."
        ),
        Table(table, max_rows=100),
    ]


_ARROWS = {"raises": "↑ raises", "lowers": "↓ lowers", "no change": "= no change", "inconclusive": "? inconclusive"}


def _risks_section(df: pd.DataFrame, th: Thresholds, folder: Path, names: list[str]) -> list[Block]:
    """Unintended risks (analysis.risks): each mechanism and tuple against the undefended model, per risk."""
    table = risk_verdicts(df, th)
    if table.empty:
        return []
    table.to_csv(folder / "risks.csv", index=False)
    names.append("risks.csv")
    path = folder / "risks.png"
    save(plot_risks(table), path)
    names.append(path.name)

    def cell(r: Any) -> str:
        p = {"raises": r.p_raises, "lowers": r.p_lowers, "no change": r.tost_p}.get(r.verdict)
        return f"{_ARROWS[r.verdict]} {r.difference:+.3f}" + ("" if p is None or pd.isna(p) else f" (p={p:.2g})")

    wide = table.assign(text=[cell(r) for r in table.itertuples(index=False)]).pivot_table(
        index=["dataset", "mechanisms", "config_id"], columns="metric", values="text", aggfunc="first", sort=False)
    wide = wide.reset_index().rename_axis(columns=None)
    thresholds = ", ".join(f"{m.name} {th.get(RISK_THRESHOLDS[m.name].key):g}" for m in RISK_METRICS)
    return [
        Heading("Unintended risks"),
        Text(
            "Whether a mechanism or a combination raises or lowers a risk its trials measured, against the undefended "
            "model at the same settings (Duddu, Szyller & Asokan, SoK, IEEE S&P 2024): membership inference by "
            "offline RMIA (its AUC and its TPR at 1 % FPR) and the train-test accuracy gap (docs/metrics.md, "
            f"'Unintended risks'). A risk is raised (↑) or lowered (↓) when it moves more than its threshold "
            f"({thresholds}) and the one-sided Welch test of that is significant at alpha; unchanged (=) when the "
            "TOST shows it within the threshold; otherwise undecided (?). Each cell: the change against the "
            "undefended model and the deciding p-value. risks.csv holds every row with n, means and spreads."
        ),
        Table(wide, max_rows=100),
        Image(path, "Membership-inference AUC against the undefended model"),
        *_fit_blocks(df, folder, names),
    ]


def _fit_blocks(df: pd.DataFrame, folder: Path, names: list[str]) -> list[Block]:
    """The AUC against the train-test gap (`risk_against_fit`), when undefended and defended configs have both."""
    fit = risk_against_fit(df)
    if not (fit["undefended"].any() and (~fit["undefended"].astype(bool)).any()):
        return []
    path = folder / "risks_fit.png"
    save(plot_risk_fit(fit), path)
    names.append(path.name)
    return [
        Text("The same AUC against each configuration's train-test gap, the overfitting the SoK names as what drives "
             "membership inference: a mechanism that lowers the AUC only by fitting less sits on the undefended "
             "models' line (undefended models of a smaller gap, e.g. trained for fewer epochs, extend it); one "
             "above that line leaks more than its fit explains."),
        Image(path, "Membership-inference AUC against the train-test gap"),
    ]


def _effect(r: Any) -> str:
    """`drop 0.065 vs 0.1, sd 0.03 / 0.02, n 10 / 10` for an undecided comparison (an equivalence row)."""
    if r.test == "welch+tost":
        change = f"rise {r.difference:.3g}" if r.metric in RISE_METRICS else f"drop {-r.difference:.3g}"
        return f"{change} vs {r.threshold:.3g}, sd {r.std:.3g} / {r.std_baseline:.3g}, n {r.n} / {r.n_baseline}"
    return f"mean {r.mean:.3g} vs {r.threshold:.3g} ({r.scale}), sd {r.std:.3g}, n {r.n}"


def _operating_section(points: OperatingPoints, objectives: dict[str, str]) -> list[Block]:
    blocks: list[Block] = [Heading("Operating points")]
    best = best_point(points)
    if best is None:
        return [*blocks, Text("No configuration with ok trials."), Text(points.rule)]
    summary = point_summary(best, objectives)
    where = f"{best['mechanisms']} on {best['dataset']} / {best['model']}"
    if best["status"] == "recommended":
        answer = f"Recommended: {where}: {summary}. Verdict per metric: {best['tests']}."
    elif best["status"] == "nearest (none passes)":
        answer = (
            f"No confirmed operating point passes. The nearest confirmed one: {where}: {summary}. "
            f"It misses: {best['misses']}."
        )
    else:
        answer = (
            f"No confirmed operating point yet. The best screening point (unconfirmed: one seed or baselines at "
            f"other settings) is {where}: {summary}. Confirm it with `explorer confirm OUT`."
        )
    blocks += [Text(answer), Heading("Per combination", 3), Table(points.recommended, max_rows=100)]
    candidates = points.candidates
    ordered = candidates.sort_values(["dataset", "mechanisms", "pareto_rank", "config_id"], kind="stable")
    keep = ["dataset", "mechanisms", "config_id", "n_seeds", *objectives, "pareto_rank", "feasible"]
    confirmed = ordered[ordered["evidence"] == "confirmed"]
    screening = ordered[ordered["evidence"] != "confirmed"]
    blocks.append(Heading("Confirmed points", 3))
    if len(confirmed):
        blocks += [
            Text("Each with its verdict per metric (Welch/TOST against baselines at its own settings, p-values)."),
            Table(confirmed[[*keep, "verdict", "tests", "settings"]], max_rows=40),
        ]
    else:
        blocks.append(Text("None: no configuration has >= 2 seeds and exact baselines yet (`explorer confirm`)."))
    if len(screening):
        blocks += [
            Heading("Screening points (unconfirmed)", 3),
            Text(
                "One seed, or baselines at other settings (nearest): their feasibility is an estimate and their "
                "verdicts are not tests. operating_points.csv holds every candidate."
            ),
            Table(screening[[*keep, "baselines", "settings"]], max_rows=40),
        ]
    return [*blocks, Text(points.rule)]


def _pareto_table(points: OperatingPoints, objectives: dict[str, str]) -> pd.DataFrame:
    candidates = points.candidates
    parts = []
    for _, group in candidates.groupby(["dataset", "model"], dropna=False, sort=True):
        parts.append(group[pareto_mask(group, objectives, lambda g: g["feasible"]).to_numpy()])
    if not parts:
        return candidates.iloc[0:0]
    return pd.concat(parts, ignore_index=True)


def _pareto_section(
    df: pd.DataFrame,
    points: OperatingPoints,
    front: pd.DataFrame,
    objectives: dict[str, str],
    constraints: Constraints | None,
    folder: Path,
    names: list[str],
) -> list[Block]:
    blocks: list[Block] = [
        Heading("Pareto fronts"),
        Text(
            "Per dataset and model, over the candidate configurations (means over seeds); "
            "a point is feasible when it passes "
            "the mean-based conflict checks and the constraints; diamonds are confirmed points. With three or "
            "more objectives the front (over all of them) is shown in every pair of objectives. pareto.csv "
            "holds the front."
        ),
    ]
    if len(objectives) < 2:
        return [*blocks, Text("Only one objective given: the front is its best configs (pareto.csv); no plot.")]
    summary = config_summary(df)
    candidates = points.candidates
    settings = sorted(
        candidates.groupby(["dataset", "model"], dropna=False, sort=True), key=lambda kv: dataset_order(str(kv[0][0]))
    )
    for i, ((dataset, model), group) in enumerate(settings):
        reference = summary[
            (summary["dataset"] == dataset)
            & (summary["model"] == model)
            & ~summary["config_id"].isin(group["config_id"])
        ]
        title = f"Pareto front: {dataset} / {model}"
        kwargs = dict(feasible=group["feasible"], reference=reference, constraints=constraints, title=title)
        if len(objectives) == 2:
            figure = plot_pareto(pareto_data(group, objectives, **kwargs))  # type: ignore[arg-type]
        else:
            panels = pareto_projections(group, objectives, **kwargs)
            figure = plot_pareto_projections(panels, f"{title} ({len(objectives)} objectives, pairwise projections)")
        path = folder / f"pareto_{i}_{_slug(dataset)}_{_slug(model)}.png"
        save(figure, path)
        names.append(path.name)
        shown = front[(front["dataset"] == dataset) & (front["model"] == model)]
        keep = [c for c in ("mechanisms", "config_id", "evidence", "n_seeds", *objectives, "verdict")
                if c in shown.columns]
        blocks += [Heading(f"{dataset} / {model}", 3), Image(path, title), Table(shown[keep], max_rows=30)]
    return blocks


def _curve_section(df: pd.DataFrame, folder: Path, names: list[str]) -> list[Block]:
    pairs = swept_parameters(df)
    blocks: list[Block] = [Heading("Metrics against hyperparameters")]
    if not pairs:
        return [*blocks, Text("No hyperparameter takes two or more values among the ok trials.")]
    for i, (metric, parameter) in enumerate(pairs[:MAX_CURVES]):
        data = curve_data(df, metric, parameter)
        path = folder / f"curve_{i}_{_slug(metric)}_vs_{_slug(parameter)}.png"
        save(plot_curve(data), path)
        names.append(path.name)
        blocks.append(Image(path, data.title.replace("\n", " ")))
    if len(pairs) > MAX_CURVES:
        blocks.append(
            Text(f"{len(pairs) - MAX_CURVES} more (metric, hyperparameter) pairs not drawn; use analysis.curve_data.")
        )
    return blocks


def _slug(value: object) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", str(value)).strip("-") or "x"


def main(argv: list[str] | None = None) -> int:
    """CLI: `report RESULTS... --out DIR [--objectives ...] [--threshold K=V ...] [--constraint EXPR]`.

    Bad input prints one line `error: ...` to stderr and returns 2.
    """
    try:
        args = parser().parse_args(argv)
        objectives = parse_objectives(args.objectives) if args.objectives is not None else None
        items = [kv for group in args.threshold for kv in group]
        goal = recorded_goal(args.results)[0] if items else None
        thresholds = Thresholds.parse(items, base=goal.thresholds if goal else None) if items else None
        constraints = parse_constraints(args.constraint)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            written = write_report(
                args.results if len(args.results) > 1 else args.results[0],
                args.out,
                thresholds,
                objectives=objectives,
                constraints=constraints,
            )
        for warning in caught:
            if warning.category is UserWarning:  # ours (skipped part files), not numerical noise
                print(f"warning: {str(warning.message).splitlines()[0]}", file=sys.stderr)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except (UsageError, AnalysisInputError) as exc:
        print(f"error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write the report: {exc.strerror or exc} ({exc.filename or ''})", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} files to {Path(args.out)} (open {Path(args.out) / 'report.html'})")
    return 0
