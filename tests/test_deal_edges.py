"""A deal's checks at their edges: the exact message of each refusal, naming the key, the value
and what is allowed, and the last period a maturity may take.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py) found unguarded
or likely to be (the checks' texts were matched only in part before).
"""

from __future__ import annotations

import dataclasses
import re

import pytest

import sibsim
from sibsim import Cohort, ComparisonGroup, CountOutcome, Effect, Gamma, LogNormal, Scenario
from sibsim.money import Contract, MetricTerms, PricePerUnit
from sibsim.money.capital import CapitalStructure, ServiceCosts, Tranche
from sibsim.money.deal import Deal
from sibsim.money.evaluation import Evaluation
from sibsim.money.municipality import Municipality
from sibsim.money.payers import Payer
from sibsim.money.ratecard import RateCard
from sibsim.spec.distributions import Fixed

SCENARIO = Scenario(cohort=Cohort(entry=(40,)),
                    outcome=CountOutcome(Gamma.from_mean_sd(1.0, 0.1), dispersion=2.0),
                    horizon=3, effect=Effect("rr", LogNormal.from_mean_sd(0.8, 0.05)),
                    comparison=ComparisonGroup(ratio=1))
TOGETHER = ("evaluations, a contract and a capital structure together (a priced deal) or none "
            "of them (an outcome-only scenario)")


def priced(**changes) -> dict:
    """The parts of a small priced deal, with ``changes`` (None leaves a part out)."""
    parts = dict(scenario=SCENARIO, evaluations=(Evaluation("m", window=1, report_lag=0),),
                 contract=Contract((MetricTerms("m", PricePerUnit(100.0)),)),
                 service_costs=ServiceCosts(fixed_per_period=1_000.0),
                 capital=CapitalStructure((Tranche("senior", 10_000.0, 1),)),
                 service_periods=1)
    parts.update(changes)
    return {k: x for k, x in parts.items() if x is not None}


CASES = {
    "no evaluations": (priced(evaluations=()), f"Deal.evaluations: got None; allowed: {TOGETHER}"),
    "no capital": (priced(capital=None), f"Deal.capital: got None; allowed: {TOGETHER}"),
    "payers, no contract": (
        {"scenario": SCENARIO, "payers": (Payer("p", 1.0),)},
        "Deal.payers: got ['p']; allowed: payers only in a priced deal (with a contract)"),
    "maturity, no contract": (
        {"scenario": SCENARIO, "maturity": 1},
        "Deal.termination: got (); allowed: termination rules and a maturity only with a "
        "priced deal"),
    "unmeasured metric": (
        priced(contract=Contract((MetricTerms("m", PricePerUnit(100.0)),
                                  MetricTerms("x", PricePerUnit(1.0))))),
        "Deal.contract.terms: got ['x']; allowed: metrics that an evaluation measures (m)"),
    "currency": (
        priced(capital=CapitalStructure((Tranche("senior", 10_000.0, 1),), currency="GBP")),
        "Deal.capital.currency: got 'GBP'; allowed: the deal's currency 'EUR'"),
    "maturity at the horizon": (
        priced(maturity=3),
        "Deal.maturity: got 3; allowed: a period in [0, 2] (the horizon is 3 periods)"),
    "costs per period": (
        priced(service_costs=ServiceCosts(fixed_per_period=(1.0, 2.0))),
        "Deal.service_costs.fixed_per_period: got '2 values'; allowed: a number, or 3 values "
        "(one per period of the horizon of 3 periods)"),
    "correlated input": (
        priced(correlation=sibsim.Correlation(("nope", "effect.value"),
                                              ((1.0, 0.5), (0.5, 1.0)))),
        "Deal.correlation.inputs[0]: got 'nope'; allowed: names of uncertain inputs of the deal "
        "(distributions, not fixed numbers): baseline.rate, effect.value"),
    "correlated input of a deal without uncertain inputs": (
        priced(scenario=dataclasses.replace(SCENARIO, outcome=CountOutcome(1.0),
                                            effect=Effect("rr", 0.8)),
               correlation=sibsim.Correlation(("nope", "effect.value"),
                                              ((1.0, 0.5), (0.5, 1.0)))),
        "Deal.correlation.inputs[0]: got 'nope'; allowed: names of uncertain inputs of the deal "
        "(distributions, not fixed numbers): none"),
    "saving of a process": (
        priced(municipality=Municipality(saving_per_event={"nope": 1.0})),
        "Municipality.saving_per_event: got ['nope']; allowed: process names (one of 'event')"),
    "evaluated process": (
        priced(evaluations=(Evaluation("m", window=1, report_lag=0, process="nope"),)),
        "Evaluation[m].process: got 'nope'; allowed: one of 'event'"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_refusal_names_the_key_the_value_and_what_is_allowed(case):
    parts, message = CASES[case]
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        Deal(**parts)


def test_a_maturity_may_be_the_last_period_of_the_horizon():
    assert Deal(**priced(maturity=2)).maturity == 2


# ------------------------------------------------------------------------ several processes
def _card(deal, **changes):
    first, *rest = deal.contract.rate_cards
    return deal.replace(contract=dataclasses.replace(
        deal.contract, rate_cards=(dataclasses.replace(first, **changes), *rest)))


def test_process_refusals_name_the_processes():
    roca = sibsim.load_scenario("massachusetts-roca")   # three processes
    several = "one of 'incarceration', 'employment', 'engagement'"
    with pytest.raises(ValueError, match="^" + re.escape(
            f"RateCard[job_readiness].process: got None; allowed: {several} (the scenario has "
            "several outcome processes)") + "$"):
        _card(roca, process=None)
    first, *rest = roca.evaluations
    with pytest.raises(ValueError, match="^" + re.escape(
            "Evaluation[incarceration_days].state: got 'nope'; allowed: a state of process "
            "'incarceration'") + "$"):
        roca.replace(evaluations=(dataclasses.replace(first, state="nope"), *rest))
    with pytest.raises(ValueError, match="^" + re.escape(
            "Municipality.saving_per_event: got 5.0; allowed: an amount per process, "
            "{process = amount}, when the scenario has several outcome processes") + "$"):
        roca.replace(municipality=dataclasses.replace(roca.municipality, saving_per_event=5.0))
    koto = sibsim.load_scenario("koto-sib")   # one process
    with pytest.raises(ValueError, match="^" + re.escape(
            "RateCard[training_completed].process: got 'nope'; allowed: one of 'job start'")
            + "$"):
        _card(koto, process="nope")


# ------------------------------------------------------------------------ conveniences
def test_calendar_years_of_quarters():
    deal = sibsim.load_scenario("peterborough").with_scenario(period="quarter")
    assert deal.calendar_years().tolist() == [2010] * 4 + [2011] * 4


def test_with_scenario_and_with_values_change_one_thing():
    deal = sibsim.load_scenario("peterborough")
    quarterly = deal.with_scenario(period="quarter")
    assert quarterly.scenario.period == "quarter" and quarterly.contract == deal.contract
    assert quarterly.scenario.horizon == deal.scenario.horizon
    fixed = deal.with_values({"scenario.outcome.rate": 1.2})
    assert fixed.scenario.outcome.rate == Fixed(1.2) and fixed.payers == deal.payers
    assert deal.scenario.outcome.rate != Fixed(1.2)


# ------------------------------------------------------------------------ exactly two processes
TWO = "one of 'housing', 'jail_days'"     # denver-housing: a Markov process and a count process


def test_two_processes_are_several():
    """Two outcome processes are already several (the checks compare the count with 1): an
    evaluation or a rate card that names none is refused, and the message lists both names."""
    denver = sibsim.load_scenario("denver-housing")
    (jail,) = denver.evaluations         # housing is paid by a rate card (the participants')
    with pytest.raises(ValueError, match="^" + re.escape(
            f"Evaluation[jail].process: got None; allowed: {TWO} (the scenario has several "
            "outcome processes)") + "$"):
        denver.replace(evaluations=(dataclasses.replace(jail, process=None),))
    card = RateCard("housed_quarters", price=10.0, measure="occupancy", state="housed")
    with pytest.raises(ValueError, match="^" + re.escape(
            f"RateCard[housed_quarters].process: got None; allowed: {TWO} (the scenario has "
            "several outcome processes)") + "$"):
        denver.replace(contract=dataclasses.replace(denver.contract, rate_cards=(card,)))
    ok = denver.replace(contract=dataclasses.replace(
        denver.contract, rate_cards=(dataclasses.replace(card, process="housing"),)))
    assert ok.contract.rate_cards[0].process == "housing"


def test_a_process_without_states_is_named_not_crashed_on():
    """Occupancy of a count process (it has no states), in an evaluation or a rate card: the
    refusal names the key; a rate card counting a count process's events is accepted."""
    denver = sibsim.load_scenario("denver-housing")
    (jail,) = denver.evaluations
    with pytest.raises(ValueError, match="^" + re.escape(
            "Evaluation[jail].state: got 'housed'; allowed: a state of process 'jail_days'")
            + "$"):
        denver.replace(evaluations=(dataclasses.replace(
            jail, outcome="occupancy", state="housed", process="jail_days"),))
    card = RateCard("jail_quarters", price=10.0, measure="occupancy", state="housed",
                    process="jail_days")
    with pytest.raises(ValueError, match="^" + re.escape(
            "RateCard[jail_quarters].measure: got 'occupancy'; allowed: 'events' for an outcome "
            "without states (counts)") + "$"):
        denver.replace(contract=dataclasses.replace(denver.contract, rate_cards=(card,)))
    events = RateCard("jail_days", price=10.0, process="jail_days")
    deal = denver.replace(contract=dataclasses.replace(denver.contract, rate_cards=(events,)))
    assert deal.contract.rate_cards == (events,)
    one = Deal(**priced(contract=Contract((MetricTerms("m", PricePerUnit(100.0)),),
                                          rate_cards=(RateCard("c", price=5.0),))))
    assert one.contract.rate_cards[0].measure == "events"   # one count process: no states


def test_a_payers_refusal_names_the_payer_by_its_index():
    """With payers, a saving on an unknown process names ``Deal.payers[i]`` (the municipality
    only when it pays alone)."""
    denver = sibsim.load_scenario("denver-housing")
    payers = (Payer("city", 1.0, saving_per_event={"jail_days": 30.0}),
              Payer("state", 0.0, saving_per_event={"nope": 1.0}))
    with pytest.raises(ValueError, match="^" + re.escape(
            "Deal.payers[1].saving_per_event: got ['nope']; allowed: process names "
            f"({TWO})") + "$"):
        denver.replace(payers=payers, municipality=Municipality(discount_rate=0.03))


# two Markov processes sharing the state 'housed', and a count process
_HOUSING = sibsim.MarkovOutcome(("housed", "homeless"), [[0.9, 0.1], [0.3, 0.7]],
                                initial="homeless", events=[("housed", "homeless")],
                                name="housing")
_SHELTER = sibsim.MarkovOutcome(("housed", "away"), [[0.9, 0.1], [0.3, 0.7]], initial="away",
                                events=[("housed", "away")], name="shelter")


@pytest.mark.parametrize(("state", "found"), [("employed", "none"),
                                              ("housed", "['housing', 'shelter']")])
def test_a_state_valued_must_be_a_state_of_exactly_one_process(state, found):
    """A saving per person-period in a state names one process's state: a state of no process,
    or of two, is refused, and the message says which processes have it."""
    from sibsim.spec.scenario import Process

    sc = Scenario(cohort=Cohort(entry=(40,)), comparison=ComparisonGroup(ratio=1), horizon=3,
                  outcome=_HOUSING, effect=Effect("hr", 2.0, targets=[("homeless", "housed")]),
                  other_processes=(Process(_SHELTER), Process(CountOutcome(2.0, name="jail"))))
    parts = priced(scenario=sc, evaluations=(Evaluation("m", window=1, report_lag=0,
                                                        process="housing"),))
    ok = Deal(**parts, municipality=Municipality(saving_per_person_period={"homeless": 5.0}))
    assert ok.municipality.saving_per_person_period == {"homeless": 5.0}
    with pytest.raises(ValueError, match="^" + re.escape(
            f"Municipality.saving_per_person_period: got '{state}'; allowed: a state of exactly "
            f"one outcome process (found in {found})") + "$"):
        Deal(**parts, municipality=Municipality(saving_per_person_period={state: 5.0}))


def test_payers_by_wave_are_checked_year_by_year_of_the_deals_calendar():
    """Payers of a wave may change from one calendar year to the next (a city until 2021, a
    county from 2022), but in every year of the deal each wave's shares sum to 1: a county
    starting in 2023 leaves wave 0 without a payer in 2022, which the deal refuses."""
    sc = Scenario(cohort=Cohort(entry=(150, 120)), outcome=CountOutcome(1.0), horizon=5,
                  effect=Effect("rr", 0.8), comparison=ComparisonGroup(ratio=2))
    parts = priced(scenario=sc, start_year=2020,
                   evaluations=(Evaluation("m", window=2, report_lag=0, per_period=True,
                                           pooled=False),))
    state = Payer("state", 1.0, waves=[1])
    ok = Deal(**parts, payers=(Payer("city", 1.0, waves=[0], last_year=2021),
                               Payer("county", 1.0, waves=[0], first_year=2022), state))
    assert ok.calendar_years().tolist() == [2020, 2021, 2022, 2023, 2024]
    with pytest.raises(ValueError, match="^" + re.escape(
            "Deal.payers.shares[m] for wave 0 in 2022: got 0.0; allowed: shares of metric 'm' "
            "summing to 1 over the payers covering wave 0 (none)") + "$"):
        Deal(**parts, payers=(Payer("city", 1.0, waves=[0], last_year=2021),
                              Payer("county", 1.0, waves=[0], first_year=2023), state))
