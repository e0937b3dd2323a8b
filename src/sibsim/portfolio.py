"""Portfolios: one investors' fund holding its part of several deals.

Several SIBs are often financed from one fund: Lapset-SIB I and II (Finland) drew on one fund of
Finnish investors; national social-outcomes funds invest in many contracts. The fund's investors
do not bear each deal's risk alone: the fund's cash is the sum of what its holdings pay and
receive, so a loss in one deal can be covered by a return in another. A :class:`Portfolio` says
which deals the fund holds (each a :class:`~sibsim.Deal`), which of each deal's investor tranches
it holds, and what share of them; :func:`run_portfolio` runs every deal and pools the fund's
cash flows on one calendar, then gives the fund's IRR, money multiple, NPV and loss per draw,
next to those of each holding alone.

Random streams
    Each deal runs with its own seed, :func:`sibsim.programme.deal_seed` ``(seed, holding
    name)``, as in a programme: its results are those of ``sibsim.analyse(deal, draws=draws,
    seed=deal_seed(seed, name))``, and the deals' draws are independent of each other (draw
    ``d`` of the fund pools draw ``d`` of every deal). Deals whose effects share a cause (one
    provider, one service model) are positively correlated in reality; independence then
    overstates the diversification, which the summary says.

Correlated effects
    ``effect_correlation`` (a rank correlation in [0, 1]) ties the deals' true effects through
    one common factor: every uncertain effect of every deal loads ``l = sqrt(2 sin(pi rho /
    6))`` on a standard normal drawn per draw on the stream ``(seed, "correlation:common")``
    (:class:`sibsim.spec.correlation.Correlation`'s ``common``), so that any two deals'
    effects have the rank correlation ``rho`` and each keeps its own distribution. A holding's
    results are then those of ``sibsim.analyse`` on its deal with that common factor added to
    its correlation (``Holding.deal_in`` gives that deal).

Calendar
    The holdings' cash flows are placed on the fund's calendar: period ``p`` of a deal is the
    fund's period ``(start_year - first start_year) x periods_per_year + start_period + p``. All
    deals must have one period length and one currency, and a start year for all or none.

TOML (``sibsim portfolio FILE``)::

    name = "lapset-fund"
    description = "The Lapset-SIB fund: its part of Lapset-SIB I and II"
    [[holdings]]
    deal = "lapset-sib-1"     # a built-in scenario, or a scenario file (relative to this file)
    tranches = ["fund"]       # default: every investor tranche of the deal
    share = 1.0               # the share of those tranches the fund holds (default 1)
    [[holdings]]
    deal = "lapset-sib-2"

Examples
--------
>>> import sibsim
>>> from sibsim.portfolio import Holding, Portfolio, run_portfolio
>>> fund = Portfolio("two", (Holding(sibsim.load_scenario("lapset-sib-1")),
...                          Holding(sibsim.load_scenario("lapset-sib-2"))))
>>> res = run_portfolio(fund, draws=20, seed=1, progress=False)
>>> res["investor"].values.tolist()
['lapset-sib-1', 'lapset-sib-2', 'all']
>>> bool((res["flow"].sel(investor="all") == res["flow"].sel(investor=["lapset-sib-1",
...      "lapset-sib-2"]).sum("investor")).all())
True
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from sibsim.analysis.metrics import INVESTOR_METRICS, IRR_ROUNDING, investor_draw_metrics
from sibsim.money.capital import investor_tranches
from sibsim.money.deal import Deal, first_mismatch
from sibsim.money.municipality import per_period_rate
from sibsim.spec import _validate as v
from sibsim.spec.toml import KeyProblem, Section, build
from sibsim.spec.variant import Spec, param

__all__ = ["ALL", "Holding", "Portfolio", "PortfolioError", "builtin_portfolios",
           "describe_portfolio", "load_portfolio", "run_portfolio", "write_portfolio"]

#: The label of the fund as a whole (all holdings pooled) on the ``investor`` dimension.
ALL = "all"


class PortfolioError(ValueError):
    """A portfolio file or its holdings are refused (the message names the key and what is
    allowed)."""


def _deal_investors(deal: Deal) -> tuple[str, ...]:
    """The names of the deal's investor tranches (loans; not grants or deferred fees)."""
    return tuple(t.name for t in deal.capital.tranches if type(t).investor)


@dataclass(frozen=True)
class Holding(Spec):
    """One deal of a portfolio and the part of its investor capital the fund holds.

    Parameters
    ----------
    deal : Deal
        The deal, with money terms (e.g. ``sibsim.load_scenario("lapset-sib-1")``).
    name : str, optional
        The holding's label (default: the deal's name); it keys the deal's seed.
    tranches : tuple of str, optional
        The deal's investor tranches the fund holds (default: every one: loans, not grants or
        deferred fees).
    share : float
        The share of those tranches the fund holds, in (0, 1] (1: all of them); their cash
        flows are scaled by it.

    Examples
    --------
    >>> import sibsim
    >>> Holding(sibsim.load_scenario("lapset-sib-2"), share=0.5).tranches
    ('fund',)
    >>> Holding(sibsim.load_scenario("lapset-sib-2"), tranches=("senior",))
    Traceback (most recent call last):
    ...
    ValueError: Holding.tranches: got ('senior',); allowed: investor tranches of deal ...
    """

    deal: Deal = param(v.instance_of(Deal), doc="the deal, with money terms")
    name: str | None = param(v.optional(v.label), default=None,
                             doc="label (default: the deal's name)")
    tranches: tuple[str, ...] | None = param(v.optional(v.vector(v.label)), default=None,
                                             doc="investor tranches held (default: all)")
    share: float = param(v.fraction(0.0, 1.0, low_open=True), default=1.0,
                         doc="share of those tranches held, in (0, 1]")

    def validate(self) -> None:
        if not self.deal.has_money:
            raise v.fail("Holding.deal", self.deal.name, "a deal with money terms (evaluation, "
                         "contract and capital)")
        own = _deal_investors(self.deal)
        if not own:
            raise v.fail("Holding.deal", self.deal.name, "a deal with at least one investor "
                         "tranche (a loan)")
        if self.name is None:
            self._set("name", self.deal.name)
        if self.name == ALL:
            raise v.fail("Holding.name", self.name, f"a name other than {ALL!r} (the fund as "
                         "a whole)")
        if self.tranches is None:
            self._set("tranches", own)
        else:
            v.unique("Holding.tranches", self.tranches, "tranches")
            if not set(self.tranches) <= set(own):
                raise v.fail("Holding.tranches", self.tranches, f"investor tranches of deal "
                             f"{self.deal.name!r} (" + ", ".join(map(repr, own)) + ")")


@dataclass(frozen=True)
class Portfolio(Spec):
    """An investors' fund holding its part of several deals (see the module's text).

    Parameters
    ----------
    name : str
        The fund's name (names the output files).
    holdings : tuple of Holding
        At least one; unique names; one currency, one period length, and a start year for all
        deals or for none.
    description : str
        One line on the fund.
    discount_rate : float, optional
        The fund investors' discount rate per year (a fraction) for the NPV; default: the
        holdings' investors' discount rate, when they all have the same one.
    target_irr : float, optional
        The fund's target IRR per year (a fraction); the summary gives the chance of missing
        it. Default: the holdings' target IRR when they all have the same one.
    effect_correlation : float
        Rank correlation in [0, 1] between the true effects of any two deals (a common cause:
        the module's notes); 0 (default): independent deals.
    """

    name: str = param(v.file_name, doc="the fund's name")
    holdings: tuple[Holding, ...] = param(v.vector(v.instance_of(Holding)),
                                          doc="the deals held")
    description: str = param(default="", doc="one line on the fund")
    discount_rate: float | None = param(v.optional(v.fraction(-0.5, 1.0)), default=None,
                                        doc="per year; default: the holdings' common rate")
    target_irr: float | None = param(v.optional(v.fraction(-0.99, 1.0)), default=None,
                                     doc="per year; default: the holdings' common target")
    effect_correlation: float = param(v.fraction(0.0, 1.0), default=0.0,
                                      doc="rank correlation of the deals' effects, in [0, 1]")

    def validate(self) -> None:
        names = [h.name for h in self.holdings]
        v.unique("Portfolio.holdings", names, "holding names")
        found = first_mismatch([h.deal for h in self.holdings])
        if found is not None:
            h, first = self.holdings[found[0]], self.holdings[0].deal
            raise v.fail(*{
                "currency": (f"Portfolio.holdings[{h.name}].deal.currency", h.deal.currency,
                             f"the currency of the other holdings ({first.currency!r}): the "
                             "fund adds their cash flows"),
                "period": (f"Portfolio.holdings[{h.name}].deal.period", h.deal.scenario.period,
                           f"the period of the other holdings ({first.scenario.period!r})"),
                "start_year": (f"Portfolio.holdings[{h.name}].deal.start_year",
                               h.deal.start_year, "a start year for every holding or for none "
                               "(the fund's cash flows are placed on one calendar)")}[found[1]])
        for field, attr in (("discount_rate", "discount_rate"), ("target_irr", "target_irr")):
            if getattr(self, field) is None:
                rates = {float(getattr(h.deal.investors, attr)) for h in self.holdings}
                if len(rates) > 1:
                    raise v.fail(f"Portfolio.{field}", None, f"a rate per year: the holdings' "
                                 f"investors have different ones ({sorted(rates)})")
                self._set(field, rates.pop())
        if self.effect_correlation > 0:
            for h in self.holdings:
                corr = h.deal.correlation
                if corr is not None and corr.common:
                    raise v.fail(f"Portfolio.holdings[{h.name}].deal.correlation.common",
                                 corr.common, "no common factor of the deal's own, with "
                                 "effect_correlation (the portfolio's factor ties the deals)")

    @property
    def loading(self) -> float:
        """The normal-scale loading of every effect on the common factor, ``sqrt(2 sin(pi
        rho / 6))`` for the rank correlation ``rho = effect_correlation``.

        >>> import sibsim
        >>> fund = Portfolio("f", (Holding(sibsim.load_scenario("lapset-sib-2")),),
        ...                  effect_correlation=0.5)
        >>> round(fund.loading ** 2, 4)   # the normal-scale correlation of two effects
        0.5176
        """
        return math.sqrt(2.0 * math.sin(math.pi * self.effect_correlation / 6.0))

    def deal_in(self, holding: Holding, seed: int) -> Deal:
        """The holding's deal as the portfolio runs it with ``seed``: with the common factor of
        the effects (every uncertain ``effect.value`` of its processes loads :attr:`loading`)
        when ``effect_correlation`` > 0; the deal itself otherwise."""
        if self.effect_correlation == 0:
            return holding.deal
        from sibsim.spec.correlation import Correlation
        from sibsim.spec.distributions import Fixed

        params = holding.deal.scenario.parameters()
        effects = [n for n, d in params.items()
                   if n.split(".")[-2:] == ["effect", "value"] and not isinstance(d, Fixed)]
        if not effects:
            return holding.deal
        own = holding.deal.correlation
        corr = Correlation(inputs=own.inputs if own else (), matrix=own.matrix if own else (),
                           common=dict.fromkeys(effects, self.loading), common_seed=seed)
        return holding.deal.replace(correlation=corr)

    @property
    def periods_per_year(self) -> int:
        return int(self.holdings[0].deal.scenario.periods_per_year)

    def offsets(self) -> tuple[int, ...]:
        """Each holding's first period on the fund's calendar (the earliest deal starts at 0).

        >>> import sibsim
        >>> fund = Portfolio("f", (Holding(sibsim.load_scenario("lapset-sib-1")),
        ...                        Holding(sibsim.load_scenario("lapset-sib-2"))))
        >>> fund.offsets()   # 2019 and 2021, yearly
        (0, 2)
        """
        ppy = self.periods_per_year
        starts = [((h.deal.start_year or 0) * ppy + h.deal.start_period) for h in self.holdings]
        return tuple(s - min(starts) for s in starts)

    @property
    def n_periods(self) -> int:
        """Periods of the fund's calendar: to the end of the last deal."""
        return max(o + h.deal.scenario.horizon
                   for o, h in zip(self.offsets(), self.holdings, strict=True))


# ----------------------------------------------------------------------------- files
def builtin_portfolios() -> dict[str, Path]:
    """Names and paths of the portfolios shipped with sibsim."""
    from sibsim.scenario_file import builtin_files

    return builtin_files("portfolios")


#: Largest portfolio file read (bytes).
MAX_PORTFOLIO_BYTES = 100_000


def _read_holding(sec: Section, base: Path) -> Holding:
    from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, load_scenario

    source = sec.require("deal")
    if not isinstance(source, str) or not source.strip():
        raise KeyProblem(sec.path("deal"), f"got {source!r}; allowed: a built-in scenario's "
                         "name or a scenario file's path (relative to the portfolio file)")
    path = base / source
    if not path.is_file() and source not in builtin_scenarios():
        raise KeyProblem(sec.path("deal"), f"got {source!r}: no such file next to the "
                         "portfolio file, and not a built-in scenario (built-in: "
                         + ", ".join(sorted(builtin_scenarios())) + ")")
    try:
        deal = load_scenario(path if path.is_file() else source)
    except ScenarioFileError as err:
        raise KeyProblem(sec.path("deal"), str(err)) from None
    tranches = sec.get("tranches")
    out = build(sec.key, Holding, deal=deal, name=sec.get("name"),
                tranches=tuple(tranches) if isinstance(tranches, list) else tranches,
                share=sec.get("share", 1.0))
    sec.finish()
    return out


def load_portfolio(source: str | os.PathLike) -> Portfolio:
    """A :class:`Portfolio` from a TOML file, or a built-in portfolio by name
    (:func:`builtin_portfolios`).

    >>> fund = load_portfolio("lapset-fund")
    >>> [h.name for h in fund.holdings], fund.target_irr
    (['lapset-sib-1', 'lapset-sib-2'], 0.05)
    """
    from sibsim.scenario_file import read_toml_source

    path, data = read_toml_source(source, builtin_portfolios(), "portfolio",
                                  MAX_PORTFOLIO_BYTES, PortfolioError)
    try:
        sec = Section("", data)
        raw = sec.require("holdings")
        if not isinstance(raw, list) or not raw:
            raise KeyProblem("holdings", "allowed: one or more [[holdings]] tables")
        holdings = tuple(_read_holding(Section(f"holdings[{i}]", item), path.parent)
                         for i, item in enumerate(raw))
        out = build("", Portfolio, name=sec.get("name", path.stem), holdings=holdings,
                    description=sec.get("description", ""),
                    discount_rate=sec.get("discount_rate"), target_irr=sec.get("target_irr"),
                    effect_correlation=sec.get("effect_correlation", 0.0))
        sec.finish()
    except KeyProblem as err:
        raise PortfolioError(f"{path}: key '{err.key}': {err.problem}") from None
    return out


# ----------------------------------------------------------------------------- running
def _holding_flows(res: Any, h: Holding) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(net flows, drawdowns, receipts), each (D, horizon), of the tranches ``h`` holds, times
    its share."""
    money = res.money
    held = [t for t in investor_tranches(money.coords) if t in h.tranches]
    f = money["flow"].sel(party=held).values.sum(1)
    drawn = money["drawdown"].sel(tranche=held).values.sum(1)
    got = money["investor_received"].sel(tranche=held).values.sum(1)
    if h.share != 1.0:
        f, drawn, got = f * h.share, drawn * h.share, got * h.share
    return f, drawn, got


def run_portfolio(portfolio: Portfolio, *, draws: int, seed: int, engine: str = "auto",
                  progress: bool | None = None) -> xr.Dataset:
    """Run every holding's deal and pool the fund's cash flows.

    Parameters
    ----------
    portfolio : Portfolio
    draws : int
        Monte Carlo draws of each deal (draw ``d`` of the fund pools draw ``d`` of every deal).
    seed : int
        Each holding runs with :func:`sibsim.programme.deal_seed` ``(seed, name)``.
    engine : str
        The outcome engine (see :func:`sibsim.simulate`).

    Returns
    -------
    xarray.Dataset
        Dimensions ``draw``, ``investor`` (each holding's name, then ``"all"``: the fund) and
        ``period`` (the fund's calendar, with its ``year``): ``flow``, ``drawdown`` and
        ``investor_received`` (draw, investor, period) in the deals' currency, from the fund's side;
        and per draw and investor the metrics of :func:`sibsim.analysis.metrics.investor_metrics`
        (``irr``, ``irr_annual``, ``moic``, ``npv`` at the fund's discount rate, ``loss``, ...).
    """
    from sibsim.programme import deal_seed
    from sibsim.report import analyse

    draws = v.positive_int("draws", draws)
    seed = v.positive_int("seed", seed, minimum=0)
    ppy, P = portfolio.periods_per_year, portfolio.n_periods
    names = [h.name for h in portfolio.holdings]
    seeds = [deal_seed(seed, n) for n in names]
    shape = (draws, len(names) + 1, P)
    flow, drawn, got = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for i, (h, s, off) in enumerate(zip(portfolio.holdings, seeds, portfolio.offsets(),
                                        strict=True)):
        res = analyse(portfolio.deal_in(h, seed), draws=draws, seed=s, engine=engine,
                      progress=progress, with_breakeven=False)
        H = h.deal.scenario.horizon
        for arr, part in zip((flow, drawn, got), _holding_flows(res, h), strict=True):
            arr[:, i, off:off + H] = part
    for arr in (flow, drawn, got):
        arr[:, -1] = arr[:, :-1].sum(1)
    rate = per_period_rate(float(portfolio.discount_rate), ppy)
    per = [investor_draw_metrics(flow[:, j], drawn[:, j], got[:, j], ppy, rate)
           for j in range(len(names) + 1)]
    cur = portfolio.holdings[0].deal.currency
    data = {k: xr.Variable(("draw", "investor"), np.stack([m[k] for m in per], axis=1),
                           attrs={"units": cur if u == "currency" else u,
                                  "description": text.replace("the investors'", "the fund's")})
            for k, (u, text) in INVESTOR_METRICS.items()}
    side = "from the fund's side, its share of the tranches it holds"
    data.update({
        "flow": xr.Variable(("draw", "investor", "period"), flow, {
            "units": cur, "description": f"Net cash flow ({side}): receipts less drawdowns."}),
        "drawdown": xr.Variable(("draw", "investor", "period"), drawn, {
            "units": cur, "description": f"Capital drawn ({side})."}),
        "investor_received": xr.Variable(("draw", "investor", "period"), got, {
            "units": cur, "description": f"Cash received ({side})."}),
        "seed": xr.Variable("holding", np.array(seeds, dtype=np.int64), {
            "units": "1", "description": "The holding's deal's own seed, deal_seed(seed, name): "
                                         "sibsim.analyse(deal, draws, seed) gives its results."}),
        "share": xr.Variable("holding", np.array([h.share for h in portfolio.holdings]), {
            "units": "1", "description": "Share of the deal's held tranches the fund holds."}),
        "tranches": xr.Variable("holding", np.array([", ".join(h.tranches)
                                                     for h in portfolio.holdings]), {
            "units": "", "description": "The deal's investor tranches the fund holds."}),
    })
    first = min((h.deal.start_year or 0) * ppy + h.deal.start_period for h in portfolio.holdings)
    calendar = portfolio.holdings[0].deal.start_year is not None
    year = (first + np.arange(P)) // ppy if calendar else 1 + np.arange(P) // ppy
    ds = xr.Dataset(data, coords={
        "draw": np.arange(draws), "investor": [*names, ALL], "holding": names,
        "period": np.arange(P),
        "year": ("period", year, {"units": "calendar year" if calendar else "year of the fund",
                                  "description": "Year of each period of the fund's calendar."}),
        "deal": ("holding", [h.deal.name for h in portfolio.holdings])})
    ds.attrs.update({
        "portfolio": portfolio.name, "description": portfolio.description, "currency": cur,
        "draws": draws, "seed": seed, "engine": engine, "period": portfolio.holdings[0].deal
        .scenario.period, "periods_per_year": ppy,
        "discount_rate_per_year": float(portfolio.discount_rate),
        "target_irr_per_year": float(portfolio.target_irr),
        "effect_correlation": float(portfolio.effect_correlation),
        "seeds": "the holding named n runs with sibsim.programme.deal_seed(seed, n); draw d of "
                 "the fund pools draw d of every holding; the deals' effects have the rank "
                 "correlation effect_correlation through a common factor on the stream (seed, "
                 "'correlation:common')",
        "timing": "period p of a deal is the fund's period (its start, in periods since the "
                  "earliest deal's start) + p"})
    return ds


def describe_portfolio(res: xr.Dataset) -> str:
    """A plain-language summary: the fund's chance of a loss, its IRR and multiple, next to each
    holding's alone.

    >>> import sibsim
    >>> res = run_portfolio(load_portfolio("lapset-fund"), draws=20, seed=1, progress=False)
    >>> print(describe_portfolio(res).splitlines()[0][:60])
    Portfolio lapset-fund: 2 deals (lapset-sib-1, lapset-sib-2),
    """
    from sibsim.report import _money, _pct

    cur = res.attrs["currency"]
    names = [str(n) for n in res["holding"].values]
    D = int(res.sizes["draw"])
    target = float(res.attrs["target_irr_per_year"])
    lines = [f"Portfolio {res.attrs['portfolio']}: {len(names)} deals ({', '.join(names)}), "
             f"{D:,} draws each, seed {res.attrs['seed']}; amounts in {cur}."]
    head = ("", "Drawn: mean", "Received: mean", "P(loss)", "Median IRR", "IRR 5th-95th pct",
            f"P(IRR < {100 * target:g}%)")
    rows = []
    for inv in [*names, ALL]:
        x = res.sel(investor=inv)
        r = x["irr_annual"].values
        ok = np.isfinite(r)
        irr_txt = ("-" if not ok.any() else
                   f"{100 * np.median(r[ok]):.1f}%")
        band = ("-" if not ok.any() else
                "{:.1f}% to {:.1f}%".format(*(100 * np.quantile(r[ok], [0.05, 0.95]))))
        # an IRR within rounding of the target is the target: a claim that grows at the
        # target and is paid in full comes out as 5% give or take 1e-12
        below = np.where(ok, r < target - IRR_ROUNDING, x["loss"].values > 0)
        rows.append(("the fund (all)" if inv == ALL else inv,
                     _money(float(x["invested"].mean()), cur),
                     _money(float(x["received"].mean()), cur), _pct(float(x["loss"].mean())),
                     irr_txt, band, _pct(float(below.mean()))))
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt = "  " + "  ".join(f"{{:<{widths[0]}}}" if i == 0 else f"{{:>{w}}}"
                           for i, w in enumerate(widths))
    lines += [fmt.format(*head), *(fmt.format(*r) for r in rows)]
    alone = [float(res["loss"].sel(investor=n).mean()) for n in names]
    pooled = float(res["loss"].sel(investor=ALL).mean())
    lines.append(f"  The fund's investors lose money in {_pct(pooled)} of draws; holding one "
                 f"deal alone, in {_pct(min(alone))} to {_pct(max(alone))}.")
    rho = float(res.attrs.get("effect_correlation", 0.0))
    if rho == 0:
        lines.append("  The deals are drawn independently. Deals whose effects share a cause "
                     "(one provider, one\n  service model) are correlated in reality, and the "
                     "fund's risk is then nearer the single deals'\n  (effect_correlation).")
    else:
        lines.append(f"  The deals' true effects have a rank correlation of {rho:g} (a common "
                     "cause); all else is\n  drawn independently.")
    return "\n".join(lines)


def write_portfolio(res: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write the portfolio's results as netCDF (atomically); ``xarray.open_dataset`` reads it."""
    from sibsim.dataset.io import to_netcdf

    return to_netcdf(res, path)
