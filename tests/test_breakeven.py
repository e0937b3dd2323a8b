"""Tests of sibsim.analysis.breakeven: a deal whose break-even effects are known in closed form,
monotone loss curves, and the crossing rules on hand-made arrays."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from sibsim import Beta, Cohort, ComparisonGroup, CountOutcome, Effect, Gamma, LogNormal, Scenario
from sibsim.analysis.breakeven import PARTIES, _crossing, breakeven, default_effect_range
from sibsim.money import Contract, MetricTerms, PricePerUnit
from sibsim.money.capital import CapitalStructure, ServiceCosts, Tranche
from sibsim.money.deal import Deal, Investors
from sibsim.money.evaluation import Evaluation
from sibsim.money.municipality import Municipality
from sibsim.scenario_file import builtin_scenarios

# --------------------------------------------------------------------------------------
# _crossing on hand-made arrays
# --------------------------------------------------------------------------------------

XS = np.array([0.0, 1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("f", "first", "stays"),
    [
        ([-2.0, -1.0, 1.0, 2.0], 1.5, 1.5),  # one crossing, interpolated half-way
        ([-3.0, 1.0, 2.0, 2.0], 0.75, 0.75),
        ([-3.0, 0.0, 2.0, 2.0], 1.0, 1.0),  # reaching exactly 0 is breaking even
        ([-1.0, 1.0, -1.0, 1.0], 0.5, 2.5),  # crosses twice: first vs the one that stays
        ([1.0, -1.0, 1.0, 1.0], 0.0, 1.5),  # >= 0 at no effect, dips, recovers
        ([1.0, 2.0, 3.0, 4.0], 0.0, 0.0),  # always >= 0: the no-effect end
        ([0.0, 0.0, 0.0, 0.0], 0.0, 0.0),
        ([-1.0, -2.0, -3.0, -4.0], np.nan, np.nan),  # never crosses
        ([1.0, -1.0, -1.0, -1.0], 0.0, np.nan),  # negative at the strongest effect
        ([-1.0, 1.0, 1.0, -1.0], 0.5, np.nan),
    ],
)
def test_crossing_rules(f, first, stays):
    f = np.array([f])
    np.testing.assert_allclose(_crossing(f, XS, "first"), [first], atol=1e-12)
    np.testing.assert_allclose(_crossing(f, XS, "stays"), [stays], atol=1e-12)


def numpy_crossing(f, xs, rule):
    """The crossing rules as the numpy expressions the kernel replaced (the reference)."""
    D, G = f.shape
    neg = f < 0
    if rule == "first":
        up = neg[:, :-1] & ~neg[:, 1:]
        has = up.any(1)
        j = np.argmax(up, axis=1)
        start_ok = ~neg[:, 0]
    else:
        has_neg = neg.any(1)
        last = np.where(has_neg, G - 1 - np.argmax(neg[:, ::-1], axis=1), -1)
        has = has_neg & (last < G - 1)
        j = np.clip(last, 0, G - 2)
        start_ok = ~has_neg
    rows = np.arange(D)
    f0, f1 = f[rows, j], f[rows, j + 1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w = np.where(f1 != f0, -f0 / (f1 - f0), 1.0)
        x = xs[j] + np.clip(w, 0.0, 1.0) * (xs[j + 1] - xs[j])
    out = np.where(has, x, np.nan)
    return np.where(start_ok, xs[0], out)


_GRID_VALUES = st.one_of(st.floats(-1e6, 1e6), st.sampled_from([0.0, -0.0, np.nan, 1e-300,
                                                                 -1e-300, np.inf, -np.inf]))


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 9).flatmap(lambda g: st.tuples(
           st.lists(st.lists(_GRID_VALUES, min_size=g, max_size=g), min_size=1, max_size=6),
           st.sampled_from([np.linspace(0.0, -0.25, g), np.log(np.linspace(1.0, 2.0, g)),
                            np.log(np.linspace(1.0, 0.5, g))]))),
       st.sampled_from(["first", "stays"]))
def test_crossing_kernel_equals_the_numpy_expressions_bit_for_bit(case, rule):
    rows, xs = case
    f = np.array(rows, dtype=float)
    got, want = _crossing(f, xs, rule), numpy_crossing(f, xs, rule)
    assert np.array_equal(got, want, equal_nan=True), (f, got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))


def test_crossing_is_vectorised_and_uses_the_given_scale():
    f = np.array([[-2.0, -1.0, 1.0, 2.0], [-1.0, -1.0, -1.0, -1.0], [3.0, 2.0, 1.0, 0.0]])
    xs = np.log([1.0, 0.9, 0.8, 0.7])
    out = _crossing(f, xs, "first")
    np.testing.assert_allclose(out[0], (np.log(0.9) + np.log(0.8)) / 2)
    assert np.isnan(out[1])
    assert out[2] == xs[0]


# --------------------------------------------------------------------------------------
# a deal with closed-form break-even effects
# --------------------------------------------------------------------------------------

N = 1_000  # treated (and comparison) participants, one wave entering in period 0
PRICE = 1_000.0  # per event avoided, paid the period after the window (report_lag = 1)
COST = 150_000.0  # service cost in period 0
SAVING = 1_500.0  # cashable saving per event avoided, in period 0
OTHER = 50_000.0  # commissioner's own cost in period 0
R_INV, R_TARGET, R_SOCIAL = 0.08, 0.05, 0.035
D = 24
SEED = 4


def closed_form_case(period="year"):
    """Expected-value outcomes: comparison events = rate x N, treated = rate x N x RR in the
    window (period 0); the effect lasts one period, so savings fall in period 0 only.

    Investors: -COST in period 0, + PRICE x rate x N x (1 - RR) in period 1 (no threshold,
    excess to investors, no cap), so NPV(r) = 0 at RR = 1 - COST (1 + r) / (PRICE rate N).
    Commissioner: SAVING A - PRICE A / (1 + r_s) - OTHER with A = rate N (1 - RR).
    Rates r are per period: (1 + annual) ** (1 / periods per year) - 1.
    """
    sc = Scenario(cohort=Cohort(entry=(N,)),
                  outcome=CountOutcome(Gamma.from_mean_sd(1.0, 0.1)), horizon=2,
                  effect=Effect("rr", 0.8, duration=1), comparison=ComparisonGroup(ratio=1),
                  period=period)
    terms = Deal(
        scenario=sc,
        evaluations=(Evaluation("events", design="rct", window=1, pooled=False,
                                report_lag=1),),
        contract=Contract((MetricTerms("events", PricePerUnit(PRICE, threshold=0.0)),)),
        service_costs=ServiceCosts(fixed_per_period=(COST, 0.0)),
        capital=CapitalStructure((Tranche("investors", 2 * COST),), excess_to="investors"),
        municipality=Municipality(saving_per_event=SAVING, other_costs_per_period=OTHER,
                                  contract_periods=1, discount_rate=R_SOCIAL),
        investors=Investors(discount_rate=R_INV, target_irr=R_TARGET))
    ds = sibsim.simulate(sc, draws=D, seed=SEED, engine="expected", progress=False)
    names = list(ds["parameter"].values)
    rate = ds["parameter_value"].values[:, names.index("baseline.rate")]
    return sc, terms, ds, rate


PPY = {"year": 1, "quarter": 4}


@pytest.fixture(scope="module", params=["year", "quarter"])
def closed_form(request):
    _sc, terms, ds, rate = closed_form_case(request.param)
    grid = 41
    rates = {k: (1 + r) ** (1 / PPY[request.param]) - 1
             for k, r in (("inv", R_INV), ("target", R_TARGET), ("social", R_SOCIAL))}
    return breakeven(terms, ds, grid=grid), rate, grid, rates


def test_breakeven_effects_match_the_closed_form(closed_form):
    be, rate, grid, r = closed_form
    assert list(be["party"].values) == list(PARTIES)
    want = {
        "investors": 1 - COST * (1 + r["inv"]) / (PRICE * rate * N),
        "investors_target_irr": 1 - COST * (1 + r["target"]) / (PRICE * rate * N),
        "commissioner": 1 - OTHER / ((SAVING - PRICE / (1 + r["social"])) * rate * N),
    }
    # interpolating a function linear in RR linearly in log(RR) between grid points: the
    # root is off by at most RR x (log step)**2 / 8; allow twice that
    dlog = np.log(2.0) / (grid - 1)
    for party, rr in want.items():
        assert np.all((rr > 0.5) & (rr < 1.0)), "the answer must lie inside the range"
        for var in ("breakeven_effect", "breakeven_effect_stays"):
            got = be[var].sel(party=party).values
            np.testing.assert_allclose(got, rr, rtol=0, atol=dlog**2 / 4)
    # the draws differ (the baseline rate is uncertain), so this is a per-draw check
    assert np.ptp(want["investors"]) > 10 * dlog**2


def test_loss_curves_and_mean_npvs_match_the_closed_form(closed_form):
    be, rate, _, r = closed_form
    x = be["effect"].values
    assert x[0] == pytest.approx(1.0) and x[-1] == pytest.approx(0.5)
    avoided = rate[None, :] * N * (1 - x[:, None])  # (effect, draw)
    paid = PRICE * avoided
    np.testing.assert_allclose(be["p_investor_loss"], (paid < COST).mean(1))
    np.testing.assert_allclose(be["mean_investor_npv"],
                               (-COST + paid / (1 + r["inv"])).mean(1), rtol=1e-9, atol=1e-6)
    net_undiscounted = SAVING * avoided - paid - OTHER
    np.testing.assert_allclose(be["p_commissioner_net_loss"], (net_undiscounted < 0).mean(1))
    npv_c = SAVING * avoided - paid / (1 + r["social"]) - OTHER
    np.testing.assert_allclose(be["mean_commissioner_npv"], npv_c.mean(1), rtol=1e-9,
                               atol=1e-6)
    # not trivially 0 or 1 everywhere
    assert be["p_investor_loss"].values[0] == 1.0 and be["p_investor_loss"].values[-1] == 0.0


def test_no_break_even_in_range_gives_nan():
    _sc, terms, ds, _ = closed_form_case()
    # the strongest effect searched (RR 0.9) pays at most 0.1 x 1000 x 1.3 x 1000 < COST
    be = breakeven(terms, ds, effect_range=(1.0, 0.9), grid=5)
    assert np.isnan(be["breakeven_effect"].sel(party="investors").values).all()
    assert np.isnan(be["breakeven_effect_stays"].sel(party="investors").values).all()
    assert be.attrs["effect_range"] == [1.0, 0.9]


def test_break_even_at_no_effect_when_always_in_profit():
    _sc, terms, ds, _ = closed_form_case()
    free = terms.replace(service_costs=ServiceCosts(),
                         municipality=Municipality(saving_per_event=SAVING))
    be = breakeven(free, ds, grid=5)
    # nothing invested and nothing spent: every party's NPV is >= 0 at no effect
    np.testing.assert_array_equal(be["breakeven_effect"].values, 1.0)


# --------------------------------------------------------------------------------------
# stochastic outcomes: monotone loss curves under a monotone contract
# --------------------------------------------------------------------------------------


def stochastic_case(excess_to="investors"):
    sc = Scenario(cohort=Cohort(entry=(150, 150)),
                  outcome=CountOutcome(Gamma.from_mean_sd(1.2, 0.1), dispersion=2.0),
                  horizon=5,
                  effect=Effect("rr", LogNormal.from_mean_sd(0.85, 0.08),
                                engagement=Beta.from_mean_sd(0.9, 0.03)),
                  comparison=ComparisonGroup(ratio=2))
    terms = Deal(
        scenario=sc,
        evaluations=(Evaluation("events", design="matched", window=1, report_lag=1,
                                bias=sibsim.Normal(0.0, 0.02)),),
        contract=Contract((MetricTerms("events", PricePerUnit(5_000.0, threshold=0.10),
                                       pooled_rule=PricePerUnit(5_000.0, threshold=0.075)),)),
        service_costs=ServiceCosts(fixed_per_period=(50_000.0, 50_000.0, 0.0, 0.0, 0.0),
                                   per_participant=300.0),
        capital=CapitalStructure((Tranche("senior", 200_000.0, 1, target_return=0.05),
                                  Tranche("junior", 100_000.0, 2, target_return=0.10)),
                                 excess_to=excess_to),
        municipality=Municipality(saving_per_event=1_500.0),
        investors=Investors(discount_rate=0.08, target_irr=0.05))
    ds = sibsim.simulate(sc, draws=150, seed=SEED, engine="aggregate", progress=False)
    return sc, terms, ds


@pytest.mark.parametrize("excess_to", ["investors", "commissioner"])
def test_loss_curve_is_monotone_in_effect_strength(excess_to):
    """Total outcome payments never fall as the true effect strengthens (common random
    numbers), so neither does the probability that investors get their capital back."""
    _sc, terms, ds = stochastic_case(excess_to)
    be = breakeven(terms, ds, grid=9)
    p = be["p_investor_loss"].values  # effects from no effect to the strongest
    assert np.all(np.diff(p) <= 0)
    assert p[0] > p[-1] + 0.5  # the effect matters


def test_monotone_contract_has_monotone_npv_and_a_single_crossing():
    """Excess to investors and no return cap: investors receive every outcome payment, so
    their NPV at any rate never falls as the effect strengthens (with excess to the
    commissioner it can: a junior tranche whose claim accrues faster than the discount rate
    prefers being repaid later)."""
    _sc, terms, ds = stochastic_case("investors")
    be = breakeven(terms, ds, grid=9)
    npv = be["mean_investor_npv"].values
    assert np.all(np.diff(npv) >= -1e-9 * np.abs(npv).max())
    # a monotone NPV crosses zero once: both rules agree draw by draw
    for party in ("investors", "investors_target_irr"):
        np.testing.assert_array_equal(be["breakeven_effect"].sel(party=party).values,
                                      be["breakeven_effect_stays"].sel(party=party).values)
    # a lower required rate (5% target vs 8% discount rate) never needs a stronger effect
    a = be["breakeven_effect"].sel(party="investors").values
    b = be["breakeven_effect"].sel(party="investors_target_irr").values
    both = np.isfinite(a) & np.isfinite(b)
    assert both.sum() > 10
    assert np.all(a[both] <= b[both] + 1e-12)


# --------------------------------------------------------------------------------------
# arguments
# --------------------------------------------------------------------------------------


def test_default_effect_range():
    """The search goes the way the scenario's effect goes (its prior's mean against no
    effect); a prior centred on no effect leaves it to the first evaluation's direction."""
    _sc, terms, _, _ = closed_form_case()
    eff = terms.scenario.effect
    assert float(eff.value if not hasattr(eff.value, "mean") else eff.value.mean) < 1.0
    assert default_effect_range(terms) == (1.0, 0.5)
    up = terms.replace(evaluations=(Evaluation("events", direction="increase"),))
    # the effect lowers the rate: searched downwards even when the evaluation counts up
    assert default_effect_range(up) == (1.0, 0.5)
    stronger = dataclasses.replace(eff, value=LogNormal.from_mean_sd(1.4, 0.15))
    assert default_effect_range(terms.with_scenario(effect=stronger)) == (1.0, 2.0)
    flat = dataclasses.replace(eff, value=1.0)
    assert default_effect_range(terms.with_scenario(effect=flat)) == (1.0, 0.5)
    assert default_effect_range(up.with_scenario(effect=flat)) == (1.0, 2.0)
    absolute = Effect("absolute", -0.1)
    assert default_effect_range(terms.with_scenario(effect=absolute)) == (0.0, -0.25)
    assert default_effect_range(up.with_scenario(effect=absolute)) == (0.0, -0.25)
    assert default_effect_range(terms.with_scenario(effect=Effect("absolute", 0.05))) == (
        0.0, 0.25)
    assert default_effect_range(up.with_scenario(effect=Effect("absolute", 0.0))) == (0.0, 0.25)
    assert default_effect_range(terms.with_scenario(effect=Effect("absolute", 0.0))) == (
        0.0, -0.25)


def test_default_effect_range_of_every_builtin_scenario_follows_its_prior():
    """Lapset-SIB II's prior raises the hazard of returning to work or study (1.4) while its
    first evaluation counts school absences down: the search once went from 1.0 to 0.5, the
    wrong way, and reported no break-even in most draws."""
    for name in builtin_scenarios():
        deal = sibsim.load_scenario(name)
        eff = deal.scenario.effect
        mean = float(getattr(eff.value, "mean", eff.value))
        lo, hi = default_effect_range(deal)
        assert (hi - lo > 0) == (mean > lo), name


def test_validation():
    _sc, terms, ds, _ = closed_form_case()
    with pytest.raises(ValueError, match=r"Scenario\.effect"):
        breakeven(terms.with_scenario(effect=None), ds)
    with pytest.raises(ValueError, match="grid"):
        breakeven(terms, ds, grid=2)
    with pytest.raises(ValueError, match="effect_range"):
        breakeven(terms, ds, effect_range=(1.0, 0.0))
