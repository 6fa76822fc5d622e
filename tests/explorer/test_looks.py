"""Planning the looks of a sequential seed design (explorer.looks, no Ray): seeds only where a verdict is undecided."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import search_spaces as ss
from explorer.config import TrialConfig
from explorer.looks import confirmation_cells, grid_cells, plan_look, summary, with_meta
from search_spaces.seeds import SeedDesign

SPACE = """
name: looks
dataset: synthetic
model: tiny
training: {epochs: 1, batch_size: 32}
mechanisms: [[dp, wm]]
dp: {target_epsilon: {grid: [2, 8]}}
wm: {trigger_size: 16}
seeds: {single: {min: 2, max: 3}, combined: {min: 2, max: 4}}
"""

#: (acc mean, acc sd, wm.acc mean, wm.acc sd) per mechanisms and dp.target_epsilon: the pair at epsilon 2 loses
#: 0.5 of accuracy (a clear conflict), the pair at epsilon 8 loses 0.07 against the 0.1 threshold with a large
#: spread (undecided); the watermark holds in both.
METRICS = {("none", None): (0.9, 0.01, np.nan, 0), ("wm", None): (0.9, 0.01, 1.0, 0.0),
           ("dp", 2.0): (0.8, 0.01, np.nan, 0), ("dp", 8.0): (0.85, 0.05, np.nan, 0),
           ("dp+wm", 2.0): (0.3, 0.01, 1.0, 0.0), ("dp+wm", 8.0): (0.78, 0.05, 1.0, 0.0)}


def _rows(configs: list[dict[str, Any]], look: int = 0) -> pd.DataFrame:
    out = []
    for flat in configs:
        config = TrialConfig.from_dict({k: v for k, v in flat.items() if not k.startswith("_")})
        key = (flat["mechanisms"], flat.get("dp.target_epsilon"))
        acc, acc_sd, wm, wm_sd = METRICS[key]
        noise = [-1.0, 1.0, 0.3, -0.3, 0.6][config.seed]  # fixed deviations, so the verdicts are too
        out.append({**config.flat(), "config_id": config.config_id(), "trial_id": f"{config.config_id()}-{config.seed}",
                    "status": "ok", "acc": acc + acc_sd * noise, "wm.acc": wm + wm_sd * noise,
                    "dp.epsilon": 1.0, "adv.acc": 0.1, "seeds_design": flat.get("_seeds_design"),
                    "look": flat.get("_look", look)})
    return pd.DataFrame(out)


def _first_look(space: Any) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    configs = ss.expand(space).configs()
    tagged = [with_meta(c, space.seeds.design_for(c["mechanisms"].split("+")), 0) for c in configs]
    return configs, _rows(tagged)


def test_a_look_adds_seeds_only_to_the_undecided_cell_and_the_baseline_it_is_tested_against() -> None:
    space = ss.loads(SPACE)
    configs, rows = _first_look(space)
    cells = grid_cells(space, configs)
    assert len(cells) == 2 and all(c.design == SeedDesign(2, 4) for c in cells)
    assert {b.design for c in cells for b in c.baselines} == {SeedDesign(2, 3)}
    plan = plan_look(cells, rows, None, 1)
    undecided = cells[1] if cells[1].config["dp.target_epsilon"] == 8 else cells[0]
    assert list(plan.cells["config_id"]) == [undecided.config_id]
    assert plan.cells["baselines"].iloc[0] == ("dp",)  # acc is undecided against dp; wm.acc is decided
    added = {(t["mechanisms"], t.get("dp.target_epsilon"), t["seed"]) for t in plan.trials}
    assert added == {("dp+wm", 8.0, 2), ("dp", 8.0, 2)}  # no seed for the clear conflict, none for wm or none
    for t in plan.trials:
        assert t["_look"] == 1 and t["_look_reason"].startswith("look 1: ") and undecided.config_id in t["_look_reason"]
        assert t["_seeds_design"] in ("2-4/1", "2-3/1")
    assert plan.digest == plan_look(cells, rows, None, 1).digest  # the same rows plan the same look


def test_looks_stop_at_each_designs_max_and_a_rerun_adds_nothing() -> None:
    space = ss.loads(SPACE)
    configs, rows = _first_look(space)
    cells = grid_cells(space, configs)
    for look in (1, 2):
        plan = plan_look(cells, rows, None, look)
        rows = pd.concat([rows, _rows(list(plan.trials))], ignore_index=True)
    pair = rows[(rows["mechanisms"] == "dp+wm") & (rows["dp.target_epsilon"] == 8)]
    dp = rows[(rows["mechanisms"] == "dp") & (rows["dp.target_epsilon"] == 8)]
    assert sorted(pair["seed"]) == [0, 1, 2, 3] and sorted(dp["seed"]) == [0, 1, 2]  # 2-4 and 2-3 seeds
    assert not plan_look(cells, rows, None, 3).trials  # at its max: the rerun adds none
    lines = summary(cells, rows, None)
    assert "2 cell(s): 1 conflict, 0 no conflict, 1 undecided" in lines[0] and "looks added 3 trial(s)" in lines[0]
    assert "undecided at its max" in lines[1] and "about" in lines[1]


def test_a_fixed_number_of_seeds_has_no_looks() -> None:
    space = ss.loads(SPACE.replace("seeds: {single: {min: 2, max: 3}, combined: {min: 2, max: 4}}", "seeds: 3"))
    assert grid_cells(space, ss.expand(space).configs()) == []
    assert "_look" not in with_meta({"a": 1}, space.seeds.design_for(("dp", "wm")), 0)


def test_confirmation_cells_use_the_confirmation_design_for_candidates_and_baselines() -> None:
    space = ss.loads(SPACE + "search: {algorithm: random, num_samples: 1,\n"
                             "         confirm: {top: 1, seeds: {min: 3, max: 6}}}\n")
    assert space.search.confirm is not None
    design = space.search.confirm.seed_design()
    trial = ss.expand(space).trials[0]
    cells = confirmation_cells(space, design, [trial])
    assert len(cells) == 1 and cells[0].design == design and len(cells[0].pool) == 6
    assert {b.config["mechanisms"] for b in cells[0].baselines} == {"dp", "wm"}
    assert all(b.design == design and len(b.pool) == 6 for b in cells[0].baselines)


def test_looks_extend_the_exact_baseline_not_the_screening_one_of_baselines_set() -> None:
    """`baselines.set` puts the search's baselines at reference values; a look must extend M alone at the
    cell's own settings, the baseline its verdict is tested against."""
    space = ss.loads(SPACE.replace("seeds:", "baselines: {set: {dp.target_epsilon: 3}}\nseeds:"))
    cells = grid_cells(space, ss.expand(space).configs())
    for cell in cells:
        dp = next(b for b in cell.baselines if b.config["mechanisms"] == "dp")
        assert dp.config["dp.target_epsilon"] == cell.config["dp.target_epsilon"] != 3
