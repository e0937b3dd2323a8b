"""From an outcome dataset to every party's money, draw by draw.

:class:`SIBTerms` gathers the money side of a deal (evaluation, contract, service costs, capital
structure, the commissioner's savings); :func:`money_flows` turns a simulated outcome dataset into
a labelled money dataset:

outcome dataset -> evaluation (measured effect per trigger) -> outcome payments (contract) ->
service costs and the capital waterfall (investors, guarantor, provider, intermediary) -> the
commissioner's savings and net savings.

Timing: everything happens on the simulation's period grid. Service costs are incurred (and
drawn down) in the period the service is delivered; outcome payments in the period their result
is known plus the contract's lag; savings in the period the outcome is avoided.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from sibsim.dataset.build import simulate
from sibsim.money.capital import CapitalStructure, ServiceCosts
from sibsim.money.cashflows import waterfall
from sibsim.money.evaluation import Evaluation, evaluate
from sibsim.money.municipality import Municipality
from sibsim.money.payments import Contract
from sibsim.spec import _validate as v
from sibsim.spec.scenario import Scenario

__all__ = ["SIBTerms", "counterfactual", "money_flows"]

MONEY_SCHEMA = {
    "outcome_payments": (("draw", "period"), "Outcome payments made by the commissioner."),
    "payments_by_metric": (("draw", "metric", "period"), "Outcome payments by metric."),
    "participants_served": (("draw", "period"), "Participants receiving the service (people)."),
    "service_costs": (("draw", "period"), "Cost of delivering the service."),
    "flow": (("draw", "party", "period"),
             "Net cash flow of each party (+ received, - paid); sums to 0 over parties."),
    "drawdown": (("draw", "tranche", "period"), "Capital drawn from each tranche (gross)."),
    "investor_received": (("draw", "tranche", "period"),
                          "Cash received by each tranche: distributions and guarantee (gross)."),
    "measured_effect": (("draw", "trigger"),
                        "Measured relative improvement of each evaluation (fraction)."),
    "trigger_units": (("draw", "trigger"), "Outcome units attributed by each evaluation."),
    "gate_passed": (("draw", "trigger"), "1 if the significance gate passed (or no gate)."),
    "avoided_events": (("draw", "period"),
                       "Events truly avoided in the treated cohort (counterfactual - simulated)."),
    "cashable_savings": (("draw", "period"), "Cashable savings to the commissioner."),
    "wider_value": (("draw", "period"), "Wider public value of the avoided outcomes."),
    "commissioner_other_costs": (("period",), "Commissioner's own costs (evaluation, management)."),
    "net_savings": (("draw", "period"),
                    "Commissioner's net cash: cashable savings + its waterfall flow (- outcome "
                    "payments + any excess returned) - other costs."),
    "true_effect": (("draw",), "True effect (the scenario's effect.value) in each draw."),
}


@dataclass(frozen=True)
class SIBTerms:
    """The money side of a Social Impact Bond.

    Parameters
    ----------
    evaluations : sequence of Evaluation
        One per outcome metric paid on.
    contract : Contract
        Payment terms, caps and lag.
    service_costs : ServiceCosts
        Fixed cost per period and cost per participant served.
    capital : CapitalStructure
        Tranches, guarantee, fees, excess rule.
    municipality : Municipality
        The commissioner's savings, discount rate and own costs.
    service_periods : int
        Periods for which each engaged participant is served (and costs money), from entry.
    investor_discount_rate : float
        Investors' required return per year, for their NPV.
    target_irr : float
        Annual IRR investors target, for the break-even effect at that IRR.
    currency : str

    Examples
    --------
    See ``examples/peterborough.py`` and the built-in scenario files.
    """

    evaluations: tuple[Evaluation, ...]
    contract: Contract
    service_costs: ServiceCosts
    capital: CapitalStructure
    municipality: Municipality
    service_periods: int = 1
    investor_discount_rate: float = 0.0
    target_irr: float = 0.05
    currency: str = "EUR"

    def __post_init__(self) -> None:
        evs = tuple(self.evaluations) if not isinstance(self.evaluations, Evaluation) else (
            self.evaluations,)
        if not evs or not all(isinstance(e, Evaluation) for e in evs):
            raise v.fail("SIBTerms.evaluations", self.evaluations, "one or more Evaluation")
        object.__setattr__(self, "evaluations", evs)
        paid = set(self.contract.metrics)
        measured = {e.metric for e in evs}
        if paid - measured:
            raise v.fail("SIBTerms.contract.terms", sorted(paid - measured),
                         f"metrics that an evaluation measures ({', '.join(sorted(measured))})")
        for f, cls in (("contract", Contract), ("service_costs", ServiceCosts),
                       ("capital", CapitalStructure), ("municipality", Municipality)):
            if not isinstance(getattr(self, f), cls):
                raise TypeError(f"SIBTerms.{f}: got {type(getattr(self, f)).__name__}; "
                                f"allowed: {cls.__name__}")
        object.__setattr__(self, "service_periods",
                           v.positive_int("SIBTerms.service_periods", self.service_periods))
        object.__setattr__(self, "investor_discount_rate",
                           v.real("SIBTerms.investor_discount_rate", self.investor_discount_rate,
                                  low=-0.5, high=1.0))
        object.__setattr__(self, "target_irr", v.real("SIBTerms.target_irr", self.target_irr,
                                                      low=-0.99, high=10.0))
        v.name("SIBTerms.currency", self.currency)


def counterfactual(scenario: Scenario, draws: int, seed: int) -> xr.Dataset:
    """Expected outcomes without the service, per draw (same baseline parameters as a run
    with the same seed, because parameter streams are keyed by name)."""
    return simulate(scenario.with_effect(None), draws=draws, seed=seed, engine="expected",
                    progress=False)


def _served(ds: xr.Dataset, service_periods: int) -> np.ndarray:
    eng = ds["engaged"].sel(arm="treatment").sum("stratum", skipna=False).values  # (D, W, P)
    entry = ds["entry_period"].values
    t = np.arange(ds.sizes["period"])
    mask = (t[None, :] >= entry[:, None]) & (t[None, :] < entry[:, None] + service_periods)
    return (eng * mask[None]).sum(1)


def money_flows(scenario: Scenario, ds: xr.Dataset, terms: SIBTerms,
                cf: xr.Dataset | None = None) -> xr.Dataset:
    """Every party's money in every draw and period, as a labelled dataset.

    Parameters
    ----------
    scenario : Scenario
        The scenario simulated in ``ds``.
    ds : xarray.Dataset
        Outcome dataset from :func:`sibsim.simulate`.
    terms : SIBTerms
        The money side of the deal.
    cf : xarray.Dataset, optional
        The counterfactual (see :func:`counterfactual`); computed if not given.
    """
    seed = int(ds.attrs["seed"])
    D, P = ds.sizes["draw"], ds.sizes["period"]
    if cf is None:
        cf = counterfactual(scenario, D, seed)
    table = evaluate(ds, terms.evaluations, seed)
    pay = terms.contract.outcome_payments(table, P)
    served = _served(ds, terms.service_periods)
    costs = terms.service_costs.cost(served)
    flows = waterfall(terms.capital, costs, pay.total)
    mun = terms.municipality
    def treated_total(data: xr.Dataset, var: str, **sel: str) -> np.ndarray:
        return data[var].sel(arm="treatment", **sel).sum(("wave", "stratum"), skipna=False).values

    sim_ev = treated_total(ds, "events")
    cf_ev = treated_total(cf, "events")
    avoided = cf_ev - sim_ev
    avoided_pp = {}
    for state in mun.states_valued():
        if "state" not in ds.dims or state not in ds["state"].values:
            raise v.fail("Municipality.saving_per_person_period", state,
                         "states of the scenario's outcome")
        avoided_pp[state] = (treated_total(cf, "occupancy", state=state)
                             - treated_total(ds, "occupancy", state=state))
    cash, wider = mun.savings(avoided, avoided_pp)
    other = mun.other_costs(P)
    net = cash + flows.party("commissioner") - other[None, :]
    names = list(ds["parameter"].values)
    true_eff = (ds["parameter_value"].values[:, names.index("effect.value")]
                if "effect.value" in names else np.full(D, np.nan))
    data = {
        "outcome_payments": pay.total,
        "payments_by_metric": pay.by_metric,
        "participants_served": served,
        "service_costs": costs,
        "flow": flows.flows,
        "drawdown": flows.drawdown,
        "investor_received": np.stack([flows.party(t) for t in flows.tranches], axis=1)
        + flows.drawdown,
        "measured_effect": table.measured_effect,
        "trigger_units": table.units,
        "gate_passed": table.gate.astype(np.int8),
        "avoided_events": avoided,
        "cashable_savings": cash,
        "wider_value": wider,
        "commissioner_other_costs": other,
        "net_savings": net,
        "true_effect": true_eff,
    }
    coords = {
        "draw": np.arange(D), "period": np.arange(P), "party": list(flows.parties),
        "tranche": list(flows.tranches),
        "metric": list(terms.contract.metrics), "trigger": np.arange(table.n_triggers),
        "trigger_metric": ("trigger", list(table.metric)),
        "trigger_period": ("trigger", np.array(table.period, dtype=np.int64)),
        "trigger_pooled": ("trigger", np.array(table.cumulative, dtype=np.int8)),
        "trigger_participants": ("trigger", np.array(table.participants, dtype=np.int64)),
    }
    variables = {}
    for name, arr in data.items():
        dims, desc = MONEY_SCHEMA[name]
        units = {"participants_served": "people", "measured_effect": "fraction",
                 "trigger_units": "outcome units", "gate_passed": "1",
                 "avoided_events": "events", "true_effect": scenario.effect.measure
                 if scenario.effect is not None else "none"}.get(name, terms.currency)
        variables[name] = xr.Variable(dims, np.asarray(arr), attrs={"units": units,
                                                                    "description": desc})
    out = xr.Dataset(variables, coords=coords)
    out.attrs.update({
        "currency": terms.currency,
        "seed": seed,
        "period": ds.attrs["period"],
        "periods_per_year": int(ds.attrs["periods_per_year"]),
        "social_discount_rate_per_year": mun.discount_rate,
        "investor_discount_rate_per_year": terms.investor_discount_rate,
        "target_irr_per_year": terms.target_irr,
        "tranches": ",".join(flows.tranches),
        "timing": ("flows of period t are discounted by (1 + r)**t (period 0 undiscounted); "
                   "service costs in the period delivered; outcome payments in the period the "
                   "result is known plus the contract lag; savings when the outcome is avoided"),
    })
    return out
