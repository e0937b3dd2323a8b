"""``sibsim portfolio``: an investors' fund holding its part of several deals.

``sibsim portfolio FILE --draws N --seed S --out fund.nc`` reads the portfolio
(:func:`sibsim.portfolio.load_portfolio`: a TOML file, or a built-in portfolio such as
``lapset-fund``), runs every deal it holds (:func:`sibsim.portfolio.run_portfolio`), writes the
results as netCDF and prints the fund's chance of a loss, IRR and money multiple next to each
holding's alone.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run_command"]


def add_parser(sub: Any) -> None:
    """Add the ``portfolio`` subcommand to the command line's subparsers."""
    p = sub.add_parser(
        "portfolio", help="pool an investors' fund's part of several deals (e.g. "
                          "lapset-fund: Lapset-SIB I and II)",
        description="Run every deal of the portfolio FILE (a TOML file of [[holdings]]: each a "
                    "deal, the investor tranches the fund holds and its share of them; or a "
                    "built-in portfolio) and pool the fund's cash flows on one calendar. "
                    "Prints the fund's chance of a loss, its IRR and money multiple, and each "
                    "holding's alone (see docs/portfolios.md).")
    p.add_argument("portfolio", metavar="FILE",
                   help="a portfolio TOML file or a built-in portfolio's name")
    p.add_argument("--draws", type=int, default=1000, metavar="N",
                   help="Monte Carlo draws of each deal (default: 1000)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="random seed; each deal runs with a seed derived from (S, the "
                        "holding's name) (default: 0)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="netCDF file to write (default: results/<portfolio>.nc)")
    p.add_argument("--engine", choices=("auto", "individual", "aggregate", "expected"),
                   default="auto", help="simulation engine (default: auto)")
    p.add_argument("--no-progress", action="store_true", help="do not show progress")


def run_command(args: argparse.Namespace, fail: Any) -> int:
    """``sibsim portfolio``: returns the exit status (``fail(message)`` for bad input)."""
    from sibsim.cli import check_counts, check_outputs
    from sibsim.portfolio import (
        PortfolioError,
        describe_portfolio,
        load_portfolio,
        run_portfolio,
        write_portfolio,
    )

    problem = check_counts(args)
    if problem is not None:
        return fail(problem)
    try:
        fund = load_portfolio(args.portfolio)
    except PortfolioError as err:
        return fail(str(err))
    out = args.out or Path("results") / f"{fund.name}.nc"
    source = Path(args.portfolio)
    problem = check_outputs(source if source.is_file() else (), {"--out": (out, (".nc",))})
    if problem is not None:
        return fail(problem.replace("the scenario file", "the portfolio file"))
    progress = False if args.no_progress else None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = run_portfolio(fund, draws=args.draws, seed=args.seed, engine=args.engine,
                                progress=progress)
    except (ValueError, TypeError) as err:
        return fail(f"{args.portfolio}: {err}")
    try:
        write_portfolio(res, out)
    except OSError as err:
        return fail(f"cannot write the results: {err}")
    print(describe_portfolio(res) + f"\n\nResults written to {out}")
    for w in caught:
        if issubclass(w.category, UserWarning):
            print(f"sibsim: warning: {w.message}", file=sys.stderr)
    return 0
