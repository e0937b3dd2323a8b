"""Benchmark: sibsim.money.irr.irr against per-path pyxirr.irr and numpy_financial.irr.

All three are timed side by side in one process on the same seeded paths (one outflow of 100
then 10 noisy annual inflows, i.e. 11 flows per path, exactly one sign change each):

* sibsim: the numba kernel on all paths at once (warmed up by one call first); also with
  ``numba.set_num_threads(1)`` for scaling;
* pyxirr: a Python loop calling ``pyxirr.irr`` on each path (lists prepared outside the timing);
* numpy_financial: a Python loop over a subsample (2,000 paths; 200 with ``--quick``), scaled to a
  per-path rate.

The implementations are interleaved in 5 rounds (1 with ``--quick``) and each reports the median
over rounds, so that bursts of load on a shared machine hit all of them alike.

Writes ``benchmarks/results/irr.json`` (or ``--out``) and prints a small table.

Usage::

    PYTHONPATH=src python benchmarks/bench_irr.py            # 100,000 paths
    PYTHONPATH=src python benchmarks/bench_irr.py --quick    # 10,000 paths, smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np
import numpy_financial as npf
import pyxirr

from sibsim.money.irr import IRRStatus, irr

N_PERIODS = 11
SEED = 20240917


def make_paths(n_paths: int, seed: int = SEED) -> np.ndarray:
    """Paths x 11 annual flows: -100 at t=0, then gamma(4, 3.5) inflows (mean 14, sd 7)."""
    rng = np.random.default_rng(seed)
    flows = np.empty((n_paths, N_PERIODS), dtype=np.float64)
    flows[:, 0] = -100.0
    flows[:, 1:] = rng.gamma(shape=4.0, scale=3.5, size=(n_paths, N_PERIODS - 1))
    return flows


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 paths, fewer repeats")
    parser.add_argument("--paths", type=int, default=None, help="number of paths (default 100000)")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON output (default benchmarks/results/irr.json, irr_quick.json with --quick)",
    )
    args = parser.parse_args(argv)
    if args.out is None:
        name = "irr_quick.json" if args.quick else "irr.json"
        args.out = Path(__file__).resolve().parent / "results" / name

    n_paths = args.paths or (10_000 if args.quick else 100_000)
    n_npf = min(n_paths, 200 if args.quick else 2_000)
    repeats = 3 if args.quick else 5  # sibsim calls per round (median)
    rounds = 1 if args.quick else 5

    flows = make_paths(n_paths)
    threads = numba.get_num_threads()
    load_start = os.getloadavg()[0]

    # --- warm up: the first call compiles or loads the numba cache --------------------------
    t0 = time.perf_counter()
    irr(flows[:10])
    first_call_s = time.perf_counter() - t0
    rates, status = irr(flows, return_info=True)

    rows = flows.tolist()  # pyxirr is fastest on lists; convert outside the timing
    ref = np.empty(n_paths)
    sub = flows[:n_npf]
    ref_npf = np.empty(n_npf)

    def run_pyxirr() -> None:
        for i, row in enumerate(rows):
            ref[i] = pyxirr.irr(row)

    def run_npf() -> None:
        for i in range(n_npf):
            ref_npf[i] = npf.irr(sub[i])

    def run_sib_1_thread() -> None:
        numba.set_num_threads(1)
        try:
            irr(flows)
        finally:
            numba.set_num_threads(threads)

    # The machines are shared and noisy: interleave the implementations in rounds so that a
    # burst of load hits all of them, and report the median over rounds for each.
    times: dict[str, list[float]] = {"sibsim": [], "sibsim_1_thread": [], "pyxirr": [], "npf": []}
    for _ in range(rounds):
        times["sibsim"].append(_median_time(lambda: irr(flows), repeats))
        times["pyxirr"].append(_median_time(run_pyxirr, 1))
        times["sibsim_1_thread"].append(_median_time(run_sib_1_thread, repeats))
        times["npf"].append(_median_time(run_npf, 1))
    t_sib = statistics.median(times["sibsim"])
    t_sib_1 = statistics.median(times["sibsim_1_thread"])
    t_pyx = statistics.median(times["pyxirr"])
    t_npf = statistics.median(times["npf"])

    pps = n_paths / t_sib
    pps_1 = n_paths / t_sib_1
    pps_pyx = n_paths / t_pyx
    pps_npf = n_npf / t_npf
    max_diff_pyx = float(np.nanmax(np.abs(rates - ref)))
    max_diff_npf = float(np.nanmax(np.abs(rates[:n_npf] - ref_npf)))
    counts = {IRRStatus(c).name: int((status == c).sum()) for c in np.unique(status)}

    cli_args = sys.argv[1:] if argv is None else argv
    command = " ".join(
        ["PYTHONPATH=src python benchmarks/bench_irr.py", *(shlex.quote(a) for a in cli_args)]
    )
    result = {
        "paths_per_s": pps,
        "vs_pyxirr_ratio": pps / pps_pyx,
        "vs_numpy_financial_ratio": pps / pps_npf,
        "max_abs_diff_vs_pyxirr": max_diff_pyx,
        "max_abs_diff_vs_numpy_financial": max_diff_npf,
        "numba_threads": threads,
        "paths_per_s_1_thread": pps_1,
        "pyxirr_paths_per_s": pps_pyx,
        "numpy_financial_paths_per_s": pps_npf,
        "n_paths": n_paths,
        "n_periods": N_PERIODS,
        "n_paths_numpy_financial": n_npf,
        "rounds": rounds,
        "sibsim_calls_per_round": repeats,
        "round_times_s": times,
        "first_call_s": first_call_s,
        "status_counts": counts,
        "rate_median": float(np.median(rates)),
        "seed": SEED,
        "command": command,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "numba": numba.__version__,
            "numba_threading_layer": numba.threading_layer(),
            "load_average_1min_start_end": [load_start, os.getloadavg()[0]],
            "pyxirr": getattr(pyxirr, "__version__", "unknown"),
            "numpy_financial": getattr(npf, "__version__", "unknown"),
        },
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }

    print(
        f"IRR benchmark: {n_paths:,} paths x {N_PERIODS} flows, numba threads = {threads}, "
        f"load average {load_start:.2f}"
    )
    print(f"{'implementation':<34}{'paths':>10}{'seconds':>11}{'paths/s':>14}{'ratio':>10}")
    table = [
        (f"sibsim irr ({threads} threads)", n_paths, t_sib, pps),
        ("sibsim irr (1 thread)", n_paths, t_sib_1, pps_1),
        ("pyxirr.irr loop", n_paths, t_pyx, pps_pyx),
        ("numpy_financial.irr loop", n_npf, t_npf, pps_npf),
    ]
    for name, n, t, p in table:
        print(f"{name:<34}{n:>10,}{t:>11.4f}{p:>14,.0f}{pps / p:>9.1f}x")
    print(
        f"max |sibsim - pyxirr| = {max_diff_pyx:.3g}, "
        f"max |sibsim - numpy_financial| = {max_diff_npf:.3g}; statuses {counts}"
    )

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
