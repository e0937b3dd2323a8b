"""Summaries of per-draw metrics at their edges: the expected shortfall's tail size, non-finite
draws, the axis, and the summary dataset's statistics, coordinates and attributes.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py) found
unguarded; the expected values are worked out by hand from the definitions.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from sibsim.analysis.summary import QUANTILES, cvar, summarise


def test_cvar_is_the_mean_of_the_ceil_level_n_smallest_values():
    x = np.array([7.0, 1.0, 4.0, 10.0, 2.0, 8.0, 3.0, 9.0, 5.0, 6.0])
    # level 0.25 of 10 values: ceil(2.5) = 3 smallest, 1, 2 and 3
    assert cvar(x, 0.25) == pytest.approx(2.0)
    # level 0.2: exactly 2 values, 1 and 2
    assert cvar(x, 0.2) == pytest.approx(1.5)
    # a level so small that no whole value is in the tail still takes the worst one
    assert cvar(x, 0.001) == pytest.approx(1.0)
    assert cvar(x, 1.0) == pytest.approx(5.5)
    assert cvar(x) == pytest.approx(1.0)  # default level 0.05: ceil(0.5) = 1 value


def test_cvar_leaves_out_non_finite_values():
    x = np.array([np.nan, 4.0, -np.inf, 1.0, np.inf, 2.0, 3.0])
    # 4 finite values; level 0.5 -> the 2 smallest finite ones, 1 and 2
    assert cvar(x, 0.5) == pytest.approx(1.5)
    assert cvar(x, 1.0) == pytest.approx(2.5)
    assert np.isnan(cvar(np.array([np.nan, np.inf]), 0.5))


def test_cvar_works_along_the_axis_given():
    x = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]])
    np.testing.assert_allclose(cvar(x, 0.5, axis=0), [1.5, 15.0])
    np.testing.assert_allclose(cvar(x.T, 0.5), [1.5, 15.0])
    np.testing.assert_allclose(cvar(x, 0.5, axis=1), [1.0, 2.0, 3.0, 4.0])
    # integers are read as numbers: (1 + 2) / 2
    assert cvar(np.array([3, 1, 2, 4]), 0.5) == pytest.approx(1.5)


def _metrics() -> xr.Dataset:
    irr = np.array([[0.1, -0.2, np.nan, 0.3, 0.0],
                    [1.0, 2.0, 3.0, 4.0, 5.0]]).T  # (draw, tranche)
    return xr.Dataset(
        {"irr": (("draw", "tranche"), irr, {"units": "1/year", "description": "IRR"}),
         "loss": (("draw",), np.array([1, 0, 0, 1, 0]), {"units": "1"}),
         "label": (("draw",), np.array(["a", "b", "c", "d", "e"])),
         "total": ((), 3.0)},
        coords={"tranche": ["senior", "junior"], "draw": np.arange(5)})


def test_summarise_gives_each_statistic_by_its_definition():
    out = summarise(_metrics(), level=0.25)
    assert list(out["statistic"].values) == ["mean", "q05", "q25", "q50", "q75", "q95",
                                             "cvar25", "p_finite"]
    assert list(out["tranche"].values) == ["senior", "junior"]
    assert "draw" not in out.dims and "draw" not in out.coords
    assert set(out.data_vars) == {"irr", "loss"}  # text and draw-less variables are skipped
    junior = out["irr"].sel(tranche="junior")
    expected = [3.0, *np.quantile([1.0, 2, 3, 4, 5], QUANTILES), 1.5, 1.0]  # cvar: ceil(1.25)=2
    np.testing.assert_allclose(junior.values, expected)
    senior = out["irr"].sel(tranche="senior")
    finite = [0.1, -0.2, 0.3, 0.0]
    assert float(senior.sel(statistic="mean")) == pytest.approx(np.mean(finite))
    assert float(senior.sel(statistic="q50")) == pytest.approx(np.median(finite))
    assert float(senior.sel(statistic="cvar25")) == pytest.approx(-0.2)  # ceil(1.0) = 1 value
    assert float(senior.sel(statistic="p_finite")) == pytest.approx(0.8)
    assert out["irr"].dims == ("statistic", "tranche")
    assert out["irr"].attrs == {"units": "1/year", "description": "IRR"}
    # a 0/1 indicator's mean is the probability
    assert float(out["loss"].sel(statistic="mean")) == pytest.approx(0.4)
    assert out["loss"].attrs == {"units": "1"}


def test_summarise_names_the_expected_shortfall_by_its_level():
    out = summarise(_metrics())
    assert "cvar05" in list(out["statistic"].values)
    assert float(out["loss"].sel(statistic="cvar05")) == 0.0
    out = summarise(_metrics(), level=0.1)
    assert "cvar10" in list(out["statistic"].values)


def test_summarise_finds_the_draw_dimension_wherever_it_is():
    m = _metrics()
    transposed = m.transpose("tranche", "draw")
    np.testing.assert_allclose(summarise(transposed)["irr"].values, summarise(m)["irr"].values)
