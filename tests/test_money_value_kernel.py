"""MoneyValue.value's noisy money through its kernel (money/kernels/money_value.py) equals the
numpy expression it replaces, bit for bit, including negative units, zeros and NaN."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sibsim.money.money_metric import MoneyValue, _fused_value

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
any_float = st.one_of(finite, st.just(0.0), st.just(-0.0), st.just(float("nan")))


def numpy_value(units, scale, z, cv):
    spread = cv * np.sqrt(np.maximum(units, 0.0)) * z
    return np.maximum(units + spread, 0.0) * scale


@settings(max_examples=200, deadline=None)
@given(st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.integers(1, 6)),
       st.floats(0.0, 3.0), st.data())
def test_kernel_equals_numpy_bit_for_bit(shape, cv, data):
    units = data.draw(arrays(np.float64, shape, elements=any_float))
    z = data.draw(arrays(np.float64, shape, elements=st.floats(-5, 5)))
    scale = data.draw(arrays(np.float64, (shape[0], 1, 1, shape[-1]),
                             elements=st.floats(0.0, 1e4)))
    with np.errstate(invalid="ignore"):
        expect = numpy_value(units, scale, z, cv)
    got = _fused_value(units, scale, z, cv)
    assert got is not None
    np.testing.assert_array_equal(got, expect)
    assert np.array_equal(np.signbit(got), np.signbit(expect))  # -0.0 as numpy gives it
    # the public method takes the kernel and applies the engaged factor after it
    factor = np.full(shape, 1.5)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(MoneyValue(per_unit=1.0, cv=cv).value(units, scale, z,
                                                                            factor),
                                      expect * factor)


def test_other_layouts_take_the_numpy_path():
    units = np.ones((2, 3))
    assert _fused_value(units, np.ones((1, 3)), np.ones((2, 3)), 0.5) is None  # broadcast D
    assert _fused_value(units, np.ones((2, 3)), np.ones((2, 1)), 0.5) is None  # z shape
    out = MoneyValue(per_unit=1.0, cv=0.5).value(units, np.ones((1, 3)), np.ones((2, 3)))
    np.testing.assert_array_equal(out, numpy_value(units, np.ones((1, 3)), np.ones((2, 3)), 0.5))
