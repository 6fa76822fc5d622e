"""Hypervolume: exact against grid counting on small integer cases, and against optuna's WFG."""

from __future__ import annotations

import itertools

import hypothesis.extra.numpy as hnp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import hypervolume


def grid_count(points: np.ndarray, senses: list[str], reference: list[float]) -> int:
    """Unit cells of the integer grid between the best corner and the reference that some point dominates."""
    signs = np.array([-1.0 if s == "max" else 1.0 for s in senses])
    loss, ref = points * signs, np.array(reference) * signs
    low = np.minimum(loss.min(axis=0), ref) if len(loss) else ref
    count = 0
    for cell in itertools.product(*[range(int(lo), int(r)) for lo, r in zip(low, ref)]):
        if len(loss) and (loss <= np.array(cell)).all(axis=1).any():
            count += 1
    return count


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_equals_grid_counting_on_small_integer_cases(data: st.DataObject) -> None:
    m = data.draw(st.integers(1, 4))
    senses = data.draw(st.lists(st.sampled_from(["min", "max"]), min_size=m, max_size=m))
    points = data.draw(hnp.arrays(np.int64, (data.draw(st.integers(0, 9)), m), elements=st.integers(0, 4))).astype(
        float
    )
    reference = [-1.0 if s == "max" else 5.0 for s in senses]
    objectives = {f"o{i}": s for i, s in enumerate(senses)}
    assert hypervolume(points, objectives, reference) == pytest.approx(grid_count(points, senses, reference), abs=1e-9)


def test_known_two_objective_value_and_dataframe_input() -> None:
    df = pd.DataFrame({"f1": [1, 2, 4, 3], "f2": [4, 2, 1, 3]}, dtype=float)
    assert hypervolume(df, {"f1": "min", "f2": "min"}, {"f1": 5.0, "f2": 5.0}) == pytest.approx(11.0)
    # maximisation mirror of the same points
    assert hypervolume(-df, {"f1": "max", "f2": "max"}, {"f1": -5.0, "f2": -5.0}) == pytest.approx(11.0)


def test_points_beyond_the_reference_or_missing_add_nothing() -> None:
    objectives = {"a": "min", "b": "min"}
    base = hypervolume(np.array([[1.0, 1.0]]), objectives, [3.0, 3.0])
    assert hypervolume(np.array([[1.0, 1.0], [0.0, 4.0], [np.nan, 0.0]]), objectives, [3.0, 3.0]) == pytest.approx(base)


@pytest.mark.parametrize("m", [3, 4])
def test_agrees_with_optuna_wfg(m: int) -> None:
    hv_module = pytest.importorskip("optuna._hypervolume")
    rng = np.random.default_rng(m)
    points = rng.random((60, m))
    reference = np.full(m, 1.2)
    expected = hv_module.compute_hypervolume(points, reference)
    assert hypervolume(points, {f"o{i}": "min" for i in range(m)}, reference) == pytest.approx(expected, rel=1e-10)
