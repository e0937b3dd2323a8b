"""Why the waterfall kernel costs ~0.35 us a draw (8 periods): a diagnosis (issue 8, §8).

Three versions of the same arithmetic (one tranche at 13% a period, fees on drawn capital,
outcome payments repaying the claim, the excess to the commissioner; no guarantee, recycling
or claim-tied share), over the same draws, writing the same outputs:

* ``scalars``: the per-draw state (drawn, claim, received) in local scalars;
* ``arrays``: the state in small per-tranche arrays reset by slice assignment
  (``drawn[:] = 0.0``), looping over tranches, as ``money/kernels/waterfall.py`` does;
* ``arrays_loop_reset``: the same with the reset written as a loop.

All three give the same numbers (checked). On the 2-core machine (2026-11-29, loaded):
scalars ~90 ns a draw, arrays ~245 ns, arrays_loop_reset ~180 ns; the real kernel ~330 ns
and the bare writing of its outputs ~100 ns. Timing only the kernels' outputs or switching to
``error_model="numpy"`` changed nothing measurable, and running draws interleaved in blocks
(periods outer) was slower (~160 ns). So the kernel is not memory- or latency-bound: the
cost is the per-tranche state held in memory (loads and stores the compiler cannot keep in
registers, as output stores may alias them) and the general path's branches. A kernel
specialised to the deal (e.g. one tranche, no guarantee: the state in scalars) or a fused
money-chain kernel would remove it; the slice reset alone is worth ~60 ns here but nothing
measurable in the real kernel.

Usage::

    python benchmarks/waterfall_state_diagnosis.py [draws]
"""

from __future__ import annotations

import sys
import time

import numba
import numpy as np


@numba.njit
def scalars(costs, pay, fixed, mgmt, commit, growth, flows, drawdown, outstanding, unfunded):
    D, P = pay.shape
    for d in range(D):
        drawn = 0.0
        claim = 0.0
        received = 0.0
        for t in range(P):
            claim *= growth[0]
            need = costs[d, t] + fixed[t] + mgmt * drawn
            draw = min(need, max(commit - drawn, 0.0))
            unfunded[d, t] = need - draw
            drawdown[d, t] = draw
            flows[d, 1, t] = -draw
            drawn += draw
            claim += draw
            room = min(claim, np.inf)
            available = pay[d, t]
            frac = max(min(available, room), 0.0) / room if room > 0.0 else 0.0
            paid = room * frac
            available -= paid
            claim -= paid
            received += paid
            flows[d, 1, t] += paid
            flows[d, 0, t] = -pay[d, t] + max(available, 0.0)
            outstanding[d, 0, t] = claim
            funded = min(costs[d, t], draw)
            flows[d, 2, t] = 0.0
            flows[d, 3, t] = funded
            flows[d, 4, t] = draw - funded


def _arrays(loop_reset: bool):
    @numba.njit
    def kernel(costs, pay, fixed, mgmt, commit, growth, flows, drawdown, outstanding, unfunded):
        D, P = pay.shape
        n_tr = growth.shape[0]
        drawn, claim, received = np.empty(n_tr), np.empty(n_tr), np.empty(n_tr)
        room, paid = np.empty(n_tr), np.empty(n_tr)
        for d in range(D):
            if loop_reset:
                for i in range(n_tr):
                    drawn[i] = 0.0
                    claim[i] = 0.0
                    received[i] = 0.0
            else:
                drawn[:] = 0.0
                claim[:] = 0.0
                received[:] = 0.0
            for t in range(P):
                drawn_total = 0.0
                for i in range(n_tr):
                    claim[i] *= growth[i]
                    drawn_total += drawn[i]
                need = costs[d, t] + fixed[t] + mgmt * drawn_total
                draw = min(need, max(commit - drawn_total, 0.0))
                unfunded[d, t] = need - draw
                drawdown[d, t] = draw
                for i in range(n_tr):
                    v = draw * 1.0
                    flows[d, 1 + i, t] = -v
                    drawn[i] += v
                    claim[i] += v
                    room[i] = min(claim[i], np.inf)
                available = pay[d, t]
                total = 0.0
                for i in range(n_tr):
                    total += room[i]
                frac = max(min(available, total), 0.0) / total if total > 0.0 else 0.0
                for i in range(n_tr):
                    paid[i] = room[i] * frac
                    available -= paid[i]
                    claim[i] -= paid[i]
                    received[i] += paid[i]
                    flows[d, 1 + i, t] += paid[i]
                flows[d, 0, t] = -pay[d, t] + max(available, 0.0)
                for i in range(n_tr):
                    outstanding[d, i, t] = claim[i]
                funded = min(costs[d, t], draw)
                flows[d, 2, t] = 0.0
                flows[d, 3, t] = funded
                flows[d, 4, t] = draw - funded
    return kernel


def main() -> None:
    D, P = (int(sys.argv[1]) if len(sys.argv) > 1 else 20_000), 8
    rng = np.random.default_rng(1)
    inputs = (rng.random((D, P)) * 1e5, rng.random((D, P)) * 2e5, np.full(P, 1e3), 0.01, 5e6,
              np.array([1.13]))
    kernels = {"scalars": scalars, "arrays": _arrays(False),
               "arrays_loop_reset": _arrays(True)}
    outs = {k: (np.empty((D, 5, P)), np.empty((D, P)), np.empty((D, 1, P)), np.empty((D, P)))
            for k in kernels}
    for name, k in kernels.items():
        k(*inputs, *outs[name])  # compile
    best = dict.fromkeys(kernels, np.inf)
    for _ in range(15):  # interleaved, CPU time: the load disturbs it less
        for name, k in kernels.items():
            t0 = time.process_time()
            k(*inputs, *outs[name])
            best[name] = min(best[name], time.process_time() - t0)
    for name, t in best.items():
        print(f"{name:18s} {t * 1e3:6.2f} ms  {t / D * 1e9:5.0f} ns a draw")
    same = all(np.array_equal(a, b) for k in kernels for a, b in zip(outs["scalars"], outs[k],
                                                                      strict=True))
    print("same outputs:", same)


if __name__ == "__main__":
    main()
