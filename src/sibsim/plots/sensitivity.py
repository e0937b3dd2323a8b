"""Figures of the sensitivity analysis: the tornado diagram and the index bars.

Examples
--------
>>> import sibsim
>>> t = sibsim.tornado(sibsim.load_scenario("peterborough"), output="commissioner_npv_mean",
...                    draws=40, seed=1, inputs=["effect.value", "baseline.rate"])
>>> ax = plot_tornado(t)
>>> ax.get_title()[:10]
'Commission'
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.transforms import offset_copy

from sibsim.plots.ticks import StepFormatter

__all__ = ["plot_indices", "plot_tornado"]

LOW, HIGH = "#4C72B0", "#DD8452"


def _fmt_value(x: float, units: str) -> str:
    if units == "per year":
        return f"{x:.1%}"
    if units == "probability":
        return f"{x:.0%}"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def plot_tornado(result: xr.Dataset, ax: Axes | None = None, max_inputs: int = 15) -> Axes:
    """Tornado diagram of :func:`sibsim.tornado`: for each input (largest swing on top), a bar
    from the base value of the output to its value with the input at its low end and one to
    its high end, labelled with the input's values there."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8.0, 1.8 + 0.45 * min(result.sizes["input"], max_inputs)))
    base = float(result.attrs["base"])
    units = result["value"].attrs.get("units", "")
    sub = result.isel(input=slice(0, max_inputs))
    n = sub.sizes["input"]
    ypos = np.arange(n)[::-1]
    for k in range(n):
        vals = sub["value"].values[k]
        if np.all(np.isfinite(vals)) and np.all(vals == base):
            ax.annotate("no change", (base, ypos[k]), xytext=(4, 0), textcoords="offset points",
                        va="center", fontsize=7, color="0.4")
            continue
        for j, color in ((0, LOW), (1, HIGH)):
            val = float(vals[j])
            if not np.isfinite(val):
                continue
            ax.barh(ypos[k], val - base, left=base, color=color, height=0.6)
            at = float(sub["input_value"].values[k, j])
            label = f"{at:,.0f}" if abs(at) >= 1000 else f"{at:.3g}"
            ax.annotate(label, (val, ypos[k]), xytext=(3 if val >= base else -3, 0),
                        textcoords="offset points", va="center", fontsize=7,
                        ha="left" if val >= base else "right", color="0.25")
    ax.axvline(base, color="0.2", lw=1)
    ax.set_ylim(-0.6, n - 0.4)  # every row, also one with a "no change" note and no bar
    ax.set_yticks(ypos)
    ax.set_yticklabels([str(x) for x in sub["input"].values], fontsize=8)
    unit = "" if units in ("per year", "probability", "") else f", {units}"
    ax.set_xlabel(f"{result.attrs.get('output_description', result.attrs['output'])}{unit} "
                  f"(base {_fmt_value(base, units)})")
    if units == "per year" or units == "probability":
        ax.xaxis.set_major_formatter(StepFormatter(lambda x, d: f"{x:.{d}%}", scale=100))
    else:
        big = np.nanmax(np.abs(np.append(sub["value"].values, base)))
        scale, suffix = (1e6, "M") if big >= 1e6 else (1e3, "k") if big >= 1e4 else (1.0, "")
        ax.xaxis.set_major_formatter(StepFormatter(
            lambda x, d: f"{x / scale:,.{d}f}{suffix}", scale=1.0 / scale, least=bool(suffix)))
        ax.xaxis.set_major_locator(plt.MaxNLocator(6))
    # two lines: long input names leave the axes narrow, and one line ran out of the figure
    ax.set_title(f"One-way sensitivity:\neach input at its {result.attrs.get('ends', '')}",
                 fontsize=10)
    # below the axis label at a fixed distance in points, whatever the axes' height (with one
    # input a share of the height would put it on the label)
    below = offset_copy(ax.transAxes, fig=ax.figure, y=-40, units="points")
    ax.legend(handles=[Patch(color=LOW, label="input at its low end"),
                       Patch(color=HIGH, label="input at its high end")],
              fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 0.0),
              bbox_transform=below, ncol=2, frameon=False)
    ax.margins(x=0.15)
    ax.figure.tight_layout()
    return ax


def plot_indices(result: xr.Dataset, output: str | None = None,
                 ax: Axes | None = None) -> Axes:
    """Bars of the first-order indices of one output (given-data or Sobol result), with
    two standard errors where known."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 1.2 + 0.4 * result.sizes["input"]))
    s = result["first_order"]
    if "output" in s.dims:
        output = output or str(s["output"].values[0])
        s = s.sel(output=output)
    err = None
    if "standard_error" in result:
        se = result["standard_error"]
        err = 2 * (se.sel(output=output) if "output" in se.dims else se).values
    order = np.argsort(np.nan_to_num(s.values, nan=-1.0))
    ax.barh(np.arange(s.size), s.values[order], color=LOW,
            xerr=None if err is None else err[order], capsize=2)
    ax.set_yticks(np.arange(s.size))
    ax.set_yticklabels([str(x) for x in s["input"].values[order]], fontsize=8)
    ax.axvline(0, color="0.2", lw=0.8)
    ax.set_xlabel("first-order index (share of the output's variance)")
    ax.set_title(f"First-order indices of {output or result.attrs.get('output', '')}",
                 fontsize=10)
    ax.figure.tight_layout()
    return ax
