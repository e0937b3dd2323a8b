"""Edges that a second fresh mutation sample (benchmarks/results/mutation-fresh-sample-2.json,
seed 11) found unguarded: the expected shortfall of single-precision values; payers by entry
wave (a to-date evaluation refused, two results of one wave paid on one payment date, the
contract's payment dates in a run, a claim-tied share's attribution when the avoided cost is
below one currency unit); a cancellation of later cohorts (its refusals in full, a last wave of
one person, the unmeasured triggers, a single cohort that ran, its summary line); the version
of a source tree; a municipality refusal's key; and the money chain's draws, coordinates and
single-precision outcomes.

Each test kills one or more surviving mutants, confirmed by planting each mutation by hand and
by a mutmut recheck (``python benchmarks/bench_mutation.py --recheck --out
benchmarks/results/mutation-fresh-sample-2.json --modules ...``).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib

import numpy as np
import pytest
import xarray as xr

import sibsim
from sibsim.analysis.replay import without_policy
from sibsim.analysis.summary import cvar
from sibsim.money import Contract, MetricTerms, PricePerUnit
from sibsim.money.cancellation import cancellation_text
from sibsim.money.evaluation import Evaluation
from sibsim.money.payer_waves import check_payer_waves, payments_by_wave
from sibsim.money.payers import Payer
from sibsim.money.results import EvaluationTable
from sibsim.money.sib import check_same_draws, counterfactual, counterfactual_of, money_flows
from sibsim.money.termination import CancelLaterCohorts, EffectBelow
from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, parse_scenario
from test_cancellation import _tiny_deal
from test_payer_waves import SEED, cohort_payers, deal


def full(message: str) -> str:
    """A pattern matching exactly ``message``."""
    return "^" + re.escape(message) + "$"


# ------------------------------------------------------------------ analysis/summary.py
def test_cvar_of_single_precision_values_is_computed_in_double():
    """float32 values are read as float64 first: the shortfall is that of the same numbers in
    double precision, to the last bit (summed in float32 it would be rounded differently)."""
    x32 = (np.random.default_rng(3).standard_normal(1_000) * 1e3).astype(np.float32)
    got = cvar(x32, 0.5)
    assert got.dtype == np.float64
    assert got == cvar(x32.astype(np.float64), 0.5)


# ------------------------------------------------------------------ money/payer_waves.py
def test_payers_by_wave_refuse_a_to_date_evaluation():
    """A to-date result nets every wave's results so far, so it belongs to no one cohort."""
    payers = [Payer("a", 1.0, waves=[0]), Payer("b", 1.0, waves=[1])]
    ev = Evaluation("m", per_period=True, pooled=False, to_date=True)
    with pytest.raises(ValueError, match=full(
            "Deal.evaluations[0].to_date: got True; allowed: false when payers are given by "
            "entry wave (Payer.waves): such a result covers every wave at once, so its payment "
            "belongs to no one cohort")):
        check_payer_waves(payers, ["m"], 2, [ev])


def test_payments_by_wave_without_waves_says_where_they_come_from():
    c = Contract((MetricTerms("m", PricePerUnit(10.0)),))
    bare = EvaluationTable(("m",), (0,), (False,), (5,), measured_effect=[[0.2]], units=[[1.0]])
    with pytest.raises(ValueError, match=full(
            "payments_by_wave.table.waves: got None; allowed: the waves of each trigger (an "
            "EvaluationTable from sibsim.money.evaluation.evaluate)")):
        payments_by_wave(c.outcome_payments(bare, 1), bare, 0, 2)


def test_two_results_of_one_wave_paid_on_one_payment_date_add_up():
    """Wave 0's results known in periods 0 (3 units) and 1 (2 units) are both paid on the
    payment date 2, wave 1's (5 units, period 1) too: by hand 30 + 20 and 50 in period 2."""
    c = Contract((MetricTerms("m", PricePerUnit(10.0)),), payment_periods=(2,))
    t = EvaluationTable(("m", "m", "m"), (0, 1, 1), (False,) * 3, (5, 5, 5),
                        measured_effect=[[0.2, 0.2, 0.2]], units=[[3.0, 2.0, 5.0]],
                        waves=((0,), (0,), (1,)))
    pay = c.outcome_payments(t, n_periods=3)
    out = payments_by_wave(pay, t, lag=0, n_waves=2, dates=(2,))
    assert out[0, 0].tolist() == [[0.0, 0.0, 50.0], [0.0, 0.0, 50.0]]
    np.testing.assert_array_equal(out.sum(2), pay.by_metric)


def test_payers_by_wave_are_paid_on_the_contracts_payment_dates():
    """With payment dates (2, 4) every payment falls in period 2 or 4, and the payers by wave
    together pay what the contract pays, period by period."""
    d = deal(cohort_payers())
    terms = d.contract.terms
    d = d.replace(contract=Contract(terms, currency="EUR", payment_periods=(2, 4)))
    ds = sibsim.simulate(d.scenario, draws=10, seed=SEED, progress=False)
    money = money_flows(d, ds, counterfactual_of(d, ds))
    total = money["outcome_payments"]
    assert float(total.isel(period=[0, 1, 3]).sum()) == 0.0
    assert float(total.sum()) > 0
    np.testing.assert_allclose(money["payments_by_payer"].sum("payer"), total, rtol=1e-12)


def test_a_claim_share_below_one_currency_unit_is_still_attributed_to_the_waves():
    """Utah with an avoided cost of 0.0001 a special-education year: every period's avoided
    cost is below 1, and its claim-tied payment still goes to the payers of the waves."""
    doc = tomllib.loads(builtin_scenarios()["utah-preschool"].read_text())
    doc["evaluation"][0]["value_per_unit"] = 1e-4
    d = parse_scenario(doc, "utah-preschool.toml")
    ds = sibsim.simulate(d.scenario, draws=10, seed=SEED, progress=False)
    money = money_flows(d, ds, counterfactual_of(d, ds))
    total = money["outcome_payments"]
    assert 0 < float(total.max()) < 1
    np.testing.assert_allclose(money["payments_by_payer"].sum("payer"), total, rtol=1e-9,
                               atol=0)


# ------------------------------------------------------------------ money/cancellation.py
def _cancel(deal, **kw):
    return deal.replace(termination=(CancelLaterCohorts(**kw),))


@pytest.mark.parametrize(("name", "change", "message"), [
    ("peterborough", {"from_period": 3},
     "Deal.termination[0].from_period: got 3; allowed: a period after the first entry wave "
     "with people (period 0) and at or before the last (period 2): some cohorts run, later "
     "ones are cancelled"),
    ("peterborough", {"also": EffectBelow("reconviction", 0.05)},
     "Deal.termination[0].kind: got 'cancel_later_cohorts'; allowed: the deal's only "
     "[[termination]] rule (a cancellation beside other termination rules is not modelled)"),
    ("chicago-cpc", {},
     "Deal.termination[0].kind: got 'cancel_later_cohorts'; allowed: a deal without rate "
     "cards (their achievements are not counted by entry wave, so the cohorts that ran cannot "
     "be told apart)"),
    ("utah-preschool", {},
     "Deal.termination[0].kind: got 'cancel_later_cohorts'; allowed: a deal without a "
     "claim-tied share (claim_share is paid in the waterfall on the planned results)"),
])
def test_cancellation_refusals_in_full(name, change, message):
    deal = sibsim.load_scenario(name)
    rules = (CancelLaterCohorts(from_period=change.get("from_period", 2)),)
    if "also" in change:
        rules += (change["also"],)
    with pytest.raises(ValueError, match=full(message)):
        deal.replace(termination=rules)


def test_a_last_wave_of_one_person_can_be_cancelled():
    """A wave of one person has people: cancelling from it (the last wave) is allowed."""
    deal = _tiny_deal(CancelLaterCohorts(from_period=2))
    cohort = dataclasses.replace(deal.scenario.cohort, entry=(100, 100, 1), size=201)
    one = deal.replace(scenario=dataclasses.replace(deal.scenario, cohort=cohort))
    assert one.termination[0].from_period == 2


@pytest.fixture(scope="module")
def peterborough_run():
    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal.scenario, draws=8, seed=5, progress=False)
    return deal, ds, counterfactual(deal, 8, 5)


def test_the_unmeasured_triggers_of_a_cancelled_draw_show_nothing(peterborough_run):
    """Cancelled from period 2 with certainty: cohort 3's result and the planned pooled one
    are not measured, so their measured effect and units are 0 in every draw."""
    deal, ds, cf = peterborough_run
    sure = money_flows(_cancel(deal, from_period=2, probability=1.0), ds, cf)
    for name in ("measured_effect", "trigger_units"):
        assert (sure[name].values[:, [2, 3]] == 0).all(), name
    assert (sure["trigger_units"].values[:, [0, 1, 4]] != 0).any()


def test_the_one_cohort_that_ran_is_still_measured_on_its_own(peterborough_run):
    """Cancelled from period 1: only cohort 1 ran, and its own result is measured and paid as
    without the cancellation."""
    deal, ds, cf = peterborough_run
    sure = money_flows(_cancel(deal, from_period=1, probability=1.0), ds, cf)
    plain = money_flows(without_policy(deal), ds, cf)
    assert (plain["trigger_units"].values[:, 0] != 0).any()
    for name in ("measured_effect", "trigger_units", "gate_passed"):
        assert np.array_equal(sure[name].values[:, 0], plain[name].values[:, 0]), name


def test_the_cancellation_line_in_full():
    deal = sibsim.load_scenario("peterborough")  # from period 2, probability 0.2
    money = xr.Dataset({"stop_period": ("draw", np.array([2, 10, 10, 10]))})
    assert cancellation_text(money, deal) == (
        "Later cohorts cancelled by a decision outside the contract (from period 2 on) in "
        "25.0% of draws (probability 0.2, an assumption); the cohorts that started are still "
        "paid on their results.")


# ------------------------------------------------------------------ dataset/build.py
def test_a_package_without_metadata_has_version_unknown():
    """Run from a source tree (no installed metadata), the recorded version is 'unknown'."""
    from sibsim.dataset.build import _version

    assert _version("sibsim-no-such-distribution") == "unknown"


# ------------------------------------------------------------------ money/scenario_sections.py
def test_a_bad_municipality_value_names_the_table():
    doc = tomllib.loads(builtin_scenarios()["essex-mst"].read_text())
    doc["municipality"]["other_costs_per_period"] = -5.0
    with pytest.raises(ScenarioFileError, match=full(
            "essex-mst.toml: key 'municipality': Municipality.other_costs_per_period: got "
            "-5.0; allowed: a finite number in [0, inf]")):
        parse_scenario(doc, "essex-mst.toml")


# ------------------------------------------------------------------ money/sib.py
@pytest.fixture(scope="module")
def two_wave_run():
    d = deal([Payer("State", 1.0, saving_per_event=100.0)])
    ds = sibsim.simulate(d.scenario, draws=4, seed=SEED, progress=False)
    return d, ds, counterfactual_of(d, ds)


def test_a_counterfactual_of_other_draws_is_refused_in_full():
    ds = xr.Dataset(coords={"draw": np.arange(3)})
    tail = ("; allowed: the same draws as the outcome dataset (3, same draw coordinate); "
            "compute it with counterfactual_of(deal, ds)")
    with pytest.raises(ValueError, match=full("cf: got 'draws 5..6 (2)'" + tail)):
        check_same_draws(ds, xr.Dataset(coords={"draw": np.array([5, 6])}), "cf")
    with pytest.raises(ValueError, match=full("cf: got 'no draws'" + tail)):
        check_same_draws(ds, xr.Dataset(coords={"draw": np.array([], dtype=np.int64)}), "cf")


def test_one_draw_of_a_two_wave_deal_is_that_draw_of_a_larger_run(two_wave_run):
    """Fewer draws (1) than entry waves (2): the money of draw 0 alone is draw 0's money in a
    run of 4 draws (draws depend on the seed and the draw alone)."""
    d, ds, cf = two_wave_run
    one = money_flows(d, ds.isel(draw=[0]), cf.isel(draw=[0]))
    whole = money_flows(d, ds, cf)
    for k, da in one.data_vars.items():
        want = whole[k].isel(draw=[0]) if "draw" in da.dims else whole[k]
        np.testing.assert_array_equal(da.values, want.values, err_msg=k)


def test_the_money_dataset_has_a_coordinate_for_each_dimension(two_wave_run):
    d, ds, cf = two_wave_run
    money = money_flows(d, ds, cf)
    assert set(money.indexes) == set(money.dims)
    assert money["period"].values.tolist() == list(range(5))
    for name in ("trigger_metric", "trigger_period", "trigger_pooled", "trigger_participants"):
        assert money[name].dims == ("trigger",), name


def test_single_precision_outcomes_give_the_same_money(two_wave_run):
    """An outcome dataset's counts stored in float32 (exact for whole numbers) give the same
    money: the treated arm's totals are read the general way instead of by the float64
    kernel."""
    d, ds, cf = two_wave_run
    ds32 = ds.assign(events=ds["events"].astype(np.float32))
    assert (ds32["events"] == ds["events"]).all()
    a, b = money_flows(d, ds, cf), money_flows(d, ds32, cf)
    for k in a.data_vars:
        np.testing.assert_array_equal(a[k].values, b[k].values, err_msg=k)


def test_a_claim_share_beside_a_price_is_paid_by_wave_on_the_payment_dates():
    """Utah with a second metric priced per unit and payment dates (3, 6, 9, 11): the priced
    metric's payments by wave fall on the dates too, so the payers by wave together pay what
    the contract pays, period by period."""
    doc = tomllib.loads(builtin_scenarios()["utah-preschool"].read_text())
    bonus = {**doc["evaluation"][0], "metric": "bonus"}
    doc["evaluation"].append(bonus)
    doc["contract"]["terms"].append({"metric": "bonus",
                                     "rule": {"kind": "price_per_unit", "price": 10.0}})
    doc["contract"]["payment_periods"] = [3, 6, 9, 11]
    d = parse_scenario(doc, "utah-preschool.toml")
    ds = sibsim.simulate(d.scenario, draws=6, seed=SEED, progress=False)
    money = money_flows(d, ds, counterfactual_of(d, ds))
    total = money["outcome_payments"]
    assert float(money["payments_by_metric"].sel(metric="bonus").sum()) > 0
    assert float(abs(total.isel(period=[0, 1, 2, 4, 5, 7, 8, 10])).max()) == 0.0
    np.testing.assert_allclose(money["payments_by_payer"].sum("payer"), total, rtol=1e-9)
