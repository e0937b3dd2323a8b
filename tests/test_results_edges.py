"""The money results' containers at their edges (``EvaluationTable``, ``Achievements``,
``PaymentResult``): the exact message of each refusal, the values they store, and the names
of the dataset a payment result gives.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py, a sample of
money/results.py's mutants) found unguarded.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from sibsim.money.results import Achievements, EvaluationTable, PaymentResult

TABLE = dict(metric=("m", "m"), period=(1, 2), cumulative=(False, True), participants=(10, 20),
             measured_effect=[[0.1, 0.2]], units=[[1.0, 2.0]])


def full(message: str) -> str:
    """A pattern matching exactly ``message``."""
    return "^" + re.escape(message) + "$"


@pytest.mark.parametrize(("changes", "error", "message"), [
    ({"cumulative": (False,)}, ValueError,
     "EvaluationTable.cumulative: got (False,); allowed: a sequence of length K=2 (one per "
     "metric)"),
    ({"measured_effect": [["a", "b"]]}, TypeError,
     "EvaluationTable.measured_effect: got [['a', 'b']]; allowed: a real array (D, K)"),
    ({"gate": [[1, 0]]}, TypeError,
     "EvaluationTable.gate: got an array of dtype int64; allowed: a bool array (D, K)"),
], ids=["cumulative", "not real", "gate"])
def test_each_table_refusal_in_full(changes, error, message):
    with pytest.raises(error, match=full(message)):
        EvaluationTable(**{**TABLE, **changes})


def test_a_tables_waves_are_stored_as_tuples():
    table = EvaluationTable(**TABLE, waves=[[0], [0, 1]])
    assert table.waves == ((0,), (0, 1))


@pytest.mark.parametrize(("cards", "strata", "error", "message"), [
    (("a", "a"), ("all",), ValueError,
     "Achievements.cards: got ['a', 'a']; allowed: unique rate-card names (repeated: a)"),
    (("a",), ("",), TypeError, "Achievements.strata[0]: got ''; allowed: a non-empty string"),
], ids=["repeated card", "empty stratum"])
def test_each_achievements_refusal_in_full(cards, strata, error, message):
    with pytest.raises(error, match=full(message)):
        Achievements(cards, strata, [1.0] * len(strata),
                     np.zeros((1, len(cards), len(strata), 2)))


def test_achievements_counted_in_whole_numbers_are_stored_as_floats():
    counts = np.array([[[[3, 4]]]])
    got = Achievements(("a",), ("all",), [10.0], counts)
    assert got.counts.dtype == np.float64 and got.counts.tolist() == [[[[3.0, 4.0]]]]


def test_a_payment_results_dataset_names_its_dimensions_and_variables():
    total = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 5.0]])
    result = PaymentResult(total, total[:, None, :], total[:, None, :],
                           np.array([[0.0], [7.0]]), ("m",), "EUR", "drop")
    ds = result.to_dataset()
    assert dict(ds.sizes) == {"draw": 2, "metric": 1, "period": 3}
    assert ds["draw"].values.tolist() == [0, 1] and ds["period"].values.tolist() == [0, 1, 2]
    assert ds["outcome_payment"].values.tolist() == total.tolist()
    assert ds["beyond_horizon"].dims == ("draw", "metric")
    assert ds["beyond_horizon"].values.tolist() == [[0.0], [7.0]]
    assert ds["beyond_horizon"].attrs == {
        "units": "EUR", "description": "amounts due after the last period (overflow=drop)"}
    assert ds.attrs == {"currency": "EUR", "overflow": "drop"}
