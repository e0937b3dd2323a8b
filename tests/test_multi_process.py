"""Several outcome processes per participant (``Scenario.other_processes``, ``[[outcome]]``).

Statistical tests use fixed seeds and tolerances of 4 Monte Carlo standard errors.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import sibsim
from sibsim import (
    BinaryOutcome,
    Cohort,
    ComparisonGroup,
    CountOutcome,
    Effect,
    Frailty,
    MarkovOutcome,
    Scenario,
)
from sibsim.money.municipality import Municipality
from sibsim.scenario_file import ScenarioFileError, parse_scenario
from sibsim.spec.scenario import Process

pytestmark = pytest.mark.usefixtures("warm_kernels")

HOUSING = MarkovOutcome(("housed", "homeless", "dead"),
                        [[0.85, 0.13, 0.02], [0.25, 0.72, 0.03], [0, 0, 1]],
                        initial="homeless", events=[("housed", "homeless")], name="housing")
HOUSING_EFFECT = Effect("hr", 2.0, targets=[("homeless", "housed")], engagement=0.8,
                        dropout=0.05)
JAIL = CountOutcome(rate=2.0, name="jail_days")
JAIL_EFFECT = Effect("rr", 0.7)


def two_processes(n: int = 400, frailty: Frailty | None = None, **kw) -> Scenario:
    args = dict(cohort=Cohort(entry=(n, n)), comparison=ComparisonGroup(ratio=1), horizon=4,
                outcome=HOUSING, effect=HOUSING_EFFECT, frailty=frailty,
                other_processes=(Process(JAIL, JAIL_EFFECT),))
    args.update(kw)
    return Scenario(**args)


def totals(ds, process, arm="treatment"):
    return ds["events"].sel(process=process, arm=arm).sum(("wave", "stratum", "period")).values


# ------------------------------------------------------------------ specification
def test_single_process_scenario_is_its_own_first_process():
    sc = Scenario(cohort=Cohort(size=10), outcome=JAIL, horizon=2, effect=JAIL_EFFECT)
    assert sc.process_names == ("jail_days",)
    assert sc.process_scenario(0) is sc
    assert sc.processes[0] == Process(JAIL, JAIL_EFFECT)


def test_parameters_of_further_processes_are_prefixed():
    sc = two_processes(other_processes=(
        Process(CountOutcome(rate=sibsim.Gamma.from_mean_sd(2.0, 0.1), name="jail_days"),
                Effect("rr", sibsim.LogNormal.from_mean_sd(0.8, 0.05))),))
    names = list(sc.parameters())
    assert names == ["effect.value", "effect.engagement", "effect.dropout",
                     "jail_days.baseline.rate", "jail_days.effect.value"]
    # the second process's own scenario takes the service's engagement and drop-out
    sub = sc.process_scenario(1)
    assert sub.effect.engagement == HOUSING_EFFECT.engagement
    assert sub.effect.dropout == HOUSING_EFFECT.dropout
    assert sub.other_processes == () and sub.outcome.name == "jail_days"


def test_process_names_must_be_distinct_and_not_reserved():
    with pytest.raises(ValueError, match="names: one per process"):
        two_processes(other_processes=(Process(CountOutcome(rate=1.0, name="housing")),))
    with pytest.raises(ValueError, match="a name other than baseline"):
        two_processes(other_processes=(Process(CountOutcome(rate=1.0, name="baseline")),))


def test_effects_must_agree_on_engagement():
    with pytest.raises(ValueError, match=r"Effect\.engagement"):
        two_processes(other_processes=(Process(JAIL, Effect("rr", 0.7, engagement=0.5)),))
    # the default (1.0) takes the service's engagement
    sc = two_processes(other_processes=(Process(JAIL, Effect("rr", 0.7, engagement=0.8)),))
    assert sc.service_effect.engagement == HOUSING_EFFECT.engagement


def test_process_checks_its_effect():
    with pytest.raises(ValueError, match=r"Effect\.targets"):
        Process(HOUSING, Effect("rr", 0.7))
    with pytest.raises(TypeError, match=r"Process\.outcome"):
        Process("housing")


def test_with_effect_none_removes_every_effect():
    cf = two_processes().with_effect(None)
    assert all(p.effect is None for p in cf.processes)


# ------------------------------------------------------------------ dataset
@pytest.mark.parametrize("engine", ["individual", "aggregate", "expected"])
def test_dataset_has_a_process_dimension(engine):
    ds = sibsim.simulate(two_processes(n=50), draws=3, seed=1, engine=engine, progress=False)
    sibsim.dataset.check(ds)
    assert ds["events"].dims[-1] == "process"
    assert list(ds["process"].values) == ["housing", "jail_days"]
    assert list(ds["process_kind"].values) == ["markov", "counts"]
    assert ds["occupancy"].dims[-2:] == ("process", "state")
    assert ds.attrs["outcome_kind"] == "markov,counts"
    # a count process has no states: its occupancy is NaN, the Markov one's is whole people
    assert np.isnan(ds["occupancy"].sel(process="jail_days")).all()
    occ = ds["occupancy"].sel(process="housing").sum("state")
    np.testing.assert_allclose(occ.values, np.broadcast_to(ds["present"].values, occ.shape))


def test_expected_engine_gives_each_process_its_single_process_trace():
    """Bitwise: with fixed parameters the processes are simulated as their own scenarios."""
    sc = two_processes()
    ds = sibsim.simulate(sc, draws=2, seed=3, engine="expected", progress=False)
    for i, name in enumerate(sc.process_names):
        alone = sibsim.simulate(sc.process_scenario(i), draws=2, seed=3, engine="expected",
                                progress=False)
        np.testing.assert_array_equal(ds["events"].sel(process=name).values,
                                      alone["events"].values)
        if i == 0:  # engagement is recorded from the first process
            np.testing.assert_array_equal(ds["engaged"].values, alone["engaged"].values)
        np.testing.assert_allclose(ds["engaged"].values, alone["engaged"].values, rtol=1e-12)


@pytest.mark.parametrize("engine", ["individual", "aggregate"])
def test_marginals_match_the_single_process_runs(engine):
    """Each process's mean events equal those of the process simulated alone (4 MC SEs)."""
    frailty = Frailty(0.5, shared=True) if engine == "individual" else None
    sc = two_processes(n=200, frailty=frailty)
    D = 400
    ds = sibsim.simulate(sc, draws=D, seed=11, engine=engine, progress=False)
    for i, name in enumerate(sc.process_names):
        alone = sibsim.simulate(sc.process_scenario(i), draws=D, seed=12, engine=engine,
                                progress=False)
        for arm in ("treatment", "comparison"):
            a = totals(ds, name, arm)
            b = alone["events"].sel(arm=arm).sum(("wave", "stratum", "period")).values
            se = np.sqrt(a.var(ddof=1) / D + b.var(ddof=1) / D)
            assert abs(a.mean() - b.mean()) < 4 * se, (name, arm)


def _corr(x, y):
    return float(np.corrcoef(x, y)[0, 1])


def test_shared_frailty_correlates_the_processes():
    """Two count processes of rate 2 with a shared gamma frailty of variance 1: per person
    corr = 4 / 6 = 0.67 (sums of iid people keep it); without sharing it is 0. SE ~ 0.05."""
    base = dict(cohort=Cohort(size=40), horizon=1, outcome=CountOutcome(2.0, name="a"),
                other_processes=(Process(CountOutcome(2.0, name="b")),))
    D = 400
    shared = sibsim.simulate(Scenario(frailty=Frailty(1.0, shared=True), **base), draws=D,
                             seed=5, progress=False)
    apart = sibsim.simulate(Scenario(frailty=Frailty(1.0), **base), draws=D, seed=5,
                            progress=False)
    assert shared.attrs["engine"] == "individual"
    c_shared = _corr(totals(shared, "a"), totals(shared, "b"))
    c_apart = _corr(totals(apart, "a"), totals(apart, "b"))
    assert abs(c_shared - 4 / 6) < 4 * 0.05
    assert abs(c_apart) < 4 * 0.05
    # the marginal of each process is unchanged by the sharing: mean 80, variance 40*(2+4)
    for ds in (shared, apart):
        for p in ("a", "b"):
            x = totals(ds, p)
            assert abs(x.mean() - 80.0) < 4 * np.sqrt(240.0 / D)


def test_engagement_is_the_persons_in_the_individual_engine():
    """Both processes' effects remove every event of the engaged (rr = 0); half engage. If the
    same people are engaged in both, per person cov = var(1 - j) * r**2 = 1 and corr = 0.5; the
    comparison arm (nobody engaged) shows no correlation."""
    sc = Scenario(cohort=Cohort(size=40), comparison=ComparisonGroup(ratio=1), horizon=1,
                  outcome=CountOutcome(2.0, name="a"), effect=Effect("rr", 0.0, engagement=0.5),
                  other_processes=(Process(CountOutcome(2.0, name="b"), Effect("rr", 0.0)),))
    D = 400
    ds = sibsim.simulate(sc, draws=D, seed=8, engine="individual", progress=False)
    assert abs(_corr(totals(ds, "a"), totals(ds, "b")) - 0.5) < 4 * 0.05
    assert abs(_corr(totals(ds, "a", "comparison"), totals(ds, "b", "comparison"))) < 4 * 0.05


def test_chunking_does_not_change_multi_process_results(strip_created):
    sc = two_processes(n=50, frailty=Frailty(0.5, shared=True))
    a = sibsim.simulate(sc, draws=12, seed=4, progress=False)
    b = sibsim.simulate(sc, draws=12, seed=4, chunk_draws=5, progress=False)
    assert strip_created(a).identical(strip_created(b))


THREAD_SCRIPT = textwrap.dedent("""
    import hashlib, json, sys
    import numba
    import sibsim
    from sibsim import Cohort, ComparisonGroup, CountOutcome, Effect, Frailty, MarkovOutcome
    from sibsim import Scenario
    from sibsim.spec.scenario import Process
    sc = Scenario(cohort=Cohort(entry=(5000, 300)), comparison=ComparisonGroup(ratio=1),
                  horizon=3, frailty=Frailty(0.5, shared=True),
                  outcome=MarkovOutcome(("w", "s", "d"), [[0.8, 0.15, 0.05], [0.3, 0.6, 0.1],
                                                          [0, 0, 1]], events=[("w", "s")]),
                  effect=Effect("rr", 0.7, targets=[("w", "s")], engagement=0.8, dropout=0.1),
                  other_processes=(Process(CountOutcome(1.5, name="c"), Effect("rr", 0.8)),))
    out = {"threads": numba.get_num_threads()}
    for engine in ("individual", "expected"):
        ds = sibsim.simulate(sc, draws=6, seed=99, engine=engine, progress=False)
        h = hashlib.sha256()
        for var in ("events", "engaged", "occupancy"):
            h.update(ds[var].values.tobytes())
        out[engine] = h.hexdigest()
    json.dump(out, sys.stdout)
""")


def _run_with_threads(n: int) -> dict:
    env = dict(os.environ)
    env["NUMBA_NUM_THREADS"] = str(n)
    src = str(Path(sibsim.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    res = subprocess.run([sys.executable, "-c", THREAD_SCRIPT], env=env, capture_output=True,
                         text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_thread_count_does_not_change_multi_process_results():
    one, two = _run_with_threads(1), _run_with_threads(2)
    assert one.pop("threads") == 1 and two.pop("threads") == 2
    assert one == two and len(one) == 2


def test_auto_engine_is_individual_with_shared_frailty():
    ds = sibsim.simulate(two_processes(n=20, frailty=Frailty(0.3, shared=True)), draws=2,
                         seed=1, progress=False)
    assert ds.attrs["engine"] == "individual"
    assert "shared by the outcome processes" in ds.attrs["engine_reason"]


# ------------------------------------------------------------------ scenario files
MULTI_TOML = """
horizon = 4
[cohort]
entry = [100, 100]
[comparison]
ratio = 1
[frailty]
variance = 0.5
shared = true

[[outcome]]
kind = "markov"
name = "housing"
states = ["housed", "homeless", "dead"]
initial = "homeless"
events = [["housed", "homeless"]]
transitions = [[0.85, 0.13, 0.02], [0.25, 0.72, 0.03], [0, 0, 1]]
[outcome.effect]
measure = "hr"
value = 2.0
targets = [["homeless", "housed"]]
engagement = 0.8

[[outcome]]
kind = "counts"
name = "jail_days"
rate = 2.0
[outcome.effect]
value = 0.7
"""

MONEY_TOML = """
[[evaluation]]
metric = "housed"
process = "housing"
outcome = "occupancy"
state = "housed"
direction = "increase"
window = 2
per_wave = false
[[evaluation]]
metric = "jail"
process = "jail_days"
window = 2
per_wave = false
[contract]
[[contract.terms]]
metric = "housed"
rule = {kind = "price_per_unit", price = 1000}
[[contract.terms]]
metric = "jail"
rule = {kind = "price_per_unit", price = 100}
[capital]
[[capital.tranches]]
name = "senior"
commitment = 1_000_000
[municipality]
saving_per_event = {jail_days = 150}
saving_per_person_period = {homeless = 2000}
"""


def _load(text: str):
    import tomllib
    return parse_scenario(tomllib.loads(text), "multi.toml")


def test_outcome_array_of_tables_reads_several_processes():
    sc = _load(MULTI_TOML).scenario
    assert sc.process_names == ("housing", "jail_days")
    assert sc.effect.targets == (("homeless", "housed"),)
    assert sc.other_processes[0].effect == Effect("rr", 0.7)
    assert sc.frailty.shared is True


def test_outcome_array_refuses_a_top_level_effect():
    with pytest.raises(ScenarioFileError, match=r"key 'effect'.*outcome\.effect"):
        _load(MULTI_TOML + "\n[effect]\nvalue = 0.8\n")


def test_single_outcome_array_equals_the_outcome_table():
    one = _load("horizon = 2\n[cohort]\nsize = 10\n[[outcome]]\nkind = 'counts'\nrate = 1.0\n"
                "[outcome.effect]\nvalue = 0.8\n").scenario
    flat = _load("horizon = 2\n[cohort]\nsize = 10\n[outcome]\nkind = 'counts'\nrate = 1.0\n"
                 "[effect]\nvalue = 0.8\n").scenario
    assert one == flat


def test_money_of_several_processes():
    deal = _load(MULTI_TOML + MONEY_TOML)
    ds = sibsim.simulate(deal, draws=40, seed=2, progress=False)
    cf = sibsim.money.sib.counterfactual(deal, 40, 2)
    money = sibsim.money.sib.money_flows(deal, ds, cf)
    by = money["avoided_events_by_process"]
    assert list(by["process"].values) == ["housing", "jail_days"]
    np.testing.assert_array_equal(money["avoided_events"].values,
                                  by.sel(process="housing").values)
    # savings: 150 per jail day avoided + 2000 per homeless person-period avoided
    treated = dict(arm="treatment")
    hom = (cf["occupancy"].sel(process="housing", state="homeless", **treated)
           - ds["occupancy"].sel(process="housing", state="homeless", **treated)).sum(
        ("wave", "stratum")).values
    np.testing.assert_allclose(money["cashable_savings"].values,
                               150 * by.sel(process="jail_days").values + 2000 * hom)
    # each evaluation measured its own process
    jail = deal.evaluations[1]
    assert jail.process == "jail_days"
    assert money["trigger_metric"].values.tolist() == ["housed", "jail"]


def test_deal_requires_processes_to_be_named():
    deal = _load(MULTI_TOML + MONEY_TOML)
    ev = deal.evaluations
    with pytest.raises(ValueError, match=r"Evaluation\[housed\].process.*several"):
        deal.replace(evaluations=(dataclasses.replace(ev[0], process=None), ev[1]))
    with pytest.raises(ValueError, match=r"Evaluation\[jail\].state"):
        deal.replace(evaluations=(ev[0], dataclasses.replace(ev[1], outcome="occupancy",
                                                             state="housed")))
    with pytest.raises(ValueError, match="an amount per process"):
        deal.replace(municipality=Municipality(saving_per_event=150.0))
    with pytest.raises(ValueError, match="process names"):
        deal.replace(municipality=Municipality(saving_per_event={"jail": 150.0}))


def test_single_process_deal_accepts_its_process_name():
    deal = sibsim.load_scenario("nyc-able")
    ev = dataclasses.replace(deal.evaluations[0], process="jail day")
    assert deal.replace(evaluations=(ev,)).evaluations[0].process == "jail day"
    with pytest.raises(ValueError, match=r"Evaluation.*process"):
        deal.replace(evaluations=(dataclasses.replace(ev, process="housing"),))
    # a per-process amount keyed by the only process equals the plain number
    a = deal.replace(municipality=dataclasses.replace(deal.municipality,
                                                      saving_per_event={"jail day": 250.0}))
    ds = sibsim.simulate(deal, draws=20, seed=1, progress=False)
    cf = sibsim.money.sib.counterfactual(deal, 20, 1)
    m1 = sibsim.money.sib.money_flows(deal, ds, cf)
    m2 = sibsim.money.sib.money_flows(a, ds, cf)
    np.testing.assert_array_equal(m1["cashable_savings"].values, m2["cashable_savings"].values)


def test_hash_of_first_process_events_depends_on_the_data():
    """Guards the thread test above: the hash sees the events."""
    sc = two_processes(n=20)
    digests = {hashlib.sha256(sibsim.simulate(sc, draws=2, seed=s, progress=False)["events"]
                              .values.tobytes()).hexdigest() for s in (1, 2)}
    assert len(digests) == 2


def test_binary_process_beside_markov_in_individual_engine():
    sc = two_processes(n=30, other_processes=(Process(BinaryOutcome(0.3, recurrent=False,
                                                                    name="arrest")),))
    ds = sibsim.simulate(sc, draws=3, seed=1, engine="individual", progress=False)
    occ = ds["occupancy"].sel(process="arrest", state=["at_risk", "event"]).sum("state")
    np.testing.assert_allclose(occ.values, np.broadcast_to(ds["present"].values, occ.shape))


def test_in_service_costs_follow_the_process_with_states():
    from sibsim.money.capital import ServiceCosts
    deal = _load(MULTI_TOML + MONEY_TOML)
    deal = deal.replace(service_costs=ServiceCosts(per_participant=10.0, basis="in_service"),
                        service_periods=2)
    ds = sibsim.simulate(deal, draws=5, seed=2, progress=False)
    money = sibsim.money.sib.money_flows(deal, ds, sibsim.money.sib.counterfactual(deal, 5, 2))
    alive = ds["engaged_occupancy"].sel(arm="treatment", process="housing",
                                        state=["housed", "homeless"]).sum(("state", "stratum"))
    mask = np.array([[1, 1, 0, 0], [0, 1, 1, 0]])[None]
    np.testing.assert_allclose(money["participants_served"].values,
                               (alive.values * mask).sum(1))
    assert ds["absorbing"].sel(process="housing").values.tolist() == [False, False, True]


def test_payers_value_each_process_at_their_own_amounts():
    from sibsim.money.payers import Payer
    deal = _load(MULTI_TOML + MONEY_TOML)
    split = deal.replace(municipality=Municipality(), payers=(
        Payer("city", shares=0.5, saving_per_event={"jail_days": 100.0},
              saving_per_person_period={"homeless": 2000.0}),
        Payer("state", shares=0.5, saving_per_event={"jail_days": 50.0})))
    ds = sibsim.simulate(deal, draws=5, seed=2, progress=False)
    cf = sibsim.money.sib.counterfactual(deal, 5, 2)
    one = sibsim.money.sib.money_flows(deal, ds, cf)
    two = sibsim.money.sib.money_flows(split, ds, cf)
    np.testing.assert_allclose(two["cashable_savings"].values, one["cashable_savings"].values)
    with pytest.raises(ValueError, match=r"Deal\.payers\[1\]\.saving_per_event"):
        split.replace(payers=(split.payers[0], Payer("state", shares=0.5,
                                                     saving_per_event=50.0)))


def test_overrides_of_a_second_process_are_range_checked():
    """A per-draw value for another process's parameter gets the same range check as the
    first process's: a negative relative risk for jail days is refused, a valid one runs."""
    import numpy as np

    sc = two_processes(n=50)
    assert "jail_days.effect.value" in sc.parameters()
    with pytest.raises(ValueError, match=r"overrides\[jail_days\.effect\.value\]"):
        sibsim.simulate(sc, draws=3, seed=1, engine="expected",
                        overrides={"jail_days.effect.value": np.array([-1.0, 1.0, 1.0])})
    ds = sibsim.simulate(sc, draws=3, seed=1, engine="expected",
                         overrides={"jail_days.effect.value": np.array([0.5, 1.0, 1.0])})
    assert ds.sizes["draw"] == 3


# ------------------------------------------------------------------ the library: lapset-sib-2


def test_lapset_sib_2_pays_the_age_25_milestone_once_in_each_age_bands_year():
    """Three processes; the first (in work or study) has a transition list per age band whose
    milestone falls in the year of the 25th birthday; its rate card counts that transition."""
    deal = sibsim.load_scenario("lapset-sib-2")
    assert deal.scenario.process_names == ("activity", "education", "absences")
    cards = {c.name: c for c in deal.contract.rate_cards}
    for site in ("tampere", "jyvaskyla"):   # one rate card per site and milestone
        assert cards[f"in_work_or_study_at_25_{site}"].process == "activity"
        assert cards[f"degree_completed_{site}"].process == "education"
    ds = sibsim.simulate(deal.scenario, draws=2, seed=1, engine="expected", progress=False)
    events = ds["events"].sel(process="activity", arm="treatment")   # (draw, wave, stratum, P)
    entry = ds["entry_period"].values
    for stratum in ds["stratum"].values:
        age = int(str(stratum).split("_")[1])
        for w, e in enumerate(entry):
            ev = events.sel(stratum=stratum).isel(wave=w).values
            year = e + 25 - age
            # events only in the milestone year, and at most one per young person
            assert np.all(np.delete(ev, year, axis=-1) == 0.0)
            size = float(ds["size"].sel(arm="treatment", stratum=stratum).isel(wave=w))
            if size == 0:   # site x age-band strata: a site's young people enter in one wave
                assert np.all(ev == 0.0)
                continue
            assert np.all((ev[:, year] > 0) & (ev[:, year] <= size))
