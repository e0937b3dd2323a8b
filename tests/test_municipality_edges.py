"""The commissioner's terms at their edges: the discount rate's range, exact messages, the
per-process and per-state savings by hand, and the commissioner's own costs per period.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py) may find
unguarded; values are worked by hand.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from sibsim.money.municipality import Municipality, per_period_rate
from sibsim.money.uncertain import per_draw
from sibsim.spec.distributions import Distribution


def full(message: str) -> str:
    return "^" + re.escape(message) + "$"


def test_per_period_rate_compounds_to_the_annual_rate():
    assert per_period_rate(0.21, 2) == pytest.approx(0.1, abs=1e-15)   # 1.1 ** 2 = 1.21
    assert per_period_rate(0.05, 1) == pytest.approx(0.05, abs=1e-15)
    assert per_period_rate(0.0, 12) == 0.0


def test_the_discount_rate_may_be_at_either_end_of_its_range():
    assert Municipality(discount_rate=-0.5).discount_rate == -0.5
    assert Municipality(discount_rate=1.0).discount_rate == 1.0
    # just above 1 reads as a percentage too (every fraction field does so): the hint
    for rate, hint in ((-0.5000001, ""), (1.0000001, ", a fraction: write 0.01 for 1%")):
        with pytest.raises(ValueError, match=full(
                f"Municipality.discount_rate: got {rate}; allowed: a finite number in "
                f"[-0.5, 1]{hint}")):
            Municipality(discount_rate=rate)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"contract_periods": 0}, ValueError,
     "Municipality.contract_periods: got 0; allowed: an integer >= 1"),
    ({"saving_per_person_period": [("care", 1.0)]}, TypeError,
     "Municipality.saving_per_person_period: got [('care', 1.0)]; allowed: a mapping state "
     "-> value"),
    ({"saving_per_person_period": {"": 1.0}}, TypeError,
     "Municipality.saving_per_person_period key: got ''; allowed: a non-empty string"),
    ({"wider_value_per_person_period": {"care": -1.0}}, ValueError,
     "Municipality.wider_value_per_person_period[care]: got -1.0; allowed: a finite number in "
     "[0, inf]"),
    ({"saving_per_event": {"": 1.0}}, TypeError,
     "Municipality.saving_per_event key: got ''; allowed: a non-empty string"),
    ({"other_costs_per_period": -1.0}, ValueError,
     "Municipality.other_costs_per_period: got -1.0; allowed: a finite number in [0, inf]"),
    ({"wider_value_per_event": -2.0}, ValueError,
     "Municipality.wider_value_per_event: got -2.0; allowed: a finite number in [0, inf]"),
])
def test_each_refusal_names_the_key(kwargs, error, message):
    with pytest.raises(error, match=full(message)):
        Municipality(**kwargs)


def test_a_distribution_table_is_one_amount_not_a_process_table():
    m = Municipality(saving_per_event={"dist": "gamma", "mean": 100.0, "sd": 5.0},
                     wider_value_per_event={"dist": "gamma", "mean": 10.0, "sd": 1.0})
    assert isinstance(m.saving_per_event, Distribution)
    assert isinstance(m.wider_value_per_event, Distribution)
    assert m.processes_valued() == set()


def test_savings_by_hand_for_one_process_and_states():
    m = Municipality(saving_per_event=10.0, wider_value_per_event=3.0,
                     saving_per_person_period={"care": 2.0},
                     wider_value_per_person_period={"care": 0.5, "jail": 7.0})
    events = np.array([[1.0, 2.0]])
    pp = {"care": np.array([[4.0, -1.0]]), "jail": np.array([[0.0, 1.0]])}
    cash, wider = m.savings(events, pp)
    assert cash.tolist() == [[1 * 10 + 4 * 2, 2 * 10 - 1 * 2]]
    assert wider.tolist() == [[1 * 3 + 4 * 0.5 + 0 * 7, 2 * 3 - 1 * 0.5 + 1 * 7]]
    assert m.states_valued() == {"care", "jail"}


def test_savings_by_hand_for_several_processes():
    m = Municipality(saving_per_event={"jail": 100.0, "care": 1.0},
                     wider_value_per_event={"care": 5.0})
    assert m.processes_valued() == {"jail", "care"}
    assert m.per_event("jail") == (100.0, 0.0) and m.per_event("other") == (0.0, 0.0)
    assert m.per_event() == (0.0, 0.0)   # per-process amounts value no unnamed process
    cash, wider = m.savings({"jail": np.array([[2.0]]), "care": np.array([[3.0]])}, {})
    assert cash.tolist() == [[2 * 100 + 3 * 1]] and wider.tolist() == [[3 * 5]]


def test_own_costs_stop_after_the_contract_periods():
    assert Municipality(other_costs_per_period=5.0).other_costs(3).tolist() == [5.0] * 3
    m = Municipality(other_costs_per_period=5.0, contract_periods=2)
    assert m.other_costs(4).tolist() == [5.0, 5.0, 0.0, 0.0]
    uncertain = Municipality(other_costs_per_period=per_draw([1.0, 2.0]), contract_periods=1)
    assert uncertain.other_costs(3).tolist() == [[1.0, 0.0, 0.0], [2.0, 0.0, 0.0]]


def test_every_amount_is_stored_as_read():
    """Distribution tables become distributions and the discount rate a float, in the field
    itself (not beside it)."""
    gamma = {"dist": "gamma", "mean": 10.0, "sd": 1.0}
    m = Municipality(discount_rate=0, other_costs_per_period=dict(gamma),
                     saving_per_person_period={"care": dict(gamma)},
                     wider_value_per_person_period={"care": dict(gamma)})
    assert type(m.discount_rate) is float and m.discount_rate == 0.0
    assert isinstance(m.other_costs_per_period, Distribution)
    assert isinstance(m.saving_per_person_period["care"], Distribution)
    assert isinstance(m.wider_value_per_person_period["care"], Distribution)
