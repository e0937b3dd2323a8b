"""Evaluation power (sibsim.analysis.power) by value: the normal approximation of a trigger's
power worked by hand and against a seeded simulation of the bivariate normal it describes; the
point masses and boundaries (variance 0, power exactly 50%); detection power against the power
of a one-sided z-test by formula; every output variable, unit, coordinate and sentence."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import xarray as xr
from scipy import stats

import sibsim
from sibsim.analysis import power
from sibsim.analysis.power import (
    DETECTION_LEVEL,
    LOW_POWER,
    SmallSampleWarning,
    detection_lines,
    detection_power,
    evaluation_power,
    paying_threshold,
    power_warnings,
    trigger_power,
    warn_small_samples,
)
from sibsim.money import Contract, MetricTerms, PricePerUnit, StepSchedule
from sibsim.money.capital import CapitalStructure, ServiceCosts, Tranche
from sibsim.money.deal import Deal
from sibsim.money.evaluation import Evaluation
from sibsim.spec import Cohort, ComparisonGroup, CountOutcome, Effect, Scenario


def deal_of(n: int, rate: float, rr: float, *, threshold: float = 0.10,
            alpha: float | None = None, precision: float | None = None, ratio: float = 1.0,
            **ev) -> Deal:
    sc = Scenario(outcome=CountOutcome(rate), horizon=1, effect=Effect("rr", rr),
                  comparison=ComparisonGroup(ratio=ratio), cohort=Cohort(size=n))
    return Deal(
        scenario=sc,
        evaluations=(Evaluation("m", alpha=alpha, precision=precision, **ev),),
        contract=Contract((MetricTerms("m", PricePerUnit(100.0, threshold=threshold)),)),
        service_costs=ServiceCosts(per_participant=10.0),
        capital=CapitalStructure((Tranche("fund", 1e9),)),
    )


def test_constants():
    assert LOW_POWER == 0.5 and DETECTION_LEVEL == 0.05
    assert issubclass(SmallSampleWarning, UserWarning)


# ------------------------------------------------------------------------- trigger_power
def simulated(t, vt, c, vc, th, alpha, direction, n=400_000, seed=1):
    rng = np.random.default_rng(seed)
    T = t + math.sqrt(vt) * rng.standard_normal(n)
    C = c + math.sqrt(vc) * rng.standard_normal(n)
    eff = 1 - T / C if direction == "reduce" else T / C - 1
    ok = eff >= th
    if alpha is not None:
        z = (C - T if direction == "reduce" else T - C) / math.sqrt(vt + vc)
        ok &= z > stats.norm.isf(alpha)
    return ok.mean(), math.sqrt(max(ok.mean() * (1 - ok.mean()), 1e-6) / n)


@pytest.mark.parametrize(("t", "c", "n", "th", "alpha", "direction"), [
    (0.40, 0.50, 400, 0.10, None, "reduce"),
    (0.40, 0.50, 400, 0.10, 0.05, "reduce"),
    (0.45, 0.50, 300, 0.02, 0.10, "reduce"),
    (0.60, 0.50, 400, 0.10, None, "increase"),
    (0.60, 0.50, 250, 0.05, 0.05, "increase"),
    (0.52, 0.50, 900, 0.0, 0.05, "increase"),
])
def test_trigger_power_is_the_probability_of_the_bivariate_normal_event(t, c, n, th, alpha,
                                                                        direction):
    p = trigger_power(t, t / n, c, c / n, th, alpha, direction)
    sim, se = simulated(t, t / n, c, c / n, th, alpha, direction)
    assert abs(p - sim) <= 4.5 * se + 2e-3, (p, sim)


def test_trigger_power_without_a_gate_by_hand():
    # reduce: P((1 - th) C - T >= 0), mean (1 - th) c - t, variance (1 - th)^2 vc + vt
    m, var = 0.9 * 0.5 - 0.4, 0.81 * 0.5 / 400 + 0.4 / 400
    assert trigger_power(0.4, 0.4 / 400, 0.5, 0.5 / 400, 0.1, None) == pytest.approx(
        stats.norm.cdf(m / math.sqrt(var)), rel=1e-12)
    assert round(trigger_power(0.4, 0.4 / 400, 0.5, 0.5 / 400, 0.10, None), 4) == 0.8675
    # increase: P(T - (1 + th) C >= 0)
    m, var = 0.6 - 1.1 * 0.5, 0.6 / 400 + 1.21 * 0.5 / 400
    assert trigger_power(0.6, 0.6 / 400, 0.5, 0.5 / 400, 0.1, None, "increase") == \
        pytest.approx(stats.norm.cdf(m / math.sqrt(var)), rel=1e-12)
    # any direction other than "reduce" is an increase
    assert trigger_power(0.6, 0.6 / 400, 0.5, 0.5 / 400, 0.1, None, "up") == \
        trigger_power(0.6, 0.6 / 400, 0.5, 0.5 / 400, 0.1, None, "increase")


def test_trigger_power_with_a_gate_by_hand():
    # threshold 0 to reduce: the gate (C - T) / se > z implies C > T; power
    # Phi((c - t) / se - z), se = sqrt(vt + vc)
    t, c, n = 0.45, 0.5, 200
    se = math.sqrt((t + c) / n)
    assert trigger_power(t, t / n, c, c / n, 0.0, 0.05) == pytest.approx(
        stats.norm.cdf((c - t) / se - stats.norm.isf(0.05)), abs=1e-6)
    assert trigger_power(c, c / n, t, t / n, 0.0, 0.05, "increase") == pytest.approx(
        stats.norm.cdf((c - t) / se - stats.norm.isf(0.05)), abs=1e-6)
    # a strict gate lowers the power; the gate never raises it above the threshold's
    loose = trigger_power(0.4, 0.001, 0.5, 0.00125, 0.1, 0.2)
    strict = trigger_power(0.4, 0.001, 0.5, 0.00125, 0.1, 0.001)
    alone = trigger_power(0.4, 0.001, 0.5, 0.00125, 0.1, None)
    assert strict < loose <= alone


def test_trigger_power_point_masses_and_nan_threshold():
    assert math.isnan(trigger_power(0.4, 0.01, 0.5, 0.01, math.nan, None))
    assert math.isnan(trigger_power(0.4, 0.01, 0.5, 0.01, math.inf, 0.05))
    # no variance: pays exactly at the threshold (>=), not one step below it
    assert trigger_power(0.5, 0.0, 1.0, 0.0, 0.5, None) == 1.0
    assert trigger_power(0.5, 0.0, 1.0, 0.0, np.nextafter(0.5, 1.0), None) == 0.0
    assert trigger_power(1.5, 0.0, 1.0, 0.0, 0.5, None, "increase") == 1.0
    assert trigger_power(1.5, 0.0, 1.0, 0.0, 0.5 + 2e-16, None, "increase") == 0.0  # 1 + th
    assert trigger_power(0.4, 0.0, 0.5, 0.0, 0.1, None) == 1.0
    assert trigger_power(0.5, 0.0, 0.4, 0.0, 0.1, None) == 0.0
    # no variance with a gate: the gate's z is undefined (se 0); the smaller of the two
    assert trigger_power(0.4, 0.0, 0.5, 0.0, 0.1, 0.05) == 1.0
    assert trigger_power(0.5, 0.0, 0.4, 0.0, 0.1, 0.05) == 0.0


def test_trigger_power_with_perfectly_correlated_conditions_is_the_smaller():
    # only the treated rate varies and the threshold is 0: both conditions are T <= C, the
    # gate adds z_alpha sd: the power is the gate's
    t, vt, c = 0.45, 0.0004, 0.5
    p = trigger_power(t, vt, c, 0.0, 0.0, 0.05)
    gate = stats.norm.cdf((c - t) / math.sqrt(vt) - stats.norm.isf(0.05))
    assert p == pytest.approx(gate, rel=1e-12)


def test_above_zero_boundaries():
    assert power._above_zero(0.0, 0.0) == 1.0
    assert power._above_zero(-5e-324, 0.0) == 0.0
    assert power._above_zero(0.0, -1.0) == 1.0
    assert power._above_zero(0.0, 4.0) == 0.5
    assert power._above_zero(2.0, 4.0) == pytest.approx(stats.norm.cdf(1.0), rel=1e-14)


# ----------------------------------------------------------------------- paying_threshold
@pytest.mark.parametrize(("rule", "precision", "cut"), [
    (PricePerUnit(1000.0, threshold=0.10), None, 0.1),
    (PricePerUnit(1000.0, threshold=0.10), 0.01, 0.095),
    (PricePerUnit(1000.0, threshold=0.10), 0.05, 0.075),
    (PricePerUnit(1000.0, threshold=0.999), None, 0.999),
    (StepSchedule(thresholds=(0.05, 0.1), payments=(1.0, 2.0)), 0.01, 0.045),
    (StepSchedule(thresholds=(0.0, 0.1), payments=(0.0, 2.0)), None, 0.1),
    (StepSchedule(thresholds=(0.3,), payments=(1.0,)), 0.1, 0.25),
])
def test_paying_threshold_by_hand(rule, precision, cut):
    assert paying_threshold(rule, precision) == pytest.approx(cut, abs=1e-9)


def test_paying_threshold_bisects_to_the_last_bit_and_returns_nan_when_nothing_pays():
    th = 0.123456789
    assert paying_threshold(PricePerUnit(1.0, threshold=th), None) == round(th, 12)
    assert paying_threshold(PricePerUnit(1.0, threshold=1.0), None) == 1.0
    assert math.isnan(paying_threshold(StepSchedule(thresholds=(0.5,), payments=(0.0,)), None))
    assert math.isnan(paying_threshold(StepSchedule(thresholds=(0.5,), payments=(0.0,)), 0.01))


def test_mean_of_a_distribution_as_one_draw():
    from sibsim.spec.distributions import Dirichlet, Gamma

    assert power._mean(Gamma.from_mean_sd(4.0, 1.0)).tolist() == [pytest.approx(4.0)]
    d = Dirichlet((1.0, 3.0))
    m = power._mean(d)
    assert m.shape == (1, 2) and m.tolist() == [[0.25, 0.75]]


# ----------------------------------------------------------------------- evaluation_power
def test_evaluation_power_every_output_by_hand():
    # 400 treated and 400 comparison people, rate 0.5, rr 0.8: t = 0.4, c = 0.5
    deal = deal_of(400, 0.5, 0.8)
    pw = evaluation_power(deal)
    by_hand = stats.norm.cdf(0.05 / math.sqrt((0.81 * 0.5 + 0.4) / 400))
    sd = math.sqrt(0.4 / 400 / 0.25 + 0.16 * (0.5 / 400) / 0.5 ** 4)
    assert pw["trigger"].values.tolist() == [0, 1]
    assert pw["trigger_metric"].values.tolist() == ["m", "m"]
    assert pw["trigger_label"].values.tolist() == ["wave 0", "pooled"]
    assert pw["trigger_pooled"].values.tolist() == [0, 1]
    assert pw["trigger_pooled"].dtype == np.int8
    assert pw["trigger_participants"].values.tolist() == [400, 400]
    assert pw["trigger_participants"].dtype == np.int64
    assert pw["comparison_participants"].values.tolist() == [400, 400]
    np.testing.assert_allclose(pw["power"].values, [by_hand, by_hand], rtol=1e-9)
    np.testing.assert_allclose(pw["expected_effect"].values, [0.2, 0.2], rtol=1e-9)
    np.testing.assert_allclose(pw["effect_sd"].values, [sd, sd], rtol=1e-9)
    np.testing.assert_allclose(pw["threshold"].values, [0.1, 0.1], atol=1e-12)
    units = {k: pw[k].attrs["units"] for k in pw.data_vars}
    assert units == {"power": "probability", "expected_effect": "fraction",
                     "effect_sd": "fraction", "threshold": "fraction",
                     "comparison_participants": "people"}
    assert pw["power"].attrs["description"] == (
        "Probability that the trigger pays at the prior mean of every input (normal "
        "approximation)")
    assert pw["expected_effect"].attrs["description"] == (
        "Measured effect expected at the prior mean")
    assert pw["effect_sd"].attrs["description"] == (
        "Standard deviation of the measured effect (delta method, Poisson variances)")
    assert pw["threshold"].attrs["description"] == (
        "Smallest unrounded measured effect the pricing rule pays on")
    assert pw["comparison_participants"].attrs["description"].startswith(
        "Comparison-group people the trigger measures")
    assert pw.attrs["description"] == ("Power of each evaluation trigger at the prior mean of "
                                       "the effect (docs/analysis.md, 'Evaluation power')")


def test_evaluation_power_of_an_increase_and_a_larger_comparison_group():
    deal = deal_of(400, 0.5, 1.2, ratio=2.0, direction="increase")
    pw = evaluation_power(deal)
    t, c, nt, nc = 0.6, 0.5, 400, 800
    m, var = t - 1.1 * c, t / nt + 1.21 * c / nc
    np.testing.assert_allclose(pw["power"].values, stats.norm.cdf(m / math.sqrt(var)),
                               rtol=1e-9)
    np.testing.assert_allclose(pw["expected_effect"].values, 0.2, rtol=1e-9)
    sd = math.sqrt(t / nt / c ** 2 + t ** 2 * (c / nc) / c ** 4)
    np.testing.assert_allclose(pw["effect_sd"].values, sd, rtol=1e-9)
    assert pw["comparison_participants"].values.tolist() == [800, 800]


def test_evaluation_power_with_rounding_cuts_half_a_step_below():
    pw = evaluation_power(deal_of(400, 0.5, 0.8, precision=0.01))
    np.testing.assert_allclose(pw["threshold"].values, 0.095, atol=1e-12)
    m, var = 0.905 * 0.5 - 0.4, 0.905 ** 2 * 0.5 / 400 + 0.4 / 400
    np.testing.assert_allclose(pw["power"].values, stats.norm.cdf(m / math.sqrt(var)),
                               rtol=1e-9)


def test_evaluation_power_refuses_what_is_not_a_priced_deal():
    deal = deal_of(400, 0.5, 0.8)
    with pytest.raises(ValueError, match=r"^evaluation_power\.deal: got 'Scenario'; allowed: a "
                                         r"Deal with evaluations, a contract and a capital "
                                         r"structure$"):
        evaluation_power(deal.scenario)


# ------------------------------------------------------------------------ warnings
def fake_power(powers, effects, thresholds, labels=None, n_t=None, n_c=None, metric="m"):
    k = len(powers)
    return xr.Dataset(
        {"power": ("trigger", np.asarray(powers, float)),
         "expected_effect": ("trigger", np.asarray(effects, float)),
         "effect_sd": ("trigger", np.full(k, 0.05)),
         "threshold": ("trigger", np.asarray(thresholds, float)),
         "comparison_participants": ("trigger", np.asarray(n_c or [0] * k))},
        coords={"trigger": np.arange(k), "trigger_metric": ("trigger", [metric] * k),
                "trigger_label": ("trigger", labels or [f"wave {i}" for i in range(k)]),
                "trigger_participants": ("trigger", np.asarray(n_t or [100] * k))})


def test_power_warnings_sentence_and_the_weakest_trigger():
    deal = deal_of(1200, 0.5, 0.85, alpha=0.05)
    pw = fake_power([0.6, 0.3, 0.2, 0.1], [0.2, 0.2, 0.2, 0.05], [0.1, 0.1, 0.1, 0.1],
                    labels=["wave 0", "wave 1", "wave 2", "pooled"], n_t=[100, 200, 1_300, 5],
                    n_c=[100, 200, 2_600, 5])
    # the last trigger's expected effect is below its threshold: the deal's risk, not the
    # sample's; of the others, two are below 50%, the weakest is wave 2
    assert power_warnings(deal, pw) == [
        "Small sample: evaluation 'm' pays its trigger 'wave 2' with probability 20.0% at the "
        "prior mean effect (rr 0.85; 2 of 4 trigger(s) below 50%): the groups (1,300 treated "
        "and 2,600 comparison people) are too small for the design to detect the assumed "
        "effect at significance level 0.05; see sibsim.analysis.power.evaluation_power(deal)."]


def test_power_warnings_boundaries():
    deal = deal_of(1200, 0.5, 0.85)
    # exactly 50% is not below it; an effect exactly at the threshold reaches it
    assert power_warnings(deal, fake_power([0.5], [0.2], [0.1])) == []
    below = fake_power([np.nextafter(0.5, 0)], [0.1], [0.1])
    texts = power_warnings(deal, below)
    assert len(texts) == 1 and "with probability 50.0%" in texts[0]
    assert "(100 treated)" in texts[0] and "comparison" not in texts[0].split("groups")[1][:30]
    assert "detect the assumed effect; see" in texts[0]  # no gate: no level
    above = fake_power([0.1], [np.nextafter(0.1, 0)], [0.1])
    assert power_warnings(deal, above) == []


def test_power_warnings_without_an_effect_and_one_sentence_per_evaluation():
    deal = deal_of(1200, 0.5, 0.85).with_scenario(effect=None)
    pw = fake_power([0.1, 0.2], [0.2, 0.2], [0.1, 0.1])
    texts = power_warnings(deal, pw)
    assert len(texts) == 1 and "(no effect; 2 of 2 trigger(s) below 50%)" in texts[0]
    assert "pays its trigger 'wave 0' with probability 10.0%" in texts[0]


def test_warn_small_samples_warns_each_sentence():
    deal = deal_of(1200, 0.5, 0.85)
    pw = fake_power([0.1], [0.2], [0.1])
    with pytest.warns(SmallSampleWarning) as rec:
        texts = warn_small_samples(deal, pw)
    assert [str(w.message) for w in rec] == texts and len(texts) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_small_samples(deal, fake_power([0.9], [0.2], [0.1])) == []


def test_power_warnings_computes_the_power_when_not_given():
    small = deal_of(60, 0.5, 0.85, threshold=0.0, alpha=0.05)
    assert power_warnings(small) == power_warnings(small, evaluation_power(small))
    assert len(power_warnings(small)) == 1


# ------------------------------------------------------------------------ detection
def test_detection_power_is_the_power_of_a_one_sided_z_test():
    pw = xr.Dataset({"expected_effect": ("trigger", [0.2, 0.1, 0.3, 0.0, -0.1, 0.2, 0.2, np.nan]),
                     "effect_sd": ("trigger", [0.1, 0.05, 0.3, 0.1, 0.1, 0.0, np.inf, 0.1])})
    d = detection_power(pw)
    z = stats.norm.isf(0.05)
    e = np.array([0.2, 0.1, 0.3])
    s = np.array([0.1, 0.05, 0.3])
    np.testing.assert_allclose(d.values[:3], stats.norm.cdf(e / s - z), rtol=1e-12)
    assert np.isnan(d.values[3:]).all()
    assert d.name == "detection_power" and d.dims == ("trigger",)
    assert d.attrs == {"units": "probability",
                       "description": "Probability that a one-sided test at level 0.05 tells "
                                      "the effect expected at the prior mean from no effect "
                                      "(normal approximation)"}
    d1 = detection_power(pw, level=0.01)
    np.testing.assert_allclose(d1.values[:3], stats.norm.cdf(e / s - stats.norm.isf(0.01)),
                               rtol=1e-12)
    assert "level 0.01 tells" in d1.attrs["description"]
    # at E = z s the test detects half the time
    half = xr.Dataset({"expected_effect": ("trigger", [z * 0.1]),
                       "effect_sd": ("trigger", [0.1])})
    assert float(detection_power(half)[0]) == pytest.approx(0.5, abs=1e-12)


def det_power(effects, sds, n_t=None, n_c=None, labels=None, metric="m"):
    pw = fake_power([0.9] * len(effects), effects, [0.0] * len(effects), labels, n_t, n_c,
                    metric)
    pw["effect_sd"] = ("trigger", np.asarray(sds, float))
    return pw


def test_detection_lines_sentence_of_the_weakest_trigger():
    deal = deal_of(1200, 0.5, 0.85)
    z = stats.norm.isf(0.05)
    pw = det_power([0.2, 0.1, 0.2], [0.05, 0.1, 0.1], n_t=[500, 200, 300], n_c=[500, 400, 0],
                   labels=["wave 0", "wave 1", "pooled"])
    p = stats.norm.cdf(0.1 / 0.1 - z)
    assert detection_lines(deal, pw) == [
        "Too few people to tell the effect from noise: evaluation 'm' ('wave 1', 200 people "
        "against 400 in the comparison group) would detect the assumed effect (a measured "
        f"change of 10.0%, give or take 10.0 percentage points) with probability {100 * p:.0f}%"
        " at the 5% significance level. Payments will follow chance as much as the service's "
        "effect; larger groups, pooling the waves (pooled = true) or a longer window help."]
    one = det_power([0.2], [0.2], n_t=[300], n_c=[0], labels=["pooled"])
    text = detection_lines(deal, one, level=0.1)[0]
    assert "('pooled', 300 people) would detect" in text
    assert "at the 10% significance level" in text
    p = stats.norm.cdf(1.0 - stats.norm.isf(0.1))
    assert f"with probability {100 * p:.0f}% at" in text


def test_detection_lines_boundaries_and_what_is_left_out():
    deal = deal_of(1200, 0.5, 0.85)
    z = stats.norm.isf(0.05)
    # detection of exactly 50% is not below it
    assert detection_lines(deal, det_power([z * 0.1], [0.1])) == []
    assert len(detection_lines(deal, det_power([np.nextafter(z * 0.1, 0)], [0.1]))) == 1
    # no effect in the paying direction: nothing to detect, no sentence
    assert detection_lines(deal, det_power([0.0, -0.1], [0.1, 0.1])) == []
    # an evaluation named by power_warnings is not named twice
    warned = det_power([0.01], [0.1])
    warned["power"] = ("trigger", [0.1])
    warned["threshold"] = ("trigger", [0.0])
    assert len(power_warnings(deal, warned)) == 1
    assert detection_lines(deal, warned) == []


def test_detection_lines_computes_the_power_when_not_given():
    deal = deal_of(30, 0.5, 0.9, threshold=0.0)
    assert detection_lines(deal) == detection_lines(deal, evaluation_power(deal))
    assert len(detection_lines(deal)) == 1


def test_detection_of_a_builtin_deal_is_consistent():
    deal = sibsim.load_scenario("peterborough")
    pw = evaluation_power(deal)
    d = detection_power(pw)
    assert d.sizes["trigger"] == pw.sizes["trigger"]
    ok = np.isfinite(d.values)
    assert ok.any() and ((d.values[ok] >= 0) & (d.values[ok] <= 1)).all()


@pytest.mark.parametrize("lag", [0, 1])
def test_evaluation_power_labels_per_period_and_to_date(lag):
    """A per-period trigger is labelled by its wave and the period it measures (the period it
    is known in less the report lag); a to-date trigger by the period it nets up to."""
    sc = Scenario(outcome=CountOutcome(0.5), horizon=3, effect=Effect("rr", 0.8),
                  comparison=ComparisonGroup(ratio=1.0), cohort=Cohort(entry=(200, 100)))

    def deal(**kw):
        return Deal(scenario=sc, evaluations=(Evaluation("m", precision=None, window=2,
                                                         per_period=True, **kw),),
                    contract=Contract((MetricTerms("m", PricePerUnit(100.0, threshold=0.1)),)),
                    service_costs=ServiceCosts(per_participant=10.0),
                    capital=CapitalStructure((Tranche("fund", 1e9),)))

    pw = evaluation_power(deal(report_lag=lag))
    assert pw["trigger_label"].values.tolist() == [
        "wave 0, period 0", "wave 0, period 1", "wave 1, period 1", "wave 1, period 2",
        "pooled"]
    assert pw["trigger_pooled"].values.tolist() == [0, 0, 0, 0, 1]
    assert pw["trigger_participants"].values.tolist() == [200, 200, 100, 100, 300]
    td = evaluation_power(deal(report_lag=lag, to_date=True))
    assert td["trigger_label"].values.tolist() == [
        "to date, period 0", "to date, period 1", "to date, period 2", "pooled"]
    assert td["trigger_pooled"].values.tolist() == [1, 1, 1, 1]


@pytest.mark.parametrize(("target", "cut"), [(0.09, 0.18), (0.05, 0.10), (0.01, 0.10)])
def test_an_absolute_target_is_a_relative_cut_on_the_counterfactual(target, cut):
    """A target of ``target`` units avoided a person-period, on a counterfactual of 0.5 units a
    person-period over one period, is a measured effect of target / 0.5; the larger of it and
    the rule's 10% is the cut (at 0.05 both are 10%)."""
    pw = evaluation_power(deal_of(400, 0.5, 0.8, target_per_person_period=target))
    np.testing.assert_allclose(pw["threshold"].values, cut, rtol=1e-9)
    m, var = (1 - cut) * 0.5 - 0.4, (1 - cut) ** 2 * 0.5 / 400 + 0.4 / 400
    np.testing.assert_allclose(pw["power"].values, stats.norm.cdf(m / math.sqrt(var)),
                               rtol=1e-9)


def test_a_counterfactual_without_events_has_no_measured_effect():
    pw = evaluation_power(deal_of(400, 0.0, 0.8))
    assert np.isnan(pw["expected_effect"].values).all()
    assert np.isnan(pw["effect_sd"].values).all()
    assert pw["expected_effect"].dtype == np.float64
    assert np.isnan(detection_power(pw).values).all()
