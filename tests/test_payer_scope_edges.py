"""Payers' scope at its edges: savings on every stratum after a stop that leaves a cohort
unstarted, person-periods in a state, and the exact messages of the year checks.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py, a sample of
money/payer_scope.py's mutants) found unguarded.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import sibsim
from sibsim import Cohort, ComparisonGroup, Effect, MarkovOutcome, Scenario, Stratum
from sibsim.money import Contract, MetricTerms, PricePerUnit
from sibsim.money.capital import CapitalStructure, ServiceCosts, Tranche
from sibsim.money.deal import Deal
from sibsim.money.evaluation import Evaluation
from sibsim.money.municipality import Municipality
from sibsim.money.payers import Payer
from sibsim.money.sib import money_flows
from sibsim.money.termination import EffectBelow

LIFE = MarkovOutcome(("housed", "homeless", "dead"),
                     [[0.7, 0.2, 0.1], [0.3, 0.5, 0.2], [0, 0, 1]], initial="homeless",
                     events=[("housed", "homeless")], name="housing")


def _deal(strata, start_year=None, payers=None, termination=()):
    """Two towns; "east" has a second cohort entering in period 2. The contract pays per
    person-period housed, measured per cohort a period after entry."""
    sc = Scenario(cohort=Cohort(strata=(Stratum("east", entry=(100, 0, 60)),
                                        Stratum("west", entry=(80, 0, 0)))),
                  outcome=LIFE, horizon=5, comparison=ComparisonGroup(ratio=1),
                  effect=Effect("rr", 0.8, targets=[("housed", "homeless")]))
    payers = payers or (Payer("city", 1.0, saving_per_event=50.0,
                              saving_per_person_period={"homeless": 100.0},
                              wider_value_per_person_period={"homeless": 30.0},
                              savings_strata=strata),)
    return Deal(scenario=sc,
                evaluations=(Evaluation("housed", outcome="occupancy", state="housed",
                                        direction="increase", window=1, pooled=False),),
                contract=Contract((MetricTerms("housed", PricePerUnit(10.0)),)),
                service_costs=ServiceCosts(per_participant=100.0),
                capital=CapitalStructure((Tranche("fund", 1e6),)),
                municipality=Municipality(discount_rate=0.03), payers=payers,
                termination=termination, start_year=start_year)


@pytest.mark.parametrize("stop", [False, True], ids=["runs its course", "stopped"])
def test_savings_on_every_stratum_are_the_unscoped_savings(stop):
    """A payer scoped to every stratum saves what it saves unscoped: events and person-periods
    homeless avoided, of the cohorts started (a stop after the first result leaves the second
    cohort of "east", entering in period 2, unstarted)."""
    rule = (EffectBelow("housed", 1.0, notice=0),) if stop else ()
    everywhere, unscoped = _deal(("east", "west"), termination=rule), _deal(None,
                                                                          termination=rule)
    ds = sibsim.simulate(everywhere, draws=3, seed=4, progress=False)
    a, b = money_flows(everywhere, ds), money_flows(unscoped, ds)
    assert (a["stop_period"].values < 2).all() == stop
    for name in ("cashable_savings_by_payer", "wider_value_by_payer"):
        np.testing.assert_allclose(a[name].values, b[name].values, rtol=1e-12, atol=1e-9,
                                   err_msg=name)
    assert (np.abs(a["wider_value_by_payer"].values) > 0).any()
    # one town only: less than both (its own strata)
    east = money_flows(_deal(("east",), termination=rule), ds)
    assert not np.allclose(east["cashable_savings_by_payer"].values,
                           a["cashable_savings_by_payer"].values)


def test_a_payers_years_without_the_deals_start_year_name_the_year_given():
    with pytest.raises(ValueError, match="^" + re.escape(
            "Deal.payers[0].first_year: got 2022; allowed: a payer's years only with the "
            "deal's start_year (the calendar year of period 0)") + "$"):
        _deal(None, payers=(Payer("city", 1.0, first_year=2022, last_year=2030),))


def test_shares_of_a_year_are_shown_to_12_decimals():
    payers = (Payer("city", 0.5, first_year=2020), Payer("state", 0.4000000000001))
    with pytest.raises(ValueError, match=re.escape(
            "Deal.payers.shares[housed] in 2020: got 0.9; allowed: shares of metric 'housed' "
            "summing to 1 over the payers present that year (city 0.5, state 0.4)")):
        _deal(None, start_year=2020, payers=payers)
