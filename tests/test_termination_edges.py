"""Termination rules at their edges: the exact message of each refusal, a payment falling
exactly at the end of the horizon, and the people served after a stop.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py, a sample of
money/termination.py's mutants) found unguarded.
"""

from __future__ import annotations

import re
import tomllib

import numpy as np
import pytest

import sibsim
from sibsim.money import Contract, MetricTerms, PricePerUnit
from sibsim.money.payers import Payer
from sibsim.money.pricing import ClaimShare
from sibsim.money.sib import money_flows
from sibsim.money.termination import StopLoss, check_claim_share
from sibsim.scenario_file import ScenarioFileError, parse_scenario
from test_lifecycle import BASE


def full(message: str) -> str:
    """A pattern matching exactly ``message``."""
    return "^" + re.escape(message) + "$"


# ------------------------------------------------------------------------ messages
@pytest.mark.parametrize("value", ["[]", "5"])
def test_a_termination_key_that_is_not_tables_is_named(value):
    with pytest.raises(ScenarioFileError, match=full(
            "<scenario>: key 'termination': expected one or more [[termination]] tables")):
        parse_scenario(tomllib.loads(f"termination = {value}\n" + BASE))


def test_claim_share_refusals_in_full():
    share = ClaimShare(0.95, 0.4)
    mixed = (MetricTerms("m", share, pooled_rule=PricePerUnit(1.0)),)
    with pytest.raises(ValueError, match=full(
            "Contract.terms[m].pooled_rule: got PricePerUnit(price=1.0, threshold=0.0, "
            "ceiling=None); allowed: a claim-tied share like 'rule', or none")):
        check_claim_share(Contract(mixed))
    with pytest.raises(ValueError, match=full(
            "Payer[p].cap_total/cap_per_period: got (5.0, None); allowed: None with a "
            "claim-tied share (the waterfall computes it)")):
        check_claim_share(Contract((MetricTerms("m", share),)), [Payer("p", 1.0, cap_total=5.0)])


@pytest.mark.parametrize("kw", [{"amount": 1.0, "share_of_commitment": 0.5}, {}])
def test_a_stop_loss_takes_exactly_one_limit(kw):
    got = (kw.get("amount"), kw.get("share_of_commitment"))
    with pytest.raises(ValueError, match=full(
            f"StopLoss.amount: got {got}; allowed: exactly one of amount or "
            "share_of_commitment")):
        StopLoss(**kw)


# ------------------------------------------------------------------------ the horizon's end
def _stopping(lag: int, overflow: str) -> sibsim.Deal:
    """BASE (4 periods, waves entering in periods 0 and 1, results known in periods 0 and 1)
    with a rule that stops every draw after the first result (period 0, no notice: a stop
    in period 1), paying ``lag`` periods after a result is known."""
    doc = BASE.replace("[contract]\n", f"[contract]\nlag = {lag}\noverflow = '{overflow}'\n")
    return parse_scenario(tomllib.loads(doc + """
[[termination]]
kind = "effect_below"
metric = "m"
threshold = 1.0
results = "first"
notice = 0
"""))


@pytest.mark.parametrize(("lag", "overflow", "settled", "paid_in"), [
    (3, "drop", 3, 3),      # known in 0, paid in 3: the last period, within the horizon
    (4, "drop", 1, None),   # paid in 4 = the horizon: dropped, settled at the stop
    (4, "last", 3, 3),      # paid in 4 = the horizon: moved to the last period
])
def test_a_result_paid_exactly_at_the_horizon(lag, overflow, settled, paid_in):
    deal = _stopping(lag, overflow)
    ds = sibsim.simulate(deal, draws=2, seed=1, progress=False)
    money = money_flows(deal, ds)
    assert money["stop_period"].values.tolist() == [1, 1]
    assert money["settlement_period"].values.tolist() == [settled, settled]
    pay = money["outcome_payments"].values
    if paid_in is None:
        assert (pay == 0).all()
    else:
        assert (pay[:, paid_in] > 0).all() and pay.sum() == pay[:, paid_in].sum()


def test_nobody_is_served_from_the_stop_on():
    """The people served after a stop in period 1 are 0 (the second wave, entering in period
    1, is served there without the rule); before it, those of the deal without the rule."""
    deal = _stopping(2, "last")
    ds = sibsim.simulate(deal, draws=2, seed=1, progress=False)
    stopped = money_flows(deal, ds)["participants_served"].values
    running = money_flows(deal.replace(termination=()), ds)["participants_served"].values
    assert (running[:, 1] == 100).all()
    np.testing.assert_array_equal(stopped[:, :1], running[:, :1])
    assert (stopped[:, 1:] == 0).all()
