"""The counterfactual of a run at its edges: a scenario or a deal, a block or a selection of
draws, the seed, and a deal's correlated inputs.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py) found unguarded.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr

import sibsim
from sibsim import Gamma
from sibsim.analysis.replay import without_policy
from sibsim.money.evaluation import evaluate
from sibsim.money.sib import counterfactual, counterfactual_of, money_flows

DRAWS, SEED = 8, 5


@pytest.fixture(scope="module")
def deal():
    # the contract as designed: without the scenario's risk of cancelling the third cohort
    return without_policy(sibsim.load_scenario("peterborough"))


def _baseline(ds: xr.Dataset) -> np.ndarray:
    return ds["parameter_value"].sel(parameter="baseline.rate").values


def test_the_counterfactual_of_a_scenario_is_that_of_its_deal(deal, strip_created):
    whole = counterfactual(deal, DRAWS, SEED)
    # all but the creation time (the two runs may fall in different seconds)
    xr.testing.assert_identical(strip_created(counterfactual(deal.scenario, DRAWS, SEED)),
                                strip_created(whole))
    # keyed on the seed: the run's baseline parameters, draw by draw
    ds = sibsim.simulate(deal, draws=DRAWS, seed=SEED, progress=False)
    np.testing.assert_array_equal(_baseline(whole), _baseline(ds))
    assert not np.array_equal(_baseline(counterfactual(deal, DRAWS, SEED + 1)), _baseline(ds))


def test_a_correlated_baseline_gives_the_runs_baseline(deal):
    corr = sibsim.Correlation(("baseline.rate", "effect.value"), ((1.0, -0.9), (-0.9, 1.0)))
    linked = deal.replace(correlation=corr)
    ds = sibsim.simulate(linked, draws=DRAWS, seed=SEED, progress=False)
    cf = counterfactual(linked, DRAWS, SEED)
    np.testing.assert_array_equal(_baseline(cf), _baseline(ds))
    assert not np.array_equal(_baseline(counterfactual(deal, DRAWS, SEED)), _baseline(cf))


@pytest.mark.parametrize("pick", [slice(3, 7), [1, 4, 6], [5]], ids=["block", "spread", "one"])
def test_the_counterfactual_of_some_draws_is_those_draws_of_the_whole(deal, pick):
    ds = sibsim.simulate(deal, draws=DRAWS, seed=SEED, progress=False).isel(draw=pick)
    got = counterfactual_of(deal, ds)
    np.testing.assert_array_equal(got["draw"].values, ds["draw"].values)
    xr.testing.assert_equal(got, counterfactual(deal, DRAWS, SEED).isel(draw=pick))


# ------------------------------------------------------------------------ units and dims
UNITS = {"evaluation_parameter_value": "see evaluation_parameter_units",
         "participants_served": "people", "measured_effect": "fraction",
         "trigger_units": "outcome units", "gate_passed": "1", "avoided_events": "events",
         "avoided_events_by_process": "events", "achievements": "achievements",
         "stop_period": "period", "settlement_period": "period"}


def test_every_money_variable_carries_its_units():
    deal = sibsim.load_scenario("massachusetts-roca")   # rate cards, several processes
    money = money_flows(deal, sibsim.simulate(deal, draws=3, seed=1, progress=False))
    assert set(UNITS) <= set(money.data_vars)
    for name, var in money.data_vars.items():
        expected = UNITS.get(name, "hr" if name == "true_effect" else "USD")
        assert var.attrs["units"] == expected, name


def test_uncertain_own_costs_are_per_draw(deal):
    moj, fund = deal.payers
    uncertain = deal.replace(payers=(
        dataclasses.replace(moj, other_costs_per_period=Gamma.from_mean_sd(100.0, 10.0)), fund))
    money = money_flows(uncertain, sibsim.simulate(uncertain, draws=3, seed=1, progress=False))
    assert money["other_costs_by_payer"].dims == ("draw", "payer", "period")
    assert money["commissioner_other_costs"].dims == ("draw", "period")
    assert money["money_parameter_value"].attrs["units"] == "GBP"
    own = money["other_costs_by_payer"].sel(payer=moj.name).values
    assert own[:, 0].std() > 0 and (own >= 0).all()
    plain = money_flows(deal, sibsim.simulate(deal, draws=3, seed=1, progress=False))
    assert plain["other_costs_by_payer"].dims == ("payer", "period")


def test_the_counterfactual_is_the_expected_count_of_each_draw(deal, capsys):
    # no service: 1,000 people of the first wave x the draw's baseline rate x the profile of
    # the years after release (1.0, 0.8, 0.7, then 0.6), with no sampling noise
    cf = counterfactual(deal, 3, SEED)
    assert capsys.readouterr().err == ""   # no progress bar for this inner run
    events = cf["events"].sel(arm="treatment", wave=0).sum("stratum").values
    profile = np.array([1.0, 0.8, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6])
    np.testing.assert_allclose(events, 1000 * _baseline(cf)[:, None] * profile, rtol=1e-12)


def test_per_draw_costs_equal_to_a_constant_give_the_same_breakeven(deal):
    """Service costs holding per-draw values set in Python (a sensitivity run's inputs) cannot
    key the break-even search's cache of costs: they are computed afresh, to the same result."""
    from sibsim.analysis.breakeven import breakeven
    from sibsim.money.uncertain import per_draw

    costs = deal.service_costs
    per_person = float(costs.per_participant)
    same = deal.replace(service_costs=dataclasses.replace(
        costs, per_participant=per_draw(np.full(4, per_person))))
    ds = sibsim.simulate(deal, draws=4, seed=3, progress=False)
    xr.testing.assert_equal(breakeven(same, ds, grid=9), breakeven(deal, ds, grid=9))


# ------------------------------------------------------------------------ given parts
def test_money_flows_uses_the_counterfactual_and_table_it_is_given(deal):
    ds = sibsim.simulate(deal, draws=4, seed=3, progress=False)
    cf = counterfactual_of(deal, ds)
    base = money_flows(deal, ds, cf=cf)
    # twice the events without the service: the avoided events grow by the treated arm's
    # counterfactual events, summed over waves and strata
    double = cf.assign(events=cf["events"] * 2)
    more = money_flows(deal, ds, cf=double)
    extra = cf["events"].sel(arm="treatment").sum(("wave", "stratum")).values
    np.testing.assert_allclose(more["avoided_events"].values - base["avoided_events"].values,
                               extra, rtol=1e-12)
    # a table in which no evaluation measured anything pays nothing
    table = evaluate(ds, deal.evaluations, 3)
    nothing = dataclasses.replace(table, measured_effect=np.zeros_like(table.measured_effect),
                                  units=np.zeros_like(table.units))
    paid = money_flows(deal, ds, cf=cf, table=nothing)["outcome_payments"].values
    assert paid.sum() == 0 and base["outcome_payments"].values.sum() > 0


def test_the_money_dataset_says_what_it_holds(deal):
    ds = sibsim.simulate(deal, draws=2, seed=3, progress=False)
    money = money_flows(deal, ds)
    assert {k: money.attrs[k] for k in ("currency", "seed", "period", "periods_per_year",
                                        "social_discount_rate_per_year",
                                        "investor_discount_rate_per_year",
                                        "target_irr_per_year", "tranches")} == {
        "currency": "GBP", "seed": 3, "period": "year", "periods_per_year": 1,
        "social_discount_rate_per_year": deal.municipality.discount_rate,
        "investor_discount_rate_per_year": deal.investors.discount_rate,
        "target_irr_per_year": deal.investors.target_irr,
        "tranches": ",".join(t.name for t in deal.capital.tranches)}
    assert money.attrs["timing"].startswith("flows of period t are discounted by (1 + r)**t")
    assert money.attrs["timing"].endswith("savings when the outcome is avoided")
    assert all(var.attrs["description"] for var in money.data_vars.values())
    # a deal whose scenario has no effect: its true effect has no measure
    none = deal.with_scenario(effect=None)
    money = money_flows(none, sibsim.simulate(none, draws=2, seed=3, progress=False))
    assert money["true_effect"].attrs["units"] == "none"


def test_money_flows_uses_the_interim_results_it_is_given():
    """NYC ABLE stops when the first interim jail-day reduction is below 8.5% (a notice of one
    period): interim results of no reduction stop every draw at period 3, results of 50% stop
    none (the stop period is then the horizon, 6), whatever the run measured."""
    from sibsim.money.termination import interim_results

    nyc = sibsim.load_scenario("nyc-able")
    ds = sibsim.simulate(nyc, draws=4, seed=3, progress=False)
    cf = counterfactual_of(nyc, ds)
    interim = interim_results(nyc, ds, 3)
    assert interim is not None and set(interim.metric) == {"jail_days"}
    own = money_flows(nyc, ds, cf)
    xr.testing.assert_identical(money_flows(nyc, ds, cf, interim=interim), own)
    for effect, stop in ((0.0, 3), (0.5, nyc.scenario.horizon)):
        given = dataclasses.replace(
            interim, measured_effect=np.full_like(interim.measured_effect, effect))
        money = money_flows(nyc, ds, cf, interim=given)
        assert money["stop_period"].values.tolist() == [stop] * 4, effect
    # nothing is paid after a stop at period 3 with no result known before it
    stopped = dataclasses.replace(interim, measured_effect=np.zeros_like(interim.measured_effect))
    assert money_flows(nyc, ds, cf, interim=stopped)["outcome_payments"].values.sum() == 0


def test_the_timing_and_tranches_attributes_in_full():
    """The whole timing convention (each clause in its place) and every tranche of a deal with
    four (two loans, grants, deferred fees), in the waterfall's order, comma-separated."""
    roca = sibsim.load_scenario("massachusetts-roca")
    money = money_flows(roca, sibsim.simulate(roca, draws=2, seed=3, progress=False))
    assert money.attrs["tranches"] == "senior,junior,grants,deferred_fees"
    assert list(money["tranche"].values) == ["senior", "junior", "grants", "deferred_fees"]
    assert money.attrs["timing"] == (
        "flows of period t are discounted by (1 + r)**t (period 0 undiscounted); service costs "
        "in the period delivered; outcome payments in the period the result is known plus the "
        "contract lag; savings when the outcome is avoided")


def test_a_valued_state_the_outcome_lacks_is_refused_by_the_break_even_search_too(deal):
    """A payer valuing person-periods in a state of an outcome without states (Peterborough
    counts reconvictions): the money chain and the break-even search both refuse it by key."""
    from sibsim.analysis.breakeven import breakeven
    from sibsim.money.municipality import Municipality
    from sibsim.money.payers import Payer

    odd = deal.replace(payers=(Payer("moj", 1.0, saving_per_person_period={"housed": 5.0}),),
                       municipality=Municipality(discount_rate=0.035))
    ds = sibsim.simulate(odd, draws=2, seed=3, progress=False)
    message = r"saving_per_person_period.*got 'housed'; allowed: states of the scenario's outcome"
    with pytest.raises(ValueError, match=message):
        money_flows(odd, ds)
    with pytest.raises(ValueError, match=message):
        breakeven(odd, ds, grid=3)


def test_the_variants_money_follows_people_in_a_two_process_deal():
    """Denver (housing states and jail days), its costs per person-quarter only, dearer on the
    street: priced on the first process with states. The design grid's reused parts give the
    investors' IRR of the money chain, draw by draw."""
    from sibsim.analysis.design import evaluate_variants

    denver = sibsim.load_scenario("denver-housing")
    denver = denver.replace(service_costs=dataclasses.replace(
        denver.service_costs, fixed_per_period=0.0, per_participant=100.0,
        per_state={"street": 900.0}))
    ds = sibsim.simulate(denver, draws=3, seed=4, progress=False)
    cf = counterfactual_of(denver, ds)
    res = evaluate_variants(denver, ds, cf, [denver], keep_draws=True)
    ref = sibsim.analyse(denver, draws=3, seed=4, progress=False, with_breakeven=False)
    np.testing.assert_allclose(res["investor_irr_draws"].values[0],
                               ref.investors["irr_annual"].sel(investor="all").values,
                               rtol=1e-9, equal_nan=True)
    assert np.isfinite(res["investor_irr_draws"].values).any()
    served = ref.money["participants_served"].values
    assert ref.money["service_costs"].values[served > 0].min() > 0


def test_a_valued_state_of_a_later_process_after_one_without_states():
    """Jail days (counts, no states) listed before housing (Markov): the commissioner's saving
    per homeless person-period avoided is found on the second process, and the savings are
    EUR 150 per jail day avoided plus EUR 2,000 per homeless person-period avoided."""
    import tomllib

    from sibsim.scenario_file import parse_scenario
    from test_multi_process import MONEY_TOML, MULTI_TOML

    housing, jail = MULTI_TOML.split("[[outcome]]")[1:]
    head = MULTI_TOML.split("[[outcome]]")[0]
    text = head + "[[outcome]]" + jail + "\n[[outcome]]" + housing + MONEY_TOML
    deal = parse_scenario(tomllib.loads(text), "jail-first.toml")
    assert deal.scenario.process_names == ("jail_days", "housing")
    ds = sibsim.simulate(deal, draws=4, seed=2, progress=False)
    cf = counterfactual_of(deal, ds)
    money = money_flows(deal, ds, cf)
    treated = dict(arm="treatment")
    hom = (cf["occupancy"].sel(process="housing", state="homeless", **treated)
           - ds["occupancy"].sel(process="housing", state="homeless", **treated)).sum(
        ("wave", "stratum")).values
    jail_avoided = money["avoided_events_by_process"].sel(process="jail_days").values
    assert (hom != 0).any() and (jail_avoided != 0).any()
    np.testing.assert_allclose(money["cashable_savings"].values,
                               150 * jail_avoided + 2000 * hom, rtol=1e-12)
