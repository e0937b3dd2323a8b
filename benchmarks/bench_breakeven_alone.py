"""The break-even search alone, timed twice in one process: ``breakeven(deal, ds, cf=cf)`` on
100,000 Peterborough draws (41 effects), after a small warm-up run.

Run it in two trees alternately to compare them side by side (the machine is shared and noisy):

    for r in 1 2 3; do for t in /work/main /path/to/ref; do
        PYTHONPATH=$t/src python benchmarks/bench_breakeven_alone.py $t; done; done

Prints the wall and CPU seconds of each of the two runs and the load average.
"""

from __future__ import annotations

import os
import sys
import time

import sibsim
from sibsim.analysis.breakeven import breakeven
from sibsim.money.sib import counterfactual

DRAWS = 100_000


def main() -> None:
    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal, draws=DRAWS, seed=1, progress=False)
    cf = counterfactual(deal, DRAWS, 1)
    breakeven(deal, ds.isel(draw=slice(0, 50)), cf=cf.isel(draw=slice(0, 50)))  # compile
    runs = []
    for _ in range(2):
        t0, c0 = time.perf_counter(), time.process_time()
        breakeven(deal, ds, cf=cf)
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
    label = sys.argv[1] if len(sys.argv) > 1 else "this tree"
    print(label, " ".join(f"wall {w:.2f} s cpu {c:.2f} s" for w, c in runs),
          f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
