"""Property tests (hypothesis): mutated files fail with one line, never a traceback; valid files round-trip."""

from __future__ import annotations

import contextlib
import copy
import io
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import search_spaces as ss
from search_spaces.cli import main
from search_spaces.reader import read_text

HERE = Path(__file__).resolve().parent
ERROR_LINE = re.compile(r"[^\n]+?(:\d+)?: [^\n]+?: got [^\n]*, expected [^\n]+")
SEEDS = {
    "small": (HERE / "data" / "small.yaml").read_text(),
    **{n: ss.presets()[n].read_text() for n in ("quickstart", "mnist-decoupled", "cifar10-optuna-dp-adv-wm",
                                               "fmnist-sweep-gamma")},
    **{f"doc{i}": b for i, b in enumerate(re.findall(r"```yaml\n(.*?)```",
                                                     (HERE.parents[1] / "docs" / "search-spaces.md").read_text(),
                                                     re.S))},
}
BASES = {name: read_text(text).data for name, text in SEEDS.items()}
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ODD_VALUES = [None, True, False, "zz", "", [1, 2], [], {"zz": 1}, {}, 3.5, -7, 0, -1, -0.5, 1e12, 1e-12, 2**63,
              {"grid": []}, {"uniform": [1]}, {"choice": [[1]]}, "1/0", ".nan"]


def check_outcome(text: str) -> ss.Space | None:
    """Load ``text``: a valid space round-trips; an invalid one is exactly one well-formed line."""
    try:
        space = ss.loads(text, "m.yaml")
    except ss.SpaceError as e:
        msg = str(e)
        assert "\n" not in msg and ERROR_LINE.fullmatch(msg), msg
        assert msg.startswith("m.yaml") and e.key
        return None
    again = ss.loads(ss.dump(space))
    assert again == space
    return space


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, (*prefix, i))
    return out


def get(node: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        node = node[p]
    return node


def dumped(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False)


@st.composite
def mutation(draw: st.DrawFn) -> tuple[str, str, bool]:
    """(kind, text, must_fail)."""
    name = draw(st.sampled_from(sorted(BASES)))
    data = copy.deepcopy(BASES[name])
    kind = draw(st.sampled_from(["delete", "insert", "swap", "number"]))
    if kind == "delete":
        candidates = [p for p in paths(data) if p and isinstance(get(data, p[:-1]), (dict, list))]
        p = draw(st.sampled_from(candidates))
        parent = get(data, p[:-1])
        del parent[p[-1]]
        return kind, dumped(data), False
    if kind == "insert":
        maps = [p for p in paths(data) if isinstance(get(data, p), dict)]
        p = draw(st.sampled_from(maps))
        key = "zz" + draw(st.text(max_size=8))
        get(data, p)[key] = draw(st.sampled_from(ODD_VALUES[:12]))
        return kind, dumped(data), True
    leaves = [p for p in paths(data) if p and not isinstance(get(data, p), (dict, list))]
    if kind == "number":
        leaves = [p for p in leaves if isinstance(get(data, p), (int, float))] or leaves
    p = draw(st.sampled_from(leaves))
    get(data, p[:-1])[p[-1]] = draw(st.sampled_from(ODD_VALUES))
    return kind, dumped(data), False


@SETTINGS
@given(mutation())
def test_mutations_give_a_space_or_one_line(m: tuple[str, str, bool]) -> None:
    kind, text, must_fail = m
    space = check_outcome(text)
    assert not (must_fail and space is not None), (kind, text)


@SETTINGS
@given(st.sampled_from(sorted(SEEDS)), st.data())
def test_text_fuzz(name: str, data: st.DataObject) -> None:
    text = SEEDS[name]
    i = data.draw(st.integers(0, len(text)))
    j = data.draw(st.integers(i, min(len(text), i + 12)))
    junk = data.draw(st.text(alphabet=st.sampled_from(list(":-[]{},#&*!|>'\"\n\t x1.e/")), max_size=6))
    check_outcome(text[:i] + junk + text[j:])


@SETTINGS
@given(st.text(max_size=200))
def test_garbage_is_never_a_space(text: str) -> None:
    assert check_outcome(text) is None


@settings(max_examples=25, deadline=None)
@given(mutation())
def test_cli_exit_codes(m: tuple[str, str, bool]) -> None:
    _, text, _ = m
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.yaml"
        path.write_text(text)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["validate", str(path)])
    assert code in (0, 2)
    if code == 2:
        assert out.getvalue() == "" and err.getvalue().count("\n") == 1
        assert "Traceback" not in err.getvalue() and "internal error" not in err.getvalue()
    else:
        assert err.getvalue() == "" and "trials:" in out.getvalue()


# -- valid spaces built from parts: they load and round-trip ------------------------------------------------

KNOB_DOMAINS = {
    "dp": {"target_epsilon": [3, {"grid": [1, 3]}, {"loguniform": [1, 10]}, {"choice": [2, 8]}],
           "delta": [1e-5, 1e-6], "accountant": ["rdp", {"choice": ["rdp", "prv"]}]},
    "adv": {"gamma": [0.25, {"uniform": [0.1, 0.3]}, {"grid": [0.1, 0.2]}], "steps": [3, {"int": [2, 30]}],
            "random_start": [True, {"grid": [True, False]}]},
    "wm": {"trigger_size": [50, {"int": [10, 100]}, {"grid": [10, 20]}], "decoupled": [False, True],
           "labels": ["random", {"choice": ["random", "source"]}]},
    "rad": {"ratio": [0.1, {"uniform": [0.05, 0.3]}], "iterations": [5, {"grid": [5, 10]}]},
    "di": {"samples": [8, None], "independent": [False, True]},
}


@st.composite
def valid_space(draw: st.DrawFn) -> dict[str, Any]:
    mechs = ["dp", "adv", "wm", "rad", "di"]
    tuples = draw(st.lists(st.lists(st.sampled_from(mechs), min_size=1, max_size=3, unique=True)
                           .map(sorted).map(tuple), min_size=1, max_size=3, unique=True))
    algorithm = draw(st.sampled_from(["grid", "random", "optuna"]))
    space: dict[str, Any] = {"name": draw(st.from_regex(r"[a-z][a-z0-9_.+-]{0,10}", fullmatch=True)),
                             "dataset": "digits" if algorithm == "optuna" else
                             draw(st.sampled_from(["digits", ["digits", "synthetic"]])),
                             "training": {"epochs": draw(st.integers(1, 3))},
                             "mechanisms": [list(t) for t in tuples]}
    used = {m for t in tuples for m in t}
    for m in sorted(used):
        body = {}
        for knob, options in KNOB_DOMAINS[m].items():
            if draw(st.booleans()):
                value = draw(st.sampled_from(options))
                if algorithm == "grid" and isinstance(value, dict) and set(value) & {"uniform", "loguniform", "int"}:
                    continue
                body[knob] = value
        space[m] = body
    space["seeds"] = draw(st.sampled_from([1, 2, [0, 5], {"single": 2, "combined": 3}]))
    space["baselines"] = draw(st.sampled_from([True, False, {"set": {}}]))
    gamma = space.get("adv", {}).get("gamma")
    if algorithm != "grid" and isinstance(gamma, dict) and "uniform" in gamma and space["baselines"] is not False:
        space["baselines"] = {"set": {"adv.gamma": 0.2}}  # adv.gamma's default depends on the input
    search: dict[str, Any] = {"algorithm": algorithm}
    if algorithm != "grid":
        search["num_samples"] = draw(st.integers(1, 4))
    if algorithm == "optuna":
        search["sampler"] = draw(st.sampled_from(["nsga2", "tpe"]))
        common = set.intersection(*(set(t) for t in tuples))
        if "wm" in common and draw(st.booleans()):
            search["objectives"] = {"acc": "max", "wm.acc": "max"}
    search["constraints"] = draw(st.sampled_from(["conflict", "none", ["conflict", {"metric": "acc", "min": 0.5}]]))
    space["search"] = search
    space["resources"] = {"cpu": draw(st.sampled_from([1, 0.5, 2])), "gpu": draw(st.sampled_from([0, 0.25, 1]))}
    return space


@SETTINGS
@given(valid_space())
def test_built_spaces_load_and_round_trip(data: dict[str, Any]) -> None:
    space = check_outcome(dumped(data))
    assert space is not None
    assert ss.dump(ss.loads(ss.dump(space))) == ss.dump(space)
    small = ss.smoke(space)
    assert ss.smoke(small) == small


@pytest.mark.slow
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutation())
def test_many_mutations(m: tuple[str, str, bool]) -> None:
    """The mutation property with many more examples (about a minute)."""
    kind, text, must_fail = m
    space = check_outcome(text)
    assert not (must_fail and space is not None), (kind, text)
