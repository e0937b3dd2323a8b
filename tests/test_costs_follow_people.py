"""Service costs that follow people: ``engaged_occupancy`` and ``ServiceCosts.basis/per_state``.

Statistical tests use fixed seeds and tolerances of 4 Monte Carlo standard errors.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import sibsim
from sibsim import (
    BinaryOutcome,
    Cohort,
    ComparisonGroup,
    CountOutcome,
    Effect,
    Frailty,
    MarkovOutcome,
    Scenario,
)
from sibsim.money.capital import CapitalStructure, ServiceCosts, Tranche
from sibsim.money.contract import Contract, MetricTerms
from sibsim.money.deal import Deal
from sibsim.money.evaluation import Evaluation
from sibsim.money.pricing import PricePerUnit
from sibsim.money.sib import counterfactual, money_flows

pytestmark = pytest.mark.usefixtures("warm_kernels")

LIFE = MarkovOutcome(("housed", "homeless", "dead"),
                     [[0.7, 0.2, 0.1], [0.3, 0.5, 0.2], [0, 0, 1]], initial="homeless",
                     events=[("housed", "homeless")], name="housing")


def life(engagement=1.0, dropout=0.0, n=100, frailty=None) -> Scenario:
    return Scenario(cohort=Cohort(entry=(n, n)), comparison=ComparisonGroup(ratio=1), horizon=4,
                    outcome=LIFE, frailty=frailty,
                    effect=Effect("rr", 0.8, targets=[("housed", "homeless")],
                                  engagement=engagement, dropout=dropout))


SCENARIOS = {
    "markov": life(engagement=0.8, dropout=0.1),
    "binary_absorbing": Scenario(cohort=Cohort(entry=(100, 80)), horizon=4,
                                 outcome=BinaryOutcome(0.3, recurrent=False),
                                 effect=Effect("rr", 0.7, engagement=0.7, dropout=0.1),
                                 comparison=ComparisonGroup(ratio=1)),
    "binary_recurrent": Scenario(cohort=Cohort(entry=(100, 80)), horizon=4,
                                 outcome=BinaryOutcome(0.3),
                                 effect=Effect("rr", 0.7, engagement=0.7, dropout=0.1),
                                 comparison=ComparisonGroup(ratio=1)),
    "binary_all_engaged": Scenario(cohort=Cohort(entry=(100, 80)), horizon=4,
                                   outcome=BinaryOutcome(0.3, recurrent=False),
                                   effect=Effect("rr", 0.7), comparison=ComparisonGroup(ratio=1)),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize(("engine", "frailty"), [("individual", False), ("aggregate", False),
                                                 ("expected", False), ("individual", True),
                                                 ("expected", True)])
def test_engaged_occupancy_adds_up(name, engine, frailty):
    sc = SCENARIOS[name]
    if frailty:
        sc = dataclasses.replace(sc, frailty=Frailty(0.5))
    ds = sibsim.simulate(sc, draws=5, seed=2, engine=engine, progress=False)
    eo = ds["engaged_occupancy"]
    assert eo.dims == ds["occupancy"].dims
    np.testing.assert_allclose(eo.sum("state").values, ds["engaged"].values, atol=1e-9)
    assert (eo.values <= ds["occupancy"].values + 1e-9).all()
    assert (eo.sel(arm="comparison").values == 0).all()
    assert (eo.values >= -1e-12).all()
    if name == "binary_all_engaged":  # everyone engaged throughout: the same as occupancy
        np.testing.assert_allclose(eo.sel(arm="treatment").values,
                                   ds["occupancy"].sel(arm="treatment").values)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("engine", ["individual", "aggregate"])
def test_engaged_occupancy_means_match_the_expected_engine(name, engine):
    sc = SCENARIOS[name]
    D = 300
    ds = sibsim.simulate(sc, draws=D, seed=7, engine=engine, progress=False)
    ex = sibsim.simulate(sc, draws=1, seed=7, engine="expected", progress=False)
    x = ds["engaged_occupancy"].sel(arm="treatment").sum(("wave", "stratum")).values
    mu = ex["engaged_occupancy"].sel(arm="treatment").sum(("wave", "stratum")).values[0]
    se = x.std(0, ddof=1) / np.sqrt(D)
    assert (np.abs(x.mean(0) - mu) <= 4 * se + 1e-9).all()


def test_absorbing_coordinate():
    ds = sibsim.simulate(life(), draws=1, seed=1, engine="expected", progress=False)
    assert ds["absorbing"].values.tolist() == [False, False, True]
    assert ds["absorbing"].dims == ("state",)


def test_engaged_occupancy_exact_in_the_expected_engine():
    """All engaged, no drop-out: the engaged alive in period t of wave 0 are n (1 - d)**t where
    d is the death probability (0.2 from homeless, 0.1 from housed)."""
    ds = sibsim.simulate(life(), draws=1, seed=1, engine="expected", progress=False)
    eo = ds["engaged_occupancy"].sel(arm="treatment", wave=0, stratum="all").values[0]
    occ = ds["occupancy"].sel(arm="treatment", wave=0, stratum="all").values[0]
    np.testing.assert_allclose(eo, occ)
    assert eo[0, 2] == 0 and eo[1, 2] == pytest.approx(20.0)  # 0.2 of 100 homeless died
    alive = eo[:, :2].sum(1)
    assert alive[0] == 100 and alive[1] == pytest.approx(80.0)
    assert (np.diff(alive) < 0).all()


def _deal(sc: Scenario, costs: ServiceCosts, service_periods: int = 3) -> Deal:
    return Deal(scenario=sc, evaluations=(Evaluation("homeless", outcome="occupancy",
                                                     state="homeless", window=2),),
                contract=Contract(terms=(MetricTerms("homeless", PricePerUnit(price=10.0)),)),
                capital=CapitalStructure(tranches=(Tranche("senior", 1e7),)),
                service_costs=costs, service_periods=service_periods)


def _money(deal: Deal, engine="expected", draws=2):
    ds = sibsim.simulate(deal, draws=draws, seed=3, engine=engine, progress=False)
    return ds, money_flows(deal, ds, counterfactual(deal, draws, 3))


def test_default_basis_costs_every_engaged_participant():
    deal = _deal(life(), ServiceCosts(per_participant=100.0))
    assert deal.service_costs.basis == "engaged"
    _, m = _money(deal)
    # 100 people per wave, both waves enter periods 0 and 1, served for 3 periods, no drop-out
    np.testing.assert_allclose(m["participants_served"].values[0], [100, 200, 200, 100])
    np.testing.assert_allclose(m["service_costs"].values[0], [1e4, 2e4, 2e4, 1e4])


def test_in_service_basis_leaves_out_the_dead():
    deal = _deal(life(), ServiceCosts(per_participant=100.0, basis="in_service"))
    ds, m = _money(deal)
    eo = ds["engaged_occupancy"].sel(arm="treatment", state=["housed", "homeless"]).sum(
        ("state", "stratum")).values  # (D, W, P)
    mask = np.array([[1, 1, 1, 0], [0, 1, 1, 1]])
    expected = (eo * mask[None]).sum(1)
    np.testing.assert_allclose(m["participants_served"].values, expected)
    np.testing.assert_allclose(m["service_costs"].values, 100.0 * expected)
    served = m["participants_served"].values[0]
    assert served[0] == 100 and (served[1:3] < [200, 200]).all()


def test_per_state_costs():
    costs = ServiceCosts(per_participant=100.0, basis="in_service",
                         per_state={"homeless": 300.0})
    ds, m = _money(_deal(life(), costs))
    eo = ds["engaged_occupancy"].sel(arm="treatment").sum("stratum")
    mask = np.array([[1, 1, 1, 0], [0, 1, 1, 1]])[None, :, :]
    housed = (eo.sel(state="housed").values * mask).sum(1)
    homeless = (eo.sel(state="homeless").values * mask).sum(1)
    np.testing.assert_allclose(m["service_costs"].values, 100.0 * housed + 300.0 * homeless)


def test_per_state_refuses_absorbing_and_unknown_states():
    with pytest.raises(ValueError, match="not absorbing"):
        _money(_deal(life(), ServiceCosts(basis="in_service", per_state={"dead": 1.0})))
    with pytest.raises(ValueError, match=r"ServiceCosts\.per_state"):
        _money(_deal(life(), ServiceCosts(per_state={"jail": 1.0})))
    with pytest.raises(ValueError, match=r"ServiceCosts\.basis"):
        ServiceCosts(basis="alive")


def test_engaged_basis_with_per_state_may_price_an_absorbing_state():
    costs = ServiceCosts(per_participant=100.0, per_state={"dead": 0.0})
    _, m = _money(_deal(life(), costs))
    costs_in = ServiceCosts(per_participant=100.0, basis="in_service")
    _, m2 = _money(_deal(life(), costs_in))
    np.testing.assert_allclose(m["service_costs"].values, m2["service_costs"].values)


def test_counts_outcome_has_no_absorbing_state():
    sc = Scenario(cohort=Cohort(entry=(50, 50)), comparison=ComparisonGroup(ratio=1),
                  horizon=3, outcome=CountOutcome(1.0), effect=Effect("rr", 0.8,
                                                                       engagement=0.8))
    deal = Deal(scenario=sc, evaluations=(Evaluation("events"),),
                contract=Contract(terms=(MetricTerms("events", PricePerUnit(price=1.0)),)),
                capital=CapitalStructure(tranches=(Tranche("senior", 1e6),)),
                service_costs=ServiceCosts(per_participant=10.0, basis="in_service"),
                service_periods=2)
    ds = sibsim.simulate(deal, draws=3, seed=1, progress=False)
    cf = counterfactual(deal, 3, 1)
    a = money_flows(deal, ds, cf)
    b = money_flows(deal.replace(service_costs=ServiceCosts(per_participant=10.0)), ds, cf)
    np.testing.assert_array_equal(a["service_costs"].values, b["service_costs"].values)


def test_service_costs_toml_keys():
    from sibsim.spec.toml import Section
    c = ServiceCosts.from_toml(Section("service_costs", {"per_participant": 5, "basis":
                                                         "in_service",
                                                         "per_state": {"homeless": 9}}))
    assert c.basis == "in_service" and c.per_state == {"homeless": 9.0}
    with pytest.raises(ValueError, match=r"per_state\[a\]"):
        ServiceCosts(per_state={"a": -1.0})


def test_per_state_costs_are_the_same_in_the_breakevens_fast_path():
    """The break-even's fast path computes who is served, in which state, once (effect_free):
    costs that follow people in states must come out as in the general path."""
    from sibsim.analysis.breakeven import BreakevenBlocks

    deal = _deal(life(), ServiceCosts(per_participant=100.0, basis="in_service",
                                      per_state={"homeless": 300.0}))
    ds = sibsim.simulate(deal, draws=6, seed=4, progress=False)
    fast, general = (BreakevenBlocks(deal, grid=5, fast=f) for f in (True, False))
    fast, general = fast.finish(fast.add(ds)), general.finish(general.add(ds))
    for var in general.data_vars:
        np.testing.assert_allclose(fast[var].values, general[var].values, rtol=1e-12, atol=0,
                                   equal_nan=True, err_msg=var)
