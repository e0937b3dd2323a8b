"""A fresh, unbiased estimate of the suite's killed share over EVERY module mutation-tested.

``bench_mutation.py`` checks modules one by one (in full, or a uniform sample of each); a
figure over all of them then needs every module run, which takes hours on the 2-core machine.
This script estimates the killed share over all the mutants of all the modules in
``bench_mutation.MODULES`` from a two-stage sample:

1. **Sizes.** Every module's mutants are generated (mutmut's generation step alone, ~10 s a
   module) and counted: ``M_i``, with ``M = sum M_i``.
2. **Modules, by size.** ``K`` modules are drawn *with replacement*, each with probability
   ``M_i / M`` (probability proportional to size), from ``--seed``.
3. **Mutants.** For each draw, a uniform random sample of ``n`` of the module's mutants is
   checked (a module drawn twice gets one sample of ``2 n``, whose share stands for both
   draws: the same expectation, a slightly smaller variance estimate).

Each draw's killed share ``y_j`` is then an unbiased estimate of the killed share over all
``M`` mutants (Hansen-Hurwitz: a mutant's chance of being checked is the same for every
mutant, ``K n / M``), so the estimate is their mean, and its standard error is the standard
deviation of the ``y_j`` over ``sqrt(K)``, which carries both stages' variance; the 95%
interval uses Student's t with ``K - 1`` degrees of freedom. Killed counts as
``bench_mutation`` counts it (killed, timed out or caught by a type check); survivors, "no
tests", suspicious and terminated mutants are not killed. A second figure leaves out the
survivors later explained as equivalent (``bench_mutation.EQUIVALENT``): they cannot be killed.

Usage (the seed is chosen when the measurement starts, after the tests are written)::

    python benchmarks/mutation_pps.py sizes --out /tmp/sizes.json
    python benchmarks/mutation_pps.py run --sizes /tmp/sizes.json --seed 12 --draws 12 \\
        --per-draw 15 --part 1/2 --out /tmp/pps-1.json     # and --part 2/2 beside it,
    python benchmarks/mutation_pps.py combine /tmp/pps-1.json /tmp/pps-2.json \\
        --out benchmarks/results/mutation-pps.json

Two parts run at once from the same checkout need their own ``TMPDIR`` (each part's
throw-away copy of the repository lives there).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_mutation as bm  # noqa: E402


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=bm.ROOT,
                          capture_output=True, text=True)
    return done.stdout.strip()


def module_size(module: str) -> int:
    """The number of mutants mutmut generates for ``module`` (no test is run)."""
    work = Path(tempfile.mkdtemp(prefix="sibsim-mutation-sizes-"))
    try:
        bm._copy(work)
        with open(work / "pyproject.toml", "a", encoding="utf-8") as fh:
            fh.write(bm._config(module, bm.MODULES[module], 1))
        env = {k: val for k, val in os.environ.items() if k != "PYTHONPATH"}
        return len(bm._generate(work, env))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def pps_draws(sizes: dict[str, int], draws: int, seed: int) -> list[str]:
    """``draws`` modules drawn with replacement, each with probability proportional to its
    number of mutants (the same list for the same sizes and seed).

    >>> pps_draws({"a.py": 1, "b.py": 0}, 3, 1)
    ['a.py', 'a.py', 'a.py']
    """
    names = sorted(sizes)
    return random.Random(seed).choices(names, weights=[sizes[n] for n in names], k=draws)


def estimate(shares: list[float]) -> dict:
    """Mean of the draws' killed shares, its standard error and a 95% t interval.

    >>> e = estimate([0.8, 1.0])
    >>> round(e["killed_share"], 3), round(e["standard_error"], 3)
    (0.9, 0.1)
    """
    from scipy import stats

    k = len(shares)
    mean = sum(shares) / k
    if k < 2:
        return {"killed_share": mean, "standard_error": None, "ci95": None, "draws": k}
    sd = math.sqrt(sum((y - mean) ** 2 for y in shares) / (k - 1))
    se = sd / math.sqrt(k)
    t = float(stats.t.ppf(0.975, k - 1))
    return {"killed_share": mean, "standard_error": se,
            "ci95": [max(0.0, mean - t * se), min(1.0, mean + t * se)], "draws": k}


def _killed(row: dict, leave_out_equivalent: bool) -> tuple[int, int]:
    """(killed, checked) of a module's row, optionally leaving out equivalent survivors."""
    checked = int(row["checked"])
    survivors = row.get("survivors", [])
    lost = len(survivors)
    if leave_out_equivalent:
        eq = sum(1 for s in survivors if s["mutant"] in bm.EQUIVALENT or s.get("equivalent"))
        return checked - lost, checked - eq
    return checked - lost, checked


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="step", required=True)
    s = sub.add_parser("sizes", help="count every module's mutants")
    s.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("run", help="check the sample (or one part of it)")
    r.add_argument("--sizes", type=Path, required=True)
    r.add_argument("--seed", type=int, required=True)
    r.add_argument("--draws", type=int, default=12, help="modules drawn (K)")
    r.add_argument("--per-draw", type=int, default=15, help="mutants checked per draw (n)")
    r.add_argument("--part", default="1/1", help="i/m: run the i-th of m interleaved parts")
    r.add_argument("--budget", type=float, default=1500.0, help="seconds per module")
    r.add_argument("--jobs", type=int, default=1)
    r.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("combine", help="the estimate from the parts")
    c.add_argument("parts", type=Path, nargs="+")
    c.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)

    if args.step == "sizes":
        sizes = {}
        for m in sorted(bm.MODULES):
            t = time.perf_counter()
            sizes[m] = module_size(m)
            print(f"{m}: {sizes[m]} mutants ({time.perf_counter() - t:.0f} s)", flush=True)
        args.out.write_text(json.dumps({"commit": _commit(), "sizes": sizes}, indent=1))
        return 0

    if args.step == "run":
        sized = json.loads(args.sizes.read_text())
        sizes = sized["sizes"]
        missing = sorted(set(bm.MODULES) - set(sizes))
        if missing:
            p.error(f"--sizes: no size for {missing}; count them again")
        chosen = pps_draws(sizes, args.draws, args.seed)
        i, m = (int(x) for x in args.part.split("/"))
        modules = sorted(set(chosen))[i - 1::m]
        rows = []
        for mod in modules:
            times = chosen.count(mod)
            row = bm.run_module(mod, args.budget, args.jobs, sample=args.per_draw * times,
                                sample_seed=args.seed * 1000 + sorted(sizes).index(mod))
            row["pps_times_drawn"] = times
            rows.append(row)
            print(f"{mod}: drawn {times}x, {row['counts']}", flush=True)
            args.out.write_text(json.dumps({
                "seed": args.seed, "draws": args.draws, "per_draw": args.per_draw,
                "chosen": chosen, "sizes_commit": sized["commit"], "commit": _commit(),
                "sizes": sizes, "rows": rows}, indent=1))
        return 0

    parts = [json.loads(x.read_text()) for x in args.parts]
    rows = [row for part in parts for row in part["rows"]]
    first = parts[0]
    by_module = {row["module"].removeprefix("src/sibsim/"): row for row in rows}
    missing = sorted(set(first["chosen"]) - set(by_module))
    if missing:
        p.error(f"parts: no result for {missing}")
    out = {"method": "two-stage: modules drawn with replacement with probability proportional "
                     "to their number of mutants, then a uniform sample of mutants per draw "
                     "(Hansen-Hurwitz; see benchmarks/mutation_pps.py)",
           "seed": first["seed"], "draws": first["draws"], "per_draw": first["per_draw"],
           "commit": first["commit"], "sizes_commit": first["sizes_commit"],
           "mutants_in_all_modules": sum(first["sizes"].values()),
           "modules": len(first["sizes"]), "chosen": first["chosen"]}
    for key, leave_out in (("all_survivors", False), ("without_equivalent", True)):
        shares = []
        for mod in first["chosen"]:
            row = by_module[mod]
            killed, checked = _killed(row, leave_out)
            # a module drawn twice: its two samples together (the same share for both draws)
            shares.append(killed / checked if checked else float("nan"))
        out[key] = estimate(shares)
    out["rows"] = rows
    args.out.write_text(json.dumps(out, indent=1))
    print(json.dumps({k: out[k] for k in ("all_survivors", "without_equivalent")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
