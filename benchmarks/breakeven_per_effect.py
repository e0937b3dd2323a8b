"""The cost of one break-even effect against the number of draws, on one thread.

The break-even search (:func:`sibsim.analysis.breakeven.breakeven`) evaluates the money chain
once per grid effect. This times one evaluation (``_Pipeline.__call__``: the expected treated
outcomes at the effect, the money arrays, the totals and NPVs) of Peterborough at 2,000 to
100,000 draws, on one numba thread inside :func:`sibsim.analysis.heap.kept_heap` (as the search
runs it), and prints the milliseconds per effect and the nanoseconds per draw. A fixed cost per
effect shows as a per-draw cost that falls with the draws; the cost per draw that stays is the
chain's work, which only fusing its steps can cut.

Usage::

    python benchmarks/breakeven_per_effect.py
"""

from __future__ import annotations

import os
import time

import numpy as np

import sibsim
from sibsim.analysis.breakeven import _Pipeline
from sibsim.analysis.heap import kept_heap
from sibsim.analysis.threads import numba_threads
from sibsim.money.sib import counterfactual

SIZES = (2_000, 5_000, 10_000, 25_000, 100_000)


def main() -> None:
    deal = sibsim.load_scenario("peterborough")
    most = max(SIZES)
    ds_all = sibsim.simulate(deal, draws=most, seed=1, progress=False)
    cf_all = counterfactual(deal, most, 1)
    print(f"load {os.getloadavg()[0]:.2f}")
    with numba_threads(1), kept_heap():
        for draws in SIZES:
            pipe = _Pipeline(deal, ds_all.isel(draw=slice(0, draws)),
                             cf_all.isel(draw=slice(0, draws)))
            pipe(np.full(draws, 0.8))  # compile, and the heap's first touch
            n = max(3, 300_000 // draws)
            t0 = time.perf_counter()
            for i in range(n):
                pipe(np.full(draws, 0.6 + 0.3 * i / n))
            per = (time.perf_counter() - t0) / n
            print(f"{draws:>7,} draws: {per * 1e3:7.2f} ms an effect, "
                  f"{per / draws * 1e9:6.0f} ns a draw", flush=True)


if __name__ == "__main__":
    main()
