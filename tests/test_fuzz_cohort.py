"""Cohorts and comparison groups generated valid by construction reach the simulation.

The constructor fuzzer of ``test_spec.py`` draws arbitrary numbers and drops what the
constructors refuse, so few of its examples are simulated. Here the cohort (entry waves,
strata with shares summing to 1) and the comparison group (a size or a ratio) are valid by
construction; every example is simulated with every engine that applies, and the test counts
that they all were. Invalid values are made on purpose in ``test_cohort_refuses_...``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import sibsim
from sibsim import BinaryOutcome, Cohort, ComparisonGroup, Effect, Scenario, Stratum

pytestmark = pytest.mark.usefixtures("warm_kernels")


@st.composite
def cohorts(draw):
    n = draw(st.integers(0, 3))
    # every stratum holds people in every wave (an empty group is refused): with strata, waves
    # of at least 40 people and shares of at least 1/19
    low = 40 if n else 1
    entry = tuple(draw(st.lists(st.integers(low, low + 40), min_size=1, max_size=3)))
    weights = draw(st.lists(st.integers(1, 9), min_size=n, max_size=n))
    strata = tuple(Stratum(f"s{i}", w / sum(weights)) for i, w in enumerate(weights))
    return Cohort(entry=entry, strata=strata)


COMPARISONS = st.one_of(
    st.none(),
    st.builds(ComparisonGroup, ratio=st.sampled_from([1, 2, 3])),  # 0.5 of 1 person is empty
    st.builds(ComparisonGroup, size=st.integers(1, 60)),
)

_reached = {"examples": 0, "simulated": 0}


@settings(max_examples=60, deadline=None)
@given(cohorts(), COMPARISONS)
@example(Cohort(entry=(1,)), ComparisonGroup(size=1)).via("the smallest cohort")
@example(Cohort(entry=(5, 5), strata=(Stratum("a", 1 / 3), Stratum("b", 2 / 3))),
         ComparisonGroup(ratio=0.5)).via("shares that are not exact in binary")
def _simulate_cohorts(cohort, comparison):
    _reached["examples"] += 1
    sc = Scenario(cohort=cohort, outcome=BinaryOutcome(0.3), horizon=3, comparison=comparison,
                  effect=Effect("rr", 0.8))
    assert cohort.size == sum(cohort.entry)
    if comparison is not None:
        assert all(n >= 0 for n in comparison.sizes(cohort))
    for engine in ("expected", "aggregate", "individual"):
        ds = sibsim.simulate(sc, draws=2, seed=3, engine=engine, progress=False)
        treated = ds["size"].sel(arm="treatment").sum(("wave", "stratum")).values
        assert np.all(treated == cohort.size)
        events = ds["events"].values
        assert np.isfinite(events).all() and events.min() >= 0
    _reached["simulated"] += 1


def test_fuzz_valid_cohorts_reach_the_simulation():
    _reached.update(examples=0, simulated=0)
    _simulate_cohorts()
    assert _reached["examples"] >= 60
    assert _reached["simulated"] == _reached["examples"], _reached


@pytest.mark.parametrize(("make", "field"), [
    (lambda: Cohort(entry=()), "Cohort.entry"),
    (lambda: Cohort(entry=(0,)), "Cohort"),
    (lambda: Cohort(entry=(3, -1)), "Cohort.entry"),
    (lambda: Cohort(entry=(3,), strata=(Stratum("a", 0.5), Stratum("b", 0.4))), "Cohort.strata"),
    (lambda: Stratum("a", 10), "Stratum[a].share"),
    (lambda: ComparisonGroup(ratio=-1), "ComparisonGroup.ratio"),
    (lambda: ComparisonGroup(size=-3), "ComparisonGroup.size"),
])
def test_cohort_refuses_invalid_values_naming_the_field(make, field):
    with pytest.raises((ValueError, TypeError), match=re.escape(field)):
        make()
