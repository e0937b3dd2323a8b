"""The council report's figures: few elements, large fonts, labels in the report's language.

Each function takes the results container (:class:`~sibsim.report.SIBResults`) and an ``ax``,
like the analyst figures in :mod:`sibsim.plots`; the language's decimal sign is set by a
locale-independent tick formatter (no process-wide locale is changed).
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sibsim.council.facts import yearly_table
from sibsim.council.formats import Formatter
from sibsim.council.texts import TEXTS
from sibsim.money.deal import Deal
from sibsim.plots.ticks import StepFormatter

__all__ = ["FONT", "plot_budget_fan", "plot_investor_outcome", "plot_net_loss_chance"]

FONT = 14
BLUE, LIGHT, PALE, RED, GREEN = "#1f4e79", "#6fa8dc", "#cfe2f3", "#c0392b", "#2e7d32"


def _style(ax: Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=FONT - 1)
    ax.grid(axis="y", alpha=0.3)


def plot_budget_fan(results, ax: Axes, deal: Deal, lang: str = "en",
                    confidence: float = 0.9, yearly=None) -> Axes:
    """Gross outcome payments per calendar year: median line, 50% and 90% bands, and the
    appropriation at ``confidence`` (millions of the deal's currency)."""
    t, f = TEXTS[lang], Formatter(lang)
    y = yearly if yearly is not None else yearly_table(results.money, deal, confidence)
    yr = y["year"].values
    s = 1e6
    ax.fill_between(yr, y["gross_p05"] / s, y["gross_p95"] / s, color=PALE, step=None,
                    label=t["legend_90"])
    ax.fill_between(yr, y["gross_p25"] / s, y["gross_p75"] / s, color=LIGHT,
                    label=t["legend_50"])
    ax.plot(yr, y["gross_median"] / s, color=BLUE, lw=2.5, marker="o",
            label=t["legend_median"])
    conf = f.pct(confidence, 0)
    ax.plot(yr, y["appropriation"] / s, color=RED, lw=2, ls="--", marker="s",
            label=t["legend_approp"].format(conf=conf))
    ax.set_xlabel(t["ax_year"], fontsize=FONT)
    ax.set_ylabel(t["ax_payments"].format(unit=f.money_axis_unit(results.money.attrs[
        "currency"])), fontsize=FONT)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(len(yr), 12)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}"))
    ax.yaxis.set_major_formatter(StepFormatter(f.axis))
    ax.set_ylim(bottom=0)
    # above the axes, so that it never hides a band or the appropriation line
    ax.legend(fontsize=FONT - 2, frameon=False, loc="lower left", bbox_to_anchor=(0.0, 1.0),
              ncol=2)
    _style(ax)
    return ax


def _segment_label(ax: Axes, left: float, width: float, text: str, color: str) -> None:
    """Label a segment of the bar inside it in white when the text fits, else below it in the
    segment's colour (the text is never cut by the segment's edges or the figure's)."""
    if width <= 0:
        return
    label = ax.text(left + width / 2, 0, text, ha="center", va="center", color="white",
                    fontsize=FONT, fontweight="bold")
    canvas = ax.figure.canvas
    if not hasattr(canvas, "get_renderer"):  # a bare Figure(): measure with an Agg canvas
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(ax.figure)
    renderer = canvas.get_renderer()
    text_px = label.get_window_extent(renderer).width
    x0, x1 = ax.transData.transform([(left, 0), (left + width, 0)])[:, 0]
    if text_px <= 0.92 * (x1 - x0):
        return
    label.set(color=color, va="top", y=-0.4)
    # keep it inside the axes: anchor at the nearer end when the centre is too close to it
    half = 0.5 * text_px / (ax.transAxes.transform((1, 0))[0] - ax.transAxes.transform((0, 0))[0])
    centre = left + width / 2
    if centre - half < 0:
        label.set(x=0.0, ha="left")
    elif centre + half > 1:
        label.set(x=1.0, ha="right")


def plot_net_loss_chance(results, ax: Axes, lang: str = "en") -> Axes:
    """The chance that the commissioner pays more than it saves, as one horizontal bar."""
    t, f = TEXTS[lang], Formatter(lang)
    p = float(results.municipality["net_loss"].mean())
    ax.barh([0], [p], color=RED, height=0.6)
    ax.barh([0], [1 - p], left=[p], color=GREEN, height=0.6)
    ax.set_xlim(0, 1)
    ax.set_ylim(-1.1, 0.5)
    _segment_label(ax, 0.0, p, f"{t['chance_pays_more']}\n{f.pct(p, 0)}", RED)
    _segment_label(ax, p, 1 - p, f"{t['chance_saves']}\n{f.pct(1 - p, 0)}", GREEN)
    ax.set_yticks([])
    ax.xaxis.set_major_formatter(StepFormatter(f.pct, scale=100))
    ax.set_title(f"{t['chance_title']}: {f.pct(p, 0)}", fontsize=FONT + 1, loc="left")
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.tick_params(labelsize=FONT - 1)
    return ax


def plot_investor_outcome(results, ax: Axes, lang: str = "en") -> Axes:
    """Money investors get back per unit invested (all investors together), a histogram with
    the loss share (below 1.0) in red."""
    t, f = TEXTS[lang], Formatter(lang)
    inv = results.investors.sel(investor="all")
    moic = inv["moic"].values
    moic = moic[np.isfinite(moic)]
    loss = float(inv["loss"].mean())
    hi = max(1.5, float(np.quantile(moic, 0.995)) if moic.size else 1.5)
    edges = np.linspace(0, hi, 31)
    counts, _ = np.histogram(np.clip(moic, 0, hi), edges)
    share = counts / max(moic.size, 1)
    mids = 0.5 * (edges[1:] + edges[:-1])
    colors = [RED if m < 1 else BLUE for m in mids]
    ax.bar(mids, share, width=np.diff(edges), color=colors, edgecolor="white")
    ax.axvline(1.0, color="black", lw=1.5, ls="--")
    ax.set_xlabel(t["ax_back_per_euro"], fontsize=FONT)
    ax.set_ylabel(t["ax_share"], fontsize=FONT)
    ax.xaxis.set_major_formatter(StepFormatter(f.axis, least=1))
    ax.yaxis.set_major_formatter(StepFormatter(f.pct, scale=100))
    # the handles are given: an empty bar() has no patch to lend the legend its colour
    handles = [Line2D([], [], color="black", lw=1.5, ls="--", label=t["legend_break_even"]),
               Patch(color=RED, label=t["legend_loss"].format(p=f.pct(loss, 0)))]
    ax.legend(handles=handles, fontsize=FONT - 2, frameon=False, loc="lower left",
              bbox_to_anchor=(0, 1.0), ncol=2)
    _style(ax)
    return ax
