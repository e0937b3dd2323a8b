"""``sibsim report DEAL --lang fi|sv|en --out report.html``: the council report from the CLI."""

from __future__ import annotations

import argparse
import csv
import sys
import warnings
from pathlib import Path

__all__ = ["add_parser", "run_report", "write_summary_csv"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "report", help="write the council report (HTML in Finnish, Swedish or English)",
        description="Run DEAL (a TOML file or a built-in scenario name), or read a saved run "
                    "with --from-results, and write the council report: one self-contained "
                    "HTML file with the yearly budget, savings, risks, investors' outcome, "
                    "break-even, assumptions with sources, and method notes.")
    p.add_argument("scenario", metavar="DEAL",
                   help="path of a TOML scenario file, or the name of a built-in scenario")
    p.add_argument("--lang", choices=("fi", "sv", "en"), default="fi",
                   help="language of the report and the tables (default: fi)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="HTML file to write (default: results/<deal>-<lang>.html)")
    p.add_argument("--draws", type=int, default=10_000, metavar="N",
                   help="Monte Carlo draws (default: 10000)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
    p.add_argument("--no-progress", action="store_true",
                   help="do not show progress (it is shown only in a terminal anyway), as in "
                        "sibsim run, design and compare")
    p.add_argument("--confidence", type=float, default=0.9, metavar="C",
                   help="confidence of the yearly appropriation, in (0, 1) (default: 0.9)")
    p.add_argument("--from-results", type=Path, default=None, metavar="FILE",
                   help="build the report from a results file of 'sibsim run' of the same "
                        "DEAL instead of running it again")
    p.add_argument("--csv", type=Path, default=None, metavar="FILE",
                   help="also write the summary and the yearly table as CSV (fi, sv: "
                        "semicolons and decimal commas); the yearly table goes to "
                        "FILE with '-yearly' before the suffix")
    p.add_argument("--xlsx", type=Path, default=None, metavar="FILE",
                   help="also write the yearly table as an Excel file")
    return p


def _fail(message: str) -> int:
    print(f"sibsim: error: {message}", file=sys.stderr)
    return 2


def _yearly_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}-yearly{path.suffix}")


def write_summary_csv(facts, path: Path, lang: str) -> Path:
    """The report's summary figures as a two-column CSV (key figure, value), in ``lang``:
    comma and decimal point in English, semicolon and decimal comma in Finnish and Swedish."""
    from sibsim.council.formats import Formatter
    from sibsim.council.texts import TEXTS
    from sibsim.dataset.io import atomic_output
    from sibsim.spreadsheet import safe_row

    t, f = TEXTS[lang], Formatter(lang)
    cur = facts.currency

    def n(x: float, digits: int = 0) -> str:
        s = f"{x:.{digits}f}"
        return s if lang == "en" else s.replace(".", ",")

    rows = [
        (f"{t['col_mean']}, {t['total']} ({cur})", n(facts.pay_mean)),
        (f"{t['col_p90']}, {t['total']} ({cur})", n(facts.pay_p90)),
        (f"{t['col_cash']}, {t['total']} ({cur})", n(facts.cash_mean)),
        (f"{t['col_net']}, {t['total']} ({cur})", n(facts.net_mean)),
        (f"{t['chance_title']} (%)", n(100 * facts.p_net_loss, 1)),
        (f"{t['ax_back_per_euro']}", n(facts.inv_money_back, 3)),
        (f"{t['legend_loss'].split(':')[0]} (%)", n(100 * facts.inv_p_loss, 1)),
    ]
    del f
    with atomic_output(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8-sig") as fh:
            w = csv.writer(fh, delimiter="," if lang == "en" else ";")
            w.writerow(safe_row([t["col_figure"], t["col_value"]]))
            w.writerows(safe_row(r) for r in rows)
    return path


def run_report(args: argparse.Namespace) -> int:
    """The ``report`` subcommand; returns the exit status."""
    from sibsim.cli import check_counts, check_outputs
    from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, load_scenario

    problem = check_counts(args)
    if problem is not None:
        return _fail(problem)
    if not 0 < args.confidence < 1:
        return _fail(f"--confidence: got {args.confidence}; allowed: a number in (0, 1), "
                     "e.g. 0.9")
    try:
        deal = load_scenario(args.scenario)
    except ScenarioFileError as err:
        return _fail(str(err))
    if not deal.has_money:
        return _fail(f"{args.scenario}: the scenario has no money tables ([[evaluation]], "
                     "[contract], [capital]); the report is about money")
    out = args.out or Path("results") / f"{deal.name}-{args.lang}.html"
    outputs = {"--out": (out, (".html", ".htm")), "--csv": (args.csv, (".csv",)),
               "--xlsx": (args.xlsx, (".xlsx",))}
    if args.csv is not None:
        outputs["--csv (yearly)"] = (_yearly_path(args.csv), (".csv",))
    problem = check_outputs(args.scenario, outputs)
    if problem is not None:
        return _fail(problem)
    source = builtin_scenarios().get(args.scenario)
    if source is None and Path(args.scenario).is_file():
        source = Path(args.scenario)
    from sibsim import report
    from sibsim.analysis.budget import write_budget_table, yearly_budget
    from sibsim.council.facts import council_facts
    from sibsim.council.report import council_report

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if args.from_results is not None:
                if not args.from_results.is_file():
                    return _fail(f"--from-results: {args.from_results} is not a file")
                try:
                    res = report.open_results(args.from_results)
                except (OSError, ValueError, KeyError) as err:
                    return _fail(f"--from-results: cannot read {args.from_results}: {err}")
                if res.money is None or res.money.sizes["period"] != deal.scenario.horizon \
                        or res.money.attrs.get("currency") != deal.currency:
                    return _fail(f"--from-results: {args.from_results} is not a run of "
                                 f"{args.scenario} (other horizon or currency)")
            else:
                res = report.analyse(deal, draws=args.draws, seed=args.seed,
                                     progress=False if args.no_progress else None)
            facts = council_facts(res, deal, args.confidence)
            html = council_report(res, deal, lang=args.lang, confidence=args.confidence,
                                  source=source, facts=facts)
            from sibsim.dataset.io import atomic_output

            with atomic_output(out) as tmp:
                Path(tmp).write_text(html, encoding="utf-8")
            written = [str(out)]
            budget = None
            if args.csv is not None or args.xlsx is not None:
                budget = yearly_budget(res.money, deal, args.confidence)
            if args.csv is not None:
                write_summary_csv(facts, args.csv, args.lang)
                write_budget_table(budget, _yearly_path(args.csv), lang=args.lang)
                written += [str(args.csv), str(_yearly_path(args.csv))]
            if args.xlsx is not None:
                write_budget_table(budget, args.xlsx, lang=args.lang)
                written.append(str(args.xlsx))
    except (ValueError, TypeError) as err:
        return _fail(f"{args.scenario}: {err}")
    except OSError as err:
        return _fail(f"cannot write the report: {err}")
    print("Written: " + ", ".join(written))
    for w in caught:
        if not issubclass(w.category, (DeprecationWarning, FutureWarning)):
            print(f"sibsim: warning: {w.message}", file=sys.stderr)
    return 0
