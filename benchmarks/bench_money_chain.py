"""Speed of one evaluation of the money chain, side by side in one process (issue 8, section 8).

Usage::

    python benchmarks/bench_money_chain.py                 # Peterborough, 20,000 draws
    python benchmarks/bench_money_chain.py --draws 100000 --scenario koto-sib

Times, per call (best of ``--repeat``, wall and process CPU seconds):

* ``fast``: ``money_arrays(deal, ds, cf=cf, fixed=effect_free(deal, ds, cf))`` on a dataset
  whose treated arm changed (what each break-even effect and each design variant runs);
* ``general``: ``money_arrays(deal, ds, cf=cf)`` (everything recomputed);
* ``dataset``: ``money_flows(deal, ds, cf=cf)`` (the labelled dataset, what tornado runs).

Prints the table and the ratios; writes nothing. Compare ratios, not absolute times: the
machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import sibsim
from sibsim.money.sib import counterfactual, effect_free, money_arrays, money_flows


def best_of(fn, repeat: int) -> tuple[float, float]:
    wall = cpu = np.inf
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = min(wall, time.perf_counter() - t), min(cpu, time.process_time() - c)
    return wall, cpu


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="peterborough")
    ap.add_argument("--draws", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args(argv)
    deal = sibsim.load_scenario(args.scenario)
    ds = sibsim.simulate(deal, draws=args.draws, seed=1, progress=False)
    cf = counterfactual(deal, args.draws, 1)
    fixed = effect_free(deal, ds, cf)
    other = ds.copy()
    for k in ("events", "occupancy"):
        if k in other:
            full = other[k].values.copy()
            full[:, :1] *= 0.9
            other[k] = (other[k].dims, full, other[k].attrs)
    money_arrays(deal, ds, cf=cf, fixed=fixed)  # compile, fill the caches
    money_flows(deal, other, cf=cf)
    runs = {
        "fast": lambda: money_arrays(deal, other, cf=cf, fixed=fixed),
        "general": lambda: money_arrays(deal, other, cf=cf),
        "dataset": lambda: money_flows(deal, other, cf=cf),
    }
    res = {name: best_of(fn, args.repeat) for name, fn in runs.items()}
    print(f"{args.scenario}, {args.draws} draws: seconds per call (best of {args.repeat})")
    print(f"{'path':10s} {'wall':>9s} {'cpu':>9s}")
    for name, (wall, cpu) in res.items():
        print(f"{name:10s} {wall:9.4f} {cpu:9.4f}")
    print(f"general / fast (cpu): {res['general'][1] / res['fast'][1]:.2f}")
    print(f"dataset / fast (cpu): {res['dataset'][1] / res['fast'][1]:.2f}")


if __name__ == "__main__":
    main()
