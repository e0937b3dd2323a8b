"""sum_axis1 gives numpy's ``a.sum(axis=1)`` to the last bit (the money chain's sums over payers,
metrics and tranches use it): signed zeros, infinities and NaNs included."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sibsim.money._arrays import sum_axis1

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
