"""Reproducibility: seeds, chunking, thread counts and storage never change a result."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import sibsim
from sibsim import BinaryOutcome, Cohort, ComparisonGroup, Scenario

pytestmark = pytest.mark.usefixtures("warm_kernels")

ENGINES = ("individual", "aggregate", "expected")


def engines_for(sc: Scenario) -> tuple[str, ...]:
    return ("individual", "expected") if sc.frailty is not None else ENGINES


def sim(sc: Scenario, engine: str, draws: int = 6, seed: int = 42, **kw) -> xr.Dataset:
    return sibsim.simulate(sc, draws=draws, seed=seed, engine=engine, progress=False, **kw)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind", ["binary", "absorbing", "counts", "markov", "uncertain"])
def test_same_seed_gives_identical_dataset(all_scenarios, strip_created, kind, engine):
    sc = all_scenarios[kind]
    a, b = sim(sc, engine), sim(sc, engine)
    assert a.attrs["seed"] == 42 and a.attrs["engine"] == engine
    xr.testing.assert_identical(strip_created(a), strip_created(b))
    sibsim.dataset.check(a)


@pytest.mark.parametrize("engine", ("individual", "aggregate"))
@pytest.mark.parametrize("kind", ["binary", "counts", "markov", "uncertain"])
def test_different_seeds_give_different_draws(all_scenarios, kind, engine):
    sc = all_scenarios[kind]
    a, b = sim(sc, engine, seed=1), sim(sc, engine, seed=2)
    assert not np.array_equal(a["events"].values, b["events"].values)
    # and different draws of one run differ from each other
    ev = a["events"].values
    assert any(not np.array_equal(ev[0], ev[d]) for d in range(1, ev.shape[0]))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind", ["binary", "absorbing", "counts", "markov", "uncertain"])
def test_chunk_draws_do_not_change_results(all_scenarios, strip_created, kind, engine):
    sc = all_scenarios[kind]
    whole = strip_created(sim(sc, engine, draws=7))
    for chunk in (1, 3, 7, 100):
        xr.testing.assert_identical(strip_created(sim(sc, engine, draws=7, chunk_draws=chunk)),
                                    whole)


@pytest.mark.parametrize("engine", ENGINES)
def test_chunks_across_a_parameter_block(uncertain_scenario, strip_created, engine):
    """Parameters are sampled in blocks of 4096 draws; chunks that straddle a block boundary
    must still see the same values, and a prefix of draws is a prefix of the longer run."""
    sc = Scenario(cohort=Cohort(size=3), outcome=uncertain_scenario.outcome, horizon=2,
                  effect=uncertain_scenario.effect)
    draws = 4100
    whole = strip_created(sim(sc, engine, draws=draws, seed=8))
    chunked = strip_created(sim(sc, engine, draws=draws, seed=8, chunk_draws=1000))
    xr.testing.assert_identical(whole, chunked)
    head = strip_created(sim(sc, engine, draws=10, seed=8))
    xr.testing.assert_identical(head.drop_attrs(), whole.isel(draw=slice(0, 10)).drop_attrs())


def test_numpy_generator_seed(binary_scenario, strip_created):
    seed = int(np.random.default_rng(2024).integers(0, 2**63 - 1))
    from_gen = sim(binary_scenario, "aggregate", seed=np.random.default_rng(2024))
    from_int = sim(binary_scenario, "aggregate", seed=seed)
    assert from_gen.attrs["seed"] == seed
    xr.testing.assert_identical(strip_created(from_gen), strip_created(from_int))
    # a Generator is consumed: passing the same one twice gives two different runs
    rng = np.random.default_rng(5)
    a, b = sim(binary_scenario, "aggregate", seed=rng), sim(binary_scenario, "aggregate", seed=rng)
    assert a.attrs["seed"] != b.attrs["seed"]
    assert not np.array_equal(a["events"].values, b["events"].values)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind", ["binary", "absorbing", "counts", "markov", "uncertain"])
def test_netcdf_round_trip_is_lossless(all_scenarios, tmp_path, kind, engine):
    ds = sim(all_scenarios[kind], engine)
    path = sibsim.to_netcdf(ds, tmp_path / "sub" / "out.nc")
    assert path == tmp_path / "sub" / "out.nc" and path.exists()
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.nc"]  # no temporary left
    back = sibsim.open_dataset(path)
    xr.testing.assert_identical(back, ds)
    for name in ds.variables:
        assert back[name].dtype == ds[name].dtype, name
    sibsim.to_netcdf(ds, path)  # overwriting in place works too
    xr.testing.assert_identical(sibsim.open_dataset(path), ds)


# ------------------------------------------------------------------ thread counts
THREAD_SCRIPT = textwrap.dedent("""
    import hashlib, json, sys
    import numba
    import sibsim
    from sibsim import (Beta, BinaryOutcome, Cohort, ComparisonGroup, CountOutcome, Effect,
                        Frailty, MarkovOutcome, Scenario, Stratum)

    # 5000 people: more than one random-number block (4096 people) per group
    cohort = Cohort(entry=(5000, 300), strata=(Stratum("a", 0.5), Stratum("b", 0.5)))
    eff = dict(engagement=Beta(8, 2), dropout=0.1, duration=2, decay=0.5)
    scenarios = {
        "binary": Scenario(cohort=cohort, outcome=BinaryOutcome(Beta(3, 7)), horizon=4,
                           effect=Effect("rr", 0.8, **eff), comparison=ComparisonGroup(ratio=1)),
        "absorbing": Scenario(cohort=cohort, outcome=BinaryOutcome(0.2, recurrent=False),
                              horizon=4, effect=Effect("hr", 0.8, **eff),
                              comparison=ComparisonGroup(ratio=1)),
        "counts": Scenario(cohort=cohort, outcome=CountOutcome(1.3, dispersion=2.0), horizon=4,
                           effect=Effect("rr", 0.8, **eff), comparison=ComparisonGroup(ratio=1)),
        "markov": Scenario(cohort=cohort, horizon=4,
                           outcome=MarkovOutcome(("w", "s", "d"),
                                                 [[0.8, 0.15, 0.05], [0.3, 0.6, 0.1], [0, 0, 1]],
                                                 events=[("w", "s")]),
                           effect=Effect("rr", 0.7, targets=[("w", "s")], **eff),
                           comparison=ComparisonGroup(ratio=1)),
    }
    scenarios["frailty"] = Scenario(cohort=cohort, outcome=BinaryOutcome(0.3), horizon=4,
                                    frailty=Frailty(0.5), effect=Effect("rr", 0.8, **eff))
    out = {"threads": numba.get_num_threads()}
    for name, sc in scenarios.items():
        engines = ("individual",) if sc.frailty else ("individual", "aggregate")
        for engine in engines:
            ds = sibsim.simulate(sc, draws=8, seed=99, engine=engine, progress=False)
            h = hashlib.sha256()
            for var in ("events", "engaged", "occupancy"):
                if var in ds:
                    h.update(ds[var].values.tobytes())
            out[f"{name}/{engine}"] = h.hexdigest()
    json.dump(out, sys.stdout)
""")


def _run_with_threads(n: int) -> dict:
    env = dict(os.environ)
    env["NUMBA_NUM_THREADS"] = str(n)
    src = str(Path(sibsim.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    res = subprocess.run([sys.executable, "-c", THREAD_SCRIPT], env=env, capture_output=True,
                         text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_thread_count_does_not_change_results():
    one, two = _run_with_threads(1), _run_with_threads(2)
    assert one.pop("threads") == 1 and two.pop("threads") == 2
    assert len(one) == 9
    assert one == two
    # the in-process run (default thread count) agrees too
    code = THREAD_SCRIPT.replace("json.dump(out, sys.stdout)", "")
    namespace: dict = {}
    exec(compile(code, "<thread-script>", "exec"), namespace)
    here = namespace["out"]
    here.pop("threads")
    assert here == one


def test_hash_script_is_sensitive_to_the_seed():
    """The comparison above would be empty if the hashes ignored the data."""
    sc = Scenario(cohort=Cohort(size=50), outcome=BinaryOutcome(0.3), horizon=3,
                  comparison=ComparisonGroup(ratio=1))
    digests = {hashlib.sha256(sim(sc, "aggregate", seed=s)["events"].values.tobytes())
               .hexdigest() for s in (1, 2)}
    assert len(digests) == 2


def test_chunk_tallies_are_zeroed_views_of_one_allocation():
    """The stochastic engines' chunk tallies are allocated once and handed to the kernels as
    zeroed, C-contiguous views, whatever the previous chunk left in them."""
    from sibsim.engine.run import _ChunkCounts

    c = _ChunkCounts(5, (2, 1, 1, 4), 3, occupancy=True, engaged_events=True)
    for x in (c.ev, c.en, c.occ, c.eocc, c.evj):
        x[...] = 7
    views = c.zeroed(3)
    shapes = [(3, 2, 1, 1, 4)] * 2 + [(3, 2, 1, 1, 4, 3)] * 2 + [(3, 2, 1, 1, 4)]
    for x, whole, shape in zip(views, (c.ev, c.en, c.occ, c.eocc, c.evj), shapes, strict=True):
        assert x.shape == shape and x.dtype == np.int64 and x.flags.c_contiguous
        assert np.shares_memory(x, whole) and not x.any()
        assert (whole[3:] == 7).all()  # rows past the chunk are not touched
    none = _ChunkCounts(2, (1, 1, 1, 2), 0, occupancy=False, engaged_events=False)
    assert [x is None for x in none.zeroed(2)] == [False, False, True, True, True]
