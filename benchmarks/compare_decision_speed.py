"""The decision tools' speed in this tree against another, side by side (issue 8, §8).

On a shared machine absolute times drift with the load, so both trees are timed alternately,
each in its own subprocess (``PYTHONPATH`` = the tree's ``src``), for a few rounds, and the
ratio of their best times is the figure to read. Each subprocess times one part of
``benchmarks/bench_decision.py`` on the same inputs, as CPU time (``time.process_time()``)
with ``numba.set_num_threads(1)``, which the load disturbs less than wall time:

* ``design``: :func:`sibsim.analysis.design.evaluate_variants` on Peterborough, ``--variants``
  contract variants (prices x two total caps, as the benchmark) over ``--draws`` draws;
* ``tornado``: :func:`sibsim.tornado` of ``commissioner_npv_mean`` over the benchmark's 20
  inputs (``bench_sensitivity.deal_with_20_inputs``);
* ``breakeven``: :func:`sibsim.analysis.breakeven.breakeven` on Peterborough (41 effects).

Usage::

    python benchmarks/compare_decision_speed.py --part design --ref /path/to/other/tree
    python benchmarks/compare_decision_speed.py --part tornado --draws 10000 --rounds 3
    python benchmarks/compare_decision_speed.py --part design --variants 1000 --wall --ref ...

``--wall`` times wall-clock seconds on every thread numba may use instead (what running
independent evaluations on threads changes; the load disturbs it more).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

_WORKER = r"""
import json, sys, time, warnings
import numba
import numpy as np
import sibsim
from sibsim.money.sib import counterfactual

part, draws, n_variants = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sys.path.insert(0, sys.argv[4])  # benchmarks/, for bench_sensitivity
wall = sys.argv[5] == "wall"
if not wall:
    numba.set_num_threads(1)
warnings.simplefilter("ignore")
if part == "tornado":
    from bench_sensitivity import deal_with_20_inputs
    deal = deal_with_20_inputs()
    sibsim.tornado(deal, output="commissioner_npv_mean", draws=50, seed=1)  # compile, warm
    def work():
        sibsim.tornado(deal, output="commissioner_npv_mean", draws=draws, seed=1)
else:
    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal, draws=draws, seed=1, progress=False)
    cf = counterfactual(deal, draws, 1)
    if part == "design":
        from sibsim.analysis.design import evaluate_variants
        prices = np.linspace(5_000.0, 15_000.0, max(n_variants // 2, 1))
        variants = [deal.with_values({"contract.terms[0].rule.price": float(p),
                                      "contract.terms[0].pooled_rule.price": float(p),
                                      "contract.caps.total": cap})
                    for p in prices for cap in (8e6, 13e6)][:n_variants]
        evaluate_variants(deal, ds, cf, variants[:2])  # compile, warm
        def work():
            evaluate_variants(deal, ds, cf, variants)
    else:
        from sibsim.analysis.breakeven import breakeven
        breakeven(deal, ds.isel(draw=slice(0, 50)), cf=cf.isel(draw=slice(0, 50)))
        def work():
            breakeven(deal, ds, cf=cf)
clock = time.perf_counter if wall else time.process_time
t0 = clock()
work()
print(json.dumps({"cpu_s": clock() - t0}))
"""


def time_tree(src: Path, part: str, draws: int, variants: int, wall: bool = False) -> float:
    """CPU seconds of one timed run of ``part`` in the tree whose sources are ``src`` (on one
    numba thread), or with ``wall`` its wall-clock seconds on every thread numba may use."""
    env = dict(os.environ, PYTHONPATH=str(src))
    out = subprocess.run([sys.executable, "-c", _WORKER, part, str(draws), str(variants),
                          str(HERE / "benchmarks"), "wall" if wall else "cpu"],
                         env=env, check=True, capture_output=True, text=True).stdout
    return float(json.loads(out.strip().splitlines()[-1])["cpu_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("design", "tornado", "breakeven"), default="design")
    parser.add_argument("--ref", default="/work/main", help="the reference tree")
    parser.add_argument("--this", default=str(HERE), help="the tree measured (default: this)")
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--variants", type=int, default=200, help="design variants")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--wall", action="store_true",
                        help="wall-clock time on every numba thread (what threads change), "
                             "instead of CPU time on one")
    args = parser.parse_args()
    what = "wall, all threads" if args.wall else "CPU, 1 thread"
    times: dict[str, list[float]] = {"this": [], "ref": []}
    for r in range(args.rounds):  # alternate, so both trees see the same load
        for name, tree in (("this", args.this), ("ref", args.ref)):
            times[name].append(time_tree(Path(tree) / "src", args.part, args.draws,
                                         args.variants, args.wall))
        print(f"round {r + 1}: this {times['this'][-1]:.2f} s, ref {times['ref'][-1]:.2f} s "
              f"({what})", flush=True)
    best = {k: min(x) for k, x in times.items()}
    print(json.dumps({"part": args.part, "draws": args.draws,
                      "variants": args.variants if args.part == "design" else None,
                      "load_average": os.getloadavg(), "clock": what,
                      "this_s": best["this"], "ref_s": best["ref"],
                      "ref_vs_this_time_ratio": best["ref"] / best["this"]}, indent=1))


if __name__ == "__main__":
    main()
