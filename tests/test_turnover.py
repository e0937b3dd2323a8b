"""Workforce turnover (``Cohort.turnover``, Tyhy-SIB): validation, the TOML key, a fixed panel
left to the last bit, and the dilution of the measured effect against a closed form.

The closed form, by hand. One wave of ``n`` people (an employer's staff) with a Poisson count of
rate ``lam`` a period; a share ``g`` engage and their rate is ``e * lam`` (relative rate ``e``);
an engaged person drops out of the service with probability ``d`` and leaves the employer with
probability ``r`` at the start of each period after entry, independently, and their place goes
to a newcomer who is not served. A place is held by a served, still engaged person ``k``
periods after entry with probability ``g * s**k``, ``s = (1 - d) (1 - r)``, so the treated
arm's expected events in period ``k`` are ``n lam (1 - g s**k (1 - e))`` and those of the
untreated comparison arm (the "before" staff) ``n lam``. Over a window of ``W`` periods from
entry the measured relative reduction ``1 - T / C`` is, up to the ratio's O(1/n) bias,

    m(r) = g (1 - e) (1 - s**W) / (W (1 - s))        (g (1 - e) when s = 1),

the undiluted ``g (1 - e)`` times the mean share of places still served over the window.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from sibsim import (
    Beta,
    BinaryOutcome,
    Cohort,
    ComparisonGroup,
    CountOutcome,
    Effect,
    Frailty,
    Normal,
    Scenario,
)
from sibsim.dataset.build import simulate
from sibsim.engine.outcome_models import model_of
from sibsim.money.evaluation import BeforeAfter, Evaluation, evaluate
from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, parse_scenario
from sibsim.spec.distributions import Fixed

pytestmark = pytest.mark.usefixtures("warm_kernels")

Z = 4.5  # standard errors (two-sided p about 7e-6 per comparison), as test_engine_statistics


def counts_scenario(n=2000, lam=5.0, e=0.6, g=0.8, r=0.1, d=0.0, horizon=4, **cohort):
    return Scenario(cohort=Cohort(size=n, turnover=r, **cohort), outcome=CountOutcome(rate=lam),
                    horizon=horizon, effect=Effect("rr", e, engagement=g, dropout=d),
                    comparison=ComparisonGroup(ratio=1))


def served_share(g, r, d, k):
    """Share of the places held by a served, still engaged person k periods after entry."""
    return g * ((1 - d) * (1 - r)) ** np.asarray(k, float)


def diluted_effect(g, e, r, d, window):
    """m(r) of the module docstring: the expected measured relative reduction."""
    s = (1 - d) * (1 - r)
    mean_share = 1.0 if s == 1.0 else (1 - s**window) / (window * (1 - s))
    return g * (1 - e) * mean_share


def treated(ds, name="events"):
    return ds[name].sel(arm="treatment").sum(("wave", "stratum")).values  # (D, P)


# ------------------------------------------------------------------ validation, one message form
@pytest.mark.parametrize(("value", "message"), [
    (10, "Cohort.turnover: got 10; allowed: a share of the cohort replaced per period in "
         "[0, 1], a fraction: write 0.1 for 10%"),
    (1.5, "Cohort.turnover: got 1.5; allowed: a share of the cohort replaced per period in "
          "[0, 1], a fraction: write 0.015 for 1.5%"),
    (101, "Cohort.turnover: got 'fixed(value=101.0)'; allowed: a share of the cohort replaced "
          "per period"),
    (-0.1, "Cohort.turnover: got 'fixed(value=-0.1)'; allowed: a share of the cohort replaced "
           "per period"),
    (Normal(0.1, 0.05), "Cohort.turnover: got 'normal(mu=0.1, sd=0.05)'; allowed: a share of "
                        "the cohort replaced per period"),
])
def test_turnover_outside_zero_to_one_is_refused_naming_field_value_and_range(value, message):
    with pytest.raises(ValueError) as info:
        Cohort(size=10, turnover=value)
    assert str(info.value).startswith(message)


def test_turnover_is_a_share_or_a_distribution_on_zero_to_one():
    assert Cohort(size=10).turnover == Fixed(0.0)
    assert not Cohort(size=10, turnover=0).has_turnover
    assert Cohort(size=10, turnover=1.0).turnover == Fixed(1.0)
    beta = Beta.from_mean_sd(0.08, 0.03)
    c = Cohort(size=10, turnover=beta)
    assert c.has_turnover and c.parameters() == {"cohort.turnover": beta}


@pytest.mark.parametrize(("change", "why"), [
    ({"outcome": BinaryOutcome(0.3)}, "outcome 'event' has states ['no_event', 'event']"),
    ({"outcome": CountOutcome(5.0, profile=(1.0, 0.8))}, "a profile by time since entry"),
    ({"frailty": Frailty(0.5)}, "the scenario has frailty"),
])
def test_turnover_where_a_newcomer_would_differ_from_the_leaver_is_refused(change, why):
    base = counts_scenario(r=0.1)
    with pytest.raises(ValueError) as info:
        dataclasses.replace(base, **change)
    msg = str(info.value)
    assert msg.startswith("Cohort.turnover: got 0.1; allowed: 0 (no turnover) unless every "
                          "outcome is a count without states")
    assert why in msg
    # without turnover the same scenarios are valid
    dataclasses.replace(counts_scenario(r=0.0), **change)


def test_a_calendar_profile_is_the_same_for_a_newcomer_and_allowed():
    sc = counts_scenario(r=0.1)
    dataclasses.replace(sc, outcome=CountOutcome(5.0, profile=(1.0, 0.8), clock="calendar"))


# ------------------------------------------------------------------ the TOML key
def _data(**cohort):
    return {"horizon": 3, "cohort": {"size": 100, **cohort}, "comparison": {"ratio": 1},
            "outcome": {"kind": "counts", "rate": 4.0},
            "effect": {"measure": "rr", "value": 0.8, "engagement": 0.7}}


def test_toml_turnover_reads_a_number_or_a_distribution_and_names_its_parameter():
    sc = parse_scenario(_data(turnover=0.12)).scenario
    assert sc.cohort.turnover == Fixed(0.12)
    assert sc.parameters()["cohort.turnover"] == Fixed(0.12)
    sc = parse_scenario(_data(turnover={"dist": "beta", "mean": 0.08, "sd": 0.03})).scenario
    assert sc.cohort.turnover == Beta.from_mean_sd(0.08, 0.03)
    absent = parse_scenario(_data()).scenario
    assert absent.cohort.turnover == Fixed(0.0) and "cohort.turnover" not in absent.parameters()
    assert parse_scenario(_data(turnover=0)).scenario == absent


@pytest.mark.parametrize(("data", "message"), [
    (_data(turnover=8), "key 'cohort': Cohort.turnover: got 8; allowed: a share of the cohort "
                        "replaced per period in [0, 1], a fraction: write 0.08 for 8%"),
    (_data(turnover="high"), "key 'cohort': Cohort.turnover: got 'high' of type str; "
                             "allowed: a real number"),
    ({**_data(turnover=0.1), "outcome": {"kind": "binary", "probability": 0.2}},
     "key 'cohort.turnover': Cohort.turnover: got 0.1; allowed: 0 (no turnover) unless"),
    ({**_data(turnover=0.1), "frailty": {"variance": 0.5}},
     "key 'cohort.turnover': Cohort.turnover: got 0.1; allowed: 0 (no turnover) unless"),
])
def test_toml_turnover_refusals_name_the_key(data, message):
    with pytest.raises(ScenarioFileError) as info:
        parse_scenario(data, source="t.toml")
    assert message in str(info.value)


def test_tyhy_sib_writes_its_turnover_as_a_marked_assumption():
    deal = sibsim.load_scenario("tyhy-sib")
    t = deal.scenario.cohort.turnover
    assert isinstance(t, Beta) and t.mean == pytest.approx(0.08)
    text = builtin_scenarios()["tyhy-sib"].read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("turnover ="))
    assert "# ASSUMPTION" in line


# ------------------------------------------------------------------ no turnover: the old results
def test_zero_turnover_leaves_the_drop_out_to_the_last_bit():
    """d + r - d r with r = 0 is d itself, bit for bit (the lowering of a zero draw)."""
    sc = counts_scenario(r=0.2, d=0.0)
    d = np.array([0.0, 0.1, 0.3, 1 / 3, 0.7, 1.0])
    common = model_of(sc)._common({"effect.dropout": d, "cohort.turnover": np.zeros(6)}, 6)
    assert common["dropout"].shape == (6, 1)  # by draw and stratum (one: "all")
    got = np.ascontiguousarray(common["dropout"][:, 0])
    assert np.array_equal(got, d) and got.tobytes() == d.tobytes()
    both = model_of(sc)._common({"effect.dropout": d, "cohort.turnover": np.full(6, 0.2)}, 6)
    np.testing.assert_allclose(both["dropout"][:, 0], 1 - (1 - d) * 0.8, rtol=0, atol=1e-15)


def _tyhy_text(turnover_line):
    text = builtin_scenarios()["tyhy-sib"].read_text(encoding="utf-8")
    lines = [x for x in text.splitlines() if not x.startswith("turnover =")]
    i = lines.index("[cohort]")
    return "\n".join([*lines[:i + 1], *([turnover_line] if turnover_line else []),
                      *lines[i + 1:]])


@pytest.mark.parametrize("engine", ["aggregate", "individual", "expected"])
def test_tyhy_with_turnover_zero_is_identical_to_tyhy_without_the_key(tmp_path, engine):
    """A fixed panel (turnover 0, or no key) has no turnover parameter and no draws of it: the
    outcome dataset and every party's money are those of the file without the key."""
    from sibsim.report import analyse

    runs = {}
    for label, line in (("absent", None), ("zero", "turnover = 0")):
        path = tmp_path / f"{label}.toml"
        path.write_text(_tyhy_text(line), encoding="utf-8")
        deal = sibsim.load_scenario(path)
        runs[label] = analyse(deal, draws=40, seed=3, engine=engine, progress=False,
                              with_breakeven=False)
    a, z = runs["absent"], runs["zero"]
    for part in ("outcomes", "money", "investors", "municipality", "budget"):
        da, dz = getattr(a, part), getattr(z, part)
        assert set(da.data_vars) == set(dz.data_vars), part
        for name in da.data_vars:  # every variable, to the last bit (attrs hold a timestamp)
            assert da[name].identical(dz[name]), (part, name)
    assert "cohort.turnover" not in a.outcomes["parameter"].values


# ------------------------------------------------------------------ the closed form
@pytest.mark.parametrize(("r", "d"), [(0.1, 0.0), (0.25, 0.1), (1.0, 0.0), (0.0, 0.2)])
def test_expected_engine_dilutes_the_effect_as_the_closed_form(r, d):
    n, lam, e, g = 1000, 5.0, 0.6, 0.8
    ds = simulate(counts_scenario(n, lam, e, g, r, d, horizon=5), draws=3, seed=0,
                  engine="expected", progress=False)
    k = np.arange(5)
    share = served_share(g, r, d, k)
    np.testing.assert_allclose(treated(ds), np.broadcast_to(n * lam * (1 - share * (1 - e)),
                                                            (3, 5)), rtol=1e-12)
    np.testing.assert_allclose(treated(ds, "engaged"), np.broadcast_to(n * share, (3, 5)),
                               rtol=1e-12)
    cmp = ds["events"].sel(arm="comparison").sum(("wave", "stratum")).values
    np.testing.assert_allclose(cmp, n * lam, rtol=1e-12)


@pytest.mark.parametrize("engine", ["aggregate", "individual"])
def test_stochastic_events_per_period_match_the_closed_form(engine):
    """Each place's count is Poisson(lam m), m = e with probability q_k = g s**k, else 1: mean
    lam (1 - q_k (1 - e)), variance lam (1 - q_k (1 - e)) + lam**2 (1 - e)**2 q_k (1 - q_k);
    places are independent, so a draw's total has n times that variance."""
    n, lam, e, g, r, D = 3000, 2.0, 0.5, 0.8, 0.2, 300
    ds = simulate(counts_scenario(n, lam, e, g, r, horizon=4), draws=D, seed=11, engine=engine,
                  progress=False)
    q = served_share(g, r, 0.0, np.arange(4))
    mean = lam * (1 - q * (1 - e))
    var = mean + lam**2 * (1 - e) ** 2 * q * (1 - q)
    se = np.sqrt(n * var / D)
    got = treated(ds).mean(0)
    assert np.all(np.abs(got - n * mean) < Z * se), (got, n * mean, se)
    # and the engaged count: binomial(n, q_k) per draw
    eng = treated(ds, "engaged").mean(0)
    assert np.all(np.abs(eng - n * q) < Z * np.sqrt(n * q * (1 - q) / D))


@pytest.mark.parametrize("r", [0.0, 0.15, 0.5])
def test_measured_before_after_effect_is_diluted_to_the_share_still_served(r):
    """The evaluation's measured reduction over a 3-period window (before-after, no bias,
    no rounding) against m(r), within Z standard errors of the draws' mean."""
    n, lam, e, g, W, D = 4000, 3.0, 0.6, 0.9, 3, 400
    ds = simulate(counts_scenario(n, lam, e, g, r, horizon=W), draws=D, seed=5,
                  engine="aggregate", progress=False)
    ev = Evaluation("sick_leave", design=BeforeAfter(bias=0.0), window=W, pooled=False,
                    precision=None)
    m = evaluate(ds, (ev,), seed=5).measured_effect[:, 0]
    want = diluted_effect(g, e, r, 0.0, W)
    se = m.std(ddof=1) / np.sqrt(D)
    assert abs(m.mean() - want) < Z * se + 1e-4, (m.mean(), want, se)  # 1e-4: ratio bias
    if r > 0:  # the dilution is far outside the noise: the test can fail on a panel
        assert abs(diluted_effect(g, e, 0.0, 0.0, W) - want) > 20 * se


# ------------------------------------------------------------------ properties
@settings(max_examples=25, deadline=None)
@given(r=st.floats(0.0, 1.0), d=st.floats(0.0, 1.0), e=st.floats(0.0, 2.0),
       g=st.floats(0.0, 1.0), lam=st.floats(0.01, 50.0))
def test_expected_trace_is_the_closed_form_for_any_inputs(r, d, e, g, lam):
    ds = simulate(counts_scenario(50, lam, e, g, r, d, horizon=4), draws=1, seed=0,
                  engine="expected", progress=False)
    want = 50 * lam * (1 - served_share(g, r, d, np.arange(4)) * (1 - e))
    np.testing.assert_allclose(treated(ds)[0], want, rtol=1e-10, atol=1e-10)


def _payments(r, e):
    """Outcome payments per draw of a before-after deal at turnover r (expected engine: the
    other inputs' draws are the same for every r, keyed on their names)."""
    from sibsim.money import Contract, MetricTerms, PricePerUnit

    sc = dataclasses.replace(counts_scenario(200, 4.0, 0.8, 0.7, 0.0, horizon=4),
                             cohort=Cohort(entry=(100, 100), turnover=r),
                             effect=Effect("rr", e, engagement=Beta(5.0, 2.0)))
    ds = simulate(sc, draws=20, seed=2, engine="expected", progress=False)
    ev = Evaluation("m", design=BeforeAfter(bias=Normal(0.0, 0.05)), window=2, pooled=True,
                    target_per_person_period=0.05)
    table = evaluate(ds, (ev,), seed=2)
    terms = MetricTerms("m", PricePerUnit(100.0))
    paid = Contract(terms=(terms,)).outcome_payments(table, n_periods=4)
    return paid.total.sum(-1) + paid.beyond_horizon.sum(-1)


@settings(max_examples=15, deadline=None)
@given(r=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=2), e=st.floats(0.0, 1.0))
def test_payments_never_rise_with_turnover_for_a_reduction(r, e):
    """With an effect that reduces events (relative rate e <= 1), more turnover leaves fewer
    places served: in every draw the treated arm's expected events rise and the (biased,
    uncertain) "before" rate stays, so each trigger measures fewer units avoided, passes the
    absolute target no more often and pays no more; the pooled top-up pays the larger of the
    pooled amount and the waves' (both no larger), so the total pays no more either."""
    low, high = sorted(r)
    p_low, p_high = _payments(low, e), _payments(high, e)
    assert np.all(p_high <= p_low + 1e-9 * np.maximum(1.0, np.abs(p_low)))


def test_a_leaver_leaves_every_process_of_the_person():
    """Two count processes of the same staff: one turnover parameter (the person's, like
    engagement), and each process's treated events diluted by the same served share."""
    from sibsim.spec.scenario import Process

    sc = dataclasses.replace(
        counts_scenario(1000, 5.0, 0.5, 0.8, 0.2, horizon=3),
        other_processes=(Process(CountOutcome(rate=2.0, name="b"), Effect("rr", 0.7)),))
    names = list(sc.parameters())
    assert names.count("cohort.turnover") == 1 and not any(".cohort." in n for n in names)
    ds = simulate(sc, draws=2, seed=0, engine="expected", progress=False)
    got = ds["events"].sel(arm="treatment").sum(("wave", "stratum")).values  # (D, P, process)
    share = served_share(0.8, 0.2, 0.0, np.arange(3))
    np.testing.assert_allclose(got[0, :, 0], 1000 * 5.0 * (1 - share * 0.5), rtol=1e-12)
    np.testing.assert_allclose(got[0, :, 1], 1000 * 2.0 * (1 - share * 0.3), rtol=1e-12)
