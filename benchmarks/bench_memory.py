"""Peak memory of a long run: a million draws of the Peterborough deal, break-even included.

Usage::

    python benchmarks/bench_memory.py           # 1,000,000 draws (about 15-25 min on 2 cores)
    python benchmarks/bench_memory.py --quick   # 100,000 draws

Each measurement runs ``sibsim.analyse(load_scenario("peterborough"), draws=N, seed=1)`` with
the break-even search in a fresh child process and reads the child's peak resident memory
(``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``, taken in an intermediate process that runs
only that child, so that one measurement cannot mask another). Recorded:

* ``peak_rss_mb_peterborough_1e6_with_breakeven``: blocks of draws chosen by sibsim
  (target <= 3,000 MB; the results alone take about 1.9 GB);
* for comparison, the run as one block (``block_draws=draws``, per-draw outcomes kept: the run
  before streaming) at ``compare_draws`` and half as many draws, extrapolated linearly to the
  full number of draws;
* sibsim's own estimate (:func:`sibsim.resources.estimate_run`) of each run.

Writes ``benchmarks/results/memory.json`` (``memory-quick.json`` with ``--quick``), with the
commit measured (``measured_commit``, ``uncommitted_changes``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = RESULTS.parent.parent
TARGET_MB = 3000


def checkout_state(root: Path) -> dict:
    """The commit checked out at ``root`` and whether the library (``src``) or this script
    hold uncommitted changes: what the figures measure, taken when the run starts (the 1e6-draw
    run takes 15-25 minutes, and the checkout may move on meanwhile)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True,
                              text=True).stdout.strip()

    return {"measured_commit": git("rev-parse", "--short", "HEAD") or None,
            "uncommitted_changes": bool(git("status", "--porcelain", "--", "src",
                                            "benchmarks/bench_memory.py"))}


def _worker(draws: int, block: str) -> None:
    """Run the analysis and print what it did (one JSON line)."""
    import sibsim
    from sibsim.resources import estimate_run

    deal = sibsim.load_scenario("peterborough")
    kw = {} if block == "auto" else {"block_draws": draws, "keep_outcomes": True}
    est = estimate_run(deal, draws, **kw)
    t0 = time.perf_counter()
    res = sibsim.analyse(deal, draws=draws, seed=1, progress=False, **kw)
    seconds = time.perf_counter() - t0
    kept = sum(getattr(res, g).nbytes for g in ("outcomes", "money", "investors",
                                                 "municipality", "breakeven"))
    print(json.dumps({"draws": draws, "block_draws": est.block_draws,
                      "keep_outcomes": est.keep_outcomes, "seconds": round(seconds, 1),
                      "results_mb": round(kept / 2**20, 1),
                      "estimate_peak_mb": round(est.peak_bytes / 2**20, 1),
                      "median_breakeven_investors": float(
                          res.headline()["median_breakeven_effect_investors"])}))


def _measure(draws: int, block: str) -> None:
    """Run one worker child; print its JSON line with the child's peak RSS added."""
    proc = subprocess.run([sys.executable, __file__, "--worker", str(draws), block],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(proc.returncode)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    print(json.dumps(out))


def measure(draws: int, block: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--measure", str(draws), block],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"measurement of {draws} draws ({block}) failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--worker", nargs=2, metavar=("DRAWS", "BLOCK"), help=argparse.SUPPRESS)
    ap.add_argument("--measure", nargs=2, metavar=("DRAWS", "BLOCK"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return _worker(int(args.worker[0]), args.worker[1])
    if args.measure:
        return _measure(int(args.measure[0]), args.measure[1])
    state = checkout_state(ROOT)
    draws = 100_000 if args.quick else 1_000_000
    compare = 20_000 if args.quick else 50_000
    runs = {}
    for label, n, block in (("one_block_half", compare // 2, "one"),
                            ("one_block", compare, "one"),
                            ("blocks", draws, "auto")):
        runs[label] = measure(n, block)
        print(label, json.dumps(runs[label]), flush=True)
    half, one = runs["one_block_half"], runs["one_block"]
    per_draw = (one["peak_rss_mb"] - half["peak_rss_mb"]) / (compare - compare // 2)
    extrapolated = round(one["peak_rss_mb"] + per_draw * (draws - compare))
    full = runs["blocks"]["peak_rss_mb"]
    key = "1e6" if draws == 1_000_000 else "1e5"
    out = {
        "scenario": "peterborough",
        "seed": 1,
        "draws": draws,
        f"peak_rss_mb_peterborough_{key}_with_breakeven": full,
        "target_mb": TARGET_MB if draws == 1_000_000 else None,
        "compare_draws": compare,
        f"one_block_peak_rss_mb_{compare}": one["peak_rss_mb"],
        "one_block_mb_per_1000_draws": round(per_draw * 1000, 1),
        f"one_block_extrapolated_to_{key}_mb": extrapolated,
        "runs": runs,
        **state,
        "command": "PYTHONPATH=src python benchmarks/bench_memory.py"
                   + (" --quick" if args.quick else ""),
    }
    print(f"peak RSS, {draws:,} draws with break-even, in blocks of "
          f"{runs['blocks']['block_draws']:,}: {full:,.0f} MB"
          + (f" (target <= {TARGET_MB:,} MB)" if draws == 1_000_000 else ""))
    print(f"one block: {one['peak_rss_mb']:,.0f} MB at {compare:,} draws, "
          f"{per_draw * 1000:,.1f} MB per 1,000 draws; extrapolated to {draws:,} draws: "
          f"{extrapolated:,} MB")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / ("memory-quick.json" if args.quick else "memory.json")
    path.write_text(json.dumps(out, indent=2) + "\n")
    print("written", path)


if __name__ == "__main__":
    main()
