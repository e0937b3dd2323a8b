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
* ``design_1000_variants_1e4_draws_s``: :func:`sibsim.analysis.design.evaluate_variants` over a
  grid of Peterborough price/cap variants on 10,000 shared draws (fewer variants with
  ``--quick``, scaled linearly to 1,000), beside a plain loop of ``money_flows`` + the metrics
  per variant on the same draws (the straightforward implementation), with their ratio;
* ``tornado_20_inputs_1e4_draws_s``: :func:`sibsim.tornado` of Koto-SIB with 20 uncertain
  inputs (``bench_sensitivity.deal_with_20_inputs``, given as ``inputs``;
  ``tornado_all_inputs_s`` times the default, which adds the scenario's two evaluation inputs)
  on 10,000 draws (2,000 with ``--quick``, scaled), beside the straightforward loop (a money
  dataset and every output per end, on the same draws, timed on the first four inputs and
  scaled), their ratio and whether they agree;
* ``report_html_s``: :func:`sibsim.council.council_report` (Finnish) of a 10,000-draw
  Peterborough analysis, the analysis itself excluded.

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

PARTS = ("markov", "breakeven", "design", "tornado", "report")
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


#: Interleaved timing rounds of the Markov comparison (best of each side).
MARKOV_ROUNDS = 25


def bench_markov(draws: int, res: dict) -> None:
    scen = markov_scenario(1000)
    sibsim.simulate(scen, draws=20, seed=0, engine="expected", progress=False)
    numpy_markov_psa(20, 0)
    # interleaved rounds, best of each: both sides see the same moments of a noisy machine
    # (best-of-5 each, one after the other, gave ratios from 0.93 to 1.40 for unchanged code)
    t_sib = t_np = np.inf
    for _ in range(MARKOV_ROUNDS):
        t_sib = min(t_sib, timed(lambda: sibsim.simulate(
            scen, draws=draws, seed=3, engine="expected", progress=False), repeat=1))
        t_np = min(t_np, timed(lambda: numpy_markov_psa(draws, 3), repeat=1))
    res["markov_psa_rounds"] = MARKOV_ROUNDS
    res["markov_psa_draws"] = draws
    res["markov_psa_sibsim_s"] = t_sib
    res["markov_psa_numpy_s"] = t_np
    res["markov_psa_1e4_vs_numpy_time_ratio"] = t_sib / t_np
    if draws != 10_000:
        res["markov_psa_1e4_vs_numpy_time_ratio_note"] = f"measured at {draws} draws (--quick)"


# ----------------------------------------------------------------------------- design
def bench_design(n_variants: int, res: dict) -> None:
    """The design search's inner loop against a plain per-variant loop on the same draws."""
    from sibsim.analysis.design import evaluate_variants
    from sibsim.analysis.metrics import investor_metrics, municipality_metrics
    from sibsim.money.sib import money_flows

    deal = sibsim.load_scenario("peterborough")
    draws = 10_000
    ds = sibsim.simulate(deal, draws=draws, seed=1, progress=False)
    cf = counterfactual(deal, draws, 1)
    prices = np.linspace(5_000.0, 15_000.0, max(n_variants // 2, 1))
    variants = [deal.with_values({"contract.terms[0].rule.price": float(p),
                                  "contract.terms[0].pooled_rule.price": float(p),
                                  "contract.caps.total": cap})
                for p in prices for cap in (8e6, 13e6)][:n_variants]
    evaluate_variants(deal, ds, cf, variants[:2])  # warm-up
    t0 = time.perf_counter()
    evaluate_variants(deal, ds, cf, variants)
    t_design = time.perf_counter() - t0
    n_plain = min(len(variants), 20)
    t0 = time.perf_counter()
    for var in variants[:n_plain]:  # the straightforward loop: a money dataset per variant
        money = money_flows(var, ds, cf)
        investor_metrics(money)
        municipality_metrics(money)
    t_plain = (time.perf_counter() - t0) * len(variants) / n_plain
    res["design_variants"] = len(variants)
    res["design_draws"] = draws
    res["design_s"] = t_design
    res["design_plain_loop_s"] = t_plain
    res["design_plain_loop_note"] = f"timed on {n_plain} variants, scaled to {len(variants)}"
    res["design_plain_vs_design_time_ratio"] = t_plain / t_design
    res["design_1000_variants_1e4_draws_s"] = t_design * 1000 / len(variants)
    if len(variants) != 1000:
        res["design_1000_variants_1e4_draws_s_note"] = (
            f"scaled linearly from {len(variants)} variants (--quick)")


# ----------------------------------------------------------------------------- tornado
def bench_tornado(draws: int, res: dict) -> None:
    import warnings

    from bench_sensitivity import deal_with_20_inputs

    from sibsim.analysis.sensitivity._common import Chain, output_values

    deal = deal_with_20_inputs()
    # its 20 uncertain inputs: the scenario's and the money assumptions (by default the tornado
    # varies Koto-SIB's two evaluation inputs too: timed beside, tornado_all_inputs_s)
    inputs = list(deal.uncertain_inputs())
    warnings.simplefilter("ignore")
    sibsim.tornado(deal, output="commissioner_npv_mean", draws=50, seed=1)  # warm-up
    t0 = time.perf_counter()
    out = sibsim.tornado(deal, output="commissioner_npv_mean", draws=draws, seed=1,
                         inputs=inputs)
    t = time.perf_counter() - t0
    t0 = time.perf_counter()
    every = sibsim.tornado(deal, output="commissioner_npv_mean", draws=draws, seed=1)
    res["tornado_all_inputs"] = int(every.sizes["input"])
    res["tornado_all_inputs_s"] = time.perf_counter() - t0
    # the straightforward loop on the same draws: a money dataset and every output per end
    chain = Chain(deal, draws, 1)
    names = list(out["input"].values)[:4]
    t0 = time.perf_counter()
    plain = [output_values(chain.evaluate({n: np.full(draws, x)}))["commissioner_npv_mean"]
             for n in names for x in out["input_value"].sel(input=n).values]
    t_plain = (time.perf_counter() - t0) * out.sizes["input"] / len(names)
    same = np.array_equal(np.array(plain), out["value"].sel(input=names).values.ravel())
    res["tornado_plain_loop_s"] = t_plain
    res["tornado_plain_loop_note"] = (f"timed on {len(names)} inputs, scaled to "
                                      f"{out.sizes['input']}; the simulation itself excluded")
    res["tornado_plain_vs_tornado_time_ratio"] = t_plain / t
    res["tornado_plain_equals_tornado"] = bool(same)
    res["tornado_inputs"] = int(out.sizes["input"])
    res["tornado_draws"] = draws
    res["tornado_s"] = t
    res["tornado_20_inputs_1e4_draws_s"] = t * 10_000 / draws
    if draws != 10_000:
        res["tornado_20_inputs_1e4_draws_s_note"] = f"scaled linearly from {draws} draws"


# ----------------------------------------------------------------------------- report
def bench_report(res: dict) -> None:
    from sibsim.council import council_report

    deal = sibsim.load_scenario("peterborough")
    results = sibsim.analyse(deal, draws=10_000, seed=1, progress=False)
    council_report(results, deal, lang="fi")  # warm-up (fonts, babel data)
    res["report_html_s"] = timed(lambda: council_report(results, deal, lang="fi"), repeat=2)
    res["report_html_note"] = "the Finnish report of a 10,000-draw analysis (analysis excluded)"


def _cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo; else what platform knows): the figures
    depend on it, and these machines are not all of one kind."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    ap.add_argument("--only", choices=PARTS, nargs="+", default=None,
                    help="measure these parts only; keep the other keys of the previous JSON")
    args = ap.parse_args(argv)
    q = args.quick
    path = RESULTS / ("decision-quick.json" if q else "decision.json")
    res = json.loads(path.read_text()) if args.only and path.exists() else {}
    res.update({"quick": q, "numba_threads": numba.get_num_threads(),
                "cpu_count": os.cpu_count(), "load_average_at_start": list(os.getloadavg()),
                "cpu": _cpu_model(),
                "python": platform.python_version(), "numba": numba.__version__,
                "command": "python benchmarks/bench_decision.py" + (" --quick" if q else "")
                + (" --only " + " ".join(args.only) if args.only else "")})
    parts = {"markov": lambda: bench_markov(10_000, res),
             "breakeven": lambda: bench_breakeven(10_000 if q else 100_000, res),
             "design": lambda: bench_design(50 if q else 1000, res),
             "tornado": lambda: bench_tornado(2_000 if q else 10_000, res),
             "report": lambda: bench_report(res)}
    for name in args.only or PARTS:
        parts[name]()
    res["load_average_at_end"] = list(os.getloadavg())
    print(f"{'metric':44s} {'value':>12s}  target")
    for key in ("breakeven_fast_s", "breakeven_general_s", "breakeven_general_vs_fast_time_ratio",
                "breakeven_fast_vs_general_max_rel_diff", "markov_psa_sibsim_s",
                "markov_psa_numpy_s", "design_plain_vs_design_time_ratio",
                "tornado_plain_vs_tornado_time_ratio", *TARGETS):
        val, tgt = res.get(key), TARGETS.get(key)
        mark = "" if tgt is None else f"<= {tgt:g}  " + (
            "not measured" if val is None else ("ok" if val <= tgt else "MISSED"))
        shown = "null" if val is None else f"{val:12.4g}"
        print(f"{key:44s} {shown:>12s}  {mark}")
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(res, indent=2) + "\n")
    print(f"written {path}")


if __name__ == "__main__":
    main()
