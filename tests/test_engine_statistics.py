"""The engines against closed forms and against each other.

Every stochastic check compares a Monte Carlo estimate with its target within ``Z`` standard
errors, the standard error being computed from the known distribution where there is one and
from the simulated sample otherwise. Seeds are fixed, so results never change between runs; ``Z``
is wide enough (two-sided p about 7e-6 per comparison) that a correct engine passes for almost
any seed, and narrow enough to catch a wrong mean, variance or occupancy.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

import sibsim
from engine_scenarios import STATES, T, one_process
from sibsim import (
    Beta,
    BinaryOutcome,
    Cohort,
    ComparisonGroup,
    CountOutcome,
    Dirichlet,
    Effect,
    Frailty,
    LogNormal,
    MarkovOutcome,
    Scenario,
    Stratum,
)

pytestmark = pytest.mark.usefixtures("warm_kernels")

Z = 4.5
STOCHASTIC = ("individual", "aggregate")


def run(sc: Scenario, engine: str, draws: int, seed: int = 20240101):
    return sibsim.simulate(sc, draws=draws, seed=seed, engine=engine, progress=False)


# ------------------------------------------------------------------ statistical helpers
def assert_mean(x: np.ndarray, mu: float, var: float) -> None:
    """The mean of iid values ``x`` is ``mu`` within Z standard errors (known variance)."""
    x = np.asarray(x, dtype=float).ravel()
    se = math.sqrt(var / x.size)
    assert abs(x.mean() - mu) <= Z * se, (x.mean(), mu, se)


def assert_variance(x: np.ndarray, var: float, mu4: float) -> None:
    """The sample variance of iid values ``x`` is ``var`` within Z standard errors.

    ``Var(s^2) = (mu4 - var^2 (n - 3) / (n - 1)) / n`` for the fourth central moment ``mu4``.
    """
    x = np.asarray(x, dtype=float).ravel()
    n = x.size
    se = math.sqrt((mu4 - var**2 * (n - 3) / (n - 1)) / n)
    s2 = x.var(ddof=1)
    assert abs(s2 - var) <= Z * se, (s2, var, se)


def assert_moments(x: np.ndarray, dist) -> None:
    """Mean and variance of iid values ``x`` against a scipy distribution."""
    mean, var, kurt = (float(v) for v in dist.stats(moments="mvk"))
    assert_mean(x, mean, var)
    assert_variance(x, var, (kurt + 3.0) * var**2)


def assert_fits(x: np.ndarray, dist, min_expected: float = 20.0) -> None:
    """Pearson chi-square goodness of fit of integer values ``x`` to a discrete scipy
    distribution, with neighbouring values pooled until each cell expects ``min_expected``."""
    x = np.asarray(x).ravel().astype(np.int64)
    n = x.size
    lo, hi = int(dist.ppf(1e-7)), int(dist.ppf(1 - 1e-7))
    ks = np.arange(lo, hi + 1)
    prob = dist.pmf(ks)
    prob[0], prob[-1] = dist.cdf(lo), dist.sf(hi - 1)
    obs = np.bincount(np.clip(x, lo, hi) - lo, minlength=ks.size).astype(float)
    cells_p, cells_o, acc_p, acc_o = [], [], 0.0, 0.0
    for pk, ok in zip(prob, obs, strict=True):
        acc_p, acc_o = acc_p + pk, acc_o + ok
        if acc_p * n >= min_expected:
            cells_p.append(acc_p)
            cells_o.append(acc_o)
            acc_p, acc_o = 0.0, 0.0
    cells_p[-1] += acc_p
    cells_o[-1] += acc_o
    expected = np.array(cells_p) / sum(cells_p) * n
    assert len(expected) >= 3
    pvalue = stats.chisquare(np.array(cells_o), expected).pvalue
    assert pvalue > 1e-6, (pvalue, len(expected))


def assert_cell_means(sim: np.ndarray, target: np.ndarray, what: str = "") -> None:
    """Per-cell means over draws (axis 0) against ``target``, with the sample standard error.

    A cell that never varies must equal its target exactly (e.g. nobody present yet).
    """
    sim = np.asarray(sim, dtype=float)
    target = np.broadcast_to(np.asarray(target, dtype=float), sim.shape[1:])
    mean = sim.mean(axis=0)
    se = sim.std(axis=0, ddof=1) / math.sqrt(sim.shape[0])
    bad = np.abs(mean - target) > Z * se + 1e-9
    assert not bad.any(), (f"{what}: {int(bad.sum())} of {bad.size} cells off; first at "
                           f"{np.argwhere(bad)[0]}: mean {mean[bad][0]}, target {target[bad][0]}, "
                           f"se {se[bad][0]}")


def assert_paired_mean_zero(diff: np.ndarray, what: str = "") -> None:
    diff = np.asarray(diff, dtype=float)
    assert_cell_means(diff, 0.0, what)


def assert_same_distribution(x: np.ndarray, y: np.ndarray, what: str = "") -> None:
    """Two independent iid samples: equal means and variances within Z standard errors of the
    difference, and a two-sample Kolmogorov-Smirnov test at level 1e-5."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    se_mean = math.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
    assert abs(x.mean() - y.mean()) <= Z * se_mean + 1e-9, (what, x.mean(), y.mean(), se_mean)

    def var_se(v):
        m2 = ((v - v.mean()) ** 2).mean()
        m4 = ((v - v.mean()) ** 4).mean()
        return (m4 - m2**2) / v.size

    se_var = math.sqrt(var_se(x) + var_se(y))
    assert abs(x.var(ddof=1) - y.var(ddof=1)) <= Z * se_var + 1e-9, (
        what, x.var(ddof=1), y.var(ddof=1), se_var)
    if x.std() > 0 or y.std() > 0:
        assert stats.ks_2samp(x, y).pvalue > 1e-5, what


# ------------------------------------------------------------------ closed forms
def strength(tau: int, effect: Effect) -> float:
    """Strength of an effect ``tau`` periods after entry, from the documented definition."""
    if tau < effect.onset:
        return 0.0
    if effect.duration is None or tau < effect.onset + effect.duration:
        return 1.0
    return (1.0 - effect.decay) ** (tau - effect.onset - effect.duration + 1)


def treated_probability(p: float, measure: str, value: float, s: float) -> float:
    """Documented effect measures at strength ``s`` (ratios scale on the log scale)."""
    if measure == "absolute":
        return min(1.0, max(0.0, p + value * s))
    v = value**s
    if measure == "rr":
        return min(1.0, p * v)
    if measure == "hr":
        return 1.0 - (1.0 - p) ** v
    odds = v * p / (1.0 - p)
    return odds / (1.0 + odds)


def augmented_trace(n: float, init: int, engage: float, dropout: float, mats0, mats1):
    """Occupancy by (engagement, state) of a cohort, period by period, from matrix products.

    ``mats0[t]``/``mats1[t]`` are the (S, S) matrices of the not-engaged and engaged in the
    cohort's ``t``-th period. Engagement happens at entry, drop-outs move engaged people to
    not-engaged at the start of each later period. Returns ``occ[t, j, s]``.
    """
    S = mats0[0].shape[0]
    drop = np.eye(2 * S)
    for s in range(S):
        drop[S + s, S + s] = 1.0 - dropout
        drop[S + s, s] = dropout
    v = np.zeros(2 * S)
    v[init] = n * (1.0 - engage)
    v[S + init] = n * engage
    out = [v.reshape(2, S)]
    op = np.eye(2 * S)
    for t in range(len(mats0) - 1):
        step = np.zeros((2 * S, 2 * S))
        step[:S, :S] = mats0[t]
        step[S:, S:] = mats1[t]
        op = op @ step @ drop
        out.append((v @ op).reshape(2, S))
    return np.array(out)


# ------------------------------------------------------------------ binary
# Individual engine: per-person uniforms; aggregate engine: inversion when n min(p, 1-p) < 30,
# else BTRS rejection (also with p > 1/2, and for huge n with small p). The aggregate engine's
# cost does not depend on n, so it gets large samples (400,000 counts) that resolve a 2% error
# in the variance.
BINOMIAL_CASES = [("individual", 50, 0.3, 5000, 40), ("individual", 400, 0.8, 1000, 20),
                  ("aggregate", 50, 0.3, 5000, 40), ("aggregate", 1000, 0.3, 5000, 40),
                  ("aggregate", 1000, 0.85, 5000, 40), ("aggregate", 100_000, 0.0002, 5000, 40),
                  ("aggregate", 1_000_000, 0.001, 5000, 40)]


@pytest.mark.parametrize(("engine", "n", "p", "draws", "horizon"), BINOMIAL_CASES)
def test_recurrent_binary_is_binomial(engine, n, p, draws, horizon):
    sc = Scenario(cohort=Cohort(size=n), outcome=BinaryOutcome(p), horizon=horizon,
                  comparison=ComparisonGroup(ratio=1))
    ds = run(sc, engine, draws)
    # every (draw, arm, period) count is an independent Binomial(n, p)
    x = ds["events"].values
    assert_moments(x, stats.binom(n, p))
    assert_fits(x, stats.binom(n, p))
    np.testing.assert_array_equal(ds["at_risk"].values, n)
    np.testing.assert_allclose(run(sc, "expected", 1)["events"].values, n * p, rtol=1e-9)


@pytest.mark.parametrize(("engine", "n"), [("individual", 200), ("aggregate", 200),
                                           ("aggregate", 100_000)])
def test_absorbing_binary_survival(engine, n):
    p, horizon, draws = 0.2, 6, 400
    sc = Scenario(cohort=Cohort(size=n), outcome=BinaryOutcome(p, recurrent=False),
                  horizon=horizon)
    ds = run(sc, engine, draws)
    assert list(ds["state"].values) == ["at_risk", "event"]
    at_risk = ds["occupancy"].sel(state="at_risk").values[:, 0, 0, 0]  # (draw, period)
    events = ds["events"].values[:, 0, 0, 0]
    for t in range(horizon):
        surv = (1 - p) ** t
        assert_mean(at_risk[:, t], n * surv, n * surv * (1 - surv))
        q = surv * p
        assert_mean(events[:, t], n * q, n * q * (1 - q))
    np.testing.assert_array_equal(ds["at_risk"].values[:, 0, 0, 0], at_risk)
    # people leave the risk set only through an event
    np.testing.assert_array_equal(at_risk[:, 1:], n - np.cumsum(events, axis=1)[:, :-1])


def test_expected_binary_closed_form_with_everything():
    """Profile (entry clock), staggered entry, strata with own baselines, onset, duration,
    decay, engagement and drop-out: the expected engine equals the closed form to 1e-9."""
    eff = Effect("rr", 0.6, onset=1, duration=2, decay=0.5, engagement=0.7, dropout=0.2)
    profile = (1.0, 0.5, 2.0)
    sc = Scenario(
        cohort=Cohort(entry=(40, 20, 40), strata=(Stratum("a", 0.25, baseline=0.1),
                                                  Stratum("b", 0.75))),
        outcome=BinaryOutcome(0.3, profile=profile), horizon=7, effect=eff,
        comparison=ComparisonGroup(ratio=2))
    ds = run(sc, "expected", draws=2)
    base = {0: 0.1, 1: 0.3}
    sizes = np.array(sc.group_sizes())  # (arm, wave, stratum)
    want = np.zeros((2, 3, 2, 7))
    eng = np.zeros((2, 3, 2, 7))
    for a in range(2):
        for w in range(3):
            for k in range(2):
                for t in range(w, 7):
                    tau = t - w
                    h = profile[min(tau, len(profile) - 1)]
                    p0 = 1 - (1 - base[k]) ** h
                    p1 = treated_probability(p0, "rr", 0.6, strength(tau, eff))
                    f1 = 0.7 * 0.8**tau if a == 0 else 0.0
                    want[a, w, k, t] = sizes[a, w, k] * (f1 * p1 + (1 - f1) * p0)
                    eng[a, w, k, t] = sizes[a, w, k] * f1
    for d in range(2):
        np.testing.assert_allclose(ds["events"].values[d], want, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(ds["engaged"].values[d], eng, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("measure,value", [("rr", 0.5), ("hr", 0.5), ("or", 0.5),
                                           ("absolute", -0.1), ("rr", 5.0)])
def test_expected_binary_effect_measures_and_calendar_clock(measure, value):
    profile = (1.0, 3.0)
    eff = Effect(measure, value, duration=1, decay=0.25)
    sc = Scenario(cohort=Cohort(entry=(10, 10)), horizon=4, effect=eff,
                  outcome=BinaryOutcome(0.3, profile=profile, clock="calendar"))
    ds = run(sc, "expected", draws=1)
    for w in range(2):
        for t in range(4):
            got = float(ds["events"].values[0, 0, w, 0, t])
            if t < w:
                assert got == 0.0
                continue
            p0 = 1 - 0.7 ** profile[min(t, 1)]
            p1 = treated_probability(p0, measure, value, strength(t - w, eff))
            assert got == pytest.approx(10 * p1, rel=1e-9, abs=1e-12)


def test_expected_absorbing_binary_closed_form():
    n, p = 100, 0.25
    sc = Scenario(cohort=Cohort(entry=(n, n)), outcome=BinaryOutcome(p, recurrent=False),
                  horizon=5)
    ds = run(sc, "expected", draws=1)
    for w in range(2):
        for t in range(5):
            tau = t - w
            surv = (1 - p) ** tau if tau >= 0 else 0.0
            ev = n * surv * p if tau >= 0 else 0.0
            got = ds.isel(draw=0, arm=0, wave=w, stratum=0, period=t)
            assert float(got["events"]) == pytest.approx(ev, rel=1e-9, abs=1e-12)
            assert float(got["occupancy"].sel(state="at_risk")) == pytest.approx(
                n * surv, rel=1e-9, abs=1e-12)
            assert float(got["at_risk"]) == pytest.approx(n * surv, rel=1e-9, abs=1e-12)


# ------------------------------------------------------------------ counts
# aggregate engine: inversion for a group mean below 10, else PTRS rejection
@pytest.mark.parametrize(("engine", "n", "r", "draws"), [("individual", 30, 0.7, 5000),
                                                         ("aggregate", 30, 0.1, 5000),
                                                         ("aggregate", 30, 0.7, 5000),
                                                         ("aggregate", 1000, 5.0, 5000)])
def test_poisson_counts_mean_and_variance(engine, n, r, draws):
    sc = Scenario(cohort=Cohort(size=n), outcome=CountOutcome(r), horizon=40,
                  comparison=ComparisonGroup(ratio=1))
    ds = run(sc, engine, draws)
    # a group's total in a period is Poisson(n r), independent across groups and periods
    assert_moments(ds["events"].values, stats.poisson(n * r))
    assert_fits(ds["events"].values, stats.poisson(n * r))
    np.testing.assert_allclose(run(sc, "expected", 1)["events"].values, n * r, rtol=1e-9)


@pytest.mark.parametrize("engine", STOCHASTIC)
@pytest.mark.parametrize("k", [1.5, 0.5])
def test_negative_binomial_variance(engine, k):
    mu = 2.0
    # one person per group: each value is one person-period count, variance mu + mu^2 / k
    one = Scenario(cohort=Cohort(size=1), outcome=CountOutcome(mu, dispersion=k), horizon=20,
                   comparison=ComparisonGroup(ratio=1))
    x = run(one, engine, 10_000)["events"].values
    assert_moments(x, stats.nbinom(k, k / (k + mu)))
    assert_fits(x, stats.nbinom(k, k / (k + mu)))
    assert abs(x.var(ddof=1) - mu) > 10 * math.sqrt(mu / x.size)  # clearly over-dispersed
    # the sum over n people: mean n mu, variance n mu + n mu^2 / k
    n = 40
    grp = Scenario(cohort=Cohort(size=n), outcome=CountOutcome(mu, dispersion=k), horizon=20,
                   comparison=ComparisonGroup(ratio=1))
    y = run(grp, engine, 5000, seed=7)["events"].values
    assert_moments(y, stats.nbinom(n * k, k / (k + mu)))
    assert_fits(y, stats.nbinom(n * k, k / (k + mu)))


def test_expected_counts_closed_form():
    eff = Effect("absolute", -0.4, onset=1, duration=1, decay=0.5, engagement=0.6,
                 dropout=0.25)
    profile = (1.0, 0.5)
    sc = Scenario(cohort=Cohort(entry=(30, 10)), horizon=5, effect=eff,
                  outcome=CountOutcome(1.5, dispersion=2.0, profile=profile),
                  comparison=ComparisonGroup(size=20), frailty=Frailty(0.3))
    ds = run(sc, "expected", draws=1)
    sizes = np.array(sc.group_sizes())
    for a in range(2):
        for w in range(2):
            for t in range(5):
                tau = t - w
                got = float(ds["events"].values[0, a, w, 0, t])
                if tau < 0:
                    assert got == 0.0
                    continue
                r0 = 1.5 * profile[min(tau, 1)]
                r1 = max(0.0, r0 - 0.4 * strength(tau, eff))
                f1 = 0.6 * 0.75**tau if a == 0 else 0.0
                want = sizes[a, w, 0] * (f1 * r1 + (1 - f1) * r0)
                assert got == pytest.approx(want, rel=1e-9)


# ------------------------------------------------------------------ Markov
@pytest.mark.parametrize(("engine", "n"), [("individual", 300), ("aggregate", 300),
                                           ("aggregate", 100_000)])
def test_markov_occupancy_is_matrix_power(engine, n):
    horizon, draws = 6, 400
    sc = Scenario(cohort=Cohort(size=n), horizon=horizon,
                  outcome=MarkovOutcome(STATES, T, events=[("well", "sick"), ("sick", "dead")]))
    ds = run(sc, engine, draws)
    occ = ds["occupancy"].values[:, 0, 0, 0]  # (draw, period, state)
    events = ds["events"].values[:, 0, 0, 0]
    flag = np.zeros((3, 3))
    flag[0, 1] = flag[1, 2] = 1.0
    np.testing.assert_array_equal(occ.sum(axis=-1), n)
    for t in range(horizon):
        pi = np.linalg.matrix_power(T, t)[0]
        for s in range(3):
            assert_mean(occ[:, t, s], n * pi[s], n * pi[s] * (1 - pi[s]))
        q = float(pi @ (T * flag).sum(axis=1))  # chance that one person has an event in t
        assert_mean(events[:, t], n * q, n * q * (1 - q))
    # at risk: people in a state with an event out of it (well, sick)
    np.testing.assert_array_equal(ds["at_risk"].values[:, 0, 0, 0], occ[:, :, :2].sum(-1))


def test_expected_markov_closed_form_with_engagement_and_dropout():
    n, e, d, horizon = 100.0, 0.7, 0.2, 6
    eff = Effect("rr", 0.5, targets=[("well", "sick")], engagement=e, dropout=d)
    sc = Scenario(cohort=Cohort(size=100), horizon=horizon, effect=eff,
                  outcome=MarkovOutcome(STATES, T, events=[("well", "sick")]),
                  comparison=ComparisonGroup(ratio=1))
    ds = run(sc, "expected", draws=1)
    # rr 0.5 on well -> sick: 0.15 becomes 0.075, the difference stays in "well"
    T1 = np.array([[0.875, 0.075, 0.05], [0.30, 0.60, 0.10], [0.0, 0.0, 1.0]])
    B = np.zeros((6, 6))
    B[:3, :3], B[3:, 3:] = T, T1
    drop = np.eye(6)
    for s in range(3):
        drop[3 + s, 3 + s], drop[3 + s, s] = 1 - d, d
    v0 = np.zeros(6)
    v0[0], v0[3] = n * (1 - e), n * e
    for t in range(horizon):
        occ = (v0 @ np.linalg.matrix_power(B @ drop, t)).reshape(2, 3)
        got = ds.isel(draw=0, wave=0, stratum=0, period=t)
        np.testing.assert_allclose(got["occupancy"].sel(arm="treatment").values, occ.sum(0),
                                   rtol=1e-9)
        assert float(got["engaged"].sel(arm="treatment")) == pytest.approx(occ[1].sum(), 1e-9)
        ev = occ[0, 0] * T[0, 1] + occ[1, 0] * T1[0, 1]
        assert float(got["events"].sel(arm="treatment")) == pytest.approx(ev, rel=1e-9)
        pi = n * np.linalg.matrix_power(T, t)[0]
        np.testing.assert_allclose(got["occupancy"].sel(arm="comparison").values, pi,
                                   rtol=1e-9, atol=1e-12)
        assert float(got["events"].sel(arm="comparison")) == pytest.approx(pi[0] * T[0, 1],
                                                                           rel=1e-9)


def test_expected_markov_time_varying_matrices_and_clocks():
    T0 = np.array([[0.9, 0.1], [0.2, 0.8]])
    T1 = np.array([[0.5, 0.5], [0.6, 0.4]])
    for clock in ("entry", "calendar"):
        sc = Scenario(cohort=Cohort(entry=(10, 10)), horizon=4,
                      outcome=MarkovOutcome(("a", "b"), [T0, T1], events=[("a", "b")],
                                            clock=clock))
        ds = run(sc, "expected", draws=1)
        for w in range(2):
            v = np.array([10.0, 0.0])
            for t in range(w, 4):
                got = ds["occupancy"].values[0, 0, w, 0, t]
                np.testing.assert_allclose(got, v, rtol=1e-9, atol=1e-12)
                c = (t - w) if clock == "entry" else t
                m = T0 if c == 0 else T1
                assert float(ds["events"].values[0, 0, w, 0, t]) == pytest.approx(
                    v[0] * m[0, 1], rel=1e-9)
                v = v @ m


# ------------------------------------------------------------------ engines agree
def _agree_scenario(kind: str) -> Scenario:
    return one_process(kind, engagement=0.6, dropout=0.2, duration=2, decay=0.5)


def _per_draw_statistics(ds) -> dict[str, np.ndarray]:
    out = {}
    for arm in ds["arm"].values:
        x = ds.sel(arm=arm)
        out[f"events[{arm}]"] = x["events"].sum(("wave", "stratum", "period")).values
        out[f"events[{arm}, last period]"] = x["events"].isel(period=-1).sum(
            ("wave", "stratum")).values
        if "occupancy" in ds:
            for s in ds["state"].values:
                out[f"occupancy[{arm}, {s}]"] = x["occupancy"].sel(state=s).sum(
                    ("wave", "stratum", "period")).values
    out["engaged"] = ds["engaged"].sel(arm="treatment").sum(
        ("wave", "stratum", "period")).values
    return out


@pytest.mark.parametrize("kind", ["binary", "absorbing", "counts", "markov"])
def test_individual_and_aggregate_agree_in_distribution(kind):
    sc = _agree_scenario(kind)
    ind = _per_draw_statistics(run(sc, "individual", 1500, seed=11))
    agg = _per_draw_statistics(run(sc, "aggregate", 1500, seed=12))
    assert ind.keys() == agg.keys()
    for name in ind:
        assert_same_distribution(ind[name], agg[name], f"{kind}: {name}")


# ------------------------------------------------------------------ convergence to expected
def _rich_scenario(kind: str) -> Scenario:
    """Strata with their own baselines, staggered entry, a profile, and an effect with onset,
    duration, decay, engagement and drop-out ("...-full": everyone engaged, no drop-out, which
    the individual engine simulates on a separate fast path)."""
    eff = dict(onset=1, duration=2, decay=0.5, engagement=0.7, dropout=0.15)
    if kind.endswith("-full"):
        kind = kind.removesuffix("-full")
        eff.update(engagement=1.0, dropout=0.0)
    if kind == "markov":
        low = [[0.9, 0.08, 0.02], [0.4, 0.5, 0.1], [0.0, 0.0, 1.0]]
        strata = (Stratum("low", 0.4, baseline=low), Stratum("high", 0.6))
        outcome = MarkovOutcome(STATES, [T, [[0.7, 0.2, 0.1], T[1], T[2]]],
                                events=[("well", "sick"), ("sick", "dead")])
        effect = Effect("hr", 0.5, targets=[("well", "sick")], **eff)
    elif kind == "counts":
        strata = (Stratum("low", 0.4, baseline=0.4), Stratum("high", 0.6))
        outcome = CountOutcome(1.2, dispersion=1.5, profile=(1.0, 0.7))
        effect = Effect("rr", 0.6, **eff)
    else:
        strata = (Stratum("low", 0.4, baseline=0.15), Stratum("high", 0.6))
        outcome = BinaryOutcome(0.35, recurrent=kind == "binary", profile=(1.0, 0.6))
        effect = Effect("or", 0.5, **eff)
    return Scenario(cohort=Cohort(entry=(50, 50), strata=strata), outcome=outcome, horizon=5,
                    effect=effect, comparison=ComparisonGroup(ratio=1))


@pytest.mark.parametrize("engine", STOCHASTIC)
@pytest.mark.parametrize("kind", ["binary", "absorbing", "counts", "markov", "binary-full",
                                  "absorbing-full", "counts-full", "markov-full"])
def test_stochastic_engines_converge_to_expected_trace(kind, engine):
    sc = _rich_scenario(kind)
    sim = run(sc, engine, 600, seed=3)
    exp = run(sc, "expected", 1)
    variables = ["events"] + (["occupancy", "at_risk"] if "occupancy" in sim else []) + ["engaged"]
    for name in variables:
        assert_cell_means(sim[name].values, exp[name].values[0], f"{kind}/{engine}: {name}")
    total = sim["events"].sum(("arm", "wave", "stratum", "period")).values
    assert_cell_means(total[:, None], float(exp["events"].sum()), f"{kind}/{engine}: total")


@pytest.mark.parametrize("engine", STOCHASTIC)
def test_uncertain_parameters_paired_with_expected_trace(uncertain_scenario, engine):
    """Draws share their sampled parameters across engines, so the per-draw difference between
    a stochastic engine and the expected trace has mean zero."""
    sim = run(uncertain_scenario, engine, 500, seed=5)
    exp = run(uncertain_scenario, "expected", 500, seed=5)
    np.testing.assert_array_equal(sim["parameter_value"].values, exp["parameter_value"].values)
    assert sim["parameter_value"].values.std(axis=0).max() > 0  # the parameters do vary
    for name in ("events", "occupancy", "engaged"):
        assert_paired_mean_zero(sim[name].values - exp[name].values, f"{engine}: {name}")


def test_sampled_parameters_follow_their_distributions():
    sc = Scenario(cohort=Cohort(size=5), horizon=2,
                  outcome=MarkovOutcome(("a", "b"), [Dirichlet((2.0, 6.0)), [0.0, 1.0]]),
                  effect=Effect("rr", LogNormal.from_mean_sd(0.8, 0.1), targets=[("a", "b")],
                                engagement=Beta(8.0, 2.0)))
    ds = run(sc, "expected", 4000)
    pv = ds["parameter_value"]
    v = pv.sel(parameter="effect.value").values
    assert_mean(v, 0.8, 0.1**2)
    e = pv.sel(parameter="effect.engagement").values
    assert_mean(e, 0.8, 0.8 * 0.2 / 11)
    row = pv.sel(parameter="baseline.transition[0].a->b").values
    assert_mean(row, 0.75, 0.75 * 0.25 / 9)
    np.testing.assert_allclose(pv.sel(parameter="baseline.transition[0].a->a").values + row, 1.0)


# ------------------------------------------------------------------ frailty
def _frailty_scenario(kind: str, theta: float) -> Scenario:
    outcome = {"binary": BinaryOutcome(0.3), "absorbing": BinaryOutcome(0.3, recurrent=False),
               "counts": CountOutcome(0.8, dispersion=3.0),
               "markov": MarkovOutcome(STATES, T, events=[("well", "sick")])}[kind]
    targets = [("well", "sick")] if kind == "markov" else []
    return Scenario(cohort=Cohort(entry=(60, 40)), outcome=outcome, horizon=5,
                    frailty=Frailty(theta), comparison=ComparisonGroup(ratio=1),
                    effect=Effect("hr", 0.7, targets=targets, engagement=0.8, dropout=0.1))


@pytest.mark.parametrize("kind", ["binary", "absorbing", "counts", "markov"])
def test_frailty_individual_mean_matches_quadrature_trace(kind):
    sc = _frailty_scenario(kind, 0.8)
    assert run(sc, "auto", 2).attrs["engine"] == "individual"
    sim = run(sc, "individual", 600, seed=9)
    exp = run(sc, "expected", 1)
    for name in ("events",) + (("occupancy",) if "occupancy" in sim else ()) + ("engaged",):
        assert_cell_means(sim[name].values, exp[name].values[0], f"{kind}: {name}")
    # frailty matters: without it the absorbing and Markov means differ from the trace
    if kind in ("absorbing", "markov"):
        plain = run(dataclasses.replace(sc, frailty=None), "expected", 1)
        assert not np.allclose(plain["events"].values, exp["events"].values, rtol=1e-3)


@pytest.mark.parametrize("theta", [1e-4, 0.001, 0.004, 0.25, 1.0, 2.0, 10.0])
def test_expected_frailty_matches_gamma_laplace_transform(theta):
    """Laplace transform of the gamma frailty Z (mean 1, variance theta):
    E[(1 - p)**(t Z)] = (1 - theta t log(1 - p))**(-1/theta).

    Bugs: for theta < ~0.005 the quadrature weights overflow (nan); for large theta (allowed up
    to 100) 40 Gauss-Laguerre nodes are far off (e.g. 55% at theta = 100, p = 0.9)."""
    n = 10.0
    for p in (0.3, 0.9):
        rec = Scenario(cohort=Cohort(size=10), outcome=BinaryOutcome(p), horizon=2,
                       frailty=Frailty(theta))
        ev = run(rec, "expected", 1)["events"].values.ravel()
        np.testing.assert_allclose(ev, n * (1 - (1 - theta * math.log1p(-p)) ** (-1 / theta)),
                                   rtol=1e-4)
        ab = Scenario(cohort=Cohort(size=10), outcome=BinaryOutcome(p, recurrent=False),
                      horizon=4, frailty=Frailty(theta))
        occ = run(ab, "expected", 1)["occupancy"].sel(state="at_risk").values.ravel()
        t = np.arange(4)
        np.testing.assert_allclose(occ, n * (1 - theta * t * math.log1p(-p)) ** (-1 / theta),
                                   rtol=1e-4)


def test_frailty_counts_have_person_level_overdispersion():
    """With frailty Z (variance theta) fixed per person, a person's two-period total has
    variance 2 mu + 4 mu^2 theta (Poisson given Z)."""
    mu, theta, draws = 1.0, 0.5, 6000
    sc = Scenario(cohort=Cohort(size=1), outcome=CountOutcome(mu), horizon=2,
                  frailty=Frailty(theta))
    x = run(sc, "individual", draws)["events"].values.reshape(draws, 2).sum(axis=1)
    # mixture moments: X | Z ~ Poisson(2 mu Z), Z ~ Gamma(1/theta, theta): negative binomial
    k = 1 / theta
    assert_moments(x, stats.nbinom(k, k / (k + 2 * mu)))


@pytest.mark.parametrize("engine", STOCHASTIC)
@pytest.mark.parametrize("kind", ["binary", "absorbing", "counts", "markov"])
def test_engaged_is_constant_without_dropout(kind, engine):
    """Engagement is decided at entry; without drop-out nobody stops being engaged, whatever
    happens to their outcome.

    Bug (individual engine, absorbing binary outcome, engagement < 1): a person stops being
    counted as engaged after their event, because the per-person loop breaks at the event."""
    sc = dataclasses.replace(_agree_scenario(kind),
                             effect=Effect("rr", 0.6, engagement=0.5,
                                           targets=[("well", "sick")] if kind == "markov" else ()))
    ds = run(sc, engine, 50)
    eng = ds["engaged"].sel(arm="treatment").values  # (draw, wave, stratum, period)
    for w, entry in enumerate(ds["entry_period"].values):
        np.testing.assert_array_equal(eng[:, w, :, entry:],
                                      np.broadcast_to(eng[:, w, :, entry:entry + 1],
                                                      eng[:, w, :, entry:].shape))
        assert np.all(eng[:, w, :, :entry] == 0)
    assert 0 < eng[:, 0, :, 0].mean() < ds["size"].sel(arm="treatment").values[0].sum()
