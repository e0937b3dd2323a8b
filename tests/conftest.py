"""Shared fixtures: small scenarios of each outcome kind and a one-off warm-up of the kernels.

The numba kernels are compiled (or loaded from numba's on-disk cache) the first time they run;
``warm_kernels`` runs every kernel once per test session so that no single test pays for it
(the engine's test modules request it with ``pytestmark = pytest.mark.usefixtures(...)``).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, Phase, settings

import sibsim
from sibsim import (
    Beta,
    BinaryOutcome,
    Cohort,
    ComparisonGroup,
    CountOutcome,
    Effect,
    Frailty,
    MarkovOutcome,
    Scenario,
    Stratum,
)

# Deterministic fuzzing: the same examples on every run, nothing stored between runs (no
# example database, no "explain" phase writing patch files). filter_too_much is NOT suppressed: a
# strategy that has to reject most of what it draws is a fuzzer that tests nothing.
settings.register_profile(
    "sibsim",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    report_multiple_bugs=False,  # stop at the first bug found: shrinking several is slow
    suppress_health_check=[HealthCheck.too_slow],
)
# Mutation testing (benchmarks/bench_mutation.py) sets SIBSIM_HYPOTHESIS_PROFILE=mutation: the
# same examples, but a failure is reported at once instead of being shrunk (shrinking can take
# minutes, and a mutant is killed by the failure, not by its smallest example).
settings.register_profile("mutation", parent=settings.get_profile("sibsim"),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.load_profile(os.environ.get("SIBSIM_HYPOTHESIS_PROFILE", "sibsim"))


def _no_local_constants() -> None:
    """Make Hypothesis's examples independent of which test files are collected.

    Hypothesis (>= 6.131) mixes into its draws the constants it finds in every "local" module
    imported so far (the tests and sibsim). With ``derandomize=True`` the examples of a test
    then depend on which other test modules were imported first: running one file, the whole
    suite or a mutation-testing copy gives different examples. An empty pool keeps the examples
    a function of the test alone; the important cases are pinned with ``@example``.
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - another Hypothesis layout: nothing to pin
        return
    if hasattr(providers, "_get_local_constants") and hasattr(providers, "Constants"):
        empty = providers.Constants()
        providers._get_local_constants = lambda: empty


_no_local_constants()

#: A three-state chain used by several tests: ``well -> sick`` is the counted event, ``dead``
#: is absorbing.
MARKOV_STATES = ("well", "sick", "dead")
MARKOV_T = ((0.80, 0.15, 0.05), (0.30, 0.60, 0.10), (0.00, 0.00, 1.00))


def binary(recurrent: bool = True, **kw) -> Scenario:
    """A small binary scenario with an effect and a comparison group."""
    args = dict(
        cohort=Cohort(entry=(30, 20)),
        outcome=BinaryOutcome(0.3, recurrent=recurrent),
        horizon=4,
        effect=Effect("rr", 0.8, engagement=0.9, dropout=0.1),
        comparison=ComparisonGroup(ratio=1),
    )
    args.update(kw)
    return Scenario(**args)


def counts(**kw) -> Scenario:
    args = dict(
        cohort=Cohort(size=40),
        outcome=CountOutcome(1.2, dispersion=2.0),
        horizon=4,
        effect=Effect("rr", 0.8, engagement=0.9, dropout=0.1),
        comparison=ComparisonGroup(ratio=1),
    )
    args.update(kw)
    return Scenario(**args)


def markov(**kw) -> Scenario:
    args = dict(
        cohort=Cohort(size=40),
        outcome=MarkovOutcome(MARKOV_STATES, MARKOV_T, events=[("well", "sick")]),
        horizon=4,
        effect=Effect("rr", 0.7, targets=[("well", "sick")], engagement=0.9, dropout=0.1),
        comparison=ComparisonGroup(ratio=1),
    )
    args.update(kw)
    return Scenario(**args)


@pytest.fixture(scope="session")
def binary_scenario() -> Scenario:
    return binary()


@pytest.fixture(scope="session")
def absorbing_scenario() -> Scenario:
    return binary(recurrent=False)


@pytest.fixture(scope="session")
def counts_scenario() -> Scenario:
    return counts()


@pytest.fixture(scope="session")
def markov_scenario() -> Scenario:
    return markov()


@pytest.fixture(scope="session")
def uncertain_scenario() -> Scenario:
    """Binary outcome with uncertain inputs, strata and staggered entry."""
    return Scenario(
        cohort=Cohort(
            entry=(40, 20), strata=(Stratum("low", 0.5, baseline=Beta(2, 18)), Stratum("high", 0.5))
        ),
        outcome=BinaryOutcome(Beta.from_mean_sd(0.3, 0.05)),
        horizon=4,
        effect=Effect(
            "hr",
            sibsim.LogNormal.from_mean_sd(0.8, 0.1),
            duration=2,
            decay=0.5,
            engagement=Beta.from_mean_sd(0.8, 0.05),
            dropout=0.05,
        ),
        comparison=ComparisonGroup(ratio=2),
    )


@pytest.fixture(scope="session")
def all_scenarios(
    binary_scenario, absorbing_scenario, counts_scenario, markov_scenario, uncertain_scenario
) -> dict[str, Scenario]:
    return {
        "binary": binary_scenario,
        "absorbing": absorbing_scenario,
        "counts": counts_scenario,
        "markov": markov_scenario,
        "uncertain": uncertain_scenario,
    }


@pytest.fixture(scope="session")
def warm_kernels() -> None:
    """Compile (or load from cache) every kernel once, before the first test."""
    tiny = Cohort(size=3)
    kinds = [
        binary(),
        binary(recurrent=False),
        counts(),
        markov(),
        counts(outcome=CountOutcome(1.0)),
        binary(cohort=tiny, frailty=Frailty(0.5)),
        counts(cohort=tiny, frailty=Frailty(0.5)),
        markov(cohort=tiny, frailty=Frailty(0.5)),
    ]
    for sc in kinds:
        engines = (
            ("individual", "expected") if sc.frailty else ("individual", "aggregate", "expected")
        )
        for engine in engines:
            sibsim.simulate(sc, draws=2, seed=0, engine=engine, progress=False)


def without_created(ds: xr.Dataset) -> xr.Dataset:
    """A copy without the creation timestamp, the one attribute that differs between runs."""
    out = ds.copy()
    out.attrs = {k: v for k, v in ds.attrs.items() if k != "created"}
    return out


@pytest.fixture(scope="session")
def strip_created():
    return without_created


def assert_finite_nonnegative(ds: xr.Dataset) -> None:
    """Simulated counts of events and people are finite (no nan) and never negative."""
    for name in ("events", "engaged", "at_risk", "occupancy", "present", "size"):
        if name in ds:
            values = np.asarray(ds[name].values, dtype=float)
            assert np.all(np.isfinite(values)), f"{name} has non-finite values"
            assert values.min(initial=0.0) >= 0.0, f"{name} has negative values"


@pytest.fixture(scope="session")
def check_finite():
    return assert_finite_nonnegative
