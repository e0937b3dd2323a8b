"""The yearly budget's quantiles, taken in one selection with the draws last, are numpy's
``np.quantile(x, level, axis=0)`` to the last bit, for any shape, ties and levels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sibsim.analysis.budget import _quantiles

levels = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=5)
values = st.one_of(st.floats(-1e9, 1e9), st.sampled_from([0.0, 1.0, -2.5]))  # ties, zeros
shapes = st.tuples(st.integers(1, 60), st.integers(1, 4), st.integers(1, 6))


@settings(max_examples=200, deadline=None)
@given(x=shapes.flatmap(lambda s: arrays(np.float64, s, elements=values)), qs=levels)
@example(x=np.arange(11.0).reshape(11, 1, 1), qs=[0.1, 0.9, 0.5])
@example(x=np.zeros((1, 2, 3)), qs=[0.0, 1.0])
def test_quantiles_equal_numpys_per_level(x: np.ndarray, qs: list[float]) -> None:
    got = _quantiles(x, *qs)
    assert len(got) == len(qs)
    for q, g in zip(qs, got, strict=True):
        want = np.quantile(x, q, axis=0)
        assert g.shape == want.shape
        np.testing.assert_array_equal(g, want)


def test_quantiles_of_a_two_dimensional_table() -> None:
    # a fund's (draw, year) table: the interpolation between order statistics by hand
    x = np.array([[0.0, 10.0], [1.0, 30.0], [3.0, 20.0], [2.0, 40.0]])
    med, p90 = _quantiles(x, 0.5, 0.9)
    np.testing.assert_array_equal(med, [1.5, 25.0])  # between the 2nd and 3rd of 4
    np.testing.assert_allclose(p90, [2.7, 37.0])     # 0.9 * 3 = 2.7 -> 70% of the way 3rd->4th


@pytest.mark.parametrize("shape", [(501,), (501, 1), (1, 3, 2), (501, 3, 4)])
def test_quantiles_leave_the_callers_array_as_it_was(shape) -> None:
    """np.quantile reorders its input in place (overwrite_input): always a copy of ours, also
    when the draws are already last and contiguous (a view would be the caller's array)."""
    x = np.random.default_rng(1).normal(size=shape)
    before = x.copy()
    got = _quantiles(x, 0.05, 0.5, 0.9)
    assert np.array_equal(x, before)
    want = [np.quantile(before, q, axis=0) for q in (0.05, 0.5, 0.9)]
    assert all(g.tobytes() == w.tobytes() for g, w in zip(got, want, strict=True))
