"""The break-even search's speed in this tree against another, side by side (issue 8, §8).

On a shared machine absolute times drift with the load, so both trees are timed alternately,
each in its own subprocess (``PYTHONPATH`` = the tree's ``src``), for a few rounds; the ratio
of their best times is the figure to read. Each subprocess times
:func:`sibsim.analysis.breakeven.breakeven` on Peterborough (41 effects) twice: wall time with
numba's default threads, and ``time.process_time()`` with ``numba.set_num_threads(1)`` (CPU
time, which the load disturbs less).

Usage::

    python benchmarks/compare_breakeven_speed.py                      # against /work/main
    python benchmarks/compare_breakeven_speed.py --draws 100000 --rounds 3 --ref /work/main
    python benchmarks/compare_breakeven_speed.py --ref <tree of e8c7fb4> --as-designed
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
import json, sys, time
import numba
import sibsim
from sibsim.analysis.breakeven import breakeven
from sibsim.money.sib import counterfactual

draws = int(sys.argv[1])
deal = sibsim.load_scenario("peterborough")
if sys.argv[2] == "1":  # the contract as designed, in a tree that has the cancellation risk
    try:
        from sibsim.analysis.replay import without_policy
    except ImportError:  # an older tree: its Peterborough has no such risk
        pass
    else:
        deal = without_policy(deal)
ds = sibsim.simulate(deal, draws=draws, seed=1, progress=False)
cf = counterfactual(deal, draws, 1)
breakeven(deal, ds.isel(draw=slice(0, 50)), cf=cf.isel(draw=slice(0, 50)))  # compile, warm
t0 = time.perf_counter()
breakeven(deal, ds, cf=cf)
wall = time.perf_counter() - t0
numba.set_num_threads(1)
c0 = time.process_time()
breakeven(deal, ds, cf=cf)
cpu = time.process_time() - c0
print(json.dumps({"wall_s": wall, "cpu_1thread_s": cpu}))
"""


def time_tree(src: Path, draws: int, as_designed: bool = False) -> dict[str, float]:
    """One subprocess run of the worker with ``src`` on the path."""
    env = dict(os.environ, PYTHONPATH=str(src))
    out = subprocess.run([sys.executable, "-c", _WORKER, str(draws), str(int(as_designed))],
                         env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ref", default="/work/main", help="the reference tree")
    parser.add_argument("--this", default=str(HERE),
                        help="the tree timed against it (default: this one)")
    parser.add_argument("--draws", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--as-designed", action="store_true",
                        help="time Peterborough without its risk of a policy cancellation "
                             "(sibsim.analysis.replay.without_policy), so that a tree from "
                             "before that risk is compared on the same deal")
    args = parser.parse_args()
    trees = {"this": Path(args.this) / "src", "ref": Path(args.ref) / "src"}
    best = {name: {"wall_s": float("inf"), "cpu_1thread_s": float("inf")} for name in trees}
    for r in range(args.rounds):
        for name, src in trees.items():
            t = time_tree(src, args.draws, args.as_designed)
            print(f"round {r + 1} {name}: wall {t['wall_s']:.3f} s, "
                  f"cpu (1 thread) {t['cpu_1thread_s']:.3f} s", flush=True)
            for k in t:
                best[name][k] = min(best[name][k], t[k])
    print(f"best of {args.rounds}, {args.draws} draws, 41 effects (Peterborough):")
    for k in ("wall_s", "cpu_1thread_s"):
        print(f"  {k}: this {best['this'][k]:.3f}, ref {best['ref'][k]:.3f}, "
              f"ref / this = {best['ref'][k] / best['this'][k]:.2f}")


if __name__ == "__main__":
    main()
