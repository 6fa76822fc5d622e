"""`search.confirm`: defaults, errors at their line, round trip, smoke caps, its cost and the record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest

import search_spaces as ss
from search_spaces.cli import main
from search_spaces.cost import confirmation_estimate, trial_passes
from search_spaces.record import analysis_view, record

SMALL = (Path(__file__).resolve().parent / "data" / "small.yaml").read_text()
SAMPLED = SMALL.replace("{grid: [1, 3]}", "{loguniform: [1, 10]}").replace("{grid: [10, 20]}", "{int: [10, 120]}") \
    + "baselines: {set: {dp.target_epsilon: 3}}\n"


def test_confirmation_is_on_for_optuna_and_random_and_never_for_grid() -> None:
    assert ss.loads(SAMPLED + "search: {algorithm: optuna}\n").search.confirm == ss.Confirm(top=3, seeds=3)
    assert ss.loads(SAMPLED + "search: {algorithm: random}\n").search.confirm == ss.Confirm(top=3, seeds=3)
    assert ss.loads(SMALL).search.confirm is None
    off = ss.loads(SAMPLED + "search: {algorithm: optuna, confirm: false}\n")
    assert off.search.confirm is None
    chosen = ss.loads(SAMPLED + "search: {algorithm: optuna, confirm: {top: 1, seeds: 5}}\n")
    assert chosen.search.confirm == ss.Confirm(top=1, seeds=5)
    for space in (off, chosen, ss.loads(SMALL)):
        assert ss.loads(ss.dump(space)) == space


@pytest.mark.parametrize(
    ("search", "key", "allowed"),
    [
        ("{confirm: {top: 2}}", "search.confirm", "with algorithm grid"),
        ("{algorithm: optuna, confirm: {top: 0}}", "search.confirm.top", "an integer in [1, 1000]"),
        ("{algorithm: optuna, confirm: {top: 9223372036854775808}}", "search.confirm.top", "[1, 1000]"),
        ("{algorithm: optuna, confirm: {seeds: 1}}", "search.confirm.seeds", "[2, 1000]"),
        ("{algorithm: random, confirm: {top: 1, runs: 2}}", "search.confirm.runs", "a known key: top, seeds"),
        ("{algorithm: random, confirm: always}", "search.confirm", "true, false or {top: k, seeds: n}"),
    ],
)
def test_bad_confirm_values_name_the_key_and_line(search: str, key: str, allowed: str,
                                                  one_line: Callable[[str], None]) -> None:
    with pytest.raises(ss.SpaceError) as info:
        ss.loads(SAMPLED + f"search: {search}\n", "space.yaml")
    one_line(str(info.value))
    assert info.value.key == key and allowed in info.value.allowed, str(info.value)
    assert info.value.line == 11, str(info.value)


def test_smoke_confirms_one_candidate_under_two_seeds() -> None:
    small = ss.smoke(ss.loads(SAMPLED + "search: {algorithm: optuna, confirm: {top: 4, seeds: 6}}\n"))
    assert small.search.confirm == ss.Confirm(top=1, seeds=2) and ss.smoke(small) == small


def test_confirmation_cost_counts_candidates_seeds_and_member_baselines() -> None:
    optuna = ss.loads(SAMPLED + "search: {algorithm: optuna, confirm: {top: 2, seeds: 4}}\n")
    est = confirmation_estimate(optuna)
    # per tuple (dp+wm, adv+wm): 2 candidates x (3 more seeds of the pair + 4 seeds of each member alone)
    assert est is not None and est.trials == 2 * 2 * (3 + 4 + 4)
    random = ss.loads(SAMPLED + "search: {algorithm: random, confirm: {top: 2, seeds: 4}}\n")
    est_random = confirmation_estimate(random)
    assert est_random is not None and est_random.trials == 2 * 2 * (4 - 3 + 4 + 4)  # the tuples ran 3 seeds
    assert confirmation_estimate(ss.loads(SMALL)) is None
    rep = {"dataset": "digits", "mechanisms": "dp+wm", "train.epochs": 2, "wm.trigger_size": 15}
    assert trial_passes({**rep, "mechanisms": "wm"}) < trial_passes(rep)


def test_validate_prints_the_confirmation_cost(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SAMPLED + "search: {algorithm: optuna, num_samples: 5}\n")
    assert main(["validate", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    line = next(x for x in lines if x.startswith("confirmation: "))
    assert "at most 48 more trials (top 3 candidates per tuple x 3 seeds, with dp, wm, adv alone" in line
    assert "on 2 CPU cores" in line and "search + confirmation: about" in line
    path.write_text(SAMPLED + "search: {algorithm: optuna, num_samples: 5, confirm: false}\n")
    assert main(["validate", str(path)]) == 0
    assert "confirmation: off" in capsys.readouterr().out


def test_the_record_holds_the_space_and_its_analysis_view() -> None:
    text = SAMPLED + ("search: {algorithm: optuna, objectives: {acc: max, wm.acc: max}, constraints: "
                      "[conflict, {metric: acc, min: 0.9}, {metric: wm.acc, drop_vs_baseline: 0.2}, "
                      "{metric: acc, drop_vs_baseline: 0.05, baseline: [none]}]}\nthresholds: {adv: 0.2}\n")
    space = ss.loads(text)
    view = analysis_view(space)
    assert view["objectives"] == {"acc": "max", "wm.acc": "max"}
    assert view["constraints"] == {"acc": [">=", 0.9]}
    assert view["thresholds"] == {"acc": 0.1, "alpha": 0.05, "wm": 0.2, "adv": 0.2, "rad_rel": 0.05, "rad_gap": 1e-2,
                                  "di_p": 1e-3, "risk_auc": 0.02, "risk_tpr": 0.02, "risk_gap": 0.02}
    assert view["notes"] == ["constraint acc.drop_vs_baseline 0.05 against none is not applied by the analysis"]
    document = json.loads(json.dumps(record(space)))
    assert ss.loads(document["space_yaml"]) == space and document["confirm"] == {"top": 3, "seeds": 3, "design": None}
