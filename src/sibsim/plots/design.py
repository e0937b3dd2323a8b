"""The contract-design figure: every variant, feasible or not, and the Pareto frontier.

>>> import sibsim
>>> from sibsim.plots.design import plot_design
>>> res = sibsim.design(sibsim.load_scenario("lapset-sib-1"),
...                     {"contract.caps.total": [5e6, 1e7]}, draws=50, seed=1)
>>> ax = plot_design(res)
>>> ax.get_xlabel()
"Commissioner's expected net savings NPV (EUR million)"
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sibsim.plots.figures import COMMISSIONER_COLOR, INVESTOR_COLOR

__all__ = ["plot_design"]


def plot_design(result: Any, ax: Any = None) -> Any:
    """Scatter of the variants of a :class:`~sibsim.analysis.design.DesignResult`.

    Horizontal: the commissioner's expected net savings NPV (millions of the deal's currency);
    vertical: the investors' expected return the frontier uses (% a year). Feasible variants
    are filled circles, infeasible ones grey crosses; the Pareto frontier of the feasible
    variants is joined by a line, ringed and numbered (``#i``: the variant's index, as in the
    printed summary); a dashed line marks the investors' minimum IRR when the frontier uses
    the same measure. Variants whose investor return is undefined are
    left out (counted in the legend).

    Parameters
    ----------
    result : DesignResult
    ax : matplotlib Axes, optional
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    d = result.data
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 5.0), layout="constrained")
    cur = d.attrs["currency"]
    ret_name = d.attrs["frontier_return"]
    npv = d["commissioner_npv"].values
    big = np.nanmax(np.abs(npv), initial=0.0) >= 1e6
    scale, unit = (1e6, "million") if big else (1e3, "thousand")
    x = npv / scale
    y = d[ret_name].values * 100
    feas = d["feasible"].values.astype(bool)
    front = d["on_frontier"].values.astype(bool)
    shown = np.isfinite(x) & np.isfinite(y)
    ax.scatter(x[~feas & shown], y[~feas & shown], marker="x", color="0.6", s=28,
               label=f"does not meet the constraints ({int((~feas & shown).sum())})")
    ax.scatter(x[feas & shown], y[feas & shown], marker="o", color=INVESTOR_COLOR, s=30,
               alpha=0.8, label=f"meets every constraint ({int((feas & shown).sum())})")
    if front.any():
        order = np.argsort(x[front])
        ax.plot(x[front][order], y[front][order], color=COMMISSIONER_COLOR, lw=1.5, zorder=3)
        ax.scatter(x[front], y[front], facecolors="none", edgecolors=COMMISSIONER_COLOR, s=110,
                   linewidths=1.5, zorder=4,
                   label=f"best trade-offs: Pareto frontier ({int(front.sum())})")
        if front.sum() <= 15:  # number them as the printed summary does
            for i in np.flatnonzero(front):
                ax.annotate(f"#{d['variant'].values[i]}", (x[i], y[i]), xytext=(7, 5),
                            textcoords="offset points", fontsize=8, color=COMMISSIONER_COLOR)
    hidden = int((~shown).sum())
    if hidden:
        ax.plot([], [], " ", label=f"{hidden} variant(s) without an investor IRR not shown")
    what = ("IRR of expected cash flows" if ret_name == "investor_irr_of_expected_flows"
            else "mean of per-draw IRRs")
    irr_min = result.constraints.investor_expected_irr_min
    if irr_min is not None and result.constraints.metric("investor_expected_irr_min") == ret_name:
        ax.axhline(100 * irr_min, color=INVESTOR_COLOR, ls="--", lw=1,
                   label=f"investors' minimum ({100 * irr_min:g}% a year)")
    ax.set_xlabel(f"Commissioner's expected net savings NPV ({cur} {unit})")
    ax.set_ylabel(f"Investors' expected return, {what} (% a year)")
    for values, line in ((x[shown], ax.axvline), (y[shown], ax.axhline)):
        if values.size and values.min() < 0 < values.max():  # zero inside the data: mark it
            line(0.0, color="0.75", lw=0.8, zorder=0)
    ax.set_title(f"Contract variants of {d.attrs['deal']}: {d.sizes['variant']} on "
                 f"{d.attrs['draws']:,} shared draws", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    return ax
