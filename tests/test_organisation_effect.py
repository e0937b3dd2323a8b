"""The organisation-level effect (``Effect.organisation``, Tyhy-SIB): validation, the TOML key,
its absence (and 1) left to the last bit, and the treated arm's events against a closed form.

The closed form, by hand (tests/test_turnover.py's, extended). One wave of ``n`` places (an
employer's staff) with a Poisson count of rate ``lam`` a period. A share ``g`` of the people
engage; an engaged person drops out of the service with probability ``d`` and leaves the
employer with probability ``r`` at the start of each period after entry, independently, and
their place goes to a newcomer who is not served. A place is held ``k`` periods after entry by a
served, still engaged person with probability ``q_k = g s**k``, ``s = (1 - d) (1 - r)``, whose
rate is ``e lam``; otherwise (never engaged, dropped out, or a newcomer) by someone whose rate
is ``o lam``, the organisation-level effect ``o``. The treated arm's expected events in period
``k`` are therefore

    n lam (q_k e + (1 - q_k) o)

and the comparison arm's ``n lam`` (it never gets ``o``). With a strength ``w_k`` of the effect
at time since entry ``k`` (onset, duration, decay) both ratios are taken at that strength on the
log scale: ``n lam (q_k e**w_k + (1 - q_k) o**w_k)``. Each place's count is Poisson(``lam m``)
with ``m = e`` (probability ``q_k``) else ``o``, independently across places: mean ``lam (q_k e
+ (1 - q_k) o)``, variance that mean plus ``lam**2 (e - o)**2 q_k (1 - q_k)``.
"""

from __future__ import annotations

import dataclasses

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
    LogNormal,
    Normal,
    Scenario,
)
from sibsim.dataset.build import effect_parameters, simulate
from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, parse_scenario
from sibsim.spec.distributions import Fixed
from sibsim.spec.scenario import Process

pytestmark = pytest.mark.usefixtures("warm_kernels")

Z = 4.5  # standard errors (two-sided p about 7e-6 per comparison), as test_engine_statistics
ENGINES = ("aggregate", "individual", "expected")


def counts_scenario(n=2000, lam=5.0, e=0.6, g=0.8, r=0.1, d=0.0, o=None, horizon=4,
                    cohort=None, **effect):
    return Scenario(cohort=cohort or Cohort(size=n, turnover=r),
                    outcome=CountOutcome(rate=lam), horizon=horizon,
                    effect=Effect("rr", e, engagement=g, dropout=d, organisation=o, **effect),
                    comparison=ComparisonGroup(ratio=1))


def served_share(g, r, d, k):
    """q_k: share of the places held by a served, still engaged person k periods after entry."""
    return g * ((1 - d) * (1 - r)) ** np.asarray(k, float)


def closed_form(n, lam, e, g, r, d, o, k, w=None):
    """The treated arm's expected events k periods after entry (module docstring)."""
    q = served_share(g, r, d, k)
    w = np.ones(np.shape(k)) if w is None else np.asarray(w, float)
    return n * lam * (q * e**w + (1 - q) * o**w)


def treated(ds, name="events"):
    return ds[name].sel(arm="treatment").sum(("wave", "stratum")).values  # (D, P)


# ------------------------------------------------------------------ validation, one message form
def test_absent_is_none_and_names_no_parameter():
    e = Effect("rr", 0.8)
    assert e.organisation is None and "effect.organisation" not in e.parameters()
    o = Effect("rr", 0.8, organisation=0.95)
    assert o.organisation == Fixed(0.95)
    assert o.parameters()["effect.organisation"] == Fixed(0.95)
    ln = LogNormal.from_mean_sd(0.95, 0.03)
    assert Effect("rr", 0.8, organisation=ln).parameters()["effect.organisation"] == ln


@pytest.mark.parametrize(("value", "message"), [
    (-0.1, "Effect.organisation: got 'fixed(value=-0.1)'; allowed: a rate ratio"),
    (Normal(0.9, 0.1), "Effect.organisation: got 'normal(mu=0.9, sd=0.1)'; allowed: a rate "
                       "ratio"),
    ("low", "Effect.organisation: got 'low' of type str"),
])
def test_a_negative_or_non_numeric_ratio_is_refused(value, message):
    with pytest.raises((ValueError, TypeError)) as info:
        Effect("rr", 0.8, organisation=value)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("outcome", [
    BinaryOutcome(0.3),
    sibsim.MarkovOutcome(states=("a", "b"), transitions=((0.8, 0.2), (0.0, 1.0)), initial="a"),
], ids=["binary", "markov"])
def test_outside_count_outcomes_it_is_refused(outcome):
    targets = (("a", "b"),) if outcome.kind == "markov" else ()
    with pytest.raises(ValueError) as info:
        Scenario(cohort=Cohort(size=10), outcome=outcome, horizon=2,
                 effect=Effect("rr", 0.8, targets=targets, organisation=0.9))
    assert str(info.value).startswith(
        f"Effect.organisation: got 'fixed(value=0.9)'; allowed: none for a {outcome.kind} "
        "outcome (an organisation-level rate ratio is for count outcomes)")
    # without it the same scenario is valid
    Scenario(cohort=Cohort(size=10), outcome=outcome, horizon=2,
             effect=Effect("rr", 0.8, targets=targets))


def test_it_is_an_effect_parameter_for_the_treated_arm_only():
    sc = counts_scenario(o=LogNormal.from_mean_sd(0.95, 0.03))
    assert "effect.organisation" in effect_parameters(sc)


def test_another_count_process_names_its_own():
    sc = dataclasses.replace(
        counts_scenario(1000, 5.0, 0.5, 0.8, 0.2, o=0.9, horizon=3),
        other_processes=(Process(CountOutcome(rate=2.0, name="b"),
                                 Effect("rr", 0.7, organisation=0.8)),))
    assert {"effect.organisation", "b.effect.organisation"} <= set(sc.parameters())
    ds = simulate(sc, draws=2, seed=0, engine="expected", progress=False)
    got = ds["events"].sel(arm="treatment").sum(("wave", "stratum")).values  # (D, P, process)
    k = np.arange(3)
    np.testing.assert_allclose(got[0, :, 0], closed_form(1000, 5.0, 0.5, 0.8, 0.2, 0.0, 0.9, k),
                               rtol=1e-12)
    np.testing.assert_allclose(got[0, :, 1], closed_form(1000, 2.0, 0.7, 0.8, 0.2, 0.0, 0.8, k),
                               rtol=1e-12)


# ------------------------------------------------------------------ the TOML key
def _data(**effect):
    return {"horizon": 3, "cohort": {"size": 100, "turnover": 0.1}, "comparison": {"ratio": 1},
            "outcome": {"kind": "counts", "rate": 4.0},
            "effect": {"measure": "rr", "value": 0.8, "engagement": 0.7, **effect}}


def test_toml_reads_a_number_or_a_distribution():
    sc = parse_scenario(_data(organisation=0.95)).scenario
    assert sc.effect.organisation == Fixed(0.95)
    sc = parse_scenario(_data(organisation={"dist": "lognormal", "mean": 0.95, "sd": 0.03}))
    assert sc.scenario.effect.organisation == LogNormal.from_mean_sd(0.95, 0.03)
    assert parse_scenario(_data()).scenario.effect.organisation is None


@pytest.mark.parametrize(("data", "message"), [
    (_data(organisation=-1), "Effect.organisation: got 'fixed(value=-1.0)'; allowed: a rate "
                             "ratio"),
    (_data(organisation="strong"), "Effect.organisation: got 'strong' of type str"),
    ({**_data(organisation=0.9), "outcome": {"kind": "binary", "probability": 0.2},
      "cohort": {"size": 100}},
     "Effect.organisation: got 'fixed(value=0.9)'; allowed: none for a binary outcome"),
])
def test_toml_refusals_name_the_field(data, message):
    with pytest.raises(ScenarioFileError) as info:
        parse_scenario(data, source="t.toml")
    assert message in str(info.value)


# ------------------------------------------------------------------ absent or 1: the old results
@pytest.mark.parametrize("engine", ENGINES)
def test_a_ratio_of_one_gives_the_run_without_the_field_bit_for_bit(engine):
    """o = 1 reads a third rate level equal to the untreated one (r0 * 1 where r0 > 0): every
    outcome variable is that of the run without the field, to the last bit (the parameter
    table has one more column)."""
    base = counts_scenario(300, 3.0, 0.7, 0.6, 0.15, 0.05, horizon=4,
                           cohort=Cohort(entry=(150, 150), turnover=0.15))
    one = dataclasses.replace(base, effect=dataclasses.replace(base.effect, organisation=1.0))
    a = simulate(base, draws=30, seed=4, engine=engine, progress=False, engaged_events=True)
    b = simulate(one, draws=30, seed=4, engine=engine, progress=False, engaged_events=True)
    names = [n for n in a.data_vars if "parameter" not in a[n].dims]
    assert {"events", "engaged", "engaged_events"} <= set(names)
    for name in names:
        assert np.array_equal(a[name].values, b[name].values), name
    assert "effect.organisation" in b["parameter"].values


# ------------------------------------------------------------------ the closed form
@pytest.mark.parametrize(("r", "d", "o"), [(0.1, 0.0, 0.9), (0.25, 0.1, 0.7), (1.0, 0.0, 0.8),
                                           (0.0, 0.2, 0.95), (0.2, 0.0, 1.3)])
def test_expected_engine_is_the_closed_form(r, d, o):
    n, lam, e, g = 1000, 5.0, 0.6, 0.8
    ds = simulate(counts_scenario(n, lam, e, g, r, d, o, horizon=5), draws=3, seed=0,
                  engine="expected", progress=False)
    want = closed_form(n, lam, e, g, r, d, o, np.arange(5))
    np.testing.assert_allclose(treated(ds), np.broadcast_to(want, (3, 5)), rtol=1e-12)
    # engaged people are those of the run without it; the comparison arm never gets o
    np.testing.assert_allclose(treated(ds, "engaged"),
                               np.broadcast_to(n * served_share(g, r, d, np.arange(5)), (3, 5)),
                               rtol=1e-12)
    cmp = ds["events"].sel(arm="comparison").sum(("wave", "stratum")).values
    np.testing.assert_allclose(cmp, n * lam, rtol=1e-12)


def test_it_follows_the_strength_by_the_wave_time_since_entry():
    """onset 1, duration 2, decay 0.5: strength w = (0, 1, 1, 0.5, 0.25) by time since entry;
    a second wave entering in period 1 holds places of its own time since entry (newcomers
    included), so in calendar period t the waves' strengths are w[t] and w[t - 1]."""
    n, lam, e, g, r, o = 800, 4.0, 0.6, 0.7, 0.2, 0.8
    sc = counts_scenario(n, lam, e, g, r, o=o, horizon=5, onset=1, duration=2, decay=0.5,
                         cohort=Cohort(entry=(n, n), turnover=r))
    w = sc.effect.strength(5)
    np.testing.assert_allclose(w, [0.0, 1.0, 1.0, 0.5, 0.25])
    ds = simulate(sc, draws=2, seed=1, engine="expected", progress=False)
    got = ds["events"].sel(arm="treatment").sum("stratum").values  # (D, W, P)
    k = np.arange(5)
    np.testing.assert_allclose(got[0, 0], closed_form(n, lam, e, g, r, 0.0, o, k, w),
                               rtol=1e-12)
    np.testing.assert_allclose(got[0, 1, 1:], closed_form(n, lam, e, g, r, 0.0, o, k[:4], w[:4]),
                               rtol=1e-12)
    assert np.all(got[:, 1, 0] == 0.0)  # before the wave enters


def test_engaged_events_are_the_engaged_peoples_only():
    """The engaged participants' expected events: n lam q_k e (the organisation effect reaches
    the others)."""
    n, lam, e, g, r, o = 1000, 5.0, 0.6, 0.8, 0.2, 0.5
    ds = simulate(counts_scenario(n, lam, e, g, r, o=o, horizon=4), draws=2, seed=0,
                  engine="expected", progress=False, engaged_events=True)
    np.testing.assert_allclose(treated(ds, "engaged_events")[0],
                               n * lam * served_share(g, r, 0.0, np.arange(4)) * e, rtol=1e-12)


@pytest.mark.parametrize("engine", ["aggregate", "individual"])
def test_stochastic_events_per_period_match_the_closed_form(engine):
    n, lam, e, g, r, o, D = 3000, 2.0, 0.5, 0.8, 0.2, 0.75, 300
    ds = simulate(counts_scenario(n, lam, e, g, r, o=o, horizon=4), draws=D, seed=11,
                  engine=engine, progress=False)
    q = served_share(g, r, 0.0, np.arange(4))
    mean = lam * (q * e + (1 - q) * o)
    var = mean + lam**2 * (e - o) ** 2 * q * (1 - q)
    se = np.sqrt(n * var / D)
    got = treated(ds).mean(0)
    assert np.all(np.abs(got - n * mean) < Z * se), (got, n * mean, se)
    # the run without it is far away: the test can fail if the kernels ignore o
    without = lam * (q * e + (1 - q))
    assert np.all(np.abs(n * without - n * mean) > 20 * se)
    eng = treated(ds, "engaged").mean(0)
    assert np.all(np.abs(eng - n * q) < Z * np.sqrt(n * q * (1 - q) / D))
    cmp = ds["events"].sel(arm="comparison").sum(("wave", "stratum")).values.mean(0)
    assert np.all(np.abs(cmp - n * lam) < Z * np.sqrt(n * lam / D))


# ------------------------------------------------------------------ properties
@settings(max_examples=25, deadline=None)
@given(r=st.floats(0.0, 1.0), d=st.floats(0.0, 1.0), e=st.floats(0.0, 2.0),
       g=st.floats(0.0, 1.0), lam=st.floats(0.01, 50.0), o=st.floats(0.0, 2.0))
def test_expected_trace_is_the_closed_form_for_any_inputs(r, d, e, g, lam, o):
    ds = simulate(counts_scenario(50, lam, e, g, r, d, o, horizon=4), draws=1, seed=0,
                  engine="expected", progress=False)
    want = closed_form(50, lam, e, g, r, d, o, np.arange(4))
    np.testing.assert_allclose(treated(ds)[0], want, rtol=1e-10, atol=1e-10)


@settings(max_examples=15, deadline=None)
@given(o=st.lists(st.floats(0.0, 3.0), min_size=2, max_size=2), e=st.floats(0.0, 2.0),
       g=st.floats(0.0, 1.0), r=st.floats(0.0, 1.0))
def test_events_never_fall_as_the_ratio_rises(o, e, g, r):
    """For a fixed seed the individual engine draws the same engagement, drop-out and uniforms
    whatever o, and counts by inversion (monotone in the rate): every cell's events are
    non-decreasing in o; the expected engine's too; the comparison arm's do not move."""
    low, high = sorted(o)
    runs = {}
    for engine in ("individual", "expected"):
        for x in (low, high):
            sc = counts_scenario(40, 1.5, e, g, r, o=x, horizon=3,
                                 cohort=Cohort(entry=(20, 20), turnover=r))
            runs[engine, x] = simulate(sc, draws=6, seed=7, engine=engine,
                                       progress=False)["events"].values
        a, b = runs[engine, low], runs[engine, high]
        assert np.all(b >= a - 1e-9 * np.abs(a)), engine
        assert np.array_equal(a[:, 1], b[:, 1])  # the comparison arm (index 1)


# ------------------------------------------------------------------ tyhy-sib and the analysis
def _tyhy_with(line):
    text = builtin_scenarios()["tyhy-sib"].read_text(encoding="utf-8")
    return text.replace("engagement = 0.7 ", f"{line}\nengagement = 0.7 ", 1)


def test_tyhy_sib_leaves_it_out_and_marks_the_gap_as_not_public():
    deal = sibsim.load_scenario("tyhy-sib")
    assert deal.scenario.effect.organisation is None
    text = builtin_scenarios()["tyhy-sib"].read_text(encoding="utf-8")
    header = " ".join(text.split("\nname = ")[0].replace("#", " ").split())
    assert "newcomers who later benefit from the organisation-level part" not in header
    assert "is expressible ([effect] organisation" in header
    assert "NOT PUBLIC: the evaluation gives no figure for it" in header


def test_analyse_runs_with_it_and_a_stronger_workplace_effect_pays_more(tmp_path):
    from sibsim.report import analyse

    paid = {}
    for o in (1.0, 0.9):
        path = tmp_path / f"o{o}.toml"
        path.write_text(_tyhy_with(f"organisation = {o}"), encoding="utf-8")
        deal = sibsim.load_scenario(path)
        assert deal.scenario.effect.organisation == Fixed(o)
        res = analyse(deal, draws=40, seed=1, engine="expected", progress=False,
                      with_breakeven=False)
        assert "effect.organisation" in res.outcomes["parameter"].values
        paid[o] = float(res.money["outcome_payments"].sum())
    assert paid[0.9] > paid[1.0]



def test_the_worked_example_of_scenario_format_gives_its_figures():
    """docs/scenario-format.md's example: 1000 x 14 x (0.7 x 0.85 + 0.3 x 0.97) = 12,404 sick-
    leave days in the first year (12,530 without the key), tending to 1000 x 14 x 0.97 = 13,580
    as the served leave (8% a year)."""
    import re
    import tomllib
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "scenario-format.md").read_text(
        encoding="utf-8")
    block = next(b for b in re.findall(r"```toml\n(.*?)```", text, re.S)
                 if "organisation = 0.97" in b)
    assert "12,404 in the first year (against 12,530 without `organisation`)" in text
    data = {"horizon": 60, **tomllib.loads(block)}
    with_it = parse_scenario(data).scenario
    without = dataclasses.replace(with_it, effect=dataclasses.replace(with_it.effect,
                                                                      organisation=None))
    got = [treated(simulate(sc, draws=1, seed=0, engine="expected", progress=False))[0]
           for sc in (with_it, without)]
    assert got[0][0] == pytest.approx(12_404, rel=1e-12)
    assert got[1][0] == pytest.approx(12_530, rel=1e-12)
    assert got[0][-1] == pytest.approx(13_580, rel=1e-3)  # 0.7 x 0.92**59 of places served


def test_a_count_by_state_refuses_it_in_a_file():
    import re
    import tomllib
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "scenario-format.md").read_text(
        encoding="utf-8")
    found = re.search(r"```toml\n(name = \"benefits\"\n.*?)```", text, re.S)
    data = tomllib.loads(found.group(1))
    parse_scenario(data)  # valid as written
    data["outcome"][1]["effect"]["organisation"] = 0.9
    with pytest.raises(ScenarioFileError) as info:
        parse_scenario(data, source="t.toml")
    assert ("Effect.organisation: got 'fixed(value=0.9)'; allowed: none for a counts_by_state "
            "outcome") in str(info.value)


def test_overrides_are_checked_and_the_treated_arm_again_is_the_full_run():
    from sibsim.dataset.build import simulate_treated_again
    from sibsim.engine.overrides import check_overrides

    sc = counts_scenario(200, 3.0, 0.7, 0.6, 0.1, o=LogNormal.from_mean_sd(0.95, 0.03),
                         horizon=3)
    with pytest.raises(ValueError) as info:
        check_overrides(sc, {"effect.organisation": np.array([0.5, -1.0])}, draws=2)
    assert str(info.value).startswith("overrides[effect.organisation]: got -1.0 in draw 1; "
                                      "allowed: a rate ratio")
    at = {"effect.organisation": np.linspace(0.6, 1.2, 20)}
    for engine in ("aggregate", "individual"):
        base = simulate(sc, draws=20, seed=2, engine=engine, progress=False)
        again = simulate_treated_again(sc, base, at)
        full = simulate(sc, draws=20, seed=2, engine=engine, overrides=at, progress=False)
        assert np.array_equal(again["events"].values, full["events"].values), engine
        assert not np.array_equal(again["events"].values, base["events"].values), engine
