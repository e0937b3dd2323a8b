"""Speed of the decision tools' inner loop, side by side in one process (issue 8, section 8).

Usage::

    python benchmarks/bench_decision.py           # full sizes (several minutes on 2 cores)
    python benchmarks/bench_decision.py --quick   # smaller sizes, about a minute

Writes ``benchmarks/results/decision.json`` (``decision-quick.json`` with ``--quick``):

* ``breakeven_1e5_draws_s``: :func:`sibsim.analysis.breakeven.breakeven` on 100,000 draws of
  ``load_scenario("peterborough")`` (41 effects), the fast path; beside it the general path
  (``BreakevenBlocks(fast=False)``: a whole expected-engine run and money chain per effect) on
  the same inputs, their ratio and the largest difference between their results.
* ``markov_psa_1e4_vs_numpy_time_ratio``: a probabilistic run of a 4-state Markov model
  (Dirichlet rows, lognormal relative risk, 20 periods, 10,000 draws, expected-trace engine),
  from the specification to a labelled dataset, against a plain numpy implementation of the
  same model (written below) that also ends in a labelled dataset.
* placeholders (``null`` with a note) for the tools other developers build:
  ``design_1000_variants_1e4_draws_s``, ``tornado_20_inputs_1e4_draws_s``, ``report_html_s``.

Compare ratios, not absolute times: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numba
import numpy as np
import xarray as xr

import sibsim
from sibsim.analysis.breakeven import BreakevenBlocks, breakeven
from sibsim.money.sib import counterfactual

RESULTS = Path(__file__).resolve().parent / "results"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import markov_scenario  # noqa: E402  (the same Markov model as the engine bench)

TARGETS = {"breakeven_1e5_draws_s": 1.5, "design_1000_variants_1e4_draws_s": 10.0,
           "tornado_20_inputs_1e4_draws_s": 5.0, "report_html_s": 5.0,
           "markov_psa_1e4_vs_numpy_time_ratio": 1.2}


def timed(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


# ----------------------------------------------------------------------------- break-even
def bench_breakeven(draws: int, res: dict) -> None:
    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal, draws=draws, seed=1, progress=False)
    cf = counterfactual(deal, draws, 1)
    small = ds.isel(draw=slice(0, 50))
    breakeven(deal, small, cf=cf.isel(draw=slice(0, 50)))  # compile and warm caches

    def general():
        search = BreakevenBlocks(deal, fast=False)
        return search.finish(search.add(ds, cf=cf))

    t0 = time.perf_counter()
    fast_out = breakeven(deal, ds, cf=cf)
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    gen_out = general()
    t_general = time.perf_counter() - t0
    diff = 0.0
    for var in gen_out.data_vars:
        a, b = fast_out[var].values, gen_out[var].values
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            diff = np.inf
            break
        ok = np.isfinite(b)
        if ok.any():
            diff = max(diff, float(np.max(np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]),
                                                                               1e-300))))
    res["breakeven_draws"] = draws
    res["breakeven_grid"] = int(fast_out.sizes["effect"])
    res["breakeven_fast_s"] = t_fast
    res["breakeven_general_s"] = t_general
    res["breakeven_general_vs_fast_time_ratio"] = t_general / t_fast
    res["breakeven_fast_vs_general_max_rel_diff"] = diff
    key = "breakeven_1e5_draws_s"
    res[key] = t_fast * (100_000 / draws)
    if draws != 100_000:
        res[key + "_note"] = f"scaled linearly from {draws} draws (--quick)"


# ----------------------------------------------------------------------------- Markov PSA
STATES = ("well", "mild", "severe", "dead")
MEANS = ((0.85, 0.10, 0.03, 0.02), (0.20, 0.65, 0.10, 0.05), (0.05, 0.15, 0.70, 0.10))
CONCENTRATION = 200.0
TARGETS_RR = ((0, 1), (1, 2))  # well -> mild, mild -> severe (also the event transitions)


def numpy_markov_psa(draws: int, seed: int, n: int = 1000, horizon: int = 20,
                     duration: int = 2) -> xr.Dataset:
    """The same model in plain numpy: Dirichlet rows, lognormal relative risk on the target
    transitions (the mass moved stays in the state) for ``duration`` periods after entry, a
    treated and a comparison cohort of ``n``, the expected trace over ``horizon`` periods;
    labelled as an xarray Dataset (occupancy and events by draw, arm and period)."""
    rng = np.random.default_rng(seed)
    S = len(STATES)
    trans = np.zeros((draws, S, S))
    for i, m in enumerate(MEANS):
        trans[:, i] = rng.dirichlet(np.asarray(m) * CONCENTRATION, draws)
    trans[:, 3, 3] = 1.0
    mu, sd = 0.8, 0.1  # lognormal with this mean and sd
    s2 = np.log1p((sd / mu) ** 2)
    rr = rng.lognormal(np.log(mu) - s2 / 2, np.sqrt(s2), draws)
    treated = trans.copy()
    for a, b in TARGETS_RR:
        moved = treated[:, a, b] * (1.0 - rr)
        treated[:, a, b] -= moved
        treated[:, a, a] += moved
    occ = np.zeros((draws, 2, horizon, S))
    events = np.zeros((draws, 2, horizon))
    for arm, base in enumerate((treated, trans)):
        v = np.zeros((draws, 1, S))
        v[:, 0, 0] = n
        for t in range(horizon):
            occ[:, arm, t] = v[:, 0]
            T = base if (arm == 0 and t < duration) else trans
            events[:, arm, t] = sum(v[:, 0, a] * T[:, a, b] for a, b in TARGETS_RR)
            v = v @ T  # (draws, 1, S) x (draws, S, S)
    return xr.Dataset({"occupancy": (("draw", "arm", "period", "state"), occ),
                       "events": (("draw", "arm", "period"), events)},
                      coords={"draw": np.arange(draws), "arm": ["treatment", "comparison"],
                              "period": np.arange(horizon), "state": list(STATES)})


def bench_markov(draws: int, res: dict) -> None:
    scen = markov_scenario(1000)
    sibsim.simulate(scen, draws=20, seed=0, engine="expected", progress=False)
    numpy_markov_psa(20, 0)
    t_sib = timed(lambda: sibsim.simulate(scen, draws=draws, seed=3, engine="expected",
                                          progress=False), repeat=5)
    t_np = timed(lambda: numpy_markov_psa(draws, 3), repeat=5)
    res["markov_psa_draws"] = draws
    res["markov_psa_sibsim_s"] = t_sib
    res["markov_psa_numpy_s"] = t_np
    res["markov_psa_1e4_vs_numpy_time_ratio"] = t_sib / t_np
    if draws != 10_000:
        res["markov_psa_1e4_vs_numpy_time_ratio_note"] = f"measured at {draws} draws (--quick)"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    args = ap.parse_args(argv)
    q = args.quick
    res = {"quick": q, "numba_threads": numba.get_num_threads(), "cpu_count": os.cpu_count(),
           "load_average_at_start": list(os.getloadavg()),
           "python": platform.python_version(), "numba": numba.__version__,
           "command": "python benchmarks/bench_decision.py" + (" --quick" if q else "")}
    bench_markov(10_000, res)
    bench_breakeven(10_000 if q else 100_000, res)
    for key, tool in (("design_1000_variants_1e4_draws_s", "the design search"),
                      ("tornado_20_inputs_1e4_draws_s", "the tornado (one-way sensitivity)"),
                      ("report_html_s", "the HTML council report")):
        res[key] = None
        res[key + "_note"] = (f"not measured: {tool} is built in another branch; the "
                              "integrator adds its measurement here")
    res["load_average_at_end"] = list(os.getloadavg())
    print(f"{'metric':44s} {'value':>12s}  target")
    for key in ("breakeven_fast_s", "breakeven_general_s", "breakeven_general_vs_fast_time_ratio",
                "breakeven_fast_vs_general_max_rel_diff", "markov_psa_sibsim_s",
                "markov_psa_numpy_s", *TARGETS):
        val, tgt = res.get(key), TARGETS.get(key)
        mark = "" if tgt is None else f"<= {tgt:g}  " + (
            "not measured" if val is None else ("ok" if val <= tgt else "MISSED"))
        shown = "null" if val is None else f"{val:12.4g}"
        print(f"{key:44s} {shown:>12s}  {mark}")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / ("decision-quick.json" if q else "decision.json")
    path.write_text(json.dumps(res, indent=2) + "\n")
    print(f"written {path}")


if __name__ == "__main__":
    main()
