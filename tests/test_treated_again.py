"""``simulate_treated_again``: a run with effect parameters overridden, from a run without the
overrides, re-simulating the treatment arm alone, must be the full run bit for bit."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
import xarray as xr

import sibsim
from sibsim.dataset.build import effect_parameters, simulate_treated_again

HERE = os.path.dirname(__file__)
BUILTIN = sorted(os.path.basename(p)[:-5] for p in glob.glob(
    os.path.join(HERE, "..", "src", "sibsim", "scenarios", "*.toml")))
WITH_COMPARISON = [n for n in BUILTIN if sibsim.load_scenario(n).scenario.comparison is not None]
D, SEED = 12, 5


def _same(a: xr.Dataset, b: xr.Dataset) -> None:
    assert set(a.data_vars) == set(b.data_vars)
    for k in a.data_vars:
        assert a[k].dims == b[k].dims, k
        np.testing.assert_array_equal(a[k].values, b[k].values, err_msg=k, strict=True)
    for k in a.coords:
        np.testing.assert_array_equal(a[k].values, b[k].values, err_msg=k)


def _overrides(scenario, rng) -> dict[str, np.ndarray]:
    """Every effect parameter set to a plausible value of its own in each draw."""
    out = {}
    for name in sorted(effect_parameters(scenario)):
        if name.endswith("effect.value"):
            process = (scenario.processes[0] if name == "effect.value" else
                       next(p for p in scenario.processes if name == f"{p.name}.effect.value"))
            measure = process.effect.measure
            out[name] = (rng.uniform(-0.1, 0.1, D) if measure == "absolute"
                         else rng.uniform(0.6, 1.4, D))
        else:  # engagement, drop-out and the like: probabilities
            out[name] = rng.uniform(0.05, 0.95, D)
    return out


@pytest.mark.parametrize("engine", ["expected", "aggregate", "individual"])
@pytest.mark.parametrize("name", WITH_COMPARISON)
def test_the_treated_arm_again_is_the_full_run(name, engine):
    deal = sibsim.load_scenario(name)
    over = _overrides(deal.scenario, np.random.default_rng(len(name)))
    assert "effect.value" in over
    first = 3  # a block of a longer run
    base = sibsim.simulate(deal, D, SEED, engine=engine, first_draw=first, progress=False)
    before = base.copy(deep=True)
    again = simulate_treated_again(deal, base, over)
    full = sibsim.simulate(deal, D, SEED, engine=engine, first_draw=first, overrides=over,
                           progress=False)
    _same(again, full)
    _same(base, before)  # the run given is left as it is
    # the comparison arm is the base run's, and the overrides do reach the treatment arm
    np.testing.assert_array_equal(again["events"].sel(arm="comparison"),
                                  base["events"].sel(arm="comparison"))
    assert not np.array_equal(again["events"].sel(arm="treatment"),
                              base["events"].sel(arm="treatment"))


def test_only_effect_parameters_and_a_comparison_group():
    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal, D, SEED, progress=False)
    with pytest.raises(ValueError, match=r"overrides: got 'baseline.rate'; allowed: "
                                         r"parameters of the effect"):
        simulate_treated_again(deal, ds, {"baseline.rate": np.full(D, 1.5)})
    lapset = sibsim.load_scenario("lapset-sib-2")
    assert lapset.scenario.comparison is None
    ds = sibsim.simulate(lapset, D, SEED, progress=False)
    with pytest.raises(ValueError, match="a scenario with a comparison group"):
        simulate_treated_again(lapset, ds, {"effect.value": np.full(D, 1.2)})
