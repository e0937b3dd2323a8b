"""``sibsim design`` and ``sibsim compare``: the contract-design commands of the command line.

``sibsim design DEAL [--design FILE] [--draws N --seed S --out design.nc --figure design.png
--csv design.csv]`` searches the terms listed in the ``[design]`` table and prints the feasible
variants and the Pareto frontier; ``sibsim compare A B [C ...]`` compares options on the same
outcome draws with paired differences.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parsers", "run_compare", "run_design"]


def add_parsers(sub: Any) -> None:
    """Add the ``design`` and ``compare`` subcommands to the command line's subparsers."""
    d = sub.add_parser(
        "design", help="search contract terms (prices, thresholds, caps) under constraints",
        description="Vary the contract terms listed in the [design] table of DEAL (or of "
                    "--design FILE) over a grid, evaluate every variant on the same outcome "
                    "draws, and print the variants that meet the constraints and the best "
                    "trade-offs between the commissioner and the investors (see "
                    "docs/design.md).")
    d.add_argument("scenario", metavar="DEAL",
                   help="path of a TOML scenario file, or the name of a built-in scenario")
    d.add_argument("--design", type=Path, default=None, metavar="FILE",
                   help="TOML file with a [design] table (default: the one in DEAL)")
    _common(d)
    d.add_argument("--figure", type=Path, default=None, metavar="PNG",
                   help="also write the figure of the variants and the frontier")
    d.add_argument("--csv", type=Path, default=None, metavar="CSV",
                   help="also write one row per variant (CSV)")
    c = sub.add_parser(
        "compare", help="compare two or more options on the same outcome draws",
        description="Compare options (scenario files or built-in names) that share the same "
                    "outcome scenario: each is run on the same outcome draws, and the "
                    "differences from the first are paired, with Monte Carlo standard errors.")
    c.add_argument("scenarios", metavar="OPTION", nargs="+",
                   help="two or more scenario files or built-in names; the first is the "
                        "reference")
    _common(c)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--draws", type=int, default=1000, metavar="N",
                   help="Monte Carlo draws, shared by every variant (default: 1000)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="random seed; the same seed gives identical results (default: 0)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="also write the results as netCDF (.nc)")
    p.add_argument("--no-progress", action="store_true", help="do not show progress")


def _check_numbers(args: argparse.Namespace) -> str | None:
    from sibsim.cli import check_counts

    return check_counts(args, min_draws=2)


def run_design(args: argparse.Namespace, fail: Any) -> int:
    """``sibsim design``: returns the exit status (``fail(message)`` for bad input)."""
    from sibsim.cli import _figure_formats, check_memory, check_outputs
    from sibsim.scenario_file import ScenarioFileError

    inputs = [args.scenario] if args.design is None else [args.scenario, args.design]
    problem = _check_numbers(args) or check_outputs(inputs, {
        "--out": (args.out, (".nc",)), "--figure": (args.figure, _figure_formats()),
        "--csv": (args.csv, (".csv",))})
    if problem is not None:
        return fail(problem)
    from sibsim.analysis.design import design
    from sibsim.design_file import load_design

    try:
        deal, kwargs = load_design(args.scenario, args.design)
    except ScenarioFileError as err:
        return fail(str(err))
    problem = check_memory(deal, args.draws)
    if problem is not None:
        return fail(problem)
    try:
        res = design(deal, draws=args.draws, seed=args.seed,
                     progress=False if args.no_progress else None, **kwargs)
    except (ValueError, TypeError) as err:
        return fail(f"{args.design or args.scenario}: {err}")
    try:
        if args.out is not None:
            res.to_netcdf(args.out)
        if args.csv is not None:
            res.to_csv(args.csv)
        if args.figure is not None:
            from sibsim.plots.figures import save_figure

            ax = res.plot()
            save_figure(ax.figure, args.figure)
    except OSError as err:
        return fail(f"cannot write the results: {err}")
    print(res.describe())
    for path in (args.out, args.csv, args.figure):
        if path is not None:
            print(f"Wrote {path}")
    return 0


def run_compare(args: argparse.Namespace, fail: Any) -> int:
    """``sibsim compare``: returns the exit status."""
    from sibsim.cli import check_memory, check_outputs
    from sibsim.scenario_file import ScenarioFileError, load_scenario

    if len(args.scenarios) < 2:
        return fail(f"compare: got {len(args.scenarios)} option; allowed: two or more "
                    "scenario files or built-in names")
    problem = _check_numbers(args) or check_outputs(args.scenarios,
                                                    {"--out": (args.out, (".nc",))})
    if problem is not None:
        return fail(problem)
    deals = []
    for source in args.scenarios:
        try:
            deal = load_scenario(source)
        except ScenarioFileError as err:
            return fail(str(err))
        if not deal.has_money:
            return fail(f"{source}: an outcome-only scenario (no contract); compare needs "
                        "priced deals")
        deals.append(deal)
    names = [Path(s).stem if Path(s).exists() else str(s) for s in args.scenarios]
    if len(set(names)) < len(names):
        names = [f"{i + 1}: {n}" for i, n in enumerate(names)]
    from sibsim.analysis.design import _same_outcomes, compare, describe_comparison

    for source, deal in zip(args.scenarios[1:], deals[1:], strict=True):
        if not _same_outcomes(deals[0], deal):
            return fail(f"{source}: its outcome scenario (cohort, outcome, effect, comparison "
                        f"group or horizon) differs from that of {args.scenarios[0]}; options "
                        "are compared on the same outcome draws, so give them the same "
                        "outcome tables and vary only the money terms")
    problem = check_memory(deals[0], args.draws, copies=len(deals))
    if problem is not None:
        return fail(problem)
    try:
        res = compare(deals, names, draws=args.draws, seed=args.seed,
                      progress=False if args.no_progress else None)
    except (ValueError, TypeError) as err:
        return fail(str(err))
    if args.out is not None:
        from sibsim.dataset.io import to_netcdf

        try:
            to_netcdf(res, args.out)
        except OSError as err:
            return fail(f"cannot write the results: {err}")
    print(describe_comparison(res))
    if args.out is not None:
        print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    from sibsim.cli import main

    sys.exit(main())
