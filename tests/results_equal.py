"""Shared by the tests of runs split into blocks, run on a cluster or streamed to a store:
results identical to a single in-memory run, apart from their creation time."""

from __future__ import annotations

import xarray as xr

import sibsim
from sibsim.money.deal import BreakevenSearch
from sibsim.report import GROUPS


def assert_same_dataset(a: xr.Dataset, b: xr.Dataset) -> None:
    """Identical (values, coordinates, attributes) apart from the ``created`` attribute."""
    a, b = a.load().copy(), b.load().copy()
    a.attrs.pop("created", None)
    b.attrs.pop("created", None)
    xr.testing.assert_identical(a, b)


def assert_same_results(a: sibsim.SIBResults, b: sibsim.SIBResults) -> None:
    """Every group of two :class:`~sibsim.SIBResults` identical (see assert_same_dataset)."""
    for g in GROUPS:
        x, y = getattr(a, g), getattr(b, g)
        assert (x is None) == (y is None), g
        if x is not None:
            assert_same_dataset(x, y)


def coarse_peterborough() -> sibsim.Deal:
    """The Peterborough deal with a 7-point break-even grid (quick, still a real search)."""
    deal = sibsim.load_scenario("peterborough")
    return deal.replace(breakeven=BreakevenSearch(effect_range=deal.breakeven.effect_range,
                                                  grid=7))
