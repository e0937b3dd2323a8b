"""Payers by entry wave (money/payer_waves.py) at their boundaries: shares given per metric
(each metric's sum checked on its own), the tolerance on a sum of shares exactly and just
beyond, the last wave that exists and the first that does not, each pooled key, payment dates
and dropped payments of ``payments_by_wave`` by hand."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sibsim.money import Contract, MetricTerms, PricePerUnit
from sibsim.money.evaluation import Evaluation
from sibsim.money.payer_waves import by_wave, check_payer_waves, payments_by_wave
from sibsim.money.payers import SHARE_TOLERANCE, Payer
from sibsim.money.results import EvaluationTable


def _full(message: str) -> str:
    return "^" + re.escape(message) + "$"


# --------------------------------------------------------------------------- shares per metric
def test_shares_given_per_metric_are_summed_metric_by_metric():
    """Wave 0: 'jobs' paid all by the city, 'homes' 40/60 by the city and a trust; wave 1: the
    state pays both. Each metric's shares sum to 1 on each wave: accepted."""
    payers = [Payer("city", {"jobs": 1.0, "homes": 0.4}, waves=[0]),
              Payer("trust", {"homes": 0.6}, waves=[0]),
              Payer("state", 1.0, waves=[1])]
    check_payer_waves(payers, ["jobs", "homes"], n_waves=2)


def test_a_metric_short_on_one_wave_is_named_with_its_payers():
    payers = [Payer("city", {"jobs": 1.0, "homes": 0.4}, waves=[0]),
              Payer("trust", {"homes": 0.5}, waves=[0]),
              Payer("state", 1.0, waves=[1])]
    with pytest.raises(ValueError, match=_full(
            "Deal.payers.shares[homes] for wave 0: got 0.9; allowed: shares of metric 'homes' "
            "summing to 1 over the payers covering wave 0 (city 0.4, trust 0.5)")):
        check_payer_waves(payers, ["jobs", "homes"], n_waves=2)
    # the first metric alone is fine: the sum of the second is what is refused
    check_payer_waves(payers, ["jobs"], n_waves=2)


def test_a_metric_no_payer_of_a_wave_pays_is_refused():
    payers = [Payer("city", {"jobs": 1.0}, waves=[0]), Payer("state", 1.0, waves=[1])]
    with pytest.raises(ValueError, match=_full(
            "Deal.payers.shares[homes] for wave 0: got 0.0; allowed: shares of metric 'homes' "
            "summing to 1 over the payers covering wave 0 (city 0)")):
        check_payer_waves(payers, ["jobs", "homes"], n_waves=2)


@pytest.mark.parametrize(("excess", "ok"), [
    (0.0, True), (0.5 * SHARE_TOLERANCE, True), (-0.5 * SHARE_TOLERANCE, True),
    (4 * SHARE_TOLERANCE, False), (-4 * SHARE_TOLERANCE, False),
])
def test_the_tolerance_on_a_sum_of_shares(excess, ok):
    payers = [Payer("a", 0.5, waves=[0]), Payer("b", 0.5 + excess, waves=[0]),
              Payer("c", 1.0, waves=[1])]
    if ok:
        check_payer_waves(payers, ["m"], n_waves=2)
    else:
        with pytest.raises(ValueError, match=re.escape("Deal.payers.shares[m] for wave 0: got")):
            check_payer_waves(payers, ["m"], n_waves=2)


# --------------------------------------------------------------------------- which waves
def test_the_last_wave_exists_and_the_next_does_not():
    check_payer_waves([Payer("a", 1.0, waves=[0, 1, 2])], ["m"], n_waves=3)
    with pytest.raises(ValueError, match=_full(
            "Deal.payers[1].waves: got 3; allowed: entry waves 0 to 2 of the cohort (0-based, "
            "one per element of [cohort] entry)")):
        check_payer_waves([Payer("a", 1.0, waves=[0, 1, 2]), Payer("b", 1.0, waves=[3])], ["m"],
                          n_waves=3)


def test_payers_of_every_wave_are_not_by_wave_and_are_not_checked():
    assert not by_wave([Payer("a", 1.0), Payer("b", 1.0)])
    assert by_wave([Payer("a", 1.0), Payer("b", 1.0, waves=[0])])
    # shares that would not add up by wave: not checked without waves (Payer checks them)
    check_payer_waves([Payer("a", 0.5), Payer("b", 0.5)], ["m"], n_waves=2,
                      evaluations=[Evaluation("m", pooled=True)], rate_cards=["training"])


@pytest.mark.parametrize("key", ["pooled", "to_date"])
def test_each_result_over_every_wave_is_refused_by_its_key(key):
    payers = [Payer("a", 1.0, waves=[0]), Payer("b", 1.0, waves=[1])]
    evs = [Evaluation("m", pooled=False),
           Evaluation("n", pooled=False, per_period=True, to_date=True) if key == "to_date"
           else Evaluation("n", pooled=True)]
    with pytest.raises(ValueError, match=_full(
            f"Deal.evaluations[1].{key}: got True; allowed: false when payers are given by "
            "entry wave (Payer.waves): such a result covers every wave at once, so its payment "
            "belongs to no one cohort")):
        check_payer_waves(payers, ["m", "n"], 2, evs)


def test_rate_cards_are_named_and_a_payer_of_every_wave_beside_them_passes():
    payers = [Payer("a", 1.0), Payer("b", 1.0, waves=[0])]
    with pytest.raises(ValueError, match=_full(
            "Deal.payers[1].waves: got [0]; allowed: none when the contract has rate cards "
            "(training, housing): achievements are not counted by entry wave")):
        check_payer_waves(payers, ["m"], 1, rate_cards=["training", "housing"])


def test_years_with_several_periods_read_each_years_presence():
    """Two periods a year: the city pays wave 0 in 2020, the county in 2021."""
    years = np.array([2020, 2020, 2021, 2021])
    payers = [Payer("city", 1.0, waves=[0], last_year=2020),
              Payer("county", 1.0, waves=[0], first_year=2021)]
    here = np.array([[1, 1, 0, 0], [0, 0, 1, 1]], dtype=bool)
    check_payer_waves(payers, ["m"], 1, presence=here, years=years)
    with pytest.raises(ValueError, match=_full(
            "Deal.payers.shares[m] for wave 0 in 2021: got 0.0; allowed: shares of metric 'm' "
            "summing to 1 over the payers covering wave 0 (none)")):
        check_payer_waves(payers[:1], ["m"], 1, presence=here[:1], years=years)
    # without the years, presence alone is not read: every payer counts
    with pytest.raises(ValueError, match=re.escape("for wave 0: got 2.0")):
        check_payer_waves(payers, ["m"], 1, presence=here)


# --------------------------------------------------------------------------- payments by wave
def _table(periods, waves, units):
    k = len(periods)
    return EvaluationTable(("m",) * k, tuple(periods), (False,) * k, (5,) * k,
                           measured_effect=[[0.2] * k], units=[list(units)],
                           waves=tuple((w,) for w in waves))


def test_payments_by_wave_on_payment_dates_by_hand():
    """Payment dates 2 and 4: results known in 0, 2, 3 are paid in 2, 2, 4."""
    c = Contract((MetricTerms("m", PricePerUnit(10.0)),), payment_periods=(2, 4))
    t = _table((0, 2, 3), (0, 1, 0), (1.0, 2.0, 3.0))
    got = payments_by_wave(c.outcome_payments(t, 5), t, 0, 2, c.payment_periods)
    assert got.shape == (1, 1, 2, 5)
    assert got[0, 0].tolist() == [[0.0, 0.0, 10.0, 0.0, 30.0], [0.0, 0.0, 20.0, 0.0, 0.0]]


def test_payments_by_wave_leave_out_a_dropped_payment():
    """Lag 2, overflow 'drop', horizon 3: the result known in 0 is paid in 2, the one known in
    1 would be paid after the horizon and is dropped."""
    c = Contract((MetricTerms("m", PricePerUnit(10.0)),), lag=2, overflow="drop")
    t = _table((0, 1), (1, 0), (1.0, 2.0))
    pay = c.outcome_payments(t, 3)
    got = payments_by_wave(pay, t, 2, 2)
    assert got[0, 0].tolist() == [[0.0, 0.0, 0.0], [0.0, 0.0, 10.0]]
    np.testing.assert_array_equal(got.sum(2), pay.by_metric)


def test_payments_by_wave_of_two_metrics_go_to_their_own_rows():
    c = Contract((MetricTerms("a", PricePerUnit(10.0)), MetricTerms("b", PricePerUnit(1.0))))
    t = EvaluationTable(("b", "a"), (0, 1), (False, False), (5, 5),
                        measured_effect=[[0.2, 0.2]], units=[[7.0, 3.0]], waves=((1,), (0,)))
    got = payments_by_wave(c.outcome_payments(t, 2), t, 0, 2)
    assert got[0, 0].tolist() == [[0.0, 30.0], [0.0, 0.0]]   # metric a: wave 0, period 1
    assert got[0, 1].tolist() == [[0.0, 0.0], [7.0, 0.0]]    # metric b: wave 1, period 0


def test_a_short_total_is_shown_to_12_decimals():
    """The total in the message is rounded to 12 decimals, so that float noise does not show
    and the figure still says how far from 1 it is: two thirds, 0.666666666667."""
    payers = [Payer("city", {"m": 1 / 3}, waves=[0]), Payer("trust", {"m": 1 / 3}, waves=[0])]
    with pytest.raises(ValueError, match=_full(
            "Deal.payers.shares[m] for wave 0: got 0.666666666667; allowed: shares of metric "
            "'m' summing to 1 over the payers covering wave 0 (city 0.333333, trust 0.333333)")):
        check_payer_waves(payers, ["m"], n_waves=1)
