"""The counterfactual of a run at its edges: a scenario or a deal, a block or a selection of
draws, the seed, and a deal's correlated inputs.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py) found unguarded.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import sibsim
from sibsim.money.sib import counterfactual, counterfactual_of

DRAWS, SEED = 8, 5


@pytest.fixture(scope="module")
def deal():
    return sibsim.load_scenario("peterborough")


def _baseline(ds: xr.Dataset) -> np.ndarray:
    return ds["parameter_value"].sel(parameter="baseline.rate").values


def test_the_counterfactual_of_a_scenario_is_that_of_its_deal(deal):
    whole = counterfactual(deal, DRAWS, SEED)
    xr.testing.assert_identical(counterfactual(deal.scenario, DRAWS, SEED), whole)
    # keyed on the seed: the run's baseline parameters, draw by draw
    ds = sibsim.simulate(deal, draws=DRAWS, seed=SEED, progress=False)
    np.testing.assert_array_equal(_baseline(whole), _baseline(ds))
    assert not np.array_equal(_baseline(counterfactual(deal, DRAWS, SEED + 1)), _baseline(ds))


def test_a_correlated_baseline_gives_the_runs_baseline(deal):
    corr = sibsim.Correlation(("baseline.rate", "effect.value"), ((1.0, -0.9), (-0.9, 1.0)))
    linked = deal.replace(correlation=corr)
    ds = sibsim.simulate(linked, draws=DRAWS, seed=SEED, progress=False)
    cf = counterfactual(linked, DRAWS, SEED)
    np.testing.assert_array_equal(_baseline(cf), _baseline(ds))
    assert not np.array_equal(_baseline(counterfactual(deal, DRAWS, SEED)), _baseline(cf))


@pytest.mark.parametrize("pick", [slice(3, 7), [1, 4, 6], [5]], ids=["block", "spread", "one"])
def test_the_counterfactual_of_some_draws_is_those_draws_of_the_whole(deal, pick):
    ds = sibsim.simulate(deal, draws=DRAWS, seed=SEED, progress=False).isel(draw=pick)
    got = counterfactual_of(deal, ds)
    np.testing.assert_array_equal(got["draw"].values, ds["draw"].values)
    xr.testing.assert_equal(got, counterfactual(deal, DRAWS, SEED).isel(draw=pick))
