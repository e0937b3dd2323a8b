"""Tests of the rate cards (sibsim.money.ratecard): prices per achievement of the treated
participants, by stratum and on a schedule, with per-person caps, paid with the contract's
outcome payments under its caps and lag; a Koto-like deal on the expected engine."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from sibsim.money import (
    Achievements,
    Caps,
    Contract,
    EvaluationTable,
    MetricTerms,
    PricePerUnit,
    RateCard,
    SavingsShare,
)
from sibsim.money.sib import money_flows
from sibsim.scenario_file import ScenarioFileError, parse_scenario
from sibsim.spec.toml import KeyProblem, Section

STRATA = ("under_25", "25_plus")


def outcome_dataset(events, occupancy=None, sizes=((4.0, 6.0),), states=("training", "employed")):
    """A hand-made outcome dataset: ``events`` (D, W, S, P) of the treated arm (the comparison
    arm gets other numbers, which must not be counted), sizes (W, S) per arm."""
    events = np.asarray(events, dtype=float)
    d, w, s, p = events.shape
    both = np.stack([events, events + 100.0], axis=1)  # arm: treatment, comparison
    data = {
        "events": (("draw", "arm", "wave", "stratum", "period"), both),
        "size": (("arm", "wave", "stratum"), np.stack([np.asarray(sizes, float)] * 2)),
    }
    coords = {"draw": np.arange(d), "arm": ["treatment", "comparison"], "wave": np.arange(w),
              "stratum": list(STRATA[:s]), "period": np.arange(p)}
    if occupancy is not None:
        occ = np.asarray(occupancy, dtype=float)
        data["occupancy"] = (("draw", "arm", "wave", "stratum", "period", "state"),
                             np.stack([occ, occ + 100.0], axis=1))
        coords["state"] = list(states)
    return xr.Dataset(data, coords=coords)


def one_trigger(d: int = 1, effect: float = 0.0, units: float = 0.0, period: int = 0):
    return EvaluationTable(("m",), (period,), (False,), (10,),
                           measured_effect=np.full((d, 1), effect), units=np.full((d, 1), units))


# --------------------------------------------------------------------------------------
# counting, prices, per-person caps: by hand
# --------------------------------------------------------------------------------------


def test_counts_are_the_treated_arms_events_summed_over_waves():
    # 1 draw, 2 waves, 2 strata, 3 periods
    events = [[[[1, 2, 0], [3, 0, 1]], [[0, 5, 1], [0, 2, 2]]]]
    card = RateCard("done", price=1.0)
    np.testing.assert_array_equal(card.counts(outcome_dataset(events, sizes=((4, 6), (4, 6)))),
                                  [[[1, 7, 1], [3, 2, 3]]])


def test_occupancy_counts_person_periods_in_the_state():
    events = np.zeros((1, 1, 2, 3))
    occ = np.zeros((1, 1, 2, 3, 2))
    occ[0, 0, :, :, 1] = [[0, 1, 3], [2, 2, 2]]  # employed
    card = RateCard("months_employed", price=10.0, measure="occupancy", state="employed")
    np.testing.assert_array_equal(card.counts(outcome_dataset(events, occ)),
                                  [[[0, 1, 3], [2, 2, 2]]])


def test_prices_by_stratum_and_on_a_schedule():
    card = RateCard("job_start", price=((0, 1_000.0), (2, 800.0)),
                    price_by_stratum={"under_25": ((0, 1_500.0), (3, 0.0))})
    np.testing.assert_array_equal(card.price_table(STRATA, 5),
                                  [[1500, 1500, 1500, 0, 0], [1000, 1000, 800, 800, 800]])
    counts = np.array([[[1, 1, 1, 1, 0], [2, 0, 1, 0, 5]]], dtype=float)
    np.testing.assert_array_equal(card.amounts(counts, STRATA, np.array([4.0, 6.0])),
                                  [[1500 + 2000, 1500, 1500 + 800, 0, 4000]])


def test_the_per_person_cap_stops_each_stratums_cumulative_amount():
    # 4 and 6 participants, at most 2,500 each: 10,000 and 15,000 in all
    card = RateCard("done", price=1_000.0, per_person_cap=2_500.0)
    counts = np.array([[[6, 3, 2], [5, 5, 5]]], dtype=float)
    # stratum 0: 6,000, 3,000 (9,000), then 1,000 of 2,000; stratum 1: 5,000, 5,000, 5,000
    np.testing.assert_array_equal(card.amounts(counts, STRATA, np.array([4.0, 6.0])),
                                  [[11_000, 8_000, 6_000]])
    # the contract's per-person cap applies too; the smaller wins: 4,000 and 6,000 in all
    np.testing.assert_array_equal(card.amounts(counts, STRATA, np.array([4.0, 6.0]),
                                               per_person=1_000.0),
                                  [[4_000 + 5_000, 1_000, 0]])


def test_achievements_of_a_contract():
    events = [[[[1, 2, 0], [3, 0, 1]]]]
    contract = Contract((MetricTerms("m", PricePerUnit(1.0)),),
                        rate_cards=(RateCard("a", price=1.0), RateCard("b", price=2.0)))
    got = contract.achievements(outcome_dataset(events))
    assert got.cards == ("a", "b") and got.strata == STRATA
    np.testing.assert_array_equal(got.participants, [4.0, 6.0])
    assert got.counts.shape == (1, 2, 2, 3)
    np.testing.assert_array_equal(got.counts[0, 1], [[1, 2, 0], [3, 0, 1]])
    assert Contract((MetricTerms("m", PricePerUnit(1.0)),)).achievements(
        outcome_dataset(events)) is None


# --------------------------------------------------------------------------------------
# with the contract: lag, overflow and caps shared with the triggers
# --------------------------------------------------------------------------------------


def achievements(counts, participants=(4.0, 6.0), cards=("done",)):
    counts = np.asarray(counts, dtype=float)
    return Achievements(cards, STRATA[: counts.shape[2]], participants, counts)


def test_rate_card_payments_join_the_outcome_payments_with_the_lag():
    card = RateCard("done", price=100.0)
    contract = Contract((MetricTerms("m", PricePerUnit(10.0)),), rate_cards=(card,), lag=1)
    counts = [[[[1, 2, 3], [0, 0, 1]]]]  # (D, R, S, P)
    res = contract.outcome_payments(one_trigger(units=5.0), 3, achievements(counts))
    assert res.metrics == ("m", "done")
    np.testing.assert_array_equal(res.by_metric[0, 0], [0, 50, 0])
    # period 2's achievements (400) are due in period 3: paid in the last period
    np.testing.assert_array_equal(res.by_metric[0, 1], [0, 100, 200 + 400])
    np.testing.assert_array_equal(res.beyond_horizon, [[0, 400]])
    np.testing.assert_array_equal(res.total, res.by_metric.sum(axis=1))
    assert res.by_trigger.shape == (1, 1)
    dropped = Contract((MetricTerms("m", PricePerUnit(10.0)),), rate_cards=(card,), lag=1,
                       overflow="drop").outcome_payments(one_trigger(units=5.0), 3,
                                                         achievements(counts))
    np.testing.assert_array_equal(dropped.by_metric[0, 1], [0, 100, 200])


def test_the_total_cap_takes_the_trigger_first_then_the_rate_card_in_a_period():
    contract = Contract((MetricTerms("m", PricePerUnit(10.0)),),
                        rate_cards=(RateCard("done", price=100.0),), caps=Caps(total=120.0))
    res = contract.outcome_payments(one_trigger(units=5.0, period=1), 3,
                                    achievements([[[[0, 1, 1]]]], participants=(4.0,)))
    # period 1: trigger 50 then the rate card 70 of 100; period 2: nothing left
    np.testing.assert_array_equal(res.by_metric[0], [[0, 50, 0], [0, 70, 0]])


def test_per_period_cap_and_the_rate_cards_own_cap():
    contract = Contract((MetricTerms("m", PricePerUnit(10.0)),),
                        rate_cards=(RateCard("done", price=100.0, cap=250.0),),
                        caps=Caps(per_period=(1e9, 150.0, 1e9, 1e9)))
    res = contract.outcome_payments(one_trigger(), 4,
                                    achievements([[[[1, 2, 1, 1]]]], participants=(4.0,)))
    # period 1: 200 cut to 150 (forfeited); the card's cap 250 is reached in period 2
    np.testing.assert_array_equal(res.by_metric[0, 1], [100, 150, 0, 0])


def test_outcome_payments_refuse_missing_or_mismatched_achievements():
    contract = Contract((MetricTerms("m", PricePerUnit(1.0)),),
                        rate_cards=(RateCard("done", price=1.0),))
    with pytest.raises(ValueError, match=r"Contract.outcome_payments.achievements: got "
                                         r"'NoneType'; allowed: the Achievements"):
        contract.outcome_payments(one_trigger(), 3)
    with pytest.raises(ValueError, match=r"achievements.cards: got \('other',\)"):
        contract.outcome_payments(one_trigger(), 3,
                                  achievements([[[[1, 2, 3]]]], (4.0,), cards=("other",)))
    with pytest.raises(ValueError, match=r"achievements.counts: got \(1, 1, 1, 2\); allowed: "
                                         r"D=1 draws and P=3 periods"):
        contract.outcome_payments(one_trigger(), 3, achievements([[[[1, 2]]]], (4.0,)))
    plain = Contract((MetricTerms("m", PricePerUnit(1.0)),))
    with pytest.raises(ValueError, match="none: the contract has no rate cards"):
        plain.outcome_payments(one_trigger(), 3, achievements([[[[1, 2, 3]]]], (4.0,)))


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (lambda: Achievements(("a",), ("s",), [1.0], [[[[-1.0]]]]), ["negative"]),
        (lambda: Achievements(("a",), ("s",), [1.0], [[[[np.nan]]]]), ["non-finite"]),
        (lambda: Achievements(("a",), ("s", "t"), [1.0], [[[[1.0]]]]),
         ["Achievements.participants", "per stratum (2)"]),
        (lambda: Achievements(("a",), ("s",), [1.0], [[[1.0]]]), ["shape (D, R=1, S=1, P)"]),
        (lambda: Achievements(("a", "a"), ("s",), [1.0], [[[[1.0]], [[1.0]]]]),
         ["Achievements.cards", "repeated: a"]),
    ],
)
def test_bad_achievements_are_refused(build, words):
    with pytest.raises(ValueError) as info:
        build()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


# --------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------

prices = st.floats(0.0, 5e3)


@st.composite
def schedules(draw):
    n = draw(st.integers(1, 3))
    later = draw(st.lists(st.integers(1, 6), min_size=n - 1, max_size=n - 1, unique=True))
    starts = [0, *sorted(later)]
    return tuple((p, draw(prices)) for p in starts)


@st.composite
def rate_cases(draw):
    s = draw(st.integers(1, 2))
    p = draw(st.integers(1, 6))
    d = draw(st.integers(1, 3))
    card = RateCard(
        "done",
        price=draw(st.one_of(prices, schedules())),
        price_by_stratum=draw(st.one_of(st.just({}), st.fixed_dictionaries(
            {"under_25": st.one_of(prices, schedules())}))),
        # caps are positive (0 is refused: leave a cap out for no cap)
        per_person_cap=draw(st.one_of(st.none(), st.floats(0.0, 1e4, exclude_min=True))),
        cap=draw(st.one_of(st.none(), st.floats(0.0, 1e5, exclude_min=True))),
    )
    counts = np.array(draw(st.lists(st.floats(0.0, 50.0), min_size=d * s * p,
                                    max_size=d * s * p))).reshape(d, s, p)
    more = np.array(draw(st.lists(st.floats(0.0, 20.0), min_size=d * s * p,
                                  max_size=d * s * p))).reshape(d, s, p)
    participants = np.array(draw(st.lists(st.integers(0, 40), min_size=s, max_size=s)), float)
    contract_pp = draw(st.one_of(st.none(), st.floats(0.0, 1e4, exclude_min=True)))
    return card, counts, more, participants, contract_pp


def person_caps(card, contract_pp):
    return min(x for x in (card.per_person_cap, contract_pp, np.inf) if x is not None)


@settings(max_examples=150, deadline=None)
@given(rate_cases())
def test_rate_card_amounts_are_non_negative_and_within_the_per_person_caps(case):
    card, counts, _, participants, contract_pp = case
    strata = STRATA[: counts.shape[1]]
    amounts = card.amounts(counts, strata, participants, contract_pp)
    assert amounts.shape == (counts.shape[0], counts.shape[2])
    assert np.all(amounts >= 0.0)
    cap = person_caps(card, contract_pp)
    if cap < np.inf:
        assert np.all(amounts.sum(axis=1) <= cap * participants.sum() * (1 + 1e-12) + 1e-6)
        # per stratum too: one stratum at a time
        for s in range(len(strata)):
            alone = np.zeros_like(counts)
            alone[:, s] = counts[:, s]
            got = card.amounts(alone, strata, participants, contract_pp).sum(axis=1)
            assert np.all(got <= cap * participants[s] * (1 + 1e-12) + 1e-6)
    else:
        # no cap at all: exactly the counts times their prices
        table = card.price_table(strata, counts.shape[2])
        np.testing.assert_allclose(amounts, (counts * table[None]).sum(axis=1))


@settings(max_examples=150, deadline=None)
@given(rate_cases())
def test_rate_card_payments_never_decrease_with_more_achievements(case):
    card, counts, more, participants, contract_pp = case
    strata = STRATA[: counts.shape[1]]
    base = card.amounts(counts, strata, participants, contract_pp).sum(axis=1)
    up = card.amounts(counts + more, strata, participants, contract_pp).sum(axis=1)
    assert np.all(up >= base - 1e-6)
    # through the contract, with its caps and lag
    contract = Contract((MetricTerms("m", PricePerUnit(1.0)),), rate_cards=(card,),
                        caps=Caps(per_person=contract_pp, total=5e4), lag=1)
    d, _, p = counts.shape
    table = one_trigger(d=d)
    paid = [contract.outcome_payments(table, p, Achievements(("done",), strata, participants,
                                                             c[:, None])).total.sum(axis=1)
            for c in (counts, counts + more)]
    assert np.all(paid[1] >= paid[0] - 1e-6)
    assert np.all(paid[1] <= 5e4 + 1e-6)
    if card.cap is not None:
        assert np.all(paid[1] <= card.cap + 1e-6)


# --------------------------------------------------------------------------------------
# validation and TOML
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"price": -1.0}, ["RateCard.price: got -1.0"]),
        ({"price": 1.0, "measure": "entries"}, ["RateCard.measure: got 'entries'", "'events'"]),
        ({"price": 1.0, "measure": "occupancy"}, ["RateCard.state: got None"]),
        ({"price": 1.0, "state": "employed"}, ["RateCard.state: got 'employed'",
                                               "measure='occupancy'"]),
        ({"price": ((1, 5.0),)}, ["RateCard.price[0].from_period: got 1", "0 (the schedule"]),
        ({"price": ((0, 5.0), (4, 1.0), (4, 2.0))}, ["RateCard.price[2].from_period: got 4",
                                                     "strictly increasing"]),
        ({"price": ((0, 5.0, 1.0),)}, ["RateCard.price[0]", "(from_period, price) pair"]),
        ({"price": ((0.5, 5.0),)}, ["RateCard.price[0].from_period"]),
        ({"price": "1500"}, ["RateCard.price: got '1500'"]),
        ({"price": 1.0, "price_by_stratum": {"young": -3.0}},
         ["RateCard.price_by_stratum[young]: got -3.0"]),
        ({"price": 1.0, "price_by_stratum": 3.0}, ["RateCard.price_by_stratum: got 3.0"]),
        ({"price": 1.0, "per_person_cap": -1.0}, ["RateCard.per_person_cap: got -1.0"]),
    ],
    ids=["negative-price", "measure", "no-state", "state-with-events", "schedule-start",
         "schedule-order", "schedule-triple", "schedule-float-period", "price-string",
         "stratum-price", "by-stratum-not-mapping", "negative-cap"],
)
def test_bad_rate_cards_name_field_value_and_allowed(kwargs, words):
    with pytest.raises((ValueError, TypeError)) as info:
        RateCard("done", **kwargs)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_rate_card_names_are_unique_and_not_metrics():
    terms = (MetricTerms("employment", PricePerUnit(1.0)),)
    with pytest.raises(ValueError, match=r"Contract.rate_cards: .*repeated: employment"):
        Contract(terms, rate_cards=(RateCard("employment", price=1.0),))
    with pytest.raises(ValueError, match=r"repeated: done"):
        Contract(terms, rate_cards=(RateCard("done", price=1.0), RateCard("done", price=2.0)))


CONTRACT_TOML = """
[contract]
lag = 1

[[contract.terms]]
metric = "employment"
rule = {kind = "savings_share", tiers = [[0.5]]}

[[contract.rate_cards]]
name = "training_completed"
price = 1_500

[[contract.rate_cards]]
name = "months_employed"
measure = "occupancy"
state = "employed"
price = [[0, 300], [8, 200]]
price_by_stratum = {under_25 = 400, 25_plus = [[0, 300], [4, 250]]}
per_person_cap = 3_000
cap = 500_000
"""


def read_contract(text: str) -> Contract:
    return Contract.from_toml(Section("contract", tomllib.loads(text)["contract"]),
                              currency="EUR")


def test_rate_cards_read_from_toml_equal_the_ones_built_in_python():
    expected = Contract(
        (MetricTerms("employment", SavingsShare(((0.5, None),))),),
        lag=1,
        rate_cards=(
            RateCard("training_completed", price=1_500.0),
            RateCard("months_employed", price=((0, 300.0), (8, 200.0)), measure="occupancy",
                     state="employed",
                     price_by_stratum={"under_25": 400.0, "25_plus": ((0, 300.0), (4, 250.0))},
                     per_person_cap=3_000.0, cap=500_000.0),
        ),
    )
    contract = read_contract(CONTRACT_TOML)
    assert contract == expected
    assert contract.rate_cards[1].price_by_stratum == (("under_25", ((0, 400.0),)),
                                                       ("25_plus", ((0, 300.0), (4, 250.0))))
    assert contract.payment_labels == ("employment", "training_completed", "months_employed")
    assert read_contract(CONTRACT_TOML.split("[[contract.rate_cards]]")[0]).rate_cards == ()


@pytest.mark.parametrize(
    ("card", "key", "words"),
    [
        ('name = "x"', "contract.rate_cards[0].price", ["required"]),
        ('price = 1', "contract.rate_cards[0].name", ["required"]),
        ('name = "x"\nprice = 1\nprice_per_person = 3', "contract.rate_cards[0].price_per_person",
         ["unknown key", "per_person_cap"]),
        ('name = "x"\nprice = [[2, 10]]', "contract.rate_cards[0]",
         ["RateCard.price[0].from_period: got 2"]),
        ('name = "x"\nprice = 1\nprice_by_stratum = 4', "contract.rate_cards[0].price_by_stratum",
         ["expected a table"]),
        ('name = "x"\nprice = 1\nmeasure = "occupancy"', "contract.rate_cards[0]",
         ["RateCard.state: got None"]),
    ],
    ids=["no-price", "no-name", "misspelt", "schedule", "by-stratum", "no-state"],
)
def test_bad_rate_card_tables_name_the_key(card, key, words):
    text = ('[contract]\n[[contract.terms]]\nmetric = "m"\n'
            'rule = {kind = "price_per_unit", price = 1}\n[[contract.rate_cards]]\n' + card)
    with pytest.raises(KeyProblem) as info:
        read_contract(text)
    assert info.value.key == key
    for word in words:
        assert word in info.value.problem, (word, info.value.problem)


def test_rate_cards_not_a_list_of_tables():
    with pytest.raises(KeyProblem) as info:
        read_contract('[contract]\nrate_cards = 3\n[[contract.terms]]\nmetric = "m"\n'
                      'rule = {kind = "price_per_unit", price = 1}\n')
    assert info.value.key == "contract.rate_cards"


# --------------------------------------------------------------------------------------
# a Koto-like deal: EUR 1,500 per completed integration training, plus 50% of the taxes and
# benefits of the extra employment (a savings share on another metric)
# --------------------------------------------------------------------------------------

KOTO = """
name = "koto-like"
description = "Koto-like: a fee per completed integration training and half the taxes and benefits"
horizon = 12
period = "quarter"
currency = "EUR"

[cohort]
entry = [100, 100]

[[cohort.strata]]
name = "under_25"
share = 0.4

[[cohort.strata]]
name = "25_plus"
share = 0.6

[comparison]
ratio = 1

[outcome]
kind = "markov"
states = ["training", "jobseeking", "employed"]
initial = "training"
# the milestone: leaving training (each person at most once: nobody goes back)
events = [["training", "jobseeking"], ["training", "employed"]]
transitions = [
  [0.5, 0.4, 0.1],
  [0.0, 0.8, 0.2],
  [0.0, 0.1, 0.9],
]

[effect]
measure = "hr"
value = 1.5
targets = [["jobseeking", "employed"]]

[[evaluation]]
metric = "employment"
outcome = "occupancy"
state = "employed"
direction = "increase"
window = 8
per_wave = false
value_per_unit = 3_000          # taxes and benefits per person-quarter employed

[contract]
lag = 1

[[contract.terms]]
metric = "employment"
rule = {kind = "savings_share", tiers = [[0.5]]}

[[contract.rate_cards]]
name = "training_completed"
price = 1_500
price_by_stratum = {under_25 = 2_000}
per_person_cap = 2_000

[[capital.tranches]]
name = "investors"
commitment = 1_000_000

[service_costs]
per_participant = 1_000
"""


def koto(text: str = KOTO):
    return parse_scenario(tomllib.loads(text), "koto.toml")


def test_the_koto_like_deal_pays_its_rate_card_and_its_savings_share():
    deal = koto()
    ds = sibsim.simulate(deal.scenario, draws=3, seed=7, engine="expected", progress=False)
    money = money_flows(deal, ds)
    assert list(money["metric"].values) == ["employment", "training_completed"]
    assert list(money["rate_card"].values) == ["training_completed"]
    by_metric = money["payments_by_metric"].values
    # training completions by hand: a wave of n entering in period e completes
    # n x 0.5 x 0.5**(t - e) in period t >= e (half of those still in training leave each quarter)
    t = np.arange(12)
    done = {}
    for stratum, share in (("under_25", 0.4), ("25_plus", 0.6)):
        done[stratum] = sum(100 * share * 0.5 * 0.5 ** (t - e) * (t >= e) for e in (0, 1))
    np.testing.assert_allclose(money["achievements"].values[:, 0],
                               np.broadcast_to(done["under_25"] + done["25_plus"], (3, 12)))
    due = 2_000 * done["under_25"] + 1_500 * done["25_plus"]
    expected = np.concatenate(([0.0], due[:10], [due[10] + due[11]]))  # lag 1, last overflows
    np.testing.assert_allclose(by_metric[:, 1], np.broadcast_to(expected, (3, 12)), rtol=1e-12)
    # the savings share: half of 3,000 per extra person-quarter employed over the 8-quarter
    # window of each wave, known in period 8 (the second wave's window ends in period 8),
    # paid in period 9
    occ = ds["occupancy"].sel(state="employed").sum("stratum").values  # (D, arm, W, P)
    window = (t[None, :] >= np.array([0, 1])[:, None]) & (t[None, :] < np.array([8, 9])[:, None])
    extra = ((occ[:, 0] - occ[:, 1]) * window[None]).sum(axis=(1, 2))
    assert np.all(extra > 0)
    np.testing.assert_allclose(by_metric[:, 0, 9], 0.5 * 3_000 * extra, rtol=1e-9)
    assert np.all(np.delete(by_metric[:, 0], 9, axis=1) == 0.0)
    np.testing.assert_allclose(money["outcome_payments"].values, by_metric.sum(axis=1))
    # the commissioner pays them all: money is conserved
    np.testing.assert_allclose(money["flow"].sum("party").values, 0.0, atol=1e-6)


def test_the_koto_like_per_person_cap_binds_on_a_schedule():
    # EUR 5,000 per completion in the first two quarters, at most EUR 1,000 per participant:
    # the under-25s (80 people) are paid EUR 80,000 in all, the others (120) EUR 120,000
    text = KOTO.replace('price = 1_500\nprice_by_stratum = {under_25 = 2_000}\n'
                        'per_person_cap = 2_000',
                        'price = [[0, 5_000], [2, 1_000]]\nper_person_cap = 1_000')
    deal = koto(text)
    ds = sibsim.simulate(deal.scenario, draws=2, seed=7, engine="expected", progress=False)
    paid = money_flows(deal, ds)["payments_by_metric"].sel(metric="training_completed").values
    np.testing.assert_allclose(paid.sum(axis=1), 200_000.0)
    # 5,000 x (40 + 60) completions in quarter 0 reaches the caps at once
    np.testing.assert_allclose(paid[:, 1], 200_000.0)


def test_a_rate_card_naming_an_unknown_stratum_or_state_is_refused_at_load():
    with pytest.raises(ScenarioFileError, match=r"RateCard\[training_completed\]"
                                                r"\.price_by_stratum: got 'under_26'"):
        koto(KOTO.replace("{under_25 = 2_000}", "{under_26 = 2_000}"))
    with pytest.raises(ScenarioFileError, match=r"RateCard\[training_completed\].state: "
                                                r"got 'employd'"):
        koto(KOTO.replace('name = "training_completed"\n',
                          'name = "training_completed"\nmeasure = "occupancy"\n'
                          'state = "employd"\n'))


# --------------------------------------------------------------------------------------
# the tunnel-states example of docs/money.md: sustained employment for three quarters
# --------------------------------------------------------------------------------------


def test_the_tunnel_states_example_of_the_docs_pays_each_sustained_job_once():
    text = (Path(__file__).resolve().parents[1] / "docs" / "money.md").read_text()
    block = re.search(r"```toml\n(# tunnel-states example\n.*?)```", text, re.S)
    assert block is not None
    deal = parse_scenario(tomllib.loads(block.group(1)), "sustained.toml")
    ds = sibsim.simulate(deal.scenario, draws=2, seed=3, engine="expected", progress=False)
    money = money_flows(deal, ds)
    # the treated arm by hand: job starts at 20% x 1.3 a quarter, then the tunnel
    start = 1 - (1 - 0.2) ** 1.3  # a hazard ratio on the job-start probability
    j, e1, e2 = 100.0, 0.0, 0.0
    sustained = []
    for _ in range(12):
        sustained.append(0.8 * e2)
        j, e1, e2 = (j * (1 - start) + 0.3 * e1 + 0.2 * e2, j * start, 0.7 * e1)
    sustained = np.array(sustained)
    np.testing.assert_allclose(money["achievements"].values[:, 0],
                               np.broadcast_to(sustained, (2, 12)), rtol=1e-9)
    paid = money["payments_by_metric"].sel(metric="sustained_employment").values
    expected = 4_000 * np.concatenate(([0.0], sustained[:10], [sustained[10:].sum()]))
    np.testing.assert_allclose(paid, np.broadcast_to(expected, (2, 12)), rtol=1e-9)
    assert np.all(paid.sum(axis=1) <= 4_000 * 100 + 1e-6)


def test_simulated_rate_card_payments_average_to_the_expected_engines():
    # the aggregate engine draws whole completions; their mean payment matches the expected
    # trace within Monte Carlo error (fixed parameters, so every draw has the same mean)
    deal = koto()
    draws = 400
    paid = {}
    for engine in ("aggregate", "expected"):
        ds = sibsim.simulate(deal.scenario, draws=draws, seed=11, engine=engine,
                             progress=False)
        money = money_flows(deal, ds)
        paid[engine] = money["payments_by_metric"].sel(metric="training_completed").values
    total = paid["aggregate"].sum(axis=1)
    assert np.all(total == np.round(total / 500.0) * 500.0)  # whole completions
    se = total.std(ddof=1) / np.sqrt(draws)
    assert se > 0
    assert abs(total.mean() - paid["expected"].sum(axis=1).mean()) < 4 * se


# --------------------------------------------------------------------------------------
# rate cards on a scenario with several outcome processes ([[outcome]]): `process` names the
# process counted
# --------------------------------------------------------------------------------------

TWO_PROCESSES = """
name = "two-processes"
horizon = 6
period = "quarter"
currency = "USD"

[cohort]
entry = [50, 50]

[comparison]
ratio = 1.0

[[outcome]]
kind = "markov"
name = "incarceration"
states = ["community", "custody"]
events = [["community", "custody"]]
transitions = [[0.9, 0.1], [0.3, 0.7]]
[outcome.effect]
measure = "hr"
value = 0.6
targets = [["community", "custody"]]

[[outcome]]
kind = "markov"
name = "work"
states = ["jobless", "employed"]
events = [["jobless", "employed"]]
transitions = [[0.8, 0.2], [0.0, 1.0]]
[outcome.effect]
measure = "hr"
value = 1.5
targets = [["jobless", "employed"]]

[[evaluation]]
metric = "custody"
process = "incarceration"
outcome = "occupancy"
state = "custody"
window = 4

[contract]
[[contract.terms]]
metric = "custody"
rule = {kind = "price_per_unit", price = 1_000}

[[contract.rate_cards]]
name = "job_starts"
process = "work"
price = 700

[[contract.rate_cards]]
name = "quarters_employed"
process = "work"
measure = "occupancy"
state = "employed"
price = 100

[[capital.tranches]]
name = "investors"
commitment = 1_000_000
"""


def test_rate_cards_count_the_process_they_name():
    deal = parse_scenario(tomllib.loads(TWO_PROCESSES), "two.toml")
    ds = sibsim.simulate(deal.scenario, draws=2, seed=5, engine="expected", progress=False)
    money = money_flows(deal, ds)
    paid = money["payments_by_metric"]
    # job starts by hand: a wave of 50 enters jobless and finds work at 1 - (1 - 0.2)**1.5 a
    # quarter (an absorbing job); 700 per start, paid in the period it happens (lag 0)
    p = 1 - (1 - 0.2) ** 1.5
    t = np.arange(6)
    starts = sum(50 * p * (1 - p) ** (t - e) * (t >= e) for e in (0, 1))
    np.testing.assert_allclose(paid.sel(metric="job_starts").values,
                               np.broadcast_to(700 * starts, (2, 6)), rtol=1e-9)
    # quarters employed: 100 per treated person-quarter in "employed" of the work process,
    # none of the other process's states
    employed = ds["occupancy"].sel(process="work", state="employed", arm="treatment")
    np.testing.assert_allclose(paid.sel(metric="quarters_employed").values,
                               100 * employed.sum(("wave", "stratum")).values, rtol=1e-12)
    # the comparison arm (no effect: starts at 0.2 a quarter) is not what is paid
    untreated = sum(50 * 0.2 * 0.8 ** (t - e) * (t >= e) for e in (0, 1))
    assert not np.allclose(paid.sel(metric="job_starts").values[0], 700 * untreated)


@pytest.mark.parametrize("change, words", [
    # several processes: the rate card must name one
    (('name = "job_starts"\nprocess = "work"\n', 'name = "job_starts"\n'),
     r"RateCard\[job_starts\]\.process: got None; allowed: one of 'incarceration', 'work' "
     r"\(the scenario has several outcome processes\)"),
    (('name = "job_starts"\nprocess = "work"\n', 'name = "job_starts"\nprocess = "wrok"\n'),
     r"RateCard\[job_starts\]\.process: got 'wrok'"),
    # a state of another process is refused
    (('state = "employed"\nprice = 100', 'state = "custody"\nprice = 100'),
     r"RateCard\[quarters_employed\]\.state: got 'custody'; allowed: one of 'jobless', "
     r"'employed'"),
])
def test_a_rate_card_on_several_processes_names_a_process_and_its_state(change, words):
    text = TWO_PROCESSES.replace(*change)
    assert text != TWO_PROCESSES
    with pytest.raises(ScenarioFileError, match=words):
        parse_scenario(tomllib.loads(text), "two.toml")


def test_the_roca_scenario_pays_its_job_readiness_rate_card_on_the_engagement_process():
    """massachusetts-roca: three processes; the job-readiness rate card counts the treated arm's
    quarters engaged (its own process), every quarter of the intensive phase, of the enrolled
    only (count = "engaged"). With everyone enrolled (engagement 1, the scenario before its
    cohort became the assigned) those are the treated arm's quarters engaged."""
    full = sibsim.load_scenario("massachusetts-roca")
    deal = full.with_scenario(effect=dataclasses.replace(full.scenario.effect, engagement=1.0))
    (card,) = deal.contract.rate_cards
    assert (card.process, card.measure, card.state) == ("engagement", "occupancy", "engaged")
    assert card.count == "engaged"
    ds = sibsim.simulate(deal.scenario, draws=2, seed=1, engine="expected", progress=False)
    engaged = ds["occupancy"].sel(process="engagement", state="engaged", arm="treatment")
    engaged = engaged.sum(("wave", "stratum")).values
    money = money_flows(deal, ds)
    np.testing.assert_allclose(money["payments_by_metric"].sel(metric=card.name).values,
                               card.price[0][1] * engaged, rtol=1e-9)
    # nobody is engaged after the 8 quarters of the intensive phase of the last wave
    assert engaged[:, 15 + 9:].max() == 0.0
    # the scenario itself: the enrolled's quarters engaged, fewer than everyone's
    ds = sibsim.simulate(full.scenario, draws=2, seed=1, engine="expected", progress=False)
    pick = {"process": "engagement", "state": "engaged", "arm": "treatment"}
    enrolled = ds["engaged_occupancy"].sel(pick).sum(("wave", "stratum")).values
    everyone = ds["occupancy"].sel(pick).sum(("wave", "stratum")).values
    paid = money_flows(full, ds)["payments_by_metric"].sel(metric=card.name).values
    np.testing.assert_allclose(paid, card.price[0][1] * enrolled, rtol=1e-9)
    assert (enrolled.sum(-1) < everyone.sum(-1)).all()


# --------------------------------------------------------------------------------------
# the contract's own messages and checks (mutation testing found them unguarded)
# --------------------------------------------------------------------------------------

TERMS = '[[contract.terms]]\nmetric = "m"\nrule = {kind = "price_per_unit", price = 1}\n'


def test_rate_cards_not_a_list_say_what_is_expected():
    with pytest.raises(KeyProblem) as info:
        read_contract("[contract]\nrate_cards = 3\n" + TERMS)
    assert info.value.problem == "expected [[contract.rate_cards]] tables"


@pytest.mark.parametrize("text", ["[contract]\nterms = []\n", "[contract]\nterms = 3\n"],
                         ids=["empty", "not-a-list"])
def test_a_contract_without_terms_says_what_is_expected(text):
    with pytest.raises(KeyProblem) as info:
        read_contract(text)
    assert info.value.key == "contract.terms"
    assert info.value.problem == "expected one or more [[contract.terms]]"


def test_a_bad_scenario_currency_is_reported_at_the_contract_table():
    with pytest.raises(KeyProblem) as info:
        Contract.from_toml(Section("contract", tomllib.loads("[contract]\n" + TERMS)["contract"]),
                           currency="")
    assert info.value.key == "contract"
    assert "Contract.currency" in info.value.problem


def test_per_period_caps_of_the_wrong_length_name_the_field():
    with pytest.raises(ValueError, match=r"^Caps\.per_period: got \(1\.0, 2\.0\); allowed: "
                                         r"a scalar or a sequence of length n_periods=3"):
        Caps(per_period=(1.0, 2.0)).per_period_array(3)


def test_the_contract_checks_its_rate_cards_against_the_outcomes_strata_and_states():
    by_stratum = RateCard("jobs", 5.0, price_by_stratum={"under_25": 7.0})
    occupancy = RateCard("held", 5.0, measure="occupancy", state="employed")
    terms = (MetricTerms("m", PricePerUnit(1.0)),)
    Contract(terms, rate_cards=(by_stratum, occupancy)).check_outcome(STRATA, ("employed",))
    with pytest.raises(ValueError, match=r"RateCard\[jobs\]\.price_by_stratum: got 'under_25'"):
        Contract(terms, rate_cards=(by_stratum,)).check_outcome(("25_plus",), ())
    with pytest.raises(ValueError, match=r"RateCard\[held\]\.state: got 'employed'"):
        Contract(terms, rate_cards=(occupancy,)).check_outcome(STRATA, ("training",))


def test_outcome_payments_refuse_a_table_that_is_not_one_or_names_unknown_metrics():
    contract = Contract((MetricTerms("m", PricePerUnit(1.0)),))
    with pytest.raises(TypeError, match=r"^Contract\.outcome_payments\.table: got "):
        contract.outcome_payments({"metric": ("m",)}, n_periods=2)
    other = EvaluationTable(("n",), (0,), (False,), (10,), measured_effect=[[0.1]],
                            units=[[1.0]])
    with pytest.raises(ValueError, match=r"^Contract\.outcome_payments\.table\.metric: got "
                                         r"\['n'\]; allowed: metrics with terms in the "
                                         r"contract: \['m'\]"):
        contract.outcome_payments(other, n_periods=2)


def test_counting_refuses_a_process_the_outcomes_do_not_have():
    import dataclasses

    deal = parse_scenario(tomllib.loads(TWO_PROCESSES), "two.toml")
    ds = sibsim.simulate(deal.scenario, draws=1, seed=5, engine="expected", progress=False)
    card = deal.contract.rate_cards[0]
    for process, shown in [("wrok", "'wrok'"), (None, "None")]:
        with pytest.raises(ValueError, match=rf"^RateCard\[{card.name}\]\.process: got {shown}; "
                                             r"allowed: one of 'incarceration', 'work' \(the "
                                             r"scenario has several outcome processes\)$"):
            dataclasses.replace(card, process=process).counts(ds)


def test_an_occupancy_rate_card_needs_an_outcome_with_states():
    card = RateCard("held", 5.0, measure="occupancy", state="employed")
    with pytest.raises(ValueError, match=r"^RateCard\[held\]\.measure: got 'occupancy'; allowed: "
                                         r"'events' for an outcome without states \(counts\)$"):
        card.check_outcome(STRATA, ())


def test_rate_card_price_tables_read_or_refused_with_their_messages():
    head = '[contract]\n' + TERMS + '[[contract.rate_cards]]\nname = "x"\n'
    card = read_contract(head + "price = [[0, 10], [2, 5]]").rate_cards[0]
    assert card.price == ((0, 10.0), (2, 5.0))
    with pytest.raises(KeyProblem) as info:
        read_contract(head + "price = [5]")
    assert info.value.problem == "RateCard.price[0]: got 5; allowed: a (from_period, price) pair"
    with pytest.raises(KeyProblem) as info:
        read_contract(head + "price = 1\nprice_by_stratum = 4")
    assert info.value.problem == "expected a table {stratum = price, ...}"


def test_a_rate_card_counting_a_stratum_the_scenario_lacks_is_refused_in_full():
    """A rate card that counts the achievements of some strata only names strata of the
    scenario: another is refused with a ValueError in the one message form, listing the
    scenario's strata."""
    card = RateCard("jobs", 5.0, stratum=("under_25", "over_90"))
    with pytest.raises(ValueError, match="^" + re.escape(
            "RateCard[jobs].stratum: got 'over_90'; allowed: strata of the scenario: "
            "'under_25', '25_plus'") + "$"):
        card.check_outcome(("under_25", "25_plus"), ())
    RateCard("jobs", 5.0, stratum="under_25").check_outcome(("under_25", "25_plus"), ())
