"""The break-even search at its edges, through :func:`breakeven` and :class:`BreakevenBlocks`:
a counterfactual given for other draws, blocks whose draws do not add up, and the labels of the
per-draw results.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py) found unguarded.
"""

from __future__ import annotations

import numpy as np
import pytest

import sibsim
from sibsim.analysis.breakeven import PARTIES, BreakevenBlocks, breakeven
from sibsim.money.sib import counterfactual_of

DRAWS, SEED, GRID = 6, 2, 5


@pytest.fixture(scope="module")
def deal():
    return sibsim.load_scenario("peterborough")


@pytest.fixture(scope="module")
def ds(deal):
    return sibsim.simulate(deal, draws=DRAWS, seed=SEED, progress=False)


def test_a_counterfactual_given_must_be_of_the_same_draws(deal, ds):
    cf = counterfactual_of(deal, ds)
    with_cf = breakeven(deal, ds, cf=cf, grid=GRID)
    without = breakeven(deal, ds, grid=GRID)
    np.testing.assert_array_equal(with_cf["breakeven_effect"].values,
                                  without["breakeven_effect"].values)
    other = counterfactual_of(deal, ds.isel(draw=slice(0, DRAWS - 1)))
    with pytest.raises(ValueError, match=r"breakeven\.cf: got 'draws 0\.\.4 \(5\)'"):
        breakeven(deal, ds, cf=other, grid=GRID)


def test_finish_refuses_per_draw_results_of_other_draws_than_those_searched(deal, ds):
    search = BreakevenBlocks(deal, grid=GRID)
    per_draw = search.add(ds.isel(draw=slice(0, 3)))
    with pytest.raises(ValueError, match=r"BreakevenBlocks\.finish: 6 draws given, 3 searched"):
        search.finish(search.search(ds)[0])
    assert search.finish(per_draw).sizes["draw"] == 3


def test_per_draw_results_are_labelled_by_draw_and_party_and_say_their_rules(deal, ds):
    out = breakeven(deal, ds, grid=GRID)
    for name in ("breakeven_effect", "breakeven_effect_first", "breakeven_effect_stays"):
        assert out[name].dims == ("draw", "party"), name
        assert out[name].attrs["units"] == deal.scenario.effect.measure
    assert list(out["party"].values) == list(PARTIES)
    assert out["breakeven_effect"].attrs["description"] == (
        "Break-even true effect: for investors the weakest effect at which their NPV reaches 0 "
        "(rule 'first'); for the commissioner the weakest effect from which net savings stay "
        ">= 0 (rule 'stays'). NaN: none in the searched range.")
    # the headline takes each party's rule: 'first' for investors, 'stays' for the commissioner
    first, stays = out["breakeven_effect_first"], out["breakeven_effect_stays"]
    np.testing.assert_array_equal(out["breakeven_effect"].sel(party="investors").values,
                                  first.sel(party="investors").values)
    np.testing.assert_array_equal(out["breakeven_effect"].sel(party="commissioner").values,
                                  stays.sel(party="commissioner").values)


def test_a_scenario_without_an_effect_is_refused_in_the_one_message_form(deal):
    """Break-even is a search over the effect: a scenario without one is refused when the search
    is set up, naming the field, the value and what is allowed."""
    with pytest.raises(ValueError, match=r"^Scenario\.effect: got None; allowed: an effect, to "
                                         r"search for break-even$"):
        BreakevenBlocks(deal.with_scenario(effect=None), grid=GRID)
