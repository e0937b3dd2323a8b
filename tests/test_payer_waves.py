"""Tests of sibsim.money.payer_waves: payers by entry wave (cohort), ``Payer.waves``.

Utah's first cohort was paid for by United Way and Salt Lake County, the later cohorts by the
State: each per-wave result's payment goes to the payers covering its wave, and the payers
together pay exactly what the contract pays."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

import sibsim
from sibsim import Cohort, ComparisonGroup, CountOutcome, Effect, Gamma, LogNormal, Scenario
from sibsim.money import Contract, MetricTerms, PricePerUnit
from sibsim.money.capital import CapitalStructure, ServiceCosts, Tranche
from sibsim.money.deal import Deal, Investors
from sibsim.money.evaluation import Evaluation
from sibsim.money.municipality import Municipality
from sibsim.money.payer_waves import check_payer_waves, payments_by_wave
from sibsim.money.payers import Payer, split_by_payer
from sibsim.money.results import EvaluationTable
from sibsim.money.sib import counterfactual_of, money_flows
from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, parse_scenario
from sibsim.spec.toml import Section

SEED = 20250303
DRAWS = 30


def cohort_payers() -> list[Payer]:
    return [Payer("United Way", 0.5, waves=[0]), Payer("County", 0.5, waves=0),
            Payer("State", 1.0, waves=[1], saving_per_event=100.0)]


# ------------------------------------------------------------------ a worked example
def test_worked_example_cohort_1_to_two_payers_cohort_2_to_another():
    """Price 10 per unit; wave 0's result (3 units) and wave 1's (5 units) both paid in period
    1, wave 0's second result (2 units) in period 2. By hand: United Way and the County each
    pay half of wave 0's 30 and 20, the State all of wave 1's 50."""
    c = Contract((MetricTerms("m", PricePerUnit(10.0)),))
    t = EvaluationTable(("m", "m", "m"), (1, 1, 2), (False,) * 3, (5, 5, 5),
                        measured_effect=[[0.2, 0.2, 0.2]], units=[[3.0, 5.0, 2.0]],
                        waves=((0,), (1,), (0,)))
    pay = c.outcome_payments(t, n_periods=3)
    by_wave = payments_by_wave(pay, t, lag=0, n_waves=2)
    assert by_wave[0, 0].tolist() == [[0.0, 30.0, 20.0], [0.0, 50.0, 0.0]]
    split = split_by_payer(cohort_payers(), pay, by_wave=by_wave)
    assert split.paid[0].tolist() == [[0.0, 15.0, 10.0], [0.0, 15.0, 10.0], [0.0, 50.0, 0.0]]
    # the totals unchanged: the payers together pay what the contract pays, period by period
    assert split.paid[0].sum(0).tolist() == pay.total[0].tolist() == [0.0, 80.0, 20.0]
    plain = split_by_payer([Payer("one", 1.0)], pay)
    np.testing.assert_array_equal(split.total, plain.total)


def test_payments_by_wave_follow_the_lag_and_the_contract_caps():
    """A lag of 1 moves each result's payment a period on, and past the horizon into the last
    period (overflow 'last'); by_wave is after the contract's total cap of 60: wave 1's 30 is
    paid first, wave 0's 50 is capped to the 30 left."""
    from sibsim.money import Caps

    c = Contract((MetricTerms("m", PricePerUnit(10.0)),), lag=1, caps=Caps(total=60.0))
    t = EvaluationTable(("m", "m"), (0, 1), (False, False), (5, 5),
                        measured_effect=[[0.2, 0.2]], units=[[3.0, 5.0]], waves=((1,), (0,)))
    by_wave = payments_by_wave(c.outcome_payments(t, n_periods=2), t, lag=1, n_waves=2)
    assert by_wave[0, 0].tolist() == [[0.0, 30.0], [0.0, 30.0]]


def test_payments_by_wave_needs_one_wave_per_trigger():
    c = Contract((MetricTerms("m", PricePerUnit(10.0)),))
    pooled = EvaluationTable(("m",), (0,), (True,), (5,), measured_effect=[[0.2]],
                             units=[[1.0]], waves=((0, 1),))
    with pytest.raises(ValueError, match=r"payments_by_wave.table.waves\[0\]: got \[0, 1\]"):
        payments_by_wave(c.outcome_payments(pooled, 1), pooled, 0, 2)
    bare = EvaluationTable(("m",), (0,), (False,), (5,), measured_effect=[[0.2]], units=[[1.0]])
    with pytest.raises(ValueError, match=r"payments_by_wave.table.waves: got None"):
        payments_by_wave(c.outcome_payments(bare, 1), bare, 0, 2)


# ------------------------------------------------------------------ the specification
@pytest.mark.parametrize("kwargs,message", [
    ({"waves": [0, 0]}, r"Payer\[p\].waves: got"),
    ({"waves": -1}, r"Payer.waves"),
    ({"waves": "0"}, r"Payer.waves"),
])
def test_payer_waves_refused(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Payer("p", 1.0, **kwargs)


def test_waves_normalised_and_masked():
    assert Payer("p", 1.0, waves=2).waves == (2,)
    assert Payer("p", 1.0, waves=[2, 0]).wave_mask(3).tolist() == [1.0, 0.0, 1.0]
    assert Payer("p", 1.0).wave_mask(2).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("payers,message", [
    ([Payer("a", 1.0, waves=[0]), Payer("b", 1.0, waves=[1, 2])],
     r"Deal.payers\[1\].waves: got 2; allowed: entry waves 0 to 1 of the cohort"),
    ([Payer("a", 1.0, waves=[0])],
     r"Deal.payers.shares\[m\] for wave 1: got 0.0; allowed: shares of metric 'm' summing "
     r"to 1 over the payers covering wave 1 \(none\)"),
    ([Payer("a", 0.5, waves=[0]), Payer("b", 1.0)],
     r"Deal.payers.shares\[m\] for wave 0: got 1.5; .*\(a 0.5, b 1\)"),
])
def test_check_refuses_waves_that_do_not_fit(payers, message):
    with pytest.raises(ValueError, match=message):
        check_payer_waves(payers, ["m"], n_waves=2)


def test_check_refuses_pooled_results_and_rate_cards():
    payers = [Payer("a", 1.0, waves=[0]), Payer("b", 1.0, waves=[1])]
    with pytest.raises(ValueError, match=r"Deal.evaluations\[0\].pooled: got True; allowed: "
                                         r"false when payers are given by entry wave"):
        check_payer_waves(payers, ["m"], 2, [Evaluation("m")])
    with pytest.raises(ValueError, match=r"Deal.payers\[0\].waves: got \[0\]; allowed: none "
                                         r"when the contract has rate cards \(training\)"):
        check_payer_waves(payers, ["m"], 2, rate_cards=["training"])
    check_payer_waves(payers, ["m"], 2, [Evaluation("m", pooled=False)])


def test_check_by_wave_and_by_year():
    """A cohort-1 payer present until 2021 and a successor from 2022: every year and wave."""
    years = np.array([2020, 2021, 2022])
    payers = [Payer("city", 1.0, waves=[0], last_year=2021),
              Payer("county", 1.0, waves=[0], first_year=2022), Payer("state", 1.0, waves=[1])]
    here = np.array([[1, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=bool)
    check_payer_waves(payers, ["m"], 2, presence=here, years=years)
    with pytest.raises(ValueError, match=r"shares\[m\] for wave 0 in 2022: got 0.0"):
        check_payer_waves(payers[::2], ["m"], 2, presence=here[::2], years=years)


# ------------------------------------------------------------------ a run
def scenario() -> Scenario:
    return Scenario(
        cohort=Cohort(entry=(150, 120)),
        outcome=CountOutcome(Gamma.from_mean_sd(1.0, 0.1), dispersion=2.0), horizon=5,
        effect=Effect("rr", LogNormal.from_mean_sd(0.8, 0.08)),
        comparison=ComparisonGroup(ratio=2))


def deal(payers, pooled: bool = False) -> Deal:
    ev = Evaluation("events", window=2, report_lag=0, per_period=True, pooled=pooled)
    return Deal(scenario=scenario(), evaluations=(ev,),
                contract=Contract((MetricTerms("events", PricePerUnit(1_000.0)),),
                                  currency="EUR"),
                service_costs=ServiceCosts(per_participant=200.0),
                capital=CapitalStructure((Tranche("fund", 200_000.0, 1, target_return=0.05),)),
                municipality=Municipality(discount_rate=0.03), payers=tuple(payers),
                investors=Investors(discount_rate=0.05))


def test_a_run_pays_each_wave_by_its_payers_and_keeps_the_totals():
    """Independent check: each trigger's payment is the price times its positive units, and
    goes to the payers of the trigger's wave, in the period it is known."""
    d = deal(cohort_payers())
    ds = sibsim.simulate(d.scenario, draws=DRAWS, seed=SEED, progress=False)
    cf = counterfactual_of(d, ds)
    money = money_flows(d, ds, cf)
    by_payer = money["payments_by_payer"]
    expected = np.zeros((DRAWS, 3, 5))
    units = money["trigger_units"].values
    for k, period in enumerate(money["trigger_period"].values):
        wave = 0 if k < 2 else 1  # wave 0's two results, then wave 1's (window 2, per period)
        paid = 1_000.0 * np.maximum(units[:, k], 0.0)
        if wave == 0:
            expected[:, 0, period] += 0.5 * paid
            expected[:, 1, period] += 0.5 * paid
        else:
            expected[:, 2, period] += paid
    np.testing.assert_allclose(by_payer.values, expected, rtol=1e-12, atol=1e-9)
    plain = money_flows(deal([Payer("State", 1.0, saving_per_event=100.0)]), ds, cf)
    np.testing.assert_array_equal(money["outcome_payments"].values,
                                  plain["outcome_payments"].values)
    np.testing.assert_allclose(by_payer.sum("payer").values, plain["outcome_payments"].values,
                               rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(money["cashable_savings"].values,
                                  plain["cashable_savings"].values)


def test_a_deal_with_payers_by_wave_refuses_a_pooled_evaluation():
    with pytest.raises(ValueError, match=r"Deal.evaluations\[0\].pooled: got True"):
        deal(cohort_payers(), pooled=True)
    with pytest.raises(ValueError, match=r"Deal.payers\[2\].waves: got 2; allowed: entry "
                                         r"waves 0 to 1"):
        deal([Payer("a", 1.0, waves=[0]), Payer("b", 1.0, waves=[1]),
              Payer("c", 0.0, waves=[2])])


# ------------------------------------------------------------------ TOML and Utah
def test_waves_from_toml_and_a_file_error_names_the_key():
    p = Payer.from_toml(Section("payers[0]", {"name": "County", "shares": 0.5, "waves": [0]}))
    assert p.waves == (0,)
    doc = tomllib.loads(builtin_scenarios()["utah-preschool"].read_text())
    doc["payers"][2]["waves"] = [1, 2, 3]  # cohort 5 left without a payer
    with pytest.raises(ScenarioFileError, match=r"shares\[special_education\] for wave 4: "
                                                r"got 0.0"):
        parse_scenario(doc, "utah-preschool.toml")


def test_utah_cohort_1_paid_by_united_way_and_the_county_later_cohorts_by_the_state():
    """Cohort 1 (wave 0) is measured in periods 1-7, cohort 2 from period 2 on: period 1's
    claim-share payment is all cohort 1's (half each to United Way and the County), periods
    8-11 all later cohorts' (the State's); the totals equal a one-payer deal's."""
    deal_u = sibsim.load_scenario("utah-preschool")
    assert [(p.name, p.waves) for p in deal_u.payers] == [
        ("United Way of Salt Lake", (0,)), ("Salt Lake County", (0,)),
        ("State of Utah", (1, 2, 3, 4))]
    ds = sibsim.simulate(deal_u.scenario, draws=20, seed=SEED, progress=False)
    cf = counterfactual_of(deal_u, ds)
    money = money_flows(deal_u, ds, cf)
    pay, total = money["payments_by_payer"], money["outcome_payments"]
    assert float(total.isel(period=1).min()) > 0
    for name in ("United Way of Salt Lake", "Salt Lake County"):
        np.testing.assert_allclose(pay.sel(payer=name, period=1), 0.5 * total.isel(period=1))
        assert float(abs(pay.sel(payer=name).isel(period=slice(8, None))).max()) == 0.0
    assert float(abs(pay.sel(payer="State of Utah").isel(period=[0, 1])).max()) == 0.0
    np.testing.assert_allclose(pay.sum("payer"), total, rtol=1e-9)
    one = deal_u.replace(payers=(Payer("State of Utah", 1.0, saving_per_event=2_600.0),))
    plain = money_flows(one, ds, cf)
    np.testing.assert_array_equal(total.values, plain["outcome_payments"].values)
    np.testing.assert_array_equal(money["flow"].values, plain["flow"].values)
