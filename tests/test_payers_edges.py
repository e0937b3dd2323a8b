"""Payers at their edges: exact messages of the checks, boundary years and shares, the exact
total of a single payer, and the fields named when a payer values a state the outcome lacks.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py) found unguarded.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import sibsim
from sibsim import Cohort, ComparisonGroup, CountOutcome, Effect, Gamma, LogNormal, Scenario
from sibsim.money import Contract, MetricTerms, PricePerUnit
from sibsim.money.capital import CapitalStructure, ServiceCosts, Tranche
from sibsim.money.deal import Deal
from sibsim.money.evaluation import Evaluation
from sibsim.money.municipality import Municipality
from sibsim.money.payers import Payer, check_payers, split_by_payer
from sibsim.money.results import PaymentResult
from sibsim.money.sib import money_flows
from sibsim.spec.distributions import Distribution

RATE_ONLY = Municipality(discount_rate=0.035)


def payment_result(by_metric, metrics) -> PaymentResult:
    by_metric = np.asarray(by_metric, dtype=np.float64)
    d, m, _ = by_metric.shape
    return PaymentResult(total=by_metric.sum(axis=1), by_metric=by_metric,
                         by_trigger=np.zeros((d, 1)), beyond_horizon=np.zeros((d, m)),
                         metrics=metrics, currency="EUR", overflow="last")


def full(message: str) -> str:
    """A pattern matching exactly ``message``."""
    return "^" + re.escape(message) + "$"


# ------------------------------------------------------------------------ messages
def test_unknown_metrics_are_named_with_the_contract_metrics():
    with pytest.raises(ValueError, match=full(
            "Deal.payers[1].shares: got ['lng']; allowed: metrics of the contract "
            "(short, long)")):
        check_payers((Payer("a", 1.0), Payer("b", {"lng": 0.5})), ("short", "long"), RATE_ONLY)


def test_the_sum_of_shares_is_shown_without_float_noise():
    # 0.5 + 0.4000000000003 is 0.9000000000003: shown rounded to 12 decimals
    with pytest.raises(ValueError, match=r"^Deal\.payers\.shares\[m\]: got 0\.9; allowed: "):
        check_payers((Payer("a", 0.5), Payer("b", 0.4 + 3e-13)), ("m",), RATE_ONLY)


def test_a_municipality_with_savings_next_to_payers_is_shown_and_explained():
    town = Municipality(saving_per_event=10.0)
    with pytest.raises(ValueError) as err:
        check_payers((Payer("a", 1.0),), ("m",), town)
    message = str(err.value)
    assert message.startswith("Deal.municipality: got Municipality(saving_per_event=10.0, ")
    assert message.endswith(
        "; allowed: only discount_rate when payers are given (each payer's savings and costs "
        "are its own: put them in its [[payers]] table)")


def test_empty_or_listed_shares_are_refused_with_what_is_allowed():
    with pytest.raises(ValueError, match=full("Payer.shares: got {}; allowed: at least one "
                                              "metric")):
        Payer("p", {})
    with pytest.raises(TypeError, match=full(
            "Payer.shares: got (0.5, 0.5); allowed: a fraction in [0, 1] (every metric), or a "
            "table {metric = fraction}")):
        Payer("p", (0.5, 0.5))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"shares": {"": 0.5}}, "Payer.shares key: got ''; allowed: a non-empty string"),
    ({"shares": 1.0, "saving_per_event": {"": 1.0}},
     "Payer.saving_per_event key: got ''; allowed: a non-empty string"),
    ({"shares": 1.0, "saving_per_person_period": {"": 1.0}},
     "Payer.saving_per_person_period key: got ''; allowed: a non-empty string"),
])
def test_an_empty_table_key_is_named(kwargs, message):
    with pytest.raises(TypeError, match=full(message)):
        Payer("p", **kwargs)


def test_a_bad_amount_in_a_process_table_names_its_process():
    with pytest.raises(ValueError, match=r"^Payer\.wider_value_per_event\[care\]: got -1\.0; "):
        Payer("p", 1.0, wider_value_per_event={"care": -1.0})


def test_a_distribution_table_is_one_uncertain_amount_not_a_process_table():
    p = Payer("p", 1.0, saving_per_event={"dist": "gamma", "mean": 100.0, "sd": 5.0})
    assert isinstance(p.saving_per_event, Distribution)


def test_repeated_savings_strata_are_refused_by_name():
    with pytest.raises(ValueError, match=full(
            "Payer[p].savings_strata: got ['a', 'a']; allowed: unique strata (repeated: a)")):
        Payer("p", 1.0, savings_strata=("a", "a"))


def test_a_payer_may_take_part_in_one_year_only_but_not_end_before_it_starts():
    one_year = Payer("p", 1.0, first_year=2024, last_year=2024)
    assert (one_year.first_year, one_year.last_year) == (2024, 2024)
    with pytest.raises(ValueError, match=full(
            "Payer[p].last_year: got 2023; allowed: a year from first_year (2024) on")):
        Payer("p", 1.0, first_year=2024, last_year=2023)


def test_a_cap_per_period_of_the_wrong_length_names_its_payer():
    pay = payment_result(np.ones((1, 1, 3)), ("m",))
    with pytest.raises(ValueError, match=r"^Payer\[city\]\.cap_per_period"):
        split_by_payer((Payer("city", 1.0, cap_per_period=(1.0, 2.0)),), pay)


# ------------------------------------------------------------------------ the split
def test_a_single_payer_paying_all_pays_exactly_the_contract_total():
    # 0.1 + 0.2 + 0.3 is 0.6000000000000001 in floating point: the contract's total is 0.6,
    # and the payer pays it exactly, not the sum of its metric parts
    by_metric = np.array([[[0.1], [0.2], [0.3]]])
    pay = payment_result(by_metric, ("a", "b", "c"))
    pay = PaymentResult(total=np.array([[0.6]]), by_metric=by_metric, by_trigger=pay.by_trigger,
                        beyond_horizon=pay.beyond_horizon, metrics=pay.metrics,
                        currency="EUR", overflow="last")
    split = split_by_payer((Payer("all", 1.0),), pay)
    assert split.due[0, 0, 0] == 0.6 and split.paid[0, 0, 0] == 0.6
    assert split.total[0, 0] == 0.6


def test_a_lone_payer_with_a_part_pays_its_part():
    pay = payment_result(np.array([[[100.0, 40.0]]]), ("m",))
    split = split_by_payer((Payer("half", 0.5),), pay)
    assert split.due[0, 0].tolist() == [50.0, 20.0]


# ------------------------------------------------------------------------ valued states
def _deal(**money) -> Deal:
    return Deal(
        scenario=Scenario(cohort=Cohort(entry=(40,)),
                          outcome=CountOutcome(Gamma.from_mean_sd(1.0, 0.1), dispersion=2.0),
                          horizon=3, effect=Effect("rr", LogNormal.from_mean_sd(0.8, 0.05)),
                          comparison=ComparisonGroup(ratio=1)),
        evaluations=(Evaluation("m", window=1, report_lag=0),),
        contract=Contract((MetricTerms("m", PricePerUnit(100.0)),)),
        service_costs=ServiceCosts(fixed_per_period=1_000.0),
        capital=CapitalStructure((Tranche("senior", 10_000.0, 1),)),
        service_periods=1, **money)


@pytest.mark.parametrize(("money", "key"), [
    ({"municipality": Municipality(saving_per_person_period={"care": 5.0})},
     "Municipality.saving_per_person_period"),
    ({"municipality": Municipality(wider_value_per_person_period={"care": 5.0})},
     "Municipality.wider_value_per_person_period"),
    ({"municipality": RATE_ONLY,
      "payers": (Payer("a", 1.0, wider_value_per_person_period={"care": 5.0}),)},
     "Deal.payers[0].wider_value_per_person_period"),
])
def test_a_valued_state_the_outcome_lacks_names_who_values_it(money, key):
    deal = _deal(**money)
    ds = sibsim.simulate(deal.scenario, draws=4, seed=3, engine="aggregate", progress=False)
    with pytest.raises(ValueError, match=full(
            f"{key}: got 'care'; allowed: states of the scenario's outcome")):
        money_flows(deal, ds)
