"""Tests of sibsim.money.payer_scope: a payer's savings counted on its own strata only
(``savings_strata``), and payers taking part in some calendar years only (``first_year`` /
``last_year``: a payer change during the deal)."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

import sibsim
from sibsim import (
    Cohort,
    ComparisonGroup,
    CountOutcome,
    Effect,
    Gamma,
    LogNormal,
    Scenario,
    Stratum,
)
from sibsim.money import Caps, Contract, MetricTerms, PricePerUnit
from sibsim.money.capital import CapitalStructure, ServiceCosts, Tranche
from sibsim.money.deal import Deal, Investors
from sibsim.money.evaluation import Evaluation
from sibsim.money.municipality import Municipality
from sibsim.money.payer_scope import check_payer_scope, presence
from sibsim.money.payers import Payer
from sibsim.money.sib import counterfactual_of, money_flows
from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, parse_scenario

SEED = 20250302
DRAWS = 40
YEARS = np.arange(2020, 2026)


def scenario() -> Scenario:
    """Two towns: "east" enters in 2020 and 2021, "west" in 2021."""
    return Scenario(
        cohort=Cohort(strata=(Stratum("east", entry=(150, 50), baseline=1.5),
                              Stratum("west", entry=(120,), start=1))),
        outcome=CountOutcome(Gamma.from_mean_sd(1.0, 0.1), dispersion=2.0), horizon=6,
        effect=Effect("rr", LogNormal.from_mean_sd(0.8, 0.08)),
        comparison=ComparisonGroup(ratio=2))


def deal(payers, start_year: int | None = 2020) -> Deal:
    """Each town's events are one metric, paid every year as they come in."""
    evals = tuple(Evaluation(f"events_{s}", stratum=s, window=2, report_lag=0,
                             per_period=True, pooled=False) for s in ("east", "west"))
    terms = tuple(MetricTerms(e.metric, PricePerUnit(1_000.0)) for e in evals)
    return Deal(scenario=scenario(), evaluations=evals,
                contract=Contract(terms, caps=Caps(total=5e6), currency="EUR"),
                service_costs=ServiceCosts(per_participant=200.0),
                capital=CapitalStructure((Tranche("fund", 300_000.0, 1, target_return=0.05),)),
                municipality=Municipality(discount_rate=0.03), payers=tuple(payers),
                investors=Investors(discount_rate=0.05), start_year=start_year)


def town_payers(**extra) -> list[Payer]:
    return [Payer("east town", {"events_east": 1.0}, saving_per_event=900.0,
                  savings_strata="east", **extra),
            Payer("west town", {"events_west": 1.0}, saving_per_event=600.0,
                  savings_strata=["west"])]


@pytest.fixture(scope="module")
def run():
    d = deal(town_payers())
    ds = sibsim.simulate(d.scenario, draws=DRAWS, seed=SEED, progress=False)
    return ds, counterfactual_of(d, ds)


# ------------------------------------------------------------------ the specification
@pytest.mark.parametrize("kwargs,message", [
    ({"first_year": 2024, "last_year": 2023},
     r"Payer\[p\].last_year: got 2023; allowed: a year from first_year \(2024\) on"),
    ({"savings_strata": ["a", "a"]}, r"Payer\[p\].savings_strata: got"),
    ({"savings_strata": [""]}, r"Payer.savings_strata\[0\]"),
    ({"first_year": 1500}, r"Payer.first_year: got 1500"),
])
def test_payer_refuses(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Payer("p", 1.0, **kwargs)


def test_savings_strata_normalised_to_a_tuple():
    assert Payer("p", 1.0, savings_strata="east").savings_strata == ("east",)
    assert not Payer("p", 1.0).bounded and Payer("p", 1.0, last_year=2022).bounded


def test_presence_of_payers_by_calendar_year():
    here = presence([Payer("a", 1.0, last_year=2022), Payer("b", 1.0, first_year=2023),
                     Payer("c", 0.0, first_year=2021, last_year=2021)], YEARS)
    assert here.astype(int).tolist() == [[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1],
                                         [0, 1, 0, 0, 0, 0]]
    assert presence([Payer("a", 1.0)], YEARS) is None


@pytest.mark.parametrize("payers,start_year,message", [
    ([Payer("a", 1.0, savings_strata="north")], 2020,
     r"Deal.payers\[0\].savings_strata: got 'north'; allowed: strata of the cohort: 'east'"),
    ([Payer("a", 1.0, last_year=2022), Payer("b", 1.0, first_year=2023)], None,
     r"Deal.payers\[0\].last_year: got 2022; allowed: a payer's years only with the deal's "
     "start_year"),
    ([Payer("a", 1.0, last_year=2022), Payer("b", 1.0, first_year=2024)], 2020,
     r"Deal.payers.shares\[events_east\] in 2023: got 0.0; allowed: shares of metric "
     r"'events_east' summing to 1 over the payers present that year \(none\)"),
    ([Payer("a", 1.0, last_year=2022), Payer("b", 1.0, first_year=2022)], 2020,
     r"Deal.payers.shares\[events_east\] in 2022: got 2.0; .*\(a 1, b 1\)"),
    ([Payer("a", 1.0), Payer("b", 0.0, first_year=2031)], 2020,
     r"Deal.payers\[1\].first_year: got \(2031, None\); allowed: years that meet the deal's "
     "2020-2025"),
])
def test_deal_refuses_payers_that_do_not_fit(payers, start_year, message):
    with pytest.raises(ValueError, match=message):
        deal(payers, start_year)


def test_shares_may_change_with_the_year():
    """A top-up fund paying a quarter from 2023 and the town the rest: 1 in every year."""
    payers = [Payer("town", 1.0, last_year=2022), Payer("town later", 0.75, first_year=2023),
              Payer("fund", 0.25, first_year=2023)]
    assert deal(payers).payer_presence().shape == (3, 6)
    check_payer_scope(payers, ["m"], ["all"], YEARS, 2020)


# ------------------------------------------------------------------ the money
def test_each_payer_saves_on_its_own_strata_only(run):
    """Independent check: each town's cashable saving is its rate times the events avoided
    in its own stratum (counterfactual - simulated treated events)."""
    ds, cf = run
    d = deal(town_payers())
    money = money_flows(d, ds, cf)
    for payer, stratum, rate in (("east town", "east", 900.0), ("west town", "west", 600.0)):
        avoided = (cf["events"] - ds["events"]).sel(arm="treatment", stratum=stratum).sum(
            "wave").values
        np.testing.assert_allclose(money["cashable_savings_by_payer"].sel(payer=payer).values,
                                   rate * avoided, rtol=1e-12, atol=1e-6)
    # without savings_strata each town would count both towns' avoided events
    whole = money_flows(deal([Payer(p.name, p.shares, saving_per_event=p.saving_per_event)
                              for p in town_payers()]), ds, cf)
    both = (cf["events"] - ds["events"]).sel(arm="treatment").sum(("wave", "stratum")).values
    np.testing.assert_allclose(whole["cashable_savings_by_payer"].sel(payer="east town").values,
                               900.0 * both, rtol=1e-12, atol=1e-6)
    # the outcome payments do not depend on who saves what
    np.testing.assert_array_equal(money["payments_by_payer"].values,
                                  whole["payments_by_payer"].values)


@pytest.mark.parametrize("change", [2021, 2022, 2024])
def test_a_payer_change_splits_payments_and_savings_by_year(run, change):
    """The east town until ``change - 1``, its county from ``change``: together exactly what
    the town alone pays and saves, each only in its own years."""
    ds, cf = run
    alone = money_flows(deal(town_payers()), ds, cf)
    town, west = town_payers(last_year=change - 1)
    county = Payer("east county", {"events_east": 1.0}, saving_per_event=900.0,
                   savings_strata="east", first_year=change)
    money = money_flows(deal([town, county, west]), ds, cf)
    before = YEARS < change
    for var in ("payments_by_payer", "cashable_savings_by_payer", "net_savings_by_payer"):
        x = money[var]
        np.testing.assert_array_equal(x.sel(payer="east town").values[:, ~before], 0.0)
        np.testing.assert_array_equal(x.sel(payer="east county").values[:, before], 0.0)
        np.testing.assert_allclose(
            (x.sel(payer="east town") + x.sel(payer="east county")).values,
            alone[var].sel(payer="east town").values, rtol=1e-12, atol=1e-6)
    for var in ("outcome_payments", "cashable_savings", "flow"):
        np.testing.assert_allclose(money[var].values, alone[var].values, rtol=1e-12, atol=1e-6)


def test_a_payer_cap_applies_to_its_own_years(run):
    ds, cf = run
    town, west = town_payers(last_year=2021)
    county = Payer("east county", {"events_east": 1.0}, first_year=2022, cap_total=1_000.0)
    money = money_flows(deal([town, county, west]), ds, cf)
    paid = money["payments_by_payer"].sel(payer="east county").sum("period").values
    assert paid.max() <= 1_000.0 + 1e-9
    uncapped = Payer("east county", {"events_east": 1.0}, first_year=2022)
    due = money_flows(deal([town, uncapped, west]), ds, cf)
    assert (due["payments_by_payer"].sel(payer="east county").sum("period").values
            > 1_000.0).any()  # the cap binds in some draws
    np.testing.assert_array_equal(  # the town's own years are not touched by the county's cap
        money["payments_by_payer"].sel(payer="east town").values,
        due["payments_by_payer"].sel(payer="east town").values)


# ------------------------------------------------------------------ scenario files
def test_lapset_sib_1_counties_take_over_in_2023():
    deal_ = sibsim.load_scenario("lapset-sib-1")
    names = [p.name for p in deal_.payers]
    here = deal_.payer_presence()
    years = deal_.calendar_years()
    assert here[names.index("Helsinki")].all()
    assert (here[names.index("Vantaa")] == (years <= 2022)).all()
    assert (here[names.index("Vantaan ja Keravan hyvinvointialue")]
            == (years >= 2023)).all()
    assert {p.savings_strata for p in deal_.payers} == {
        (s,) for s in deal_.scenario.cohort.stratum_names}


def _lapset() -> dict:
    return tomllib.loads(builtin_scenarios()["lapset-sib-1"].read_text(encoding="utf-8"))


def test_scenario_file_errors_name_the_key():
    doc = _lapset()
    del doc["payers"][1]["first_year"]  # the county pays from the start too
    with pytest.raises(ScenarioFileError, match=r"shares\[placement_years_hameenlinna\] in "
                                                r"2019: got 2.0"):
        parse_scenario(doc)
    doc = _lapset()
    doc["payers"][0]["savings_strata"] = "hameenlina"
    with pytest.raises(ScenarioFileError, match=r"savings_strata: got 'hameenlina'"):
        parse_scenario(doc)
    doc = _lapset()
    doc["payers"][0]["last_year"] = "2022"
    with pytest.raises(ScenarioFileError, match=r"key 'payers\[0\]'.*last_year"):
        parse_scenario(doc)
