"""From an outcome dataset to every party's money, draw by draw.

:func:`money_flows` turns a simulated outcome dataset of a :class:`~sibsim.money.deal.Deal` into
a labelled money dataset:

outcome dataset -> evaluation (measured effect per trigger) -> outcome payments (contract) ->
service costs and the capital waterfall (investors, guarantor, provider, intermediary) -> the
commissioner's savings and net savings.

Timing: everything happens on the simulation's period grid. Service costs are incurred (and
drawn down) in the period the service is delivered; outcome payments in the period their result
is known plus the contract's lag; savings in the period the outcome is avoided.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from sibsim.dataset.build import simulate_treatment_arm
from sibsim.dataset.schema import in_schema_order
from sibsim.money._arrays import sum_axis1
from sibsim.money.cancellation import apply_cancellation
from sibsim.money.capital import ServiceCosts
from sibsim.money.deal import Deal
from sibsim.money.evaluation import _sample_for_draws, evaluate, evaluation_fixed
from sibsim.money.evaluation_inputs import evaluation_inputs, input_units
from sibsim.money.kernels.chain import sum_waves_strata
from sibsim.money.payer_money_effect import money_effect_savings
from sibsim.money.payer_scope import apply_presence, scoped_savings
from sibsim.money.payers import payer_savings, valued_states
from sibsim.money.results import EvaluationTable
from sibsim.money.stratum_end import StratumEnds, end_results, stratum_ends, unserved_mask
from sibsim.money.termination import Lifecycle, interim_results, lifecycle
from sibsim.money.uncertain import resolve_money
from sibsim.spec import _validate as v
from sibsim.spec.correlation import outcome_overrides
from sibsim.spec.scenario import Scenario

__all__ = ["counterfactual", "counterfactual_of", "money_flows"]

MONEY_SCHEMA = {
    "outcome_payments": (("draw", "period"),
                         "Outcome payments made by the commissioner (all payers together): what "
                         "enters the waterfall."),
    "payments_by_metric": (("draw", "metric", "period"),
                           "Outcome payments by metric under the contract (before any payer's "
                           "own caps, see unpaid_by_payer)."),
    "achievements": (("draw", "rate_card", "period"),
                     "What each rate card counts in the treated arm (events or person-periods), "
                     "all strata, by period of achievement (only with rate cards)."),
    "participants_served": (("draw", "period"), "Participants receiving the service (people)."),
    "service_costs": (("draw", "period"), "Cost of delivering the service."),
    "unfunded_costs": (("draw", "period"),
                       "Service costs and fees beyond the capital committed: not funded by the "
                       "deal (borne by the provider or cut from the service); never dropped."),
    "flow": (("draw", "party", "period"),
             "Net cash flow of each party (+ received, - paid); sums to 0 over parties."),
    "drawdown": (("draw", "tranche", "period"), "Capital drawn from each tranche (gross; "
                 "grants and deferred fees too, see the tranche_kind coordinate)."),
    "investor_received": (("draw", "tranche", "period"),
                          "Cash received by each tranche: distributions and guarantee (gross)."),
    "measured_effect": (("draw", "trigger"),
                        "Measured relative improvement of each evaluation (fraction)."),
    "trigger_units": (("draw", "trigger"), "Outcome units attributed by each evaluation."),
    "gate_passed": (("draw", "trigger"), "1 if the significance gate passed (or no gate) and "
                    "any absolute target (target_per_person_period) was met."),
    "avoided_events": (("draw", "period"),
                       "Events truly avoided in the treated cohort (counterfactual - simulated); "
                       "with several outcome processes, those of the first process."),
    "avoided_events_by_process": (("draw", "process", "period"),
                                  "Events truly avoided in the treated cohort, by outcome process "
                                  "(scenarios with several processes only)."),
    "cashable_savings": (("draw", "period"), "Cashable savings to the commissioner."),
    "wider_value": (("draw", "period"), "Wider public value of the avoided outcomes."),
    "commissioner_other_costs": (("period",), "Commissioner's own costs (evaluation, management)."),
    "net_savings": (("draw", "period"),
                    "Commissioner's net cash: cashable savings + its waterfall flow (- outcome "
                    "payments + any excess returned) - other costs."),
    "true_effect": (("draw",), "True effect (the scenario's effect.value) in each draw."),
    "payments_by_payer": (("draw", "payer", "period"),
                          "Outcome payments made by each payer, after its caps and when its "
                          "appropriations allow; sums to outcome_payments over payers."),
    "unpaid_by_payer": (("draw", "payer", "period"),
                        "Due under a payer's shares in the period less what it paid then: > 0 "
                        "where its caps cut the payment (missing from what enters the "
                        "waterfall) or it waits for the payer's appropriations, < 0 where a "
                        "waiting payment is made; summed over periods, what is never paid or "
                        "still owed at the horizon's end."),
    "cashable_savings_by_payer": (("draw", "payer", "period"),
                                  "Cashable savings of each payer, from its own saving rates."),
    "wider_value_by_payer": (("draw", "payer", "period"),
                             "Wider public value to each payer, from its own rates."),
    "other_costs_by_payer": (("payer", "period"), "Each payer's own costs."),
    "net_savings_by_payer": (("draw", "payer", "period"),
                             "Each payer's net cash: its cashable savings - its outcome "
                             "payments + its part of any excess returned - its own costs."),
    # the deal's lifecycle (money/termination.py)
    "stop_period": (("draw",), "First period without service, drawdowns or fees (the number of "
                    "periods if the deal ran its course)."),
    "settlement_period": (("draw",), "Period in which the deal settled (guarantee paid)."),
    "recycled_reserve": (("draw", "period"), "Outcome payments held back after the period to "
                         "fund later service costs (capital.recycle)."),
    "money_parameter_value": (("draw", "money_parameter"),
                              "Sampled value of each uncertain money assumption (savings rates, "
                              "service costs, other costs) in each draw; only when some are "
                              "distributions (sibsim.money.uncertain)."),
    "evaluation_parameter_value": (("draw", "evaluation_parameter"),
                                   "Sampled value of each uncertain input of the evaluations "
                                   "(a comparison's bias, a historical rate, a money metric's "
                                   "value; units in evaluation_parameter_units) in each draw, "
                                   "the values the evaluations measured with; only "
                                   "when some are distributions "
                                   "(sibsim.money.evaluation_inputs)."),
}
LIFECYCLE_UNITS = {"stop_period": "period", "settlement_period": "period"}


def counterfactual(deal: Deal | Scenario, draws: int, seed: int,
                   first_draw: int = 0,
                   overrides: Mapping[str, np.ndarray] | None = None) -> xr.Dataset:
    """Expected outcomes of the treatment arm without the service, per draw (same baseline
    parameters as a run with the same seed, because parameter streams are keyed by name).

    Only the treatment arm is computed (its ``arm`` dimension holds ``"treatment"`` alone):
    what the money chain compares the treated outcomes with. The scenario without its
    comparison group gives that arm's numbers bit for bit (keyed streams), at a fraction of the
    cost where the comparison group is large.

    Compute it once per run and pass it to :func:`money_flows` and
    :func:`sibsim.analysis.breakeven.breakeven`, which reuse it. ``first_draw``: global index
    of the first draw, for a block of a longer run (see :func:`sibsim.simulate`).
    ``overrides``: baseline parameters set per draw (name -> array of ``draws`` values), as
    in :func:`sibsim.simulate`, on top of a deal's correlated inputs.

    >>> import sibsim
    >>> cf = counterfactual(sibsim.load_scenario("peterborough"), draws=5, seed=1)
    >>> cf["arm"].values.tolist(), cf.sizes["draw"]
    (['treatment'], 5)
    """
    scenario = deal.scenario if isinstance(deal, Deal) else deal
    corr = deal.correlation if isinstance(deal, Deal) else None
    base = scenario.with_effect(None)
    over = {**(outcome_overrides(corr, base, seed, first_draw, draws) or {}),
            **(overrides or {})}
    return simulate_treatment_arm(base, draws, seed, engine="expected", overrides=over,
                                  first_draw=first_draw)


def counterfactual_of(deal: Deal | Scenario, ds: xr.Dataset) -> xr.Dataset:
    """The :func:`counterfactual` of the draws of the outcome dataset ``ds`` (its seed and its
    ``draw`` coordinate: a whole run, a block of one, or any selection of its draws)."""
    draws = np.asarray(ds["draw"].values, dtype=np.int64)
    lo, hi = int(draws.min()), int(draws.max()) + 1
    cf = counterfactual(deal, hi - lo, int(ds.attrs["seed"]), first_draw=lo)
    return cf if hi - lo == draws.size else cf.sel(draw=draws)


def check_same_draws(ds: xr.Dataset, other: xr.Dataset, name: str) -> None:
    """Refuse a dataset (a counterfactual) computed for other draws than the outcome dataset."""
    if not np.array_equal(other["draw"].values, ds["draw"].values):
        d = other["draw"].values
        got = f"draws {d.min()}..{d.max()} ({d.size})" if d.size else "no draws"
        raise v.fail(name, got, f"the same draws as the outcome dataset ({ds.sizes['draw']}, "
                     "same draw coordinate); compute it with counterfactual_of(deal, ds)")


def _served(ds: xr.Dataset, service_periods: int, costs: ServiceCosts | None = None,
            process: str | None = None, unserved: np.ndarray | None = None,
            ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Participants served per draw and period (in their service window), and of those the
    ones in each state that ``costs.per_state`` prices.

    ``costs.basis == "engaged"``: every engaged participant; ``"in_service"``: engaged
    participants not in an absorbing state (from ``engaged_occupancy`` of ``process``, the
    outcome process with states; a dataset without states has no absorbing state).
    ``unserved``: bool (D, S, P), people of a stratum not served in a period (a stratum that
    ended, :func:`~sibsim.money.stratum_end.unserved_mask`); they count 0 before the strata
    are added together (adding a 0 is exact: the other strata's sum is unchanged).
    """
    entry = ds["entry_period"].values
    t = np.arange(ds.sizes["period"])
    mask = (t[None, :] >= entry[:, None]) & (t[None, :] < entry[:, None] + service_periods)
    eng = ds["engaged"].sel(arm="treatment")
    if unserved is not None:  # (D, W, S, P): the ended strata's people count 0
        eng = eng.copy(data=np.where(unserved[:, None], 0.0, eng.values))
    eng = eng.sum("stratum", skipna=False).values  # (D, W, P)
    served = (eng * mask[None]).sum(1)
    if costs is None or (costs.basis == "engaged" and not costs.per_state):
        return served, {}
    if "engaged_occupancy" not in ds:
        if costs.per_state:
            raise v.fail("ServiceCosts.per_state", sorted(costs.per_state),
                         "no states: the scenario's outcome has none")
        return served, {}
    eocc = ds["engaged_occupancy"].sel(arm="treatment")
    absorbing = ds["absorbing"]
    if "process" in ds.dims:
        eocc = eocc.sel(process=process)
        absorbing = absorbing.sel(process=process)
    if unserved is not None:  # (D, W, Str, P, S): the ended strata's people count 0
        eocc = eocc.copy(data=np.where(unserved[:, None, :, :, None], 0.0, eocc.values))
    eocc = eocc.sum("stratum", skipna=False)  # (D, W, P, S)
    by_state = (eocc.values * mask[None, :, :, None]).sum(1)  # (D, P, S)
    states = [str(s) for s in ds["state"].values]
    if costs.basis == "in_service":
        alive = ~absorbing.values.astype(bool) & np.isfinite(by_state[0, 0])
        served = by_state[..., alive].sum(-1)
    out = {}
    for state in costs.per_state:
        if state not in states or not np.isfinite(by_state[0, 0, states.index(state)]):
            raise v.fail("ServiceCosts.per_state", state,
                         f"a state of the outcome process {process!r}" if process
                         else "a state of the scenario's outcome")
        if costs.basis == "in_service" and bool(absorbing.values[states.index(state)]):
            raise v.fail("ServiceCosts.per_state", state,
                         "a state that is not absorbing with basis = 'in_service' (nobody is "
                         "served in an absorbing state)")
        out[state] = by_state[..., states.index(state)]
    return served, out


def _state_process(scenario: Scenario) -> str | None:
    """The outcome process whose states the service costs follow (the first with states)."""
    if not scenario.other_processes:
        return None
    for p in scenario.processes:
        if getattr(p.outcome, "states", ()):
            return p.name
    return scenario.process_names[0]


class EffectFree(NamedTuple):
    """Parts of :func:`money_flows` that do not depend on the treated arm's outcomes, computed
    once by :func:`effect_free` and reused when only those outcomes change (the break-even
    search re-runs the money chain at many true effects)."""

    served: tuple[np.ndarray, dict[str, np.ndarray]]  #: what ``_served`` gives
    cf_events: dict[str, np.ndarray]  #: counterfactual treated events by process (all started)
    cf_occupancy: dict[str, np.ndarray]  #: counterfactual treated occupancy of valued states
    #: service costs of ``served`` (the deal running its course), by the deal's
    #: ``service_costs`` (the variants of a design can share one ``EffectFree``), filled on use
    costs: dict[Any, np.ndarray]
    #: the evaluations' effect-free parts (:func:`~sibsim.money.evaluation.evaluation_fixed`),
    #: by the deal's ``evaluations``, filled on use
    evaluations: dict[Any, Any]
    #: what ``_served`` gives with the deal's stratum ends (:mod:`sibsim.money.stratum_end`),
    #: by the rules and cost terms, filled on use (its costs are in ``costs``)
    ended: dict[Any, Any]
    #: the uncertain money assumptions' values for the draws of ``ds``, by name and
    #: distribution (:func:`~sibsim.money.uncertain.sample_money`), filled on use
    money_samples: dict[Any, np.ndarray]
    #: counterfactual treated totals when some cohorts never started (a cancellation, a stop),
    #: by variable, selection and the pattern of cohorts started, filled on use
    cf_totals: dict[Any, np.ndarray]
    #: what depends on the outcome dataset and not on the money terms varied (the cancellation's
    #: evaluation table, rate-card counts, treated totals, savings), filled on use, when every
    #: call passes the same outcomes (``effect_free(..., same_outcomes=True)``: a design grid,
    #: a sensitivity run); None when the treated arm's outcomes change between calls (the
    #: break-even search)
    outcomes: dict[Any, Any] | None
    #: the lifecycle's masks of a stop that does not depend on the outcomes (a cancellation,
    #: the maturity), filled on use when the outcomes change between calls
    #: (:func:`~sibsim.money.termination.lifecycle`'s ``kept``)
    stops: dict[Any, Any]
    #: what does not depend on the treated arm's outcomes (by :func:`_kept`), filled on use
    #: when they change between calls (``outcomes`` keeps it otherwise): the draws' labels,
    #: entry periods and true effects, the check that the counterfactual has the same draws,
    #: and the cohorts started before the lifecycle's stop (tied to that very stop)
    reused: dict[Any, Any]

    def evaluation_part(self, key: Any, make: Callable[[], Any]) -> Any:
        """``evaluations[key]``: made by ``make()`` and kept there on first use (the
        evaluations' effect-free parts, the cancellation's draws and its evaluation of the
        cohorts that ran)."""
        if key not in self.evaluations:
            self.evaluations[key] = make()
        return self.evaluations[key]


def effect_free(deal: Deal, ds: xr.Dataset, cf: xr.Dataset, *,
                same_outcomes: bool = False) -> EffectFree:
    """The :class:`EffectFree` parts of the money of ``ds`` (engagement and the counterfactual:
    the same at every true effect).

    ``same_outcomes=True`` promises that every :func:`money_arrays` call given this object
    passes ``ds`` itself, unchanged (variants of the money terms on fixed outcome draws: a
    design grid, a sensitivity run), so that what depends on the outcomes alone is also kept
    between calls; the break-even search, which changes the treated arm, leaves it False."""
    terms, scenario = deal, deal.scenario
    served = _served(ds, terms.service_periods, terms.service_costs, _state_process(scenario))
    several = "process" in ds.dims
    cf_events = {name: _treated_total(cf, "events", None, **({"process": name} if several
                                                              else {}))
                 for name in scenario.process_names}
    cf_occ = {}
    for state in valued_states(terms.effective_payers, explicit=bool(terms.payers)):
        if "state" in ds.dims and state in ds["state"].values:
            cf_occ[state] = _treated_total(cf, "occupancy", None, state=state,
                                           **_state_pick(scenario, state, several))
    return EffectFree(served, cf_events, cf_occ, {}, {}, {}, {}, {},
                      {} if same_outcomes else None, {}, {})


def _treated_total(data: xr.Dataset, var: str, started: np.ndarray | None,
                   **sel: str) -> np.ndarray:
    """Treated arm's ``var`` summed over waves and strata, (D, P); waves not ``started``
    (bool (D, W); None: all) count nothing."""
    da = data[var]
    dims = list(da.dims)
    pick: list[Any] = [slice(None)] * len(dims)
    for dim, label in {"arm": "treatment", **sel}.items():
        pick[dims.index(dim)] = _position(data, dim, label)
    kept = [d for d, i in zip(dims, pick, strict=True) if isinstance(i, slice)]
    treated = da.values[tuple(pick)]
    mask = started is not None and not started.all()  # cohorts never started avoid nothing
    if kept == ["draw", "wave", "stratum", "period"] and treated.dtype == np.float64:
        out = np.empty((treated.shape[0], treated.shape[3]))
        sum_waves_strata(treated, started if mask else np.ones((1, 1), bool), mask, out)
        return out
    if mask:
        assert started is not None
        shape = [1] * len(kept)
        shape[kept.index("draw")], shape[kept.index("wave")] = started.shape
        if kept.index("draw") > kept.index("wave"):
            started = started.T
        treated = treated * started.reshape(shape)
    total = treated.sum(axis=(kept.index("wave"), kept.index("stratum")))
    # (D, P) whatever the order of the dims (data not in the schema's order)
    return total.T if kept.index("period") < kept.index("draw") else total


def counterfactual_total(cf: xr.Dataset, var: str, started: np.ndarray, fixed: EffectFree | None,
                         preset: Callable[[], np.ndarray], all_started: bool, pattern: bytes,
                         **sel: str) -> np.ndarray:
    """The counterfactual's treated ``var`` summed over the cohorts ``started`` (D, W), (D, P):
    ``preset()`` (made once with the effect-free parts, every cohort started) where all
    started, else kept in ``fixed.cf_totals`` by the pattern of cohorts started
    (``started.tobytes()``); computed afresh without ``fixed``."""
    if fixed is None:
        return _treated_total(cf, var, started, **sel)
    if all_started:
        return preset()
    return _kept(fixed.cf_totals, (var, tuple(sorted(sel.items())), pattern),
                 lambda: _treated_total(cf, var, started, **sel))


def _position(data: xr.Dataset, dim: str, label: str) -> int:
    """Index of ``label`` along ``dim`` (as ``.sel`` finds it; a KeyError if missing)."""
    return int(data.indexes[dim].get_loc(label))


def _state_pick(scenario: Scenario, state: str, several: bool) -> dict[str, str]:
    """The process selection of a valued state (scenarios with several processes)."""
    if not several:
        return {}
    return {"process": next(p.name for p in scenario.processes
                            if state in getattr(p.outcome, "states", ()))}


def money_flows(deal: Deal, ds: xr.Dataset, cf: xr.Dataset | None = None,
                table: EvaluationTable | None = None,
                interim: EvaluationTable | None = None) -> xr.Dataset:
    """Every party's money in every draw and period, as a labelled dataset.

    Parameters
    ----------
    deal : Deal
        The deal whose outcome scenario was simulated in ``ds`` (it must have money terms).
    ds : xarray.Dataset
        Outcome dataset from :func:`sibsim.simulate`.
    cf : xarray.Dataset, optional
        The counterfactual (see :func:`counterfactual`); computed if not given. Pass it when
        calling several times on one run: it is the same for every money variant.
    table : EvaluationTable, optional
        Evaluation results to pay on instead of measuring ``ds`` (the hook of
        :func:`sibsim.analysis.replay.replay`, which fixes realised measured effects); it must
        have the triggers that :func:`~sibsim.money.evaluation.evaluate` gives for ``ds``.
    interim : EvaluationTable, optional
        Interim results the termination rules read, instead of measuring ``ds`` (see
        :func:`sibsim.money.termination.interim_results`; the replay's hook too).
    """
    data, coords = money_arrays(deal, ds, cf, table, interim)
    return _label(deal, ds, data, coords)


def _hashable(terms: object) -> bool:
    """Whether ``terms`` can key a cache: terms holding per-draw values set in Python (a
    sensitivity run's inputs) cannot, and are computed afresh."""
    try:
        hash(terms)
    except TypeError:
        return False
    return True


def money_arrays(deal: Deal, ds: xr.Dataset, cf: xr.Dataset | None = None,
                 table: EvaluationTable | None = None, interim: EvaluationTable | None = None,
                 fixed: EffectFree | None = None) -> tuple[MoneyArrays, dict]:
    """The arrays of :func:`money_flows` (name -> numpy array, dims as in ``MONEY_SCHEMA``)
    and their coordinates, without building the dataset; ``fixed``: the :func:`effect_free`
    parts of ``deal`` and ``ds`` (or of a dataset that differs from ``ds`` only in the treated
    arm's events and occupancy), computed once."""
    if not isinstance(deal, Deal) or not deal.has_money:
        raise v.fail("money_flows.deal", type(deal).__name__,
                     "a Deal with evaluations, a contract and a capital structure")
    memo = None if fixed is None else fixed.outcomes  # kept between calls on the same outcomes
    # kept between calls on the same draws, whether or not their treated outcomes change
    same_draws = memo if memo is not None or fixed is None else fixed.reused
    given_cf = cf
    ds = in_schema_order(ds)  # arrays are read by position below
    cf = None if cf is None else in_schema_order(cf)
    seed = int(ds.attrs["seed"])
    unresolved = deal
    draw_labels = _kept(same_draws, ("draw",), lambda: np.array(ds["draw"].values))
    deal, money_values = resolve_money(deal, seed, draw_labels,
                                       None if fixed is None else fixed.money_samples)
    terms, scenario = deal, deal.scenario
    P = ds.sizes["period"]
    if cf is None:
        cf = counterfactual_of(deal, ds)
        given_cf = None
    # checked once for the counterfactual given with the same draws
    _kept(same_draws if given_cf is not None else None, ("same_draws",),
          lambda: check_same_draws(ds, cf, "money_flows.cf"), tied=given_cf)
    # the treated units' window sums of the evaluations, which the cancellation's evaluation
    # of the cohorts that ran reads instead of summing them again (evaluate's window_sums)
    window_sums: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    if table is None:
        measured = None
        if fixed is not None:  # the comparison arm and counterfactual rates: the same
            key = unresolved.evaluations
            measured = fixed.evaluation_part(key, lambda: evaluation_fixed(ds, key, seed))
        table = _kept(memo, ("evaluation", unresolved.evaluations),
                      lambda: evaluate(ds, terms.evaluations, seed, measured,
                                       window_sums=window_sums))
    # payments, payers, costs and waterfall under the termination rules (money/termination.py)
    payers = terms.effective_payers
    ends = stratum_ends(deal, ds, seed)  # a sub-project that ended (money/stratum_end.py)
    full_costs = None
    if ends is not None:
        served_plan, served_by_state, full_costs = _ended_served(
            ds, terms, unresolved, ends, fixed)
        table = end_results(ends, table)
    elif fixed is None:
        served_plan, served_by_state = _served(ds, terms.service_periods, terms.service_costs,
                                               _state_process(scenario))
    else:
        served_plan, served_by_state = fixed.served
    if ends is None and fixed is not None and _hashable(unresolved.service_costs):
        key = unresolved.service_costs  # the deal's terms before resolve_money (same draws)
        if key not in fixed.costs:
            fixed.costs[key] = terms.service_costs.cost(served_plan, served_by_state or None)
        full_costs = fixed.costs[key]
    given = table  # money/cancellation.py; kept for the same table (of the same outcomes)
    table, cancel = _kept(memo, ("cancellation", unresolved.termination, unresolved.evaluations),
                          lambda: apply_cancellation(deal, ds, given, seed, fixed, window_sums),
                          tied=given)
    achievements = _kept(memo, ("achievements", unresolved.contract.rate_cards),
                         lambda: terms.contract.achievements(ds))
    life_key = _lifecycle_key(unresolved) if memo is not None else None
    tied = (table, interim, achievements, served_plan, full_costs)
    life = _last_lifecycle(memo, life_key, tied)
    if life is None:
        life = lifecycle(deal, table, served_plan,
                         interim_results(deal, ds, seed) if interim is None else interim,
                         achievements, served_by_state, full_costs, cancel,
                         kept=None if fixed is None or memo is not None else fixed.stops)
        _keep_lifecycle(memo, life_key, tied, life)
    # the payers' split and the waterfall (life.split, life.flows) are read where needed:
    # a caller that reads the contract's payments and costs alone (the break-even search's
    # kernels.from_payments) does not pay for them where the lifecycle makes them on use
    pay, achieved = life.payments, life.achieved
    served, costs = life.served, life.costs
    entry = _kept(same_draws, ("entry_period",), lambda: np.array(ds["entry_period"].values))
    # (D, W): cohorts started before a stop; whether all did, and their pattern, which keys
    # what depends on them; kept for the very stop the lifecycle kept (the same draws)
    def started_now() -> tuple[np.ndarray, bool, bytes]:
        started = life.started(entry)
        return started, bool(started.all()), started.tobytes()
    started, all_started, pattern = _kept(same_draws, ("started",), started_now,
                                          tied=life.stop)
    def treated_total(data: xr.Dataset, var: str, **sel: str) -> np.ndarray:
        return _treated_total(data, var, started, **sel)

    def cf_total(var: str, preset: Callable[[], np.ndarray], **sel: str) -> np.ndarray:
        return counterfactual_total(cf, var, started, fixed, preset, all_started, pattern,
                                    **sel)

    def ds_total(var: str, **sel: str) -> np.ndarray:
        return _kept(memo, ("treated", var, tuple(sorted(sel.items())), pattern),
                     lambda: treated_total(ds, var, **sel))

    pnames = scenario.process_names
    several = "process" in ds.dims
    pp_states = valued_states(payers, explicit=bool(terms.payers))
    for state, key in pp_states.items():
        if "state" not in ds.dims or state not in ds["state"].values:
            raise v.fail(key, state, "states of the scenario's outcome")

    # the savings side (events avoided, each payer's savings, the commissioner's net savings)
    # is computed when first read (MoneyArrays), once: a caller that reads its own totals (the
    # break-even search's breakeven_tail) does not pay for it. It reads ``ds`` then: the
    # break-even search, which overwrites its dataset's treated arm at each effect, reads the
    # arrays of one effect before the next.
    @functools.cache
    def avoided_now() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        avoided_by = {}
        for name in pnames:
            pick = {"process": name} if several else {}
            avoided_by[name] = (cf_total("events", lambda n=name: fixed.cf_events[n], **pick)
                                - ds_total("events", **pick))
        avoided_pp = {}
        for state in pp_states:
            pick = _state_pick(scenario, state, several)
            avoided_pp[state] = (
                cf_total("occupancy", lambda s=state: fixed.cf_occupancy[s], state=state,
                         **pick)
                - ds_total("occupancy", state=state, **pick))
        return avoided_by, avoided_pp

    def savings() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        avoided_by, avoided_pp = avoided_now()
        by_process = several or any(p.savings_terms.processes_valued() for p in payers)
        cash_y, wider_y, other_y = payer_savings(
            payers, avoided_by if by_process else avoided_by[pnames[0]], avoided_pp, P)
        # savings on some strata only, payers present in some years only (money/payer_scope.py)
        cash_y, wider_y = scoped_savings(
            payers, ds, cf, started,
            [(p.name, getattr(p.outcome, "states", ())) for p in scenario.processes], P,
            cash_y, wider_y)
        # a money evaluation's extra money from its money.effect (money/payer_money_effect.py)
        if any(p.saving_of_money_effect for p in payers):
            # the same for every set of other savings terms (a tornado's inputs): kept
            key = ("money_effect_savings", _frozen(tuple(
                (p.name, p.savings_strata, p.saving_of_money_effect)
                for p in unresolved.effective_payers)), unresolved.evaluations, pattern)
            extra = _kept(memo, key, lambda: money_effect_savings(
                payers, terms.evaluations, ds, seed, None if all_started else started))
            if extra is not None:
                cash_y = cash_y + extra
        return apply_presence(deal.payer_presence(), cash_y, wider_y, other_y)
    savings_key = (_frozen(unresolved.effective_payers), unresolved.start_year,
                   unresolved.start_period, pattern)
    if any(p.saving_of_money_effect for p in payers):  # its money follows the evaluations
        savings_key = (*savings_key, unresolved.evaluations)

    @functools.cache
    def saved() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
        """(cash_y, wider_y, other_y, cash, other, per_draw_costs)"""
        cash_y, wider_y, other_y = _kept(memo, ("savings", *savings_key), savings)
        per_draw_costs = other_y.ndim == 3  # some payer's own costs are uncertain: (D, Y, P)
        cash, other = _kept(  # all payers together, kept beside the savings they add up
            memo, ("savings_sums", *savings_key),
            lambda: (sum_axis1(cash_y),
                     sum_axis1(other_y) if per_draw_costs else other_y.sum(axis=0)),
            tied=cash_y)
        return cash_y, wider_y, other_y, cash, other, per_draw_costs

    def net_now() -> np.ndarray:
        _, _, _, cash, other, per_draw_costs = saved()
        return cash + life.flows.party("commissioner") - (
            other if per_draw_costs else other[None, :])

    def net_by_payer() -> np.ndarray:
        cash_y, _, other_y, _, _, per_draw_costs = saved()
        return cash_y + life.split.flows(life.flows.party("commissioner")) - (
            other_y if per_draw_costs else other_y[None])
    true_eff = _kept(same_draws, ("true_effect",), lambda: _true_effect(ds))
    assert deal.capital is not None
    parties, tranches = deal.capital.parties, deal.capital.tranche_names
    n_tr = len(tranches)
    assert parties[1:1 + n_tr] == tranches  # the waterfall's party order
    data = MoneyArrays({
        "outcome_payments": _Later(lambda: life.split.total),
        "payments_by_metric": pay.by_metric,
        "participants_served": served,
        "service_costs": costs,
        "unfunded_costs": _Later(lambda: life.flows.unfunded),
        "flow": _Later(lambda: life.flows.flows),
        "drawdown": _Later(lambda: life.flows.drawdown),
        # the break-even search sums it with its other totals (breakeven_totals): made on use
        "investor_received": _Later(lambda: life.flows.flows[:, 1:1 + n_tr]
                                    + life.flows.drawdown),
        "measured_effect": table.measured_effect,
        "trigger_units": table.units,
        "gate_passed": table.gate.astype(np.int8),
        "avoided_events": _Later(lambda: avoided_now()[0][pnames[0]]),
        "cashable_savings": _Later(lambda: saved()[3]),
        "wider_value": _Later(lambda: saved()[1].sum(axis=1)),
        "commissioner_other_costs": _Later(lambda: saved()[4]),
        "net_savings": _Later(net_now),
        "true_effect": true_eff,
        "payments_by_payer": _Later(lambda: life.split.paid),
        "unpaid_by_payer": _Later(lambda: life.split.unpaid),
        "cashable_savings_by_payer": _Later(lambda: saved()[0]),
        "wider_value_by_payer": _Later(lambda: saved()[1]),
        "other_costs_by_payer": _Later(lambda: saved()[2]),
        "net_savings_by_payer": _Later(net_by_payer),
        "stop_period": life.stop,
        "settlement_period": _Later(lambda: life.flows.settlement),
        "recycled_reserve": _Later(lambda: life.flows.reserve),
    }, life)
    if several:
        data["avoided_events_by_process"] = _Later(
            lambda: np.stack([avoided_now()[0][n] for n in pnames], axis=1))
    if money_values:
        data["money_parameter_value"] = np.stack(list(money_values.values()), axis=1)
    eval_inputs = evaluation_inputs(unresolved.evaluations)
    if eval_inputs:  # sampled on their streams as the evaluations sample them: the same values
        data["evaluation_parameter_value"] = _Later(lambda: np.stack(
            [_sample_for_draws(dist, name, seed, draw_labels)
             for name, dist in eval_inputs.items()], axis=1))
    if achieved is not None:
        data["achievements"] = _Later(lambda: achieved.counts.sum(axis=2))
    coords = {
        "draw": draw_labels, "period": np.arange(P), "party": list(parties),
        "tranche": list(tranches), "payer": [p.name for p in payers],
        "tranche_kind": ("tranche", list(deal.capital.tranche_kinds)),
        "metric": list(pay.metrics), "trigger": np.arange(table.n_triggers),
        "trigger_metric": ("trigger", list(table.metric)),
        "trigger_period": ("trigger", np.array(table.period, dtype=np.int64)),
        "trigger_pooled": ("trigger", np.array(table.cumulative, dtype=np.int8)),
        "trigger_participants": ("trigger", np.array(table.participants, dtype=np.int64)),
    }
    if several:
        coords["process"] = list(pnames)
    if money_values:
        coords["money_parameter"] = list(money_values)
    if eval_inputs:
        coords["evaluation_parameter"] = list(eval_inputs)
        coords["evaluation_parameter_units"] = ("evaluation_parameter", [
            input_units(n, terms.currency) for n in eval_inputs])
    if achieved is not None:
        coords["rate_card"] = list(achieved.cards)
    return data, coords


#: Payer fields that only its savings and own costs read (``payer_savings``), not the
#: payments, payer split or waterfall of :func:`~sibsim.money.termination.lifecycle`.
_SAVINGS_ONLY = frozenset({"saving_per_event", "wider_value_per_event",
                           "saving_per_person_period", "wider_value_per_person_period",
                           "other_costs_per_period", "contract_periods", "savings_strata",
                           "saving_of_money_effect"})
#: Deal fields that the lifecycle does not read through the key: the scenario (fixed by the
#: outcome draws of an ``effect_free(..., same_outcomes=True)`` memo), the municipality and
#: payers (their payment terms are keyed by ``_lifecycle_key``).
_NOT_LIFECYCLE = frozenset({"scenario", "municipality", "payers"})


def _lifecycle_key(deal: Deal) -> tuple | None:
    """What :func:`lifecycle` reads of ``deal`` (its terms before ``resolve_money``) on fixed
    outcome draws: every deal field but the scenario, and the payers' fields but their savings;
    None when these hold per-draw values (they cannot key a cache). Variants that differ in
    savings only (a tornado's savings inputs, a grid over the discount rate) share it."""
    fields = tuple((f.name, getattr(deal, f.name)) for f in dataclasses.fields(deal)
                   if f.name not in _NOT_LIFECYCLE)
    payers = tuple(tuple((f.name, _frozen(getattr(p, f.name))) for f in dataclasses.fields(p)
                         if f.name not in _SAVINGS_ONLY) for p in deal.effective_payers)
    key = (fields, payers)
    return key if _hashable(key) else None


def _last_lifecycle(memo: dict[Any, Any] | None, key: tuple | None, tied: tuple) -> Any:
    """The lifecycle kept by :func:`_keep_lifecycle` for ``key``, computed from the very
    objects ``tied`` (the evaluation table, interim results, rate-card counts, people served
    and service costs of the outcomes); None if there is none."""
    if memo is None or key is None:
        return None
    hit = memo.get(("lifecycle",))
    if hit is None:
        return None
    kept_tied, (kept_key, life), _ = hit
    if kept_key != key or any(a is not b for a, b in zip(kept_tied, tied, strict=True)):
        return None
    return life


def _keep_lifecycle(memo: dict[Any, Any] | None, key: tuple | None, tied: tuple,
                    life: Any) -> None:
    """Keep the last lifecycle computed (one: consecutive calls that differ in savings only
    reuse it; a grid of contract terms just replaces it), its arrays read-only."""
    if memo is None or key is None:
        return
    for a in (life.stop, life.served, life.costs):
        if isinstance(a, np.ndarray):
            a.flags.writeable = False
    entry = (tied, (key, life), _deep_nbytes(life))
    with _KEPT_LOCK:  # other threads may be evicting from the memo (_kept)
        memo.pop(("lifecycle",), None)
        memo[("lifecycle",)] = entry


def _deep_nbytes(value: Any, depth: int = 3) -> int:
    """Bytes of the arrays in ``value`` and its fields, ``depth`` levels down."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if depth == 0 or value is None or isinstance(value, str | int | float):
        return 0
    if isinstance(value, tuple | list):
        return sum(_deep_nbytes(x, depth - 1) for x in value)
    if hasattr(value, "_asdict"):
        items = value._asdict().values()
    elif dataclasses.is_dataclass(value):
        items = [getattr(value, f.name) for f in dataclasses.fields(value)]
    else:
        items = getattr(value, "__dict__", {}).values()
    return sum(_deep_nbytes(x, depth - 1) for x in items)


def _true_effect(ds: xr.Dataset) -> np.ndarray:
    """The true effect of each draw (``parameter_value`` of ``effect.value``; NaN without)."""
    names = list(ds["parameter"].values)
    if "effect.value" not in names:
        return np.full(ds.sizes["draw"], np.nan)
    return np.array(ds["parameter_value"].values[:, names.index("effect.value")])


def _ended_served(ds: xr.Dataset, deal: Deal, unresolved: Deal, ends: StratumEnds,
                  fixed: EffectFree | None,
                  ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray | None]:
    """What ``_served`` gives with the deal's stratum ends, and its service costs (None: to
    be computed by the lifecycle); cached in ``fixed.ended`` (the break-even fast path: the
    same arrays as the general path, bit for bit)."""
    def make() -> tuple[np.ndarray, dict[str, np.ndarray]]:
        mask = unserved_mask(ends, ds.sizes["stratum"], ds.sizes["period"])
        return _served(ds, deal.service_periods, deal.service_costs,
                       _state_process(deal.scenario), mask)

    if fixed is None:
        return (*make(), None)
    costs = unresolved.service_costs  # the terms before resolve_money (the same draws)
    key = ("served", ends.rules, deal.service_periods, costs.basis,
           tuple(sorted(costs.per_state or ())))
    if key not in fixed.ended:
        fixed.ended[key] = make()
    served, by_state = fixed.ended[key]
    if not _hashable(costs):
        return served, by_state, None
    ckey = ("end_stratum", key, costs)  # beside the plain costs, keyed apart
    if ckey not in fixed.costs:
        fixed.costs[ckey] = deal.service_costs.cost(served, by_state or None)
    return served, by_state, fixed.costs[ckey]


#: Most bytes of arrays kept in one cache of an :class:`EffectFree` (``outcomes`` and
#: ``cf_totals``): the oldest entries go first beyond it, and a value larger than it alone is
#: computed afresh each time. A design grid of a million draws must not keep an array set per
#: variant; a break-even search whose stop depends on the results keeps a few patterns.
_KEPT_BYTES = 256 * 2**20
#: Guards the memos of :func:`_kept` (threads evaluating the break-even grid share them).
_KEPT_LOCK = threading.Lock()


def _nbytes(value: Any) -> int:
    """Bytes of the arrays in ``value``: an array, a tuple of them, or an object holding
    arrays in its fields (an evaluation table), one level deep."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, tuple | list):
        return sum(_nbytes(x) for x in value)
    if hasattr(value, "_asdict"):  # a NamedTuple
        fields = value._asdict()
    elif dataclasses.is_dataclass(value):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    else:
        fields = getattr(value, "__dict__", {})
    return sum(x.nbytes for x in fields.values() if isinstance(x, np.ndarray))


def _frozen(x: Any) -> Any:
    """``x`` with its dicts and lists (at any depth, in specification dataclasses too) as
    tuples, to key a cache; arrays stay as they are (such a key cannot be hashed)."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return (type(x), tuple(_frozen(getattr(x, f.name)) for f in dataclasses.fields(x)))
    if isinstance(x, Mapping):
        return (dict, tuple((k, _frozen(y)) for k, y in x.items()))
    if isinstance(x, list | tuple):
        return (type(x), tuple(_frozen(y) for y in x))
    return x


def _kept(memo: dict[Any, Any] | None, key: Any, make: Callable[[], Any],
          tied: object = None, budget: int = _KEPT_BYTES) -> Any:
    """``make()``, kept in ``memo`` under ``key`` for the next call: computed afresh without a
    memo, for a key that cannot be hashed (terms holding per-draw values set in Python), or
    when ``tied`` (an object the value is computed from, e.g. the evaluation table given) is
    not the very object it was kept with. The memo holds at most ``budget`` bytes of arrays,
    the oldest entries going first. The arrays kept are made read-only, so that no caller can
    change them in place."""
    if memo is None or not _hashable(key):
        return make()
    with _KEPT_LOCK:
        hit = memo.get(key)
    if hit is not None and hit[0] is tied:
        return hit[1]
    value = make()  # outside the lock: two threads may both compute it (the same numbers)
    size = _nbytes(value)
    if size > budget:
        return value
    for a in value if isinstance(value, tuple) else (value,):
        if isinstance(a, np.ndarray):
            a.flags.writeable = False
    with _KEPT_LOCK:  # threads evaluating effects at once (the break-even grid) share memos
        memo.pop(key, None)
        while memo and sum(entry[2] for entry in memo.values()) + size > budget:
            memo.pop(next(iter(memo)))
        memo[key] = (tied, value, size)
    return value


class _Later:
    """An array of :class:`MoneyArrays` computed when first read."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], np.ndarray]) -> None:
        self.make = make


class MoneyArrays(MutableMapping[str, np.ndarray]):
    """The arrays of :func:`money_arrays`, by name: a mapping whose rarely read arrays (per
    payer net savings and unpaid amounts, wider value, ...) are computed on first access, so
    a caller that reads a few (the break-even search, the design grid) does not pay for the
    others. Every array is the same, bit for bit, whenever it is read, as long as the outcome
    arrays given to :func:`money_arrays` are not changed before: the savings side (events
    avoided, savings, net savings) is computed from them when first read.

    Examples
    --------
    >>> m = MoneyArrays({"a": np.zeros(2), "b": _Later(lambda: np.ones(2))})
    >>> list(m), m["b"].tolist()
    (['a', 'b'], [1.0, 1.0])
    """

    def __init__(self, items: dict[str, Any], lifecycle: Lifecycle | None = None) -> None:
        self._items = dict(items)
        #: the run's :class:`~sibsim.money.termination.Lifecycle` (its contract payments,
        #: costs and stop), for a caller that makes its own totals from them (the break-even
        #: search); None where not given
        self.lifecycle = lifecycle

    def __getitem__(self, name: str) -> np.ndarray:
        value = self._items[name]
        if isinstance(value, _Later):
            value = self._items[name] = value.make()
        return value  # type: ignore[no-any-return]

    def __setitem__(self, name: str, value: Any) -> None:
        self._items[name] = value

    def __delitem__(self, name: str) -> None:
        del self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


def _label(deal: Deal, ds: xr.Dataset, data: Mapping[str, np.ndarray],
           coords: dict) -> xr.Dataset:
    """The money dataset of :func:`money_arrays`' arrays: units, descriptions, attributes."""
    terms, scenario, seed = deal, deal.scenario, int(ds.attrs["seed"])
    mun = terms.municipality
    variables = {}
    for name, arr in data.items():
        dims, desc = MONEY_SCHEMA[name]
        if name in ("commissioner_other_costs", "other_costs_by_payer") and (
                np.ndim(arr) == len(dims) + 1):  # some payer's own costs are uncertain
            dims = ("draw", *dims)
        units = {"participants_served": "people", "measured_effect": "fraction",
                 "trigger_units": "outcome units", "gate_passed": "1",
                 "avoided_events": "events", "avoided_events_by_process": "events",
                 "achievements": "achievements", "money_parameter_value": terms.currency,
                 "evaluation_parameter_value": "see evaluation_parameter_units",
                 "true_effect": scenario.effect.measure
                 if scenario.effect is not None else "none",
                 **LIFECYCLE_UNITS}.get(name, terms.currency)
        variables[name] = xr.Variable(dims, np.asarray(arr), attrs={"units": units,
                                                                    "description": desc})
    out = xr.Dataset(variables, coords=coords)
    _label_money_units(out, terms)
    out.attrs.update({
        "currency": terms.currency,
        "seed": seed,
        "period": ds.attrs["period"],
        "periods_per_year": int(ds.attrs["periods_per_year"]),
        "social_discount_rate_per_year": mun.discount_rate,
        "investor_discount_rate_per_year": terms.investors.discount_rate,
        "target_irr_per_year": terms.investors.target_irr,
        "tranches": ",".join(coords["tranche"]),
        "timing": ("flows of period t are discounted by (1 + r)**t (period 0 undiscounted); "
                   "service costs in the period delivered; outcome payments in the period the "
                   "result is known plus the contract lag; savings when the outcome is avoided"),
    })
    return out


def _label_money_units(out: xr.Dataset, deal: Deal, describe: bool = True) -> None:
    """Money evaluations (``Evaluation.money``): their triggers' units are the deal's currency.
    Adds the ``trigger_unit`` coordinate (each trigger's unit) and labels ``trigger_units``
    in the currency when every trigger is money; nothing changes without a money evaluation."""
    money = {e.metric for e in deal.evaluations if e.money is not None}
    if not money or "trigger_units" not in out:
        return
    metrics = [str(m) for m in out["trigger_metric"].values]
    unit = [deal.currency if m in money else "outcome units" for m in metrics]
    out.coords["trigger_unit"] = ("trigger", unit)
    out["trigger_units"].attrs["units"] = (
        deal.currency if all(m in money for m in metrics)
        else f"outcome units or {deal.currency} (see trigger_unit)")
    if describe:
        out["trigger_units"].attrs["description"] = (
            "Outcome units attributed by each evaluation; money for a money evaluation "
            "(evaluation money = {...}): currency above the counterfactual.")
