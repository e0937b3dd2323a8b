"""sibsim: Monte Carlo simulation of Social Impact Bond financial risk.

The library is layered, one way: specification (:mod:`sibsim.spec`) -> simulation engine
(:mod:`sibsim.engine`) -> outcome dataset (:mod:`sibsim.dataset`) -> money (:mod:`sibsim.money`)
-> analysis (:mod:`sibsim.analysis`) and plots (:mod:`sibsim.plots`).
"""

from sibsim import _numba_cache  # noqa: F401  (chooses numba's cache before any kernel)
from sibsim.analysis.budget import yearly_budget
from sibsim.analysis.design import compare, design
from sibsim.analysis.replay import replay
from sibsim.dataset import open_dataset, simulate, to_netcdf
from sibsim.money.deal import Deal, Investors
from sibsim.money.irr import irr, npv
from sibsim.report import SIBResults, analyse, open_results
from sibsim.scenario_file import load_scenario
from sibsim.spec import (
    Beta,
    BinaryOutcome,
    Cohort,
    ComparisonGroup,
    CountOutcome,
    Dirichlet,
    Effect,
    Fixed,
    Frailty,
    Gamma,
    LogNormal,
    MarkovOutcome,
    Normal,
    Scenario,
    Stratum,
    Triangular,
    Uniform,
)

__version__ = "0.1.0"

__all__ = [
    "Beta",
    "BinaryOutcome",
    "Cohort",
    "ComparisonGroup",
    "CountOutcome",
    "Deal",
    "Dirichlet",
    "Effect",
    "Fixed",
    "Frailty",
    "Gamma",
    "Investors",
    "LogNormal",
    "MarkovOutcome",
    "Normal",
    "SIBResults",
    "Scenario",
    "Stratum",
    "Triangular",
    "Uniform",
    "__version__",
    "analyse",
    "compare",
    "design",
    "irr",
    "load_scenario",
    "npv",
    "open_dataset",
    "open_results",
    "replay",
    "simulate",
    "to_netcdf",
    "yearly_budget",
]
