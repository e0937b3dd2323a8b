"""Bit-identity of the break-even search and the money chain against another tree (issue 8, §8).

Speed work on the break-even search must not change a single number. This script runs
:func:`sibsim.analysis.breakeven.breakeven` (fast and general paths) and
:func:`sibsim.money.sib.money_flows`, a few design variants
(:func:`sibsim.analysis.design.evaluate_variants`, per draw) and :func:`sibsim.analyse` (its
money, investors, municipality and break-even datasets) for every built-in scenario on a few
hundred draws, once with this tree's ``src`` and once with a reference tree's
(``/work/main/src`` by default), each in its own subprocess writing an ``.npz``, and compares
every array: the largest absolute difference must be 0, with NaNs in the same places.

Usage::

    python benchmarks/check_breakeven_identical.py                  # against /work/main
    python benchmarks/check_breakeven_identical.py --ref /path/to/other/tree --draws 200
    python benchmarks/check_breakeven_identical.py --general   # the general path too (slow)
    python benchmarks/check_breakeven_identical.py --ref-npz /tmp/main.npz  # reuse main's run
    python benchmarks/check_breakeven_identical.py --no-analyse  # without sibsim.analyse

Exits 1 when anything differs (or a scenario fails in one tree and not the other).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent.parent

#: run inside each tree: writes every array of the outputs to an .npz
_WORKER = r"""
import sys, traceback
import numpy as np
import sibsim
from sibsim.analysis.breakeven import BreakevenBlocks
from sibsim.analysis.design import evaluate_variants, variant_grid
from sibsim.money.sib import counterfactual, money_flows
from sibsim.scenario_file import builtin_scenarios

out_path, draws, general = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
analyse = sys.argv[4] == "1"
paths = (True, False) if general else (True,)
arrays = {}
for name in sorted(builtin_scenarios()):
    try:
        deal = sibsim.load_scenario(name)
        ds = sibsim.simulate(deal, draws=draws, seed=7, progress=False)
        cf = counterfactual(deal, draws, 7)
        money = money_flows(deal, ds, cf=cf)
        for var in money.data_vars:
            arrays[f"{name}/money/{var}"] = np.asarray(money[var].values, dtype=float)
        # the design grid's path (outcomes kept between variants): a few variants each
        grid = {"municipality.discount_rate": [0.02, 0.05],
                "investors.target_irr": [0.05, 0.1]}
        if deal.contract.caps.total is not None:
            grid["contract.caps.total"] = [deal.contract.caps.total * f for f in (0.5, 1.0)]
        variants = variant_grid(deal, grid)[2]
        des = evaluate_variants(deal, ds, cf, variants + variants[:1], keep_draws=True)
        for var in des.data_vars:
            arrays[f"{name}/design/{var}"] = np.asarray(des[var].values, dtype=float)
        if deal.scenario.effect is not None:
            for fast in paths:
                search = BreakevenBlocks(deal, fast=fast)
                be = search.finish(search.add(ds, cf=cf))
                for var in be.data_vars:
                    arrays[f"{name}/breakeven_fast={fast}/{var}"] = np.asarray(be[var].values,
                                                                                dtype=float)
        if analyse:  # the whole chain of sibsim.analyse (its own blocks and threads)
            res = sibsim.analyse(deal, draws=draws, seed=7, progress=False)
            for group in ("money", "investors", "municipality", "breakeven"):
                data = getattr(res, group)
                for var in [] if data is None else data.data_vars:
                    values = data[var].values
                    if values.dtype.kind in "biuf":
                        arrays[f"{name}/analyse/{group}/{var}"] = np.asarray(values, dtype=float)
    except Exception:  # recorded: the other tree must fail the same way
        arrays[f"{name}/error"] = np.array(traceback.format_exc().splitlines()[-1])
np.savez(out_path, **arrays)
"""


def run_tree(src: Path, out: Path, draws: int, general: bool = False,
             reuse: bool = False, analyse: bool = True) -> dict[str, np.ndarray]:
    """Run the worker with ``src`` first on the path; its arrays by key (``reuse``: read
    ``out`` if it exists instead)."""
    if not (reuse and out.exists()):
        env = dict(os.environ, PYTHONPATH=str(src))
        subprocess.run([sys.executable, "-c", _WORKER, str(out), str(draws), str(int(general)),
                        str(int(analyse))],
                       env=env, check=True)
    with np.load(out) as f:
        return {k: f[k] for k in f.files}


def compare(new: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> list[str]:
    """Every difference between two runs, as lines (empty: bit-identical)."""
    problems = [f"{k}: only in the reference" for k in sorted(set(ref) - set(new))]
    problems += [f"{k}: only in this tree" for k in sorted(set(new) - set(ref))]
    for k in sorted(set(new) & set(ref)):
        a, b = new[k], ref[k]
        if a.dtype.kind == "U" or b.dtype.kind == "U":
            if str(a) != str(b):
                problems.append(f"{k}: {a} vs {b}")
            continue
        if a.shape != b.shape:
            problems.append(f"{k}: shape {a.shape} vs {b.shape}")
        elif not np.array_equal(np.isnan(a), np.isnan(b)):
            problems.append(f"{k}: NaNs in other places")
        else:
            ok = ~np.isnan(a)
            diff = float(np.max(np.abs(a[ok] - b[ok]), initial=0.0))
            if diff != 0.0 or not np.array_equal(np.signbit(a[ok]), np.signbit(b[ok])):
                problems.append(f"{k}: max abs diff {diff:g}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ref", default="/work/main", help="the reference tree (its src/)")
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--general", action="store_true",
                        help="also the general path (BreakevenBlocks(fast=False)); slow")
    parser.add_argument("--no-analyse", action="store_true",
                        help="skip sibsim.analyse's datasets (money, investors, municipality, "
                             "break-even) of every scenario")
    parser.add_argument("--ref-npz", type=Path, default=None,
                        help="keep the reference tree's arrays in this file and reuse them "
                             "when it exists (the reference tree does not change)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        analyse = not args.no_analyse
        new = run_tree(HERE / "src", Path(tmp) / "new.npz", args.draws, args.general,
                       analyse=analyse)
        ref = run_tree(Path(args.ref) / "src", args.ref_npz or Path(tmp) / "ref.npz",
                       args.draws, args.general, reuse=args.ref_npz is not None,
                       analyse=analyse)
    problems = compare(new, ref)
    scenarios = sorted({k.split("/")[0] for k in ref})
    errors = sorted(k.split("/")[0] for k in ref if k.endswith("/error"))
    print(f"{len(scenarios)} scenarios, {len(ref)} arrays compared ({args.draws} draws); "
          f"errors in both trees alike: {errors or 'none'}")
    for line in problems:
        print("DIFFERENT", line)
    print("bit-identical" if not problems else f"{len(problems)} arrays differ")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
