"""Tests of sibsim.money.municipality: the commissioner's savings and costs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sibsim.money.municipality import Municipality, per_period_rate


@pytest.mark.parametrize(
    ("annual", "ppy", "expected"),
    [
        (0.21, 2, 0.10),  # 1.1 ** 2 = 1.21
        (0.1025, 2, 0.05),
        (0.0, 12, 0.0),
        (0.035, 1, 0.035),
        ((1.01**4) - 1, 4, 0.01),
        (-0.19, 2, -0.10),  # 0.9 ** 2 = 0.81
    ],
)
def test_per_period_rate_worked_examples(annual, ppy, expected):
    assert per_period_rate(annual, ppy) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@given(st.floats(-0.5, 1.0), st.sampled_from([1, 2, 4, 12, 52]))
def test_per_period_rate_compounds_back_to_the_annual_rate(annual, ppy):
    r = per_period_rate(annual, ppy)
    assert (1 + r) ** ppy == pytest.approx(1 + annual, rel=1e-12)
    # compounding: the per-period rate is never above the annual rate divided by ppy
    assert r <= annual / ppy + 1e-15


def test_savings_from_events_and_person_periods():
    mun = Municipality(saving_per_event=4_000.0, wider_value_per_event=20_000.0,
                       saving_per_person_period={"in_care": 50_000.0},
                       wider_value_per_person_period={"in_care": 10_000.0, "sick": 1_000.0})
    avoided = np.array([[2.0, 0.0, -1.0], [0.5, 1.0, 0.0]])
    pp = {"in_care": np.array([[1.0, 0.0, 0.0], [-2.0, 0.0, 3.0]]),
          "sick": np.array([[0.0, 4.0, 0.0], [0.0, 0.0, 0.0]])}
    cash, wider = mun.savings(avoided, pp)
    np.testing.assert_allclose(cash, [[8_000 + 50_000, 0.0, -4_000],
                                      [2_000 - 100_000, 4_000, 150_000]])
    np.testing.assert_allclose(wider, [[40_000 + 10_000, 4_000, -20_000],
                                       [10_000 - 20_000, 20_000, 30_000]])
    assert mun.states_valued() == {"in_care", "sick"}


def test_savings_with_no_values_are_zero():
    cash, wider = Municipality().savings(np.ones((2, 3)), {})
    np.testing.assert_array_equal(cash, 0.0)
    np.testing.assert_array_equal(wider, 0.0)


def test_other_costs_are_limited_to_the_contract_periods():
    np.testing.assert_array_equal(
        Municipality(other_costs_per_period=10.0, contract_periods=3).other_costs(5),
        [10.0, 10.0, 10.0, 0.0, 0.0])
    np.testing.assert_array_equal(
        Municipality(other_costs_per_period=10.0).other_costs(4), [10.0] * 4)
    # a contract longer than the horizon: every period
    np.testing.assert_array_equal(
        Municipality(other_costs_per_period=2.0, contract_periods=9).other_costs(3), [2.0] * 3)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"saving_per_event": -1.0}, "Municipality.saving_per_event"),
        ({"wider_value_per_event": float("inf")}, "Municipality.wider_value_per_event"),
        ({"other_costs_per_period": -5.0}, "Municipality.other_costs_per_period"),
        ({"saving_per_event": "a lot"}, "Municipality.saving_per_event"),
        ({"saving_per_person_period": [("in_care", 1.0)]},
         "Municipality.saving_per_person_period"),
        ({"saving_per_person_period": {"in_care": -1.0}},
         r"Municipality.saving_per_person_period\[in_care\]"),
        ({"wider_value_per_person_period": {"": 1.0}},
         "Municipality.wider_value_per_person_period key"),
        ({"discount_rate": 1.5}, "Municipality.discount_rate"),
        ({"discount_rate": -0.6}, "Municipality.discount_rate"),
        ({"contract_periods": 0}, "Municipality.contract_periods"),
        ({"contract_periods": 2.0}, "Municipality.contract_periods"),
    ],
)
def test_validation_errors_name_the_field(kwargs, field):
    with pytest.raises((ValueError, TypeError), match=field):
        Municipality(**kwargs)


def test_valid_values_are_normalised():
    mun = Municipality(saving_per_event=3, contract_periods=np.int64(4),
                       saving_per_person_period={"in_care": 7})
    assert isinstance(mun.saving_per_event, float)
    assert isinstance(mun.contract_periods, int)
    assert mun.saving_per_person_period == {"in_care": 7.0}
