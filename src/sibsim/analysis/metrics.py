"""Per-draw financial metrics for investors and the commissioner.

Computed from the money dataset of :func:`sibsim.money.sib.money_flows`; every result is an
``xarray.Dataset`` with a ``draw`` dimension (and ``investor`` or ``period`` where relevant).

Conventions
-----------
* Rates: ``irr`` is per period; ``irr_annual = (1 + irr) ** periods_per_year - 1``. NPVs discount
  the flow of period ``t`` by ``(1 + r) ** t`` with ``r`` the per-period equivalent of the annual
  rate (period 0 undiscounted).
* Money multiple (MOIC) = gross cash received / gross capital drawn, over the horizon (a
  drawdown and a distribution in the same period are both counted).
* Loss: an investor loses money in a draw when cash received < cash invested (MOIC < 1).
* Break-even (payback) period: the first period from which a party's cumulative net cash stays
  >= 0 until the horizon; NaN when it is negative at the horizon.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from sibsim.money.capital import investor_tranches
from sibsim.money.irr import irr, npv
from sibsim.money.kernels.chain import discounted_sums
from sibsim.money.municipality import per_period_rate

__all__ = ["INVESTOR_METRICS", "IRR_ROUNDING", "MONEY_ROUNDING", "breakeven_period",
           "discount_factors", "investor_draw_metrics", "investor_loss", "investor_metrics",
           "municipality_metrics", "present_value"]


def discount_factors(annual_rate: float, periods_per_year: int, n_periods: int) -> np.ndarray:
    """``(1 + r) ** -t`` for ``t = 0 .. n_periods - 1``, ``r`` the per-period equivalent rate."""
    r = per_period_rate(annual_rate, periods_per_year)
    return (1.0 + r) ** -np.arange(n_periods)


def present_value(flows: np.ndarray, disc: np.ndarray) -> np.ndarray:
    """``sum_t flows[..., t] * disc[t]``, added period by period.

    Each draw's value depends on its own flows only, not on how many draws there are (a
    matrix product may order its sums differently for different numbers of rows), so a run
    processed in blocks of draws gives the same values to the last bit.

    >>> present_value(np.array([[100.0, 110.0]]), np.array([1.0, 1 / 1.1])).round(6).tolist()
    [200.0]
    """
    if flows.ndim == 2 and flows.dtype == np.float64 and flows.shape[1] >= 1 \
            and np.shape(disc) == flows.shape[1:]:  # one pass over the draws, the same sums
        out = np.empty(flows.shape[0])
        discounted_sums(flows, np.ascontiguousarray(disc, dtype=np.float64), out)
        return out
    out = flows[..., 0] * disc[0]
    for t in range(1, flows.shape[-1]):
        out = out + flows[..., t] * disc[t]
    return out


def investor_loss(invested: np.ndarray, received: np.ndarray) -> np.ndarray:
    """1 where cash received falls short of capital drawn (beyond rounding), else 0."""
    return (received < invested * (1 - 1e-12)).astype(np.int8)


def breakeven_period(flows: np.ndarray) -> np.ndarray:
    """First period from which cumulative ``flows`` (D, P) stay >= 0; NaN if they end < 0.

    >>> breakeven_period(np.array([[-10.0, 5.0, 6.0], [-1.0, 0.0, 0.5]])).tolist()
    [2.0, nan]
    """
    cum = np.cumsum(flows, axis=-1)
    tol = MONEY_ROUNDING * np.maximum(np.abs(flows).sum(-1, keepdims=True), 1.0)
    neg = cum < -tol
    P = flows.shape[-1]
    last_neg = np.where(neg.any(-1), P - 1 - np.argmax(neg[..., ::-1], axis=-1), -1)
    out = (last_neg + 1).astype(float)
    out[last_neg == P - 1] = np.nan
    return out


def _investor_flows(money: xr.Dataset) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``{investor: (net flows, gross drawdowns, gross receipts)}``, each (D, P): the
    investors' tranches (not grants or deferred fees) and "all" of them."""
    out = {}
    for t in investor_tranches(money.coords):
        out[str(t)] = (money["flow"].sel(party=t).values,
                       money["drawdown"].sel(tranche=t).values,
                       money["investor_received"].sel(tranche=t).values)
    out["all"] = tuple(np.sum([v[i] for v in out.values()], axis=0) for i in range(3))
    return out


#: An amount within this share of the money it comes from (at least 1 currency unit's share)
#: of zero is zero: rounding (cumulative flows in :func:`breakeven_period`, the break-even
#: search's NPVs).
MONEY_ROUNDING = 1e-9

#: An IRR within this of a bound (both rates per year) reaches it: an investor paid exactly a
#: claim that grows at the bound's rate has that IRR, which the root search gives to within a
#: few 1e-12 either side (the portfolio's P(IRR < target), the design's minimum IRR).
IRR_ROUNDING = 1e-9

#: Units and description of each per-draw investor metric (:func:`investor_draw_metrics`).
INVESTOR_METRICS = {
    "irr": ("per period", "Internal rate of return per period (NaN where none exists; see "
            "irr_status)."),
    "irr_status": ("code", "sibsim.money.irr.IRRStatus code of each IRR."),
    "irr_annual": ("per year", "IRR annualised: (1 + irr) ** periods_per_year - 1 (NaN "
                   "where irr is)."),
    "moic": ("multiple", "Money multiple: gross cash received / gross capital drawn (NaN "
             "where nothing was drawn)."),
    "npv": ("currency", "NPV at the investors' discount rate."),
    "payback_period": ("period", "First period from which cumulative cash stays >= 0 (NaN "
                       "where it is negative at the horizon)."),
    "invested": ("currency", "Capital drawn (gross drawdowns)."),
    "received": ("currency", "Cash received (gross distributions and guarantee)."),
    "loss": ("1", "1 if cash received < cash invested."),
}


def investor_draw_metrics(flows: np.ndarray, drawn: np.ndarray, received: np.ndarray,
                          periods_per_year: int, rate: float) -> dict[str, np.ndarray]:
    """Each metric of :data:`INVESTOR_METRICS` per draw, from one investor's cash flows.

    ``flows``: net cash flows (D, P) from the investor's side (drawdowns negative);
    ``drawn`` and ``received``: gross drawdowns and receipts (D, P), currency; ``rate``: the
    discount rate per period of the NPV.

    >>> f = np.array([[-100.0, 0.0, 121.0]])
    >>> m = investor_draw_metrics(f, np.array([[100.0, 0, 0]]), np.array([[0, 0, 121.0]]), 1, 0.1)
    >>> round(float(m["irr_annual"][0]), 12), float(m["moic"][0]), float(m["loss"][0])
    (0.1, 1.21, 0.0)
    """
    r, status = irr(flows, return_info=True)
    invested = drawn.sum(-1)
    got = received.sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        moic = np.where(invested > 0, got / np.where(invested > 0, invested, 1.0), np.nan)
    return {"irr": r, "irr_status": np.asarray(status, dtype=np.int8),
            "irr_annual": np.where(r > -1, (1.0 + r) ** periods_per_year - 1.0, r),
            "moic": moic, "npv": npv(rate, flows), "payback_period": breakeven_period(flows),
            "invested": invested, "received": got, "loss": investor_loss(invested, got)}


def investor_metrics(money: xr.Dataset) -> xr.Dataset:
    """IRR, money multiple, NPV, payback and loss per draw, for each tranche and all investors."""
    ppy = int(money.attrs["periods_per_year"])
    rate = per_period_rate(float(money.attrs["investor_discount_rate_per_year"]), ppy)
    flows = _investor_flows(money)
    per = [investor_draw_metrics(f, drawn, got, ppy, rate) for f, drawn, got in flows.values()]
    cur = money.attrs["currency"]
    ds = xr.Dataset(
        {k: xr.Variable(("investor", "draw"), np.stack([m[k] for m in per]),
                        attrs={"units": cur if u == "currency" else u, "description": text})
         for k, (u, text) in INVESTOR_METRICS.items()},
        coords={"investor": list(flows), "draw": money["draw"].values})
    ds.attrs.update(_money_attrs(money))
    return ds.transpose("draw", "investor")


def _money_attrs(money: xr.Dataset) -> dict:
    keys = ("currency", "period", "periods_per_year", "seed", "social_discount_rate_per_year",
            "investor_discount_rate_per_year", "target_irr_per_year")
    return {k: money.attrs[k] for k in keys if k in money.attrs}


def municipality_metrics(money: xr.Dataset) -> xr.Dataset:
    """NPV of net savings, benefit-cost ratios, cumulative net cash, budget peak, break-even.

    The variables without ``payer`` are the public side as a whole (all payers together).
    With a money dataset from :func:`sibsim.money.sib.money_flows`, each payer's budget line is
    also given along a ``payer`` dimension: ``payments_by_payer``,
    ``cashable_savings_by_payer``, ``npv_net_savings_by_payer``, ``net_loss_by_payer``,
    ``peak_annual_gross_payments_by_payer`` and ``peak_annual_net_budget_need_by_payer``.

    Two peaks of the yearly budget are given, per draw (years: consecutive blocks of
    ``periods_per_year`` periods from period 0, i.e. the deal's calendar years; the last may be
    partial): ``peak_annual_gross_payments``, the largest year's outcome payments (gross:
    before any savings), and ``peak_annual_net_budget_need``, the largest year's net outflow
    (outcome payments + own costs - cashable savings - any excess returned: net of savings).
    :func:`sibsim.analysis.budget.yearly_budget` gives each year's distribution.
    """
    ppy = int(money.attrs["periods_per_year"])
    net = money["net_savings"].values
    cash = money["cashable_savings"].values
    wider = money["wider_value"].values
    other = money["commissioner_other_costs"]  # (period,), or (draw, period) if uncertain
    paid = -money["flow"].sel(party="commissioner").values + (
        other.transpose("draw", "period").values if "draw" in other.dims
        else other.values[None, :])
    P = net.shape[-1]
    disc = discount_factors(float(money.attrs["social_discount_rate_per_year"]), ppy, P)
    pv_cost = present_value(paid, disc)
    with np.errstate(divide="ignore", invalid="ignore"):
        bcr = np.where(pv_cost > 0, present_value(cash, disc)
                       / np.where(pv_cost > 0, pv_cost, 1.0), np.nan)
        bcr_public = np.where(pv_cost > 0, present_value(cash + wider, disc)
                              / np.where(pv_cost > 0, pv_cost, 1.0), np.nan)
    yearly = _yearly_need(net, ppy)
    cur = money.attrs["currency"]
    data = {
        "npv_net_savings": (("draw",), present_value(net, disc), cur,
                            "NPV of net cashable savings at the social discount rate."),
        "npv_net_public_value": (("draw",), present_value(net + wider, disc), cur,
                                 "NPV of net savings plus wider public value."),
        "pv_outcome_payments": (("draw",), pv_cost, cur,
                                "Present value of outcome payments and the commissioner's costs "
                                "(net of any excess returned)."),
        "bcr": (("draw",), bcr, "ratio", "PV of cashable savings / PV of costs (NaN where the "
                                          "PV of costs is 0: nothing paid)."),
        "bcr_public": (("draw",), bcr_public, "ratio",
                       "PV of cashable savings and wider value / PV of costs (NaN where the "
                       "PV of costs is 0: nothing paid)."),
        "cumulative_net_cash": (("draw", "period"), np.cumsum(net, -1), cur,
                                "Cumulative net cash of the commissioner (undiscounted)."),
        "peak_annual_gross_payments": (("draw",), np.maximum(_yearly_sum(
            money["outcome_payments"].values, ppy).max(-1), 0.0), cur,
            "Gross: the largest total of outcome payments in any year (before any savings; "
            "own costs not included)."),
        "peak_annual_net_budget_need": (("draw",), np.maximum(yearly.max(-1), 0.0), cur,
                                        "Net of savings: the largest net outflow in any year "
                                        "(outcome payments + own costs - cashable savings - "
                                        "any excess returned), 0 if none."),
        "breakeven_period": (("draw",), breakeven_period(net), "period",
                             "First period from which cumulative net cash stays >= 0 (NaN "
                             "where it is negative at the horizon)."),
        "net_loss": (("draw",), (net.sum(-1) < 0).astype(np.int8), "1",
                     "1 if the commissioner pays more than it saves (undiscounted)."),
    }
    coords = {"draw": money["draw"].values, "period": money["period"].values}
    if "net_savings_by_payer" in money:  # absent from files written before payers existed
        data.update(_payer_metrics(money, disc, ppy, cur))
        coords["payer"] = money["payer"].values
    out = xr.Dataset(
        {k: xr.Variable(d, v, attrs={"units": u, "description": t})
         for k, (d, v, u, t) in data.items()},
        coords=coords)
    out.attrs.update(_money_attrs(money))
    return out


def _yearly_sum(x: np.ndarray, ppy: int) -> np.ndarray:
    """``x`` (..., periods) summed by year, (..., years); the last year may be partial.

    >>> _yearly_sum(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 2).tolist()
    [3.0, 7.0, 5.0]
    """
    P = x.shape[-1]
    n_years = -(-P // ppy)
    out = np.zeros((*x.shape[:-1], n_years * ppy))
    out[..., :P] = x
    return out.reshape((*x.shape[:-1], n_years, ppy)).sum(-1)


def _yearly_need(net: np.ndarray, ppy: int) -> np.ndarray:
    """Net outflow (-net: net of savings) summed by year, (..., years); the last year may be
    partial."""
    return _yearly_sum(-net, ppy)


def _payer_metrics(money: xr.Dataset, disc: np.ndarray, ppy: int, cur: str) -> dict:
    """Each payer's budget line: (draw, payer) results of ``*_by_payer`` money variables."""
    net = money["net_savings_by_payer"].transpose("draw", "payer", "period").values
    paid = money["payments_by_payer"].transpose("draw", "payer", "period").values
    cash = money["cashable_savings_by_payer"].transpose("draw", "payer", "period").values
    dims = ("draw", "payer")
    npv_y = present_value(net, disc)
    return {
        "payments_by_payer": (dims, paid.sum(-1), cur,
                              "Outcome payments made by each payer over the horizon "
                              "(undiscounted)."),
        "cashable_savings_by_payer": (dims, cash.sum(-1), cur,
                                      "Each payer's cashable savings over the horizon "
                                      "(undiscounted)."),
        "npv_net_savings_by_payer": (dims, npv_y, cur,
                                     "NPV of each payer's net cashable savings at the social "
                                     "discount rate."),
        "net_loss_by_payer": (dims, (net.sum(-1) < 0).astype(np.int8), "1",
                              "1 if the payer pays more than it saves (undiscounted)."),
        "peak_annual_gross_payments_by_payer": (
            dims, np.maximum(_yearly_sum(paid, ppy).max(-1), 0.0), cur,
            "Gross: the largest total of the payer's outcome payments in any year (before any "
            "savings)."),
        "peak_annual_net_budget_need_by_payer": (
            dims, np.maximum(_yearly_need(net, ppy).max(-1), 0.0), cur,
            "Net of savings: the largest net outflow of the payer in any year (its outcome "
            "payments + own costs - cashable savings - its part of any excess returned), 0 if "
            "none."),
    }
