"""sibsim: Monte Carlo simulation of Social Impact Bond financial risk.

The library is layered, one way: specification (:mod:`sibsim.spec`) -> simulation engine
(:mod:`sibsim.engine`) -> outcome dataset (:mod:`sibsim.dataset`) -> money (:mod:`sibsim.money`)
-> analysis (:mod:`sibsim.analysis`) and plots (:mod:`sibsim.plots`).
"""

from sibsim import (
    _mpl_config,  # noqa: F401  (matplotlib's folder on a read-only home)
    _numba_cache,  # noqa: F401  (chooses numba's cache before any kernel)
)
from sibsim.analysis.budget import yearly_budget
from sibsim.analysis.design import compare, design
from sibsim.analysis.replay import replay
from sibsim.analysis.sensitivity import sensitivity
from sibsim.analysis.sensitivity.discovery import where_parties_lose
from sibsim.analysis.sensitivity.tornado import tornado
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
    StateCountOutcome,
    Stratum,
    Triangular,
    Uniform,
)
from sibsim.spec.correlation import Correlation

__version__ = "0.1.0"

__all__ = [
    "Beta",
    "BinaryOutcome",
    "Cohort",
    "ComparisonGroup",
    "Correlation",
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
    "StateCountOutcome",
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
    "plot_tornado",
    "replay",
    "sensitivity",
    "simulate",
    "to_netcdf",
    "tornado",
    "where_parties_lose",
    "yearly_budget",
]


def plot_tornado(result, ax=None):  # type: ignore[no-untyped-def]
    """Tornado diagram of :func:`tornado` (see :func:`sibsim.plots.sensitivity.plot_tornado`;
    imported on use, so that ``import sibsim`` does not load matplotlib)."""
    from sibsim.plots.sensitivity import plot_tornado as plot

    return plot(result, ax=ax)
