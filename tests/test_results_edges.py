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


def _handed_fields(**changes: object) -> dict:
    fields = dict(TABLE, measured_effect=np.array([[0.1, 0.2], [0.3, 0.4]]),
                  units=np.array([[1.0, 2.0], [3.0, 4.0]]),
                  avoided_cost=np.array([[5.0, 6.0], [7.0, 8.0]]),
                  gate=np.array([[True, False], [False, True]]), waves=((0,), (0, 1)))
    fields.update(changes)
    return fields


def test_a_handed_table_takes_its_arrays_read_only_without_a_copy() -> None:
    fields = _handed_fields()
    table = EvaluationTable._handed(**fields)
    made = EvaluationTable(**_handed_fields())  # the constructor's table of the same fields
    for name in ("measured_effect", "units", "avoided_cost", "gate"):
        assert getattr(table, name) is fields[name]  # taken, not copied
        assert not fields[name].flags.writeable
        assert np.array_equal(getattr(table, name), getattr(made, name))
    assert (table.metric, table.period, table.waves) == (made.metric, made.period, made.waves)


@pytest.mark.parametrize(("changes", "error"), [
    ({"units": np.array([[1.0, np.nan], [3.0, 4.0]])}, ValueError),
    ({"avoided_cost": np.array([[5.0, 6.0]])}, ValueError),
    ({"gate": np.ones((2, 2))}, TypeError),
    ({"period": (1,)}, ValueError),
])
def test_a_handed_table_is_checked_as_the_constructor_checks(changes: dict, error: type) -> None:
    with pytest.raises(error) as handed:
        EvaluationTable._handed(**_handed_fields(**changes))
    with pytest.raises(error) as made:
        EvaluationTable(**_handed_fields(**changes))
    assert str(handed.value) == str(made.value)


def test_a_handed_table_needs_every_field_and_no_other() -> None:
    with pytest.raises(KeyError):
        EvaluationTable._handed(**{k: v for k, v in _handed_fields().items() if k != "gate"})
    with pytest.raises(TypeError, match="unknown fields"):
        EvaluationTable._handed(**_handed_fields(extra=1))
