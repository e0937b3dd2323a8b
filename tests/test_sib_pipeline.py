"""Tests of sibsim.money.sib.money_flows: the chain outcomes -> evaluation -> payments ->
waterfall -> savings, on small simulated scenarios with fixed seeds."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
import sibsim.analysis.breakeven as be_mod
from sibsim import (
    Beta,
    Cohort,
    ComparisonGroup,
    CountOutcome,
    Effect,
    Gamma,
    LogNormal,
    MarkovOutcome,
    Normal,
    Scenario,
)
from sibsim.analysis.breakeven import _Pipeline
from sibsim.money import Caps, Contract, MetricTerms, PricePerUnit
from sibsim.money.capital import CapitalStructure, Fees, FirstLossGuarantee, ServiceCosts, Tranche
from sibsim.money.deal import Deal, Investors
from sibsim.money.evaluation import Evaluation, evaluate
from sibsim.money.irr import IRRStatus, irr, npv
from sibsim.money.municipality import Municipality
from sibsim.money.sib import counterfactual, money_flows

SEED = 20240611
DRAWS = 200


def count_scenario(effect=None, **kw) -> Scenario:
    args = dict(
        cohort=Cohort(entry=(150, 150)),
        outcome=CountOutcome(Gamma.from_mean_sd(1.2, 0.1), dispersion=2.0),
        horizon=5,
        effect=Effect("rr", LogNormal.from_mean_sd(0.85, 0.08) if effect is None else effect,
                      engagement=Beta.from_mean_sd(0.9, 0.03)),
        comparison=ComparisonGroup(ratio=2),
    )
    args.update(kw)
    return Scenario(**args)


def terms(*, excess_to="commissioner", guarantee=True, return_cap=2.0, threshold=0.05,
          investor_rate=0.08, municipality=None, total_cap=1.5e6, scenario=None) -> Deal:
    tranches = (Tranche("senior", 300_000.0, 1, target_return=0.05),
                Tranche("junior", 150_000.0, 2, target_return=0.10, return_cap=return_cap))
    return Deal(
        scenario=scenario or count_scenario(),
        evaluations=(Evaluation("events", design="matched", window=1, report_lag=1,
                                bias=Normal(0.0, 0.02)),),
        contract=Contract((MetricTerms("events", PricePerUnit(5_000.0, threshold=threshold),
                                       pooled_rule=PricePerUnit(5_000.0,
                                                                threshold=threshold * 0.6)),),
                          caps=Caps(total=total_cap), currency="GBP"),
        service_costs=ServiceCosts(fixed_per_period=(50_000.0, 50_000.0, 0.0, 0.0, 0.0),
                                   per_participant=300.0),
        capital=CapitalStructure(
            tranches, guarantee=FirstLossGuarantee("Foundation", 0.5, covers=("senior",))
            if guarantee else None,
            fees=Fees(intermediary_per_period=5_000.0), excess_to=excess_to, currency="GBP"),
        municipality=municipality or Municipality(
            saving_per_event=1_500.0, wider_value_per_event=5_000.0,
            other_costs_per_period=2_000.0, contract_periods=3, discount_rate=0.035),
        service_periods=1, investors=Investors(discount_rate=investor_rate, target_irr=0.05),
        currency="GBP")


@pytest.fixture(scope="module")
def run():
    sc = count_scenario()
    t = terms()
    ds = sibsim.simulate(sc, draws=DRAWS, seed=SEED, engine="aggregate", progress=False)
    cf = counterfactual(t, DRAWS, SEED)
    return sc, t, ds, cf, money_flows(t, ds, cf=cf)


def test_money_is_conserved_in_every_draw_and_period(run):
    *_, money = run
    flow = money["flow"].values
    scale = np.maximum(np.abs(flow).sum(axis=1), 1.0)
    assert np.all(np.abs(flow.sum(axis=1)) <= 1e-6 * scale)
    # not a trivially empty flow: investors both pay and receive in some draws
    inv = money["flow"].sel(party=["senior", "junior"]).values
    assert (inv < 0).any() and (inv > 0).any()


def test_money_is_conserved_with_unfunded_costs_and_a_guarantee(run):
    """Commitments far below the costs (part of the service is unfunded) and a first-loss
    guarantee: the flows still sum to zero over parties."""
    _sc, t, ds, cf, _ = run
    small = CapitalStructure((Tranche("senior", 60_000.0, 1, target_return=0.05),
                              Tranche("junior", 20_000.0, 2, target_return=0.2)),
                             guarantee=FirstLossGuarantee("Foundation", 0.8, covers="first_loss"),
                             fees=Fees(intermediary_per_period=5_000.0,
                                       management_rate_on_drawn=0.01),
                             excess_to="provider", currency="GBP")
    t = t.replace(capital=small)
    money = money_flows(t, ds, cf=cf)
    flow = money["flow"].values
    scale = np.maximum(np.abs(flow).sum(axis=1), 1.0)
    assert np.all(np.abs(flow.sum(axis=1)) <= 1e-6 * scale)
    # the guarantor pays in some draws, and the drawdowns cannot exceed the commitments
    assert (money["flow"].sel(party="guarantor").values < 0).any()
    inv = money["flow"].sel(party=["senior", "junior"]).sum("party").values
    assert np.all(-np.where(inv < 0, inv, 0).sum(-1) <= 80_000.0 * (1 + 1e-12))


def test_outcome_payments_equal_the_contracts_payments(run):
    sc, t, ds, _, money = run
    table = evaluate(ds, t.evaluations, SEED)
    pay = t.contract.outcome_payments(table, sc.horizon)
    np.testing.assert_allclose(money["outcome_payments"].values, pay.total, rtol=1e-12)
    np.testing.assert_allclose(money["payments_by_metric"].values, pay.by_metric, rtol=1e-12)
    np.testing.assert_allclose(money["measured_effect"].values, table.measured_effect)
    np.testing.assert_allclose(money["trigger_units"].values, table.units)
    assert money["trigger_period"].values.tolist() == list(table.period)
    assert money["trigger_pooled"].values.tolist() == [0, 0, 1]
    assert money["trigger_participants"].values.tolist() == [150, 150, 300]
    # some draws pay and some do not (the threshold bites)
    total = money["outcome_payments"].sum("period").values
    assert (total > 0).any() and (total == 0).any()


def test_commissioner_pays_the_outcome_payments_less_any_excess(run):
    *_, money = run
    com = money["flow"].sel(party="commissioner").values
    pay = money["outcome_payments"].values
    assert np.all(com <= 1e-9)
    assert np.all(-com <= pay + 1e-6)


def test_avoided_events_are_counterfactual_minus_simulated(run):
    sc, _, ds, cf, money = run
    sim = ds["events"].sel(arm="treatment").sum(("wave", "stratum")).values
    cf_ev = cf["events"].sel(arm="treatment").sum(("wave", "stratum")).values
    np.testing.assert_allclose(money["avoided_events"].values, cf_ev - sim, rtol=1e-12)
    # the counterfactual is the expected outcome of the same draw's parameters at no effect
    no_effect = sibsim.simulate(sc, draws=DRAWS, seed=SEED, engine="expected", progress=False,
                                overrides={"effect.value": np.ones(DRAWS)})
    want = no_effect["events"].sel(arm="treatment").sum(("wave", "stratum")).values
    np.testing.assert_allclose(cf_ev, want, rtol=1e-12)


def test_counterfactual_is_computed_when_not_given(run):
    _sc, t, ds, _, money = run
    again = money_flows(t, ds)
    np.testing.assert_array_equal(again["avoided_events"].values, money["avoided_events"].values)
    np.testing.assert_array_equal(again["flow"].values, money["flow"].values)


def test_savings_and_net_savings(run):
    _, _, ds, _, money = run
    avoided = money["avoided_events"].values
    np.testing.assert_allclose(money["cashable_savings"].values, 1_500.0 * avoided)
    np.testing.assert_allclose(money["wider_value"].values, 5_000.0 * avoided)
    other = money["commissioner_other_costs"].values
    assert other.tolist() == [2_000.0, 2_000.0, 2_000.0, 0.0, 0.0]
    np.testing.assert_allclose(
        money["net_savings"].values,
        money["cashable_savings"].values + money["flow"].sel(party="commissioner").values
        - other[None, :])
    names = list(ds["parameter"].values)
    np.testing.assert_array_equal(money["true_effect"].values,
                                  ds["parameter_value"].values[:, names.index("effect.value")])


def test_service_costs_of_participants_served():
    """Expected engine, full engagement: served = wave sizes inside the service window."""
    sc = Scenario(cohort=Cohort(entry=(100, 50)), outcome=CountOutcome(1.0), horizon=4,
                  effect=Effect("rr", 0.8), comparison=ComparisonGroup(ratio=1))
    t = terms()
    t = t.replace(scenario=sc, service_costs=ServiceCosts(fixed_per_period=1_000.0,
                                                          per_participant=10.0),
                  service_periods=2)
    ds = sibsim.simulate(sc, draws=2, seed=1, engine="expected", progress=False)
    money = money_flows(t, ds)
    np.testing.assert_allclose(money["participants_served"].values, [[100, 150, 50, 0]] * 2)
    np.testing.assert_allclose(money["service_costs"].values,
                               [[2_000.0, 2_500.0, 1_500.0, 1_000.0]] * 2)


def test_attrs_describe_the_money(run):
    *_, money = run
    assert money.attrs["currency"] == "GBP"
    assert money.attrs["tranches"] == "senior,junior"
    assert money.attrs["periods_per_year"] == 1
    assert money.attrs["investor_discount_rate_per_year"] == 0.08
    assert list(money["party"].values) == ["commissioner", "senior", "junior", "guarantor",
                                           "provider", "intermediary"]


def test_no_effect_means_no_avoided_events_on_average():
    """RR = 1: avoided events are pure noise around 0 (|mean| < 4 Monte Carlo SE)."""
    sc = count_scenario(effect=1.0)
    D = 400
    ds = sibsim.simulate(sc, draws=D, seed=SEED, engine="aggregate", progress=False)
    money = money_flows(terms(scenario=sc), ds)
    avoided = money["avoided_events"].sum("period").values
    se = avoided.std(ddof=1) / np.sqrt(D)
    assert abs(avoided.mean()) < 4 * se
    # power: a 5% true reduction would be ~ 0.05 * 1.2 * 300 * 5 = 90 events
    assert 4 * se < 90
    units = money["trigger_units"].values[:, -1]  # pooled measured units
    assert abs(units.mean()) < 4 * units.std(ddof=1) / np.sqrt(D)


def test_person_period_savings_from_occupancy():
    sc = Scenario(cohort=Cohort(size=60),
                  outcome=MarkovOutcome(("well", "sick", "dead"),
                                        ((0.80, 0.15, 0.05), (0.30, 0.60, 0.10),
                                         (0.0, 0.0, 1.0)),
                                        events=[("well", "sick")]),
                  horizon=5, effect=Effect("rr", 0.7, targets=[("well", "sick")]),
                  comparison=ComparisonGroup(ratio=1))
    mun = Municipality(saving_per_event=10.0, saving_per_person_period={"sick": 100.0},
                       wider_value_per_person_period={"dead": 1_000.0})
    t = terms(municipality=mun, scenario=sc)
    ds = sibsim.simulate(sc, draws=30, seed=5, progress=False)
    cf = counterfactual(t, 30, 5)
    money = money_flows(t, ds, cf=cf)

    def treated(data, var, **sel):
        return data[var].sel(arm="treatment", **sel).sum(("wave", "stratum")).values

    avoided_sick = treated(cf, "occupancy", state="sick") - treated(ds, "occupancy", state="sick")
    avoided_dead = treated(cf, "occupancy", state="dead") - treated(ds, "occupancy", state="dead")
    avoided = treated(cf, "events") - treated(ds, "events")
    np.testing.assert_allclose(money["cashable_savings"].values,
                               10.0 * avoided + 100.0 * avoided_sick)
    np.testing.assert_allclose(money["wider_value"].values, 1_000.0 * avoided_dead)
    assert np.abs(avoided_sick).sum() > 0


def test_a_valued_state_must_exist(run):
    sc, _, ds, cf, _ = run
    t = terms(municipality=Municipality(saving_per_person_period={"in_care": 1.0}), scenario=sc)
    with pytest.raises(ValueError, match=r"Municipality\.saving_per_person_period"):
        money_flows(t, ds, cf=cf)


def test_deal_validation_names_the_field():
    t = terms()
    with pytest.raises(ValueError, match=r"Deal\.contract\.terms"):
        t.replace(evaluations=(Evaluation("other"),))
    with pytest.raises(ValueError, match=r"Deal\.evaluations"):
        t.replace(evaluations=())
    with pytest.raises(ValueError, match=r"Deal\.capital"):
        t.replace(capital=None)
    with pytest.raises(ValueError, match=r"Deal\.service_periods"):
        t.replace(service_periods=0)
    with pytest.raises(ValueError, match=r"Investors\.discount_rate"):
        Investors(discount_rate=2.0)
    with pytest.raises(TypeError, match=r"Deal\.scenario"):
        t.replace(scenario=None)
    # two evaluations of one metric would double-pay: refused
    with pytest.raises(ValueError, match=r"Deal\.evaluations.*repeated: events"):
        t.replace(evaluations=t.evaluations * 2)
    # a contract in another currency than the deal's
    with pytest.raises(ValueError, match=r"Deal\.contract\.currency"):
        t.replace(currency="EUR")
    # outcome-only deal: no money parts at all
    assert not Deal(scenario=t.scenario).has_money


def test_percent_slip_in_investor_terms_is_refused_with_the_fraction():
    with pytest.raises(ValueError, match=r"Investors\.target_irr: got 13.*write 0\.13"):
        Investors(target_irr=13)
    assert Investors(target_irr=0.13).target_irr == 0.13


# --------------------------------------------------------------------------------------
# IRR of the pipeline's investor flows
# --------------------------------------------------------------------------------------


def test_npv_at_the_irr_is_zero_for_investor_flows(run):
    *_, money = run
    flows = money["flow"].sel(party=["senior", "junior"]).sum("party").values
    rate, status = irr(flows, return_info=True)
    root = (status == IRRStatus.OK) | (status == IRRStatus.MULTIPLE_SIGN_CHANGES)
    assert (status == IRRStatus.OK).sum() >= DRAWS // 10  # enough draws to mean something
    assert np.all(np.isfinite(rate[root]))
    scale = np.abs(flows[root]).sum(-1)
    np.testing.assert_array_less(np.abs(npv(rate[root], flows[root])), 1e-9 * scale)
    # no money back at all: the IRR is -100%
    lost = status == IRRStatus.TOTAL_LOSS
    assert np.all(rate[lost] == -1.0)
    assert np.all(flows[lost] <= 0)


# --------------------------------------------------------------------------------------
# monotone contract: more effect never lowers investors' payoff (common random numbers)
# --------------------------------------------------------------------------------------

PIPE_DRAWS = 60


@pytest.fixture(scope="module")
def monotone_pipeline():
    sc = count_scenario()
    t = terms(excess_to="investors", guarantee=False, return_cap=None, total_cap=None,
              investor_rate=0.0)
    ds = sibsim.simulate(sc, draws=PIPE_DRAWS, seed=SEED, engine="aggregate", progress=False)
    # the general path builds the money dataset that investor_cash inspects (the fast path
    # gives the same numbers without it: tests/test_breakeven_fast.py)
    return _Pipeline(t.replace(scenario=sc), ds, fast=False)


def investor_cash(pipe, rr):
    """Net cash received by all tranches together over the horizon (distributions and excess
    minus drawdowns), service costs, and the pipeline's output, at true effect ``rr``."""
    captured = []

    def record(*args, **kw):
        captured.append(money_flows(*args, **kw))
        return captured[-1]

    with mock.patch.object(be_mod, "money_flows", record):
        out = pipe(np.full(pipe.D, rr))
    money = captured[-1]
    net = money["flow"].sel(party=["senior", "junior"]).sum(("party", "period")).values
    return net, money["service_costs"].values, out


@settings(max_examples=12)
@given(st.floats(0.5, 1.0), st.floats(0.0, 1.0))
def test_stronger_true_effect_never_lowers_investor_payoff(monotone_pipeline, rr_weak, frac):
    rr_strong = 0.5 + frac * (rr_weak - 0.5)  # smaller RR = stronger effect
    net_w, costs_w, out_w = investor_cash(monotone_pipeline, rr_weak)
    net_s, costs_s, out_s = investor_cash(monotone_pipeline, rr_strong)
    # drawdowns fund service costs and fees, which do not depend on the effect: so the net
    # cash is the cash received minus a constant, and received cash never falls
    np.testing.assert_array_equal(costs_s, costs_w)
    tol = 1e-9 * np.maximum(np.abs(net_w), 1.0)
    assert np.all(net_s >= net_w - tol)
    assert net_s.mean() >= net_w.mean() - 1e-9 * max(abs(net_w.mean()), 1.0)
    # the pipeline's NPV (at the investors' 0% rate) is that same net cash
    np.testing.assert_allclose(out_w["investors"], net_w, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(out_s["investors"], net_s, rtol=1e-9, atol=1e-6)


def test_effect_changes_investor_payoff(monotone_pipeline):
    """The monotonicity property is not vacuous: the payoff does move with the effect."""
    weak, _, _ = investor_cash(monotone_pipeline, 1.0)
    strong, _, _ = investor_cash(monotone_pipeline, 0.6)
    assert strong.mean() > weak.mean() + 1e5


def test_pipeline_at_the_sampled_effect_reproduces_the_simulation(monotone_pipeline):
    """At each draw's own sampled effect, the common-random-numbers outcomes are the simulated
    ones, so the pipeline's NPVs equal those of money_flows on the simulated dataset."""
    pipe = monotone_pipeline
    names = list(pipe.ds["parameter"].values)
    sampled = pipe.ds["parameter_value"].values[:, names.index("effect.value")]
    out = pipe(sampled)
    money = money_flows(pipe.deal, pipe.ds, cf=pipe.cf)
    flows = money["flow"].sel(party=["senior", "junior"]).sum("party").values
    np.testing.assert_allclose(out["investors"], flows.sum(-1), rtol=1e-9, atol=1e-6)
