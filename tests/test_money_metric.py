"""Outcomes measured in money (``Evaluation.money``, :mod:`sibsim.money.money_metric`): a worked
example by hand, a value of 1 per unit against today's unit-based payments (bit for bit),
linearity in the value per unit, uncertain values and dispersion reaching the payments
(tolerances from Monte Carlo standard errors), the TOML reader and the CLI's refusals."""

from __future__ import annotations

import dataclasses
import math
import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from cli_refusal import assert_file_refused
from sibsim.engine.parameters import sample_parameter
from sibsim.money import MoneyValue, PricePerUnit
from sibsim.money.evaluation import Evaluation, Historical, evaluate, evaluation_fixed
from sibsim.scenario_file import builtin_scenarios, parse_scenario
from sibsim.spec import LogNormal
from test_evaluation import ENTRY, SIZES, outcome_ds, rounded, two_wave_ds


def money_ev(**kw):
    base = dict(metric="m", window=2, report_lag=1)
    base.update(kw)
    return Evaluation(**base)


# --------------------------------------------------------------------------- by hand
def test_worked_example_by_hand():
    """EUR 100 per unit in year 0, growing 10% a year: periods 0..3 are worth 100, 110, 121,
    133.1. Draw 0 of the two-wave dataset (events, fewer is better):

    wave 0 (periods 0, 1): treated 3, 2 of 10 people -> (300 + 220) / 10 = 52 a person;
      comparison 8, 6 of 20 -> (800 + 660) / 20 = 73; gain 21 a person, 210 in all, 21/73;
    wave 1 (periods 2, 3): treated 4, 4 of 20 -> (484 + 532.4) / 20 = 50.82; comparison 10, 10
      of 40 -> (1210 + 1331) / 40 = 63.525; gain 12.705 a person, 254.1 in all, 20%;
    pooled: treated 1536.4 / 30, comparison 4001 / 60: gain 15.47 a person, 464.1 in all.
    """
    ev = money_ev(money=MoneyValue(per_unit=100.0, growth=0.10))
    table = evaluate(two_wave_ds(), (ev,), 0)
    np.testing.assert_allclose(table.units[0], [210.0, 254.1, 464.1], rtol=1e-12)
    np.testing.assert_allclose(table.measured_effect[0],
                               rounded([21 / 73, 0.2, 15.47 / (4001 / 60)]), rtol=1e-12)
    # the avoided cost of a money evaluation is the money measured
    np.testing.assert_array_equal(table.avoided_cost, table.units)
    # half of the gain: a price of 0.5 per euro
    pay = PricePerUnit(price=0.5, threshold=None).due(table.measured_effect[0],
                                                      units=table.units[0])
    np.testing.assert_allclose(pay, [105.0, 127.05, 232.05], rtol=1e-12)


def test_worked_example_historical_rate_is_valued_over_its_window():
    """A historical rate of 0.6 units a person over the 2-period window of wave 0 (worth 100
    and 110): 0.6 x 105 = 63 a person; treated 52 -> gain 11 a person, 110 in all. Wave 1
    (121, 133.1): 0.6 x 127.05 = 76.23 -> gain 25.41 a person, 508.2 in all."""
    ev = money_ev(design=Historical(historical_rate=0.6), pooled=False,
                  money=MoneyValue(per_unit=100.0, growth=0.10))
    table = evaluate(two_wave_ds(), (ev,), 0)
    np.testing.assert_allclose(table.units[0], [110.0, 508.2], rtol=1e-12)
    np.testing.assert_allclose(table.measured_effect[0], rounded([11 / 63, 25.41 / 76.23]),
                               rtol=1e-12)


def test_money_evaluation_refuses_a_value_per_unit_too():
    with pytest.raises(ValueError, match=r"Evaluation.value_per_unit: got 2000.0; allowed: 0"):
        money_ev(value_per_unit=2_000.0, money=MoneyValue(per_unit=2_000.0))


@pytest.mark.parametrize(("kw", "words"), [
    ({"per_unit": -5.0}, "MoneyValue.per_unit: got -5.0"),
    ({"per_unit": 0.0}, "MoneyValue.per_unit: got 0.0"),
    ({"per_unit": math.nan}, "MoneyValue.per_unit"),
    ({"per_unit": 2_000.0, "growth": 2.0}, "write 0.02 for 2%"),
    ({"per_unit": 2_000.0, "cv": -0.1}, "MoneyValue.cv: got -0.1"),
    ({"per_unit": sibsim.Normal(2_000.0, 100.0)}, "values lie in [0, inf]"),
])
def test_bad_values_are_refused(kw, words):
    with pytest.raises(ValueError) as err:
        MoneyValue(**kw)
    assert words in str(err.value) and "allowed:" in str(err.value)


# --------------------------------------------------------------------------- value 1
@pytest.mark.parametrize("name", ["peterborough", "tyollisyys-sib", "koto-sib", "denver-housing"])
def test_value_of_one_reproduces_the_unit_evaluation_bit_for_bit(name):
    """Per unit 1: the same measured effects, units and gates, to the last bit, and the same
    payments as the unit-based evaluation with value_per_unit 1 (RCT, historical, several
    metrics)."""
    deal = sibsim.load_scenario(name)
    units_evs = tuple(dataclasses.replace(e, value_per_unit=1.0, money=None)
                      for e in deal.evaluations)
    money_evs = tuple(dataclasses.replace(e, value_per_unit=0.0, money=MoneyValue(per_unit=1.0))
                      for e in deal.evaluations)
    ds = sibsim.simulate(deal.scenario, draws=30, seed=4, progress=False,
                         engaged_events=deal.needs_engaged_events)  # Koto's rate card
    a, b = evaluate(ds, units_evs, 4), evaluate(ds, money_evs, 4)
    for f in ("measured_effect", "units", "avoided_cost", "gate"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    P = ds.sizes["period"]
    got = deal.contract.achievements(ds)
    pa, pb = (deal.contract.outcome_payments(t, P, got) for t in (a, b))
    np.testing.assert_array_equal(pa.by_trigger, pb.by_trigger)
    np.testing.assert_array_equal(pa.total, pb.total)
    assert pa.total.sum() > 0


def test_value_of_one_reproduces_the_whole_chain_bit_for_bit():
    """Koto-SIB as before (a savings share of value_per_unit 1 x quarters in work) and in money
    at 1 per quarter: every money array, break-even included, equal to the last bit."""
    deal = sibsim.load_scenario("koto-sib")
    rule = {"rule": sibsim.money.SavingsShare(tiers=((0.5, None),))}
    contract = dataclasses.replace(deal.contract, terms=tuple(
        dataclasses.replace(t, **rule) for t in deal.contract.terms))
    units = deal.replace(contract=contract, evaluations=tuple(
        dataclasses.replace(e, value_per_unit=1.0, money=None) for e in deal.evaluations))
    money = units.replace(evaluations=tuple(
        dataclasses.replace(e, value_per_unit=0.0, money=MoneyValue(per_unit=1.0))
        for e in deal.evaluations))
    ra = sibsim.analyse(units, draws=12, seed=2)
    rb = sibsim.analyse(money, draws=12, seed=2)
    for var in ("outcome_payments", "payments_by_payer", "flow", "net_savings"):
        np.testing.assert_array_equal(ra.money[var].values, rb.money[var].values, err_msg=var)
    for var in ra.breakeven.data_vars:
        np.testing.assert_array_equal(ra.breakeven[var].values, rb.breakeven[var].values)
    assert rb.money["trigger_units"].attrs["units"] == "EUR"
    assert "trigger_unit" not in ra.money.coords


# --------------------------------------------------------------------------- linearity
@settings(max_examples=40, deadline=None)
@given(c=st.floats(0.01, 1e5), price=st.floats(0.01, 1.0),
       t=st.lists(st.integers(0, 40), min_size=4, max_size=4),
       k=st.lists(st.integers(0, 40), min_size=4, max_size=4))
def test_payments_scale_linearly_in_a_constant_value(c, price, t, k):
    """A linear rule (price per unit of currency, no threshold) pays c times what it pays at 1
    per unit, for any outcomes."""
    tr = np.array([[t[0], t[1], 90, 90, 90, 90], [50, 50, t[2], t[3], 70, 70]], float)[None]
    co = np.array([[k[0], k[1], 90, 90, 90, 90], [50, 50, k[2], k[3], 70, 70]], float)[None]
    ds = outcome_ds({"treatment": tr, "comparison": co}, SIZES, ENTRY)
    rule = PricePerUnit(price=price, threshold=None)
    one = evaluate(ds, (money_ev(money=MoneyValue(per_unit=1.0)),), 0)
    many = evaluate(ds, (money_ev(money=MoneyValue(per_unit=c)),), 0)
    pay1 = rule.due(one.measured_effect, units=one.units)
    payc = rule.due(many.measured_effect, units=many.units)
    np.testing.assert_allclose(payc, c * pay1, rtol=1e-9, atol=1e-9 * c)


# --------------------------------------------------------------------------- uncertainty
def _steady_ds(draws, units=400.0):
    """One wave of 100 treated people, every draw the same outcomes: 4 units a person in each
    of 3 periods (units per period ``units``)."""
    t = np.full((draws, 1, 3), units)
    return outcome_ds({"treatment": t}, {"treatment": [100]}, [0])


def test_uncertain_value_reaches_the_payments():
    """A lognormal value per unit (mean 2,000, sd 300): each draw's payment is price x its own
    sampled value x the gain in units, and the mean payment is price x 2,000 x the gain within
    4 Monte Carlo standard errors."""
    D = 600
    dist = LogNormal.from_mean_sd(2_000.0, 300.0)
    ev = Evaluation("wages", design=Historical(historical_rate=5.0), window=3, pooled=False,
                    money=MoneyValue(per_unit=dist))
    table = evaluate(_steady_ds(D), (ev,), seed=11)
    gain_units = (5.0 - 12.0) * 100.0  # reduce: (predicted - measured) a person x people
    values = sample_parameter(dist, "evaluation.wages.money.per_unit", 11, 0, D)
    np.testing.assert_allclose(table.units[:, 0], gain_units * values, rtol=1e-12)
    # direction increase: more is better, the gain is positive and paid
    ev_up = dataclasses.replace(ev, direction="increase")
    up = evaluate(_steady_ds(D), (ev_up,), seed=11)
    pay = PricePerUnit(price=0.3, threshold=None).due(up.measured_effect, units=up.units)[:, 0]
    expected = 0.3 * 2_000.0 * 700.0
    se = pay.std(ddof=1) / math.sqrt(D)
    assert abs(pay.mean() - expected) < 4 * se
    assert pay.std() > 0.1 * expected  # the value's spread (15%) is in the payments


def test_dispersion_adds_the_stated_noise():
    """cv 0.5 at EUR 10 a unit, 400 units in a period: each period's money is 4,000 with sd
    10 x 0.5 x 20 = 100; a per-period trigger's gain has that sd (within 4 standard errors of
    a standard deviation)."""
    D = 2_000
    ev = Evaluation("wages", design=Historical(historical_rate=3.0), window=3, per_period=True,
                    pooled=False, direction="increase",
                    money=MoneyValue(per_unit=10.0, cv=0.5))
    table = evaluate(_steady_ds(D), (ev,), seed=5)
    assert table.units.shape == (D, 3)
    for k in range(3):
        u = table.units[:, k]
        assert abs(u.mean() - (400.0 - 300.0) * 10.0) < 4 * 100.0 / math.sqrt(D)
        assert abs(u.std(ddof=1) - 100.0) < 4 * 100.0 / math.sqrt(2 * (D - 1))
    assert abs(np.corrcoef(table.units[:, 0], table.units[:, 1])[0, 1]) < 4 / math.sqrt(D)


def test_money_evaluation_is_the_same_in_blocks_and_with_fixed_parts():
    """Values and dispersion are keyed on the draw: a block of draws gets the whole run's
    values, and the break-even path (evaluation_fixed) gives the same table to the last bit."""
    deal = sibsim.load_scenario("tyollisyys-sib")
    ds = sibsim.simulate(deal.scenario, draws=10, seed=3, progress=False)
    whole = evaluate(ds, deal.evaluations, 3)
    block = evaluate(ds.isel(draw=slice(4, 10)), deal.evaluations, 3)
    np.testing.assert_array_equal(whole.units[4:], block.units)
    fixed = evaluation_fixed(ds, deal.evaluations, 3)
    again = evaluate(ds, deal.evaluations, 3, fixed)
    for f in ("measured_effect", "units", "avoided_cost", "gate"):
        np.testing.assert_array_equal(getattr(whole, f), getattr(again, f), err_msg=f)


def test_gate_accounts_for_dispersion():
    """With no true gain (both arms the same counts) the only noise is the spread of earnings
    (cv 2): the gate at alpha 0.1, whose variance grows by 1 + cv**2, passes in at most 10% of
    draws (within 4 standard errors); a gate that ignored the spread would pass in ~26%."""
    D = 1_000
    same = np.full((D, 1, 3), 400.0)
    ds = outcome_ds({"treatment": same, "comparison": same},
                    {"treatment": [100], "comparison": [100]}, [0])
    ev = Evaluation("m", window=3, pooled=False, direction="increase", alpha=0.1,
                    money=MoneyValue(per_unit=50.0, cv=2.0))
    table = evaluate(ds, (ev,), seed=9)
    assert table.units.std() > 0  # the spread is drawn
    rate = table.gate.mean()
    assert rate <= 0.1 + 4 * math.sqrt(0.1 * 0.9 / D)
    assert rate > 0.02  # not a gate that never opens


# --------------------------------------------------------------------------- TOML and CLI
def _tyollisyys() -> dict:
    return tomllib.loads(builtin_scenarios()["tyollisyys-sib"].read_text(encoding="utf-8"))


def test_toml_round_trip():
    doc = _tyollisyys()
    doc["evaluation"][0]["money"] = {"per_unit": 2_100, "growth": 0.025, "cv": 0.4}
    doc["evaluation"][1]["money"] = {"per_unit": {"dist": "gamma", "mean": 1_900, "sd": 150}}
    deal = parse_scenario(doc)
    a, b = deal.evaluations
    assert a.money == MoneyValue(per_unit=2_100.0, growth=0.025, cv=0.4)
    assert b.money.growth == 0.0 and b.money.cv == 0.0
    assert math.isclose(b.money.per_unit.mean, 1_900.0)
    assert math.isclose(b.money.per_unit.shape * b.money.per_unit.scale**2, 150.0**2)
    assert sorted(b.parameters()) == ["evaluation.wages_harder.historical_rate",
                                      "evaluation.wages_harder.money.per_unit"]
    assert a.value_per_unit == 0.0 and a.avoided_cost_per_unit == 1.0


MONEY_LINE = ('money = {per_unit = {dist = "lognormal", mean = 2_000, sd = 300}, '
              'growth = 0.02, cv = 0.6}')




@pytest.mark.parametrize(("old", "new", "words"), [
    (MONEY_LINE, MONEY_LINE.replace("mean = 2_000, sd = 300", "mean = -2_000, sd = 300"),
     ["evaluation", "per_unit"]),
    (MONEY_LINE, 'money = {per_unit = -2_000}', ["per_unit", "-2000"]),
    (MONEY_LINE, MONEY_LINE.replace("growth = 0.02", "growth = 2"),
     ["growth", "write 0.02 for 2%"]),
    ("price = 0.30}", "price = 30}", ["price", "write 0.3 for 30%"]),
    ("price = 0.30}", "price = 1_500}", ["price", "a price per unit of currency"]),
    (MONEY_LINE, MONEY_LINE + "\nvalue_per_unit = 2_000", ["value_per_unit", "money.per_unit"]),
    (MONEY_LINE, MONEY_LINE.replace("cv = 0.6", "rate = 2"), ["money.rate", "unknown key"]),
    (MONEY_LINE, "money = 2_000", ["money", "expected a table"]),
])
def test_cli_refuses_a_bad_value_with_exit_2(tmp_path, capsys, old, new, words):
    text = builtin_scenarios()["tyollisyys-sib"].read_text(encoding="utf-8")
    assert old in text
    assert_file_refused(tmp_path, capsys, text.replace(old, new, 1), words)


def test_replay_values_savings_on_the_outcome_units_of_a_money_metric():
    """A replay of Työllisyys-SIB in money books the state's savings (EUR 1,180 a month of work)
    on the months behind the euros: the same savings as the same replay in months."""
    deal = sibsim.load_scenario("tyollisyys-sib")
    months = deal.replace(evaluations=tuple(dataclasses.replace(e, money=None)
                                            for e in deal.evaluations))
    measured = {"wages_easier": 0.08, "wages_harder": 0.05}
    a = sibsim.replay(deal, measured=measured, draws=6, seed=2)
    b = sibsim.replay(months, measured=measured, draws=6, seed=2)
    assert (b["commissioner_savings"] > 0).all()
    np.testing.assert_allclose(a["commissioner_savings"], b["commissioner_savings"], rtol=1e-9)
    assert a["trigger_units"].attrs["units"] == "EUR"
    assert b["trigger_units"].attrs["units"] == "outcome units"
    # the money paid on is the months times the wage drawn (EUR 2,000 a month in 2020)
    ratio = (a["trigger_units"] / b["trigger_units"]).values
    assert np.all((ratio > 1_000) & (ratio < 4_000))


def test_power_of_a_money_metric():
    """The power calculation works in outcome units: the spread of earnings widens the measured
    effect's sd by sqrt(1 + cv**2), and a target in currency per person-period is the same cut
    as the target in units times the value of a unit."""
    from sibsim.analysis.power import evaluation_power

    deal = sibsim.load_scenario("koto-sib")

    def with_money(**kw):
        evs = tuple(dataclasses.replace(e, money=MoneyValue(**kw)) for e in deal.evaluations)
        return deal.replace(evaluations=evs)

    plain = evaluation_power(with_money(per_unit=4_944.0))
    spread = evaluation_power(with_money(per_unit=4_944.0, cv=0.5))
    np.testing.assert_allclose(spread["effect_sd"], plain["effect_sd"] * math.sqrt(1.25),
                               rtol=1e-12)
    np.testing.assert_allclose(spread["expected_effect"], plain["expected_effect"], rtol=1e-12)
    in_units = deal.replace(evaluations=tuple(
        dataclasses.replace(e, target_per_person_period=0.05, money=None)
        for e in deal.evaluations))
    in_money = deal.replace(evaluations=tuple(
        dataclasses.replace(e, target_per_person_period=0.05 * 4_944.0,
                            money=MoneyValue(per_unit=4_944.0, growth=0.0))
        for e in deal.evaluations))
    a, b = evaluation_power(in_units), evaluation_power(in_money)
    assert (a["threshold"] > 0.0).all()
    np.testing.assert_allclose(b["threshold"], a["threshold"], rtol=1e-12)


def test_worked_example_pooled_historical_rates_per_wave():
    """Pooled, with a historical rate per wave (0.6 and 0.5 units a person over the window),
    each valued at its own window's mean value (105 and 127.05): the counterfactual is
    (10 x 0.6 x 105 + 20 x 0.5 x 127.05) / 30 = 63.35 a person, 1,900.5 in all; the treated
    1,536.4: a gain of 364.1."""
    ev = money_ev(design=Historical(historical_rate=(0.6, 0.5)), per_wave=False,
                  money=MoneyValue(per_unit=100.0, growth=0.10))
    table = evaluate(two_wave_ds(), (ev,), 0)
    np.testing.assert_allclose(table.units[0], [364.1], rtol=1e-12)
    np.testing.assert_allclose(table.measured_effect[0], rounded([364.1 / 1900.5]), rtol=1e-12)


@pytest.mark.parametrize("kw", [
    {"design": Historical(historical_rate=0.6)},
    {"design": Historical(historical_rate=(0.6, 0.5))},
    {"design": Historical(historical_rate=0.3), "per_period": True},
    {"design": Historical(historical_rate=(0.3, 0.2)), "per_period": True, "to_date": True},
    {"design": "matched", "bias": 0.1, "alpha": 0.3},
    {"per_period": True, "alpha": 0.2, "target_per_person_period": 0.01},
])
def test_value_of_one_is_bit_for_bit_for_every_kind_of_trigger(kw):
    """Per wave, pooled, per period, to date; historical rates (one, or one per wave),
    matched, a gate and a target: per unit 1 changes no bit."""
    ds = two_wave_ds()
    a = evaluate(ds, (money_ev(value_per_unit=1.0, **kw),), 0)
    b = evaluate(ds, (money_ev(money=MoneyValue(per_unit=1.0), **kw),), 0)
    for f in ("measured_effect", "units", "avoided_cost", "gate"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
