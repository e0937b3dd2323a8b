"""``sibsim programme``: every deal of a programme table, and the fund's totals.

``sibsim programme TEMPLATE TABLE.csv --draws N --seed S --out prog.nc [--csv deals.csv]
[--budget fund.csv|fund.xlsx --lang en|fi|sv] [--workers N | --scheduler ADDRESS]`` reads the
deals (:func:`sibsim.programme.load_programme`), runs each one
(:func:`sibsim.programme.run_programme`), writes the results as netCDF and prints the fund's
yearly budget and how many deals pay out; ``--budget`` also writes the fund's yearly budget
(:func:`sibsim.programme.fund_budget`) as a council's table.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run_command"]

#: Lines of the deals' warnings printed (the rest are in the results file).
MAX_WARNINGS = 10


def add_parser(sub: Any) -> None:
    """Add the ``programme`` subcommand to the command line's subparsers."""
    from sibsim.distributed import add_cluster_options

    p = sub.add_parser(
        "programme", help="run every deal of a programme table (e.g. one per municipality) "
                          "and total the fund's yearly budget",
        description="Run the deals of TABLE, a CSV file with one row per deal over the template "
                    "deal TEMPLATE: a 'deal' column (each deal's name) and one column per "
                    "value that differs, headed by its path, e.g. scenario.cohort.entry[0], "
                    "contract.caps.total, start_year. Prints the fund's yearly outcome "
                    "payments (all deals together) with percentiles and how many deals pay "
                    "out; writes every deal's summary and the totals (see "
                    "docs/distributed.md).")
    p.add_argument("template", metavar="TEMPLATE",
                   help="the template deal: a TOML scenario file or a built-in scenario name")
    p.add_argument("table", metavar="TABLE", type=Path,
                   help="the programme table (CSV, comma- or semicolon-separated)")
    p.add_argument("--draws", type=int, default=1000, metavar="N",
                   help="Monte Carlo draws of each deal (default: 1000)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="random seed; each deal runs with a seed derived from (S, its name), so "
                        "the same seed gives identical results whatever the other rows "
                        "(default: 0)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="netCDF file to write (default: results/<table>.nc)")
    p.add_argument("--csv", type=Path, default=None, metavar="CSV",
                   help="also write one row per deal (its summary) as CSV")
    p.add_argument("--budget", type=Path, default=None, metavar="FILE",
                   help="also write the fund's yearly budget table (all deals together: "
                        "outcome payments, appropriation at --confidence, cashable and net "
                        "savings by year): .csv or .xlsx")
    p.add_argument("--lang", choices=("en", "fi", "sv"), default="en",
                   help="language of the budget table's headers and number format: en "
                        "(comma-separated, decimal point), fi or sv (semicolon-separated, "
                        "decimal comma); default: en")
    p.add_argument("--confidence", type=float, default=0.9, metavar="C",
                   help="share of draws in which the fund's yearly appropriation covers the "
                        "outcome payments, a fraction in (0, 1] (default: 0.9)")
    p.add_argument("--engine", choices=("auto", "individual", "aggregate", "expected"),
                   default="auto", help="simulation engine (default: auto)")
    add_cluster_options(p)
    p.add_argument("--no-progress", action="store_true", help="do not show progress")


def run_command(args: argparse.Namespace, fail: Any) -> int:
    """``sibsim programme``: returns the exit status (``fail(message)`` for bad input)."""
    from sibsim.analysis.budget import TABLE_FORMATS, check_confidence
    from sibsim.cli import check_counts, check_outputs
    from sibsim.programme import ProgrammeError, load_programme
    from sibsim.scenario_file import ScenarioFileError, load_scenario

    problem = check_counts(args)
    if problem is not None:
        return fail(problem)
    try:
        check_confidence("--confidence", args.confidence)
    except ValueError as err:
        return fail(str(err))
    out = args.out or Path("results") / f"{args.table.stem}.nc"
    outputs = {"--out": (out, (".nc",)), "--csv": (args.csv, (".csv",)),
               "--budget": (args.budget, TABLE_FORMATS)}
    for source in (args.table, args.template):
        problem = check_outputs(source, outputs)
        if problem is not None:
            return fail(problem.replace("the scenario file", "an input file"))
    try:
        template = load_scenario(args.template)
    except ScenarioFileError as err:
        return fail(str(err))
    try:
        programme = load_programme(template, args.table)
    except ProgrammeError as err:
        return fail(str(err))
    from sibsim.distributed import ClusterOptionError, cluster
    from sibsim.programme import (
        describe_programme,
        programme_warnings,
        run_programme,
        write_programme,
        write_programme_table,
    )

    progress = False if args.no_progress else None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with cluster(args, template) as client:
                res = run_programme(programme, draws=args.draws, seed=args.seed,
                                    engine=args.engine, confidence=args.confidence,
                                    client=client, progress=progress)
    except ClusterOptionError as err:
        return fail(str(err))
    except (ValueError, TypeError) as err:
        return fail(f"{args.table}: {err}")
    lines = [describe_programme(res), ""]
    try:
        write_programme(res, out)
        lines.append(f"Results written to {out}")
        if args.csv is not None:
            write_programme_table(res, args.csv)
            lines.append(f"Summary of each deal written to {args.csv}")
        if args.budget is not None:
            _write_fund_budget(res, args.budget, args.lang)
            lines.append(f"The fund's yearly budget written to {args.budget}")
    except OSError as err:
        return fail(f"cannot write the results: {err}")
    print("\n".join(lines))
    notes = programme_warnings(res)
    for text in notes[:MAX_WARNINGS]:
        print(f"sibsim: warning: {text}", file=sys.stderr)
    if len(notes) > MAX_WARNINGS:
        print(f"sibsim: warning: {len(notes) - MAX_WARNINGS} more warnings of the deals: the "
              f"'warnings' variable of {out} has each deal's", file=sys.stderr)
    for w in caught:
        if issubclass(w.category, UserWarning):
            print(f"sibsim: warning: {w.message}", file=sys.stderr)
    return 0


def _write_fund_budget(res: Any, path: Path, lang: str) -> None:
    """``--budget``: the fund's yearly budget as a CSV or Excel table in ``lang``."""
    from sibsim.analysis.budget import write_budget_table
    from sibsim.programme import fund_budget

    write_budget_table(fund_budget(res), path, lang=lang)
