"""Tests of the ceiling on the measured effect of a price per unit (PricePerUnit.ceiling):
Denver's jail-day payments, which scale from a 20% to a 65% reduction."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sibsim.money import PRICING_RULES, Contract, EvaluationTable, MetricTerms, PricePerUnit
from sibsim.spec.toml import KeyProblem, Section

FLOOR, CEILING = 0.20, 0.65
PRICE = 1_000.0
#: counterfactual jail days of the evaluated group: units avoided = effect x this
EXPECTED_DAYS = 10_000.0
DENVER = PricePerUnit(PRICE, threshold=FLOOR, ceiling=CEILING)


def due(rule: PricePerUnit, effect: float) -> float:
    """Amount due on an evaluation whose units are consistent with its effect."""
    return float(rule.due(effect, units=effect * EXPECTED_DAYS))


def below(x: float) -> float:
    return float(np.nextafter(x, -np.inf))


def above(x: float) -> float:
    return float(np.nextafter(x, np.inf))


# --------------------------------------------------------------------------------------
# boundaries: exactly at the floor and the ceiling, and one float step either side
# --------------------------------------------------------------------------------------


def test_nothing_is_paid_one_step_below_the_floor():
    assert due(DENVER, below(FLOOR)) == 0.0


@pytest.mark.parametrize("effect", [FLOOR, above(FLOOR), below(CEILING), CEILING],
                         ids=["floor", "above-floor", "below-ceiling", "ceiling"])
def test_every_unit_is_paid_from_the_floor_up_to_the_ceiling(effect):
    # no scaling at all: exactly price x units
    assert due(DENVER, effect) == PRICE * (effect * EXPECTED_DAYS)


def test_one_step_above_the_ceiling_the_units_stop_growing():
    effect = above(CEILING)
    units = effect * EXPECTED_DAYS
    amount = due(DENVER, effect)
    assert amount < PRICE * units  # scaled by ceiling / effect < 1
    assert amount == pytest.approx(PRICE * CEILING * EXPECTED_DAYS, rel=1e-15)


@pytest.mark.parametrize("effect", [0.7, 0.8, 0.95, 1.0])
def test_beyond_the_ceiling_the_amount_is_the_ceilings(effect):
    assert due(DENVER, effect) == pytest.approx(PRICE * CEILING * EXPECTED_DAYS, rel=1e-12)


def test_the_denver_worked_example():
    # 20%: 2,000 days; 40%: 4,000 days; 65%: 6,500; an 80% reduction still pays for 6,500 days
    amounts = DENVER.due([0.1, 0.2, 0.4, 0.65, 0.8], units=[1e3, 2e3, 4e3, 6.5e3, 8e3])
    np.testing.assert_allclose(amounts, [0.0, 2e6, 4e6, 6.5e6, 6.5e6], rtol=1e-12)


def test_a_ceiling_without_a_threshold_pays_from_any_effect():
    rule = PricePerUnit(10.0, threshold=None, ceiling=0.5)
    np.testing.assert_allclose(rule.due([-0.2, 0.3, 1.0], units=[-5.0, 3.0, 10.0]),
                               [0.0, 30.0, 50.0])


# --------------------------------------------------------------------------------------
# unset: identical results
# --------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.floats(0.0, 1e4), st.one_of(st.none(), st.floats(-1.0, 1.0)),
       st.lists(st.floats(-1.0, 1.0), min_size=1, max_size=5),
       st.lists(st.floats(-500.0, 5e3), min_size=5, max_size=5))
def test_without_a_ceiling_the_amounts_are_the_plain_price_per_unit(price, threshold, effects,
                                                                      units):
    effect = np.array(effects)
    u = np.array(units[: len(effects)])
    plain = price * np.maximum(u, 0.0)
    if threshold is not None:
        plain = np.where(effect >= threshold, plain, 0.0)
    rule = PricePerUnit(price, threshold=threshold)
    assert rule.ceiling is None
    assert np.array_equal(rule.due(effect, units=u), plain)
    assert rule == PricePerUnit(price, threshold=threshold, ceiling=None)


# --------------------------------------------------------------------------------------
# properties along consistent (effect, units) pairs
# --------------------------------------------------------------------------------------


@st.composite
def ceiling_rules(draw):
    ceiling = draw(st.floats(0.01, 1.0))
    threshold = draw(st.one_of(st.none(), st.floats(-1.0, ceiling, exclude_max=True)))
    return PricePerUnit(draw(st.floats(0.0, 1e4)), threshold=threshold, ceiling=ceiling)


@settings(max_examples=200, deadline=None)
@given(ceiling_rules(), st.floats(-1.0, 1.0), st.floats(-1.0, 1.0), st.floats(0.0, 1e5))
def test_the_amount_never_decreases_as_the_service_does_better(rule, e1, e2, expected):
    lo, hi = min(e1, e2), max(e1, e2)
    a = float(rule.due(lo, units=lo * expected))
    b = float(rule.due(hi, units=hi * expected))
    assert a >= 0.0
    assert b >= a * (1 - 1e-12)
    # never more than the units at the ceiling
    assert b <= rule.price * rule.ceiling * expected * (1 + 1e-12) + 1e-9


@settings(max_examples=100, deadline=None)
@given(ceiling_rules(), st.floats(-1.0, 1.0), st.floats(-500, 5e3), st.floats(-500, 5e3))
def test_the_amount_never_decreases_with_the_units(rule, effect, u1, u2):
    assert rule.due(effect, max(u1, u2)) >= rule.due(effect, min(u1, u2))


# --------------------------------------------------------------------------------------
# in a contract, validation and TOML
# --------------------------------------------------------------------------------------


def test_a_ceiling_in_a_contract_with_caps_and_lag():
    contract = Contract((MetricTerms("jail_days", DENVER),), lag=1, currency="USD")
    t = EvaluationTable(("jail_days",), (2,), (False,), (250,),
                        measured_effect=[[0.1], [0.5], [0.9]],
                        units=[[1_000.0], [5_000.0], [9_000.0]])
    res = contract.outcome_payments(t, n_periods=4)
    np.testing.assert_allclose(res.total[:, 3], [0.0, 5e6, 6.5e6])
    assert np.all(res.total[:, :3] == 0.0)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"threshold": 0.2, "ceiling": 0.2}, ["PricePerUnit.ceiling: got 0.2", "> threshold=0.2"]),
        ({"threshold": 0.3, "ceiling": 0.25}, ["PricePerUnit.ceiling: got 0.25"]),
        ({"ceiling": 65}, ["PricePerUnit.ceiling: got 65", "write 0.65 for 65%"]),
        ({"ceiling": 0.0}, ["PricePerUnit.ceiling: got 0.0", "(0, 1]"]),
        ({"ceiling": -0.1, "threshold": None}, ["PricePerUnit.ceiling: got -0.1"]),
    ],
    ids=["equal", "below", "percent", "zero", "negative"],
)
def test_bad_ceilings_are_refused(kwargs, words):
    with pytest.raises(ValueError) as info:
        PricePerUnit(1.0, **kwargs)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def read_rule(text: str):
    return PRICING_RULES.read(Section("t", tomllib.loads(text)), "rule")


def test_the_ceiling_is_read_from_toml():
    rule = read_rule('rule = {kind = "price_per_unit", price = 1_000, threshold = 0.20, '
                     "ceiling = 0.65}")
    assert rule == DENVER
    assert read_rule('rule = {kind = "price_per_unit", price = 1_000}').ceiling is None


def test_a_bad_ceiling_in_toml_names_the_key():
    with pytest.raises(KeyProblem) as info:
        read_rule('rule = {kind = "price_per_unit", price = 1_000, threshold = 0.2, '
                  "ceiling = 0.1}")
    assert info.value.key == "t.rule"
    assert "PricePerUnit.ceiling: got 0.1" in info.value.problem
