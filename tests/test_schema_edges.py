"""The outcome dataset's schema at its edges: the dims with several outcome processes, putting
a transposed dataset back in the schema's order, and the checks of a dataset.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py) found unguarded.
"""

from __future__ import annotations

import numpy as np
import pytest

import sibsim
from sibsim.dataset.schema import (
    PER_PROCESS,
    REQUIRED_ATTRS,
    VARIABLES,
    check,
    dims_of,
    in_schema_order,
)
from sibsim.spec.scenario import Process

DRAWS, SEED = 2, 1


@pytest.fixture(scope="module")
def binary():
    s = sibsim.Scenario(cohort=sibsim.Cohort(size=40), outcome=sibsim.BinaryOutcome(0.3),
                        horizon=2)
    # every schema variable, the optional engaged_events included
    return sibsim.simulate(s, draws=DRAWS, seed=SEED, engaged_events=True)


@pytest.fixture(scope="module")
def several():
    s = sibsim.Scenario(cohort=sibsim.Cohort(size=40), outcome=sibsim.BinaryOutcome(0.3),
                        horizon=2,
                        other_processes=(Process(sibsim.CountOutcome(rate=2.0, name="days")),))
    return sibsim.simulate(s, draws=DRAWS, seed=SEED, engaged_events=True)


def test_dims_with_several_processes_put_process_after_period_and_before_state():
    period = ("draw", "arm", "wave", "stratum", "period")
    assert dims_of("events", False) == period
    assert dims_of("events", True) == (*period, "process")
    assert dims_of("occupancy", False) == (*period, "state")
    assert dims_of("occupancy", True) == (*period, "process", "state")
    assert dims_of("engaged_occupancy", True) == (*period, "process", "state")
    for name in VARIABLES:
        if name not in PER_PROCESS:
            assert dims_of(name, True) == dims_of(name, False) == VARIABLES[name][0]


def test_simulated_datasets_follow_the_schema(binary, several):
    check(binary)
    check(several)
    assert "process" in several.dims and "process" not in binary.dims
    for name in PER_PROCESS:
        assert several[name].dims == dims_of(name, True)


def test_in_schema_order_puts_back_each_transposed_variable(binary, several):
    assert in_schema_order(binary) is binary  # already in order: the dataset itself
    assert in_schema_order(several) is several
    for ds, multi in ((binary, False), (several, True)):
        moved = ds.transpose(*reversed(list(ds.dims)))
        assert moved["events"].dims != dims_of("events", multi)
        back = in_schema_order(moved)
        for name in VARIABLES:
            assert back[name].dims == dims_of(name, multi), name
            np.testing.assert_array_equal(back[name].values, ds[name].values)
        check(back)


def test_check_names_a_missing_variable_wrong_dims_and_a_missing_attribute(binary, several):
    with pytest.raises(ValueError, match="variable 'events' is missing"):
        check(binary.drop_vars("events"))
    with pytest.raises(ValueError, match="variable 'occupancy' is missing"):
        check(binary.drop_vars("occupancy"))
    with pytest.raises(ValueError, match="variable 'size' is missing"):
        check(binary.drop_vars("size"))
    with pytest.raises(ValueError, match=r"events has dims \('period',"):
        check(binary.assign(events=binary["events"].transpose("period", ...)))
    with pytest.raises(ValueError, match=r"at_risk has dims .*expected .*'process'"):
        check(several.assign(at_risk=several["at_risk"].isel(process=0, drop=True)))
    for key in REQUIRED_ATTRS:
        ds = binary.copy()
        del ds.attrs[key]
        with pytest.raises(ValueError, match=f"attribute '{key}' is missing"):
            check(ds)


def test_check_needs_no_occupancy_without_states(binary):
    counts = sibsim.Scenario(cohort=sibsim.Cohort(size=40),
                             outcome=sibsim.CountOutcome(rate=2.0), horizon=2)
    ds = sibsim.simulate(counts, draws=DRAWS, seed=SEED)
    assert "state" not in ds.dims and "occupancy" not in ds
    check(ds)
    # the variables after the occupancies in the schema are still checked
    for name in ("engaged", "size", "parameter_value"):
        with pytest.raises(ValueError, match=f"variable '{name}' is missing"):
            check(ds.drop_vars(name))
    # with a state dimension the occupancies are required
    assert "state" in binary.dims
    with pytest.raises(ValueError, match="'engaged_occupancy' is missing"):
        check(binary.drop_vars("engaged_occupancy"))
