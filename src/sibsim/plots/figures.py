"""Figures of SIB results: investor returns, break-even effects, cash over time, loss curves.

Every function here only *reads* the labelled results of :mod:`sibsim.analysis` and
:mod:`sibsim.money` (quantiles, shares and cumulative sums for display are the most it derives);
no financial quantity is computed in this module. The matplotlib object API is used throughout:
panel functions draw on an ``ax`` (created when not given) and return it; the summary figure
returns its :class:`~matplotlib.figure.Figure`. Nothing calls ``plt.show()``, so all of it works
under the non-interactive "Agg" backend.

Colours are consistent across panels: investors :data:`INVESTOR_COLOR` (blue), the commissioner
:data:`COMMISSIONER_COLOR` (vermillion), from the colour-blind-safe Okabe-Ito palette.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, PercentFormatter

from sibsim.analysis.breakeven import breakeven_quantiles
from sibsim.dataset.io import atomic_output

__all__ = [
    "COMMISSIONER_COLOR",
    "INVESTOR_COLOR",
    "plot_breakeven_distribution",
    "plot_cumulative_net_cash",
    "plot_irr_distribution",
    "plot_loss_curve",
    "plot_npv_distribution",
    "save_figure",
    "sib_summary_figure",
]

#: Colour of everything about investors (Okabe-Ito blue).
INVESTOR_COLOR = "#0072B2"
#: Colour of everything about the commissioner (Okabe-Ito vermillion).
COMMISSIONER_COLOR = "#D55E00"
#: Colour of the total-loss bar of the IRR histogram.
TOTAL_LOSS_COLOR = "#4D4D4D"
#: Colour of reference (zero) lines.
REFERENCE_COLOR = "#333333"

#: Style of each break-even party: (label, colour, line style, filled).
_PARTY_STYLE: dict[str, tuple[str, str, str, bool]] = {
    "investors": ("Investors (NPV = 0)", INVESTOR_COLOR, "-", True),
    "investors_target_irr": ("Investors (IRR = target)", INVESTOR_COLOR, "--", False),
    "commissioner": ("Commissioner (net savings NPV = 0)", COMMISSIONER_COLOR, "-", True),
}
_RATIO_MEASURES = {"rr": "risk", "hr": "hazard", "or": "odds"}
_FONT_SMALL = 8.5


# --------------------------------------------------------------------------------------------
# helpers (presentation only)
# --------------------------------------------------------------------------------------------


def _new_ax(ax: Axes | None, figsize: tuple[float, float] = (6.5, 4.5)) -> Axes:
    """``ax``, or the single axes of a new figure."""
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=figsize, layout="constrained")
    return new


def _money_scale(values: np.ndarray) -> tuple[float, str]:
    """(divisor, suffix) so that money ``values`` read as units, thousands, millions, billions."""
    finite = np.abs(np.asarray(values, dtype=float))
    finite = finite[np.isfinite(finite)]
    peak = float(finite.max()) if finite.size else 0.0
    for factor, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if peak >= factor:
            return factor, suffix
    return 1.0, ""


def _money_unit(currency: str, suffix: str) -> str:
    """Axis unit such as ``"GBP m"``."""
    return " ".join(p for p in (currency, suffix) if p) or "money"


def _bin_edges(x: np.ndarray, max_bins: int = 50) -> np.ndarray:
    """Histogram bin edges for finite ``x`` (numpy's "auto" rule, at most ``max_bins`` bins)."""
    edges = np.histogram_bin_edges(x, bins="auto")
    if len(edges) - 1 > max_bins:
        edges = np.histogram_bin_edges(x, bins=max_bins)
    return edges


def _effect_axis(measure: str, values: np.ndarray) -> tuple[Callable[[np.ndarray], np.ndarray],
                                                             str, bool]:
    """How to show true effects of ``measure``: (transform, axis label, shown in percent).

    Ratios (rr, hr, or) become a percentage reduction ``(1 - ratio) * 100`` (or an increase
    ``(ratio - 1) * 100`` when the effects lie above 1); other measures are shown as they are.
    """
    measure = str(measure).lower()
    if measure in _RATIO_MEASURES:
        what = _RATIO_MEASURES[measure]
        finite = values[np.isfinite(values)]
        if finite.size and np.median(finite) > 1.0:
            return ((lambda v: (v - 1.0) * 100.0),
                    f"True effect: increase in {what} ({measure})", True)
        return ((lambda v: (1.0 - v) * 100.0),
                f"True effect: reduction in {what} ({measure})", True)
    return (lambda v: v), f"True effect ({measure})", False


def _share_pct(mask: np.ndarray, n: int) -> float:
    return 100.0 * float(np.count_nonzero(mask)) / n if n else float("nan")


def _no_data(ax: Axes, message: str, clear_ticks: bool = False) -> None:
    if clear_ticks:
        ax.set_xticks([])
        ax.set_yticks([])
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center",
            fontsize=10, color="0.35", wrap=True)


def _style(ax: Axes) -> None:
    ax.grid(True, axis="y", color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


# --------------------------------------------------------------------------------------------
# panels
# --------------------------------------------------------------------------------------------


def plot_irr_distribution(inv: xr.Dataset, investor: str = "all", ax: Axes | None = None) -> Axes:
    """Histogram of the investors' annualised IRR across draws, total losses shown apart.

    Parameters
    ----------
    inv : xarray.Dataset
        Investor metrics (:func:`sibsim.analysis.metrics.investor_metrics`): needs
        ``irr_annual(draw, investor)`` and ``loss(draw, investor)``; ``irr_status`` is used when
        present to recognise total losses.
    investor : str
        A value of the ``investor`` coordinate: a tranche name or ``"all"``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on (its figure is ``ax.figure``).

    Notes
    -----
    Bars are shares of *all* draws (%), so the finite-IRR bars, the total-loss bar (IRR = -100%,
    drawn left of a break in the axis) and the draws with no IRR add up to 100%. The title gives
    P(investors lose money), the mean of ``inv.loss``.

    Examples
    --------
    >>> ax = plot_irr_distribution(investor_metrics(money), investor="all")  # doctest: +SKIP
    """
    ax = _new_ax(ax)
    sel = inv.sel(investor=investor)
    irr = np.asarray(sel["irr_annual"].values, dtype=float).ravel()
    n = irr.size
    if "received" in sel and "invested" in sel:  # total loss: nothing at all comes back
        total = ((np.asarray(sel["received"].values).ravel() <= 0)
                 & (np.asarray(sel["invested"].values).ravel() > 0))
    else:
        total = irr <= -1.0 + 1e-9
    # IRR of -100% on net flows although money came back: labelled by its IRR status
    finite = np.isfinite(irr) & ~total & (irr > -1.0 + 1e-9)
    no_irr = ~finite & ~total
    x = irr[finite] * 100.0
    weight = 100.0 / n if n else 0.0

    handles: list = []
    heights = [0.0]
    if x.size:
        edges = _bin_edges(x)
        counts, _, _ = ax.hist(x, bins=edges, weights=np.full(x.size, weight),
                               color=INVESTOR_COLOR, alpha=0.85, edgecolor="white",
                               linewidth=0.5)
        heights.append(float(np.max(counts)))
        handles.append(Patch(facecolor=INVESTOR_COLOR, alpha=0.85,
                             label=f"IRR > -100% ({_share_pct(finite, n):.1f}% of draws)"))
        lo, hi = float(edges[0]), float(edges[-1])
        width = float(edges[1] - edges[0])
    else:
        lo, hi, width = -10.0, 10.0, 5.0

    # Total losses: one bar at -100%. When the other IRRs stop well short of -100% the bar is
    # moved next to them, behind a break in the axis, so that the histogram keeps its resolution.
    gap = lo + 100.0
    broken = bool(np.any(total)) and gap > 3.0 * width and gap > 0.5 * max(hi - lo, width)
    pos = lo - 2.0 * width if broken else -100.0
    if np.any(total):
        share = _share_pct(total, n)
        ax.bar([pos], [share], width=width, color=TOTAL_LOSS_COLOR, hatch="///",
               edgecolor="white", linewidth=0.5)
        heights.append(share)
        handles.append(Patch(facecolor=TOTAL_LOSS_COLOR, hatch="///", edgecolor="white",
                             label=f"Total loss, IRR = -100% ({share:.1f}% of draws)"))

    handles.append(ax.axvline(0.0, color=REFERENCE_COLOR, linestyle="--", linewidth=1.0,
                              label="IRR = 0"))
    net_minus = no_irr & (irr <= -1.0 + 1e-9)  # IRR status TOTAL_LOSS, yet money came back
    if np.any(net_minus):
        handles.append(Line2D([], [], linestyle="none",
                              label=f"IRR -100% on net flows, some money back: "
                                    f"{np.count_nonzero(net_minus)} draws "
                                    f"({_share_pct(net_minus, n):.1f}%)"))
    no_irr = no_irr & ~net_minus
    if np.any(no_irr):
        handles.append(Line2D([], [], linestyle="none",
                              label=f"No IRR defined: {np.count_nonzero(no_irr)} draws "
                                    f"({_share_pct(no_irr, n):.1f}%)"))
    if not x.size and not np.any(total):
        _no_data(ax, "No IRR defined in any draw", clear_ticks=True)

    percent = PercentFormatter(xmax=100, decimals=None)
    if broken:
        # Fixed ticks on the continuous part of the axis, plus "-100%" under the total-loss bar.
        left, right = ax.get_xlim()
        cont_lo = lo - 0.5 * width
        ticks = [float(t) for t in MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(
            cont_lo, max(right, hi)) if cont_lo <= t <= right]
        ax.xaxis.set_major_locator(FixedLocator([pos, *ticks]))
        ax.xaxis.set_major_formatter(FuncFormatter(
            lambda v, _i: f"{-100.0 if np.isclose(v, pos) else v:g}%".replace("-", "\u2212")))
        ax.axvline(lo - width, color="0.75", linestyle=":", linewidth=1.0)
        ax.text(lo - width, 0.0, "//", transform=ax.get_xaxis_transform(), ha="center",
                va="center", fontsize=10, color="0.3", clip_on=False,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
        ax.set_xlim(min(left, pos - width), right)
    else:
        ax.xaxis.set_major_formatter(percent)
    ax.set_ylim(0.0, max(heights) * 1.3 or 1.0)
    ax.set_xlabel("Annualised IRR" + (" (axis broken at //)" if broken else ""))
    ax.set_ylabel("Share of draws (%)")
    who = "all investors" if investor == "all" else f"tranche '{investor}'"
    loss = np.asarray(sel["loss"].values, dtype=float)
    p_loss = 100.0 * float(np.nanmean(loss)) if np.isfinite(loss).any() else float("nan")
    ax.set_title(f"Annualised IRR, {who}\nP(investors lose money) = {p_loss:.1f}%")
    ax.legend(handles=handles, fontsize=_FONT_SMALL, frameon=False, loc="best")
    _style(ax)
    return ax


def plot_breakeven_distribution(be: xr.Dataset, ax: Axes | None = None,
                                parties: Sequence[str] | None = ("investors", "commissioner"),
                                var: str = "breakeven_effect") -> Axes:
    """Distribution across draws of the true effect at which each party breaks even.

    Parameters
    ----------
    be : xarray.Dataset
        Break-even results: ``breakeven_effect(draw, party)`` (NaN where no break-even lies in
        the searched range) with ``attrs["measure"]`` (``"rr"``, ``"hr"``, ``"or"`` or
        ``"absolute"``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.
    parties : sequence of str, optional
        Parties to show, those present in ``be``; ``None`` shows every party.
    var : str
        The variable of ``be`` to show (any ``(draw, party)`` variable of break-even effects).

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Ratio measures are shown as the percentage reduction ``(1 - ratio) * 100``; bars are shares
    of all draws, and each legend entry gives the median and the share with no break-even in range.

    Examples
    --------
    >>> ax = plot_breakeven_distribution(breakeven(scenario, ds, terms))  # doctest: +SKIP
    """
    ax = _new_ax(ax)
    present = [str(p) for p in be["party"].values]
    chosen = present if parties is None else [p for p in parties if p in present] or present
    data = be[var].sel(party=chosen)
    raw = np.asarray(data.transpose("draw", "party").values, dtype=float)
    measure = str(be.attrs.get("measure", be[var].attrs.get("units", "rr")))
    to_x, xlabel, pct = _effect_axis(measure, raw)
    x_all = to_x(raw)
    n = raw.shape[0]
    finite_all = x_all[np.isfinite(x_all)]
    edges = _bin_edges(finite_all, max_bins=40) if finite_all.size else None

    handles = []
    top = 0.0
    for i, party in enumerate(chosen):
        label, color, ls, filled = _PARTY_STYLE.get(
            party, (party.replace("_", " ").capitalize(), f"C{i + 2}", "-", False))
        x = x_all[:, i]
        ok = np.isfinite(x)
        none_share = _share_pct(~ok, n)
        if ok.any() and edges is not None:
            w = np.full(int(ok.sum()), 100.0 / n)
            if filled:
                ax.hist(x[ok], bins=edges, weights=w, histtype="stepfilled", color=color,
                        alpha=0.25)
            counts, _, _ = ax.hist(x[ok], bins=edges, weights=w, histtype="step", color=color,
                                   linestyle=ls, linewidth=1.8)
            top = max(top, float(np.max(counts)))
            # the median over every draw: one without break-even needs more than the range
            med_raw = breakeven_quantiles(raw[:, i], measure, (0.5,))[0]
            if np.isfinite(med_raw):
                med = float(to_x(np.array([med_raw]))[0])
                ax.axvline(med, color=color, linestyle=":", linewidth=1.4)
                med_text = f"{med:.1f}%" if pct else f"{med:.3g}"
            else:
                med_text = "beyond the range"
            text = f"{label}\n  median {med_text}; none in range: {none_share:.0f}%"
        else:
            text = f"{label}\n  none in range: {none_share:.0f}%"
        handles.append(Line2D([], [], color=color, linestyle=ls, linewidth=1.8, label=text))
    if edges is None:
        _no_data(ax, "No break-even effect within the searched range", clear_ticks=True)
    else:
        handles.append(Line2D([], [], color="0.4", linestyle=":", linewidth=1.4, label="median"))
    if pct:
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=None))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Share of draws (%)")
    ax.set_ylim(0.0, top * 1.5 or 1.0)  # headroom for the legend
    ax.set_title("True effect needed to break even")
    ax.legend(handles=handles, fontsize=_FONT_SMALL, frameon=False, loc="upper right")
    _style(ax)
    return ax


def plot_cumulative_net_cash(money: xr.Dataset, mun: xr.Dataset, inv: xr.Dataset | None = None,
                             ax: Axes | None = None, band: tuple[float, float] = (0.05, 0.95),
                             ) -> Axes:
    """Cumulative net cash of the investors and of the commissioner over the periods.

    Parameters
    ----------
    money : xarray.Dataset
        Money flows (:func:`sibsim.money.sib.money_flows`): ``flow(draw, party, period)`` and
        ``attrs`` ``tranches``, ``currency`` and ``period``.
    mun : xarray.Dataset
        Commissioner metrics: ``cumulative_net_cash(draw, period)`` (and ``breakeven_period``).
    inv : xarray.Dataset, optional
        Investor metrics; when given, the share of draws in which the investors are ahead at the
        horizon (finite ``payback_period`` of ``"all"``) is added to the title, as is the
        commissioner's (finite ``mun.breakeven_period``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.
    band : (float, float)
        Quantiles of the shaded band (default the 5-95% range across draws).

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The investors' line is the running sum of all tranches' flows (undiscounted), the
    commissioner's is ``mun.cumulative_net_cash``; each shows the median across draws.

    Examples
    --------
    >>> ax = plot_cumulative_net_cash(money, municipality_metrics(money), investor_metrics(money))
    ... # doctest: +SKIP
    """
    ax = _new_ax(ax)
    tranches = [t for t in str(money.attrs.get("tranches", "")).split(",") if t]
    periods = np.asarray(money["period"].values)
    series: list[tuple[str, str, np.ndarray]] = []
    ahead: list[str] = []
    if tranches:
        flows = money["flow"].sel(party=tranches).sum("party").transpose("draw", "period")
        inv_cash = np.cumsum(np.asarray(flows.values, dtype=float), axis=-1)
        series.append(("Investors" + (", all tranches" if len(tranches) > 1 else ""),
                       INVESTOR_COLOR, inv_cash))
        if inv is not None and "payback_period" in inv:
            pb = np.asarray(inv["payback_period"].sel(investor="all").values, dtype=float)
            ahead.append(f"investors {_share_pct(np.isfinite(pb), pb.size):.0f}%")
    com_cash = np.asarray(mun["cumulative_net_cash"].transpose("draw", "period").values, float)
    series.append(("Commissioner", COMMISSIONER_COLOR, com_cash))
    if "breakeven_period" in mun:
        bp = np.asarray(mun["breakeven_period"].values, dtype=float)
        ahead.append(f"commissioner {_share_pct(np.isfinite(bp), bp.size):.0f}%")

    factor, suffix = _money_scale(np.concatenate([s[2].ravel() for s in series]))
    q_lo, q_hi = band
    handles = []
    for name, color, cash in series:
        scaled = cash / factor
        if np.isfinite(scaled).any():
            lo, med, hi = np.nanquantile(scaled, [q_lo, 0.5, q_hi], axis=0)
        else:
            lo = med = hi = np.full(scaled.shape[-1], np.nan)
        fill = ax.fill_between(periods, lo, hi, color=color, alpha=0.18, linewidth=0,
                               label=f"{name}: {q_lo:.0%}-{q_hi:.0%} of draws")
        (line,) = ax.plot(periods, med, color=color, linewidth=2.0, marker="o", markersize=4,
                          label=f"{name}: median")
        handles += [line, fill]
    ax.axhline(0.0, color=REFERENCE_COLOR, linewidth=1.0)
    period = str(money.attrs.get("period", "period"))
    ax.set_xlabel(f"{period.capitalize()} (from start)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    currency = str(money.attrs.get("currency", ""))
    ax.set_ylabel(f"Cumulative net cash ({_money_unit(currency, suffix)})")
    title = "Cumulative net cash (undiscounted)"
    if ahead:
        title += "\nAhead at the horizon: " + ", ".join(ahead) + " of draws"
    ax.set_title(title)
    ax.legend(handles=handles, fontsize=_FONT_SMALL, loc="best", framealpha=0.9,
              edgecolor="0.8", fancybox=False)
    _style(ax)
    return ax


def plot_loss_curve(curve: xr.Dataset, ax: Axes | None = None, measure: str | None = None) -> Axes:
    """P(investor loss) and P(commissioner net loss) against the true effect.

    Parameters
    ----------
    curve : xarray.Dataset
        Loss curves on an ``effect`` dimension: ``p_investor_loss(effect)`` and
        ``p_commissioner_net_loss(effect)`` (probabilities in [0, 1]); the ``effect`` coordinate
        holds true effects in the measure ``attrs["measure"]``. The break-even dataset itself
        (which carries these variables) can be passed.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.
    measure : str, optional
        Overrides ``curve.attrs["measure"]`` (default ``"rr"``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = plot_loss_curve(breakeven(scenario, ds, terms))  # doctest: +SKIP
    """
    ax = _new_ax(ax)
    measure = measure or str(curve.attrs.get("measure", "rr"))
    effect = np.asarray(curve["effect"].values, dtype=float)
    to_x, xlabel, pct = _effect_axis(measure, effect)
    x = to_x(effect)
    order = np.argsort(x)
    drawn = 0
    for var, label, color in (
        ("p_investor_loss", "P(investors lose money)", INVESTOR_COLOR),
        ("p_commissioner_net_loss", "P(commissioner net loss)", COMMISSIONER_COLOR),
    ):
        if var not in curve:
            continue
        y = 100.0 * np.asarray(curve[var].values, dtype=float)
        ax.plot(x[order], y[order], color=color, linewidth=2.0, marker="o", markersize=3.5,
                label=label)
        drawn += 1
    if not drawn:
        _no_data(ax, "No loss curve in the dataset")
    ax.axhline(50.0, color="0.7", linestyle=":", linewidth=1.0)
    ax.set_ylim(-3, 103)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=0))
    if pct:
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=None))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Probability of loss")
    ax.set_title("Probability of loss against the true effect")
    if drawn:
        ax.legend(fontsize=_FONT_SMALL, frameon=False, loc="best")
    ax.grid(True, color="0.9", linewidth=0.8)
    _style(ax)
    return ax


def plot_npv_distribution(inv: xr.Dataset, mun: xr.Dataset, investor: str = "all",
                          ax: Axes | None = None, currency: str | None = None) -> Axes:
    """Histograms of the investors' NPV and the commissioner's NPV of net savings.

    Parameters
    ----------
    inv, mun : xarray.Dataset
        Investor metrics (``npv(draw, investor)``) and commissioner metrics
        (``npv_net_savings(draw)``).
    investor : str
        A value of the ``investor`` coordinate.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.
    currency : str, optional
        Currency for the axis label; default the ``units`` attribute of ``mun.npv_net_savings``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = plot_npv_distribution(investor_metrics(money), municipality_metrics(money))
    ... # doctest: +SKIP
    """
    ax = _new_ax(ax)
    series = [
        ("Investors (at their discount rate)", INVESTOR_COLOR,
         np.asarray(inv["npv"].sel(investor=investor).values, dtype=float).ravel()),
        ("Commissioner, net savings (social rate)", COMMISSIONER_COLOR,
         np.asarray(mun["npv_net_savings"].values, dtype=float).ravel()),
    ]
    factor, suffix = _money_scale(np.concatenate([s[2] for s in series]))
    finite = np.concatenate([s[2][np.isfinite(s[2])] for s in series]) / factor
    edges = _bin_edges(finite, max_bins=40) if finite.size else None
    for label, color, v in series:
        ok = np.isfinite(v)
        p_neg = _share_pct(v[ok] < 0, v.size)
        if edges is not None and ok.any():
            w = np.full(int(ok.sum()), 100.0 / v.size)
            ax.hist(v[ok] / factor, bins=edges, weights=w, histtype="stepfilled", color=color,
                    alpha=0.25)
            ax.hist(v[ok] / factor, bins=edges, weights=w, histtype="step", color=color,
                    linewidth=1.8, label=f"{label}: P(NPV < 0) = {p_neg:.0f}%")
    if edges is None:
        _no_data(ax, "No finite NPV")
    ax.axvline(0.0, color=REFERENCE_COLOR, linestyle="--", linewidth=1.0)
    cur = currency if currency is not None else str(mun["npv_net_savings"].attrs.get("units", ""))
    ax.set_xlabel(f"NPV ({_money_unit(cur, suffix)})")
    ax.set_ylabel("Share of draws (%)")
    ax.set_title("Net present value across draws")
    if edges is not None:
        ax.legend(fontsize=_FONT_SMALL, frameon=False, loc="upper left")
    _style(ax)
    return ax


# --------------------------------------------------------------------------------------------
# summary figure and saving
# --------------------------------------------------------------------------------------------


def sib_summary_figure(money: xr.Dataset, inv: xr.Dataset, mun: xr.Dataset,
                       be: xr.Dataset | None = None, curve: xr.Dataset | None = None,
                       title: str | None = None, investor: str = "all",
                       figsize: tuple[float, float] = (12.0, 9.0)) -> Figure:
    """Two-by-two summary of a SIB simulation: returns, break-even, cash over time, loss curve.

    Parameters
    ----------
    money : xarray.Dataset
        Money flows of :func:`sibsim.money.sib.money_flows`.
    inv, mun : xarray.Dataset
        Investor and commissioner metrics of :mod:`sibsim.analysis.metrics`.
    be : xarray.Dataset, optional
        Break-even results (``breakeven_effect(draw, party)``, ``attrs["measure"]``).
    curve : xarray.Dataset, optional
        Loss curves (``p_investor_loss(effect)``, ``p_commissioner_net_loss(effect)``); taken
        from ``be`` when omitted and ``be`` carries them.
    title : str, optional
        Figure title; default names the number of draws and the currency.
    investor : str
        Investor (tranche name or ``"all"``) of the IRR panel.
    figsize : (float, float)
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Panels: (top left) IRR distribution; (top right) break-even distribution, or the loss
        curve when ``be`` is None; (bottom left) cumulative net cash; (bottom right) loss curve,
        or the NPV distributions when the loss curve is already shown or not available.

    Examples
    --------
    >>> fig = sib_summary_figure(money, inv, mun, be=breakeven(sc, ds, terms))  # doctest: +SKIP
    """
    if curve is None and be is not None and "p_investor_loss" in be:
        curve = be
    fig, axes = plt.subplots(2, 2, figsize=figsize, layout="constrained")
    (a_irr, a_top), (a_cash, a_bottom) = axes
    plot_irr_distribution(inv, investor=investor, ax=a_irr)
    plot_cumulative_net_cash(money, mun, inv, ax=a_cash)
    currency = str(money.attrs.get("currency", ""))
    if be is not None:
        plot_breakeven_distribution(be, ax=a_top)
        if curve is not None:
            plot_loss_curve(curve, ax=a_bottom)
        else:
            plot_npv_distribution(inv, mun, investor=investor, ax=a_bottom, currency=currency)
    elif curve is not None:
        plot_loss_curve(curve, ax=a_top)
        plot_npv_distribution(inv, mun, investor=investor, ax=a_bottom, currency=currency)
    else:
        plot_npv_distribution(inv, mun, investor=investor, ax=a_top, currency=currency)
        a_bottom.set_axis_off()
        _no_data(a_bottom, "Break-even analysis not supplied\n"
                           "(pass be= from sibsim.analysis.breakeven)")
    if title is None:
        n = money.sizes.get("draw", 0)
        title = f"Social Impact Bond simulation: {n:,} draws" + (f", {currency}" if currency
                                                                  else "")
    fig.suptitle(title, fontsize=14, fontweight="bold")
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 150) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix, PNG by default), replacing it atomically.

    Parent directories are created. The image is written to a temporary file in the same directory
    and then renamed over ``path``, so a reader never sees a half-written file.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or path-like
        Destination; without a suffix ``.png`` is appended.
    dpi : int
        Resolution in dots per inch.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> save_figure(sib_summary_figure(money, inv, mun), "out/summary.png")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    fmt = path.suffix.lstrip(".").lower()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi)
    return path
