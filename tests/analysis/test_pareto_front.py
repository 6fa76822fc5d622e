"""Pareto fronts: exact against the definition, order-free, stable under dominated rows; constraints."""

from __future__ import annotations

from unittest import mock

import hypothesis.extra.numpy as hnp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import analysis.pareto as pareto_module
from analysis import AnalysisInputError, feasible_mask, nondominated, pareto_front, pareto_mask

SENSES = st.lists(st.sampled_from(["min", "max"]), min_size=1, max_size=5)


def brute_force(loss: np.ndarray) -> np.ndarray:
    """Row i is on the front iff no row is <= in every column and < in one."""
    return np.array([not ((loss <= row).all(axis=1) & (loss < row).any(axis=1)).any() for row in loss], dtype=bool)


@st.composite
def tables(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, str]]:
    senses = draw(SENSES)
    n = draw(st.integers(0, 40))
    values = draw(hnp.arrays(np.int64, (n, len(senses)), elements=st.integers(0, 4)))  # small range: ties, copies
    names = [f"o{i}" for i in range(len(senses))]
    return pd.DataFrame(values.astype(float), columns=names), dict(zip(names, senses))


def as_loss(df: pd.DataFrame, objectives: dict[str, str]) -> np.ndarray:
    return (
        np.column_stack([-df[c] if s == "max" else df[c] for c, s in objectives.items()])
        if len(df)
        else np.empty((0, len(objectives)))
    )


@settings(max_examples=150, deadline=None)
@given(tables())
def test_front_is_exactly_the_non_dominated_rows(case: tuple[pd.DataFrame, dict[str, str]]) -> None:
    df, objectives = case
    mask = pareto_mask(df, objectives)
    loss = as_loss(df, objectives)
    assert (mask.to_numpy() == brute_force(loss)).all()
    front = loss[mask.to_numpy()]
    for row in front:  # no front row is dominated by any row
        assert not ((loss <= row).all(axis=1) & (loss < row).any(axis=1)).any()


@settings(max_examples=100, deadline=None)
@given(tables(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(case: tuple[pd.DataFrame, dict[str, str]], rnd) -> None:  # type: ignore[no-untyped-def]
    df, objectives = case
    order = list(range(len(df)))
    rnd.shuffle(order)
    shuffled = df.iloc[order]
    assert (pareto_mask(shuffled, objectives).sort_index() == pareto_mask(df, objectives)).all()


@settings(max_examples=100, deadline=None)
@given(tables(), st.data())
def test_adding_a_dominated_row_changes_nothing(case: tuple[pd.DataFrame, dict[str, str]], data: st.DataObject) -> None:
    df, objectives = case
    if df.empty:
        return
    base = df.iloc[data.draw(st.integers(0, len(df) - 1))]
    worse = {
        c: base[c] - 1 - data.draw(st.integers(0, 2)) if s == "max" else base[c] + 1 + data.draw(st.integers(0, 2))
        for c, s in objectives.items()
    }
    grown = pd.concat([df, pd.DataFrame([worse], index=[len(df) + 100])])
    mask = pareto_mask(grown, objectives)
    assert not mask.iloc[-1]
    assert (mask.iloc[:-1] == pareto_mask(df, objectives)).all()


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.int64, st.tuples(st.integers(0, 120), st.integers(3, 5)), elements=st.integers(0, 5)))
def test_pivot_and_block_paths_match_brute_force(values: np.ndarray) -> None:
    loss = values.astype(float)
    with mock.patch.object(pareto_module, "_PAIRWISE_BELOW", 3):  # force the pivot sweep on small inputs
        assert (nondominated(loss) == brute_force(loss)).all()


def test_copies_of_a_front_point_all_stay() -> None:
    df = pd.DataFrame({"a": [1.0, 1.0, 0.5, 1.0], "b": [2.0, 2.0, 1.0, 2.0]})
    assert pareto_mask(df, {"a": "max", "b": "max"}).tolist() == [True, True, False, True]


def test_constraints_missing_values_and_feasible_mask() -> None:
    df = pd.DataFrame({"acc": [0.99, 0.95, 0.90, np.nan, 0.97], "eps": [10.0, 3.0, 1.0, 0.5, np.nan]})
    objectives = {"acc": "max", "eps": "min"}
    assert pareto_mask(df, objectives).tolist() == [True, True, True, False, False]
    # the 0.99 row is infeasible, so it neither sits on nor shapes the front
    constrained = pareto_front(df, objectives, {"eps": ("<=", 5.0)})
    assert constrained.index.tolist() == [1, 2]
    same = pareto_front(df, objectives, lambda d: d["eps"] <= 5.0)
    assert same.index.tolist() == [1, 2]
    assert feasible_mask(df, {"acc": (">=", 0.95)}).tolist() == [True, True, False, False, True]


def test_agrees_with_optuna_on_random_data() -> None:
    optuna_mo = pytest.importorskip("optuna.study._multi_objective")
    rng = np.random.default_rng(3)
    for m in (2, 3, 4):
        loss = np.round(rng.random((20_000, m)), 2)
        assert (nondominated(loss) == optuna_mo._is_pareto_front(loss, assume_unique_lexsorted=False)).all()


@pytest.mark.parametrize(
    ("objectives", "constraints", "message"),
    [
        ({}, None, "objectives is empty"),
        ({"nope": "max"}, None, "objective column 'nope'"),
        ({"acc": "up"}, None, "sense 'up'"),
        ({"acc": "max"}, {"acc": ("=>", 1.0)}, "not \\(operator, value\\)"),
        ({"acc": "max"}, {"nope": (">", 1.0)}, "constraint column 'nope'"),
    ],
)
def test_bad_objectives_and_constraints(objectives, constraints, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AnalysisInputError, match=message):
        pareto_mask(pd.DataFrame({"acc": [0.5]}), objectives, constraints)


@pytest.mark.slow
def test_one_million_rows_four_objectives_under_two_seconds() -> None:
    import time

    rng = np.random.default_rng(0)
    df = pd.DataFrame(np.round(rng.random((1_000_000, 4)), 3), columns=["acc", "adv.acc", "wm.acc", "dp.epsilon"])
    start = time.perf_counter()
    mask = pareto_mask(df, {"acc": "max", "adv.acc": "max", "wm.acc": "max", "dp.epsilon": "min"})
    assert time.perf_counter() - start < 2.0
    assert 0 < mask.sum() < 10_000
