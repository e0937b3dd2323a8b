"""The money chain's own sums give numpy's numbers to the last bit, signed zeros, infinities
and NaNs included: sum_axis1 (sums over payers, metrics and tranches) against
``a.sum(axis=1)``, and the evaluation's window sums (masked_period_sums, numpy's pairwise
summation) against ``(u * mask[None]).sum(-1)``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sibsim.money._arrays import sum_axis1
from sibsim.money.evaluation import _window_sums
from sibsim.money.kernels.chain import PAIRWISE_BLOCK

finite_or_not = st.floats(allow_nan=True, allow_infinity=True, width=64)


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=3, max_dims=4, min_side=1, max_side=10),
                  elements=finite_or_not), st.data())
def test_equals_numpy_bit_for_bit(a: np.ndarray, data) -> None:
    want = a.sum(axis=1)
    got = sum_axis1(a)
    assert got.shape == want.shape
    assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(want))
    idx = data.draw(st.lists(st.integers(0, a.shape[1] - 1), max_size=a.shape[1]))
    want_i, got_i = a[:, idx].sum(axis=1), sum_axis1(a, idx)
    assert np.array_equal(got_i, want_i, equal_nan=True)
    assert np.array_equal(np.signbit(got_i), np.signbit(want_i))


def test_negative_zeros_add_to_positive_zero_as_numpy() -> None:
    a = np.full((2, 3, 4), -0.0)
    assert not np.signbit(sum_axis1(a)).any() and not np.signbit(a.sum(axis=1)).any()


def test_wide_magnitudes_keep_numpys_order() -> None:
    # order matters: (1e16 + 1) - 1e16 = 0 but 1e16 - 1e16 + 1 = 1
    a = np.array([[[1e16], [1.0], [-1e16]]])
    assert sum_axis1(a)[0, 0] == a.sum(axis=1)[0, 0] == 0.0


@settings(max_examples=200)
@given(st.integers(1, PAIRWISE_BLOCK + 3), st.integers(1, 4), st.data())
@example(n=8, waves=1, data=None)  # one full block of 8 running sums
@example(n=17, waves=2, data=None)  # two blocks and a remainder
def test_window_sums_equal_numpy_bit_for_bit(n: int, waves: int, data) -> None:
    rng = np.random.default_rng(n * 10 + waves)
    u = rng.normal(size=(6, waves, n)) * 10.0 ** rng.integers(-8, 12, size=(6, waves, n))
    mask = (rng.random((waves, n)) < 0.7).astype(float)
    if data is not None:  # special values in drawn places
        for value in data.draw(st.lists(st.sampled_from([-0.0, 0.0, np.inf, -np.inf, np.nan]),
                                        max_size=4)):
            u[data.draw(st.integers(0, 5)), data.draw(st.integers(0, waves - 1)),
              data.draw(st.integers(0, n - 1))] = value
    u[0] = -0.0  # a draw of negative zeros only
    with np.errstate(invalid="ignore"):
        want = (u * mask[None]).sum(-1)
    got = _window_sums(u, mask)
    assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("n", [7, 8, 9, 16, 23])
def test_window_sums_use_numpys_pairwise_order(n: int) -> None:
    # 1e16 among ones: adding the ones one by one to 1e16 loses them (1e16 + 1 == 1e16), while
    # numpy's 8 running sums keep some of them apart from it; the kernel must agree with numpy
    u = np.ones((1, 1, n))
    u[0, 0, 0] = 1e16
    u[0, 0, -1] = -1e16
    want = u.sum(-1)
    assert _window_sums(u, np.ones((1, n)))[0, 0] == want[0, 0]
