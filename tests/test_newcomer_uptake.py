"""Newcomer uptake (``Cohort.newcomer_uptake``, Tyhy-SIB): newcomers who take a leaver's place
while the wave's service still runs take up the individual service themselves.

The closed form, by hand. One stratum, entry waves of ``n_w`` people entering in period ``w``,
a Poisson count of rate ``lam`` a period. A share ``g`` engage at entry; at the start of each
period ``t`` after the wave's entry a place changes holder with probability ``r`` (turnover),
whether its holder is engaged or not; an engaged holder who stays drops out with probability
``d``; a newcomer who joins while the wave's service runs (``t - w < onset + duration``) takes
up the service with probability ``u``. The share of a wave's places held by an engaged person
is then a two-state chain per place:

    p_w = g,    p_t = p_{t-1} (1 - d) (1 - r) + r u [t - w < onset + duration],

and the treated arm's expected events in period ``t`` are ``n lam ((1 - p_t) o**s + p_t e**s)``
with ``s`` the effect's strength at the wave's time since entry (a newcomer gets the wave's
strength), ``e`` the engaged people's rate ratio and ``o`` the organisation-level ratio of the
others (1 without it). Engaged places are independent, so a wave's engaged people in period
``t`` are binomial(``n``, ``p_t``) in each draw of the stochastic engines.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from sibsim import Beta, Cohort, ComparisonGroup, CountOutcome, Effect, Scenario, Stratum
from sibsim.dataset.build import simulate
from sibsim.engine.overrides import check_overrides
from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, parse_scenario
from sibsim.spec.distributions import Fixed
from sibsim.spec.scenario import SERVICE_PARAMETERS, Process, is_service_parameter

pytestmark = pytest.mark.usefixtures("warm_kernels")

Z = 4.5  # standard errors, as tests/test_turnover.py
ENGINES = ["expected", "aggregate", "individual"]


def scenario(u=0.5, n=(600, 400), lam=5.0, e=0.6, g=0.7, r=0.2, d=0.1, horizon=5,
             duration=2, decay=0.5, onset=0, organisation=None):
    return Scenario(cohort=Cohort(entry=n, turnover=r, newcomer_uptake=u),
                    outcome=CountOutcome(rate=lam), horizon=horizon,
                    effect=Effect("rr", e, engagement=g, dropout=d, onset=onset,
                                  duration=duration, decay=decay, organisation=organisation),
                    comparison=ComparisonGroup(ratio=1))


def strength(tau, onset, duration, decay):
    """The effect's strength at time since entry ``tau`` (Effect's docstring, by hand)."""
    if tau < onset:
        return 0.0
    if duration is None or tau < onset + duration:
        return 1.0
    return (1.0 - decay) ** (tau - onset - duration + 1)


def closed_form(u=0.5, n=(600, 400), lam=5.0, e=0.6, g=0.7, r=0.2, d=0.1, horizon=5,
                duration=2, decay=0.5, onset=0, organisation=None):
    """Expected engaged people and treated events per (wave, period), from the module
    docstring."""
    o = 1.0 if organisation is None else organisation
    engaged = np.zeros((len(n), horizon))
    events = np.zeros((len(n), horizon))
    for w, nw in enumerate(n):
        p = g
        for t in range(w, horizon):
            if t > w:
                runs = duration is None or t - w < onset + duration
                p = p * (1 - d) * (1 - r) + (r * u if runs else 0.0)
            s = strength(t - w, onset, duration, decay)
            engaged[w, t] = nw * p
            events[w, t] = nw * lam * ((1 - p) * o**s + p * e**s)
    return engaged, events


def treated(ds, name):
    return ds[name].sel(arm="treatment").sum("stratum").values  # (D, W, P)


# ------------------------------------------------------------------ the field, one message form
@pytest.mark.parametrize(("value", "message"), [
    (70, "Cohort.newcomer_uptake: got 70; allowed: a probability that a newcomer takes up the "
         "service in [0, 1], a fraction: write 0.7 for 70%"),
    (-0.1, "Cohort.newcomer_uptake: got 'fixed(value=-0.1)'; allowed: a probability that a "
           "newcomer takes up the service"),
])
def test_uptake_outside_zero_to_one_is_refused_naming_field_value_and_range(value, message):
    with pytest.raises(ValueError) as info:
        Cohort(size=10, turnover=0.1, newcomer_uptake=value)
    assert str(info.value).startswith(message)
    with pytest.raises(ValueError, match=r"^Stratum\[a\]\.newcomer_uptake: got"):
        Stratum("a", 1.0, newcomer_uptake=value)


def test_it_is_a_service_parameter_only_where_places_change_hands():
    assert "cohort.newcomer_uptake" in SERVICE_PARAMETERS
    assert is_service_parameter("cohort.newcomer_uptake[office]")
    beta = Beta.from_mean_sd(0.7, 0.1)
    c = Cohort(size=10, turnover=0.1, newcomer_uptake=beta)
    assert c.has_newcomer_uptake and c.parameters() == {"cohort.turnover": Fixed(0.1),
                                                        "cohort.newcomer_uptake": beta}
    assert Cohort(size=10, turnover=0.1).parameters() == {"cohort.turnover": Fixed(0.1)}
    # no turnover: nobody joins, nothing to take up (no parameter)
    assert Cohort(size=10, newcomer_uptake=0.5).parameters() == {}
    own = Cohort(size=10, turnover=0.1, newcomer_uptake=0.5,
                 strata=(Stratum("a", 0.5, newcomer_uptake=0.9), Stratum("b", 0.5)))
    assert own.parameters() == {"cohort.turnover": Fixed(0.1),
                                "cohort.newcomer_uptake": Fixed(0.5),
                                "cohort.newcomer_uptake[a]": Fixed(0.9)}


def _data(cohort=None, stratum=None):
    strata = [{"name": "a", "entry": [100], **(stratum or {})}, {"name": "b", "entry": [50]}]
    return {"horizon": 3, "comparison": {"ratio": 1},
            "cohort": {"turnover": 0.1, **(cohort or {}), "strata": strata},
            "outcome": {"kind": "counts", "rate": 4.0},
            "effect": {"measure": "rr", "value": 0.8, "engagement": 0.7}}


def test_toml_reads_it_for_the_cohort_and_a_stratum():
    sc = parse_scenario(_data({"newcomer_uptake": 0.7})).scenario
    assert sc.cohort.newcomer_uptake == Fixed(0.7)
    dist = {"dist": "beta", "mean": 0.6, "sd": 0.1}
    sc = parse_scenario(_data(stratum={"newcomer_uptake": dist})).scenario
    assert sc.cohort.strata[0].newcomer_uptake == Beta.from_mean_sd(0.6, 0.1)
    assert list(sc.parameters())[-1] == "cohort.newcomer_uptake[a]"
    assert "cohort.newcomer_uptake" not in sc.parameters()  # b takes the cohort's 0
    absent = parse_scenario(_data()).scenario
    assert parse_scenario(_data({"newcomer_uptake": 0})).scenario == absent
    with pytest.raises(ScenarioFileError, match=r"Stratum\[a\]\.newcomer_uptake: got 7; "
                                                r"allowed: a probability"):
        parse_scenario(_data(stratum={"newcomer_uptake": 7}))


def test_overrides_are_checked_against_the_field_range():
    sc = scenario()
    got = check_overrides(sc, {"cohort.newcomer_uptake": [0.0, 1.0]}, draws=2)
    assert got["cohort.newcomer_uptake"].tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match=r"overrides\[cohort\.newcomer_uptake\]: got 1\.5 in "
                                         r"draw 1; allowed: a probability that a newcomer"):
        check_overrides(sc, {"cohort.newcomer_uptake": [0.5, 1.5]}, draws=2)
    # a draw without turnover is allowed next to the file's uptake
    check_overrides(sc, {"cohort.turnover": [0.0, 0.3]}, draws=2)


def test_several_service_periods_are_refused():
    with pytest.raises(ValueError, match=r"^Cohort\.newcomer_uptake: .*one service period"):
        dataclasses.replace(scenario(), other_processes=(
            Process(CountOutcome(rate=2.0, name="b"), Effect("rr", 0.7, duration=3)),))


# ------------------------------------------------------------------ absent or 0: today's results
@pytest.mark.parametrize("engine", ENGINES)
def test_zero_or_no_service_left_is_the_run_without_the_field_to_the_last_bit(engine):
    """Uptake 0, or uptake where the service has ended before any newcomer joins (duration 1:
    it runs in the entry period only), draws no random numbers: the arrays of the cohort
    without the field, over several individual-engine blocks (5,000 > 4,096 people a wave)
    and on one or two threads."""
    def run(u, duration, n_threads=1):
        sc = scenario(n=(5000, 700), u=u or 0.0, duration=duration)
        if u is None:  # the cohort without the field
            sc = dataclasses.replace(sc, cohort=Cohort(entry=(5000, 700), turnover=0.2))
        numba.set_num_threads(n_threads)
        return simulate(sc, draws=4, seed=11, engine=engine, progress=False)

    threads = numba.get_num_threads()
    try:
        ref = run(None, 1)
        runs = {(u, n): run(u, 1, n) for u in (None, 0.0, 0.9)
                for n in sorted({1, min(2, threads)})}
        ref3, zero3, on3 = run(None, 3), run(0.0, 3), run(0.9, 3)
    finally:
        numba.set_num_threads(threads)
    for key, ds in [*runs.items(), ("zero, duration 3", None)]:
        a, b = (ds, ref) if ds is not None else (zero3, ref3)
        for name in ("events", "engaged"):
            assert np.array_equal(a[name].values, b[name].values), (key, name)
    # once newcomers may take it up (duration 3), more are engaged (here by far: a place
    # changes hands with 0.2 a period, 90% of newcomers take it up): the test can fail
    more = on3["engaged"].values.sum(0) - ref3["engaged"].values.sum(0)  # (arm, W, K, P)
    assert (more[0, :, :, 2:] > 100).all() and (more[1] == 0).all()


# ------------------------------------------------------------------ the closed form
@pytest.mark.parametrize("kw", [
    {},
    {"u": 1.0, "d": 0.0, "r": 0.3},
    {"duration": None, "decay": 0.0},
    {"onset": 1, "duration": 2, "organisation": 0.9},
    {"u": 0.7, "r": 1.0, "d": 0.0, "duration": 3},
])
def test_expected_engine_is_the_closed_form(kw):
    ds = simulate(scenario(**kw), draws=2, seed=0, engine="expected", progress=False)
    engaged, events = closed_form(**kw)
    for got, want in ((treated(ds, "engaged"), engaged), (treated(ds, "events"), events)):
        np.testing.assert_allclose(got, np.broadcast_to(want, got.shape), rtol=1e-12,
                                   atol=1e-9)


def test_each_stratum_takes_its_own_uptake_and_turnover():
    sc = Scenario(cohort=Cohort(turnover=0.1, newcomer_uptake=0.4, strata=(
        Stratum("hospital", entry=(600,), turnover=0.3, newcomer_uptake=0.9),
        Stratum("office", entry=(400,)))), outcome=CountOutcome(rate=3.0), horizon=4,
        effect=Effect("rr", 0.5, engagement=0.6, dropout=0.05, decay=0.0),
        comparison=ComparisonGroup(ratio=1))
    ds = simulate(sc, draws=2, seed=0, engine="expected", progress=False)
    for name, n, r, u in (("hospital", 600, 0.3, 0.9), ("office", 400, 0.1, 0.4)):
        engaged, events = closed_form(u=u, n=(n,), lam=3.0, e=0.5, g=0.6, r=r, d=0.05,
                                      horizon=4, duration=None, decay=0.0)
        got = ds["engaged"].sel(arm="treatment", stratum=name).values
        np.testing.assert_allclose(got, np.broadcast_to(engaged, got.shape), rtol=1e-12)
        got = ds["events"].sel(arm="treatment", stratum=name).values
        np.testing.assert_allclose(got, np.broadcast_to(events, got.shape), rtol=1e-12)


def test_no_newcomer_takes_it_up_from_a_stratum_end_on():
    """``ends_by_stratum``: the service of stratum b ends in period 2, so only its newcomers of
    period 1 take it up (a's run to the horizon); from period 2 on b has no effect at all."""
    n, lam, e, g, r, d, u = 1000, 4.0, 0.5, 0.6, 0.25, 0.0, 0.8
    sc = Scenario(cohort=Cohort(size=n, turnover=r, newcomer_uptake=u,
                                strata=(Stratum("a", 0.5), Stratum("b", 0.5))),
                  outcome=CountOutcome(rate=lam), horizon=4,
                  effect=Effect("rr", e, engagement=g, dropout=d, ends_by_stratum={"b": 2}),
                  comparison=ComparisonGroup(ratio=1))
    ds = simulate(sc, draws=2, seed=0, engine="expected", progress=False)
    for name, end in (("a", 4), ("b", 2)):
        p = [g]
        for t in range(1, 4):
            p.append(p[-1] * (1 - d) * (1 - r) + (r * u if t < end else 0.0))
        p = np.array(p)
        ratio = np.where(np.arange(4) < end, e, 1.0)
        got = ds["engaged"].sel(arm="treatment", stratum=name).values[:, 0]
        np.testing.assert_allclose(got, np.broadcast_to(n / 2 * p, got.shape), rtol=1e-12)
        got = ds["events"].sel(arm="treatment", stratum=name).values[:, 0]
        want = n / 2 * lam * ((1 - p) + p * ratio)
        np.testing.assert_allclose(got, np.broadcast_to(want, got.shape), rtol=1e-12)


@pytest.mark.parametrize("engine", ["aggregate", "individual"])
def test_stochastic_engines_match_the_closed_form(engine):
    """Engaged people per wave and period: binomial(n, p_t) in each draw; treated events: the
    mean over draws within Z standard errors of the draws' own spread."""
    kw = {"n": (1500, 1000), "u": 0.8, "r": 0.25, "d": 0.1, "duration": 3}
    D = 200
    ds = simulate(scenario(**kw), draws=D, seed=7, engine=engine, progress=False)
    engaged, events = closed_form(**kw)
    n = np.array(kw["n"], float)[:, None]
    eng = treated(ds, "engaged")
    present = engaged > 0
    p = np.where(present, engaged / n, 0.0)
    se = np.sqrt(n * p * (1 - p) / D)
    assert np.all(np.abs(eng.mean(0) - engaged)[present] < Z * se[present] + 1e-9)
    assert np.all(eng[:, ~present] == 0)
    ev = treated(ds, "events")
    se = ev.std(0, ddof=1) / np.sqrt(D)
    assert np.all(np.abs(ev.mean(0) - events)[present] < Z * se[present])
    # without uptake the engaged would be clearly fewer: the test can fail
    none, _ = closed_form(**{**kw, "u": 0.0})
    se_eng = np.sqrt(n * 0.25 / D)  # the largest binomial standard error
    assert np.all((engaged - none)[:, 2:][present[:, 2:]] > 10 * se_eng.max())


def test_newcomers_take_it_up_in_every_process_of_the_person():
    """Two count processes: one uptake parameter (the person's), and each process's treated
    events follow the same engaged share (the individual engine draws the newcomers' uptake
    from the person stream, as engagement and drop-out)."""
    sc = dataclasses.replace(scenario(n=(800,), horizon=4), other_processes=(
        Process(CountOutcome(rate=2.0, name="b"),
                Effect("rr", 0.7, duration=2, decay=0.5)),))
    names = list(sc.parameters())
    assert names.count("cohort.newcomer_uptake") == 1
    ds = simulate(sc, draws=2, seed=0, engine="expected", progress=False)
    _, events = closed_form(n=(800,), lam=2.0, e=0.7, horizon=4)
    got = ds["events"].sel(arm="treatment").sum("stratum").values  # (D, W, P, process)
    np.testing.assert_allclose(got[0, :, :, 1], events, rtol=1e-12)
    ind = simulate(sc, draws=3, seed=2, engine="individual", progress=False)
    assert "process" not in ind["engaged"].dims  # the person's: one for every process


# ------------------------------------------------------------------ properties
@settings(max_examples=40, deadline=None)
@given(u=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=2), e=st.floats(0.0, 1.0),
       g=st.floats(0.0, 1.0), r=st.floats(0.0, 1.0), d=st.floats(0.0, 1.0),
       duration=st.sampled_from([None, 1, 2, 3]))
def test_events_never_rise_and_engaged_never_fall_as_uptake_rises(u, e, g, r, d, duration):
    """An effect that reduces events (rr <= 1): more uptake, no more events in any period."""
    lo, hi = sorted(u)
    runs = [simulate(scenario(u=x, e=e, g=g, r=r, d=d, duration=duration, horizon=4),
                     draws=1, seed=0, engine="expected", progress=False) for x in (lo, hi)]
    ev = [treated(ds, "events") for ds in runs]
    eng = [treated(ds, "engaged") for ds in runs]
    assert np.all(ev[1] <= ev[0] * (1 + 1e-12) + 1e-9)
    assert np.all(eng[1] >= eng[0] * (1 - 1e-12) - 1e-9)


# ------------------------------------------------------------------ Tyhy-SIB
def test_tyhy_sib_gives_it_as_a_marked_assumption_and_more_are_served():
    deal = sibsim.load_scenario("tyhy-sib")
    c = deal.scenario.cohort
    assert c.has_newcomer_uptake and "cohort.newcomer_uptake" in deal.scenario.parameters()
    assert deal.scenario.effect.duration == 3  # the services ran three years [T5]
    text = builtin_scenarios()["tyhy-sib"].read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("newcomer_uptake ="))
    assert "# ASSUMPTION" in line
    header = " ".join(text.split("\nname = ")[0].replace("#", " ").split())
    assert "newcomers who take up the individual services themselves" not in header
    sc = deal.scenario
    without = dataclasses.replace(sc, cohort=dataclasses.replace(c, newcomer_uptake=0.0))
    fewer = {"effect.value": [0.85, 0.9, 0.7]}  # reductions (the prior reaches above 1)
    a = simulate(sc, draws=3, seed=0, engine="expected", progress=False, overrides=fewer)
    b = simulate(without, draws=3, seed=0, engine="expected", progress=False, overrides=fewer)
    more = treated(a, "engaged") - treated(b, "engaged")
    assert np.all(more >= 0) and more.sum() > 0
    assert np.all(treated(a, "events") <= treated(b, "events") + 1e-9)
