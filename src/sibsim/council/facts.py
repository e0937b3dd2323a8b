"""The figures the council report states, computed once from an analysis.

Everything here reads the results container (:class:`sibsim.report.SIBResults`) and the deal;
nothing reruns the analysis. The yearly budget is :func:`sibsim.analysis.budget.yearly_budget`
(``results.budget`` when it was computed at the report's confidence). The break-even in
outcome terms needs the expected outcomes at one effect: two runs of the expected-value engine
over at most :data:`UNIT_DRAWS` draws (well under a second).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from sibsim.money.deal import Deal

__all__ = ["UNIT_DRAWS", "BreakevenUnits", "Facts", "breakeven_units", "council_facts",
           "searched_effect_draws", "yearly_table"]

#: Draws of the expected-value engine used to turn the break-even effect into outcome units.
UNIT_DRAWS = 200


def _by_year(arr: np.ndarray, years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum the last axis (periods) into calendar years: (..., period) -> (..., year)."""
    uniq = np.unique(years)
    out = np.stack([arr[..., years == y].sum(-1) for y in uniq], axis=-1)
    return uniq, out


def yearly_table(money: xr.Dataset, deal: Deal, confidence: float = 0.9,
                 budget: xr.Dataset | None = None) -> xr.Dataset:
    """The report's yearly table (all payers together) from the yearly budget.

    The figures are :func:`sibsim.analysis.budget.yearly_budget`'s row ``"all payers"``
    (``budget``: ``results.budget`` when computed at the same confidence, else computed here);
    this adapter only renames them and adds the fan chart's band edges (5th, 25th and 75th
    percentiles of each year's gross payments). Variables (dim ``year``): ``gross_mean``,
    ``gross_median``, ``gross_p05``, ``gross_p25``, ``gross_p75``, ``gross_p90``, ``gross_p95``,
    ``appropriation``, ``cashable_mean``, ``net_mean``, ``p_net_loss``.
    """
    from sibsim.analysis.budget import ALL_PAYERS, yearly_budget

    if budget is None or float(budget.attrs.get("confidence", -1)) != confidence:
        budget = yearly_budget(money, deal, confidence)
    tot = budget.sel(payer=ALL_PAYERS)
    years = np.asarray(deal.calendar_years())
    _, gross = _by_year(money["outcome_payments"].transpose("draw", "period").values, years)
    bands = np.quantile(gross, [0.05, 0.25, 0.75], axis=0)
    names = {"gross_mean": "gross_payments_mean", "gross_median": "gross_payments_median",
             "gross_p90": "gross_payments_p90", "gross_p95": "gross_payments_p95",
             "appropriation": "appropriation", "cashable_mean": "cashable_savings_mean",
             "net_mean": "net_savings_mean", "p_net_loss": "p_net_loss"}
    ds = xr.Dataset({k: ("year", tot[v].values, tot[v].attrs) for k, v in names.items()},
                    coords={"year": tot["year"].values})
    for k, b in zip(("gross_p05", "gross_p25", "gross_p75"), bands, strict=True):
        ds[k] = ("year", b, {"units": budget.attrs["currency"]})
    ds.attrs.update(confidence=confidence, currency=budget.attrs["currency"])
    return ds


@dataclass(frozen=True)
class BreakevenUnits:
    """The commissioner's break-even in outcome terms.

    ``effect``: the median break-even true effect (the scenario's measure); ``units``: the
    expected outcome units avoided over the horizon at that effect, against the counterfactual
    (events, or person-years in the states the savings value); ``kind``: ``"events"`` or
    ``"state_years"``; ``states``: the valued states; ``share_none``: draws without break-even;
    ``outcome``: the outcome process whose effect was searched (its events or states are the
    units).
    """

    effect: float
    units: float
    kind: str
    states: tuple[str, ...]
    share_none: float
    measure: str
    outcome: str = ""


def _valued_states(deal: Deal) -> tuple[str, ...]:
    payers = deal.payers or ()
    states: list[str] = []
    for src in (deal.municipality, *payers):
        for s, val in (getattr(src, "saving_per_person_period", None) or {}).items():
            if val and s not in states:
                states.append(s)
    return tuple(states)


def breakeven_units(be: xr.Dataset | None, deal: Deal, seed: int,
                    party: str = "commissioner", draws: int = UNIT_DRAWS
                    ) -> BreakevenUnits | None:
    """Expected outcome units avoided at the party's median break-even effect.

    The treated cohort's expected outcomes at that effect (expected-value engine, the run's
    seed, so the same baseline parameters as its first ``draws`` draws) minus the
    counterfactual, summed over the horizon, averaged over draws. None without break-even.
    """
    from sibsim.analysis.breakeven import breakeven_quantiles, searched_effect
    from sibsim.dataset import simulate
    from sibsim.money.sib import counterfactual

    if be is None:
        return None
    # the searched process (older results without the attribute: the deal's setting)
    searched = searched_effect(deal, be.attrs.get("outcome"))
    if searched.effect is None:
        return None
    x = be["breakeven_effect"].sel(party=party).values
    share_none = float(np.isnan(x).mean())
    measure = be.attrs.get("measure", searched.effect.measure)
    states = _valued_states(deal)
    if deal.scenario.other_processes:  # the states of the searched process only
        own = getattr(deal.scenario.processes[searched.index].outcome, "states", ())
        states = tuple(s for s in states if s in own)
    # over every draw: one without break-even in the range needs more than its strongest
    # effect (analysis.breakeven.breakeven_quantiles)
    med = float(breakeven_quantiles(x, measure, (0.5,))[0])
    if share_none >= 0.5 or not np.isfinite(med):
        return BreakevenUnits(np.nan, np.nan, "state_years" if states else "events", states,
                              share_none, measure, searched.name)
    n = int(min(draws, x.size))
    cf = counterfactual(deal, n, seed)
    at = simulate(deal.scenario, draws=n, seed=seed, engine="expected", progress=False,
                  engaged_events=deal.needs_engaged_events,
                  overrides={searched.parameter: np.full(n, med)})

    def treated(ds: xr.Dataset, var: str, **sel: str) -> np.ndarray:
        da = ds[var].sel(arm="treatment", **sel)
        if "process" in da.dims:
            da = da.sel(process=searched.name)
        return da.sum([d for d in da.dims if d != "draw"], skipna=False).values

    ppy = int(at.attrs["periods_per_year"])
    if states:
        avoided = sum(treated(cf, "occupancy", state=s) - treated(at, "occupancy", state=s)
                      for s in states) / ppy
        kind = "state_years"
    else:
        avoided = treated(cf, "events") - treated(at, "events")
        kind = "events"
    return BreakevenUnits(med, float(np.mean(avoided)), kind, states, share_none, measure,
                          searched.name)


def searched_effect_draws(results, deal: Deal) -> np.ndarray:
    """The true effect of each draw of ``results`` on the process whose effect the break-even
    searched: ``true_effect`` of the money results for the first process; another process's
    effect sampled again from the run's seed (the same draws: random streams depend on the
    seed and draw alone), with the deal's rank correlations applied as in the run.

    >>> import sibsim
    >>> deal = sibsim.load_scenario("denver-housing")
    >>> res = sibsim.analyse(deal, draws=5, seed=1, progress=False, with_breakeven=False)
    >>> bool((searched_effect_draws(res, deal) == res.money["true_effect"].values).all())
    True
    """
    from sibsim.analysis.breakeven import searched_effect
    from sibsim.dataset.build import with_correlated_inputs
    from sibsim.engine.parameters import sample_parameters

    m = results.money
    be = getattr(results, "breakeven", None)
    searched = searched_effect(deal, None if be is None else be.attrs.get("outcome"))
    if searched.parameter == "effect.value":
        return np.asarray(m["true_effect"].values)
    sc, seed = deal.scenario, int(m.attrs["seed"])
    draws = np.asarray(m["draw"].values, dtype=np.int64)
    lo, n = (int(draws[0]), draws.size) if draws.size else (0, 0)
    params = sample_parameters({searched.parameter: sc.parameters()[searched.parameter]},
                               seed, lo, lo + n)
    params.update(with_correlated_inputs(deal.correlation, sc, seed, lo, n) or {})
    return np.asarray(params[searched.parameter], dtype=float)


@dataclass
class Facts:
    """Every figure of the report's summary (money in the deal's currency)."""

    currency: str
    draws: int
    seed: int
    years: np.ndarray
    yearly: xr.Dataset
    confidence: float
    pay_mean: float
    pay_p90: float
    pay_max_year_appropriation: float
    cash_mean: float
    net_mean: float
    npv_net_mean: float
    p_net_loss: float
    inv_p_loss: float
    inv_moic_mean: float
    inv_money_back: float
    inv_irr_median: float
    inv_irr_p05: float
    inv_irr_p95: float
    inv_invested_median: float
    inv_target: float
    payers: list[dict] = field(default_factory=list)
    breakeven: BreakevenUnits | None = None
    effect_mean: float = np.nan
    effect_q: tuple[float, float] = (np.nan, np.nan)
    #: the same of the effect the break-even searched (another process's with [breakeven]
    #: outcome)
    be_effect_mean: float = np.nan
    be_effect_q: tuple[float, float] = (np.nan, np.nan)


def council_facts(results, deal: Deal, confidence: float = 0.9) -> Facts:
    """The summary figures of ``results`` (a :class:`~sibsim.report.SIBResults`)."""
    m, mun = results.money, results.municipality
    allinv = results.investors.sel(investor="all")
    yearly = yearly_table(m, deal, confidence, getattr(results, "budget", None))
    pay = m["outcome_payments"].sum("period").values
    invested = allinv["invested"].values
    received = allinv["received"].values
    irr = allinv["irr_annual"].values
    irr = irr[np.isfinite(irr)]
    iq = np.quantile(irr, [0.05, 0.5, 0.95]) if irr.size else np.full(3, np.nan)
    payers = []
    if "payer" in mun.dims and mun.sizes["payer"] > 1:
        for y in mun["payer"].values:
            one = mun.sel(payer=y)
            payers.append({"name": str(y), "pays": float(one["payments_by_payer"].mean()),
                           "saves": float(one["cashable_savings_by_payer"].mean()),
                           "p_net_loss": float(one["net_loss_by_payer"].mean())})
    eff = m["true_effect"].values
    eff = eff[np.isfinite(eff)]
    # the searched effect's prior, shown beside the break-even (the first process's: eff)
    be_eff = (searched_effect_draws(results, deal) if results.breakeven is not None
              else np.empty(0))
    be_eff = be_eff[np.isfinite(be_eff)]
    return Facts(
        currency=m.attrs["currency"], draws=int(m.sizes["draw"]), seed=int(m.attrs["seed"]),
        years=yearly["year"].values, yearly=yearly, confidence=confidence,
        pay_mean=float(pay.mean()), pay_p90=float(np.quantile(pay, 0.9)),
        pay_max_year_appropriation=float(yearly["appropriation"].max()),
        cash_mean=float(m["cashable_savings"].sum("period").mean()),
        net_mean=float(m["net_savings"].sum("period").mean()),
        npv_net_mean=float(mun["npv_net_savings"].mean()),
        p_net_loss=float(mun["net_loss"].mean()),
        inv_p_loss=float(allinv["loss"].mean()),
        inv_moic_mean=float(allinv["moic"].mean()),
        inv_money_back=float(received.mean() / invested.mean()) if invested.mean() > 0
        else np.nan,
        inv_irr_median=float(iq[1]), inv_irr_p05=float(iq[0]), inv_irr_p95=float(iq[2]),
        inv_invested_median=float(np.median(invested)),
        inv_target=float(m.attrs["target_irr_per_year"]),
        payers=payers,
        breakeven=breakeven_units(results.breakeven, deal, int(m.attrs["seed"])),
        effect_mean=float(eff.mean()) if eff.size else np.nan,
        effect_q=tuple(np.quantile(eff, [0.05, 0.95])) if eff.size else (np.nan, np.nan),
        be_effect_mean=float(be_eff.mean()) if be_eff.size else np.nan,
        be_effect_q=(tuple(np.quantile(be_eff, [0.05, 0.95])) if be_eff.size
                     else (np.nan, np.nan)),
    )
