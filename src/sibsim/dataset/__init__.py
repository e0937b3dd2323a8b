"""Outcome dataset layer: labels the engine's arrays as an ``xarray.Dataset`` and stores it."""

from sibsim.dataset.build import outcome_dataset, resolve_seed, simulate
from sibsim.dataset.io import open_dataset, to_netcdf
from sibsim.dataset.schema import DIMS, VARIABLES, check

__all__ = ["DIMS", "VARIABLES", "check", "open_dataset", "outcome_dataset", "resolve_seed",
           "simulate", "to_netcdf"]
