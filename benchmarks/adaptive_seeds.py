"""Sequential seeds replayed on the reproduction's committed rows: the trials and verdicts of ``seeds: {min, max}``.

The reproduction (``results/reproduction``) ran a fixed design: 3 seeds per mechanism alone and 5 per pair.
This script trains nothing. It replays, on those rows, what the driver would have run under a sequential
design ({min: 2, max: 5} for combinations, {min: 2, max: 3} for mechanisms alone by default), taking each
config's seeds in the order the driver runs them, by seed number: the driver gives a cell and the baselines
it extends the same seeds in the same order, and compares a sequential cell with the baseline rows of its
own seeds (docs/analysis.md, "Sequential verdicts"). The reproduction's searches ran them in that order too;
their start times interleave only because five trials ran at once.

- look 1 judges every config's first ``min`` rows (each combination config is a *cell*);
- after each look, ``explorer.looks.plan_look`` itself plans the next trials: an undecided cell gets the seeds
  of its next look, and so do the baselines its undecided comparisons test against (the member mechanisms
  alone at the same settings, built as the driver builds them with ``analysis.baselines.baseline_settings``;
  a baseline is shared, so its count is the largest any cell asked of it, at least its min, at most its max);
- the planned trials are taken from the committed rows (the next seeds), and the loop stops
  when no cell is undecided below its max. Every verdict comes from ``analysis.conflicts`` with
  ``designs=`` (the per-look levels of ``analysis.sequential``), under the reproduction's thresholds (the
  defaults, as ``explorer reproduction`` in docs/reproduction.md uses).

The fixed design's verdict of each cell is the same function on all its rows with no design (one look at
alpha). Mechanisms alone that no cell tests against (the undefended model, DI's scale, epochs, reduced-test
and independent-model checks) stay at their design's min. A shared baseline's trials are split equally among
the cells that test against it, so that the per-cell trials add up to the total.

The committed rows' ``config_id`` values were hashed by an earlier config schema; the replay re-derives each
config's id with today's ``TrialConfig`` (one to one, checked) so that ``plan_look``'s ids and the rows' agree.
The ids printed are the committed ones.

    .venv/bin/python benchmarks/adaptive_seeds.py [results/reproduction] [--pairs 2-5] [--alone 2-3]
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

import analysis
from reproduction import paper
from analysis.baselines import baseline_settings
from analysis.conflicts import ConflictMatrix, conflicts
from reproduction.tables import DATASETS, PAPER_KNOBS, paper_setting
from analysis.schema import hyperparameter_columns, members
from analysis.sequential import look_levels
from analysis.summary import ok_rows
from analysis.thresholds import Thresholds, describe
from explorer.config import TrialConfig
from explorer.looks import Baseline, Cell, plan_look, strip
from search_spaces.seeds import SeedDesign

__all__ = ["LookRecord", "Replay", "design", "replay", "row_config"]

_TOP = ("dataset", "model", "mechanisms", "experiment", "seed")


def _value(v: Any) -> Any:
    """A row's value as a config value: None where missing, an int where Parquet widened one to a float."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def row_config(row: Mapping[str, Any], columns: list[str]) -> dict[str, Any]:
    """The flat config of a result row (its top keys and hyperparameter ``columns``, missing ones left out)."""
    out = {k: _value(row.get(k)) for k in (*_TOP, *columns)}
    return {k: v for k, v in out.items() if v is not None}


def design(text: str) -> SeedDesign:
    """``"2-5"`` or ``"2-5/1"`` -> SeedDesign(2, 5, 1)."""
    parsed = SeedDesign.parse(text if "/" in text else f"{text}/1")
    if parsed is None:
        raise ValueError(f"seed design: got {text!r}, expected MIN-MAX, e.g. 2-5")
    return parsed


@dataclass(frozen=True)
class LookRecord:
    """One look: the seeds it judged the cells at, how many were undecided, the trials the next look adds."""

    look: int  # counted from 1, as `analysis.equivalence` counts them
    undecided: int
    added_pair: int
    added_baseline: int
    open_metrics: dict[str, int]  # the undecided cells' inconclusive comparisons, by metric
    reasons: dict[str, str]  # undecided cell -> the reasons plan_look gives for its next seeds


@dataclass(frozen=True)
class Replay:
    """The adaptive replay of a set of rows, beside the fixed design's verdicts on all of them.

    rows: the ok rows, config_id re-derived with today's TrialConfig (``stored`` maps it back); used: the rows the
    replay ran; cells: the combination configs; seeds: config_id -> seeds the replay ran (every config), fixed:
    config_id -> seeds in the rows; users: baseline config_id -> the cells that test against it; history: cell ->
    its verdict after each look; adaptive / fixed_matrix: `conflicts` on ``used`` with the designs / on ``rows``
    with none."""

    rows: pd.DataFrame
    used: pd.DataFrame
    stored: dict[str, str]
    cells: tuple[Cell, ...]
    pair_design: SeedDesign
    alone_design: SeedDesign
    seeds: dict[str, int]
    fixed: dict[str, int]
    users: dict[str, tuple[str, ...]]
    missing_baselines: tuple[str, ...]
    history: dict[str, tuple[str, ...]]
    looks: tuple[LookRecord, ...]
    adaptive: ConflictMatrix
    fixed_matrix: ConflictMatrix

    def verdict(self, config_id: str, *, fixed: bool = False) -> pd.Series:
        """The config's row of `conflicts(...).configs` (adaptive, or the fixed design's)."""
        configs = (self.fixed_matrix if fixed else self.adaptive).configs
        return configs[configs["config_id"] == config_id].iloc[0]

    def open_reasons(self, config_id: str, *, fixed: bool = False) -> str:
        """The reasons of the config's comparisons that are still inconclusive."""
        eq = (self.fixed_matrix if fixed else self.adaptive).equivalence
        rows = eq[(eq["config_id"] == config_id) & (eq["role"] == "verdict") & (eq["verdict"] == "inconclusive")]
        return "; ".join(rows["reason"].astype(str))

    def deciding_reasons(self, config_id: str, *, fixed: bool = False) -> str:
        """The reasons of the comparisons that decide the config's verdict (all of them for "no conflict")."""
        matrix = self.fixed_matrix if fixed else self.adaptive
        verdict = str(self.verdict(config_id, fixed=fixed)["verdict"])
        eq = matrix.equivalence
        rows = eq[(eq["config_id"] == config_id) & (eq["role"] == "verdict")]
        if verdict != "no conflict":
            rows = rows[rows["verdict"] == verdict]
        return "; ".join(rows["reason"].astype(str))

    def baselines_of(self, config_id: str) -> list[str]:
        return sorted(b for b, users in self.users.items() if config_id in users)

    def trials(self, config_id: str, *, fixed: bool = False) -> float:
        """The cell's own trials plus its equal share of each baseline it tests against."""
        counts = self.fixed if fixed else self.seeds
        return counts[config_id] + sum(counts[b] / len(self.users[b]) for b in self.baselines_of(config_id))

    def decided_look(self, config_id: str) -> int:
        """The look (from 1) of the cell's last seeds."""
        return self.pair_design.look(self.seeds[config_id]) + 1


def _relabel(ok: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The rows with each config's id re-derived by today's TrialConfig, and new id -> committed id."""
    columns = hyperparameter_columns(ok)
    new: dict[str, str] = {}
    for stored, group in ok.groupby("config_id", sort=True):
        config_id = TrialConfig.from_dict(row_config(group.iloc[0].to_dict(), columns)).config_id()
        if config_id in new:
            raise ValueError(f"configs {new[config_id]} and {stored} get the same id today ({config_id})")
        new[config_id] = str(stored)
    back = {v: k for k, v in new.items()}
    return ok.assign(config_id=ok["config_id"].map(back)), new


def replay(rows: pd.DataFrame, pair_design: SeedDesign = SeedDesign(2, 5), alone_design: SeedDesign = SeedDesign(2, 3),
           thresholds: Thresholds | None = None) -> Replay:
    """Replay the sequential design on ``rows`` (every config's seeds in the driver's order; nothing is
    trained)."""
    th = thresholds or Thresholds()
    ok, stored = _relabel(ok_rows(rows))
    columns = hyperparameter_columns(ok)
    order = ok.sort_values(["seed"], kind="stable")
    pools = {str(c): tuple(dict.fromkeys(int(s) for s in g["seed"])) for c, g in order.groupby("config_id", sort=False)}
    first = ok.groupby("config_id", sort=True).head(1)
    cells, users, missing = [], {}, []
    for row in first.to_dict("records"):
        mechs = members(row["mechanisms"])
        if len(mechs) < 2:
            continue
        flat = TrialConfig.from_dict(row_config(row, columns)).flat()
        bases = []
        for m in mechs:  # as explorer.looks._baselines builds them: M alone at the cell's own settings
            base = TrialConfig.from_dict({**baseline_settings(flat, m), "seed": 0}).flat()
            base_id = TrialConfig.from_dict(base).config_id()
            if base_id not in pools:
                missing.append(f"{row['mechanisms']} {stored[row['config_id']]} ({row['dataset']}): no '{m}' rows")
                continue
            bases.append(Baseline(base, alone_design, pools[base_id]))
            users.setdefault(base_id, []).append(row["config_id"])
        cell = Cell(flat, pair_design, pools[row["config_id"]], tuple(bases))
        assert cell.config_id == row["config_id"], (cell.config_id, row["config_id"])
        cells.append(cell)
    combos = {c.config_id for c in cells}
    designs = {c.config_id: pair_design for c in cells}
    used = {(c, s) for c, pool in pools.items() for s in pool[:(pair_design if c in combos else alone_design).min]}
    keys = pd.Series(list(zip(ok["config_id"], ok["seed"].astype(int))), index=ok.index)
    history: dict[str, list[str]] = {c: [] for c in combos}
    looks = []
    look = 0
    while True:
        sub = ok[keys.isin(used).to_numpy(dtype=bool)]
        matrix = conflicts(sub, th, designs=designs)
        now = matrix.configs.set_index("config_id")["verdict"]
        for c in combos:
            history[c].append(str(now.get(c, "no data")))
        look += 1
        plan = plan_look(cells, sub, th, look)
        added = {(TrialConfig.from_dict(strip(t)).config_id(), int(t["seed"])) for t in plan.trials}
        eq = matrix.equivalence
        open_ = eq[eq["config_id"].isin(list(plan.cells["config_id"]) if len(plan.cells) else [])
                   & (eq["role"] == "verdict") & (eq["verdict"] == "inconclusive")]
        looks.append(LookRecord(look, len(plan.cells), sum(c in combos for c, _ in added),
                                sum(c not in combos for c, _ in added),
                                {str(k): int(v) for k, v in open_["metric"].value_counts().items()},
                                dict(zip(plan.cells["config_id"], plan.cells["reasons"])) if len(plan.cells) else {}))
        if not added:
            break
        absent = [k for k in added if k not in set(keys)]
        if absent:
            raise ValueError(f"look {look} plans trials the rows do not have: {absent[:3]}")
        used |= added
    sub = ok[keys.isin(used).to_numpy(dtype=bool)]
    seeds = {str(c): int(n) for c, n in sub.groupby("config_id")["seed"].nunique().items()}
    fixed = {c: len(p) for c, p in pools.items()}
    return Replay(rows=ok, used=sub, stored=stored, cells=tuple(cells), pair_design=pair_design,
                  alone_design=alone_design, seeds=seeds, fixed=fixed,
                  users={b: tuple(u) for b, u in users.items()}, missing_baselines=tuple(missing),
                  history={c: tuple(h) for c, h in history.items()}, looks=tuple(looks),
                  adaptive=conflicts(sub, th, designs=designs), fixed_matrix=conflicts(ok, th))


def _text(row: pd.Series) -> str:
    metrics = str(row["metrics"])
    return f"{row['verdict']}: {metrics}" if metrics else str(row["verdict"])


def _why(r: Replay, config_id: str) -> str:
    """Why the adaptive verdict differs from the fixed design's (empty where they agree)."""
    a, f = r.verdict(config_id), r.verdict(config_id, fixed=True)
    if _text(a) == _text(f):
        return ""
    n = r.seeds[config_id]
    bases = ", ".join(f"{_mech(r, b)} {r.seeds[b]}" for b in r.baselines_of(config_id))
    fixed_bases = ", ".join(f"{_mech(r, b)} {r.fixed[b]}" for b in r.baselines_of(config_id))
    fixed = (f"the fixed design ({r.fixed[config_id]} seeds, baselines {fixed_bases}) "
             + (f"is undecided: {r.open_reasons(config_id, fixed=True)}" if f["verdict"] == "inconclusive"
                else f"says {_text(f)}: {r.deciding_reasons(config_id, fixed=True)}"))
    if a["verdict"] == "inconclusive":
        return f"undecided at {n} seeds (baselines {bases}): {r.open_reasons(config_id)}; {fixed}"
    look = r.decided_look(config_id)
    return (f"decided at look {look} of {len(r.pair_design.looks())} ({n} seeds, baselines {bases}): "
            f"{r.deciding_reasons(config_id)}; {fixed}")


def _mech(r: Replay, config_id: str, column: str = "mechanisms") -> str:
    return str(r.rows.loc[r.rows["config_id"] == config_id, column].iloc[0])


def _label(r: Replay, config_id: str) -> str:
    """The cell's knobs that differ from the paper's setting (decoupled variants and sweep points)."""
    row = r.rows[r.rows["config_id"] == config_id].iloc[0]
    parts = []
    for key, want in PAPER_KNOBS.items():
        have = _value(row.get(key))
        if have is None:
            continue
        if isinstance(want, bool):
            if bool(have) != want:
                parts.append(key.split(".")[0] + " decoupled" if key.endswith("decoupled") else f"{key}={have}")
        elif not math.isclose(float(have), float(want)):
            parts.append(f"{key}={have:g}" if isinstance(have, (int, float)) else f"{key}={have}")
    return ", ".join(parts) or "paper setting"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    return ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in [header, *rows]]


def table11_cells(r: Replay, rows: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(pair, dataset, config_id) of each Table 11 cell with rows (the paper's knob values, `paper_setting`)."""
    main = paper_setting(rows)
    back = {v: k for k, v in r.stored.items()}
    out = []
    for pair, dataset in paper.VERDICTS:
        ids = sorted(set(main.loc[(main["mechanisms"] == pair) & (main["dataset"] == dataset), "config_id"]))
        out += [(pair, dataset, back[str(i)]) for i in ids]
    return out


def report(r: Replay, rows: pd.DataFrame, label: str) -> list[str]:
    """The replay's lines: looks, Table 11 cells, the other cells, singles, totals."""
    p, s = r.pair_design, r.alone_design
    levels = ", ".join(f"{v:.2g}" for v in look_levels(p, r.adaptive.thresholds.alpha))
    lines = [f"{label}: {len(rows)} trials ({len(r.rows)} ok), {len(r.cells)} combination configs (cells), "
             f"{len(r.rows['config_id'].unique()) - len(r.cells)} single-mechanism configs",
             f"designs: combinations {p.text} (looks at {', '.join(map(str, p.looks()))} seeds, levels {levels}); "
             f"mechanisms alone {s.text}; thresholds: {describe(r.adaptive.thresholds)} (the defaults)",
             "seeds taken in seed order, as the driver runs them; trials planned by explorer.looks.plan_look, "
             "verdicts by analysis.conflicts(designs=...)"]
    for m in r.missing_baselines:
        lines.append(f"  no baseline rows: {m}")
    for rec in r.looks:
        metrics = ", ".join(f"{m} {n}" for m, n in rec.open_metrics.items())
        lines.append(f"look {rec.look}: {rec.undecided} cell(s) undecided below their max"
                     + (f" (open comparisons: {metrics})" if metrics else "")
                     + (f" -> {rec.added_pair + rec.added_baseline} trials added ({rec.added_pair} pair, "
                        f"{rec.added_baseline} baseline)" if rec.added_pair + rec.added_baseline else " -> done"))
    t11 = table11_cells(r, rows)
    header = ["pair", "dataset", "seeds", "baselines (seeds)", "trials", "fixed", "by look", "adaptive verdict",
              "fixed verdict", "agree"]
    body, whys = [], []
    for pair, dataset, c in t11:
        body.append(_cell_row(r, c, [pair, DATASETS.get(dataset, dataset)]))
        why = _why(r, c)
        if why:
            whys.append(f"  {pair} {DATASETS.get(dataset, dataset)}: {why}")
    lines += ["", "Table 11 (pair x dataset); trials = the pair's own + its share of each baseline "
              "(a baseline's trials split equally among the cells that test against it); fixed: the same count "
              "under the fixed design; by look: the cell's verdict after each look (? inconclusive, N no conflict, "
              "C conflict)"]
    lines += _table(header, body) + whys
    others = [c.config_id for c in r.cells if c.config_id not in {x for _, _, x in t11}]
    body, whys = [], []
    for c in sorted(others, key=lambda c: (_order(r, c), _label(r, c))):
        row = r.rows[r.rows["config_id"] == c].iloc[0]
        body.append(_cell_row(r, c, [str(row["mechanisms"]), DATASETS.get(row["dataset"], row["dataset"]),
                                     _label(r, c)]))
        why = _why(r, c)
        if why:
            whys.append(f"  {row['mechanisms']} {DATASETS.get(row['dataset'], row['dataset'])} ({_label(r, c)}): {why}")
    lines += ["", "Other combination configs (relaxed variants, sweep points)"]
    lines += _table(["pair", "dataset", "setting", *header[2:]], body) + whys
    late = [c.config_id for c in r.cells if r.seeds[c.config_id] > p.min + p.step]
    if late:
        lines += ["", f"cells that needed more than {p.min + p.step} seeds, and why (the reasons plan_look gave "
                  "for their last seeds):"]
        for c in sorted(late, key=lambda c: (_order(r, c), _label(r, c))):
            row = r.rows[r.rows["config_id"] == c].iloc[0]
            last = max(rec.look for rec in r.looks if c in rec.reasons)
            reason = next(rec.reasons[c] for rec in r.looks if rec.look == last)
            lines.append(f"  {row['mechanisms']} {DATASETS.get(row['dataset'], row['dataset'])} ({_label(r, c)}), "
                         f"{r.seeds[c]} seeds; at look {last}: {reason}")
    alone = sorted(c for c in r.fixed if c not in r.users and c not in {x.config_id for x in r.cells})
    names = [f"{_mech(r, c)} ({_mech(r, c, 'experiment')})" for c in alone]
    lines += ["", f"mechanisms alone that no cell tests against, at the design's min of {s.min} seeds: "
              f"{len(alone)} configs, {sum(r.seeds[c] for c in alone)} trials "
              f"(fixed {sum(r.fixed[c] for c in alone)}): " + ", ".join(names)]
    total, total_fixed = sum(r.seeds.values()), sum(r.fixed.values())
    t11_a = sum(r.trials(c) for _, _, c in t11)
    t11_f = sum(r.trials(c, fixed=True) for _, _, c in t11)
    agree = sum(_text(r.verdict(c)) == _text(r.verdict(c, fixed=True)) for c in r.history)
    agree11 = sum(_text(r.verdict(c)) == _text(r.verdict(c, fixed=True)) for _, _, c in t11)
    at_min = sum(r.seeds[c] == p.min for c in r.history)
    at_max = sum(r.seeds[c] == p.max for c in r.history)
    lines += ["", f"cells: {len(r.history)}; stopped at {p.min} seeds: {at_min}, at {p.max}: {at_max}; adaptive "
              f"verdict = fixed verdict in {agree} of {len(r.history)} ({agree11} of {len(t11)} Table 11 cells)",
              f"total: adaptive {total} trials vs fixed {total_fixed}: ratio {total / total_fixed:.2f}",
              f"trial time (sum of end_time - start_time over the rows run): adaptive {_hours(r.used):.1f} h vs fixed "
              f"{_hours(r.rows):.1f} h: ratio {_hours(r.used) / _hours(r.rows):.2f}",
              f"Table 11 (12 pairs + their shares of baselines): adaptive {t11_a:.1f} vs fixed {t11_f:.1f}: "
              f"ratio {t11_a / t11_f:.2f}"]
    return lines


def _hours(rows: pd.DataFrame) -> float:
    start = pd.to_datetime(rows["start_time"], utc=True, errors="coerce")
    end = pd.to_datetime(rows["end_time"], utc=True, errors="coerce")
    return float((end - start).dt.total_seconds().sum()) / 3600


def _order(r: Replay, config_id: str) -> tuple[int, str]:
    row = r.rows[r.rows["config_id"] == config_id].iloc[0]
    return list(DATASETS).index(row["dataset"]) if row["dataset"] in DATASETS else 99, str(row["mechanisms"])


def _cell_row(r: Replay, c: str, head: list[str]) -> list[str]:
    bases = ", ".join(f"{_mech(r, b)} {r.seeds[b]}" for b in r.baselines_of(c))
    a, f = _text(r.verdict(c)), _text(r.verdict(c, fixed=True))
    return [*head, str(r.seeds[c]), bases, f"{r.trials(c):.1f}", f"{r.trials(c, fixed=True):.1f}",
            " ".join(_SHORT.get(v, v) for v in r.history[c]), a, f, "yes" if a == f else "no"]


_SHORT = {"inconclusive": "?", "no conflict": "N", "conflict": "C"}


def table11_only(r: Replay, rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of the Table 11 searches alone: its 12 pairs, the baselines they test against, the undefended model."""
    keep = {c for _, _, c in table11_cells(r, rows)}
    keep |= {b for b, users in r.users.items() if keep & set(users)}
    ok = ok_rows(rows)
    mine = ok["config_id"].isin({r.stored[c] for c in keep}) | (ok["mechanisms"] == "none")
    return ok[mine.to_numpy(dtype=bool)]


def reproduction_agrees(r: Replay, rows: pd.DataFrame) -> tuple[int, int]:
    """(cells, of them equal) between the replay's fixed Table 11 verdicts and `explorer reproduction`'s own
    (`analysis.conflicts` on the rows at the paper's knob values, as `reproduction.tables` computes them)."""
    cells = conflicts(paper_setting(rows), r.adaptive.thresholds).cells
    t11 = table11_cells(r, rows)
    same = 0
    for pair, dataset, c in t11:
        theirs = cells[(cells["mechanisms"] == pair) & (cells["dataset"] == dataset)].iloc[0]
        same += _text(theirs) == _text(r.verdict(c, fixed=True))
    return len(t11), same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="?", default="results/reproduction", help="the reproduction's rows")
    parser.add_argument("--pairs", type=design, default=SeedDesign(2, 5), help="combinations' design MIN-MAX")
    parser.add_argument("--alone", type=design, default=SeedDesign(2, 3), help="mechanisms alone: MIN-MAX")
    args = parser.parse_args()
    rows = analysis.load(args.results)
    r = replay(rows, args.pairs, args.alone)
    print("\n".join(report(r, rows, args.results)))
    n, same = reproduction_agrees(r, rows)
    print(f"check: the fixed verdicts above equal explorer reproduction's Table 11 ('ours', docs/reproduction.md) "
          f"in {same} of {n} cells")
    sub = table11_only(r, rows)
    only = replay(sub, args.pairs, args.alone)
    cells = {c.config_id for c in only.cells}
    same = sum(_text(only.verdict(c)) == _text(r.verdict(c)) for c in cells)
    undefended = sum(_mech(only, c) == "none" for c in only.fixed)
    adaptive, fixed = sum(only.seeds.values()), sum(only.fixed.values())
    print(f"the Table 11 searches replayed alone ({len(only.cells)} pairs, {len(only.users)} baselines, {undefended} "
          f"undefended): adaptive {adaptive} trials vs fixed {fixed}: ratio {adaptive / fixed:.2f}; verdicts as in "
          f"the full replay: {same} of {len(cells)}")


if __name__ == "__main__":
    main()
