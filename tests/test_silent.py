"""Silent wrong results become errors or visible warnings (issue "Hardening" section 1).

* degenerate designs: groups that round to nobody are refused, at construction where possible
  and in :func:`~sibsim.money.evaluation.evaluate` as a last line of defence;
* evaluation power at the prior mean effect: closed forms computed by hand, agreement with the
  simulated share of triggers paid (Monte Carlo tolerance), the small-sample warning;
* the samplers' numerical range: mean and variance at the edges of the documented range, the
  range checked before a run, no negative count over extreme valid inputs;
* overrides are checked against the specification's ranges and shapes.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from scipy import stats

import sibsim
from sibsim import (
    BinaryOutcome,
    Cohort,
    ComparisonGroup,
    CountOutcome,
    Dirichlet,
    Effect,
    MarkovOutcome,
    Scenario,
    Stratum,
)
from sibsim.analysis.power import (
    SmallSampleWarning,
    evaluation_power,
    paying_threshold,
    power_warnings,
    trigger_power,
)
from sibsim.engine.kernels.rng import binomial, gamma, poisson, stream_state
from sibsim.engine.ranges import MAX_EXPECTED_COUNT
from sibsim.money import Contract, MetricTerms, PricePerUnit, StepSchedule
from sibsim.money.capital import CapitalStructure, ServiceCosts, Tranche
from sibsim.money.deal import Deal
from sibsim.money.evaluation import Evaluation, Historical, evaluate

pytestmark = pytest.mark.usefixtures("warm_kernels")

Z = 4.5  # standard errors allowed in statistical checks (two-sided p about 7e-6)


def deal_of(scenario: Scenario, *, threshold: float = 0.10, alpha: float | None = None,
            precision: float | None = 0.001, **ev) -> Deal:
    """A priced deal with one evaluation ``m`` paid per unit from ``threshold``."""
    return Deal(
        scenario=scenario,
        evaluations=(Evaluation("m", alpha=alpha, precision=precision, **ev),),
        contract=Contract((MetricTerms("m", PricePerUnit(100.0, threshold=threshold)),)),
        service_costs=ServiceCosts(per_participant=10.0),
        capital=CapitalStructure((Tranche("fund", 1e9),)),
    )


def poisson_scenario(n: int, rate: float, rr: float, ratio: float = 1.0, **kw) -> Scenario:
    args = dict(outcome=CountOutcome(rate), horizon=1, effect=Effect("rr", rr),
                comparison=ComparisonGroup(ratio=ratio))
    args.update(kw)
    if "cohort" not in args:
        args["cohort"] = Cohort(size=n)
    return Scenario(**args)


# ====================================================================== degenerate designs
def test_comparison_group_rounding_to_nobody_is_refused():
    with pytest.raises(ValueError, match=r"ComparisonGroup\.ratio: got 0\.001; .*rounds to 0"):
        poisson_scenario(100, 1.0, 0.8, ratio=0.001)


def test_stratum_without_people_is_refused():
    with pytest.raises(ValueError, match=r"Stratum\[b\]\.share: got 0\.001; .*rounds to 0"):
        poisson_scenario(100, 1.0, 0.8, cohort=Cohort(
            size=100, strata=(Stratum("a", 0.999), Stratum("b", 0.001))))


def test_empty_comparison_wave_refused_when_the_design_measures_it():
    # ratio 0.4 of a 1-person wave rounds to 0 comparison people in wave 1
    sc = poisson_scenario(0, 1.0, 0.8, ratio=0.4, cohort=Cohort(entry=(100, 1)), horizon=2)
    assert sc.comparison.sizes(sc.cohort) == (40, 0)
    with pytest.raises(ValueError, match=r"Evaluation\[m\] comparison group of entry wave 1: "
                                         r"got 0 people \(1 treated\)"):
        deal_of(sc)
    # pooled only: the pooled comparison group has 40 people, nothing is empty
    assert deal_of(sc, per_wave=False).has_money
    # a historical design needs no comparison group
    assert deal_of(sc, design=Historical(historical_rate=1.0)).has_money


def test_evaluated_stratum_without_people_in_a_wave_is_refused():
    sc = poisson_scenario(0, 1.0, 0.8, horizon=2, cohort=Cohort(
        entry=(100, 1), strata=(Stratum("a", 0.9), Stratum("b", 0.1))))
    with pytest.raises(ValueError, match=r"Evaluation\[m\]\.stratum: .*wave 1 has 1 "
                                         r"participants, none in strata \['b'\]"):
        deal_of(sc, stratum="b")
    assert deal_of(sc, stratum="b", per_wave=False).has_money


def test_evaluate_refuses_an_empty_group_instead_of_measuring_zero():
    sc = poisson_scenario(0, 1.0, 0.8, ratio=0.4, cohort=Cohort(entry=(100, 1)), horizon=2)
    ds = sibsim.simulate(sc, draws=3, seed=1, progress=False)
    with pytest.raises(ValueError, match="comparison group of entry wave 1: got 0 people"):
        evaluate(ds, (Evaluation("m"),), seed=1)
    table = evaluate(ds, (Evaluation("m", per_wave=False),), seed=1)
    assert table.n_triggers == 1


# ====================================================================== evaluation power
def test_power_by_hand_threshold_only():
    # 400 treated and 400 comparison people, Poisson rate 0.5, rr 0.8: rates t = 0.4, c = 0.5;
    # pays when (1 - 0.1) C - T >= 0: mean 0.05, variance (0.81 * 0.5 + 0.4) / 400
    deal = deal_of(poisson_scenario(400, 0.5, 0.8), precision=None)
    pw = evaluation_power(deal)
    by_hand = stats.norm.cdf(0.05 / math.sqrt((0.81 * 0.5 + 0.4) / 400))
    # one wave: its own trigger and the pooled top-up measure the same people
    assert pw["trigger_label"].values.tolist() == ["wave 0", "pooled"]
    assert pw["power"].values.tolist() == pytest.approx([by_hand, by_hand], abs=1e-9)
    assert float(pw["expected_effect"][0]) == pytest.approx(0.2)
    assert float(pw["threshold"][0]) == pytest.approx(0.1)
    assert float(pw["effect_sd"][0]) == pytest.approx(
        math.sqrt(0.4 / 400 / 0.25 + 0.16 * (0.5 / 400) / 0.5**4))


def test_power_by_hand_with_the_significance_gate():
    # threshold 0: the gate z = (C - T) / se > z_alpha implies C > T, so the power is
    # Phi((c - t) / se - z_alpha) with se = sqrt((t + c) / n)
    deal = deal_of(poisson_scenario(200, 0.5, 0.9), threshold=0.0, alpha=0.05, precision=None)
    se = math.sqrt((0.45 + 0.5) / 200)
    by_hand = stats.norm.cdf(0.05 / se - stats.norm.isf(0.05))
    assert evaluation_power(deal)["power"].values == pytest.approx(by_hand, abs=1e-6)


def test_paying_threshold_of_rules_and_rounding():
    assert paying_threshold(PricePerUnit(1.0, threshold=0.2), None) == pytest.approx(0.2)
    # rounded to 0.001: 0.1995 rounds to 0.200, the first paying grid point
    assert paying_threshold(PricePerUnit(1.0, threshold=0.2), 0.001) == pytest.approx(0.1995)
    steps = StepSchedule(thresholds=(0.05, 0.1), payments=(1.0, 2.0))
    assert paying_threshold(steps, None) == pytest.approx(0.05)
    # a price per unit without threshold pays whenever units are positive: effect > 0
    assert paying_threshold(PricePerUnit(1.0, threshold=None), None) == pytest.approx(0, abs=2e-4)
    assert math.isnan(paying_threshold(StepSchedule(thresholds=(0.5,), payments=(0.0,)), None))


def test_power_is_monotone_in_the_group_sizes_with_a_gate():
    powers = [trigger_power(0.45, 0.45 / n, 0.5, 0.5 / n, 0.0, 0.05) for n in (50, 400, 3200)]
    assert powers == sorted(powers) and powers[0] < 0.5 < powers[-1]


@pytest.mark.parametrize("threshold,alpha", [(0.08, None), (0.0, 0.05), (0.05, 0.01)])
def test_power_agrees_with_simulated_share_of_triggers_paid(threshold, alpha):
    """The normal approximation against the share of draws whose trigger pays (aggregate
    engine, per-wave and pooled triggers), within Monte Carlo error."""
    sc = poisson_scenario(0, 0.6, 0.88, horizon=3, cohort=Cohort(entry=(400, 250)),
                          ratio=1.5)
    deal = deal_of(sc, threshold=threshold, alpha=alpha, window=2)
    pw = evaluation_power(deal)
    draws = 4000
    ds = sibsim.simulate(sc, draws=draws, seed=20240817, progress=False)
    table = evaluate(ds, deal.evaluations, seed=20240817)
    # what the rule pays on each trigger's measured result (the pooled trigger's result
    # before the waves' payments are deducted from it)
    terms = deal.contract.terms[0]
    paid = np.stack([(terms.rule_for(c).due(table.measured_effect[:, k], table.units[:, k]) > 0)
                     & table.gate[:, k] for k, c in enumerate(table.cumulative)], axis=1)
    assert paid.shape[1] == pw.sizes["trigger"] == 3
    # without caps or a top-up, that is what the contract pays on the per-wave triggers
    by_trigger = deal.contract.outcome_payments(table, ds.sizes["period"]).by_trigger
    np.testing.assert_array_equal(by_trigger[:, :2] > 0, paid[:, :2])
    for k in range(3):
        p = float(pw["power"][k])
        se = math.sqrt(max(p * (1 - p), 1e-4) / draws)
        assert abs(paid[:, k].mean() - p) <= Z * se, (k, paid[:, k].mean(), p)
    assert 0.2 < float(pw["power"].min()) and float(pw["power"].max()) < 0.9  # informative


def test_small_sample_warns_in_analyse_and_describe():
    small = deal_of(poisson_scenario(60, 0.5, 0.85), threshold=0.0, alpha=0.05)
    texts = power_warnings(small)
    assert len(texts) == 1 and "Small sample: evaluation 'm'" in texts[0]
    assert "60 treated and 60 comparison people" in texts[0]
    with pytest.warns(SmallSampleWarning, match="too small for the design to detect"):
        res = sibsim.analyse(small, draws=50, seed=2, progress=False, with_breakeven=False)
    from sibsim.report import describe

    assert "Evaluation power" in describe(res, small)
    # ten times the people: no warning
    big = deal_of(poisson_scenario(6000, 0.5, 0.85), threshold=0.0, alpha=0.05)
    assert power_warnings(big) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error", SmallSampleWarning)
        sibsim.analyse(big, draws=20, seed=2, progress=False, with_breakeven=False)


def test_threshold_above_the_expected_effect_is_not_a_small_sample():
    # expected effect 5% < threshold 10%: low power, but a larger sample would not help
    deal = deal_of(poisson_scenario(5000, 0.5, 0.95))
    assert float(evaluation_power(deal)["power"].max()) < 0.05
    assert power_warnings(deal) == []


SMALL_TOML = """
name = "small"
horizon = 2
[cohort]
size = 60
[comparison]
ratio = 1
[outcome]
kind = "counts"
rate = 0.5
[effect]
value = 0.85
[[evaluation]]
metric = "m"
alpha = 0.05
[contract]
[[contract.terms]]
metric = "m"
rule = {kind = "price_per_unit", price = 100}
[[capital.tranches]]
name = "fund"
commitment = 100_000
"""


def test_cli_prints_the_small_sample_warning(tmp_path, capsys):
    from sibsim.cli import main

    path = tmp_path / "small.toml"
    path.write_text(SMALL_TOML)
    code = main(["run", str(path), "--draws", "20", "--seed", "1", "--out",
                 str(tmp_path / "small.nc"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 0
    lines = [x for x in err.splitlines() if "Small sample" in x]
    assert len(lines) == 1 and lines[0].startswith("sibsim: warning: Small sample")


# ====================================================================== numerical range
@njit
def _poisson_many(lam, n, seed):
    s0, s1 = stream_state(seed, 91, 0, 0, 0, 0)
    out = np.empty(n)
    for i in range(n):
        s0, s1, x = poisson(s0, s1, lam)
        out[i] = x
    return out


@njit
def _binomial_many(m, p, n, seed):
    s0, s1 = stream_state(seed, 91, 1, 0, 0, 0)
    out = np.empty(n)
    for i in range(n):
        s0, s1, x = binomial(s0, s1, m, p)
        out[i] = x
    return out


@njit
def _gamma_many(a, n, seed):
    s0, s1 = stream_state(seed, 91, 2, 0, 0, 0)
    out = np.empty(n)
    for i in range(n):
        s0, s1, x = gamma(s0, s1, a)
        out[i] = x
    return out


def assert_mean_var(x: np.ndarray, mean: float, var: float, mu4: float) -> None:
    """Sample mean and variance within Z standard errors (``mu4``: fourth central moment)."""
    n = x.size
    assert abs(x.mean() - mean) <= Z * math.sqrt(var / n), (x.mean(), mean)
    s2 = x.var(ddof=1)
    se = math.sqrt((mu4 - var**2 * (n - 3) / (n - 1)) / n)
    assert abs(s2 - var) <= Z * se, (s2 / var, se / var)


N = 200_000


@pytest.mark.parametrize("lam", [10.0, 1e6, MAX_EXPECTED_COUNT])
def test_poisson_sampler_exact_at_the_edges_of_its_range(lam):
    x = _poisson_many(lam, N, 7)
    assert_mean_var(x, lam, lam, lam * (1 + 3 * lam))


@pytest.mark.parametrize("m,p", [(10**12, 0.3), (10**12, 1e-9), (10**12, 1 - 1e-9), (40, 0.5)])
def test_binomial_sampler_exact_up_to_the_largest_group(m, p):
    assert m <= sibsim.spec._validate.MAX_PEOPLE
    x = _binomial_many(m, p, N, 8)
    var = m * p * (1 - p)
    assert_mean_var(x, m * p, var, var * (1 + (3 * m - 6) * p * (1 - p)))


@pytest.mark.parametrize("a", [1e-3, 0.5, 1e6, 1e18])
def test_gamma_sampler_exact_over_its_range(a):
    x = _gamma_many(a, N, 9)
    assert_mean_var(x, a, a, 3 * a * a + 6 * a)


@pytest.mark.parametrize("lam", [1e16, 1e19, 1e300, math.inf, math.nan])
def test_poisson_sampler_never_negative_outside_its_range(lam):
    x = _poisson_many(lam, 1000, 3)
    assert np.all(x >= 0) and np.all(np.isfinite(x))


def test_counts_beyond_the_exact_range_are_refused_before_the_run():
    sc = Scenario(cohort=Cohort(size=10**12), outcome=CountOutcome(1e6), horizon=2)
    with pytest.raises(ValueError, match=r"Cohort\.size x baseline\.rate.*= 1e\+18.*allowed: "
                                         r"at most 1e\+13"):
        sibsim.simulate(sc, draws=2, progress=False)
    # over-dispersion widens the range of one draw's mean: the factor is named
    # (10 million people x 1e6 is exactly the limit for Poisson counts)
    sibsim.simulate(Scenario(cohort=Cohort(size=10**7), outcome=CountOutcome(1e6), horizon=1),
                    draws=1, engine="expected", progress=False)
    sc = Scenario(cohort=Cohort(size=10**7), outcome=CountOutcome(1e6, dispersion=1e-3),
                  horizon=1)
    with pytest.raises(ValueError, match="dispersion factor"):
        sibsim.simulate(sc, draws=2, progress=False)


def test_dispersion_below_its_range_is_refused():
    with pytest.raises(ValueError, match=r"CountOutcome\.dispersion: .*shape >= 0\.001"):
        CountOutcome(1.0, dispersion=1e-4)
    sc = Scenario(cohort=Cohort(size=10), outcome=CountOutcome(
        1.0, dispersion=sibsim.Uniform(0.0, 1e-3)), horizon=1)
    with pytest.raises(ValueError, match=r"baseline\.dispersion: sampled .*at least 0\.001"):
        sibsim.simulate(sc, draws=5, progress=False)


@settings(max_examples=40)
@given(size=st.integers(1, 10**12), rate=st.floats(0.0, 1e6), log_k=st.floats(-3, 12),
       negbin=st.booleans(), rr=st.floats(0.0, 3.0), engine=st.sampled_from(
           ["aggregate", "expected"]))
def test_no_negative_counts_over_extreme_valid_inputs(size, rate, log_k, negbin, rr, engine):
    sc = Scenario(cohort=Cohort(size=size),
                  outcome=CountOutcome(rate, dispersion=10.0**log_k if negbin else None),
                  horizon=2, effect=Effect("rr", rr), comparison=ComparisonGroup(size=size))
    try:
        ds = sibsim.simulate(sc, draws=2, seed=1, engine=engine, progress=False)
    except ValueError as err:  # refused before the run, naming the range
        if "allowed: finite rates up to 1e+06" in str(err):
            assert rate * rr > 1e6
        else:
            assert "allowed: at most 1e+13" in str(err)
            assert size * rate * max(rr, 1.0) > MAX_EXPECTED_COUNT / 1e5
        return
    ev = ds["events"].values
    assert np.all(np.isfinite(ev)) and ev.min() >= 0


# ====================================================================== overrides
def _binary() -> Scenario:
    return Scenario(cohort=Cohort(size=3000), outcome=BinaryOutcome(0.3), horizon=2,
                    effect=Effect("rr", 0.8), comparison=ComparisonGroup(ratio=1))


@pytest.mark.parametrize("name,values,message", [
    ("effect.engagement", [0.5, 2.0], r"overrides\[effect\.engagement\]: got 2\.0 in draw 1; "
                                      r"allowed: a probability in \[0, 1\]"),
    ("effect.dropout", [-0.1, 0.0], r"overrides\[effect\.dropout\]: got -0\.1 in draw 0"),
    ("effect.value", [0.8, -0.2], r"overrides\[effect\.value\]: got -0\.2 in draw 1; allowed: "
                                  r"a ratio \(rr\)"),
    ("baseline.probability", [0.3, 1.5], r"overrides\[baseline\.probability\]: got 1\.5"),
    ("effect.value", [0.8], r"overrides\[effect\.value\]: .*shape \(2,\)"),
    ("effect.value", [[0.8, 0.8]], r"overrides\[effect\.value\]: .*shape \(2,\)"),
    ("effect.value", 0.8, r"overrides\[effect\.value\]: .*shape \(2,\)"),
    ("effect.value", [0.8, np.nan], r"overrides\[effect\.value\]: got nan; allowed: finite"),
    ("effect.value", ["a", "b"], r"overrides\[effect\.value\]: .*numbers"),
    ("effect.nothing", [0.8, 0.8], r"overrides: got 'effect\.nothing'; allowed: names"),
])
def test_overrides_out_of_range_or_shape_are_refused(name, values, message):
    with pytest.raises(ValueError, match=message):
        sibsim.simulate(_binary(), draws=2, seed=0, progress=False,
                        overrides={name: values})


def test_engagement_override_of_two_no_longer_engages_more_people_than_there_are():
    sc = _binary()
    with pytest.raises(ValueError, match=r"effect\.engagement"):
        sibsim.simulate(sc, draws=1, seed=0, progress=False,
                        overrides={"effect.engagement": [2.0]})
    ds = sibsim.simulate(sc, draws=2, seed=0, progress=False,
                         overrides={"effect.engagement": [1.0, 0.5]})
    engaged = ds["engaged"].sel(arm="treatment").max(("wave", "stratum", "period")).values
    assert engaged[0] == 3000 and engaged[1] <= 3000


def test_overrides_of_rates_dispersion_and_transition_rows():
    counts = Scenario(cohort=Cohort(size=10), outcome=CountOutcome(1.0, dispersion=2.0),
                      horizon=1)
    with pytest.raises(ValueError, match=r"overrides\[baseline\.rate\]: got -1\.0"):
        sibsim.simulate(counts, draws=1, progress=False, overrides={"baseline.rate": [-1.0]})
    with pytest.raises(ValueError, match=r"overrides\[baseline\.dispersion\]: got 0\.0"):
        sibsim.simulate(counts, draws=1, progress=False,
                        overrides={"baseline.dispersion": [0.0]})
    markov = Scenario(cohort=Cohort(size=10), horizon=2, outcome=MarkovOutcome(
        ("a", "b"), [Dirichlet((8.0, 2.0)), (0.0, 1.0)], events=[("a", "b")]))
    name = "baseline.transition[0].a"
    assert name in markov.parameters()
    with pytest.raises(ValueError, match=r"overrides\[baseline\.transition\[0\]\.a\]: .*summing "
                                         r"to 1"):
        sibsim.simulate(markov, draws=2, progress=False, overrides={name: [[0.5, 0.6]] * 2})
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        sibsim.simulate(markov, draws=2, progress=False, overrides={name: [0.5, 0.5]})
    ds = sibsim.simulate(markov, draws=2, progress=False, overrides={name: [[0.5, 0.5]] * 2})
    assert ds.sizes["draw"] == 2


def test_absolute_effects_may_be_negative_overrides():
    sc = Scenario(cohort=Cohort(size=100), outcome=BinaryOutcome(0.3), horizon=1,
                  effect=Effect("absolute", -0.1))
    ds = sibsim.simulate(sc, draws=2, progress=False, overrides={"effect.value": [-0.2, 0.1]})
    assert ds["parameter_value"].sel(parameter="effect.value").values.tolist() == [-0.2, 0.1]


@pytest.mark.parametrize("engine", ["individual", "expected"])
def test_a_certain_event_with_frailty_is_exact_and_warns_nothing(engine):
    """p = 1 with frailty: log(1 - p) = -inf on purpose, and p_z = 1 - 0 ** z = 1 for every
    frailty z > 0. The run printed numpy's "divide by zero encountered in log1p" twice (a valid
    input); every comparison person has the event in every period: exactly in the individual
    engine, to rounding in the expected one (:func:`_certain`)."""
    sc = Scenario(cohort=Cohort(size=50), outcome=BinaryOutcome(1.0), horizon=3,
                  comparison=ComparisonGroup(ratio=1), frailty=sibsim.Frailty(0.5),
                  effect=Effect("rr", 0.8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = sibsim.simulate(sc, draws=4, seed=0, engine=engine, progress=False)
    events = ds["events"].sel(arm="comparison").sum(("wave", "stratum")).values
    _certain(engine, events, np.full((4, 3), 50.0))


def _certain(engine, got, want):
    """``got`` is ``want``: exactly for the individual engine's counts; for the expected
    engine's integral over the frailty's 85 quadrature nodes, to a few units in the last place:
    its weights, summed one after the other, add to 1 within rounding, and their last bits
    follow the math routines numpy picks for the CPU (exactly 50 with its AVX2 routines, as on
    the project's AMD EPYC machines; 50.00000000000001 with its AVX-512 ones on an Intel Xeon,
    and 50 again there with ``NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR"``)."""
    if engine == "individual":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=0.0)


@pytest.mark.parametrize("engine", ["individual", "expected"])
def test_a_certain_markov_exit_with_frailty_is_exact_and_warns_nothing(engine):
    """The Markov form of the case above: a state left with probability 1 (well -> sick) with
    frailty. Everyone starts well (occupancy is counted at the start of a period) and is sick
    from the second period on, whatever their frailty."""
    sc = Scenario(cohort=Cohort(size=50), horizon=3, comparison=ComparisonGroup(ratio=1),
                  outcome=MarkovOutcome(("well", "sick"), [[0.0, 1.0], [0.0, 1.0]],
                                        events=[("well", "sick")]),
                  frailty=sibsim.Frailty(0.5), effect=Effect("hr", 0.8,
                                                             targets=[("well", "sick")]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = sibsim.simulate(sc, draws=4, seed=0, engine=engine, progress=False)
    sick = ds["occupancy"].sel(arm="comparison", state="sick").sum(("wave", "stratum")).values
    _certain(engine, sick, np.tile([0.0, 50.0, 50.0], (4, 1)))


@pytest.mark.parametrize("engine", ["expected", "aggregate", "individual"])
def test_a_subnormal_transition_probability_warns_nothing(engine):
    """A valid row [1, 5e-324] with an effect: the rescaling of the targets' probabilities
    divided the room by a subnormal total in the branch it does not take, and numpy printed
    'overflow encountered in divide'. Nobody falls sick (5e-324 x 50 people rounds to none)."""
    sc = Scenario(cohort=Cohort(size=50), horizon=3, comparison=ComparisonGroup(ratio=1),
                  outcome=MarkovOutcome(("well", "sick"), [[1.0, 5e-324], [0.0, 1.0]],
                                        events=[("well", "sick")]),
                  effect=Effect("rr", 0.8, targets=[("well", "sick")]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = sibsim.simulate(sc, draws=2, seed=0, engine=engine, progress=False)
    assert float(ds["events"].sum()) == pytest.approx(0.0, abs=1e-300)
