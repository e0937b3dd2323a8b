"""The ``sibsim`` command line.

``sibsim run SCENARIO --draws N --seed S --out results.nc`` simulates a scenario file (or a
built-in scenario by name), writes the results as netCDF and prints a short summary.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sibsim.dataset.io import folder_problem
from sibsim.engine.progress import end_line
from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, load_scenario

if TYPE_CHECKING:
    from sibsim.money.deal import Deal

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
#: Exit status when the reader of standard output closed the pipe (128 + SIGPIPE).
EXIT_BROKEN_PIPE = 141


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as ONE line (``sibsim: error: ...``, exit 2) naming the
    option and what is allowed, like every other error of the command line."""

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        ns, extras = self.parse_known_args(args, namespace)
        if extras:  # named with the subcommand they were given to
            cmd = getattr(ns, "command", None)
            self.error(f"{cmd + ': ' if cmd else ''}unrecognized arguments: "
                       + " ".join(extras))
        return ns

    def error(self, message: str) -> None:  # type: ignore[override]
        sub = self.prog.split(" ", 1)[1] if " " in self.prog else ""
        where = f"{sub}: " if sub else ""
        text = " ".join(f"{where}{message}".split())
        self.exit(EXIT_USAGE, f"sibsim: error: {text} (see 'sibsim {sub} --help')\n"
                  .replace("sibsim  --help", "sibsim --help"))


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="sibsim",
        description="Monte Carlo simulation of Social Impact Bond financial risk: what a "
                    "commissioner pays and saves, what investors earn, and where each breaks even.",
        epilog="Run 'sibsim run --help' for the options of a run; 'sibsim scenarios' lists the "
               "built-in scenarios. Scenario files are TOML (see docs/scenario-format.md).")
    from sibsim import __version__

    p.add_argument("--version", action="version", version=f"sibsim {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser(
        "run", help="simulate a scenario and write the results",
        description="Simulate SCENARIO (a TOML file or a built-in scenario name), write the "
                    "results to a netCDF file and print a summary. With a contract in the "
                    "scenario, the summary covers investors, the commissioner and break-even.")
    run.add_argument("scenario", metavar="SCENARIO",
                     help="path of a TOML scenario file, or the name of a built-in scenario")
    run.add_argument("--draws", type=int, default=1000, metavar="N",
                     help="Monte Carlo draws (default: 1000)")
    run.add_argument("--seed", type=int, default=0, metavar="S",
                     help="random seed; the same seed gives identical results (default: 0)")
    run.add_argument("--out", type=Path, default=None, metavar="FILE",
                     help="netCDF file to write (default: results/<scenario>.nc); a name "
                          "ending in .zarr streams the results block by block to a zarr store "
                          "(bounded memory; see --resume)")
    run.add_argument("--engine", choices=("auto", "individual", "aggregate", "expected"),
                     default="auto", help="simulation engine (default: auto)")
    run.add_argument("--figure", type=Path, default=None, metavar="PNG",
                     help="also write the summary figure (money scenarios only)")
    run.add_argument("--budget", type=Path, default=None, metavar="FILE",
                     help="also write the yearly budget table (each payer's outcome payments, "
                          "appropriation and savings by calendar year): .csv or .xlsx "
                          "(money scenarios only)")
    run.add_argument("--report", type=Path, default=None, metavar="HTML",
                     help="also write the council report (one self-contained HTML file: "
                          "yearly budget, savings, chance of paying more than saving, "
                          "investors, break-even, assumptions; see 'sibsim report'), in --lang "
                          "(money scenarios only)")
    run.add_argument("--lang", choices=("en", "fi", "sv"), default="en",
                     help="language of the council report and of the budget table's headers "
                          "and number format: en "
                          "(comma-separated, decimal point), fi or sv (semicolon-separated, "
                          "decimal comma); default: en")
    run.add_argument("--confidence", type=float, default=0.9, metavar="C",
                     help="share of draws in which the yearly appropriation covers the "
                          "outcome payments, a fraction in (0, 1] (default: 0.9)")
    run.add_argument("--breakeven-range", type=float, nargs=2, default=None,
                     metavar=("NO_EFFECT", "STRONGEST"),
                     help="true effects searched for break-even, in the effect's measure "
                          "(e.g. 1.0 0.3 for a relative risk from 1 down to 0.3); default: the "
                          "scenario file's [breakeven] table, else halving or doubling")
    run.add_argument("--breakeven-outcome", default=None, metavar="NAME",
                     help="outcome process whose effect is searched for break-even (its "
                          "[[outcome]] name, e.g. jail_days); the other processes keep their "
                          "sampled effects. Default: the scenario file's [breakeven] outcome, "
                          "else the first process. Another process than the file's searches "
                          "its own default range unless --breakeven-range is given")
    run.add_argument("--block-draws", type=int, default=None, metavar="N",
                     help="draws processed at a time through the whole chain (bounds memory; "
                          "results do not depend on it); default: chosen from the memory "
                          "available, about 256 MiB of working memory a block")
    from sibsim.distributed import add_cluster_options
    from sibsim.store import add_store_options

    add_cluster_options(run)
    add_store_options(run)
    run.add_argument("--progress", action="store_true",
                     help="show progress on standard error even when it is not a terminal "
                          "(e.g. in a log)")
    run.add_argument("--no-progress", action="store_true",
                     help="do not show progress (it is shown only in a terminal anyway)")
    sub.add_parser("scenarios", help="list the built-in scenarios with a one-line description")
    from sibsim.cli_design import add_parsers as add_design_parsers

    add_design_parsers(sub)  # design, compare
    from sibsim.council.cli import add_parser as add_report_parser

    add_report_parser(sub)
    _add_evaluation_parsers(sub)
    from sibsim.analysis.sensitivity._command import add_parser as add_sensitivity

    add_sensitivity(sub)
    _add_new_parser(sub)
    from sibsim.cli_programme import add_parser as add_programme

    add_programme(sub)
    from sibsim.cli_portfolio import add_parser as add_portfolio

    add_portfolio(sub)
    return p


def _add_evaluation_parsers(sub: argparse._SubParsersAction) -> None:
    """``sibsim evaluation-design`` and ``sibsim value-of-information`` (see
    docs/evaluation-design.md)."""
    ed = sub.add_parser(
        "evaluation-design", help="probability of payment against the true effect for each "
                                  "evaluation design, comparison size, threshold and gate",
        description="Compare evaluation options of SCENARIO: for each true effect of a grid, "
                    "the chance that the contract pays, and each party's risk. Options are "
                    "every combination of the choices given (the scenario's own if none).")
    ed.add_argument("scenario", metavar="SCENARIO",
                    help="path of a TOML scenario file, or the name of a built-in scenario")
    ed.add_argument("--designs", nargs="+", default=None, metavar="KIND",
                    help="designs compared: rct, matched, historical, before_after, or "
                         "the scenario's own kind (predicted, blend)")
    ed.add_argument("--comparison-ratios", nargs="+", type=float, default=None, metavar="R",
                    help="comparison people per participant, e.g. 1 10")
    ed.add_argument("--thresholds", nargs="+", type=float, default=None, metavar="T",
                    help="measured effect (fraction) from which the metric pays, e.g. 0.05 0.1")
    ed.add_argument("--alphas", nargs="+", default=None, metavar="A",
                    help="significance levels of the gate, or 'none' for no gate")
    ed.add_argument("--effects", nargs="+", type=float, default=None, metavar="E",
                    help="true effects, in the scenario's measure (default: from no effect to "
                         "where payment is all but sure)")
    ed.add_argument("--draws", type=int, default=1000, metavar="N",
                    help="Monte Carlo draws per option and effect (default: 1000)")
    ed.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
    ed.add_argument("--figure", type=Path, default=None, metavar="PNG",
                    help="write the payment curves figure")
    ed.add_argument("--out", type=Path, default=None, metavar="FILE",
                    help="write the curves as netCDF (.nc)")
    vi = sub.add_parser(
        "value-of-information", aliases=["voi"],
        help="EVPI, EVPPI of the true effect and EVSI of a pilot for the decision to sign",
        description="Value of information of the commissioner's decision to sign SCENARIO "
                    "(definitions of dampack: calc_evpi, calc_evppi, calc_evsi).")
    vi.add_argument("scenario", metavar="SCENARIO",
                    help="path of a TOML scenario file, or the name of a built-in scenario")
    vi.add_argument("--draws", type=int, default=2000, metavar="N",
                    help="Monte Carlo draws (default: 2000)")
    vi.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
    vi.add_argument("--pilot-sizes", nargs="+", type=float, default=[50, 100, 200, 500, 1000],
                    metavar="N", help="pilot participants (default: 50 100 200 500 1000)")
    vi.add_argument("--value", choices=("savings", "public"), default="savings",
                    help="net benefit of signing: NPV of net cashable savings, or with the "
                         "wider public value (default: savings)")
    vi.add_argument("--figure", type=Path, default=None, metavar="PNG",
                    help="write EVSI against the pilot's size")


def check_counts(args: argparse.Namespace, min_draws: int = 1) -> str | None:
    """The message for a ``--draws`` below ``min_draws`` or a negative ``--seed`` (every
    subcommand's shared options), else None."""
    if args.draws < min_draws:
        return f"--draws: got {args.draws}; allowed: an integer >= {min_draws}"
    if args.seed < 0:
        return f"--seed: got {args.seed}; allowed: an integer >= 0"
    return None


def check_memory(deal: Deal, draws: int, copies: int = 1) -> str | None:
    """The message for a ``--draws`` whose run cannot fit in memory, else None.

    For the commands that hold every draw at once (design, compare, evaluation-design,
    value-of-information, sensitivity): the estimate of one unblocked analysis of ``deal``
    without break-even (:func:`sibsim.resources.estimate_run`), its results held ``copies``
    times (e.g. once per option compared). A lower bound of what the command needs: it refuses
    runs that would fail with an allocation error, before any work."""
    from sibsim.resources import RunTooLargeError, check_draws_fit

    try:
        check_draws_fit(deal, draws, copies, from_draws=1)
    except RunTooLargeError as err:
        return f"--draws: {err}"
    return None


def _open_deal(args: argparse.Namespace, outputs: dict, min_draws: int = 1) -> Deal | int:
    """Check the counts, load ``args.scenario`` and check ``outputs`` and the memory the draws
    need before any work: the deal, or the exit status of the one-line error already
    printed."""
    problem = check_counts(args, min_draws)
    if problem is not None:
        return _fail(problem)
    try:
        deal = load_scenario(args.scenario)
    except ScenarioFileError as err:
        return _fail(str(err))
    problem = check_outputs(args.scenario, outputs) or check_memory(deal, args.draws)
    return deal if problem is None else _fail(problem)


def _evaluation_main(args: argparse.Namespace) -> int:
    """Run ``evaluation-design`` or ``value-of-information``."""
    outputs = {"--figure": (args.figure, _figure_formats())}
    if getattr(args, "out", None) is not None:
        outputs["--out"] = (args.out, (".nc",))
    deal = _open_deal(args, outputs, min_draws=2)
    if isinstance(deal, int):
        return deal
    if not deal.has_money:
        return _fail(f"{args.scenario}: no contract; these tools need a priced deal")
    import matplotlib

    matplotlib.use("Agg")
    try:
        if args.command == "evaluation-design":
            from sibsim.analysis import evaluation_design as ed

            alphas = None
            if args.alphas is not None:
                try:
                    alphas = [None if a.lower() == "none" else float(a) for a in args.alphas]
                except ValueError:
                    return _fail(f"--alphas: got {args.alphas}; allowed: numbers in (0, 0.5] "
                                 "or 'none'")
            result = ed.payment_curves(deal, effects=args.effects, designs=args.designs,
                                       comparison_sizes=args.comparison_ratios,
                                       thresholds=args.thresholds, alphas=alphas,
                                       draws=args.draws, seed=args.seed)
            text = ed.format_payment_curves(result)
            plot = ed.plot_payment_curves
        else:
            from sibsim.analysis import voi

            result = voi.value_of_information(deal, draws=args.draws, seed=args.seed,
                                              pilot_sizes=args.pilot_sizes, value=args.value)
            text = voi.format_voi(result)
            plot = voi.plot_voi
    except (ValueError, TypeError) as err:
        return _fail(f"{args.scenario}: {err}")
    try:
        if args.figure is not None:  # written atomically: no half-written file
            from sibsim.plots import save_figure

            save_figure(plot(result).figure, args.figure, dpi=120)
        if getattr(args, "out", None) is not None:
            from sibsim.dataset.io import to_netcdf

            to_netcdf(result, args.out)
    except OSError as err:
        return _fail(f"cannot write the results: {err}")
    print(text)
    return EXIT_OK


def _add_new_parser(sub: argparse._SubParsersAction) -> None:
    new = sub.add_parser(
        "new", help="write a commented scenario file from a template",
        description="Write FILE, a scenario from a template, with a comment on every number "
                    "saying what it means and where its default comes from. Edit the numbers, "
                    "then run 'sibsim run FILE'. 'sibsim new --list' lists the templates.")
    new.add_argument("file", metavar="FILE", nargs="?", type=Path,
                     help="the TOML file to write")
    new.add_argument("--template", metavar="NAME", default=None,
                     help="the template: child-welfare, employment, youth-justice, "
                          "elderly-care or wellbeing-at-work")
    new.add_argument("--list", action="store_true", help="list the templates and exit")
    new.add_argument("--force", action="store_true", help="overwrite FILE if it exists")


def _new(args: argparse.Namespace) -> int:
    """``sibsim new``: list the templates, or write one."""
    from sibsim.templates import TemplateError, describe_templates, template_names, write_template

    if args.list:
        print(describe_templates())
        return EXIT_OK
    if args.template is None:
        return _fail("--template: missing; allowed: " + ", ".join(template_names())
                     + " (sibsim new --list describes them)")
    if args.file is None:
        return _fail("FILE: missing; give the TOML file to write, e.g. "
                     f"'sibsim new --template {args.template} my-deal.toml'")
    try:
        path = write_template(args.template, args.file, force=args.force)
    except TemplateError as err:
        return _fail(str(err))
    print(f"Wrote {path} (template {args.template}). Edit the numbers (each has a comment), "
          f"then run: sibsim run {path}")
    return EXIT_OK


def _scenario_list() -> str:
    """The built-in scenarios, one a line: name and one-line description in aligned columns
    (the description is the file's top-level ``description`` key)."""
    import tomllib

    rows = []
    for name, path in sorted(builtin_scenarios().items()):
        with open(path, "rb") as fh:
            rows.append((name, str(tomllib.load(fh).get("description", ""))))
    width = max((len(n) for n, _ in rows), default=0)
    return "\n".join(f"{n:<{width}}  {d}".rstrip() for n, d in rows)


def _fail(message: str) -> int:
    print(f"sibsim: error: {message}", file=sys.stderr)
    return EXIT_USAGE


class _Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C so that every temporary file is cleaned up."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    """A warning that reaches the command line as ONE line, without a source location (e.g.
    numpy's overflow notice before the engine refuses an implausible rate)."""
    text = " ".join(str(message).split())
    print(f"sibsim: warning: {text}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Exit statuses: 0 success, 2 bad input or a file that cannot be read or written (with one
    ``sibsim: error:`` line), 130 interrupted by Ctrl-C (SIGINT), 143 terminated (SIGTERM).
    An interrupted run leaves no partial or temporary file and keeps any previous output:
    a command's files (results, figure, budget table, report) are put in place together when
    all are written (:class:`sibsim.dataset.io.OutputSet`), so it never leaves some new and
    some old. A command started with Ctrl-C ignored (``nohup``, or ``cmd &`` in a script) keeps
    ignoring it, by Unix convention; SIGTERM stops it all the same.
    """
    from sibsim.dataset.io import OutputPlacementError, OutputSet

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    outputs = OutputSet()
    try:
        with warnings.catch_warnings():  # restores the default display afterwards
            warnings.showwarning = _show_warning
            with outputs.deferring():
                status = _main(argv)
                if status != EXIT_OK:  # a command that failed keeps every previous file
                    outputs.discard()
            return status
    except KeyboardInterrupt:
        end_line()
        print(f"sibsim: interrupted (Ctrl-C); {_written(outputs)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _Terminated:
        end_line()
        print(f"sibsim: terminated (SIGTERM); {_written(outputs)}", file=sys.stderr)
        return EXIT_TERMINATED
    except OutputPlacementError as err:  # renaming the written files failed (rare)
        return _fail(str(err))
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def console_main() -> None:
    """The ``sibsim`` command (and ``python -m sibsim``): :func:`main`, whose status is the
    process's exit status. After Ctrl-C or SIGTERM the process ends at once, once the line
    is printed and the outputs are cleaned up: the interpreter's shutdown (freeing every
    module and array, and collecting garbage) is skipped. An interrupted 60,000-draw run of
    Peterborough ended 0.73-0.82 s after SIGINT with it and 0.04-0.08 s without it (the
    2-core machine, quiet).

    A reader that stops early (``sibsim scenarios | head -3``) closes the pipe: the command
    then ends quietly with status 141 (128 + SIGPIPE, as a shell's own commands do), not
    with a traceback; the outputs already written stay in place."""
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # Python's recipe: point stdout at devnull, so that the flush at exit cannot fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os._exit(EXIT_BROKEN_PIPE)
    if status in (EXIT_INTERRUPTED, EXIT_TERMINATED):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


def _written(outputs: object) -> str:
    """What an interrupted command left: nothing, or (a signal that came while the files were
    being put in place, handled just after) every file it was asked for."""
    if getattr(outputs, "committed", False):
        return "it came after every output was written"
    return "nothing was written"


def _main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return EXIT_USAGE
    if args.command == "scenarios":
        print(_scenario_list())
        return EXIT_OK
    if args.command in ("design", "compare"):
        from sibsim import cli_design

        run = cli_design.run_design if args.command == "design" else cli_design.run_compare
        return run(args, _fail)
    if args.command == "report":
        from sibsim.council.cli import run_report

        return run_report(args)
    if args.command in ("evaluation-design", "value-of-information", "voi"):
        return _evaluation_main(args)
    if args.command == "sensitivity":
        return _sensitivity(args)
    if args.command == "new":
        return _new(args)
    if args.command == "programme":
        from sibsim.cli_programme import run_command

        return run_command(args, _fail)
    if args.command == "portfolio":
        from sibsim.cli_portfolio import run_command as run_portfolio_command

        return run_portfolio_command(args, _fail)
    problem = check_counts(args)
    if problem is not None:
        return _fail(problem)
    if args.block_draws is not None and args.block_draws < 1:
        return _fail(f"--block-draws: got {args.block_draws}; allowed: an integer >= 1")
    from sibsim.analysis.budget import TABLE_FORMATS, check_confidence

    try:
        check_confidence("--confidence", args.confidence)
    except ValueError as err:
        return _fail(str(err))
    try:
        deal = load_scenario(args.scenario)
    except ScenarioFileError as err:
        return _fail(str(err))
    if args.breakeven_range is not None or args.breakeven_outcome is not None:
        from sibsim.money.deal import BreakevenSearch, breakeven_process

        search = deal.breakeven
        outcome, effect_range = search.outcome, search.effect_range
        if args.breakeven_outcome is not None:
            try:
                new = breakeven_process(deal.scenario, args.breakeven_outcome,
                                        "--breakeven-outcome")
            except ValueError as err:
                return _fail(str(err))
            if new != breakeven_process(deal.scenario, outcome):
                effect_range = None  # the file's range is that of its own process's effect
            outcome = args.breakeven_outcome
        try:
            if args.breakeven_range is not None:
                effect_range = tuple(args.breakeven_range)
            deal = deal.replace(breakeven=BreakevenSearch(
                effect_range=effect_range, grid=search.grid, outcome=outcome))
        except ValueError as err:
            return _fail(f"--breakeven-range: {err}")
    out = args.out or Path("results") / f"{deal.name}.nc"
    zarr_out = out.suffix.lower() == ".zarr"  # a store: a folder, see sibsim.store
    problem = check_outputs(args.scenario, {"--out": (None if zarr_out else out, (".nc",)),
                                            "--figure": (args.figure, _figure_formats()),
                                            "--budget": (args.budget, TABLE_FORMATS),
                                            "--report": (args.report, (".html",))})
    if problem is not None:
        return _fail(problem)
    progress = False if args.no_progress else (True if args.progress else None)
    if zarr_out or args.resume:
        from sibsim.store import run_store_command

        return run_store_command(args, deal, out, progress, _fail)
    from sibsim import report
    from sibsim.analysis.power import SmallSampleWarning
    from sibsim.distributed import ClusterOptionError, cluster

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", report.UnfundedCostsWarning)
            warnings.simplefilter("always", report.BeyondHorizonWarning)
            warnings.simplefilter("always", SmallSampleWarning)
            with cluster(args, deal) as client:
                text = report.run_and_report(deal, draws=args.draws, seed=args.seed,
                                             engine=args.engine, out=out, figure=args.figure,
                                             progress=progress, block_draws=args.block_draws,
                                             budget=args.budget, lang=args.lang,
                                             confidence=args.confidence, council=args.report,
                                             source=_scenario_source(args.scenario),
                                             client=client)
    except ClusterOptionError as err:
        return _fail(str(err))
    except (ValueError, TypeError) as err:
        return _fail(f"{args.scenario}: {err}")
    except OSError as err:
        return _fail(f"cannot write the results: {err}")
    print(text)
    for w in caught:  # every warning as one line, no source location
        print(f"sibsim: warning: {w.message}", file=sys.stderr)
    return EXIT_OK


def _scenario_source(scenario: str) -> Path | None:
    """The TOML file of a scenario argument (a built-in name or a path), for citations."""
    from sibsim.scenario_file import builtin_scenarios

    path = Path(scenario)
    return path if path.is_file() else builtin_scenarios().get(scenario)


def _sensitivity(args: argparse.Namespace) -> int:
    """``sibsim sensitivity``: see :mod:`sibsim.analysis.sensitivity._command`."""
    from sibsim.analysis.sensitivity._command import run_command

    deal = _open_deal(args, {"--figure": (args.figure, _figure_formats())}, min_draws=2)
    if isinstance(deal, int):
        return deal
    try:
        text, fig = run_command(args, deal)
    except (ValueError, TypeError) as err:
        return _fail(f"{args.scenario}: {err}")
    if fig is not None:
        try:
            from sibsim.plots import save_figure

            save_figure(fig, args.figure, dpi=130)  # atomically: no half-written file
        except OSError as err:
            return _fail(f"cannot write the figure: {err}")
    print(text)
    return EXIT_OK


def _figure_formats() -> tuple[str, ...]:
    from matplotlib.figure import Figure

    # no suffix: save_figure writes a PNG
    return ("", *(f".{ext}" for ext in Figure().canvas.get_supported_filetypes()))


def check_outputs(source: str | Path | Sequence[str | Path],
                  outputs: dict[str, tuple[Path | None, tuple[str, ...]]]) -> str | None:
    """Check every output path before a run starts; return a problem, or None if all is well.

    ``outputs`` maps an option name to (path or None, allowed suffixes). Refused: a suffix
    not allowed, a path that exists but is not a regular file (a folder, a device, a FIFO), the
    scenario file itself (or any of the input files, when ``source`` is a sequence of them: a
    design file, the other options of a comparison), two outputs on the same path, and a path
    whose folder cannot be written (:func:`sibsim.dataset.io.folder_problem`).
    """
    seen: dict[Path, str] = {}
    sources = [Path(x) for x in ((source,) if isinstance(source, (str, os.PathLike))
                                 else source)]
    for option, (path, suffixes) in outputs.items():
        if path is None:
            continue
        path = Path(path)
        if path.suffix.lower() not in suffixes:
            return (f"{option}: got {str(path)!r}; allowed: a file name ending in "
                    + ", ".join(x for x in suffixes if x))
        if not path.suffix and "" in suffixes:
            path = path.with_suffix(".png")
        if path.exists() and not path.is_file():
            return f"{option}: {path} exists and is not a regular file; refusing to write on it"
        problem = folder_problem(path)
        if problem is not None:
            return f"{option}: cannot write {path}: {problem}"
        for src in sources:
            if src.is_file() and path.exists() and os.path.samefile(src, path):
                what = "the scenario file" if src == sources[0] else "an input file"
                return f"{option}: {path} is {what}; refusing to overwrite the input"
        key = path.resolve()
        if key in seen:
            return f"{option}: {path} is also the {seen[key]} file; give each output its own path"
        seen[key] = option
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
