"""Specification layer: small immutable objects, validated at construction.

Nothing here simulates; the engine (:mod:`sibsim.engine`) reads these objects.
"""

from sibsim.spec.cohort import Cohort, ComparisonGroup, Frailty, Stratum
from sibsim.spec.distributions import (
    Beta,
    Dirichlet,
    Distribution,
    Fixed,
    Gamma,
    LogNormal,
    Normal,
    Triangular,
    Uniform,
)
from sibsim.spec.effect import Effect
from sibsim.spec.outcomes import OUTCOME_KINDS, BinaryOutcome, CountOutcome, MarkovOutcome, Outcome
from sibsim.spec.scenario import PERIODS_PER_YEAR, Scenario
from sibsim.spec.state_counts import StateCountOutcome

__all__ = [
    "OUTCOME_KINDS",
    "PERIODS_PER_YEAR",
    "Beta",
    "BinaryOutcome",
    "Cohort",
    "ComparisonGroup",
    "CountOutcome",
    "Dirichlet",
    "Distribution",
    "Effect",
    "Fixed",
    "Frailty",
    "Gamma",
    "LogNormal",
    "MarkovOutcome",
    "Normal",
    "Outcome",
    "Scenario",
    "StateCountOutcome",
    "Stratum",
    "Triangular",
    "Uniform",
]
