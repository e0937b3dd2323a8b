"""Replays: a deal's money chain run on *realised* evaluation results.

A replay answers "with the effect the evaluator actually reported, what would this scenario's
contract have paid, and how would the investors and the commissioner have fared?", and puts the
answer next to the cash outcome reported in public sources.

:func:`replay` simulates the deal as usual, measures its evaluations (:func:`evaluate`), then
replaces the measured effect of the chosen triggers by the realised value and the units they
pay on by the units implied against the contract's counterfactual:

    units = realised effect x counterfactual units of the trigger

(the counterfactual is the evaluation design's: the comparison group's rate, biased if the
design says so, or the historical rate, times the trigger's participants). When realised units
are public (Utah: 109 child-years), pass them and they are used as they are. Triggers with no
realised value keep their simulated values. Replayed triggers pass any significance gate (the
realised result is the one the contract was settled on); an absolute target
(``target_per_person_period``) is checked on their replayed units. The outcome payments, the capital
waterfall and the guarantee then run unchanged (:func:`sibsim.money.sib.money_flows` with the
replayed table).

The commissioner's net position in a replay values the realised units (not the simulated
outcomes) at the municipality's cashable saving: ``saving_per_event`` for an evaluation of
events, ``saving_per_person_period[state]`` for an occupancy evaluation; per metric the pooled
trigger's units are used when there is one, else the sum over the waves. Savings are booked in
the period the result is known (a simplification: the real savings arise over the window).

The realised figures and reported cash outcomes of the built-in scenarios, with their sources,
are in ``replays.toml`` next to this module; :func:`load_replays` reads them and
:func:`run_replay` runs one.

Examples
--------
>>> import sibsim
>>> rep = sibsim.replay(sibsim.load_scenario("nyc-able"), measured={"jail_days": 0.0},
...                     draws=20, seed=1)
>>> float(rep["outcome_payments"].max())           # no reduction: nothing is paid
0.0
>>> float(rep["guarantee_paid"].mean()) / float(rep["investor_invested"].mean())
0.75
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import xarray as xr

from sibsim.dataset.build import simulate
from sibsim.money.capital import investor_tranches
from sibsim.money.deal import Deal
from sibsim.money.estimand import trigger_shares
from sibsim.money.evaluation import (
    Evaluation,
    evaluate,
    evaluation_fixed,
    targets_met,
    unit_values,
)
from sibsim.money.results import EvaluationTable
from sibsim.money.sib import _label_money_units, counterfactual, money_flows
from sibsim.money.stratum_end import end_results, stratum_ends
from sibsim.money.termination import interim_results, paid_in_waterfall
from sibsim.spec import _validate as v

__all__ = ["ReplayCase", "first_cohorts", "load_replays", "replay", "run_replay",
           "without_policy"]

Realised = float | Sequence[float | None] | None


def _per_trigger(field_name: str, metric: str, value: Realised, n: int) -> np.ndarray:
    """A realised value for each of the ``n`` triggers of ``metric`` (NaN: keep simulated)."""
    if value is None:
        return np.full(n, np.nan)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return np.full(n, float(value))
    try:
        seq = [np.nan if x is None else float(x) for x in value]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise v.fail(f"{field_name}[{metric}]", value,
                     "a number, or a list with one number (or None / nan) per trigger") from None
    if len(seq) != n:
        raise v.fail(f"{field_name}[{metric}]", value,
                     f"a number or a list of {n} values, one per trigger of {metric!r} "
                     "(per-wave triggers in wave order, then the pooled one)")
    return np.array(seq)


def _counterfactual_units(ds: xr.Dataset, deal: Deal, seed: int) -> np.ndarray:
    """Counterfactual outcome units of every trigger, (D, K): the evaluation of ``ds`` with the
    treated arm's outcomes set to 0, so that the measured difference is the counterfactual."""
    keep = xr.where(ds["arm"] == "treatment", 0.0, 1.0)
    zero = ds.copy()
    for var in ("events", "occupancy"):
        if var in zero:
            zero[var] = zero[var] * keep
    return np.abs(evaluate(zero, deal.evaluations, seed).units)


def replay(deal: Deal, measured: Mapping[str, Realised], *,
           units: Mapping[str, Realised] | None = None, draws: int = 1000, seed: int = 0,
           engine: str = "auto", progress: bool | None = False) -> xr.Dataset:
    """Run a deal's money chain with realised measured effects.

    Parameters
    ----------
    deal : Deal
        A deal with money terms, e.g. ``sibsim.load_scenario("peterborough")``.
    measured : mapping
        Realised measured effect (a fraction: 0.09 = 9% fewer events than the counterfactual,
        or 9% more with ``direction="increase"``) per metric: one number for every trigger of
        the metric, or a list with one value per trigger (per-wave triggers in wave order, then
        the pooled one; ``None`` or ``nan`` keeps a trigger's simulated value).
    units : mapping, optional
        Realised outcome units per metric (same shapes as ``measured``), used instead of the
        units implied by the effect. Needed where the contract's counterfactual is zero (a
        payment on a level) or the scenario's trigger covers more than the realised figure.
    draws, seed : int
        Monte Carlo draws and seed of the simulation (the uncertain counterfactual, costs and
        triggers left unreplayed vary by draw).
    engine : str
        Outcome engine (see :func:`sibsim.simulate`).

    Returns
    -------
    xarray.Dataset
        Per draw (amounts in the deal's currency, over the whole horizon, undiscounted):
        ``measured_effect`` and ``trigger_units`` (draw, trigger) as paid on; ``replayed``
        (trigger) 1 where a realised value was used; ``payments_by_trigger`` (draw, trigger);
        ``outcome_payments``; ``investor_invested``, ``investor_received`` (incl. the
        guarantee), ``investor_net`` (received - invested), also ``..._by_tranche``;
        ``guarantee_paid``; ``commissioner_paid`` (outcome payments less any excess returned);
        ``commissioner_savings`` (cashable, on the realised units); ``commissioner_net``
        (savings - paid - the commissioner's other costs). ``attrs["unfunded_costs_max"]``:
        the largest unfunded cost of a draw (0 when the capital covers every cost).

    Notes
    -----
    A replay runs what happened, so a termination rule decided outside the contract (a risk of
    cancellation, ``kind = "cancel_later_cohorts"``) or a sub-project's end with a probability
    below 1 (``kind = "end_stratum"``) is not applied: every planned cohort runs
    (``attrs["not_applied"]`` says so); :func:`first_cohorts` gives the cohorts that ran.
    Money conservation holds as in :func:`~sibsim.money.sib.money_flows`: the replay only
    changes the evaluation table that the contract pays on.

    Examples
    --------
    >>> import sibsim
    >>> rep = sibsim.replay(sibsim.load_scenario("peterborough"),
    ...                     measured={"reconviction": [0.084, 0.096, 0.09, 0.09]},
    ...                     draws=20, seed=1)
    >>> bool((rep["payments_by_trigger"].isel(trigger=0) == 0).all())   # 8.4% < 10%
    True
    >>> bool((rep["payments_by_trigger"].isel(trigger=3) > 0).all())    # 9% pooled >= 7.5%
    True
    """
    if not isinstance(deal, Deal) or not deal.has_money:
        raise v.fail("replay.deal", type(deal).__name__, "a Deal with money terms")
    # the risk of a cancellation decided outside the contract is not a result: a replay runs
    # the cohorts given (all planned ones, or first_cohorts(deal, n) for those that ran)
    outside = [r.kind for r in deal.termination if r.policy_risk]
    deal = without_policy(deal)
    metrics = {ev.metric for ev in deal.evaluations}
    for name, given in (("replay.measured", measured), ("replay.units", units or {})):
        if not isinstance(given, Mapping):
            raise v.fail(name, given, "a mapping from metric to realised value(s)")
        unknown = sorted(set(given) - metrics)
        if unknown:
            raise v.fail(name, unknown, "evaluated metrics of the deal: "
                         + ", ".join(sorted(metrics)))
    ds = simulate(deal.scenario, draws=draws, seed=seed, engine=engine, progress=progress,
                  engaged_events=deal.needs_engaged_events)
    seed = int(ds.attrs["seed"])
    cf = counterfactual(deal, draws, seed)
    table = evaluate(ds, deal.evaluations, seed)
    cf_units = _counterfactual_units(ds, deal, seed)
    fixed = evaluation_fixed(ds, deal.evaluations, seed)
    shares = trigger_shares(ds, fixed)  # 1, or the enrolled share (estimand = "treated")
    effect, unit = table.measured_effect.copy(), table.units.copy()
    gate = table.gate.copy()
    value = {ev.metric: ev.avoided_cost_per_unit for ev in deal.evaluations}
    replayed = np.zeros(table.n_triggers, bool)
    trig = np.array(table.metric)
    for metric in metrics:
        idx = np.flatnonzero(trig == metric)
        eff = _per_trigger("replay.measured", metric, measured.get(metric), len(idx))
        n_units = _per_trigger("replay.units", metric, (units or {}).get(metric), len(idx))
        for j, k in enumerate(idx):
            if math.isnan(eff[j]) and math.isnan(n_units[j]):
                continue
            replayed[k] = True
            if not math.isnan(eff[j]):
                effect[:, k] = eff[j]
            unit[:, k] = n_units[j] if not math.isnan(n_units[j]) \
                else effect[:, k] * shares[:, k] * cf_units[:, k]
            gate[:, k] = True
    if replayed.any() and any(ev.target_per_person_period is not None
                              for ev in deal.evaluations):
        # an absolute target is checked on the replayed units (the realised result)
        met = targets_met(fixed, unit, shares)
        gate[:, replayed] = met[:, replayed]
    avoided_cost = unit * np.array([value[m] for m in table.metric])[None, :]
    new = dataclasses.replace(table, measured_effect=effect, units=unit,
                              avoided_cost=avoided_cost, gate=gate)
    interim = interim_results(deal, ds, seed)
    if interim is not None:  # termination rules read the realised interim results too
        i_eff, i_gate = interim.measured_effect.copy(), interim.gate.copy()
        for metric in metrics:
            given = measured.get(metric)
            if given is None or not isinstance(given, (int, float)) or math.isnan(given):
                continue  # a list is per contract trigger: interim results stay simulated
            cols = [k for k, m in enumerate(interim.metric) if m == metric]
            i_eff[:, cols], i_gate[:, cols] = float(given), True
        interim = dataclasses.replace(interim, measured_effect=i_eff, gate=i_gate)
    ends = stratum_ends(deal, ds, seed)  # a sub-project's certain end: its later results
    if ends is not None:  # pay nothing here too (money_flows applies the same gate again)
        new = end_results(ends, new)
    money = money_flows(deal, ds, cf, table=new, interim=interim)
    by_trigger = _claim_share_by_trigger(
        deal, money, new, deal.contract.outcome_payments(new, ds.sizes["period"],
                                            deal.contract.achievements(ds)).by_trigger)
    per_unit = (unit_values(evaluation_fixed(ds, deal.evaluations, seed))
                if any(ev.money is not None for ev in deal.evaluations) else None)
    out = _summary(deal, money, new, replayed, by_trigger, per_unit)
    if outside:
        out.attrs["not_applied"] = (
            f"termination rules decided outside the contract or stating a risk "
            f"({', '.join(outside)}): a replay runs every planned cohort and sub-project; "
            "first_cohorts(deal, n) runs the cohorts that ran")
    return out


def _per_event(amount, process: str | None) -> float:
    """A payer's saving per event of the process measured: a plain number, or with several
    processes the table's amount for ``process`` (0 for a process left out)."""
    if isinstance(amount, dict | Mapping):
        return float(amount.get(process, 0.0))
    return float(amount)


def _per_person_period(saving: Mapping[str, float], ev: Evaluation) -> float:
    """A payer's saving per person-period of the states an occupancy evaluation measures (one
    value: the units of a set of states are their sum, so each state must be valued alike)."""
    values = {float(saving.get(s, 0.0)) for s in ev.states}
    if len(values) > 1:
        raise v.fail(f"Evaluation[{ev.metric}].state", ev.state,
                     "states valued alike by each payer's saving_per_person_period in a "
                     "replay (its units are the states' person-periods together)")
    return values.pop()


def _savings_on_units(deal: Deal, table: EvaluationTable, n_periods: int,
                      per_unit: np.ndarray | None = None) -> np.ndarray:
    """Cashable savings (D, P) on the units of the table, booked when each result is known
    (summed over the deal's payers: with ``[[payers]]`` the savings are theirs). ``per_unit``
    (D, K): currency per outcome unit of money triggers (:func:`unit_values`), whose units are
    turned back into outcome units before the payers' savings per unit value them."""
    payers = deal.effective_payers
    out = np.zeros((table.n_draws, n_periods))
    for ev in deal.evaluations:
        idx = [k for k, m in enumerate(table.metric) if m == ev.metric]
        pooled = [k for k in idx if table.cumulative[k]] or (
            idx if not ev.per_wave else [])
        use = pooled or idx
        price = sum(_per_event(p.saving_per_event, ev.process) if ev.outcome == "events"
                    else _per_person_period(p.saving_per_person_period, ev) for p in payers)
        for k in use:
            units = table.units[:, k] if per_unit is None else table.units[:, k] / per_unit[:, k]
            out[:, min(table.period[k], n_periods - 1)] += units * price
    return out


def _claim_share_by_trigger(deal: Deal, money: xr.Dataset, table: EvaluationTable,
                            by_trigger: np.ndarray) -> np.ndarray:
    """Payments on claim-tied shares are made in the waterfall, not the ledger (which books 0):
    take them from the money dataset, in each trigger's payment period (shared equally between
    triggers of one metric paid in the same period)."""
    claim = {t.metric for t in deal.contract.terms if paid_in_waterfall(t.rule)}
    if not claim:
        return by_trigger
    out = by_trigger.copy()
    P = money.sizes["period"]
    pay_at = [deal.contract.payment_period(p, P)[0] for p in table.period]  # lag and dates
    when = [P - 1 if q is None else q for q in pay_at]
    for k, metric in enumerate(table.metric):
        if metric in claim:
            same = sum(1 for j, m in enumerate(table.metric) if m == metric and when[j] == when[k])
            paid = money["payments_by_metric"].sel(metric=metric).values[:, when[k]]
            out[:, k] = paid / same
    return out


def _summary(deal: Deal, money: xr.Dataset, table: EvaluationTable, replayed: np.ndarray,
             by_trigger: np.ndarray, per_unit: np.ndarray | None = None) -> xr.Dataset:
    cur = deal.currency
    flow = money["flow"]
    parties = list(money["party"].values)
    investors = investor_tranches(money.coords)  # not grants or deferred fees
    drawn = money["drawdown"].sel(tranche=investors).sum("period")
    received = money["investor_received"].sel(tranche=investors).sum("period")
    guarantee = (-flow.sel(party="guarantor").sum("period") if "guarantor" in parties
                 else xr.zeros_like(money["outcome_payments"].sum("period")))
    commissioner_flow = flow.sel(party="commissioner").sum("period")
    savings = _savings_on_units(deal, table, money.sizes["period"], per_unit).sum(-1)
    other = float(money["commissioner_other_costs"].sum())
    data = {
        "measured_effect": (("draw", "trigger"), table.measured_effect, "fraction",
                            "Measured effect paid on: realised where replayed, else simulated."),
        "trigger_units": (("draw", "trigger"), table.units, "outcome units",
                          "Outcome units paid on: realised effect x counterfactual units, or "
                          "the realised units given."),
        "replayed": (("trigger",), replayed.astype(np.int8), "1",
                     "1 where the trigger's result is the realised one."),
        "payments_by_trigger": (("draw", "trigger"), by_trigger, cur,
                                "Outcome payment due on each trigger."),
        "outcome_payments": (("draw",), money["outcome_payments"].sum("period").values, cur,
                             "Total outcome payments."),
        "investor_invested": (("draw",), drawn.sum("tranche").values, cur,
                              "Capital drawn from all tranches."),
        "investor_received": (("draw",), received.sum("tranche").values, cur,
                              "Cash received by all tranches, including the guarantee."),
        "investor_net": (("draw",), (received - drawn).sum("tranche").values, cur,
                         "Investors' cash result: received - invested (undiscounted)."),
        "investor_net_by_tranche": (("draw", "tranche"), (received - drawn).values, cur,
                                    "Cash result of each tranche (undiscounted)."),
        "guarantee_paid": (("draw",), np.asarray(guarantee.values, dtype=float), cur,
                           "Paid by the guarantor."),
        "commissioner_paid": (("draw",), -commissioner_flow.values, cur,
                              "Outcome payments less any excess returned to the commissioner."),
        "commissioner_savings": (("draw",), savings, cur,
                                 "Cashable savings valued on the units paid on."),
        "commissioner_net": (("draw",), savings + commissioner_flow.values - other, cur,
                             "Commissioner's net position: savings - paid - own costs "
                             "(undiscounted)."),
    }
    out = xr.Dataset(
        {k: xr.Variable(d, np.asarray(a), attrs={"units": u, "description": t})
         for k, (d, a, u, t) in data.items()},
        coords={"draw": money["draw"].values, "trigger": money["trigger"].values,
                "tranche": investors,  # the investors' tranches (not grants)
                "trigger_metric": money["trigger_metric"],
                "trigger_pooled": money["trigger_pooled"],
                "trigger_period": money["trigger_period"]})
    _label_money_units(out, deal, describe=False)  # money evaluations' units are currency
    out.attrs.update({"scenario": deal.name, "currency": cur, "seed": money.attrs["seed"],
                      "unfunded_costs_max": float(money["unfunded_costs"].sum("period").max())})
    return out


# --------------------------------------------------------------------------- the cases
@dataclass(frozen=True)
class ReplayCase:
    """One public realised result of a built-in scenario (a ``[[replay]]`` of replays.toml).

    ``measured`` / ``units``: realised values per metric, as :func:`replay` takes them;
    ``reported_outcome_payments`` / ``reported_investor_net``: the public cash figures in the
    scenario's currency, ``None`` where not public; ``realised`` / ``reported``: the figures in
    words; ``sources``: where they come from. ``cohorts``: the number of entry waves that ran,
    when fewer than the scenario's (later waves cancelled by a decision outside the contract,
    e.g. Peterborough's third cohort): the replay runs the scenario with its first ``cohorts``
    waves only (:func:`first_cohorts`); ``None`` runs them all.
    """

    scenario: str
    label: str
    realised: str
    reported: str
    sources: tuple[str, ...]
    measured: Mapping[str, Realised] = field(default_factory=dict)
    units: Mapping[str, Realised] = field(default_factory=dict)
    reported_outcome_payments: float | None = None
    reported_investor_net: float | None = None
    reported_trigger_payment: float | None = None
    trigger: int | None = None
    cohorts: int | None = None
    note: str = ""


_CASE_KEYS = {f.name for f in dataclasses.fields(ReplayCase)}


def load_replays() -> list[ReplayCase]:
    """The realised results of the built-in scenarios, with their sources (replays.toml).

    Examples
    --------
    >>> sorted({c.scenario for c in load_replays()})[:2]
    ['denver-housing', 'essex-mst']
    """
    text = (resources.files("sibsim.analysis") / "replays.toml").read_text(encoding="utf-8")
    cases = []
    for i, raw in enumerate(tomllib.loads(text)["replay"]):
        unknown = sorted(set(raw) - _CASE_KEYS)
        if unknown:
            raise v.fail(f"replays.toml: replay[{i}]", unknown,
                         "keys " + ", ".join(sorted(_CASE_KEYS)))
        raw = dict(raw)
        raw["sources"] = tuple(raw.get("sources", ()))
        cases.append(ReplayCase(**raw))
    return cases


def run_replay(case: ReplayCase, draws: int = 1000, seed: int = 0) -> xr.Dataset:
    """:func:`replay` of one :class:`ReplayCase` on its built-in scenario."""
    from sibsim.scenario_file import load_scenario

    deal = without_policy(load_scenario(case.scenario))  # what happened, not its risk
    if case.cohorts is not None:
        deal = first_cohorts(deal, case.cohorts)
    return replay(deal, case.measured, units=case.units, draws=draws, seed=seed)


def first_cohorts(deal: Deal, n: int) -> Deal:
    """The deal with its first ``n`` entry waves only (later cohorts never started).

    For a cancellation decided outside the contract (a policy change), where the waves that
    ran keep their terms and their results are still paid: unlike a ``[[termination]]`` rule,
    which stops the deal and pays nothing for results known after the stop. Per-wave effect
    multipliers (``by_wave``) are cut to the waves kept; a rule decided outside the contract
    (the risk of the cancellation, ``cancel_later_cohorts``) is dropped: it has happened.

    >>> import sibsim
    >>> first_cohorts(sibsim.load_scenario("peterborough"), 2).scenario.cohort.entry
    (1000, 1000)
    """
    deal = without_policy(deal)  # the cohorts that ran: no risk of cancellation is left
    sc = deal.scenario
    n = v.integer(1, sc.cohort.n_waves)("first_cohorts.n", n)
    entry = tuple(sc.cohort.entry)[:n]
    cohort = dataclasses.replace(sc.cohort, entry=entry, size=sum(entry))
    changes: dict[str, object] = {"cohort": cohort}
    if sc.effect is not None and sc.effect.by_wave is not None:
        changes["effect"] = dataclasses.replace(sc.effect, by_wave=tuple(sc.effect.by_wave)[:n])
    return deal.with_scenario(**changes)


def without_policy(deal: Deal) -> Deal:
    """The deal without its termination rules that state a risk rather than a contract term
    (``policy_risk``: ``cancel_later_cohorts``, and ``end_stratum`` with a probability below 1):
    every planned cohort and sub-project runs, as the contract was written. A replay fixes
    what happened, so the risk of a cancellation has no place in it; use
    :func:`first_cohorts` for the cohorts that ran. A stratum's end with probability 1 (a
    known fact of the deal) is kept.

    >>> import sibsim
    >>> without_policy(sibsim.load_scenario("peterborough")).termination
    ()
    """
    return deal.replace(termination=tuple(r for r in deal.termination
                                          if not r.policy_risk))
