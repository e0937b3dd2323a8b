"""Replays (sibsim.analysis.replay) by value on a small deal worked by hand: the counterfactual
units of a randomised design, the replayed units and payments, every output variable with its
units and description, the commissioner's and the investors' positions; the realised values'
shapes and every refusal with its message; the cohorts that ran and the risks left out."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

import sibsim
from sibsim import Cohort, ComparisonGroup, CountOutcome, Effect, Scenario
from sibsim.analysis import replay as rp
from sibsim.analysis.replay import ReplayCase, first_cohorts, replay, without_policy
from sibsim.money import Contract, MetricTerms, PricePerUnit
from sibsim.money.capital import CapitalStructure, ServiceCosts, Tranche
from sibsim.money.deal import Deal
from sibsim.money.evaluation import Evaluation, evaluate
from sibsim.money.municipality import Municipality
from sibsim.scenario_file import load_scenario

D = 6


def small_deal(threshold: float = 0.05, alpha: float | None = None) -> Deal:
    """One wave of 300 people and 300 in the comparison group, a Poisson count (rate 0.6),
    RCT, GBP... EUR 10 per unit avoided from ``threshold``; the commissioner saves EUR 500 an
    event avoided and spends EUR 7 a period of its own."""
    sc = Scenario(outcome=CountOutcome(0.6), horizon=1, effect=Effect("rr", 0.9),
                  comparison=ComparisonGroup(ratio=1.0), cohort=Cohort(size=300))
    return Deal(scenario=sc,
                evaluations=(Evaluation("m", alpha=alpha, precision=None),),
                contract=Contract((MetricTerms("m", PricePerUnit(10.0, threshold=threshold)),)),
                service_costs=ServiceCosts(per_participant=10.0),
                capital=CapitalStructure((Tranche("fund", 1e6),)),
                municipality=Municipality(saving_per_event=500.0, other_costs_per_period=7.0))


@pytest.fixture(scope="module")
def deal():
    return small_deal()


@pytest.fixture(scope="module")
def ds(deal):
    return sibsim.simulate(deal.scenario, D, 3, progress=False)


def test_counterfactual_units_of_an_rct_are_the_comparison_rate_times_the_treated(deal, ds):
    cf = rp._counterfactual_units(ds, deal, 3)
    comp = ds["events"].sel(arm="comparison").values.reshape(D, -1).sum(1)
    # 300 treated, 300 comparison: the comparison's events, for the pooled and the wave trigger
    np.testing.assert_allclose(cf, np.stack([comp, comp], axis=1), rtol=1e-12)
    assert (cf >= 0).all()
    # the treated arm's own events do not enter it
    doubled = ds.copy()
    doubled["events"] = doubled["events"] * 2.0
    np.testing.assert_allclose(rp._counterfactual_units(doubled, deal, 3), 2 * cf, rtol=1e-12)


def test_replay_every_output_by_hand(deal, ds):
    rep = replay(deal, measured={"m": 0.2}, draws=D, seed=3)
    comp = ds["events"].sel(arm="comparison").values.reshape(D, -1).sum(1)
    units = 0.2 * comp
    np.testing.assert_allclose(rep["trigger_units"].values, np.stack([units, units], 1),
                               rtol=1e-12)
    assert (rep["measured_effect"].values == 0.2).all()
    assert rep["replayed"].values.tolist() == [1, 1] and rep["replayed"].dtype == np.int8
    # EUR 10 a unit on the wave's trigger; the pooled top-up adds nothing (already paid)
    np.testing.assert_allclose(rep["payments_by_trigger"].values[:, 0], 10 * units, rtol=1e-12)
    np.testing.assert_allclose(rep["payments_by_trigger"].values[:, 1], 0.0, atol=1e-9)
    np.testing.assert_allclose(rep["outcome_payments"].values, 10 * units, rtol=1e-12)
    # the investors fund the service (EUR 10 x 300) and receive the outcome payments
    np.testing.assert_allclose(rep["investor_invested"].values, 3_000.0, rtol=1e-12)
    np.testing.assert_allclose(rep["investor_received"].values, 10 * units, rtol=1e-12)
    np.testing.assert_allclose(rep["investor_net"].values, 10 * units - 3_000.0, rtol=1e-12)
    np.testing.assert_allclose(rep["investor_net_by_tranche"].values[:, 0],
                               10 * units - 3_000.0, rtol=1e-12)
    np.testing.assert_allclose(rep["guarantee_paid"].values, 0.0, atol=1e-12)
    np.testing.assert_allclose(rep["commissioner_paid"].values, 10 * units, rtol=1e-12)
    # savings: EUR 500 a unit of the pooled trigger; own costs EUR 7 a period, 1 period
    np.testing.assert_allclose(rep["commissioner_savings"].values, 500 * units, rtol=1e-12)
    np.testing.assert_allclose(rep["commissioner_net"].values, 490 * units - 7.0, rtol=1e-12)
    units_of = {k: rep[k].attrs["units"] for k in rep.data_vars}
    assert units_of == {
        "measured_effect": "fraction", "trigger_units": "outcome units", "replayed": "1",
        **{k: "EUR" for k in ("payments_by_trigger", "outcome_payments", "investor_invested",
                              "investor_received", "investor_net", "investor_net_by_tranche",
                              "guarantee_paid", "commissioner_paid", "commissioner_savings",
                              "commissioner_net")}}
    descriptions = {k: rep[k].attrs["description"] for k in rep.data_vars}
    assert descriptions["investor_net"] == ("Investors' cash result: received - invested "
                                            "(undiscounted).")
    assert descriptions["commissioner_net"] == ("Commissioner's net position: savings - paid - "
                                                "own costs (undiscounted).")
    assert descriptions["replayed"] == "1 where the trigger's result is the realised one."
    assert descriptions["measured_effect"].startswith("Measured effect paid on: realised")
    assert descriptions["commissioner_savings"] == (
        "Cashable savings valued on the units paid on.")
    assert rep["investor_net"].dims == ("draw",)
    assert rep["investor_net_by_tranche"].dims == ("draw", "tranche")
    assert rep["tranche"].values.tolist() == ["fund"]
    assert rep["trigger_metric"].values.tolist() == ["m", "m"]
    assert rep["trigger_pooled"].values.tolist() == [0, 1]
    assert rep["draw"].values.tolist() == list(range(D))
    assert rep.attrs == {"scenario": deal.name, "currency": "EUR", "seed": 3,
                         "unfunded_costs_max": 0.0}


def test_replay_with_realised_units_and_triggers_kept(deal, ds):
    table = evaluate(ds, deal.evaluations, 3)
    # the wave's trigger replayed with 40 units, the pooled one kept as simulated
    rep = replay(deal, measured={"m": [0.3, None]}, units={"m": [40.0, math.nan]}, draws=D,
                 seed=3)
    assert rep["replayed"].values.tolist() == [1, 0]
    np.testing.assert_allclose(rep["trigger_units"].values[:, 0], 40.0)
    np.testing.assert_allclose(rep["measured_effect"].values[:, 0], 0.3)
    np.testing.assert_allclose(rep["trigger_units"].values[:, 1], table.units[:, 1])
    np.testing.assert_allclose(rep["measured_effect"].values[:, 1], table.measured_effect[:, 1])
    # units alone: the simulated effect with the realised units
    rep2 = replay(deal, measured={}, units={"m": 25.0}, draws=D, seed=3)
    assert rep2["replayed"].values.tolist() == [1, 1]
    np.testing.assert_allclose(rep2["trigger_units"].values, 25.0)
    np.testing.assert_allclose(rep2["measured_effect"].values, table.measured_effect)
    # nothing realised: the simulation as it is
    rep3 = replay(deal, measured={"m": None}, draws=D, seed=3)
    assert rep3["replayed"].values.tolist() == [0, 0]
    np.testing.assert_allclose(rep3["trigger_units"].values, table.units)


def test_replayed_triggers_pass_the_significance_gate():
    gated = small_deal(alpha=0.001)
    # a realised effect of 6% on about 180 events: far from significant, still paid on
    rep = replay(gated, measured={"m": 0.06}, draws=D, seed=3)
    assert (rep["payments_by_trigger"].values[:, 0] > 0).all()
    below = replay(gated, measured={"m": 0.04}, draws=D, seed=3)  # under the 5% threshold
    assert (below["payments_by_trigger"].values == 0).all()
    at = replay(gated, measured={"m": 0.05}, draws=D, seed=3)  # at it: paid
    assert (at["payments_by_trigger"].values[:, 0] > 0).all()


def test_per_trigger_values():
    assert np.isnan(rp._per_trigger("f", "m", None, 3)).all()
    assert rp._per_trigger("f", "m", 0.5, 2).tolist() == [0.5, 0.5]
    assert rp._per_trigger("f", "m", 2, 2).tolist() == [2.0, 2.0]
    out = rp._per_trigger("f", "m", [0.1, None, float("nan")], 3)
    assert out[0] == 0.1 and np.isnan(out[1:]).all()
    with pytest.raises(ValueError, match=r"^f\[m\]: got True; allowed: a number, or a list with "
                                         r"one number \(or None / nan\) per trigger$"):
        rp._per_trigger("f", "m", True, 2)
    with pytest.raises(ValueError, match=r"^f\[m\]: got \['a'\]; allowed: a number, or a list"):
        rp._per_trigger("f", "m", ["a"], 1)
    with pytest.raises(ValueError, match=r"^f\[m\]: got \[0\.1\]; allowed: a number or a list "
                                         r"of 2 values, one per trigger of 'm' \(per-wave "
                                         r"triggers in wave order, then the pooled one\)$"):
        rp._per_trigger("f", "m", [0.1], 2)


def test_replay_refusals(deal):
    with pytest.raises(ValueError, match=r"^replay\.deal: got 'Scenario'; allowed: a Deal with "
                                         r"money terms$"):
        replay(deal.scenario, measured={}, draws=2)
    with pytest.raises(ValueError, match=r"^replay\.measured: got \[0\.1\]; allowed: a mapping "
                                         r"from metric to realised value\(s\)$"):
        replay(deal, measured=[0.1], draws=2)
    with pytest.raises(ValueError, match=r"^replay\.units: got \['x', 'y'\]; allowed: evaluated "
                                         r"metrics of the deal: m$"):
        replay(deal, measured={}, units={"y": 1.0, "x": 2.0}, draws=2)
    with pytest.raises(ValueError, match=r"^replay\.units\[m\]: got"):
        replay(deal, measured={}, units={"m": [1.0]}, draws=2)


def test_per_event_saving_of_one_or_several_processes():
    assert rp._per_event(4000, None) == 4000.0
    assert rp._per_event({"a": 10.0, "b": 20.0}, "b") == 20.0
    assert rp._per_event({"a": 10.0}, "c") == 0.0


def test_first_cohorts_and_without_policy():
    p = load_scenario("peterborough")
    assert [r.kind for r in p.termination] != [] and without_policy(p).termination == ()
    two = first_cohorts(p, 2)
    assert two.scenario.cohort.entry == (1000, 1000) and two.scenario.cohort.size == 2000
    assert two.termination == ()
    one = first_cohorts(p, 1)
    assert one.scenario.cohort.entry == (1000,) and one.scenario.cohort.size == 1000
    n = p.scenario.cohort.n_waves
    assert first_cohorts(p, n).scenario.cohort.entry == tuple(p.scenario.cohort.entry)
    for bad in (0, n + 1):
        with pytest.raises(ValueError, match=r"first_cohorts\.n"):
            first_cohorts(p, bad)
    # per-wave effect multipliers are cut to the waves kept
    eff = p.scenario.effect
    by_wave = p.with_scenario(effect=replace(eff, by_wave=(1.0, 0.9, 0.8)[:n]))
    assert first_cohorts(by_wave, 2).scenario.effect.by_wave == (1.0, 0.9)
    assert first_cohorts(p, 2).scenario.effect.by_wave == tuple(eff.by_wave)[:2]


def test_a_replay_says_which_risks_it_does_not_apply():
    p = load_scenario("peterborough")
    rep = replay(p, measured={"reconviction": 0.09}, draws=4, seed=1)
    kinds = ", ".join(r.kind for r in p.termination if r.policy_risk)
    assert rep.attrs["not_applied"] == (
        f"termination rules decided outside the contract or stating a risk ({kinds}): a replay "
        "runs every planned cohort and sub-project; first_cohorts(deal, n) runs the cohorts "
        "that ran")
    assert "not_applied" not in replay(without_policy(p), measured={"reconviction": 0.09},
                                       draws=4, seed=1).attrs


def test_load_replays_reads_every_case_and_refuses_unknown_keys(monkeypatch):
    cases = rp.load_replays()
    assert all(isinstance(c, ReplayCase) and isinstance(c.sources, tuple) for c in cases)
    assert all(c.sources for c in cases)

    class Files:
        def __truediv__(self, name):
            return self

        def read_text(self, encoding):
            return '[[replay]]\nscenario = "x"\nlabel = "l"\nrealised = "r"\nreported = "p"\n' \
                   'colour = "red"\n'

    monkeypatch.setattr(rp.resources, "files", lambda pkg: Files())
    with pytest.raises(ValueError, match=r"^replays\.toml: replay\[0\]: got \['colour'\]; "
                                         r"allowed: keys cohorts, label, measured, note, "):
        rp.load_replays()


def test_run_replay_runs_the_cohorts_that_ran():
    case = ReplayCase(scenario="peterborough", label="l", realised="r", reported="p",
                      sources=("s",), measured={"reconviction": 0.09}, cohorts=2)
    rep = rp.run_replay(case, draws=4, seed=2)
    direct = replay(first_cohorts(load_scenario("peterborough"), 2),
                    measured={"reconviction": 0.09}, draws=4, seed=2)
    np.testing.assert_array_equal(rep["outcome_payments"].values,
                                  direct["outcome_payments"].values)
    assert rep.sizes["trigger"] == direct.sizes["trigger"]
    every = rp.run_replay(replace(case, cohorts=None), draws=4, seed=2)
    assert every.sizes["trigger"] > rep.sizes["trigger"]


@pytest.mark.parametrize(("name", "measured"), [("massachusetts-roca",
                                                  {"incarceration_days": 0.2}),
                                                 ("denver-housing", {"jail": 0.27})])
def test_replay_savings_value_each_metric_at_its_own_process(name, measured):
    """Each evaluation's units (its pooled trigger) valued at the payers' saving per event of
    the process it measures (denver-housing: a table of amounts by process, jail_days = 30)."""
    deal = load_scenario(name)
    rep = replay(deal, measured=measured, draws=4, seed=9)
    units = rep["trigger_units"].values
    pooled = rep["trigger_pooled"].values
    metrics = rep["trigger_metric"].values
    want = np.zeros(4)
    for ev in deal.evaluations:
        ks = [k for k in range(len(metrics)) if metrics[k] == ev.metric and pooled[k]] or \
            [k for k in range(len(metrics)) if metrics[k] == ev.metric]
        price = 0.0
        for p in deal.effective_payers:
            amount = p.saving_per_event if ev.outcome == "events" else \
                p.saving_per_person_period.get(ev.state, 0.0)
            price += float(amount.get(ev.process, 0.0)) if isinstance(amount, dict) else \
                float(amount)
        for k in ks:
            want += units[:, k] * price
    np.testing.assert_allclose(rep["commissioner_savings"].values, want, rtol=1e-12)
    assert np.abs(want).max() > 0


def test_replay_dims_and_descriptions_of_every_variable(deal):
    rep = replay(deal, measured={"m": 0.2}, draws=D, seed=3)
    dims = {k: rep[k].dims for k in rep.data_vars}
    per_trigger = ("draw", "trigger")
    assert dims == {"measured_effect": per_trigger, "trigger_units": per_trigger,
                    "replayed": ("trigger",), "payments_by_trigger": per_trigger,
                    **{k: ("draw",) for k in (
                        "outcome_payments", "investor_invested", "investor_received",
                        "investor_net", "guarantee_paid", "commissioner_paid",
                        "commissioner_savings", "commissioner_net")},
                    "investor_net_by_tranche": ("draw", "tranche")}
    assert {k: rep[k].attrs["description"] for k in (
        "trigger_units", "payments_by_trigger", "outcome_payments", "investor_invested",
        "investor_received", "investor_net_by_tranche", "guarantee_paid",
        "commissioner_paid")} == {
        "trigger_units": "Outcome units paid on: realised effect x counterfactual units, or the "
                         "realised units given.",
        "payments_by_trigger": "Outcome payment due on each trigger.",
        "outcome_payments": "Total outcome payments.",
        "investor_invested": "Capital drawn from all tranches.",
        "investor_received": "Cash received by all tranches, including the guarantee.",
        "investor_net_by_tranche": "Cash result of each tranche (undiscounted).",
        "guarantee_paid": "Paid by the guarantor.",
        "commissioner_paid": "Outcome payments less any excess returned to the commissioner."}


def test_load_replays_a_case_without_sources_has_none(monkeypatch):
    class Files:
        def __truediv__(self, name):
            return self

        def read_text(self, encoding):
            return '[[replay]]\nscenario = "x"\nlabel = "l"\nrealised = "r"\nreported = "p"\n'

    monkeypatch.setattr(rp.resources, "files", lambda pkg: Files())
    (case,) = rp.load_replays()
    assert case.sources == () and case.scenario == "x" and case.measured == {}


def test_a_replayed_interim_result_passes_the_gate_of_a_termination_rule():
    """A replay runs what happened: a realised interim result was reported, so it counts as
    passing the significance gate. An effect-below rule that also stops on a failed gate
    (``or_not_significant``) then stops nothing when the realised effect is above its
    threshold: the replay is the replay without any termination rule, draw by draw."""
    from sibsim.money.termination import EffectBelow

    deal = load_scenario("peterborough")
    runs = {}
    for name, rules in (("none", ()),
                        ("below", (EffectBelow("reconviction", 0.05),)),
                        ("or_gate", (EffectBelow("reconviction", 0.05,
                                                 or_not_significant=True),))):
        runs[name] = replay(deal.replace(termination=rules), {"reconviction": 0.2}, draws=12,
                            seed=4)
    for name in ("investor_invested", "outcome_payments", "investor_received",
                 "commissioner_net"):
        for rule in ("below", "or_gate"):
            np.testing.assert_array_equal(runs[rule][name].values, runs["none"][name].values,
                                          err_msg=f"{rule}: {name}")
    # below the threshold the same rule does stop the deal: the service stops after the
    # first cohort's result, and investors fund less of it
    low = replay(deal.replace(termination=(EffectBelow("reconviction", 0.05,
                                                       or_not_significant=True),)),
                 {"reconviction": 0.01}, draws=12, seed=4)
    free = replay(deal.replace(termination=()), {"reconviction": 0.01}, draws=12, seed=4)
    assert (low["investor_invested"].values < free["investor_invested"].values).all()


def test_progress_true_shows_the_simulation_bar_and_false_shows_none(deal, capsys):
    """``progress`` reaches the simulation: True shows its bar (on standard error, even when it
    is not a terminal, as under pytest), False nothing."""
    replay(deal, {"m": 0.1}, draws=D, seed=3, progress=True)
    err = capsys.readouterr().err
    assert err.startswith("\rdraws 0/") and f"draws {D}/{D} |" in err and "100%" in err
    replay(deal, {"m": 0.1}, draws=D, seed=3, progress=False)
    assert capsys.readouterr().err == ""
