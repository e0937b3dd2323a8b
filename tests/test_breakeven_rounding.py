"""An NPV that is zero but for rounding is zero in the break-even search.

Investors whose claim grows at their own discount rate (Lapset-SIB II: a 5% return promised, 5%
discount rate) and who are paid in full have an NPV of exactly zero; the sums give it as a few
1e-11 either side. The sign of that rounding used to decide whether a draw broke even: about
half the fully repaid draws showed "no break-even in the searched range". These tests fail on
that code."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sibsim
from sibsim.analysis import breakeven as breakeven_module
from sibsim.analysis.breakeven import (
    _ROUNDING,
    BreakevenBlocks,
    _Pipeline,
    _rounded_to_zero,
    breakeven,
)

D = 300


@pytest.fixture(scope="module")
def lapset2():
    deal = sibsim.load_scenario("lapset-sib-2")
    ds = sibsim.simulate(deal, draws=D, seed=3, progress=False)
    return deal, ds


def test_the_scenario_has_the_claim_at_the_discount_rate(lapset2):
    deal, _ = lapset2
    assert deal.investors.discount_rate == deal.investors.target_irr == 0.05


def test_fully_repaid_draws_break_even(lapset2, monkeypatch):
    deal, ds = lapset2
    search = BreakevenBlocks(deal)
    pipe = _Pipeline(deal, ds, searched=search.searched)
    seen = []  # the NPVs before rounding to zero, with the size of the money

    def recording(f, scale):
        seen.append((f.copy(), np.asarray(scale).copy()))
        return _rounded_to_zero(f, scale)

    monkeypatch.setattr(breakeven_module, "_rounded_to_zero", recording)
    strongest = pipe(np.full(D, search.xs[-1]))
    monkeypatch.undo()
    npv, scale = seen[0]  # the investors' NPV at their discount rate
    np.testing.assert_array_equal(strongest["investors"], _rounded_to_zero(npv, scale))
    tol = _ROUNDING * np.maximum(scale, 1.0)
    repaid = np.abs(npv) <= tol
    # the case this guards: fully repaid draws whose rounding fell below zero
    assert ((npv < 0) & repaid).sum() >= 5
    # and the tolerance separates rounding from money: nothing between 1e-12 and 1e-6 of scale
    rel = np.abs(npv) / np.maximum(scale, 1.0)
    assert not np.any((rel > 1e-12) & (rel < 1e-6))
    be = breakeven(deal, ds)
    first = be["breakeven_effect_first"].sel(party="investors").values
    stays = be["breakeven_effect_stays"].sel(party="investors").values
    target = be["breakeven_effect"].sel(party="investors_target_irr").values
    assert np.isfinite(first[repaid]).all()  # they break even somewhere in the range
    assert np.isfinite(stays[repaid]).all()
    assert np.isfinite(target[repaid]).all()  # the target IRR is the discount rate here
    # a draw short of full repayment at the strongest effect breaks even nowhere ("stays")
    assert np.isnan(stays[npv < -tol]).all()


def test_fast_and_general_paths_agree_on_rounded_npvs(lapset2):
    deal, ds = lapset2
    small = ds.isel(draw=slice(0, 60))
    fast = BreakevenBlocks(deal, grid=9)
    general = BreakevenBlocks(deal, grid=9, fast=False)
    a = fast.finish(fast.add(small))
    b = general.finish(general.add(small))
    np.testing.assert_array_equal(a["breakeven_effect"].values, b["breakeven_effect"].values)


@given(st.lists(st.floats(-1e7, 1e7, allow_nan=False), min_size=1, max_size=20),
       st.floats(0.0, 1e9))
def test_rounded_to_zero_changes_only_values_within_rounding(values, size):
    f = np.array(values)
    scale = np.full(f.shape, size)
    out = _rounded_to_zero(f, scale)
    tol = _ROUNDING * max(size, 1.0)
    within = np.abs(f) <= tol
    assert np.all(out[within] == 0.0)
    np.testing.assert_array_equal(out[~within], f[~within])
