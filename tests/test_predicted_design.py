"""The ``predicted`` evaluation design (:class:`sibsim.money.evaluation.Predicted`): a model's
prediction whose error (the log-ratio of prediction to truth) drifts over calendar years.

Refusals (Python, TOML, the CLI, the payment curves); ``drift = 0`` against the historical
design, to the last bit; the drift path derived by hand from the keyed normal streams (its
AR(1) recursion written out here, not taken from the code); statistical tests of the spread of
the measured effect in year ``t`` against the closed form of the random walk (``t`` steps) and
of the AR(1), with tolerances from the sampling distribution of a variance at a fixed seed;
keyed streams (a year's result does not depend on later years); a shared cycle."""

from __future__ import annotations

import dataclasses
import math
import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from cli_refusal import assert_file_refused
from sibsim.analysis.evaluation_design import design_for
from sibsim.analysis.power import evaluation_power
from sibsim.engine.parameters import sample_parameter
from sibsim.money import MoneyValue
from sibsim.money.evaluation import (
    EVALUATION_DESIGNS,
    Blend,
    Evaluation,
    Historical,
    Measured,
    Predicted,
    evaluate,
    evaluation_fixed,
)
from sibsim.scenario_file import builtin_scenarios, parse_scenario
from sibsim.spec import Gamma, Normal
from test_evaluation import outcome_ds, two_wave_ds

SEED = 11


def one_wave_ds(D, P, n=500, rate=2.0, noise_seed=None):
    """One wave of ``n`` treated people entering in period 0 (no comparison arm), ``P`` yearly
    periods. Events: exactly ``n x rate`` a period (the truth is the rate itself), or Poisson
    around it with ``noise_seed``."""
    if noise_seed is None:
        events = np.full((D, 1, P), n * rate)
    else:
        events = np.random.default_rng(noise_seed).poisson(n * rate, (D, 1, P)).astype(float)
    return outcome_ds({"treatment": events}, {"treatment": [n]}, [0])


def yearly(design, P, **kw):
    """Paid year by year on one wave's P-year window: one trigger a year."""
    base = dict(metric="m", design=design, window=P, per_period=True, pooled=False,
                direction="increase", precision=None)
    base.update(kw)
    return Evaluation(**base)


def drift_by_hand(name, seed, D, years, drift, persistence=1.0):
    """d[y] = persistence d[y-1] + drift z[y], d[-1] = 0, z[y] the standard normal stream
    ``<name>[y]`` (the design's documented keying), for draws 0..D-1: (D, years)."""
    d, level = np.zeros((D, years)), np.zeros(D)
    for y in range(years):
        z = sample_parameter(Normal(0.0, 1.0), f"{name}[{y}]", seed, 0, D)
        level = persistence * level + drift * z
        d[:, y] = level
    return d


# --------------------------------------------------------------------------- refusals
@pytest.mark.parametrize(("kw", "words"), [
    ({"drift": 10}, ["Predicted.drift", "got 10", "write 0.1 for 10%"]),
    ({"drift": -0.05}, ["Predicted.drift", "got -0.05", "[0, 1]"]),
    ({"drift": math.nan}, ["Predicted.drift", "[0, 1]"]),
    ({"drift": 0.05, "persistence": 50}, ["Predicted.persistence", "write 0.5 for 50%"]),
    ({"drift": 0.05, "persistence": -0.5}, ["Predicted.persistence", "[0, 1]"]),
    ({"drift": 0.05, "cycle": ""}, ["Predicted.cycle"]),
    ({"drift": 0.05, "historical_rate": -1.0}, ["Predicted.historical_rate", ">= 0"]),
])
def test_python_refusals_name_the_field_the_value_and_what_is_allowed(kw, words):
    args = {"historical_rate": 9.4, **kw}
    with pytest.raises((ValueError, TypeError)) as err:  # TypeError: not a number or a name
        Predicted(**args)
    msg = str(err.value)
    assert "allowed:" in msg
    for w in words:
        assert w in msg, (w, msg)


def test_the_flat_spelling_needs_the_drift():
    with pytest.raises(ValueError, match=r"Evaluation\.drift: got None; allowed: .*required "
                                         r"by design 'predicted'"):
        Evaluation("m", design="predicted", historical_rate=9.4)


def test_per_wave_levels_are_checked_against_the_waves():
    ev = Evaluation("m", design=Predicted(historical_rate=[0.5, 0.6, 0.7], drift=0.05),
                    window=2)
    with pytest.raises(ValueError, match=r"historical_rate: .*one value per entry wave"):
        evaluate(two_wave_ds(), (ev,), 0)


def test_a_caller_without_the_periods_is_refused():
    p = Predicted(historical_rate=1.0, drift=0.1)
    params = {"evaluation.m.historical_rate": np.ones(2)}
    with pytest.raises(ValueError, match=r"Measured\.periods"):
        p.counterfactual("m", params, None, Measured([0], np.array([5.0]), np.array([1])))


def _tyollisyys() -> str:
    return builtin_scenarios()["tyollisyys-sib"].read_text(encoding="utf-8")


def test_tyollisyys_uses_the_predicted_design_and_says_so():
    text = _tyollisyys()
    gaps = text.split("# NOT YET EXPRESSIBLE:")[1].split("\n\n")[0]
    assert "business cycle" not in gaps  # the drift is expressed now; a narrower gap remains
    deal = sibsim.load_scenario("tyollisyys-sib")
    designs = [e.design for e in deal.evaluations]
    assert [type(d) for d in designs] == [Predicted, Predicted]
    assert {(d.drift, d.persistence, d.cycle) for d in designs} == {(0.04, 0.5, "finland")}
    before = text.split('kind = "predicted"')[0].rsplit("[[evaluation]]", 1)[1]
    assert "assumption" in before.lower()  # the drift is marked as an assumption


DESIGN_LINE = ('drift = 0.04, persistence = 0.5, cycle = "finland"}')


@pytest.mark.parametrize(("new", "words"), [
    ('drift = 4, persistence = 0.5, cycle = "finland"}', ["drift", "got 4", "write 0.04 for 4%"]),
    ('drift = -0.04, persistence = 0.5, cycle = "finland"}', ["drift", "-0.04", "[0, 1]"]),
    ('drift = 0.04, persistence = 1.5, cycle = "finland"}', ["persistence", "1.5"]),
    ('persistence = 0.5, cycle = "finland"}', ["drift", "required"]),
    ('drift = 0.04, drfit = 0.5}', ["drfit", "unknown key"]),
    ('drift = {dist = "normal", mean = 0.04, sd = 0.01}}', ["drift"]),
])
def test_cli_refuses_a_bad_drift_with_exit_2(tmp_path, capsys, new, words):
    text = _tyollisyys()
    assert DESIGN_LINE in text
    assert_file_refused(tmp_path, capsys, text.replace(DESIGN_LINE, new, 1), words)


def test_toml_reads_every_field():
    doc = tomllib.loads(_tyollisyys())
    doc["evaluation"][0]["design"] = {"kind": "predicted", "historical_rate": [9.4] * 5,
                                      "drift": 0.02}
    a, b = parse_scenario(doc).evaluations
    assert a.design == Predicted(historical_rate=[9.4] * 5, drift=0.02)
    assert a.design.persistence == 1.0 and a.design.cycle is None
    name = "evaluation.wages_easier"
    assert sorted(a.parameters()) == [f"{name}.historical_rate[{w}]" for w in range(5)] + [
        f"{name}.money.per_unit"]
    assert b.design.cycle == "finland"


def test_payment_curves_refuse_a_predicted_design_by_name_clearly():
    deal = sibsim.load_scenario("peterborough")
    with pytest.raises(ValueError, match=r"payment_curves.designs: got 'predicted'; allowed: a "
                                         r"Predicted\(\.\.\.\) design object .*drift"):
        design_for(deal, "predicted")
    own = sibsim.load_scenario("tyollisyys-sib")
    assert design_for(own, "predicted") is own.evaluations[0].design


# --------------------------------------------------------------------------- drift 0
def test_drift_0_is_the_historical_design_bit_for_bit_on_tyollisyys():
    """Money, strata, per-period results, uncertain levels: every number of the table."""
    deal = sibsim.load_scenario("tyollisyys-sib")
    hist = tuple(dataclasses.replace(e, design=Historical(e.design.historical_rate))
                 for e in deal.evaluations)
    zero = tuple(dataclasses.replace(e, design=dataclasses.replace(e.design, drift=0.0))
                 for e in deal.evaluations)
    ds = sibsim.simulate(deal.scenario, draws=40, seed=5, progress=False)
    a, b = evaluate(ds, hist, 5), evaluate(ds, zero, 5)
    for f in ("measured_effect", "units", "avoided_cost", "gate"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    assert a.period == b.period and a.waves == b.waves


@pytest.mark.parametrize("kw", [
    dict(window=2),                                   # whole windows, pooled top-up
    dict(window=2, per_period=True),                  # per period + pooled over spans
    dict(window=2, per_period=True, to_date=True),    # results to date
    dict(window=2, alpha=0.1),                        # with a gate
])
def test_drift_0_is_the_historical_design_bit_for_bit_on_every_trigger_kind(kw):
    rates = (Gamma.from_mean_sd(0.6, 0.05), 0.45)
    hist = Evaluation("m", design=Historical(rates), report_lag=1, **kw)
    zero = Evaluation("m", design=Predicted(rates, drift=0.0), report_lag=1, **kw)
    ds = two_wave_ds()
    a, b = evaluate(ds, (hist,), 3), evaluate(ds, (zero,), 3)
    for f in ("measured_effect", "units", "avoided_cost", "gate"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


def test_power_takes_the_drift_at_its_mean():
    """The power analysis sets every input at its mean: the drift at 0, so the same power as
    the historical design."""
    deal = sibsim.load_scenario("tyollisyys-sib")
    hist = deal.replace(evaluations=tuple(
        dataclasses.replace(e, design=Historical(e.design.historical_rate))
        for e in deal.evaluations))
    a, b = evaluation_power(deal), evaluation_power(hist)
    for name in ("power", "expected_effect", "effect_sd"):
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


# --------------------------------------------------------------------------- by hand
def test_yearly_counterfactual_is_the_level_times_the_drift_by_hand():
    """No noise, no true effect: the measured effect of year t is exp(-d[t]) - 1, with d the
    random walk of the keyed streams ``evaluation.m.drift[y]``."""
    D, P = 300, 5
    ev = yearly(Predicted(historical_rate=2.0, drift=0.1), P)
    table = evaluate(one_wave_ds(D, P), (ev,), SEED)
    d = drift_by_hand("evaluation.m.drift", SEED, D, P, 0.1)
    assert table.period == tuple(range(P))
    np.testing.assert_allclose(table.measured_effect, np.expm1(-d), rtol=1e-12, atol=1e-14)
    # units = (treated - predicted) x people = n (rate - rate e^d)
    np.testing.assert_allclose(table.units, 500 * 2.0 * -np.expm1(d), rtol=1e-12, atol=1e-9)


def test_a_whole_window_uses_the_mean_drift_and_money_weights_it():
    """A 3-year window measured once: the prediction is the level times the mean of
    exp(d[y]) over the window; in money, each year's exp(d[y]) weighted by that year's money
    per unit (100, 110, 121)."""
    D, P = 50, 3
    ds = one_wave_ds(D, P)
    d = drift_by_hand("evaluation.m.drift", SEED, D, P, 0.2, persistence=0.7)
    design = Predicted(historical_rate=6.0, drift=0.2, persistence=0.7)  # per window
    units_ev = Evaluation("m", design=design, window=3, pooled=False, direction="increase",
                          precision=None)
    got = evaluate(ds, (units_ev,), SEED)
    predicted = 6.0 * np.exp(d).mean(1)
    np.testing.assert_allclose(got.units[:, 0], 500 * (6.0 - predicted), rtol=1e-12)
    money_ev = dataclasses.replace(units_ev, money=MoneyValue(per_unit=100.0, growth=0.1))
    got = evaluate(ds, (money_ev,), SEED)
    value = np.array([100.0, 110.0, 121.0])
    treated = 500 * 2.0 * value.sum() / 500  # currency a person over the window
    predicted = 6.0 * (np.exp(d) * value).sum(1) / 3  # level x mean value x weighted drift
    np.testing.assert_allclose(got.units[:, 0], 500 * (treated - predicted), rtol=1e-12)


def test_the_drift_follows_calendar_years_not_periods():
    """Quarterly periods: the four quarters of a year share its drift."""
    D, P = 20, 8
    ds = one_wave_ds(D, P)
    ds.attrs["periods_per_year"] = 4
    ev = yearly(Predicted(historical_rate=2.0, drift=0.1), P)
    got = evaluate(ds, (ev,), SEED).measured_effect
    d = drift_by_hand("evaluation.m.drift", SEED, D, 2, 0.1)
    np.testing.assert_allclose(got, np.expm1(-np.repeat(d, 4, axis=1)), rtol=1e-12)


# --------------------------------------------------------------------------- statistics
def _var_tolerance(var, n, k=4.0):
    """k standard errors of the sample variance of n normal values of variance ``var``."""
    return k * var * math.sqrt(2.0 / (n - 1))


def test_spread_of_the_yearly_effect_grows_like_a_random_walk():
    """No true effect, no outcome noise: log(1 + effect) in year t (1-based) is -d, a sum of
    t independent steps, so its variance across draws is t x drift**2 and the covariance of
    years s <= t is s x drift**2. Tolerances: 4 standard errors of a sample (co)variance of
    20,000 normal draws (fixed seed)."""
    D, P, sd = 20_000, 6, 0.05
    ev = yearly(Predicted(historical_rate=2.0, drift=sd), P)
    x = -np.log1p(evaluate(one_wave_ds(D, P), (ev,), SEED).measured_effect)  # (D, P) = d
    assert np.all(np.abs(x.mean(0)) < 4 * sd * np.sqrt(np.arange(1, P + 1) / D))
    cov = np.cov(x, rowvar=False)
    for t in range(1, P + 1):
        closed = t * sd**2
        assert abs(cov[t - 1, t - 1] - closed) < _var_tolerance(closed, D), (t, cov[t - 1, t - 1])
    for s in range(1, P + 1):  # Cov(d_s, d_t) = s sd^2, se sqrt((V_s V_t + C^2) / n)
        for t in range(s + 1, P + 1):
            closed, vs, vt = s * sd**2, s * sd**2, t * sd**2
            se = math.sqrt((vs * vt + closed**2) / (D - 1))
            assert abs(cov[s - 1, t - 1] - closed) < 4 * se, (s, t)
    # the spread grows year by year: the last year's variance is about 6 times the first's
    assert cov[-1, -1] / cov[0, 0] == pytest.approx(P, rel=0.15)


def test_spread_of_the_yearly_effect_follows_the_ar1_closed_form():
    """persistence r: Var d[t] = sd**2 (1 + r**2 + ... + r**(2 (t - 1)))."""
    D, P, sd, r = 20_000, 6, 0.05, 0.6
    ev = yearly(Predicted(historical_rate=2.0, drift=sd, persistence=r), P)
    x = -np.log1p(evaluate(one_wave_ds(D, P), (ev,), SEED).measured_effect)
    for t in range(1, P + 1):
        closed = sd**2 * sum(r ** (2 * k) for k in range(t))
        assert abs(x[:, t - 1].var(ddof=1) - closed) < _var_tolerance(closed, D), t
    # towards the stationary variance sd^2 / (1 - r^2), well below the random walk's
    assert x[:, -1].var() < 0.5 * P * sd**2


def test_the_drift_adds_its_variance_to_the_outcome_noise():
    """With Poisson outcomes (no true effect), the spread of log(1 + effect) in year t is the
    outcome noise's (the same draws measured with drift 0) plus t x drift**2: the two are
    independent. Tolerance: 4 standard errors of the difference of the two sample variances,
    Var(X - d) - Var(X) = Var(d) - 2 Cov(X, d) (sample), from the sampling sds of a variance
    and of a covariance of independent normals."""
    D, P, sd = 20_000, 5, 0.04
    ds = one_wave_ds(D, P, noise_seed=7)
    on = yearly(Predicted(historical_rate=2.0, drift=sd), P)
    off = yearly(Predicted(historical_rate=2.0, drift=0.0), P)
    x_on = np.log1p(evaluate(ds, (on,), SEED).measured_effect)
    x_off = np.log1p(evaluate(ds, (off,), SEED).measured_effect)
    for t in range(1, P + 1):
        v_d, v_x = t * sd**2, x_off[:, t - 1].var(ddof=1)
        gained = x_on[:, t - 1].var(ddof=1) - v_x
        se = math.sqrt(2 * v_d**2 / (D - 1) + 4 * v_x * v_d / (D - 1))
        assert abs(gained - v_d) < 4 * se, (t, gained, v_d)


# --------------------------------------------------------------------------- keyed streams
def test_a_year_does_not_depend_on_later_years():
    """The first 3 years' results are the same, to the last bit, with a 3-year horizon as
    with 6 (later years' steps are never drawn), and a block of draws gets the whole run's."""
    D = 40
    long, short = one_wave_ds(D, 6, noise_seed=3), None
    short = long.isel(period=slice(0, 3))
    design = Predicted(historical_rate=2.0, drift=0.1, persistence=0.8)
    a = evaluate(long, (yearly(design, 3),), SEED)
    b = evaluate(short, (yearly(design, 3),), SEED)
    np.testing.assert_array_equal(a.measured_effect, b.measured_effect)
    block = evaluate(long.isel(draw=slice(25, 40)), (yearly(design, 3),), SEED)
    np.testing.assert_array_equal(a.measured_effect[25:], block.measured_effect)


@settings(max_examples=25, deadline=None)
@given(drift=st.floats(0.0, 1.0), persistence=st.floats(0.0, 1.0),
       seed=st.integers(0, 2**31 - 1), years=st.integers(1, 6), ppy=st.sampled_from([1, 4, 12]))
def test_the_path_of_the_first_years_is_a_prefix(drift, persistence, seed, years, ppy):
    """Property: the path over ``years`` is the first part of the path over more years; it is
    constant within a calendar year; drift 0 draws nothing."""
    p = Predicted(historical_rate=1.0, drift=drift, persistence=persistence)
    draws = np.arange(5)
    short = p.period_draws("m", seed, draws, years * ppy, ppy)
    long = p.period_draws("m", seed, draws, (years + 2) * ppy, ppy)
    if drift == 0.0:
        assert short == {} and long == {}
        return
    s, lg = short["evaluation.m.drift_path"], long["evaluation.m.drift_path"]
    np.testing.assert_array_equal(s, lg[:, :years * ppy])
    assert np.all(s.reshape(5, years, ppy) == s[:, ::ppy, None])
    at_mean = p.period_draws("m", None, draws, years * ppy, ppy)["evaluation.m.drift_path"]
    assert np.all(at_mean == 0.0)


def test_the_drift_leaves_every_other_draw_unchanged():
    """The level (historical_rate) and the money dispersion keep their draws: the drifted
    prediction is the historical one times exp(d), d from its own streams."""
    deal = sibsim.load_scenario("tyollisyys-sib")
    ds = sibsim.simulate(deal.scenario, draws=30, seed=2, progress=False)
    hist = tuple(dataclasses.replace(e, design=Historical(e.design.historical_rate))
                 for e in deal.evaluations)
    a = evaluation_fixed(ds, hist, 2)
    b = evaluation_fixed(ds, deal.evaluations, 2)
    d = drift_by_hand("evaluation.cycle.finland", 2, 30, 8, 0.04, persistence=0.5)
    for pa, pb in zip(a.parts, b.parts, strict=True):
        np.testing.assert_array_equal(pa.noise, pb.noise)
        for ta, tb in zip(pa.triggers, pb.triggers, strict=True):
            assert ta.period == tb.period is not None
            np.testing.assert_allclose(tb.c_rate, ta.c_rate * np.exp(d[:, ta.period]),
                                       rtol=1e-12)


def test_a_shared_cycle_moves_both_groups_together_and_own_cycles_are_independent():
    D, P = 4_000, 4
    ds = one_wave_ds(D, P)
    shared = Predicted(historical_rate=2.0, drift=0.05, cycle="c")
    own = Predicted(historical_rate=2.0, drift=0.05)
    evs = (yearly(shared, P, metric="a"), yearly(shared, P, metric="b"),
           yearly(own, P, metric="x"), yearly(own, P, metric="y"))
    e = evaluate(ds, evs, SEED).measured_effect.reshape(D, 4, P)
    np.testing.assert_array_equal(e[:, 0], e[:, 1])
    r = np.corrcoef(e[:, 2, -1], e[:, 3, -1])[0, 1]
    assert abs(r) < 4 / math.sqrt(D), r


def test_a_blend_passes_the_drift_to_its_predicted_part():
    """A blend of an RCT and a drifting prediction: its counterfactual is the weighted sum,
    the prediction's part drifting with the streams of ``evaluation.m.designs[1].drift``."""
    D, P = 30, 3
    events = np.full((D, 1, P), 1_000.0)
    ds = outcome_ds({"treatment": events, "comparison": events}, {"treatment": [500],
                                                                   "comparison": [500]}, [0])
    blend = Blend(designs=(EVALUATION_DESIGNS["rct"](),
                           Predicted(historical_rate=2.0, drift=0.1)), weights=(0.5, 0.5))
    got = evaluate(ds, (yearly(blend, P),), SEED)
    d = drift_by_hand("evaluation.m.designs[1].drift", SEED, D, P, 0.1)
    c = 0.5 * 2.0 + 0.5 * 2.0 * np.exp(d)
    np.testing.assert_allclose(got.measured_effect, 2.0 / c - 1, rtol=1e-12)
