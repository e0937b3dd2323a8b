"""Compare this tree's benchmarks with an earlier commit's, run alternately on one machine.

Usage::

    git worktree add /tmp/sibsim-before <commit>
    python benchmarks/bench_before_after.py /tmp/sibsim-before [--rounds 3] [--full]

The machines are shared and noisy, so absolute times from different runs mean little. This
script runs the *same* benchmark scripts (``bench_end_to_end.py`` and ``bench_engine.py``, with
``--quick`` unless ``--full``) from the earlier tree and from this one, alternately, each in its
own process with ``PYTHONPATH`` pointing at that tree's ``src``, and reports the ratio
after / before of the median of each figure over the rounds. Results go to
``benchmarks/results/before_after.json``; each tree's own result files are restored afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
FIGURES = {
    "end_to_end": ("bench_end_to_end.py", "end_to_end{q}.json",
                   ("seconds", "breakeven_seconds")),
    "engine": ("bench_engine.py", "engine{q}.json",
               ("individual_pp_per_s", "individual_vs_rng_ratio", "individual_vs_numpy_ratio",
                "aggregate_large_vs_small_time_ratio", "markov_expected_10k_draws_s",
                "markov_individual_1k_x_1k_s")),
}


def run_one(tree: Path, script: str, result: str, quick: bool) -> dict:
    path = tree / "benchmarks" / "results" / result
    saved = path.read_bytes() if path.exists() else None
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    cmd = [sys.executable, str(tree / "benchmarks" / script)] + (["--quick"] if quick else [])
    try:
        subprocess.run(cmd, cwd=tree, env=env, check=True, capture_output=True, timeout=1800)
        return json.loads(path.read_text())
    finally:
        if saved is not None:
            path.write_bytes(saved)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path, help="work tree of the earlier commit")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--full", action="store_true")
    args = ap.parse_args(argv)
    q = "" if args.full else "-quick"
    trees = {"before": args.before.resolve(), "after": HERE}
    values: dict = {}
    for _ in range(args.rounds):
        for name, (script, result, keys) in FIGURES.items():
            for label, tree in trees.items():
                out = run_one(tree, script, result.format(q=q), not args.full)
                for k in keys:
                    values.setdefault(name, {}).setdefault(k, {}).setdefault(label, []).append(
                        out[k])
    report = {"rounds": args.rounds, "quick": not args.full, "load_average": os.getloadavg(),
              "command": "python benchmarks/bench_before_after.py BEFORE_TREE"
                         + ("" if not args.full else " --full"), "figures": {}}
    for name, figs in values.items():
        for k, by in figs.items():
            before, after = statistics.median(by["before"]), statistics.median(by["after"])
            report["figures"][f"{name}.{k}"] = {"before": before, "after": after,
                                                "after_over_before": after / before}
            print(f"{name}.{k:40s} before {before:12.4g}  after {after:12.4g}  "
                  f"ratio {after / before:6.3f}")
    out = HERE / "benchmarks" / "results" / "before_after.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print("written", out)


if __name__ == "__main__":
    main()
