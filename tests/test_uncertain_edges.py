"""Uncertain money assumptions at their edges: a commissioner paying alone, an amount by
process, the check of a one-dimensional distribution and the constraint's own description.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py, a sample of
money/uncertain.py's mutants) found unguarded.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import sibsim
from sibsim import Dirichlet, Uniform
from sibsim.money.capital import ServiceCosts
from sibsim.money.municipality import Municipality
from sibsim.money.sib import money_flows
from sibsim.money.uncertain import UncertainAmount
from sibsim.spec import _validate as v


def test_an_uncertain_saving_of_a_commissioner_paying_alone():
    """Peterborough with the commissioner alone saving GBP 3,000-5,000 per reconviction
    avoided: each draw's cashable savings are its sampled saving times its avoided events."""
    deal = sibsim.load_scenario("peterborough").replace(
        payers=(), municipality=Municipality(saving_per_event=Uniform(3_000.0, 5_000.0),
                                             discount_rate=0.035))
    money = money_flows(deal, sibsim.simulate(deal, draws=4, seed=2, progress=False))
    assert money["money_parameter"].values.tolist() == ["municipality.saving_per_event"]
    value = money["money_parameter_value"].values[:, 0]
    assert ((value >= 3_000) & (value <= 5_000)).all() and np.ptp(value) > 0
    np.testing.assert_allclose(money["cashable_savings"].values,
                               value[:, None] * money["avoided_events"].values, rtol=1e-12)


def test_an_uncertain_saving_by_process():
    """Denver's USD 20-40 per jail day avoided, given by process: sampled per draw."""
    deal = sibsim.load_scenario("denver-housing")
    deal = deal.replace(municipality=Municipality(
        saving_per_event={"jail_days": Uniform(20.0, 40.0)},
        discount_rate=deal.municipality.discount_rate))
    money = money_flows(deal, sibsim.simulate(deal, draws=3, seed=2, progress=False))
    assert money["money_parameter"].values.tolist() == [
        "municipality.saving_per_event[jail_days]"]
    value = money["money_parameter_value"].values[:, 0]
    jail = money["avoided_events_by_process"].sel(process="jail_days").values
    np.testing.assert_allclose(money["cashable_savings"].values, value[:, None] * jail,
                               rtol=1e-12)


def test_an_amount_is_a_one_dimensional_distribution():
    with pytest.raises(ValueError, match="^" + re.escape(
            "ServiceCosts.per_participant: got 'dirichlet(alpha=(1.0, 2.0))'; allowed: an "
            "amount >= 0: a one-dimensional distribution") + "$"):
        ServiceCosts(per_participant=Dirichlet((1.0, 2.0)))


def test_an_uncertain_amount_from_zero_by_default():
    amount = UncertainAmount(v.interval(0.0))
    assert (amount.low, amount.what) == (0.0, "an amount >= 0")
    assert amount.description == "an amount >= 0: a number or a distribution with values >= 0"
    assert amount("x", Uniform(0.5, 1.0)) == Uniform(0.5, 1.0)   # values in [0.5, 1] >= 0
    assert amount("x", 2) == 2.0
