"""The break-even search's fast path (parameters sampled once, only the expected trace re-run
per effect) against the general path (a whole expected-engine run and money chain per effect).

Both must give the same numbers: the fast path only skips work that does not depend on the
effect. Small runs (few draws, a coarse grid) keep this quick.
"""

from __future__ import annotations

import numpy as np
import pytest

import sibsim
from sibsim.analysis.breakeven import BreakevenBlocks, _Pipeline
from sibsim.engine.ranges import MAX_EXPECTED_COUNT, check_expected_counts, dispersion_factor

pytestmark = pytest.mark.usefixtures("warm_kernels")


def _search(deal, ds, fast):
    search = BreakevenBlocks(deal, grid=7, fast=fast)
    return search.finish(search.add(ds))


@pytest.mark.parametrize("name", ["peterborough", "nyc-able", "utah-preschool", "koto-sib",
                                  "denver-housing"])
def test_fast_path_equals_general_path(name):
    deal = sibsim.load_scenario(name)
    ds = sibsim.simulate(deal, draws=12, seed=5, progress=False, first_draw=3)
    fast, general = _search(deal, ds, True), _search(deal, ds, False)
    assert set(fast.data_vars) == set(general.data_vars)
    for var in general.data_vars:
        np.testing.assert_allclose(fast[var].values, general[var].values, rtol=1e-12, atol=0,
                                   equal_nan=True, err_msg=f"{name}: {var}")
    # the money moves with the effect (a comparison of constants would prove little)
    assert np.ptp(general["mean_investor_npv"].values) > 0


def test_pipeline_expected_outcomes_equal_the_expected_engine():
    deal = sibsim.load_scenario("koto-sib")
    ds = sibsim.simulate(deal, draws=15, seed=2, progress=False)
    effect = np.linspace(0.5, 1.2, 15)
    fast, general = _Pipeline(deal, ds), _Pipeline(deal, ds, fast=False)
    assert fast.fast and not general.fast
    a, b = fast._expected(effect), general._expected(effect)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_several_processes_take_the_general_path():
    from test_multi_process import MONEY_TOML, MULTI_TOML, _load

    deal = _load(MULTI_TOML + MONEY_TOML)
    ds = sibsim.simulate(deal, draws=6, seed=2, progress=False)
    assert not _Pipeline(deal, ds).fast


def test_dispersion_factor_falls_with_the_shape():
    # check_expected_counts bounds every draw's factor by the factor at the smallest shape
    a = np.exp(np.linspace(np.log(1e-4), np.log(1e14), 4001))
    f = dispersion_factor(a)
    assert np.all(np.diff(f) <= 0) and f[0] > 1e3 and f[-1] == pytest.approx(1.0, abs=1e-5)


def test_expected_count_check_still_refuses_counts_only_the_dispersion_makes_too_large():
    sizes = np.full((1, 1, 1), 1000.0)
    nb = np.array([1e3, 0.01])  # the second draw's tiny shape has a large dispersion factor
    factor = dispersion_factor(1000.0 * nb)
    rate = MAX_EXPECTED_COUNT / 1000.0 / factor[1] * 2  # over the limit with the factor only
    table = np.full((2, 2, 1, 1), rate)
    assert 1000.0 * rate <= MAX_EXPECTED_COUNT
    with pytest.raises(ValueError, match="chunk draw 1"):
        check_expected_counts(table, nb, sizes)
    check_expected_counts(table / 4, nb, sizes)  # within range: no error


def test_fast_path_keeps_a_deals_correlated_inputs():
    """A deal whose engagement and effect are rank-correlated: the fast path samples the
    parameters itself and must apply the same copula as simulate(deal), or the break-even
    would be computed for other draws than the outcomes."""
    deal = sibsim.load_scenario("peterborough")
    deal = deal.replace(correlation=sibsim.Correlation(
        ("effect.engagement", "effect.value"), ((1.0, -0.8), (-0.8, 1.0))))
    # (the baseline would not do: the break-even's noise ratio cancels a rate's scale)
    ds = sibsim.simulate(deal, draws=12, seed=5, progress=False)
    fast, general = _search(deal, ds, True), _search(deal, ds, False)
    for var in general.data_vars:
        np.testing.assert_allclose(fast[var].values, general[var].values, rtol=1e-12, atol=0,
                                   equal_nan=True, err_msg=var)
    plain = _search(deal.replace(correlation=None),
                    sibsim.simulate(deal.replace(correlation=None), draws=12, seed=5,
                                    progress=False), True)
    assert not np.array_equal(plain["breakeven_effect"].values,
                              fast["breakeven_effect"].values, equal_nan=True)


def test_fast_path_equals_general_path_when_costs_follow_people():
    """Service costs per person in a state (Koto: EUR 300 per person-quarter job seeking,
    instead of the EUR 500 of every other engaged person): the fast path reuses the people
    served in each state, found once, and must cost them as the general path does at every
    effect."""
    import dataclasses

    deal = sibsim.load_scenario("koto-sib")
    deal = deal.replace(service_costs=dataclasses.replace(
        deal.service_costs, per_state={"jobseeking": 300.0}))
    ds = sibsim.simulate(deal, draws=6, seed=5, progress=False)
    fast, general = _search(deal, ds, True), _search(deal, ds, False)
    for var in ("breakeven_effect", "mean_investor_npv", "p_investor_loss"):
        np.testing.assert_allclose(fast[var].values, general[var].values, rtol=1e-12, atol=0,
                                   equal_nan=True, err_msg=var)
    # the state's own price (instead of the EUR 500) reaches the investors at every effect
    plain = _search(deal.replace(service_costs=dataclasses.replace(
        deal.service_costs, per_state={})), ds, True)
    assert (fast["mean_investor_npv"].values != plain["mean_investor_npv"].values).all()


@pytest.mark.parametrize("fast", [True, False])
def test_a_rate_card_on_the_engaged_follows_the_effect(fast):
    """A rate card counting the engaged participants' person-periods in a state (Chicago's
    kindergarten readiness with ``count = "engaged"``; Denver's days housed of the
    participants) reads ``engaged_occupancy``, which must follow the searched effect: on a run
    of the expected engine (no noise), the money at an effect equals that of a run made at that
    effect. (It once stayed at the sampled effect: the investors' NPV was flat across the
    range.)"""
    import dataclasses

    deal = sibsim.load_scenario("chicago-cpc")
    cards = tuple(dataclasses.replace(c, count="engaged") if c.name == "kindergarten_ready"
                  else c for c in deal.contract.rate_cards)
    deal = deal.replace(contract=dataclasses.replace(deal.contract, rate_cards=cards))
    D = 6
    ds = sibsim.simulate(deal, draws=D, seed=3, engine="expected", progress=False)
    p = _Pipeline(deal, ds, fast=fast)
    outs = []
    for e in (1.0, 0.4):
        at = np.full(D, e)
        direct = sibsim.simulate(deal, draws=D, seed=3, engine="expected", progress=False,
                                 overrides={"effect.value": at})
        a, b = p(at), _Pipeline(deal, direct, fast=fast)(at)
        for k in a:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-9, atol=1e-6, err_msg=f"{e}: {k}")
        outs.append(a["investors"])
    assert not np.allclose(outs[0], outs[1])  # the effect moves the money
