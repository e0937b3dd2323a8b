"""Strata that enter at different times (``[[cohort.strata]]`` with their own ``entry``).

A stratum may give its own entry waves (people per period from its ``start``) instead of a share
of every wave: Lapset-SIB I's municipalities joined in 2019 and 2020, Tyhy-SIB's register office
a year before the other employers. The treated and comparison groups, every engine and the
evaluation follow it.
"""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from sibsim import (
    BinaryOutcome,
    Cohort,
    ComparisonGroup,
    CountOutcome,
    Effect,
    MarkovOutcome,
    Scenario,
    Stratum,
)
from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, parse_scenario
from test_engine_statistics import assert_cell_means

pytestmark = pytest.mark.usefixtures("warm_kernels")

STATES = ("well", "sick", "dead")
T = [[0.80, 0.15, 0.05], [0.30, 0.60, 0.10], [0.0, 0.0, 1.0]]


def staggered(kind: str = "markov", comparison: ComparisonGroup | None = None) -> Scenario:
    """Stratum "early" (own baseline) enters in periods 0 and 1, "late" in periods 2 and 3."""
    if kind == "markov":
        outcome = MarkovOutcome(STATES, T, events=[("well", "sick")])
        effect = Effect("hr", 0.6, targets=[("well", "sick")], engagement=0.8, dropout=0.1)
        early_base = [[0.9, 0.08, 0.02], T[1], T[2]]
    elif kind == "counts":
        outcome, effect, early_base = CountOutcome(1.2, dispersion=2.0), Effect(
            "rr", 0.7, engagement=0.8), 0.5
    else:
        outcome, effect, early_base = BinaryOutcome(0.3), Effect("or", 0.6, duration=2), 0.1
    strata = (Stratum("early", entry=(30, 20), baseline=early_base),
              Stratum("late", entry=(40, 10), start=2))
    return Scenario(cohort=Cohort(strata=strata), outcome=outcome, horizon=6, effect=effect,
                    comparison=comparison)


# ------------------------------------------------------------------ the specification
def test_cohort_entry_is_the_sum_of_the_strata():
    c = staggered().cohort
    assert c.entry == (30, 20, 40, 10) and c.size == 100
    assert c.stratum_people() == ((30, 0), (20, 0), (0, 40), (0, 10))
    assert c.stratum_shares == (0.5, 0.5)
    assert c.strata_own_entry
    # the cohort may restate its entry; it must agree
    assert Cohort(entry=(30, 20, 40, 10), strata=c.strata).entry == c.entry
    with pytest.raises(ValueError, match=r"Cohort.entry: got \(30, 20, 40, 11\); allowed: "
                                         r"the sum of the strata's own entry waves"):
        Cohort(entry=(30, 20, 40, 11), strata=c.strata)


@pytest.mark.parametrize("kwargs,message", [
    ({"name": "x"}, r"Stratum\[x\].share: got None; allowed: a share"),
    ({"name": "x", "share": 0.5, "entry": (3,)}, r"Stratum\[x\].share: got 0.5; allowed: no "
                                                  "share when the stratum gives its own entry"),
    ({"name": "x", "share": 0.5, "start": 1}, r"Stratum\[x\].start: got 1; allowed: 0 unless"),
    ({"name": "x", "entry": (0, 0)}, r"Stratum\[x\].entry: got \(0, 0\); allowed: at least"),
    ({"name": "x", "entry": (-1,)}, r"Stratum.entry\[0\]: got -1"),
    ({"name": "x", "entry": (3,), "start": -1}, r"Stratum.start: got -1"),
])
def test_stratum_refuses(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Stratum(**kwargs)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.lists(st.integers(0, 40), min_size=1,
                                                      max_size=3)).filter(lambda t: sum(t[1])),
                min_size=1, max_size=4),
       st.sampled_from([None, 0.5, 1.0, 3.0]))
def test_group_sizes_follow_the_strata_entries(strata, ratio):
    """Property: each stratum's treated people are its own entry waves; the comparison group of
    a wave is the cohort's for that wave, with nobody in a stratum that has no participant."""
    cohort = Cohort(strata=tuple(Stratum(f"s{i}", entry=tuple(e), start=s)
                                 for i, (s, e) in enumerate(strata)))
    sc = Scenario(cohort=cohort, outcome=BinaryOutcome(0.2), horizon=cohort.n_waves,
                  comparison=None if ratio is None else ComparisonGroup(ratio=ratio))
    sizes = np.array(sc.group_sizes())
    for k, (start, entry) in enumerate(strata):
        want = np.zeros(cohort.n_waves, int)
        want[start:start + len(entry)] = entry
        np.testing.assert_array_equal(sizes[0, :, k], want)
    assert cohort.size == sizes[0].sum() and cohort.entry == tuple(sizes[0].sum(1))
    if ratio is not None:
        np.testing.assert_array_equal(sizes[1].sum(1), sc.comparison.sizes(cohort))
        assert not ((sizes[1] > 0) & (sizes[0] == 0)).any()


def test_cohort_size_alone_must_agree_with_the_strata():
    strata = (Stratum("a", entry=(5,)), Stratum("b", entry=(3,), start=1))
    assert Cohort(size=8, strata=strata).entry == (5, 3)
    with pytest.raises(ValueError, match=r"Cohort.size: got 9; allowed: the sum of the entry "
                                         r"waves \(8\)"):
        Cohort(size=9, strata=strata)


def test_strata_give_their_own_entry_all_or_none():
    with pytest.raises(ValueError, match=r"Stratum\[b\].entry: got None; allowed: the "
                                         r"stratum's own entry, as the other strata"):
        Cohort(strata=(Stratum("a", entry=(5,)), Stratum("b", share=0.5)))


def test_comparison_group_follows_each_waves_strata():
    sc = staggered(comparison=ComparisonGroup(ratio=2))
    treated, comparison = sc.group_sizes()
    assert treated == [[30, 0], [20, 0], [0, 40], [0, 10]]
    assert comparison == [[60, 0], [40, 0], [0, 80], [0, 20]]
    by_size = staggered(comparison=ComparisonGroup(size=50)).group_sizes()[1]
    assert by_size == [[15, 0], [10, 0], [0, 20], [0, 5]]


# ------------------------------------------------------------------ the engines
@pytest.mark.parametrize("kind", ["markov", "counts", "binary"])
def test_a_late_stratum_is_simulated_as_a_cohort_entering_then(kind):
    """Expected engine: the late stratum's wave 2 equals a one-stratum cohort entering in
    period 2 (to 1e-12), and nobody of a stratum is present in a wave it does not enter."""
    sc = staggered(kind)
    ds = sibsim.simulate(sc, draws=1, seed=1, engine="expected", progress=False)
    alone = Scenario(cohort=Cohort(entry=(0, 0, 40)), outcome=sc.outcome, horizon=6,
                     effect=sc.effect)
    ref = sibsim.simulate(alone, draws=1, seed=1, engine="expected", progress=False)
    got = ds["events"].sel(arm="treatment", wave=2, stratum="late").values
    np.testing.assert_allclose(got, ref["events"].sel(arm="treatment", wave=2).sum(
        "stratum").values, rtol=1e-12, atol=1e-12)
    for var in ("events", "engaged", "present"):
        x = ds[var].sel(arm="treatment")
        assert float(abs(x.sel(stratum="early", wave=[2, 3])).sum()) == 0.0
        assert float(abs(x.sel(stratum="late", wave=[0, 1])).sum()) == 0.0
    assert ds.attrs["strata_own_entry"] == 1


@pytest.mark.parametrize("engine", ["individual", "aggregate"])
@pytest.mark.parametrize("kind", ["markov", "counts", "binary"])
def test_stochastic_engines_converge_to_the_expected_trace(kind, engine):
    sc = staggered(kind, comparison=ComparisonGroup(ratio=1))
    sim = sibsim.simulate(sc, draws=400, seed=3, engine=engine, progress=False)
    exp = sibsim.simulate(sc, draws=1, seed=3, engine="expected", progress=False)
    for name in ["events", "engaged"] + (["occupancy"] if "occupancy" in sim else []):
        assert_cell_means(sim[name].values, exp[name].values[0], f"{kind}/{engine}: {name}")


# ------------------------------------------------------------------ scenario files
def _doc(strata: str, top: str = 'start_year = 2019\n', horizon: int = 4) -> dict:
    return tomllib.loads(f'''
name = "late"
horizon = {horizon}
{top}
[cohort]
{strata}
[outcome]
kind = "binary"
probability = 0.2
''')


def test_start_year_is_counted_from_the_files_start_year():
    strata = ('[[cohort.strata]]\nname = "a"\nentry = [5]\n'
              '[[cohort.strata]]\nname = "b"\nstart_year = 2021\nentry = [7, 2]\n')
    deal = parse_scenario(_doc(strata))
    assert deal.scenario.cohort.strata[1].start == 2
    assert deal.scenario.cohort.entry == (5, 0, 7, 2)
    quarters = parse_scenario(_doc(strata, 'start_year = 2019\nperiod = "quarter"', 12))
    assert quarters.scenario.cohort.strata[1].start == 8


@pytest.mark.parametrize("strata,top,message", [
    ('[[cohort.strata]]\nname = "a"\nstart_year = 2020\nentry = [5]\n', "",
     r"key 'cohort.strata\[0\].start_year': needs the file's top-level start_year"),
    ('[[cohort.strata]]\nname = "a"\nstart_year = 2018\nentry = [5]\n', "start_year = 2019",
     r"key 'cohort.strata\[0\].start_year': got 2018; allowed: a calendar year from"),
    ('[[cohort.strata]]\nname = "a"\nstart_year = 2020\nstart = 1\nentry = [5]\n',
     "start_year = 2019", r"give start \(a period\) or start_year"),
    ('[[cohort.strata]]\nname = "a"\nstart = 9\nentry = [5]\n', "start_year = 2019",
     "no more entry waves than the horizon"),
    ('[[cohort.strata]]\nname = "a"\nentry = [5]\n[[cohort.strata]]\nname = "b"\n'
     'share = 0.5\n', "", r"Stratum\[b\].entry: got None"),
])
def test_scenario_file_refuses(strata, top, message):
    with pytest.raises(ScenarioFileError, match=message):
        parse_scenario(_doc(strata, top))


# ------------------------------------------------------------------ evaluation and money
def test_a_per_wave_evaluation_measures_only_the_waves_its_strata_enter():
    """Lapset-SIB I: each municipality's evaluation measures its own entry year only."""
    deal = sibsim.load_scenario("lapset-sib-1")
    cohort = deal.scenario.cohort
    assert cohort.entry == (150, 350)
    assert dict(zip(cohort.stratum_names, (s.start for s in cohort.strata), strict=True)) == {
        "hameenlinna": 0, "lohja": 0, "helsinki": 1, "vantaa": 1, "kemionsaari": 1}
    r = sibsim.analyse(deal.replace(termination=()), draws=8, seed=2, progress=False)
    m = r.money
    triggers = {str(mt): int(p) for mt, p in zip(m["trigger_metric"].values,
                                                 m["trigger_participants"].values,
                                                 strict=True)}
    assert triggers == {"placement_years_hameenlinna": 50, "placement_years_lohja": 100,
                        "placement_years_helsinki": 200, "placement_years_vantaa": 100,
                        "placement_years_kemionsaari": 50}


def test_a_share_stratum_empty_in_a_wave_is_still_refused():
    """Without own entry waves an evaluated stratum with nobody in a wave is a rounding
    accident and still refused (the check is relaxed only for strata that say when they enter)."""
    doc = tomllib.loads(builtin_scenarios()["lapset-sib-1"].read_text(encoding="utf-8"))
    doc["cohort"] = {"entry": [150, 3], "strata": [
        {"name": n, "share": s} for n, s in (("hameenlinna", 0.1), ("lohja", 0.2),
                                            ("helsinki", 0.4), ("vantaa", 0.2),
                                            ("kemionsaari", 0.1))]}
    with pytest.raises(ScenarioFileError, match="at least one participant in every entry wave"):
        parse_scenario(doc)
