"""Specification layer: validation messages, constructor fuzzing, distribution properties."""

from __future__ import annotations

import functools
import math

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
    Dirichlet,
    Effect,
    Fixed,
    Frailty,
    Gamma,
    LogNormal,
    MarkovOutcome,
    Normal,
    Scenario,
    Stratum,
    Triangular,
    Uniform,
)

pytestmark = pytest.mark.usefixtures("warm_kernels")

NAN = float("nan")
INF = float("inf")
T3 = [[0.8, 0.15, 0.05], [0.3, 0.6, 0.1], [0.0, 0.0, 1.0]]
S3 = ("well", "sick", "dead")


def _markov(**kw):
    args = dict(states=S3, transitions=T3, events=[("well", "sick")])
    args.update(kw)
    return MarkovOutcome(**args)


def _scenario(**kw):
    args = dict(cohort=Cohort(size=10), outcome=BinaryOutcome(0.3), horizon=3)
    args.update(kw)
    return Scenario(**args)


# ------------------------------------------------------------------ validation messages
# (constructor, exception type, strings the message must contain: the field and the value)
BAD = [
    # Cohort / Stratum / ComparisonGroup / Frailty
    (lambda: Cohort(), ValueError, ["Cohort", "size"]),
    (lambda: Cohort(size=0), ValueError, ["Cohort.size", "0"]),
    (lambda: Cohort(size=-5), ValueError, ["Cohort.size", "-5"]),
    (lambda: Cohort(size=2.5), TypeError, ["Cohort.size", "2.5"]),
    (lambda: Cohort(size=True), TypeError, ["Cohort.size", "True"]),
    (lambda: Cohort(size="10"), TypeError, ["Cohort.size", "'10'"]),
    (lambda: Cohort(entry=(0, 0)), ValueError, ["Cohort.entry", "(0, 0)"]),
    (lambda: Cohort(entry=()), ValueError, ["Cohort.entry", "()"]),
    (lambda: Cohort(entry=(10, -1)), ValueError, ["Cohort.entry[1]", "-1"]),
    (lambda: Cohort(entry=(10, 2.5)), TypeError, ["Cohort.entry[1]", "2.5"]),
    (lambda: Cohort(entry="100"), TypeError, ["Cohort.entry", "'100'"]),
    (lambda: Cohort(size=3, entry=(1, 1)), ValueError, ["Cohort.size", "3"]),
    (lambda: Cohort(size=10, strata=(Stratum("a", 0.5),)), ValueError, ["share", "0.5"]),
    (
        lambda: Cohort(size=10, strata=(Stratum("a", 0.5), Stratum("a", 0.5))),
        ValueError,
        ["name", "'a'"],
    ),
    (lambda: Cohort(size=10, strata=("a",)), TypeError, ["Cohort.strata", "'a'"]),
    (lambda: Stratum("", 1.0), TypeError, ["Stratum.name", "''"]),
    (lambda: Stratum("a", 0.0), ValueError, ["Stratum[a].share", "0.0"]),
    (lambda: Stratum("a", 1.5), ValueError, ["Stratum[a].share", "1.5"]),
    (lambda: Stratum("a", NAN), ValueError, ["Stratum[a].share", "nan"]),
    (lambda: ComparisonGroup(), ValueError, ["ComparisonGroup", "size", "ratio"]),
    (lambda: ComparisonGroup(size=5, ratio=1.0), ValueError, ["ComparisonGroup", "5"]),
    (lambda: ComparisonGroup(size=0), ValueError, ["ComparisonGroup.size", "0"]),
    (lambda: ComparisonGroup(size=1.5), TypeError, ["ComparisonGroup.size", "1.5"]),
    (lambda: ComparisonGroup(ratio=0), ValueError, ["ComparisonGroup.ratio", "0"]),
    (lambda: ComparisonGroup(ratio=-2.0), ValueError, ["ComparisonGroup.ratio", "-2.0"]),
    (lambda: ComparisonGroup(ratio=NAN), ValueError, ["ComparisonGroup.ratio", "nan"]),
    (lambda: ComparisonGroup(ratio=INF), ValueError, ["ComparisonGroup.ratio", "inf"]),
    (lambda: ComparisonGroup(ratio=1e5), ValueError, ["ComparisonGroup.ratio", "100000.0"]),
    (lambda: Frailty(0.0), ValueError, ["Frailty.variance", "0.0"]),
    (lambda: Frailty(-1.0), ValueError, ["Frailty.variance", "-1.0"]),
    (lambda: Frailty(INF), ValueError, ["Frailty.variance", "inf"]),
    (lambda: Frailty(101.0), ValueError, ["Frailty.variance", "101.0"]),
    (lambda: Frailty("1"), TypeError, ["Frailty.variance", "'1'"]),
    # Binary / count / Markov outcomes
    (lambda: BinaryOutcome(1.5), ValueError, ["BinaryOutcome.probability", "1.5"]),
    (lambda: BinaryOutcome(-0.1), ValueError, ["BinaryOutcome.probability", "-0.1"]),
    (lambda: BinaryOutcome(NAN), ValueError, ["BinaryOutcome.probability", "nan"]),
    (lambda: BinaryOutcome(INF), ValueError, ["BinaryOutcome.probability", "inf"]),
    (lambda: BinaryOutcome(None), TypeError, ["BinaryOutcome.probability", "None"]),
    (lambda: BinaryOutcome("0.3"), TypeError, ["BinaryOutcome.probability", "'0.3'"]),
    (
        lambda: BinaryOutcome(Normal(0.3, 0.1)),
        ValueError,
        ["BinaryOutcome.probability", "normal", "0.3"],
    ),
    (
        lambda: BinaryOutcome(Uniform(0.5, 1.5)),
        ValueError,
        ["BinaryOutcome.probability", "uniform", "1.5"],
    ),
    (lambda: BinaryOutcome(0.3, recurrent="yes"), TypeError, ["BinaryOutcome.recurrent", "yes"]),
    (
        lambda: BinaryOutcome(0.3, profile=(1.0, -1.0)),
        ValueError,
        ["BinaryOutcome.profile[1]", "-1.0"],
    ),
    (
        lambda: BinaryOutcome(0.3, profile=(1.0, NAN)),
        ValueError,
        ["BinaryOutcome.profile[1]", "nan"],
    ),
    (lambda: BinaryOutcome(0.3, profile=()), ValueError, ["BinaryOutcome.profile", "()"]),
    (lambda: BinaryOutcome(0.3, profile=2.0), TypeError, ["BinaryOutcome.profile", "2.0"]),
    (lambda: BinaryOutcome(0.3, clock="wall"), ValueError, ["BinaryOutcome.clock", "'wall'"]),
    (lambda: BinaryOutcome(0.3, name=""), TypeError, ["BinaryOutcome.name", "''"]),
    (lambda: CountOutcome(-1.0), ValueError, ["CountOutcome.rate", "-1.0"]),
    (lambda: CountOutcome(NAN), ValueError, ["CountOutcome.rate", "nan"]),
    (lambda: CountOutcome(Normal(1.0, 0.5)), ValueError, ["CountOutcome.rate", "normal"]),
    (lambda: CountOutcome(1.0, dispersion=0.0), ValueError, ["CountOutcome.dispersion", "0.0"]),
    (lambda: CountOutcome(1.0, dispersion=-2.0), ValueError, ["CountOutcome.dispersion", "-2.0"]),
    (lambda: CountOutcome(1.0, dispersion=INF), ValueError, ["CountOutcome.dispersion", "inf"]),
    (
        lambda: CountOutcome(1.0, dispersion=Uniform(-1.0, 2.0)),
        ValueError,
        ["CountOutcome.dispersion", "uniform"],
    ),
    (
        lambda: CountOutcome(1.0, profile=(1.0, 2e6)),
        ValueError,
        ["CountOutcome.profile[1]", "2000000.0"],
    ),
    (lambda: CountOutcome(1.0, clock="x"), ValueError, ["CountOutcome.clock", "'x'"]),
    (
        lambda: _markov(states=("a",), transitions=[[1.0]], events=()),
        ValueError,
        ["MarkovOutcome.states", "('a',)"],
    ),
    (
        lambda: _markov(states=("a", "a"), transitions=[[1, 0], [0, 1]], events=()),
        ValueError,
        ["MarkovOutcome.states", "('a', 'a')"],
    ),
    (lambda: _markov(states="ab"), TypeError, ["MarkovOutcome.states", "'ab'"]),
    (lambda: _markov(states=("a", 3)), TypeError, ["MarkovOutcome.states[1]", "3"]),
    (
        lambda: _markov(transitions=[[0.8, 0.15, 0.1], T3[1], T3[2]]),
        ValueError,
        ["MarkovOutcome.transitions[well]", "sum"],
    ),
    (
        lambda: _markov(transitions=[[1.2, -0.2, 0.0], T3[1], T3[2]]),
        ValueError,
        ["MarkovOutcome.transitions[well][0]", "1.2"],
    ),
    (
        lambda: _markov(transitions=[[0.8, 0.2], T3[1], T3[2]]),
        ValueError,
        ["MarkovOutcome.transitions[well]", "3 probabilities"],
    ),
    (
        lambda: _markov(transitions=[T3[0], T3[1]]),
        ValueError,
        ["MarkovOutcome.transitions", "3 rows"],
    ),
    (
        lambda: _markov(transitions=[[NAN, 0.5, 0.5], T3[1], T3[2]]),
        ValueError,
        ["MarkovOutcome.transitions[well][0]", "nan"],
    ),
    (
        lambda: _markov(transitions=[T3, [T3[0], T3[1], [0.0, 0.5, 0.6]]]),
        ValueError,
        ["MarkovOutcome.transitions[1][dead]", "0.6"],
    ),
    (lambda: _markov(transitions="T3"), TypeError, ["MarkovOutcome.transitions", "'T3'"]),
    (lambda: _markov(transitions=[]), TypeError, ["MarkovOutcome.transitions", "[]"]),
    (
        lambda: _markov(transitions=[Dirichlet((1.0, 1.0)), T3[1], T3[2]]),
        ValueError,
        ["MarkovOutcome.transitions[well]", "Dirichlet", "3 alphas"],
    ),
    (lambda: _markov(initial="zombie"), ValueError, ["MarkovOutcome.initial", "'zombie'"]),
    (
        lambda: _markov(events=[("well", "zombie")]),
        ValueError,
        ["MarkovOutcome.events", "'zombie'"],
    ),
    (lambda: _markov(events=["well"]), ValueError, ["MarkovOutcome.events", "'well'"]),
    (lambda: _markov(clock="wall"), ValueError, ["MarkovOutcome.clock", "'wall'"]),
    # Effect
    (lambda: Effect(measure="ratio"), ValueError, ["Effect.measure", "'ratio'"]),
    (lambda: Effect("rr", -0.5), ValueError, ["Effect.value", "-0.5"]),
    (lambda: Effect("hr", NAN), ValueError, ["Effect.value", "nan"]),
    (lambda: Effect("or", INF), ValueError, ["Effect.value", "inf"]),
    (lambda: Effect("rr", "0.8"), TypeError, ["Effect.value", "'0.8'"]),
    (lambda: Effect("rr", Normal(0.9, 0.1)), ValueError, ["Effect.value", "normal", "0.9"]),
    (lambda: Effect("rr", 0.8, onset=-1), ValueError, ["Effect.onset", "-1"]),
    (lambda: Effect("rr", 0.8, onset=1.5), TypeError, ["Effect.onset", "1.5"]),
    (lambda: Effect("rr", 0.8, duration=0), ValueError, ["Effect.duration", "0"]),
    (lambda: Effect("rr", 0.8, decay=1.5), ValueError, ["Effect.decay", "1.5"]),
    (lambda: Effect("rr", 0.8, decay=-0.1), ValueError, ["Effect.decay", "-0.1"]),
    (lambda: Effect("rr", 0.8, engagement=1.2), ValueError, ["Effect.engagement", "1.2"]),
    (
        lambda: Effect("rr", 0.8, engagement=Normal(0.8, 0.1)),
        ValueError,
        ["Effect.engagement", "normal"],
    ),
    (lambda: Effect("rr", 0.8, dropout=-0.1), ValueError, ["Effect.dropout", "-0.1"]),
    (lambda: Effect("rr", 0.8, targets=[("a", "a")]), ValueError, ["Effect.targets", "'a'"]),
    (lambda: Effect("rr", 0.8, targets=[("a",)]), ValueError, ["Effect.targets", "('a',)"]),
    (lambda: Effect("rr", 0.8, targets="ab"), TypeError, ["Effect.targets", "'ab'"]),
    (lambda: Effect("rr", 0.8, targets=[("a", 2)]), TypeError, ["Effect.targets", "2"]),
    # Distributions
    (lambda: Fixed(NAN), ValueError, ["Fixed.value", "nan"]),
    (lambda: Fixed(-INF), ValueError, ["Fixed.value", "-inf"]),
    (lambda: Fixed("1"), TypeError, ["Fixed.value", "'1'"]),
    (lambda: Fixed(1 + 2j), TypeError, ["Fixed.value", "(1+2j)"]),
    (lambda: Normal(0.0, -1.0), ValueError, ["Normal.sd", "-1.0"]),
    (lambda: Normal(NAN, 1.0), ValueError, ["Normal.mean", "nan"]),
    (lambda: LogNormal(0.0, -1.0), ValueError, ["LogNormal.sdlog", "-1.0"]),
    (lambda: LogNormal(INF, 1.0), ValueError, ["LogNormal.meanlog", "inf"]),
    (lambda: LogNormal.from_mean_sd(0.0, 1.0), ValueError, ["LogNormal.mean", "0.0"]),
    (lambda: LogNormal.from_mean_sd(1.0, -1.0), ValueError, ["LogNormal.sd", "-1.0"]),
    (lambda: Beta(0.0, 1.0), ValueError, ["Beta.a", "0.0"]),
    (lambda: Beta(1.0, -3.0), ValueError, ["Beta.b", "-3.0"]),
    (lambda: Beta.from_mean_sd(1.0, 0.1), ValueError, ["Beta.mean", "1.0"]),
    (lambda: Beta.from_mean_sd(0.5, 0.6), ValueError, ["Beta.sd", "0.6"]),
    (lambda: Beta.from_mean_sd(0.5, 0.0), ValueError, ["Beta.sd", "0.0"]),
    (lambda: Gamma(-1.0, 1.0), ValueError, ["Gamma.shape", "-1.0"]),
    (lambda: Gamma(1.0, 0.0), ValueError, ["Gamma.scale", "0.0"]),
    (lambda: Gamma.from_mean_sd(1.0, 0.0), ValueError, ["Gamma.sd", "0.0"]),
    (lambda: Gamma.from_mean_sd(-1.0, 1.0), ValueError, ["Gamma.mean", "-1.0"]),
    (lambda: Uniform(1.0, 0.0), ValueError, ["Uniform.high", "0.0"]),
    (lambda: Uniform(NAN, 1.0), ValueError, ["Uniform.low", "nan"]),
    (lambda: Triangular(0.0, 2.0, 1.0), ValueError, ["Triangular.mode", "2.0"]),
    (lambda: Triangular(1.0, 1.0, 1.0), ValueError, ["Triangular.high", "1.0"]),
    (lambda: Dirichlet(()), ValueError, ["Dirichlet.alpha", "()"]),
    (lambda: Dirichlet((0.0, 0.0)), ValueError, ["Dirichlet.alpha", "(0.0, 0.0)"]),
    (lambda: Dirichlet((1.0, -1.0)), ValueError, ["Dirichlet.alpha[1]", "-1.0"]),
    (lambda: Dirichlet("ab"), TypeError, ["Dirichlet.alpha", "'ab'"]),
    (lambda: Dirichlet.from_mean((0.5, 0.6), 10.0), ValueError, ["Dirichlet.mean", "0.6"]),
    (lambda: Dirichlet.from_mean((0.5, 0.5), 0.0), ValueError, ["Dirichlet.concentration", "0.0"]),
    # Scenario
    (lambda: _scenario(horizon=0), ValueError, ["Scenario.horizon", "0"]),
    (lambda: _scenario(horizon=2.0), TypeError, ["Scenario.horizon", "2.0"]),
    (lambda: _scenario(horizon=10_001), ValueError, ["Scenario.horizon", "10001"]),
    (lambda: _scenario(period="week"), ValueError, ["Scenario.period", "'week'"]),
    (lambda: _scenario(name=""), TypeError, ["Scenario.name", "''"]),
    (lambda: _scenario(cohort=10), TypeError, ["Scenario.cohort", "int"]),
    (lambda: _scenario(outcome=0.3), TypeError, ["Scenario.outcome", "float"]),
    (lambda: _scenario(effect=0.8), TypeError, ["Scenario.effect", "float"]),
    (lambda: _scenario(comparison=10), TypeError, ["Scenario.comparison", "int"]),
    (lambda: _scenario(frailty=0.5), TypeError, ["Scenario.frailty", "float"]),
    (
        lambda: _scenario(cohort=Cohort(entry=(1, 1, 1, 1)), horizon=3),
        ValueError,
        ["Cohort.entry", "(1, 1, 1, 1)"],
    ),
    (
        lambda: _scenario(outcome=CountOutcome(1.0), effect=Effect("or", 0.8)),
        ValueError,
        ["Effect.measure", "'or'"],
    ),
    (
        lambda: _scenario(outcome=_markov(), effect=Effect("rr", 0.8)),
        ValueError,
        ["Effect.targets", "()"],
    ),
    (
        lambda: _scenario(outcome=_markov(), effect=Effect("rr", 0.8, targets=[("well", "x")])),
        ValueError,
        ["Effect.targets", "'x'"],
    ),
    (
        lambda: _scenario(effect=Effect("rr", 0.8, targets=[("a", "b")])),
        ValueError,
        ["Effect.targets", "'a'"],
    ),
    (
        lambda: _scenario(cohort=Cohort(size=10, strata=(Stratum("s", 1.0, baseline=1.5),))),
        ValueError,
        ["Stratum[s].baseline", "1.5"],
    ),
    (
        lambda: _scenario(cohort=Cohort(size=10, strata=(Stratum("s", 1.0, baseline="x"),))),
        TypeError,
        ["Stratum[s].baseline", "'x'"],
    ),
    (
        lambda: _scenario(
            outcome=_markov(), cohort=Cohort(size=10, strata=(Stratum("s", 1.0, baseline=[[1.0]]),))
        ),
        ValueError,
        ["Stratum[s].baseline", "3 rows"],
    ),
]


@pytest.mark.parametrize(
    ("make", "exc", "needles"), BAD, ids=[f"{i}-{' '.join(n)}" for i, (_, _, n) in enumerate(BAD)]
)
def test_bad_field_raises_naming_field_and_value(make, exc, needles):
    with pytest.raises(exc) as info:
        make()
    message = str(info.value)
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"


def test_validation_errors_say_what_is_allowed():
    with pytest.raises(ValueError, match=r"allowed: .*\[0, 1\]"):
        BinaryOutcome(1.5)
    with pytest.raises(ValueError, match="allowed: one of 'rr', 'hr', 'or', 'absolute'"):
        Effect(measure="ratio")


BAD_RUNS = [
    (dict(draws=0), ValueError, ["draws", "0"]),
    (dict(draws=2.5), TypeError, ["draws", "2.5"]),
    (dict(seed=-1), ValueError, ["seed", "-1"]),
    (dict(seed=2**63), ValueError, ["seed", str(2**63)]),
    (dict(seed="0"), TypeError, ["seed", "'0'"]),
    (dict(engine="fast"), ValueError, ["engine", "'fast'"]),
    (dict(chunk_draws=0), ValueError, ["chunk_draws", "0"]),
    (dict(overrides={"effect.nope": np.ones(3)}), ValueError, ["overrides", "'effect.nope'"]),
    (dict(overrides={"effect.value": np.ones(2)}), ValueError, ["overrides[effect.value]"]),
    (
        dict(overrides={"effect.value": np.array([1.0, NAN, 1.0])}),
        ValueError,
        ["overrides[effect.value]"],
    ),
]


@pytest.mark.parametrize(
    ("kwargs", "exc", "needles"),
    BAD_RUNS,
    ids=[str(sorted(k)) + str(i) for i, (k, _, _) in enumerate(BAD_RUNS)],
)
def test_simulate_rejects_bad_arguments(binary_scenario, kwargs, exc, needles):
    args = dict(draws=3, seed=0, progress=False)
    args.update(kwargs)
    with pytest.raises(exc) as info:
        sibsim.simulate(binary_scenario, **args)
    for needle in needles:
        assert needle in str(info.value)


def test_simulate_rejects_aggregate_with_frailty_and_non_scenarios(binary_scenario):
    frail = _scenario(frailty=Frailty(0.5))
    with pytest.raises(ValueError, match="engine"):
        sibsim.simulate(frail, draws=2, engine="aggregate")
    with pytest.raises(TypeError, match="scenario"):
        sibsim.simulate({"cohort": 10}, draws=2)


# ------------------------------------------------------------------ valid objects
def test_valid_objects_are_normalised():
    c = Cohort(entry=[100, 0, 50], strata=[Stratum("a", 0.25), Stratum("b", 0.75)])
    assert c.size == 150 and c.entry == (100, 0, 50) and c.n_waves == 3
    assert isinstance(c.strata, tuple) and c.stratum_names == ("a", "b")
    assert Cohort(size=7).entry == (7,)
    assert Cohort(size=7, entry=(3, 4)).size == 7
    assert ComparisonGroup(ratio=10).sizes(Cohort(entry=(100, 50))) == (1000, 500)
    assert sum(ComparisonGroup(size=101).sizes(Cohort(entry=(3, 5, 2)))) == 101
    o = BinaryOutcome(0.3, profile=[1, 0.5])
    assert o.probability == Fixed(0.3) and o.profile == (1.0, 0.5)
    m = _markov()
    assert m.initial == "well" and m.absorbing == (False, False, True)
    assert len(m.transitions) == 1 and m.transitions[0][0] == tuple(T3[0])
    e = Effect("rr", 0.8, onset=1, duration=2, decay=0.5)
    assert e.strength(6).tolist() == [0.0, 1.0, 1.0, 0.5, 0.25, 0.125]
    assert Effect("rr", 0.8).strength(3).tolist() == [1.0, 1.0, 1.0]
    assert Effect("rr", 0.8, duration=1, decay=1.0).strength(3).tolist() == [1.0, 0.0, 0.0]
    assert Effect("rr", 0.8, duration=1, decay=0.0).strength(3).tolist() == [1.0, 1.0, 1.0]


def test_alternative_parameterisations_reproduce_their_moments():
    ln = LogNormal.from_mean_sd(0.9, 0.05)
    var_ln = (math.exp(ln.sdlog**2) - 1) * math.exp(2 * ln.meanlog + ln.sdlog**2)
    assert ln.mean == pytest.approx(0.9, rel=1e-12)
    assert math.sqrt(var_ln) == pytest.approx(0.05, rel=1e-12)
    b = Beta.from_mean_sd(0.3, 0.05)
    var_b = b.a * b.b / ((b.a + b.b) ** 2 * (b.a + b.b + 1))
    assert b.mean == pytest.approx(0.3, rel=1e-12)
    assert math.sqrt(var_b) == pytest.approx(0.05, rel=1e-12)
    g = Gamma.from_mean_sd(1.55, 0.08)
    assert g.mean == pytest.approx(1.55, rel=1e-12)
    assert math.sqrt(g.shape) * g.scale == pytest.approx(0.08, rel=1e-12)
    d = Dirichlet.from_mean((0.7, 0.2, 0.1), 50.0)
    assert d.mean_row == pytest.approx((0.7, 0.2, 0.1), rel=1e-12)
    assert sum(d.alpha) == pytest.approx(50.0)


DISTS = [
    Fixed(0.4),
    Normal(1.0, 2.0),
    LogNormal(-0.1, 0.3),
    Beta(2.0, 5.0),
    Gamma(3.0, 0.5),
    Uniform(-1.0, 3.0),
    Triangular(0.0, 0.2, 1.0),
]


def _variance(d) -> float:
    if isinstance(d, Fixed):
        return 0.0
    if isinstance(d, Normal):
        return d.sd**2
    if isinstance(d, LogNormal):
        return (math.exp(d.sdlog**2) - 1) * math.exp(2 * d.meanlog + d.sdlog**2)
    if isinstance(d, Beta):
        return d.a * d.b / ((d.a + d.b) ** 2 * (d.a + d.b + 1))
    if isinstance(d, Gamma):
        return d.shape * d.scale**2
    if isinstance(d, Uniform):
        return (d.high - d.low) ** 2 / 12
    a, c, b = d.low, d.mode, d.high
    return (a * a + b * b + c * c - a * b - a * c - b * c) / 18


@pytest.mark.parametrize("dist", DISTS, ids=[d.kind for d in DISTS])
def test_distribution_samples_match_mean_and_support(dist):
    n = 20_000
    x = dist.sample(np.random.default_rng(12345), n)
    assert x.shape == (n,)
    lo, hi = dist.support
    assert np.all((x >= lo) & (x <= hi))
    se = math.sqrt(_variance(dist) / n)
    assert abs(x.mean() - dist.mean) <= 4.5 * se + 1e-12


def test_dirichlet_samples_are_rows_with_structural_zeros():
    d = Dirichlet((4.0, 0.0, 6.0))
    x = d.sample(np.random.default_rng(7), 5000)
    assert x.shape == (5000, 3)
    assert np.all(x[:, 1] == 0.0)
    np.testing.assert_allclose(x.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    a0 = sum(d.alpha)
    se = math.sqrt(0.4 * 0.6 / (a0 + 1) / 5000)
    assert abs(x[:, 0].mean() - 0.4) <= 4.5 * se


# ------------------------------------------------------------------ regression tests (bugs)
def test_huge_python_int_is_a_validation_error_not_overflow():
    """Bug: ``float(10**400)`` raises OverflowError inside the validator."""
    for make in (
        lambda: Fixed(10**400),
        lambda: BinaryOutcome(10**400),
        lambda: Normal(0.0, 10**400),
        lambda: Effect("rr", 10**400),
        lambda: Frailty(10**400),
    ):
        with pytest.raises(ValueError):
            make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: Beta.from_mean_sd(0.5, 1e-300),
        lambda: Gamma.from_mean_sd(1e-300, 1e300),
        lambda: Uniform(-1e308, 1e308),
        lambda: Dirichlet((1e-300, 1e-300)),
        lambda: Dirichlet((1e308, 1e308)),
        lambda: LogNormal(0.0, 38.0),
    ],
    ids=[
        "beta-tiny-sd",
        "gamma-huge-sd",
        "uniform-huge",
        "dirichlet-tiny",
        "dirichlet-huge",
        "lognormal-wide",
    ],
)
def test_extreme_distributions_are_rejected_or_sample_finite(make):
    """A distribution is either refused at construction (ValueError) or has a finite mean and
    samples finite values."""
    try:
        d = make()
    except ValueError:
        return
    if not isinstance(d, Dirichlet):
        assert math.isfinite(d.mean)
    x = d.sample(np.random.default_rng(0), 50)
    assert np.all(np.isfinite(x))
    if isinstance(d, Dirichlet):
        np.testing.assert_allclose(x.sum(axis=1), 1.0, rtol=0, atol=1e-9)


def test_hr_zero_on_certain_event_gives_finite_events(check_finite):
    """Bug: ``Effect('hr', 0)`` on a probability of 1 computes ``0 * log(0) = nan``."""
    sc = _scenario(outcome=BinaryOutcome(1.0), effect=Effect("hr", 0.0))
    for engine in ("individual", "aggregate", "expected"):
        check_finite(sibsim.simulate(sc, draws=2, seed=0, engine=engine, progress=False))


@pytest.mark.parametrize("make", [lambda: _scenario(outcome=CountOutcome(1e300)),
                                  lambda: _scenario(outcome=CountOutcome(Uniform(0.0, 1e300))),
                                  lambda: _scenario(outcome=CountOutcome(1e6)),
                                  lambda: _scenario(outcome=CountOutcome(1e6),
                                                    cohort=Cohort(size=10**12))],
                         ids=["rate-1e300", "uniform-1e300", "rate-1e6", "rate-1e6-x-1e12"])
def test_huge_count_rate_never_gives_negative_events(make, check_finite):
    """Bug (fixed): counts above 2**63 wrapped around to negative numbers (int64 overflow).
    A huge rate must be refused (ValueError) or simulated without overflow."""
    try:
        sc = make()
    except ValueError:
        return
    small = sc.cohort.size <= 1000
    for engine in ("individual", "aggregate", "expected") if small else ("aggregate", "expected"):
        try:
            ds = sibsim.simulate(sc, draws=2, seed=0, engine=engine, progress=False)
        except ValueError:
            continue
        check_finite(ds)
        rate = float(sc.outcome.rate.mean) * sc.cohort.size
        assert np.all(np.abs(ds["events"].values / rate - 1) < 0.01)


def test_huge_cohort_is_rejected_or_simulated_exactly(check_finite):
    """Bug: a cohort above 2**63 people is accepted, then split into negative group sizes."""
    try:
        sc = _scenario(cohort=Cohort(size=10**20))
        ds = sibsim.simulate(sc, draws=1, seed=0, engine="expected", progress=False)
    except ValueError:
        return
    check_finite(ds)
    assert float(ds["size"].sum()) == pytest.approx(1e20)


def test_effect_with_huge_duration_simulates():
    """Bug: ``Effect(duration=10**30)`` passes validation but simulate() raises OverflowError."""
    try:
        sc = _scenario(effect=Effect("rr", 0.8, duration=10**30))
    except ValueError:
        return
    ds = sibsim.simulate(sc, draws=1, seed=0, engine="expected", progress=False)
    # the effect lasts beyond the horizon: the treated arm has 0.8 times the events
    assert float(ds["events"].sum()) == pytest.approx(10 * 3 * 0.8 * 0.3, rel=1e-12)


@pytest.mark.parametrize(
    "outcome", [BinaryOutcome(0.3), CountOutcome(1.0, dispersion=2.0)], ids=["binary", "counts"]
)
def test_tiny_frailty_variance_is_rejected_or_harmless(outcome, check_finite):
    """Bug: Frailty(5e-324) is accepted; the kernels then draw Gamma(shape=inf): every person
    has the binary event in every period, and counts come out as -2**63."""
    try:
        sc = _scenario(outcome=outcome, frailty=Frailty(5e-324))
    except ValueError:
        return
    ind = sibsim.simulate(sc, draws=200, seed=0, engine="individual", progress=False)
    check_finite(ind)
    # a vanishing frailty variance is no frailty: the mean per period is 10 * p (or 10 * rate)
    ref = 10 * (0.3 if isinstance(outcome, BinaryOutcome) else 1.0)
    x = ind["events"].values.ravel()
    assert abs(x.mean() - ref) <= 4.5 * x.std(ddof=1) / math.sqrt(x.size)
    exp = sibsim.simulate(sc, draws=1, seed=0, engine="expected", progress=False)
    np.testing.assert_allclose(exp["events"].values.ravel(), ref, rtol=1e-6)


@pytest.mark.parametrize("dist", [(0.0, 1000.0), (300.0, 10.0), (0.0, 10.0)],
                         ids=["sdlog-1000", "meanlog-300", "sdlog-10"])
def test_effect_ratio_sampled_huge_gives_finite_events(dist, check_finite):
    """Bug (fixed): LogNormal(0, 1000) sampled inf and 0; ``0 * inf`` made the probability nan.
    Such a distribution must be refused (ValueError, at construction or when sampled) or give
    finite events."""
    for p in (0.0, 0.3):
        try:
            sc = _scenario(outcome=BinaryOutcome(p), effect=Effect("rr", LogNormal(*dist)))
        except ValueError:
            return
        for engine in ("individual", "aggregate", "expected"):
            try:
                ds = sibsim.simulate(sc, draws=20, seed=1, engine=engine, progress=False)
            except ValueError:
                continue
            check_finite(ds)


@pytest.mark.parametrize("kind", ["binary", "counts"])
def test_zero_profile_on_certain_event_gives_no_events(kind, check_finite):
    """Bug: a profile multiplier of 0 with a baseline probability of 1 computes
    ``0 * log(0) = nan``, so every engine returns nan events (a zero multiplier means no
    hazard: no events)."""
    outcome = (BinaryOutcome(1.0, profile=(0.0, 1.0)) if kind == "binary"
               else CountOutcome(1.0, profile=(0.0, 1.0)))
    sc = _scenario(outcome=outcome)
    for engine in ("individual", "aggregate", "expected"):
        ds = sibsim.simulate(sc, draws=2, seed=0, engine=engine, progress=False)
        check_finite(ds)
        assert np.all(ds["events"].values[..., 0] == 0)
        if kind == "binary":
            assert np.all(ds["events"].values[..., 1:] == 10)


# ------------------------------------------------------------------ fuzzing the constructors
ODD = st.sampled_from(
    [
        0,
        1,
        -1,
        0.5,
        1.0,
        -0.0,
        1e-300,
        5e-324,
        1e300,
        1.7976931348623157e308,
        NAN,
        INF,
        -INF,
        2**63,
        10**20,
        True,
        None,
        "1",
        np.float64(0.3),
        np.int64(3),
        (),
        [0.5, 0.5],
    ]
)
NUMBER = st.one_of(
    ODD, st.floats(), st.integers(-(10**30), 10**30), st.integers(-5, 200), st.floats(0.0, 1.0)
)
SMALL = st.one_of(st.integers(-2, 60), st.floats(-1.0, 60.0), ODD)

DIST_FACTORIES = [
    (Fixed, 1),
    (Normal, 2),
    (LogNormal, 2),
    (LogNormal.from_mean_sd, 2),
    (Beta, 2),
    (Beta.from_mean_sd, 2),
    (Gamma, 2),
    (Gamma.from_mean_sd, 2),
    (Uniform, 2),
    (Triangular, 3),
]


@st.composite
def distributions(draw):
    """A distribution built from arbitrary numbers, or the raw number if it is refused."""
    factory, n = draw(st.sampled_from(DIST_FACTORIES))
    args = [draw(NUMBER) for _ in range(n)]
    try:
        return factory(*args)
    except (ValueError, TypeError):
        return args[0]


@st.composite
def dirichlets(draw, size: int):
    alpha = draw(st.lists(NUMBER, min_size=size, max_size=size))
    try:
        return Dirichlet(tuple(alpha))
    except (ValueError, TypeError):
        return alpha


UNCERTAIN = st.one_of(NUMBER, distributions())


def construct(factory, *args, **kwargs):
    """The object, or None if the constructor refused the input with ValueError/TypeError."""
    try:
        return factory(*args, **kwargs)
    except (ValueError, TypeError):
        return None


def mostly(valid, invalid=NUMBER):
    """A valid value by construction, and about one time in ten an arbitrary (mostly
    invalid) one on purpose: most examples reach the simulation, some the refusals."""
    # 7, not 0: Hypothesis draws the ends of a range (0, 9) more often than the middle
    return st.integers(0, 9).flatmap(lambda i: invalid if i == 7 else valid)


#: Per fuzz test: examples run, and examples that reached the simulation (or, for the
#: distributions, a sample).
REACHED = {"examples": 0, "reached": 0}


def reaching(share: float):
    """Run the Hypothesis test, then assert that at least ``share`` of its examples reached the
    code under test (a fuzzer whose examples are refused early tests nothing)."""
    def wrap(test):
        @functools.wraps(test)
        def run(*args, **kwargs):
            REACHED.update(examples=0, reached=0)
            test(*args, **kwargs)
            assert REACHED["examples"] >= 20, REACHED
            assert REACHED["reached"] >= share * REACHED["examples"], REACHED
        return run
    return wrap


def example_seen() -> None:
    REACHED["examples"] += 1


PROBABILITY = st.one_of(st.floats(0.0, 1.0), st.builds(Beta, st.floats(0.5, 5.0),
                                                        st.floats(0.5, 5.0)),
                        st.builds(Uniform, st.floats(0.0, 0.4), st.floats(0.5, 1.0)))
PROFILE = st.one_of(st.none(), st.lists(st.floats(0.0, 3.0), min_size=1, max_size=3))


def simulate_all(scenario: Scenario, check_finite, draws: int = 2) -> None:
    """A tiny simulation with every engine that applies gives finite, non-negative output."""
    REACHED["reached"] += 1
    people = sum(sum(wave) for arm in scenario.group_sizes() for wave in arm)
    engines = ["expected"]
    if scenario.frailty is None:
        engines.append("aggregate")
    if people * scenario.horizon <= 50_000:
        engines.append("individual")
    for engine in engines:
        ds = sibsim.simulate(scenario, draws=draws, seed=3, engine=engine, progress=False)
        check_finite(ds)


#: Valid arguments by construction for every factory of DIST_FACTORIES: increasing, so that a
#: triangular's low <= mode <= high and a uniform's low < high; a Beta's sd is below
#: sqrt(mean (1 - mean)).
VALID_DIST_ARGS = st.tuples(st.floats(0.1, 0.2), st.floats(0.25, 0.3), st.floats(0.35, 0.45))


@st.composite
def distribution_calls(draw):
    """A factory and its arguments: valid by construction, or arbitrary on purpose."""
    fn, n = draw(st.sampled_from(DIST_FACTORIES))
    args = draw(mostly(VALID_DIST_ARGS.map(lambda a: list(a[:n])),
                       st.lists(NUMBER, min_size=1, max_size=3)))
    return fn, args


@reaching(0.5)
@settings(max_examples=150)
@given(call=distribution_calls())
def test_fuzz_distributions(call):
    example_seen()
    fn, args = call
    try:
        d = fn(*args)
    except (ValueError, TypeError):
        return
    REACHED["reached"] += 1
    lo, hi = d.support
    assert lo <= d.mean <= hi
    x = d.sample(np.random.default_rng(0), 20)
    assert x.shape == (20,)
    assert np.all((x >= lo) & (x <= hi)), d  # also fails for nan


@settings(max_examples=60)
@given(
    alpha=st.one_of(st.lists(NUMBER, max_size=4), NUMBER),
    mean=st.lists(NUMBER, min_size=1, max_size=3),
    conc=NUMBER,
)
def test_fuzz_dirichlet(alpha, mean, conc):
    for make in (lambda: Dirichlet(alpha), lambda: Dirichlet.from_mean(mean, conc)):
        d = construct(make)
        if d is not None:
            assert len(d.mean_row) == d.size
            x = d.sample(np.random.default_rng(0), 10)
            assert x.shape == (10, d.size)


@reaching(0.5)
@settings(max_examples=100)
@given(
    size=mostly(st.integers(1, 60), st.one_of(st.none(), SMALL, NUMBER)),
    entry=mostly(st.none(), st.one_of(st.lists(SMALL, max_size=3), NUMBER)),
    shares=mostly(st.sampled_from([[], [1.0], [0.5, 0.5], [0.25, 0.75]]),
                  st.lists(st.one_of(st.sampled_from([0.5, 0.25, 1.0]), NUMBER), max_size=3)),
    ratio=mostly(st.sampled_from([None, 1, 2, 3]), st.one_of(NUMBER, SMALL)),
    cmp_size=mostly(st.none(), SMALL),
)
def test_fuzz_cohort_and_comparison(size, entry, shares, ratio, cmp_size, check_finite):
    example_seen()
    strata = []
    for i, share in enumerate(shares):
        s = construct(Stratum, f"s{i}", share)
        if s is not None:
            strata.append(s)
    cohort = construct(Cohort, size=size, entry=entry, strata=tuple(strata))
    comparison = construct(ComparisonGroup, size=cmp_size, ratio=ratio)
    if cohort is None:
        return
    assert cohort.size == sum(cohort.entry) and cohort.size > 0
    sc = construct(
        Scenario,
        cohort=cohort,
        outcome=BinaryOutcome(0.3),
        horizon=3,
        comparison=comparison,
        effect=Effect("rr", 0.8),
    )
    if sc is not None:
        if comparison is not None:
            assert all(n >= 0 for n in comparison.sizes(cohort))
        simulate_all(sc, check_finite)


@reaching(0.5)
@settings(max_examples=100)
@given(
    p=mostly(PROBABILITY, UNCERTAIN),
    recurrent=mostly(st.booleans(), st.sampled_from([1, None])),
    profile=mostly(PROFILE, st.lists(NUMBER, min_size=0, max_size=3)),
    clock=mostly(st.sampled_from(["entry", "calendar"]), st.just("wall")),
    horizon=st.integers(1, 4),
)
def test_fuzz_binary_outcome(p, recurrent, profile, clock, horizon, check_finite):
    example_seen()
    o = construct(BinaryOutcome, p, recurrent=recurrent, profile=profile, clock=clock)
    if o is not None:
        sc = Scenario(
            cohort=Cohort(entry=(4, 3)),
            outcome=o,
            horizon=max(horizon, 2),
            comparison=ComparisonGroup(ratio=1),
        )
        simulate_all(sc, check_finite)


@reaching(0.5)
@settings(max_examples=100)
@given(
    rate=mostly(st.one_of(st.floats(0.0, 5.0), st.builds(Gamma.from_mean_sd, st.floats(
        0.1, 5.0), st.floats(0.01, 1.0))), UNCERTAIN),
    k=mostly(st.one_of(st.none(), st.floats(0.01, 50.0)), UNCERTAIN),
    profile=mostly(PROFILE, st.lists(NUMBER, min_size=1, max_size=3)),
    clock=st.sampled_from(["entry", "calendar"]),
    horizon=st.integers(1, 4),
)
def test_fuzz_count_outcome(rate, k, profile, clock, horizon, check_finite):
    example_seen()
    o = construct(CountOutcome, rate, dispersion=k, profile=profile, clock=clock)
    if o is not None:
        sc = Scenario(
            cohort=Cohort(entry=(4, 3)),
            outcome=o,
            horizon=max(horizon, 2),
            comparison=ComparisonGroup(ratio=1),
        )
        simulate_all(sc, check_finite)


@st.composite
def matrices(draw, valid: bool = False):
    """2x2 or 3x3 matrices of arbitrary numbers, valid rows or Dirichlet rows (``valid``:
    valid rows only)."""
    s = draw(st.sampled_from([2, 3]))
    rows = []
    for i in range(s):
        kind = "valid" if valid else draw(st.sampled_from(["valid", "odd", "dirichlet"]))
        if kind == "valid":
            w = draw(st.lists(st.floats(0.0, 1.0), min_size=s, max_size=s))
            tot = sum(w)
            rows.append([x / tot for x in w] if tot > 0 else [float(j == i) for j in range(s)])
        elif kind == "odd":
            rows.append(draw(st.lists(NUMBER, min_size=s - 1, max_size=s + 1)))
        else:
            rows.append(draw(dirichlets(s)))
    return s, rows


@reaching(0.5)
@settings(max_examples=100)
@given(
    m=mostly(matrices(valid=True), matrices()),
    initial=mostly(st.sampled_from([None, "s0", "s1"]), st.sampled_from(["zz", 3])),
    events=mostly(st.just([("s0", "s1")]), st.lists(
        st.tuples(st.sampled_from(["s0", "s1", "s2", "x"]), st.sampled_from(["s0", "s1", "s2"])),
        max_size=2,
    )),
    effect=st.sampled_from([None, "rr", "hr", "or", "absolute"]),
    value=mostly(st.floats(0.5, 1.5), UNCERTAIN),
)
def test_fuzz_markov_outcome(m, initial, events, effect, value, check_finite):
    example_seen()
    s, rows = m
    states = tuple(f"s{i}" for i in range(s))
    o = construct(MarkovOutcome, states, rows, initial=initial, events=events)
    if o is None:
        return
    assert len(o.transitions[0]) == s
    eff = construct(Effect, effect, value, targets=[("s0", "s1")]) if effect else None
    sc = construct(
        Scenario,
        cohort=Cohort(entry=(5, 4)),
        outcome=o,
        horizon=3,
        effect=eff,
        comparison=ComparisonGroup(ratio=1),
    )
    if sc is not None:
        simulate_all(sc, check_finite)


@reaching(0.5)
@settings(max_examples=100)
@given(
    measure=mostly(st.sampled_from(["rr", "hr", "or"]), st.sampled_from(["absolute", "odds"])),
    value=mostly(st.floats(0.5, 1.5), UNCERTAIN),
    onset=mostly(st.integers(0, 3), SMALL),
    duration=mostly(st.one_of(st.none(), st.integers(1, 4)), SMALL),
    decay=mostly(st.floats(0.0, 1.0)),
    engagement=mostly(PROBABILITY, UNCERTAIN),
    dropout=mostly(st.floats(0.0, 0.5), UNCERTAIN),
    p=st.sampled_from([0.0, 0.3, 1.0]),
    kind=st.sampled_from(["binary", "absorbing", "counts", "markov"]),
    frailty=st.sampled_from([None, 0.5]),
)
def test_fuzz_effect(
    measure, value, onset, duration, decay, engagement, dropout, p, kind, frailty, check_finite
):
    example_seen()
    targets = [("s0", "s1")] if kind == "markov" else []
    e = construct(
        Effect,
        measure,
        value,
        targets=targets,
        onset=onset,
        duration=duration,
        decay=decay,
        engagement=engagement,
        dropout=dropout,
    )
    if e is None:
        return
    if kind == "markov":
        outcome = MarkovOutcome(("s0", "s1"), [[1 - p, p], [0.5, 0.5]], events=[("s0", "s1")])
    elif kind == "counts":
        outcome = CountOutcome(p * 3, dispersion=1.5)
    else:
        outcome = BinaryOutcome(p, recurrent=kind == "binary")
    sc = construct(
        Scenario,
        cohort=Cohort(entry=(5, 4)),
        outcome=outcome,
        horizon=4,
        effect=e,
        comparison=ComparisonGroup(ratio=1),
        frailty=Frailty(frailty) if frailty else None,
    )
    if sc is not None:
        simulate_all(sc, check_finite)


@reaching(0.5)
@settings(max_examples=40)
@given(variance=mostly(st.floats(1e-4, 10.0)), kind=st.sampled_from(["binary", "counts", "markov"]))
def test_fuzz_frailty(variance, kind, check_finite):
    example_seen()
    f = construct(Frailty, variance)
    if f is None:
        return
    outcome = {
        "binary": BinaryOutcome(0.3),
        "counts": CountOutcome(1.0, dispersion=2.0),
        "markov": MarkovOutcome(("a", "b"), [[0.7, 0.3], [0.0, 1.0]], events=[("a", "b")]),
    }[kind]
    simulate_all(
        Scenario(cohort=Cohort(size=6), outcome=outcome, horizon=3, frailty=f), check_finite
    )
