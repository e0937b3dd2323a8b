"""End-to-end speed of the Peterborough scenario.

Usage::

    python benchmarks/bench_end_to_end.py           # 100,000 draws
    python benchmarks/bench_end_to_end.py --quick   # 10,000 draws

"End to end" is everything from the scenario to the summaries: outcome simulation, the
counterfactual trace, evaluation, outcome payments, capital waterfall, commissioner savings,
investor and commissioner metrics (IRR, MOIC, NPV, payback, BCR, budget peak, break-even period)
and their summaries, with warm numba caches (a warm-up run first). The break-even root finding
(41 evaluations of the whole money chain) is timed separately on the same draws. Writes
``benchmarks/results/end_to_end.json`` (``end_to_end-quick.json`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numba

from sibsim.analysis.breakeven import breakeven
from sibsim.analysis.summary import summarise
from sibsim.report import analyse
from sibsim.scenario_file import load_scenario

RESULTS = Path(__file__).resolve().parent / "results"


def end_to_end(deal, draws, seed):
    res = analyse(deal, draws=draws, seed=seed, progress=False, with_breakeven=False)
    summarise(res.investors)
    summarise(res.municipality.drop_vars("cumulative_net_cash"))
    return res


def waterfall_seconds(draws: int) -> float:
    """Best of two runs of the capital waterfall alone (two tranches, a first-loss guarantee,
    fees; 10 periods) on random costs and payments; was a timed unit test (target < 1 s for
    100,000 draws)."""
    import numpy as np

    from sibsim.money import CapitalStructure, Fees, FirstLossGuarantee, Tranche
    from sibsim.money.cashflows import waterfall

    rng = np.random.default_rng(1)
    cs = CapitalStructure(
        (Tranche("senior", 6e6, 1, 0.05, 1.6), Tranche("junior", 2e6, 2, 0.10)),
        guarantee=FirstLossGuarantee("F", 0.5, covers="first_loss"), fees=Fees(5e4, 0.01),
        excess_to="investors")
    costs, pay = rng.uniform(0, 1.2e6, (draws, 10)), rng.gamma(2.0, 5e5, (draws, 10))
    waterfall(cs, costs[:10], pay[:10])  # compile outside the timing
    seconds = []
    for _ in range(2):
        t0 = time.perf_counter()
        waterfall(cs, costs, pay)
        seconds.append(time.perf_counter() - t0)
    return min(seconds)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    draws = 10_000 if args.quick else 100_000
    deal = load_scenario("peterborough")
    end_to_end(deal, 1000, 0)  # warm-up: compile/load kernels
    times = []
    for rep in range(3):
        t0 = time.perf_counter()
        end_to_end(deal, draws, rep + 1)
        times.append(time.perf_counter() - t0)
    be_draws = 2_000 if args.quick else draws
    res = end_to_end(deal, be_draws, 9)
    t0 = time.perf_counter()
    breakeven(deal, res.outcomes)
    t_be = time.perf_counter() - t0
    t_wf = waterfall_seconds(draws)
    out = {
        "scenario": "peterborough",
        "draws": draws,
        "seconds": min(times),
        "seconds_all_repeats": times,
        "breakeven_draws": be_draws,
        "breakeven_seconds": t_be,
        "waterfall_seconds": t_wf,
        "waterfall_target_seconds": 1.0,
        "numba_threads": numba.get_num_threads(),
        "target_seconds": 5.0,
        "command": "python benchmarks/bench_end_to_end.py" + (" --quick" if args.quick else ""),
    }
    print(f"end to end, {draws:,} draws: {out['seconds']:.2f} s (best of 3; all: "
          + ", ".join(f"{t:.2f}" for t in times) + ") target <= 5 s")
    print(f"break-even root finding, {be_draws:,} draws: {t_be:.2f} s")
    print(f"capital waterfall alone, {draws:,} draws x 10 periods: {t_wf:.3f} s (target < 1 s)")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / ("end_to_end-quick.json" if args.quick else "end_to_end.json")
    path.write_text(json.dumps(out, indent=2) + "\n")
    print("written", path)


if __name__ == "__main__":
    main()
