"""The money dataset of money/sib.py checked where no other test reads it: each variable's units
and description (a money evaluation's triggers in the currency, a mixed deal's per trigger);
the treated totals of cohorts started against a reference sum over any order of dims and any
dtype (hypothesis); what ``effect_free(..., same_outcomes=True)`` promises to keep between
calls (the cancellation's table), and that a deal's cancellation reaches its lifecycle."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import xarray as xr
from hypothesis import example, given, settings
from hypothesis import strategies as st

import sibsim
from sibsim.money.sib import (
    MONEY_SCHEMA,
    _treated_total,
    counterfactual,
    effect_free,
    money_arrays,
    money_flows,
)

DRAWS = 3

#: units of each money variable that is not in the deal's currency
NOT_CURRENCY = {"evaluation_parameter_value": "see evaluation_parameter_units",
                "participants_served": "people", "measured_effect": "fraction",
                "trigger_units": "outcome units", "gate_passed": "1",
                "avoided_events": "events", "avoided_events_by_process": "events",
                "achievements": "achievements", "stop_period": "period",
                "settlement_period": "period"}


@pytest.fixture(scope="module")
def tyollisyys():
    deal = sibsim.load_scenario("tyollisyys-sib")
    ds = sibsim.simulate(deal.scenario, draws=DRAWS, seed=2, progress=False)
    return deal, ds, counterfactual(deal, DRAWS, 2)


# --------------------------------------------------------------------------- units, descriptions
def test_every_money_variable_has_its_units_and_description():
    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal.scenario, draws=DRAWS, seed=1, progress=False)
    money = money_flows(deal, ds)
    assert deal.currency == "GBP"
    for name, var in money.data_vars.items():
        want = ("rr" if name == "true_effect" else NOT_CURRENCY.get(name, "GBP"))
        assert var.attrs["units"] == want, name
        assert var.attrs["description"] == MONEY_SCHEMA[name][1], name
    assert "trigger_unit" not in money.coords  # no money evaluation: no per-trigger unit


def test_a_money_evaluations_triggers_are_in_the_currency(tyollisyys):
    deal, ds, cf = tyollisyys
    money = money_flows(deal, ds, cf)
    assert money["trigger_units"].attrs["units"] == "EUR"
    assert money["trigger_unit"].values.tolist() == ["EUR"] * money.sizes["trigger"]
    assert money["trigger_units"].attrs["description"] == (
        "Outcome units attributed by each evaluation; money for a money evaluation "
        "(evaluation money = {...}): currency above the counterfactual.")
    assert money["measured_effect"].attrs["units"] == "fraction"


def test_a_deal_of_money_and_count_evaluations_labels_each_trigger(tyollisyys):
    deal, ds, cf = tyollisyys
    first, second = deal.evaluations
    mixed = deal.replace(evaluations=(first, dataclasses.replace(second, money=None)))
    money = money_flows(mixed, ds, cf)
    metrics = money["trigger_metric"].values.tolist()
    assert set(metrics) == {first.metric, second.metric}
    assert money["trigger_unit"].values.tolist() == [
        "EUR" if m == first.metric else "outcome units" for m in metrics]
    assert money["trigger_units"].attrs["units"] == "outcome units or EUR (see trigger_unit)"


# --------------------------------------------------------------------------- treated totals
DIMS = ("draw", "arm", "wave", "stratum", "period")


@settings(max_examples=30, deadline=None)
# period stored before draw (the order that gave (period, draw) before the fix), and the
# schema's order with integer counts (the general path, not the float64 kernel)
@example(order=["arm", "wave", "stratum", "period", "draw"], dtype=np.float64,
         shape=(1, 1, 1, 2), state=False, seed=0, all_started=False)
@example(order=list(DIMS), dtype=np.int64, shape=(3, 2, 2, 3), state=True, seed=1,
         all_started=False)
@given(order=st.permutations(DIMS), dtype=st.sampled_from([np.float64, np.float32, np.int64]),
       shape=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
                       st.integers(1, 3)),
       state=st.booleans(), seed=st.integers(0, 2**16), all_started=st.booleans())
def test_treated_totals_of_started_cohorts_match_a_reference_sum(order, dtype, shape, state,
                                                                 seed, all_started):
    """The treated arm's values summed over waves and strata, counting only the cohorts
    started in each draw, whatever the order of the dims and the dtype (a selection by
    state, as for occupancy, too)."""
    rng = np.random.default_rng(seed)
    n_d, n_w, n_s, n_p = shape
    sizes = {"draw": n_d, "arm": 2, "wave": n_w, "stratum": n_s, "period": n_p}
    dims = list(order) + (["state"] if state else [])
    sizes["state"] = 2
    values = rng.integers(0, 50, size=[sizes[d] for d in dims]).astype(dtype)
    coords = {"arm": ["treatment", "comparison"], "state": ["in", "out"]}
    data = xr.Dataset({"x": (dims, values)},
                      coords={k: c for k, c in coords.items() if k in dims})
    started = (np.ones((n_d, n_w), bool) if all_started
               else rng.random((n_d, n_w)) < 0.5)
    sel = {"state": "out"} if state else {}
    got = _treated_total(data, "x", None if all_started and seed % 2 else started, **sel)
    treated = data["x"].sel(arm="treatment", **sel).transpose("draw", "wave", "stratum",
                                                               "period").values
    want = (treated.astype(np.float64) * started[:, :, None, None]).sum(axis=(1, 2))
    assert got.shape == (n_d, n_p)
    np.testing.assert_array_equal(got, want)


def test_treated_totals_by_hand_with_waves_before_draws():
    """Two waves (10 and 1 a period), one stratum, waves stored before draws: draw 0 started
    both cohorts, draw 1 the first only."""
    x = np.zeros((2, 2, 2, 1, 3))  # (wave, draw, arm, stratum, period)
    x[0, :, 0] = 10.0
    x[1, :, 0] = 1.0
    data = xr.Dataset({"x": (("wave", "draw", "arm", "stratum", "period"), x)},
                      coords={"arm": ["treatment", "comparison"]})
    got = _treated_total(data, "x", np.array([[True, True], [True, False]]))
    assert got.tolist() == [[11.0] * 3, [10.0] * 3]


# --------------------------------------------------------------------------- kept between calls
def test_the_cancellations_table_is_kept_for_the_same_outcomes_and_not_otherwise():
    deal = sibsim.load_scenario("peterborough")  # cancel_later_cohorts, probability 0.2
    ds = sibsim.simulate(deal.scenario, draws=DRAWS, seed=4, progress=False)
    cf = counterfactual(deal, DRAWS, 4)
    fixed = effect_free(deal, ds, cf, same_outcomes=True)
    first, _ = money_arrays(deal, ds, cf, fixed=fixed)
    again, _ = money_arrays(deal, ds, cf, fixed=fixed)
    # the very arrays kept: the cancellation's table and the savings by payer
    for name in ("measured_effect", "trigger_units", "cashable_savings_by_payer",
                 "wider_value_by_payer", "other_costs_by_payer"):
        assert again[name] is first[name], name
    searching = effect_free(deal, ds, cf)  # the break-even search: nothing kept
    a, _ = money_arrays(deal, ds, cf, fixed=searching)
    b, _ = money_arrays(deal, ds, cf, fixed=searching)
    assert a["measured_effect"] is not b["measured_effect"]
    np.testing.assert_array_equal(a["measured_effect"], first["measured_effect"])


def test_the_evaluation_table_is_kept_for_the_same_outcomes():
    deal = sibsim.load_scenario("peterborough").replace(termination=())
    ds = sibsim.simulate(deal.scenario, draws=DRAWS, seed=4, progress=False)
    cf = counterfactual(deal, DRAWS, 4)
    fixed = effect_free(deal, ds, cf, same_outcomes=True)
    first, _ = money_arrays(deal, ds, cf, fixed=fixed)
    again, _ = money_arrays(deal, ds, cf, fixed=fixed)
    assert again["measured_effect"] is first["measured_effect"]
    assert not first["measured_effect"].flags.writeable  # kept: read-only for every caller
    plain, _ = money_arrays(deal, ds, cf)
    np.testing.assert_array_equal(plain["measured_effect"], first["measured_effect"])


@pytest.mark.parametrize("probability", [1.0, 0.5])
def test_the_cancellation_reaches_the_lifecycle(probability):
    """Where Peterborough's third cohort is cancelled (from period 2) its service stops in
    period 2 and the deal settles with the last payment on the cohorts that ran; elsewhere
    it runs its course."""
    from sibsim.money.termination import CancelLaterCohorts

    deal = sibsim.load_scenario("peterborough")
    deal = deal.replace(termination=(CancelLaterCohorts(2, probability),))
    ds = sibsim.simulate(deal.scenario, draws=8, seed=4, progress=False)
    money = money_flows(deal, ds)
    P = ds.sizes["period"]
    stop = money["stop_period"].values
    happened = deal.termination[0].cancel_period(4, ds["draw"].values, P) < P
    assert happened.any()
    assert stop[happened].tolist() == [2] * int(happened.sum())
    assert (stop[~happened] == P).all()
    served = money["participants_served"].values
    assert (served[happened][:, 2:] == 0).all()
    assert (money["settlement_period"].values[happened] >= 2).all()
    # each draw's settlement: its own if cancelled, the plan's otherwise
    plain = money_flows(deal.replace(termination=()), ds)
    np.testing.assert_array_equal(money["settlement_period"].values[~happened],
                                  plain["settlement_period"].values[~happened])
    assert list(itertools.compress(stop, happened)) == [2] * int(happened.sum())


# --------------------------------------------------------------------------- attributes, coords
@pytest.mark.parametrize("name", ["denver-housing", "utah-preschool"])
def test_the_money_datasets_attributes_and_coordinates_are_the_deals(name):
    """Quarterly periods (Denver) and two tranches (Utah): each attribute and coordinate is
    the deal's value, read from the deal, not from another run."""
    deal = sibsim.load_scenario(name)
    ds = sibsim.simulate(deal.scenario, draws=2, seed=6, progress=False)
    money = money_flows(deal, ds)
    tranches = [t.name for t in deal.capital.tranches]
    assert {k: money.attrs[k] for k in ("currency", "seed", "period", "periods_per_year",
                                        "social_discount_rate_per_year",
                                        "investor_discount_rate_per_year",
                                        "target_irr_per_year", "tranches")} == {
        "currency": deal.currency, "seed": 6, "period": ds.attrs["period"],
        "periods_per_year": int(ds.attrs["periods_per_year"]),
        "social_discount_rate_per_year": deal.municipality.discount_rate,
        "investor_discount_rate_per_year": deal.investors.discount_rate,
        "target_irr_per_year": deal.investors.target_irr, "tranches": ",".join(tranches)}
    assert money.attrs["timing"].startswith("flows of period t are discounted by (1 + r)**t")
    assert money["tranche"].values.tolist() == tranches
    assert money["tranche_kind"].values.tolist() == list(deal.capital.tranche_kinds)
    assert money["party"].values.tolist()[:1 + len(tranches)] == ["commissioner", *tranches]
    assert money["period"].values.tolist() == list(range(ds.sizes["period"]))
    np.testing.assert_array_equal(money["draw"].values, ds["draw"].values)
    from sibsim.money.evaluation import evaluate

    table = evaluate(ds, deal.evaluations, 6)
    assert money["trigger_metric"].values.tolist() == list(table.metric)
    assert money["trigger_period"].values.tolist() == list(table.period)
    assert money["trigger_pooled"].values.tolist() == [int(c) for c in table.cumulative]
    assert money["trigger_participants"].values.tolist() == list(table.participants)
    assert money["trigger_period"].dtype == np.int64
    assert money["trigger_pooled"].dtype == np.int8
    # the terms' metrics, then the rate cards' names (Denver's housing is a rate card)
    assert money["metric"].values.tolist() == [t.metric for t in deal.contract.terms] + [
        c.name for c in deal.contract.rate_cards]


# --------------------------------------------------------------------------- helpers by hand
@pytest.mark.parametrize("pick", [slice(2, 5), [0, 3, 4], [5]])
def test_the_counterfactual_of_any_selection_of_draws_is_that_of_the_whole_run(pick):
    """A block of draws (2-4), a selection with a gap (0, 3, 4) and one draw: the
    counterfactual of the selection is the whole run's counterfactual at those draws."""
    from sibsim.money.sib import counterfactual_of

    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal.scenario, draws=6, seed=8, progress=False)
    whole = counterfactual(deal, 6, 8)
    part = ds.isel(draw=pick)
    cf = counterfactual_of(deal, part)
    np.testing.assert_array_equal(cf["draw"].values, part["draw"].values)
    np.testing.assert_array_equal(cf["events"].values,
                                  whole["events"].sel(draw=part["draw"].values).values)


def test_bytes_of_what_is_kept_by_hand():
    from typing import NamedTuple

    from sibsim.money.sib import _nbytes

    class Pair(NamedTuple):
        a: np.ndarray
        b: object

    @dataclasses.dataclass
    class Box:
        a: np.ndarray
        n: int

    class Plain:
        def __init__(self):
            self.a, self.b = np.zeros(3), np.zeros((2, 2), np.int8)

    x = np.zeros(5)  # 40 bytes
    assert _nbytes(x) == 40
    assert _nbytes((x, [x, x])) == 120
    assert _nbytes(Pair(x, "text")) == 40
    assert _nbytes(Box(x, 3)) == 40
    assert _nbytes(Plain()) == 24 + 4
    assert _nbytes(7) == 0 and _nbytes(None) == 0


def test_a_frozen_key_tells_lists_tuples_dicts_and_specifications_apart():
    from sibsim.money.payers import Payer
    from sibsim.money.sib import _frozen, _hashable

    a = _frozen({"k": [1, {"j": (2,)}]})
    assert a == (dict, (("k", (list, (1, (dict, (("j", (tuple, (2,))),))))),))
    assert hash(a) is not None
    assert _frozen([1, 2]) != _frozen((1, 2))
    p = Payer("city", {"m": 0.5, "n": 1.0})
    q = Payer("city", {"m": 0.5, "n": 0.9})
    assert _frozen(p) != _frozen(q) and _frozen(p) == _frozen(Payer("city", {"m": 0.5, "n": 1.0}))
    assert _frozen(p)[0] is Payer
    assert _hashable(_frozen(p)) and not _hashable({"m": 1})
    assert _frozen(Payer) is Payer  # a class is not a specification value
