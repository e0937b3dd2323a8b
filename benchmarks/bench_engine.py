"""Engine speed and memory, side by side in one process.

Usage::

    python benchmarks/bench_engine.py           # full run (a few minutes on 2 cores)
    python benchmarks/bench_engine.py --quick   # smaller sizes, under a minute

Writes ``benchmarks/results/engine.json`` (``engine-quick.json`` with ``--quick``) and prints a
table. Compare ratios, not absolute times: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np
from numba import njit, prange

import sibsim
from sibsim.engine.kernels.rng import BLOCK, stream_state, uniform

RESULTS = Path(__file__).resolve().parent / "results"


# ----------------------------------------------------------------------------- reference kernels
@njit(parallel=True, cache=True)
def rng_limit(seed, n_draws, n_arms, n_people, n_periods, p):
    """The raw random-number limit: blocked xoroshiro128+, count uniforms below p."""
    n_blocks = (n_people + BLOCK - 1) // BLOCK
    total = n_draws * n_arms * n_blocks
    out = np.zeros(total, np.int64)
    for task in prange(total):
        s0, s1 = stream_state(seed, 99, task, 0, 0, 0)
        b = task % n_blocks
        m = min(BLOCK, n_people - b * BLOCK)
        c = 0
        for _ in range(m * n_periods):
            s0, s1, u = uniform(s0, s1)
            if u < p:
                c += 1
        out[task] = c
    return out.sum()


def numpy_binary(seed, n_draws, n_arms, n_people, n_periods, p, rr, chunk=65536):
    """What a competent analyst writes with numpy: chunked uniforms compared with p."""
    rng = np.random.default_rng(seed)
    events = np.zeros((n_draws, n_arms, n_periods), np.int64)
    buf = np.empty((chunk, n_periods))
    for d in range(n_draws):
        for a in range(n_arms):
            pa = p * (rr if a == 0 else 1.0)
            left = n_people
            while left > 0:
                m = min(chunk, left)
                rng.random(out=buf[:m])
                events[d, a] += (buf[:m] < pa).sum(axis=0)
                left -= m
    return events


def timed(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


# ----------------------------------------------------------------------------- scenarios
def binary_scenario(n):
    return sibsim.Scenario(cohort=sibsim.Cohort(size=n), outcome=sibsim.BinaryOutcome(0.3),
                           horizon=10, effect=sibsim.Effect("rr", 0.8),
                           comparison=sibsim.ComparisonGroup(size=n), name="bench-binary")


def markov_scenario(n):
    s = ("well", "mild", "severe", "dead")
    rows = [sibsim.Dirichlet.from_mean((0.85, 0.10, 0.03, 0.02), 200),
            sibsim.Dirichlet.from_mean((0.20, 0.65, 0.10, 0.05), 200),
            sibsim.Dirichlet.from_mean((0.05, 0.15, 0.70, 0.10), 200),
            (0.0, 0.0, 0.0, 1.0)]
    return sibsim.Scenario(
        cohort=sibsim.Cohort(size=n),
        outcome=sibsim.MarkovOutcome(states=s, transitions=rows, events=[("well", "mild"),
                                                                         ("mild", "severe")]),
        horizon=20,
        effect=sibsim.Effect("rr", sibsim.LogNormal.from_mean_sd(0.8, 0.1),
                             targets=[("well", "mild"), ("mild", "severe")], duration=2),
        comparison=sibsim.ComparisonGroup(size=n), name="bench-markov")


def child_peak_rss(n, draws):
    """Peak RSS (MiB) of a child process running the individual engine at ``n`` per arm."""
    here = str(Path(__file__).parent)
    code = (f"import resource, sys; sys.path.insert(0, {here!r}); import bench_engine as b, sibsim;"
            f"sibsim.simulate(b.binary_scenario({n}), draws={draws}, seed=1, engine='individual', "
            "progress=False);"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (under a minute)")
    args = ap.parse_args(argv)
    q = args.quick
    n, draws, periods, p = (200_000 if q else 1_000_000), (4 if q else 20), 10, 0.3
    agg_draws = 10_000 if q else 100_000
    res = {"quick": q, "numba_threads": numba.get_num_threads(), "cpu_count": os.cpu_count(),
           "python": platform.python_version(), "numba": numba.__version__,
           "command": "python benchmarks/bench_engine.py" + (" --quick" if q else "")}

    # warm-up (compilation, caches)
    sibsim.simulate(binary_scenario(1000), draws=2, seed=0, engine="individual", progress=False)
    sibsim.simulate(binary_scenario(1000), draws=2, seed=0, engine="aggregate", progress=False)
    rng_limit(np.uint64(1), 1, 1, 1000, periods, p)
    pp = 2 * n * periods * draws  # person-periods

    scen = binary_scenario(n)
    t_ind = timed(lambda: sibsim.simulate(scen, draws=draws, seed=1, engine="individual",
                                          progress=False))
    t_rng = timed(lambda: rng_limit(np.uint64(1), draws, 2, n, periods, p))
    np_draws = max(1, draws // 5)
    t_np = timed(lambda: numpy_binary(1, np_draws, 2, n, periods, p, 0.8), repeat=1)
    res["individual_pp_per_s"] = pp / t_ind
    res["rng_limit_pp_per_s"] = pp / t_rng
    res["numpy_pp_per_s"] = 2 * n * periods * np_draws / t_np
    res["individual_vs_rng_ratio"] = res["individual_pp_per_s"] / res["rng_limit_pp_per_s"]
    res["individual_vs_numpy_ratio"] = res["individual_pp_per_s"] / res["numpy_pp_per_s"]

    small, large = binary_scenario(1_000), binary_scenario(10_000_000)
    t_small = timed(lambda: sibsim.simulate(small, draws=agg_draws, seed=2, engine="aggregate",
                                            progress=False), repeat=2)
    t_large = timed(lambda: sibsim.simulate(large, draws=agg_draws, seed=2, engine="aggregate",
                                            progress=False), repeat=2)
    res["aggregate_draws"] = agg_draws
    res["aggregate_small_s"] = t_small
    res["aggregate_large_s"] = t_large
    res["aggregate_large_vs_small_time_ratio"] = t_large / t_small

    m1k = markov_scenario(1000)
    sibsim.simulate(m1k, draws=2, seed=0, engine="expected", progress=False)
    sibsim.simulate(m1k, draws=2, seed=0, engine="individual", progress=False)
    res["markov_expected_10k_draws_s"] = timed(
        lambda: sibsim.simulate(m1k, draws=10_000, seed=3, engine="expected", progress=False))
    res["markov_individual_1k_x_1k_s"] = timed(
        lambda: sibsim.simulate(m1k, draws=1000, seed=3, engine="individual", progress=False))

    res["peak_rss_mb_individual_1e7"] = child_peak_rss(2_000_000 if q else 10_000_000, 2)
    res["peak_rss_note"] = ("child process, individual engine, binary outcome, "
                            f"{'2e6' if q else '1e7'} per arm x 2 arms, 10 periods, 2 draws")
    res["max_rss_mb_this_process"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    targets = {"individual_vs_rng_ratio": (">=", 0.5), "individual_vs_numpy_ratio": (">=", 5),
               "aggregate_large_vs_small_time_ratio": ("<=", 1.5),
               "peak_rss_mb_individual_1e7": ("<=", 500),
               "markov_expected_10k_draws_s": ("<=", 0.05),
               "markov_individual_1k_x_1k_s": ("<=", 0.3)}
    print(f"{'metric':40s} {'value':>14s}  target")
    for key in ("individual_pp_per_s", "rng_limit_pp_per_s", "numpy_pp_per_s",
                *targets):
        val = res[key]
        tgt = targets.get(key)
        mark = ""
        if tgt:
            ok = val >= tgt[1] if tgt[0] == ">=" else val <= tgt[1]
            mark = f"{tgt[0]} {tgt[1]:g}  {'ok' if ok else 'MISSED'}"
        print(f"{key:40s} {val:14.4g}  {mark}")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / ("engine-quick.json" if q else "engine.json")
    path.write_text(json.dumps(res, indent=2) + "\n")
    print(f"written {path}")


if __name__ == "__main__":
    main()
