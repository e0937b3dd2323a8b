"""The outcome dataset as built from the engine's arrays, at its edges: coordinates, units,
descriptions and attributes, people present and at risk (worked out from the cohort), flattened
parameter names, several outcome processes, and the seed.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py) found unguarded.
"""

from __future__ import annotations

import datetime

import numba
import numpy as np
import pytest
import xarray as xr

import sibsim
from sibsim.dataset.build import resolve_seed
from sibsim.dataset.schema import DIMS, SCHEMA_VERSION, VARIABLES
from sibsim.spec.scenario import Process

DRAWS, SEED = 3, 7


def _binary(**kw):
    return sibsim.Scenario(cohort=sibsim.Cohort(entry=(30, 20)), outcome=sibsim.BinaryOutcome(0.3),
                           horizon=3, effect=sibsim.Effect("rr", 0.8),
                           comparison=sibsim.ComparisonGroup(ratio=1), name="two waves",
                           description="a test", **kw)


def test_coordinates_attributes_units_and_descriptions():
    # every schema variable, the optional engaged_events included
    ds = sibsim.simulate(_binary(), draws=DRAWS, seed=SEED, first_draw=4, progress=False,
                         engaged_events=True)
    assert list(ds["draw"].values) == [4, 5, 6]
    assert list(ds["arm"].values) == ["treatment", "comparison"]
    assert list(ds["wave"].values) == [0, 1] and list(ds["period"].values) == [0, 1, 2]
    assert list(ds["state"].values) and ds["absorbing"].dtype == bool
    assert ds["period"].attrs["units"] == "year"
    for dim, text in DIMS.items():
        if dim in ds.coords:
            assert ds[dim].attrs["description"] == text, dim
    for name, (dims, units, text) in VARIABLES.items():
        assert ds[name].dims == dims, name
        assert ds[name].attrs == {"units": units, "description": text}, name
    a = ds.attrs
    assert a["title"] == "sibsim outcome simulation: two waves" and a["scenario"] == "two waves"
    assert a["description"] == "a test" and a["outcome_kind"] == "binary"
    assert (a["seed"], a["draws"], a["periods_per_year"]) == (SEED, DRAWS, 1)
    assert a["period"] == "year" and a["schema_version"] == SCHEMA_VERSION
    assert a["strata_own_entry"] == 0 and "start of each period" in a["timing"]
    assert a["engine"] in ("aggregate", "individual") and a["engine_reason"]
    assert a["sibsim_version"] == sibsim.__version__ != "unknown"
    assert a["numpy_version"] == np.__version__ and a["xarray_version"] == xr.__version__
    assert a["numba_version"] == numba.__version__
    created = datetime.datetime.fromisoformat(a["created"])
    assert created.tzinfo is not None
    assert abs((datetime.datetime.now(datetime.UTC) - created).total_seconds()) < 600
    assert ds["entry_period"].dtype == np.int64 and list(ds["entry_period"].values) == [0, 1]


def test_people_present_and_at_risk_follow_the_entry_waves():
    ds = sibsim.simulate(_binary(), draws=DRAWS, seed=SEED, progress=False)
    # wave 0 (30 people) enters in period 0, wave 1 (20) in period 1; comparison: ratio 1
    present = ds["present"].sel(arm="treatment", stratum="all").values
    np.testing.assert_array_equal(present, [[30, 30, 30], [0, 20, 20]])
    np.testing.assert_array_equal(ds["size"].sel(stratum="all").values, [[30, 20], [30, 20]])
    # binary: an event can happen to anyone present (the event state is not absorbing)
    np.testing.assert_array_equal(ds["at_risk"].values,
                                  np.broadcast_to(ds["present"].values, ds["at_risk"].shape))
    counts = sibsim.Scenario(cohort=sibsim.Cohort(entry=(30, 20)),
                             outcome=sibsim.CountOutcome(rate=2.0), horizon=3)
    cs = sibsim.simulate(counts, draws=DRAWS, seed=SEED, progress=False)
    assert "state" not in cs.dims and cs.attrs["outcome_kind"] == "counts"
    np.testing.assert_array_equal(cs["at_risk"].values,
                                  np.broadcast_to(cs["present"].values, cs["at_risk"].shape))


def test_markov_at_risk_and_a_dirichlet_row_named_by_its_states():
    row = sibsim.Dirichlet.from_mean([0.25, 0.72, 0.03], 50.0)
    housing = sibsim.MarkovOutcome(("housed", "homeless", "dead"),
                                   [[0.85, 0.13, 0.02], row, [0, 0, 1]],
                                   initial="homeless", events=[("housed", "homeless")])
    s = sibsim.Scenario(cohort=sibsim.Cohort(size=20), outcome=housing, horizon=3)
    ds = sibsim.simulate(s, draws=DRAWS, seed=SEED, progress=False)
    names = list(ds["parameter"].values)
    assert ds["parameter_value"].shape == (DRAWS, len(names))
    arrows = [n for n in names if "->" in n]
    assert [n.split("->")[1] for n in arrows] == ["housed", "homeless", "dead"], names
    np.testing.assert_allclose(ds["parameter_value"].sel(parameter=arrows).sum("parameter"), 1.0)
    np.testing.assert_array_equal(ds["absorbing"].values, [False, False, True])
    # at risk: the people in 'housed', the one state with an event (to 'homeless') out of it
    np.testing.assert_array_equal(ds["at_risk"].values,
                                  ds["occupancy"].sel(state="housed").values)
    assert (ds["at_risk"].sel(period=0) == 0).all()  # everyone starts homeless


def test_several_processes_have_a_process_dimension_and_nan_for_other_states():
    s = _binary(other_processes=(Process(sibsim.CountOutcome(rate=2.0, name="days")),))
    ds = sibsim.simulate(s, draws=DRAWS, seed=SEED, progress=False)
    first = s.outcome.name
    assert list(ds["process"].values) == [first, "days"]
    assert list(ds["process_kind"].values) == ["binary", "counts"]
    assert ds["process_kind"].dims == ("process",)
    assert set(ds.dims) == {"draw", "arm", "wave", "stratum", "period", "process", "state",
                            "parameter"}
    assert ds.attrs["outcome_kind"] == "binary,counts"
    assert ds["absorbing"].dims == ("process", "state")
    assert not ds["absorbing"].sel(process="days").any()
    assert np.isnan(ds["occupancy"].sel(process="days")).all()
    assert np.isfinite(ds["occupancy"].sel(process=first)).all()
    np.testing.assert_array_equal(
        ds["at_risk"].sel(process="days").values,
        np.broadcast_to(ds["present"].values, ds["at_risk"].sel(process="days").shape))


def test_seeds():
    assert resolve_seed(0) == 0 and resolve_seed(2**63 - 1) == 2**63 - 1
    g = np.random.default_rng(1)
    first, second = resolve_seed(g), resolve_seed(g)
    assert first != second and 0 <= first < 2**63 - 1
    assert first == resolve_seed(np.random.default_rng(1))
    with pytest.raises(ValueError, match=r"^seed: got -1"):
        resolve_seed(-1)
    with pytest.raises(ValueError, match=r"seed: got 9223372036854775808; allowed: an integer "
                                         r"in \[0, 2\*\*63\)"):
        resolve_seed(2**63)


def test_simulate_takes_a_scenario_or_a_deal_and_nothing_else():
    deal = sibsim.load_scenario("peterborough")
    a = sibsim.simulate(deal, draws=2, seed=1, progress=False)
    b = sibsim.simulate(deal.scenario, draws=2, seed=1, progress=False)
    np.testing.assert_array_equal(a["events"].values, b["events"].values)
    # a deal's rank correlations of inputs reach the sampled parameters
    tied = deal.replace(correlation=sibsim.Correlation(["baseline.rate", "effect.value"],
                                                       [[1.0, 0.95], [0.95, 1.0]]))
    c = sibsim.simulate(tied, draws=200, seed=1, progress=False)["parameter_value"]
    u = sibsim.simulate(deal, draws=200, seed=1, progress=False)["parameter_value"]

    def rank_correlation(p):
        ranks = [np.argsort(np.argsort(p.sel(parameter=k).values))
                 for k in ("baseline.rate", "effect.value")]
        return np.corrcoef(*ranks)[0, 1]

    assert rank_correlation(c) > 0.85 and abs(rank_correlation(u)) < 0.3
    with pytest.raises(TypeError, match=r"scenario: got str; allowed: a sibsim\.Scenario"):
        sibsim.simulate("peterborough", draws=2)
