"""The ``sibsim sensitivity`` command (its options and its text), kept out of ``cli.py``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from sibsim.analysis.sensitivity._common import OUTPUTS, PER_DRAW

__all__ = ["add_parser", "run_command"]

METHODS = ("tornado", "given_data", "sobol", "discovery")


def add_parser(sub: Any) -> None:
    """Add ``sensitivity`` to the subcommands ``sub``."""
    p = sub.add_parser(
        "sensitivity", help="which assumption matters most: tornado, indices, where parties lose",
        description="Sensitivity of a deal to its uncertain inputs (those given as "
                    "distributions, see docs/sensitivity.md): a one-way tornado, first-order "
                    "indices from the draws, Sobol indices of the money assumptions and the "
                    "evaluations' inputs, or where "
                    "each party loses.")
    p.add_argument("scenario", metavar="SCENARIO",
                   help="path of a TOML scenario file, or the name of a built-in scenario")
    p.add_argument("--method", choices=METHODS, default="tornado",
                   help="tornado (default), given_data, sobol or discovery")
    p.add_argument("--output", default="investor_mean_irr", choices=tuple(OUTPUTS),
                   help="the output (tornado, sobol; given_data reports every output)")
    p.add_argument("--draws", type=int, default=1000, metavar="N",
                   help="Monte Carlo draws (default: 1000)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
    p.add_argument("--n", type=int, default=32, metavar="N",
                   help="Sobol base sample, a power of two (default: 32)")
    p.add_argument("--figure", type=Path, default=None, metavar="PNG",
                   help="write the figure (tornado, given_data, sobol)")


def _tornado_text(t: xr.Dataset, currency: str) -> str:
    units = t["value"].attrs.get("units", "")

    def f(x: float) -> str:
        if units in ("per year", "probability"):
            return f"{x:8.1%}"
        return f"{x:14,.0f}"

    money = "" if units in ("per year", "probability") else f" ({currency})"
    lines = [f"{t.attrs['output_description']}{money}: base {f(float(t.attrs['base'])).strip()} "
             f"({t.attrs['draws']} draws, seed {t.attrs['seed']}); each input at its "
             f"{t.attrs['ends']}, the others at their draws", ""]
    width = max(len(str(n)) for n in t["input"].values)
    lines.append(f"{'input':<{width}}  {'low end':>12} {'output':>14}  {'high end':>12} "
                 f"{'output':>14}")
    for k, name in enumerate(t["input"].values):
        lo, hi = t["input_value"].values[k]
        vlo, vhi = t["value"].values[k]
        lines.append(f"{name:<{width}}  {lo:12.4g} {f(vlo):>14}  {hi:12.4g} {f(vhi):>14}")
    if t.attrs.get("not_varied"):
        lines += ["", f"Not varied (several numbers each, no one-way ends; --method given_data "
                      f"takes each number): {t.attrs['not_varied']}"]
    return "\n".join(lines)


def _indices_text(s: xr.Dataset) -> str:
    lines = [f"First-order indices ({s.attrs['method']}, {s.attrs.get('draws')} draws): "
             "the share of each output's variance that the input alone explains", ""]
    width = max(len(str(n)) for n in s["input"].values)
    outs = [str(o) for o in s["output"].values]
    lines.append(f"{'input':<{width}}  " + "  ".join(f"{o:>22}" for o in outs))
    for i, name in enumerate(s["input"].values):
        cells = []
        for j in range(len(outs)):
            x, se = s["first_order"].values[j, i], s["standard_error"].values[j, i]
            cells.append(f"{x:10.3f} ± {se:.3f}".rjust(22) if np.isfinite(x) else
                         f"{'(no variation)':>22}")
        lines.append(f"{name:<{width}}  " + "  ".join(cells))
    return "\n".join(lines)


def run_command(args: argparse.Namespace, deal: Any) -> tuple[str, Any]:
    """Run the method and return its text and the figure (or None)."""
    from sibsim.analysis.sensitivity import sensitivity

    fig = None
    if args.method == "tornado":
        res = sensitivity(deal, method="tornado", output=args.output, draws=args.draws,
                          seed=args.seed)
        text = _tornado_text(res, deal.currency)
        if args.figure is not None:
            from sibsim.plots.sensitivity import plot_tornado

            fig = plot_tornado(res).figure
    elif args.method == "sobol":
        res = sensitivity(deal, method="sobol", output=args.output, draws=args.draws,
                          seed=args.seed, n=args.n)
        text = "\n".join([f"Sobol indices of {args.output} ({res.attrs['evaluations']} runs "
                          f"of the money chain over {args.draws} outcome draws)", ""]
                         + [f"{n:<50} first order {a:6.3f}   total {b:6.3f}" for n, a, b in
                            zip(res["input"].values, res["first_order"].values,
                                res["total_order"].values, strict=True)])
        if args.figure is not None:
            from sibsim.plots.sensitivity import plot_indices

            fig = plot_indices(res).figure
    else:
        from sibsim.report import analyse

        results = analyse(deal, draws=args.draws, seed=args.seed, progress=False,
                          with_breakeven=False)
        if args.method == "given_data":
            res = sensitivity(method="given_data", results=results)
            text = _indices_text(res)
            if args.figure is not None:
                from sibsim.plots.sensitivity import plot_indices

                fig = plot_indices(res, output=OUTPUTS[args.output][0]).figure
        else:
            res = sensitivity(method="discovery", results=results)
            text = "Where each party loses (a depth-2 tree over the uncertain inputs):\n" + \
                "\n".join(f"- {v['statement']}" for v in res.values())
    return text, fig


assert set(PER_DRAW) == {v[0] for v in OUTPUTS.values()}
