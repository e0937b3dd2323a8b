"""Break-even distributions: the true effect at which each party breaks even, per draw.

For every Monte Carlo draw we ask: holding that draw's parameters *and its random outcome noise*
fixed (common random numbers), how strong must the true effect be for

* the investors' NPV (at their discount rate) to be zero,
* the investors' IRR to equal their target (their NPV at the target rate is zero),
* the commissioner's net savings (NPV at the social discount rate) to be zero?

Method
------
The treated arm's outcomes at a candidate effect ``e`` are its expected outcomes at ``e`` (the
expected-value engine, exact and smooth in ``e``) times the draw's simulated noise ratio
``simulated / expected`` at the draw's sampled effect. The comparison arm does not depend on the
effect and is kept as simulated. This keeps each draw's sampling and measurement noise fixed while
the effect varies, and makes the outcomes monotone in the effect. Everything downstream
(evaluation, payments, waterfall, savings) is recomputed exactly.

Each party's NPV is evaluated on a grid of effects from *no effect* to the strongest effect in
``effect_range`` (vectorised over draws), and the crossing is interpolated linearly between grid
points, by two rules:

* ``first``: the weakest effect at which the NPV reaches 0 (the no-effect end if it is >= 0
  there) - the headline for investors, whose payoff can dip again at very strong effects when a
  payment cap binds early;
* ``stays``: the weakest effect from which the NPV stays >= 0 for every stronger effect in the
  range - the headline for the commissioner, whose net savings are noise around 0 without an
  effect and can fall once payments start.

Both are NaN when there is no such crossing in the range. The same grid gives the curves of
P(investor loss) and P(commissioner net loss) against the true effect.

With several outcome processes (``Scenario.other_processes``) one process's effect is searched
(``[breakeven] outcome``, default the first): its effect parameter is overridden, every other
process keeps the draw's sampled effect, and each process's treated cells keep their own noise
ratio. The result's attributes ``outcome`` and ``effect_parameter`` say which effect it is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
from collections.abc import Mapping

import numba
import numpy as np
import xarray as xr

from sibsim.analysis.blocks import DrawSum
from sibsim.analysis.heap import kept_heap
from sibsim.analysis.metrics import (
    MONEY_ROUNDING,
    discount_factors,
    investor_loss,
    present_value,
)
from sibsim.analysis.threads import beside, in_order, numba_threads
from sibsim.dataset.build import simulate, with_correlated_inputs
from sibsim.dataset.schema import in_schema_order
from sibsim.engine.expected import frailty_nodes
from sibsim.engine.outcome_models import EffectFreeTables
from sibsim.engine.overrides import check_overrides
from sibsim.engine.parameters import sample_parameters
from sibsim.engine.ranges import MAX_EXPECTED_COUNT, _smallest_shape_factor
from sibsim.engine.run import _process_models, default_chunk
from sibsim.engine.tables import scaled_effect
from sibsim.money._arrays import sum_axis1
from sibsim.money.cancellation import _WHEN, cancellation_columns, cohorts_that_ran
from sibsim.money.capital import investor_tranches
from sibsim.money.deal import Deal, breakeven_process
from sibsim.money.evaluation import evaluation_fixed, trigger_terms
from sibsim.money.irr import _npv_kernel_serial
from sibsim.money.kernels.chain import (
    PAIRWISE_BLOCK,
    breakeven_tail,
    breakeven_totals,
)
from sibsim.money.kernels.from_payments import (
    NOT_MEASURED,
    NOT_TRACED,
    OK,
    OUT_OF_RANGE,
    FrontTerms,
    PayerTerms,
    SavingsArrays,
    SearchTotals,
    TraceTerms,
    breakeven_from_payments,
    front_off,
    trace_off,
)
from sibsim.money.kernels.waterfall import (
    CapitalArrays,
    KernelPath,
    filled_tranches,
    kernel_path,
)
from sibsim.money.municipality import per_period_rate
from sibsim.money.payer_waves import by_wave
from sibsim.money.payers import _caps, payer_own_costs, split_terms, valued_rates
from sibsim.money.payment_ledger import per_person_cap
from sibsim.money.sib import (
    EffectFree,
    MoneyArrays,
    _position,
    _served,
    _state_process,
    check_same_draws,
    counterfactual,
    counterfactual_total,
    effect_free,
    money_arrays,
    money_flows,
)
from sibsim.money.termination import (
    CancelLaterCohorts,
    Lifecycle,
    contract_stop,
    paid_in_waterfall,
    started_cohorts,
    stop_loss_limit,
)
from sibsim.money.uncertain import resolve_money
from sibsim.spec import _validate as v
from sibsim.spec.effect import Effect
from sibsim.spec.outcomes import MAX_RATE

__all__ = ["BreakevenBlocks", "breakeven", "breakeven_quantiles", "default_effect_range",
           "searched_effect"]

PARTIES = ("investors", "investors_target_irr", "commissioner")
RULES = ("first", "stays")
#: What :class:`_Pipeline` gives at each effect: each party's NPV, and whether the investors
#: lose and the commissioner makes a net loss (1.0 or 0.0), per draw.
_OUTPUTS = (*PARTIES, "investor_loss", "commissioner_net_loss")
#: The rule behind ``breakeven_effect`` for each party.
HEADLINE_RULE = {"investors": "first", "investors_target_irr": "first", "commissioner": "stays"}


#: The front of breakeven_from_payments off: the payments read (_Chain)
_FRONT_OFF = front_off()
#: The expected engine's engaged people, not tallied (a zero-size array: counts_trace skips it).
_NOT_TALLIED = np.empty((0, 0, 0, 0, 0))
#: Largest size of the effect-free tables kept between effects (the rest are built again).
_FREE_TABLES_BYTES = 256 * 2**20
#: Treated-arm trace steps (draws x groups x periods x states^2 x frailty nodes) up to which
#: one kernel call runs on one thread (a few milliseconds of work).
_SERIAL_TRACE_CELLS = 4_000_000


@dataclasses.dataclass(frozen=True)
class SearchedEffect:
    """The outcome process whose effect the break-even search varies.

    ``index``: its position in ``Scenario.processes``; ``name``: its name; ``parameter``: the
    name of its effect in ``Scenario.parameters()`` and ``simulate(overrides=...)``
    (``"effect.value"`` for the first process, ``"<name>.effect.value"`` for another);
    ``effect``: its :class:`~sibsim.spec.effect.Effect`.
    """

    index: int
    name: str
    parameter: str
    effect: Effect | None


def searched_effect(deal: Deal, outcome: str | None = None) -> SearchedEffect:
    """The process whose effect is searched: ``outcome`` (a process name), else the deal's
    ``[breakeven] outcome``, else the first process. An unknown name, or a process without
    an effect, is refused (:func:`sibsim.money.deal.breakeven_process`).

    >>> import sibsim
    >>> deal = sibsim.load_scenario("denver-housing")
    >>> searched_effect(deal).parameter, searched_effect(deal, "jail_days").parameter
    ('effect.value', 'jail_days.effect.value')
    """
    sc = deal.scenario
    if outcome is None:
        i = breakeven_process(sc, deal.breakeven.outcome)
    else:
        i = breakeven_process(sc, outcome, "breakeven.outcome")
    proc = sc.processes[i]
    return SearchedEffect(i, proc.name, "effect.value" if i == 0 else f"{proc.name}.effect.value",
                          proc.effect)


def default_effect_range(deal: Deal, outcome: str | None = None) -> tuple[float, float]:
    """(no effect, strongest effect) searched by default: a halving or doubling of the rate (a
    ratio measure), or 0.25 added or taken away (an absolute one).

    The direction is the one the searched effect takes (``outcome``, else the deal's
    ``[breakeven] outcome``, else the first process: :func:`searched_effect`): the side of *no
    effect* on which the mean of its prior lies (a hazard ratio of 1.4 on returning to work:
    towards 2.0). A prior centred on no effect leaves the direction to the first evaluation
    of that process (fewer events: towards 0.5).

    >>> import sibsim
    >>> default_effect_range(sibsim.load_scenario("peterborough"))  # relative rate 0.9
    (1.0, 0.5)
    >>> default_effect_range(sibsim.load_scenario("lapset-sib-2"))  # hazard ratio 1.4
    (1.0, 2.0)
    >>> default_effect_range(sibsim.load_scenario("denver-housing"), "jail_days")  # rr 0.7
    (1.0, 0.5)
    """
    searched = searched_effect(deal, outcome)
    effect = searched.effect
    if effect is None:
        raise v.fail("Scenario.effect", None, "an effect, to search for break-even")
    none = 0.0 if effect.measure == "absolute" else 1.0
    mean = float(effect.value.mean)  # a number is held as a Fixed distribution
    own = [e for e in deal.evaluations
           if e.process == searched.name or (e.process is None and searched.index == 0)]
    up = mean > none if mean != none else (own or deal.evaluations)[0].direction != "reduce"
    if effect.measure == "absolute":
        return (0.0, 0.25) if up else (0.0, -0.25)
    return (1.0, 2.0) if up else (1.0, 0.5)


class _Pipeline:
    """Money outcomes of every draw as a function of a per-draw true effect."""

    def __init__(self, deal: Deal, ds: xr.Dataset, cf: xr.Dataset | None = None,
                 fast: bool = True, searched: SearchedEffect | None = None) -> None:
        #: the process whose effect varies (its effect's parameter name is overridden; every
        #: other process keeps its sampled effect)
        self.searched = searched if searched is not None else searched_effect(deal)
        ds = in_schema_order(ds)  # arrays are read by position
        cf = None if cf is None else in_schema_order(cf)
        self.deal, self.scenario, self.ds = deal, deal.scenario, ds
        # the dataset at the current effect (_at_effect), one per thread evaluating effects
        self._local = threading.local()
        self.D = ds.sizes["draw"]
        self.seed = int(ds.attrs["seed"])
        draws = np.asarray(ds["draw"].values, dtype=np.int64)
        self.first = int(draws[0]) if draws.size else 0
        if not np.array_equal(draws, self.first + np.arange(self.D)):
            raise v.fail("breakeven.ds", "a selection of draws",
                         "a whole run or a contiguous block of draws of one (draw coordinate "
                         "k, k + 1, ...)")
        self.cf = (counterfactual(deal, self.D, self.seed, first_draw=self.first)
                   if cf is None else cf)
        check_same_draws(ds, self.cf, "breakeven.cf")
        # the fast path samples the parameters once and re-runs only the expected-trace tables
        # and kernel at each effect; scenarios with several outcome processes take the general
        # path (a whole expected-engine run per effect), which gives the same numbers
        self.fast = bool(fast) and not self.scenario.other_processes
        if self.fast:
            self._models = _process_models(self.scenario, "expected")
            self._params = sample_parameters(self.scenario.parameters(), self.seed, self.first,
                                             self.first + self.D)
            self._params.update(with_correlated_inputs(  # as simulate(deal) does
                self.deal.correlation, self.scenario, self.seed, self.first, self.D) or {})
            self._chunk = default_chunk(self.scenario)
            frailty = self.scenario.frailty
            self._frailty_var = frailty.variance if frailty is not None else 0.0
            model, st = self._models[0]
            # the kernels trace the treated arm only (each arm's trace is its own: the same
            # numbers as tracing both), and the tables' effect-free parts are built once
            self._treated = dataclasses.replace(st, sizes=st.sizes[:1])
            # a small trace runs on one thread: starting the parallel kernel's threads would
            # cost more than the work (much more on a machine whose cores are busy)
            nodes = frailty_nodes(self._frailty_var)[0].size if self._frailty_var > 0 else 1
            S = max(len(st.states), 1)
            self._cells_per_draw = st.sizes[:1].size * self.scenario.horizon * S * S * nodes
            self._free: dict[int, EffectFreeTables] = {}
            cached = 0
            for start in range(0, self.D, self._chunk):
                stop = min(self.D, start + self._chunk)
                free = model.effect_free_tables(self._chunk_params(start, stop), stop - start)
                cached += free.untreated.nbytes
                if cached > _FREE_TABLES_BYTES:  # the rest are built again at each effect
                    break
                self._free[start] = free
        names = list(ds["parameter"].values)
        if self.searched.parameter not in names:
            raise v.fail("breakeven.ds", f"parameters without {self.searched.parameter!r}",
                         "the outcome dataset of the deal's scenario (its parameters include "
                         "the searched effect)")
        # the noise ratio of every treated cell at the draw's sampled effects: the searched
        # process's from its own variables (the process dimension), and that of every other
        # process, whose expected outcomes stay at its sampled effect at every grid point
        sampled = ds["parameter_value"].values[:, names.index(self.searched.parameter)]
        ppy = int(ds.attrs["periods_per_year"])
        # engagement and the counterfactual are the same at every effect: computed once
        self._fixed = effect_free(deal, ds, self.cf) if self.fast else None
        # a money evaluation's effect on the engaged participants re-traces their occupancy
        # (_keys): service costs that read it (per state, or "in_service") then follow the
        # effect on both paths, so the fast path finds the people served at each effect
        costs = deal.service_costs
        self._served_follow = bool(
            self.fast and "engaged_occupancy" in self._keys() and costs is not None
            and (costs.per_state or costs.basis == "in_service"))
        self._tail = _Tail.plan(deal, ds, self.cf, self._fixed) if self.fast else None
        fronted = (self._tail is not None and not self._served_follow
                   and _Front.applies(deal, ds, self._fixed, self._tail))
        # the whole chain's plan reads one run of the money chain (its stop, costs and the
        # evaluation's parts): made on another thread while this one makes the noise ratios
        with (beside(lambda: money_arrays(deal, ds, cf=self.cf, fixed=self._fixed)[0])
              if fronted else contextlib.nullcontext(lambda: None)) as chain_run:
            exp = self._expected(sampled)
            with np.errstate(divide="ignore", invalid="ignore"):
                self.ratio = {k: np.where(exp[k] > 0, ds[k].values[:, :1] / np.where(
                    exp[k] > 0, exp[k], 1.0), 1.0) for k in exp}
            trace = self._trace() if fronted else None
            data = chain_run()
        #: the whole chain in one kernel, where the deal allows it (with the treated arm's
        #: expected events made in it too, where the outcome allows it: _trace)
        self._front = (_Front.plan(deal, ds, self.cf, self._fixed, self._tail, trace, data)
                       if fronted else None)
        self.rates = {
            "investors": per_period_rate(deal.investors.discount_rate, ppy),
            "investors_target_irr": per_period_rate(deal.investors.target_irr, ppy),
        }
        #: the rates of _NPV_PARTIES, in that order, for the kernels (2,)
        self._npv_rates = np.array([self.rates[k] for k in _NPV_PARTIES], dtype=np.float64)

    def _expected(self, effect: np.ndarray, into: Mapping[str, np.ndarray] | None = None
                  ) -> dict[str, np.ndarray]:
        """Expected treated-arm outcomes (events, and occupancy if any) at a per-draw effect of
        the searched process: exactly what ``simulate(..., engine="expected",
        overrides={parameter: effect})`` gives for the treatment arm (``parameter``:
        ``"effect.value"``, or ``"<process>.effect.value"`` for a further process).

        ``into`` (key -> array (D, 1, ...), the keys of :meth:`_keys`): write each chunk of
        draws times its noise ratio (``self.ratio``) there as soon as it is traced, while it
        is in the cache, and return ``into``: the same numbers as multiplying the whole
        returned arrays afterwards, elementwise."""
        if not self.fast:
            exp = self._expected_general(effect)
            if into is None:
                return exp
            for k, arr in exp.items():
                np.multiply(arr, self.ratio[k], out=into[k])
            return dict(into)
        over = check_overrides(self.scenario, {"effect.value": effect}, self.D)
        model = self._models[0][0]
        keys = self._keys()
        # the whole arrays, or (into) one chunk's, reused by every chunk
        rows = self.D if into is None else min(self._chunk, self.D)
        out = {k: np.empty((rows, 1, *self.ds[k].shape[2:])) for k in keys}
        for start in range(0, self.D, self._chunk):
            stop = min(self.D, start + self._chunk)
            n = stop - start
            part = ({k: x[start:stop] for k, x in out.items()} if into is None
                    else {k: x[:n] for k, x in out.items()})
            free = self._free.get(start)
            if free is None:
                free = model.effect_free_tables(self._chunk_params(start, stop), n)
            at = {k: x[start:stop] for k, x in over.items()}
            tb = model.tables_at_effect(free, at, n)
            serial = n * self._cells_per_draw <= _SERIAL_TRACE_CELLS
            evj = (np.zeros((n, *part["engaged_events"].shape[1:]))
                   if "engaged_events" in part else None)
            if not self._treated.states:  # no states: the events traced in place
                ev = part["events"]
                ev[...] = 0.0  # the kernels write into zeroed outputs
                # the engaged people: not read (a count model's kernel skips them)
                engaged = _NOT_TALLIED if model.kind == "counts" else np.empty(ev.shape)
                scratch = (None, ev, engaged, None)
                with numba_threads(1 if serial else None):
                    occ, ev, _, eocc = model.expected(self._treated, tb, self._frailty_var,
                                                      out=scratch, engaged_events=evj)
            else:
                with numba_threads(1 if serial else None):
                    occ, ev, _, eocc = model.expected(self._treated, tb, self._frailty_var,
                                                      engaged_events=evj)
                part["events"][...] = ev
            if evj is not None:
                part["engaged_events"][...] = evj
            if "occupancy" in part:
                part["occupancy"][...] = occ
            if "engaged_occupancy" in part:
                part["engaged_occupancy"][...] = eocc
            if into is not None:  # times the noise ratio, while the chunk is in the cache
                for k, x in part.items():
                    np.multiply(x, self.ratio[k][start:stop], out=into[k][start:stop])
        return out if into is None else dict(into)

    def _trace(self) -> tuple[TraceTerms, np.ndarray, str] | None:
        """The treated arm's expected events of a count outcome for the one-kernel chain
        (:class:`~sibsim.money.kernels.from_payments.TraceTerms`; its effect table made at
        each effect from the columns' strengths, also returned, and the effect's measure), or
        None: another outcome kind, an organisation-level effect, no effect, or variables
        beyond the events (the kernel makes the events alone)."""
        if not self.fast or self._keys() != ["events"]:
            return None
        model, st = self._models[0]
        effect = self.scenario.effect
        if model.kind != "counts" or effect is None or not st.has_effect:
            return None
        parts = []
        for start in range(0, self.D, self._chunk):
            stop = min(self.D, start + self._chunk)
            free = self._free.get(start)
            if free is None:
                free = model.effect_free_tables(self._chunk_params(start, stop), stop - start)
            if free.organisation is not None or free.untreated.dtype != np.float64:
                return None
            parts.append(free)
        if not parts:  # no draws
            return None
        first = parts[0]
        if any(not (np.array_equal(f.tidx, first.tidx)
                    and np.array_equal(f.strength, first.strength)) for f in parts):
            return None
        common = {k: np.concatenate([f.common[k] for f in parts])
                  for k in ("engage", "dropout", "uptake", "nb_shape")}
        sizes = model._group_sizes()  # every arm: check_expected_counts' groups
        people = np.asarray(sizes, dtype=float).max(axis=(0, 1))
        shape = people[None, :] * np.asarray(common["nb_shape"], dtype=float)[:, None]
        finite = shape[np.isfinite(shape) & (shape > 0)]
        bound = _smallest_shape_factor(float(finite.min())) if finite.size else 1.0
        treated = np.asarray(self._treated.sizes, dtype=np.float64)[0]  # (W, K)
        ratio = self.ratio["events"]
        if ratio.shape[1] != 1 or treated.shape != ratio.shape[2:4]:
            return None
        lanes = _draws_last  # the kernel's arrays of the draws have them last
        terms = TraceTerms(
            True, lanes(np.concatenate([f.untreated for f in parts]), np.float64),
            np.empty((0, 0)), effect.measure in ("rr", "hr"), float(MAX_RATE), people,
            float(bound), float(MAX_EXPECTED_COUNT), np.ascontiguousarray(treated),
            np.ascontiguousarray(st.entry, dtype=np.int64),
            np.ascontiguousarray(first.tidx, dtype=np.int64),
            np.ascontiguousarray(common["engage"], dtype=np.float64),
            lanes(common["dropout"], np.float64), lanes(common["uptake"], np.float64),
            np.ascontiguousarray(first.common["uptake_end"], dtype=np.int64),
            lanes(ratio[:, 0], np.float64))
        return terms, first.strength, effect.measure

    def _keys(self) -> list[str]:
        """The treated arm's variables that follow the effect: events, occupancy (kinds with
        states), and the engaged participants' events and occupancy (when the dataset has
        them: a rate card counting the engaged, ``count = "engaged"``, a money evaluation's
        ``money.effect`` and service costs of the people in service read them)."""
        return (["events"] + (["occupancy"] if "occupancy" in self.ds else [])
                + (["engaged_events"] if "engaged_events" in self.ds else [])
                + (["engaged_occupancy"] if "engaged_occupancy" in self.ds else []))

    def _chunk_params(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """The sampled parameters of draws ``start:stop`` of the block."""
        return self.scenario.process_parameters(
            0, {k: x[start:stop] for k, x in self._params.items()})

    def _expected_general(self, effect: np.ndarray) -> dict[str, np.ndarray]:
        # the deal, not its scenario: a deal's correlated inputs reach the engine this way
        e = simulate(self.deal, self.D, self.seed, engine="expected", progress=False,
                     overrides={self.searched.parameter: effect}, first_draw=self.first,
                     engaged_events="engaged_events" in self.ds)
        return {k: e[k].values[:, :1] for k in self._keys()}  # treatment arm only

    def _work(self) -> xr.Dataset:
        """This thread's outcome dataset to evaluate effects on: one shallow copy of
        ``self.ds`` (left untouched), made once per thread that evaluates effects
        (:func:`sibsim.analysis.threads.in_order`), whose variables of :meth:`_keys` own a
        copy of their array (the comparison arm as simulated); each effect overwrites only
        their treated arm. No merge or alignment, and no copy of the comparison arm, per
        effect. The money arrays of one effect are read before the next overwrites it (their
        savings side is computed from it when first read: MoneyArrays), and none is kept."""
        work = getattr(self._local, "work", None)
        if work is None:
            work = self.ds.copy(deep=False)  # new Variable objects sharing the arrays
            for k in self._keys():
                var = work.variables[k]
                arr = var.values
                if var.dims[:2] == ("draw", "arm"):
                    # the arms one after the other in memory: the treated arm, which each
                    # effect writes and the money chain reads, is one block (6% less time an
                    # effect on Peterborough than with the arms interleaved draw by draw)
                    order = (1, 0, *range(2, arr.ndim))
                    held = np.empty([arr.shape[i] for i in order], arr.dtype).transpose(order)
                    held[...] = arr
                    var.data = held
                else:
                    var.data = np.array(arr)
            self._local.work = work
        return work

    def _at_effect(self, effect: np.ndarray) -> xr.Dataset:
        """This thread's dataset (:meth:`_work`) with the treated arm's events (and occupancy)
        at a per-draw ``effect``: its expected outcomes times the noise ratio, chunk by chunk
        (:meth:`_expected`)."""
        ds = self._work()
        self._expected(effect, into={k: ds.variables[k].values[:, :1] for k in self._keys()})
        return ds

    def __call__(self, effect: np.ndarray) -> dict[str, np.ndarray]:
        front = self._front
        if front is not None and front.traces:  # the whole chain in one kernel, from the rates
            value = self._one_value(effect)
            if value is not None:
                totals = front(None, value, self._npv_rates)
                if totals is not None:
                    return self._outputs(*totals)
            front = None  # the engine's steps then
        ds = self._at_effect(effect)
        if front is not None:  # the whole chain in one kernel, from the treated events
            totals = front(ds, float(np.asarray(effect).flat[0]), self._npv_rates)
            if totals is not None:
                return self._outputs(*totals)
        if self.fast:  # the arrays alone, with the parts that do not depend on the effect
            fixed = self._fixed
            if self._served_follow:  # what _served gives at this effect (as money_flows)
                fixed = fixed._replace(served=_served(
                    ds, self.deal.service_periods, self.deal.service_costs,
                    _state_process(self.scenario)), costs={}, ended={})
            data, coords = money_arrays(self.deal, ds, cf=self.cf, fixed=fixed)
            parties = list(coords["party"])
            investors = investor_tranches(coords)  # not grants or deferred fees
            pick = [parties.index(t) for t in investors]
            rows = [list(coords["tranche"]).index(t) for t in investors]
            disc = discount_factors(float(self.deal.municipality.discount_rate),
                                    int(ds.attrs["periods_per_year"]), ds.sizes["period"])
            # the net savings made in one pass with the totals (breakeven_tail), where the
            # payers' savings allow it, from the contract's payments on where the deal allows
            # it (kernels.from_payments); else read from the money arrays
            rates = self._npv_rates
            totals = (None if self._tail is None
                      else self._tail.totals(ds, data, parties, pick, rows, disc, rates))
            if totals is not None:
                return self._outputs(*totals)
            paid = data["outcome_payments"]
            net = data["net_savings"]
            totals = _totals(data, pick, rows, net, disc, paid, rates)
            if totals is not None:  # one pass over the draws (breakeven_totals)
                return self._outputs(*totals)
            flows = sum_axis1(data["flow"], pick)  # data["flow"][:, pick].sum(1), no copy
            invested = data["drawdown"][:, rows].sum((1, 2))
            received = data["investor_received"][:, rows].sum((1, 2))
        else:
            money = money_flows(self.deal, ds, cf=self.cf)
            tranches = investor_tranches(money.coords)  # not grants or deferred fees
            flows = money["flow"].sel(party=tranches).sum("party", skipna=False).values
            invested = money["drawdown"].sel(tranche=tranches).values.sum((1, 2))
            received = money["investor_received"].sel(tranche=tranches).values.sum((1, 2))
            net = money["net_savings"].values
            disc = discount_factors(float(money.attrs["social_discount_rate_per_year"]),
                                    int(money.attrs["periods_per_year"]), net.shape[-1])
            paid = money["outcome_payments"].values
        npv = np.stack([_npv(self.rates["investors"], flows),
                        _npv(self.rates["investors_target_irr"], flows, checked=True)])
        return self._outputs(npv, invested, received, present_value(net, disc), net.sum(-1),
                             _commissioner_scale(net, paid))

    def _one_value(self, effect: np.ndarray) -> float | None:
        """The effect's value where it is the same in every draw (as the engine checks and
        takes it: check_overrides), else None."""
        value = check_overrides(self.scenario, {"effect.value": effect}, self.D)["effect.value"]
        value = np.asarray(value, dtype=np.float64)
        if value.shape != (self.D,) or not (value == value[0]).all():
            return None
        return float(value[0])

    def _outputs(self, npv: np.ndarray, invested: np.ndarray, received: np.ndarray,
                 pv: np.ndarray, net_total: np.ndarray, commissioner_scale: np.ndarray
                 ) -> dict[str, np.ndarray]:
        """The outputs at one effect from the investors' NPVs (2, D: :data:`_NPV_PARTIES`),
        capital invested and received (D,), the commissioner's net savings' present value and
        total (D,), and the size of the commissioner's money (D,: :func:`_commissioner_scale`).
        Each party's NPV within rounding of zero, for the size of its money, is zero
        (:func:`_rounded_to_zero`)."""
        money_in_and_out = invested + received  # the size of the investors' money
        return {
            "investors": _rounded_to_zero(npv[0], money_in_and_out),
            "investors_target_irr": _rounded_to_zero(npv[1], money_in_and_out),
            "commissioner": _rounded_to_zero(pv, commissioner_scale),
            "investor_loss": investor_loss(invested, received).astype(float),
            "commissioner_net_loss": (net_total < 0).astype(float),
        }


class _Tail:
    """The commissioner's net savings of each effect made with the search's totals in one
    pass (:func:`~sibsim.money.kernels.chain.breakeven_tail`), for deals whose payers' cashable
    savings are a saving per avoided event alone (one outcome process; no savings per
    person-period, by process, on some strata only, of a money evaluation's effect, or in some
    years only; own costs that are numbers): what does not depend on the effect, made once.

    ``rate`` (Y, D): each payer's saving per avoided event, per draw (currency), as the money
    chain resolves it (:func:`~sibsim.money.uncertain.resolve_money` on the search's money
    samples, :func:`~sibsim.money.payers.valued_rates`); ``other`` (P,): the payers' own costs
    summed (:func:`~sibsim.money.payers.payer_own_costs`); the counterfactual's totals are
    those of the money chain (:func:`~sibsim.money.sib.counterfactual_total`, kept in
    ``fixed``)."""

    def __init__(self, rate: np.ndarray, other: np.ndarray, cf: xr.Dataset, entry: np.ndarray,
                 fixed: EffectFree, process: str, chain: _Chain | None = None) -> None:
        self.rate, self.other, self.cf, self.entry = rate, other, cf, entry
        self.fixed, self.process = fixed, process
        #: the payers' split and the waterfall, where the search makes them with the net
        #: savings and totals (kernels.from_payments); None: read from the money arrays
        self.chain = chain

    @classmethod
    def plan(cls, deal: Deal, ds: xr.Dataset, cf: xr.Dataset, fixed: EffectFree
             ) -> _Tail | None:
        """The plan for ``deal`` on the draws of ``ds``, or None where the payers' savings
        need the money chain's general steps."""
        events = ds["events"]
        if (deal.scenario.other_processes or deal.payer_presence() is not None
                or list(events.dims) != ["draw", "arm", "wave", "stratum", "period"]
                or events.dtype != np.float64 or cf["events"].dims != events.dims):
            return None
        resolved, _ = resolve_money(deal, int(ds.attrs["seed"]),
                                    np.asarray(ds["draw"].values), fixed.money_samples)
        payers = resolved.effective_payers
        terms_of = [p.savings_terms for p in payers]
        if any(p.savings_strata is not None or p.saving_of_money_effect
               or t.saving_per_person_period or t.processes_valued()
               for p, t in zip(payers, terms_of, strict=True)):
            return None
        D, P = ds.sizes["draw"], ds.sizes["period"]
        rates = valued_rates(terms_of, "saving", D, ())
        other = payer_own_costs(terms_of, (D, P))
        if rates is None or other.ndim != 2:  # amounts or own costs of another kind
            return None
        return cls(rates[0][:, 0], np.ascontiguousarray(other.sum(axis=0)), cf,
                   np.asarray(ds["entry_period"].values), fixed,
                   deal.scenario.process_names[0], _Chain.plan(resolved, P))

    def totals(self, ds: xr.Dataset, data: MoneyArrays, parties: list[str], pick: list[int],
               rows: list[int], disc: np.ndarray, rates: np.ndarray
               ) -> tuple[np.ndarray, ...] | None:
        """What :func:`_totals` gives, with the net savings made here from the treated
        events of ``ds`` (and, where :attr:`chain` is planned, the payers' split and the
        waterfall from the contract's payments); None where the kernel does not apply (as
        :func:`_totals`)."""
        D, P = ds.sizes["draw"], ds.sizes["period"]
        if "commissioner" not in parties or not (
                len(rows) == 1 and pick == [1 + rows[0]] and P <= PAIRWISE_BLOCK):
            return None
        started = started_cohorts(self.entry, data["stop_period"])  # as money_arrays
        all_started = bool(started.all())
        cf_sum = counterfactual_total(
            self.cf, "events", started, self.fixed, lambda: self.fixed.cf_events[self.process],
            all_started, started.tobytes(), **_process_pick(ds, self.process))
        x = ds["events"].values[:, _position(ds, "arm", "treatment")]
        out = (np.empty((len(rates), D)), np.empty(D), np.empty(D), np.empty(D), np.empty(D),
               np.empty(D))
        disc = np.ascontiguousarray(disc, dtype=np.float64)
        commissioner = parties.index("commissioner")
        if self.chain is not None and data.lifecycle is not None and commissioner == 0:
            savings = SavingsArrays(x, _draws_last(started), not all_started,
                                    _draws_last(cf_sum, np.float64), self.rate, self.other)
            status = self.chain(data.lifecycle, savings, disc, rates, SearchTotals(*out))
            if status != OUT_OF_RANGE:  # else the money chain's own steps, and their error
                _finite(status == OK)
                return out
        flow, drawdown, paid = data["flow"], data["drawdown"], data["outcome_payments"]
        if not _one_pass(pick, rows, P, flow, drawdown, paid):
            return None
        _finite(breakeven_tail(
            x, started, not all_started, np.ascontiguousarray(cf_sum), self.rate,
            commissioner, self.other, flow, np.array(pick, dtype=np.int64),
            drawdown, rows[0], disc, paid, rates, np.empty((D, P)), *out))
        return out


class _Chain:
    """The payers' split and caps and the waterfall of one tranche, planned once, for
    :func:`~sibsim.money.kernels.from_payments.breakeven_from_payments`: deals with one
    payment metric (no rate cards), payers without presence years, waves or appropriations,
    one tranche without a guarantee or recycling, no claim-tied savings share and no
    stop-loss (so the lifecycle's stop is the waterfall's)."""

    def __init__(self, payers: PayerTerms, capital: CapitalArrays) -> None:
        self.payers = payers
        self.tranches = filled_tranches(capital.tranches)  # as the waterfall's run reads them
        self.fees, self.excess_to = capital.fees, int(capital.excess_to)

    @classmethod
    def plan(cls, deal: Deal, n_periods: int) -> _Chain | None:
        """The plan for ``deal`` (its money resolved) over ``n_periods``, or None."""
        contract, capital = deal.contract, deal.capital
        payers = deal.effective_payers
        if (contract is None or capital is None or len(contract.payment_labels) != 1
                or any(paid_in_waterfall(t.rule) for t in contract.terms)
                or by_wave(payers) or deal.payer_presence() is not None
                or deal.payer_funds() is not None or stop_loss_limit(deal) < math.inf):
            return None
        lowered = capital.lower(n_periods)
        if kernel_path(lowered) != KernelPath.ONE_TRANCHE:
            return None
        shares, capped, one = split_terms(payers, contract.payment_labels)  # (Y, 1)
        per, cap_total = _caps(payers, capped, n_periods)
        terms = PayerTerms(np.ascontiguousarray(shares[:, 0], dtype=np.float64), one,
                           np.array(capped, dtype=np.int64),
                           np.ascontiguousarray(per, dtype=np.float64).reshape(
                               len(capped), n_periods),
                           np.ascontiguousarray(cap_total, dtype=np.float64))
        return cls(terms, lowered)

    def __call__(self, life: Lifecycle, savings: SavingsArrays, disc: np.ndarray,
                 rates: np.ndarray, out: SearchTotals) -> int:
        """:func:`~sibsim.money.kernels.from_payments.breakeven_from_payments` of the
        lifecycle's payments, costs and stop."""
        pay = life.payments
        return int(breakeven_from_payments(
            _FRONT_OFF, np.ascontiguousarray(pay.by_metric, dtype=np.float64),
            np.ascontiguousarray(pay.total, dtype=np.float64), self.payers,
            _draws_last(life.costs, np.float64),
            np.ascontiguousarray(life.stop, dtype=np.int64),
            self.tranches, self.fees,
            self.excess_to, savings, disc, rates, out))


class _Front:
    """The whole money chain of one effect in one kernel, from the treated events to the
    search's totals (:func:`~sibsim.money.kernels.from_payments.breakeven_from_payments` with
    its front on), for deals whose payments come from one evaluation of whole windows
    (counts of events, no money valuation, no-show adjustment or absolute target) priced per
    unit on one metric, with at most a cancellation of later cohorts among the termination
    rules, and whose split, waterfall and savings :class:`_Chain` and :class:`_Tail` make.
    The stop, service costs and cohorts started do not depend on the effect then: taken from
    one run of the money chain, with every other part that does not, when planned."""

    def __init__(self, terms: FrontTerms, chain: _Chain, tail: _Tail, stop: np.ndarray,
                 costs: np.ndarray, savings: SavingsArrays, disc: np.ndarray,
                 strength: np.ndarray | None = None, measure: str = "rr") -> None:
        self.terms, self.chain, self.tail = terms, chain, tail
        self.stop, self.costs, self.savings, self.disc = stop, costs, savings, disc
        #: the effect's strength in each column and its measure, where the kernel makes the
        #: treated events (terms.trace.on)
        self.strength, self.measure = strength, measure
        P = costs.shape[0]
        self._no_payments = (np.empty((0, 1, P)), np.empty((0, P)))

    @property
    def traces(self) -> bool:
        """Whether the kernel makes the treated events itself (no dataset at the effect)."""
        return bool(self.terms.trace.on)

    @staticmethod
    def applies(deal: Deal, ds: xr.Dataset, fixed: EffectFree, tail: _Tail | None) -> bool:
        """Whether ``deal`` passes the checks :meth:`plan` makes before its run of the money
        chain."""
        chain = None if tail is None else tail.chain
        contract = deal.contract
        evs = deal.evaluations
        if (chain is None or contract is None or len(evs) != 1 or contract.rate_cards
                or len(contract.terms) != 1
                or any(not isinstance(r, CancelLaterCohorts) for r in deal.termination)):
            return False
        ev, terms = evs[0], contract.terms[0]
        seed, draws = int(ds.attrs["seed"]), np.asarray(ds["draw"].values)
        resolved, _ = resolve_money(deal, seed, draws, fixed.money_samples)
        return not (ev.money is not None or ev.estimand == "treated" or ev.to_date
                    or ev.target_per_person_period is not None or ev.outcome != "events"
                    or resolved.evaluations != evs or resolved.contract != contract
                    or ev.metric != terms.metric
                    # the kernel's sums over periods are numpy's up to one block
                    or ds.sizes["period"] > PAIRWISE_BLOCK)

    @classmethod
    def plan(cls, deal: Deal, ds: xr.Dataset, cf: xr.Dataset, fixed: EffectFree,
             tail: _Tail | None, trace: tuple[TraceTerms, np.ndarray, str] | None = None,
             data: MoneyArrays | None = None) -> _Front | None:
        """The plan for ``deal`` on the draws of ``ds`` (as simulated), or None; ``trace``:
        the treated events' plan (:meth:`_Pipeline._trace`), None to read them; ``data``:
        ``money_arrays(deal, ds, cf=cf, fixed=fixed)`` where already made."""
        if tail is None or not cls.applies(deal, ds, fixed, tail):
            return None
        chain = tail.chain
        contract, evs = deal.contract, deal.evaluations
        assert chain is not None and contract is not None
        ev, terms = evs[0], contract.terms[0]
        seed = int(ds.attrs["seed"])
        D, P = ds.sizes["draw"], ds.sizes["period"]
        # the stop, service costs and cohorts started: one run of the money chain, which
        # also keeps in ``fixed`` the evaluation's parts read below (money_arrays' keys)
        if data is None:
            data, _ = money_arrays(deal, ds, cf=cf, fixed=fixed)
        life = data.lifecycle
        if life is None:
            return None
        part = fixed.evaluation_part(evs, lambda: evaluation_fixed(ds, evs, seed)).parts[0]
        if part.scale is not None or any(t.upto is not None or t.period is not None
                                         for t in part.triggers):
            return None
        main = list(part.triggers)
        cut = cohorts_that_ran(deal, ds, seed, fixed)
        if cut is not None:  # the cancellation's columns (money/cancellation.py)
            happened = cut.stop < P
            small = cut.parts.parts[0].triggers
            cols = cancellation_columns(evs, tuple(ev.metric for _ in main),
                                        tuple(tuple(t.waves) for t in main),
                                        tuple(ev.metric for _ in small), cut.ran)
            picked = [((main, small)[i][k], _WHEN[role]) for i, k, role in cols]
        else:
            happened = np.zeros(D, dtype=bool)
            picked = [(t, 2) for t in main]
        triggers = [t for t, _ in picked]
        W = ds.sizes["wave"]
        if any(not t.participants > 0 or len(t.waves) >= 8 or list(t.waves) != sorted(t.waves)
               for t in triggers):
            return None
        member = np.zeros((len(triggers), W), dtype=bool)
        for i, t in enumerate(triggers):
            member[i, list(t.waves)] = True
        # the ledger (money/payment_ledger.py): book_trigger's kernel for every trigger
        caps = contract.caps
        per_period = caps.per_period_array(P)
        total_cap = math.inf if caps.total is None else caps.total
        per_person = per_person_cap(contract, terms)
        rules_of = [terms.rule_for(t.cumulative).kernel_terms() for t in triggers]
        if (not isinstance(total_cap, float) or per_period.dtype != float
                or not isinstance(per_person, int | float)
                or not isinstance(0.0 if terms.cap is None else terms.cap, int | float)
                or any(r is None for r in rules_of)):
            return None
        period = [int(t.known) for t in triggers]
        pay = [contract.payment_period(q, P)[0] for q in period]
        # no rule reads interim results: the contract's own stop is the maturity's, the same
        # in every draw (termination.lifecycle), and a result is known before it or not
        stop0 = contract_stop(deal, P)
        until = np.iinfo(np.int64).max if stop0 >= P else stop0
        strata = list(ds["stratum"].values)
        trig = trigger_terms(ev, 1.0)  # each column's participants given apart
        front = FrontTerms(
            True, np.array([strata.index(x) for x in (ev.stratum or strata)], dtype=np.int64),
            np.ascontiguousarray(part.mask, dtype=np.float64), member,
            np.ascontiguousarray(np.stack([np.broadcast_to(np.asarray(
                t.c_rate, dtype=np.float64), (D,)) for t in triggers])),
            np.ascontiguousarray(np.stack([np.broadcast_to(np.asarray(
                t.c_var, dtype=np.float64), (D,)) for t in triggers])),
            np.array([trigger_terms(ev, t.participants).participants for t in triggers]),
            np.array([trigger_terms(ev, t.participants).participants_sq for t in triggers]),
            trig,
            np.array([w for _, w in picked], dtype=np.int64), np.ascontiguousarray(happened),
            np.array([q < until for q in period]),
            np.array(sorted(range(len(triggers)), key=lambda i: period[i]), dtype=np.int64),
            *(np.array([getattr(r, f) for r in rules_of], dtype=dt) for f, dt in (
                ("price", np.float64), ("has_ceiling", np.bool_), ("ceiling", np.float64),
                ("has_threshold", np.bool_), ("threshold", np.float64))),
            np.array([float(per_person * int(t.participants)) if per_person < math.inf
                      else math.inf for t in triggers]),
            np.array([bool(t.cumulative) for t in triggers]),
            np.array([-1 if q is None else q for q in pay], dtype=np.int64),
            np.array([math.inf if q is None else float(per_period[q]) for q in pay]),
            math.inf if terms.cap is None else float(terms.cap), total_cap,
            trace_off() if trace is None else trace[0])
        stop = np.ascontiguousarray(life.stop, dtype=np.int64)
        costs = _draws_last(life.costs, np.float64)
        started = started_cohorts(tail.entry, stop)
        all_started = bool(started.all())
        cf_sum = counterfactual_total(
            cf, "events", started, fixed, lambda: fixed.cf_events[tail.process], all_started,
            started.tobytes(), **_process_pick(ds, tail.process))
        events = ds["events"]  # the shape of the treated arm's events, for the kernel
        savings = SavingsArrays(np.empty((0, *events.shape[2:])), _draws_last(started),
                                not all_started, _draws_last(cf_sum, np.float64), tail.rate,
                                tail.other)
        disc = np.ascontiguousarray(discount_factors(
            float(deal.municipality.discount_rate), int(ds.attrs["periods_per_year"]), P),
            dtype=np.float64)
        if trace is None:
            return cls(front, chain, tail, stop, costs, savings, disc)
        return cls(front, chain, tail, stop, costs, savings, disc, trace[1], trace[2])

    def __call__(self, ds: xr.Dataset | None, value: float, rates: np.ndarray
                 ) -> tuple[np.ndarray, ...] | None:
        """:func:`_totals` at the effect ``value`` (the same in every draw), from the treated
        events of ``ds`` at it (None: made here, :attr:`traces`); None where the kernel leaves
        them to the money chain (a measured value not finite, costs or payments out of the
        waterfall's range, expected events' rates or counts the engine's checks must judge)."""
        D = self.stop.shape[0]
        out = (np.empty((len(rates), D)), np.empty(D), np.empty(D), np.empty(D), np.empty(D),
               np.empty(D))
        terms, savings = self.terms, self.savings
        if self.traces:  # the effect of each column, as effect_by_column gives its first row
            eff = scaled_effect(self.measure, np.full((1, 1, 1), value),
                                self.strength[None, :, :])[0]
            terms = terms._replace(trace=terms.trace._replace(
                eff=np.ascontiguousarray(eff, dtype=np.float64)))
        else:
            assert ds is not None
            savings = savings._replace(
                events=ds["events"].values[:, _position(ds, "arm", "treatment")])
        chain = self.chain
        status = breakeven_from_payments(
            terms, *self._no_payments, chain.payers, self.costs, self.stop, chain.tranches,
            chain.fees, chain.excess_to, savings, self.disc, rates, SearchTotals(*out))
        if status in (OUT_OF_RANGE, NOT_MEASURED, NOT_TRACED):
            return None
        _finite(status == OK)
        return out


def _draws_last(x: np.ndarray, dtype: type | None = None) -> np.ndarray:
    """``x`` (D, ...) with the draws last, contiguous (of ``dtype``, if given): the layout of
    the one-kernel chain's arrays of the draws (its steps run over a block of draws
    innermost)."""
    return np.ascontiguousarray(np.moveaxis(np.asarray(x, dtype=dtype), 0, -1))


def _process_pick(ds: xr.Dataset, process: str) -> dict[str, str]:
    """The selection of ``process`` where the outcome dataset has several (as money_arrays)."""
    return {"process": process} if "process" in ds.dims else {}


def _one_pass(pick: list[int], rows: list[int], n_periods: int, *arrays: np.ndarray) -> bool:
    """Whether the one-pass totals apply: one investor tranche (its party right after the
    commissioner's), at most :data:`PAIRWISE_BLOCK` periods, contiguous float arrays."""
    return (len(rows) == 1 and pick == [1 + rows[0]] and n_periods <= PAIRWISE_BLOCK
            and all(a.dtype == np.float64 and a.flags.c_contiguous for a in arrays))


def _totals(data: Mapping[str, np.ndarray], pick: list[int], rows: list[int], net: np.ndarray,
            disc: np.ndarray, paid: np.ndarray, rates: np.ndarray
            ) -> tuple[np.ndarray, ...] | None:
    """:func:`~sibsim.money.kernels.chain.breakeven_totals` of one effect's money arrays:
    the investors' NPVs at ``rates`` (R, D), capital invested and received, the
    commissioner's net savings' present value and total, and the size of its money (D,;
    ``paid``: the outcome payments, (D, P)); None where the kernel does not apply (several
    investor tranches, a long horizon, an unusual layout), which the numpy path then takes.
    Investors' flows that are not finite are refused (:func:`_npv`)."""
    flow, drawdown = data["flow"], data["drawdown"]
    D, P = net.shape
    if not _one_pass(pick, rows, P, flow, drawdown, net, paid):
        return None
    out = (np.empty((len(rates), D)), np.empty(D), np.empty(D), np.empty(D), np.empty(D),
           np.empty(D))
    _finite(breakeven_totals(flow, np.array(pick, dtype=np.int64), drawdown, rows[0], net,
                             np.ascontiguousarray(disc, dtype=np.float64), paid, rates, *out))
    return out


def _finite(finite: bool) -> None:
    """Refuse investors' flows that are not finite, as :func:`_npv` does."""
    if not finite:
        raise ValueError(_NOT_FINITE)


#: The investors' NPVs the kernels compute, in this order (keys of ``_Pipeline.rates``).
_NPV_PARTIES = ("investors", "investors_target_irr")
_NOT_FINITE = "breakeven: the investors' cash flows are not finite"


def _npv(rate: float, flows: np.ndarray, checked: bool = False) -> np.ndarray:
    """:func:`sibsim.money.irr.npv` of each row of ``flows`` (D, P) at one per-period rate: its
    kernel (the Horner sum in ``1 / (1 + rate)``) on one thread, so the same numbers to the last
    bit (tests/test_breakeven_fast.py), without the checks of every call. ``checked``: the
    flows are known to be finite (an earlier call on them checked it)."""
    flows = np.ascontiguousarray(flows, dtype=np.float64)
    if not checked and not np.isfinite(flows).all():  # checked: by the call before
        raise ValueError(_NOT_FINITE)
    return _npv_kernel_serial(flows, np.full(flows.shape[0], rate), False)


#: An NPV within this share of the party's money (at least 1 currency unit's share) of zero is
#: zero: rounding, as in :func:`sibsim.analysis.metrics.breakeven_period`.
_ROUNDING = MONEY_ROUNDING


def _commissioner_scale(net: np.ndarray, paid: np.ndarray) -> np.ndarray:
    """The size of the commissioner's money in each draw (D,): its net savings' and outcome
    payments' absolute amounts summed over periods (both (D, P), currency)."""
    return np.abs(net).sum(-1) + np.abs(paid).sum(-1)


def _rounded_to_zero(f: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``f`` with the values within rounding of zero set to 0.0: ``|f| <= 1e-9 x max(scale,
    1)`` (``scale``: the size of the party's money, shaped like ``f``). The break-even
    search applies it to every party's NPV at every effect, so the crossings and the mean NPV
    curves read the same values.

    An investor whose claim grows at their own discount rate and is paid in full has an NPV of
    exactly zero, which the sums give as a few 1e-11 either side: without this, the sign of
    that rounding decided whether the draw broke even.

    >>> _rounded_to_zero(np.array([-2.9e-11, 2.2e-11, -3.0, 5.0]), np.full(4, 4e5)).tolist()
    [0.0, 0.0, -3.0, 5.0]
    """
    return np.where(np.abs(f) <= _ROUNDING * np.maximum(scale, 1.0), 0.0, f)


def breakeven_quantiles(x: np.ndarray, measure: str,
                        qs: tuple[float, ...] = (0.05, 0.5, 0.95)) -> np.ndarray:
    """Quantiles of break-even effects over every draw, from weak to strong.

    ``x`` (D,): break-even effects (``breakeven_effect`` of one party), NaN where a draw does
    not break even in the searched range. Such a draw needs more than the strongest effect
    searched, so it counts as beyond every draw that breaks even, not as a draw left out: the
    median of ``[1.0, 0.9, nan, nan, 0.8]`` is 0.8, where the median of the draws that break
    even alone would be 0.9. The effects are ordered by their distance from no effect (1 for
    a ratio, 0 for an absolute effect) and interpolated linearly as numpy's default; a
    quantile that falls among the draws without break-even (or between the last that breaks
    even and them) is NaN: "beyond the range". Without such draws these are numpy's
    quantiles of ``x`` (in the order weak to strong).

    >>> breakeven_quantiles(np.array([1.0, 0.9, np.nan, np.nan, 0.8]), "rr", (0.0, 0.5, 1.0))
    array([1. , 0.8, nan])
    >>> breakeven_quantiles(np.array([0.9, 0.8, 0.7]), "hr", (0.5,))
    array([0.8])
    """
    x = np.asarray(x, dtype=float)
    none = 0.0 if measure == "absolute" else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        far = np.abs(x - none) if measure == "absolute" else np.abs(np.log(x))
    far = np.where(np.isnan(x), np.inf, far)
    ordered = x[np.argsort(far, kind="stable")]
    n = ordered.size
    out = np.full(len(qs), np.nan)
    for i, q in enumerate(qs):
        if n == 0:
            continue
        h = (n - 1) * float(q)
        lo, hi = int(np.floor(h)), int(np.ceil(h))
        a, b = ordered[lo], ordered[hi]
        if np.isfinite(a) and np.isfinite(b):
            out[i] = a + (h - lo) * (b - a)
    return out


def _crossing(f: np.ndarray, xs: np.ndarray, rule: str) -> np.ndarray:
    """Effect at which ``f`` (D, G; effects from weak to strong) crosses to >= 0.

    ``rule="first"``: the first grid interval where f goes from < 0 to >= 0 (the no-effect end
    if f >= 0 there); ``rule="stays"``: the crossing after the last negative grid value.
    The crossing is linearly interpolated between the two grid points (``xs`` is the effect on
    the scale used for interpolation). NaN if there is no such crossing. One pass over the
    draws (:func:`_crossing_kernel`).

    >>> _crossing(np.array([[-1.0, 1.0, -1.0, 1.0]]), np.arange(4.0), "stays").tolist()
    [2.5]
    """
    if rule not in RULES:
        raise v.fail("rule", rule, f"one of {RULES}")
    f = np.asarray(f)
    if f.ndim != 2 or f.shape[1] < 2 or f.shape[1] != len(xs):
        raise ValueError(f"_crossing: f of shape (draws, {len(xs)}) needed, got {f.shape}")
    out = np.empty(f.shape[0])
    # the kernel reads (G, D): no copy of the search's grids, whose rows are effects
    _crossing_kernel(np.ascontiguousarray(f.T, dtype=np.float64),
                     np.ascontiguousarray(xs, dtype=np.float64), rule == "first", out)
    return out


@numba.njit(cache=True, nogil=True)
def _crossing_kernel(f: np.ndarray, xs: np.ndarray, first: bool, out: np.ndarray) -> None:
    """The crossings of :func:`_crossing` of ``f`` (G, D: an effect's values in a row),
    draw by draw, into ``out`` (D,).

    The same operations as the numpy expressions it replaced (kept in
    tests/test_breakeven.py as the reference), so the same numbers bit for bit: a value is
    negative when ``f < 0`` (NaN is not); in grid interval ``j`` (``first``: the first where
    ``f`` goes from negative to not; else the one after the last negative value) the crossing
    is ``xs[j] + clip(w, 0, 1) * (xs[j + 1] - xs[j])`` with ``w = -f0 / (f1 - f0)`` where
    ``f1 != f0``, else 1.0 (``clip`` passes NaN on); the no-effect end ``xs[0]`` where ``f``
    is not negative there (``first``) or nowhere (else); NaN where there is no crossing.
    """
    n_grid, n_draws = f.shape
    for d in range(n_draws):
        j = -1
        if first:
            if not f[0, d] < 0.0:
                out[d] = xs[0]
                continue
            for g in range(n_grid - 1):
                if f[g, d] < 0.0 and not f[g + 1, d] < 0.0:
                    j = g
                    break
        else:
            last = -1
            for g in range(n_grid - 1, -1, -1):
                if f[g, d] < 0.0:
                    last = g
                    break
            if last < 0:
                out[d] = xs[0]
                continue
            if last < n_grid - 1:
                j = last
        if j < 0:
            out[d] = np.nan
            continue
        f0 = f[j, d]
        f1 = f[j + 1, d]
        w = -f0 / (f1 - f0) if f1 != f0 else 1.0
        if w == w:  # np.clip: NaN stays NaN
            w = 0.0 if w < 0.0 else (1.0 if w > 1.0 else w)
        out[d] = xs[j] + w * (xs[j + 1] - xs[j])


def breakeven(deal: Deal, ds: xr.Dataset, *, cf: xr.Dataset | None = None,
              effect_range: tuple[float, float] | None = None, grid: int = 41,
              outcome: str | None = None) -> xr.Dataset:
    """Break-even effect per draw for investors and the commissioner, and loss curves.

    Parameters
    ----------
    deal : Deal
        The deal whose outcome scenario was simulated in ``ds``.
    ds : xarray.Dataset
        The outcome dataset of ``deal.scenario`` (any stochastic engine): a whole run or a
        block of draws of one (its ``draw`` coordinate gives the draws' global indices).
    cf : xarray.Dataset, optional
        The counterfactual of the run (:func:`sibsim.money.sib.counterfactual`); computed if
        not given. :func:`sibsim.analyse` passes the one it already has.
    effect_range : (no_effect, strongest), optional
        Values of the effect (in the searched effect's measure, e.g. relative risk) searched;
        default from :func:`default_effect_range`.
    grid : int
        Grid points between the two ends (ratios on a log scale); the crossing is interpolated
        linearly between grid points.
    outcome : str, optional
        Name of the outcome process whose effect is searched (e.g. ``"jail_days"``); every
        other process keeps its sampled effect. None: the deal's ``[breakeven] outcome``, else
        the first process.

    Returns
    -------
    xarray.Dataset
        ``breakeven_effect(draw, party)`` with party in ``investors`` (NPV at the investors'
        discount rate), ``investors_target_irr`` and ``commissioner`` (rules in
        :data:`HEADLINE_RULE`), both rules in ``breakeven_effect_first`` and
        ``breakeven_effect_stays``; loss curves ``p_investor_loss(effect)``,
        ``p_commissioner_net_loss(effect)`` and the mean NPVs. Attributes name the searched
        effect: ``outcome`` (the process), ``effect_parameter`` (e.g.
        ``"jail_days.effect.value"``) and ``measure``.

    A long run can be searched block by block with :class:`BreakevenBlocks` (what
    :func:`sibsim.analyse` does); the result is the same to the last bit.
    """
    search = BreakevenBlocks(deal, effect_range=effect_range, grid=grid, outcome=outcome)
    return search.finish(search.add(ds, cf=cf))


class BreakevenBlocks:
    """The break-even search over a run processed in blocks of draws.

    :meth:`add` searches one block (an outcome dataset with its counterfactual) and returns its
    per-draw break-even effects; the loss curves and mean NPVs over draws are accumulated with
    :class:`~sibsim.analysis.blocks.DrawSum`, so :meth:`finish` gives the same curves as one
    pass over all draws, whatever the blocks.

    ``fast=True`` (the default) samples each block's parameters once and, at each effect,
    re-runs only the expected-trace tables and kernel and the money arrays, reusing what does
    not depend on the effect (engagement, service costs served, the counterfactual) and
    building no dataset; scenarios with several outcome processes take the general path.
    ``fast=False`` is the general path: a whole expected-engine run and :func:`money_flows`
    dataset per effect. Both give the same numbers (tests/test_breakeven_fast.py).

    ``outcome`` names the outcome process whose effect is searched (None: the deal's
    ``[breakeven] outcome``, else the first process); every other process keeps its sampled
    effect, and ``effect_range`` is on the searched effect (default:
    :func:`default_effect_range` of that process).

    Examples
    --------
    >>> import sibsim
    >>> from sibsim.analysis.blocks import DrawAssembler
    >>> deal = sibsim.load_scenario("peterborough")
    >>> search, asm = BreakevenBlocks(deal, grid=5), DrawAssembler(20)
    >>> for lo in (0, 10):
    ...     asm.add(search.add(sibsim.simulate(deal, 10, 1, first_draw=lo, progress=False)))
    >>> search.finish(asm.result())["breakeven_effect"].shape
    (20, 3)
    """

    def __init__(self, deal: Deal, effect_range: tuple[float, float] | None = None,
                 grid: int = 41, *, fast: bool = True, outcome: str | None = None) -> None:
        self.searched = searched_effect(deal, outcome)
        if self.searched.effect is None:
            raise v.fail("Scenario.effect", None, "an effect, to search for break-even")
        grid = v.positive_int("grid", grid, minimum=3)
        lo_end, hi_end = effect_range or default_effect_range(deal, self.searched.name)
        self.measure = self.searched.effect.measure
        self.ratio_scale = self.measure != "absolute"
        if self.ratio_scale:
            if lo_end <= 0 or hi_end <= 0:
                raise v.fail("effect_range", effect_range, "positive ratios")
            self.xs = np.exp(np.linspace(np.log(lo_end), np.log(hi_end), grid))
        else:
            self.xs = np.linspace(lo_end, hi_end, grid)
        self.deal, self.effect_range, self.fast = deal, (lo_end, hi_end), bool(fast)
        self._sums = {k: DrawSum() for k in _CURVES}

    def add(self, ds: xr.Dataset, cf: xr.Dataset | None = None) -> xr.Dataset:
        """Search the draws of ``ds``: their break-even effects (draw, party)."""
        grid = self._grid(ds, cf)
        # the crossings (a nogil kernel) on another thread while the curves are added
        with beside(lambda: self._per_draw(grid, ds)) as per_draw:
            self.add_curves(self._curves(grid))
            return per_draw()

    def add_curves(self, curves: dict[str, np.ndarray]) -> None:
        """Add the per-draw curve values of the next block (from :meth:`search`), in draw
        order."""
        for name in _CURVES:
            self._sums[name].add(curves[name])

    def search(self, ds: xr.Dataset, cf: xr.Dataset | None = None
               ) -> tuple[xr.Dataset, dict[str, np.ndarray]]:
        """Search the draws of ``ds`` without adding them to the curves: their break-even
        effects (draw, party) and their per-draw curve values (draw, effect), which
        :meth:`add_curves` adds (a block searched elsewhere, e.g. on a dask worker)."""
        grid = self._grid(ds, cf)
        return self._per_draw(grid, ds), self._curves(grid)

    def _curves(self, grid: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The per-draw curve values (draw, effect) of the grid."""
        return {name: grid[key] for name, key in _CURVES.items()}

    def _grid(self, ds: xr.Dataset, cf: xr.Dataset | None) -> dict[str, np.ndarray]:
        """Every output of :class:`_Pipeline` (:data:`_OUTPUTS`) at every effect of the grid,
        (draw, effect), for the draws of ``ds``."""
        xs = self.xs
        # each output over the grid, effect weak -> strong, written row by row as each effect
        # is evaluated (G, D: an effect's draws in one block of memory; no list of every
        # effect's outputs stacked afterwards), read through its (D, G) view
        def evaluate(g: int) -> None:
            for key, values in pipe(np.full(D, xs[g])).items():
                rows[key][g] = values

        # the pipeline's tables and the grids too are first touched without numpy's huge-page
        # advice (sibsim.analysis.heap)
        with kept_heap():
            pipe = _Pipeline(self.deal, ds, cf, fast=self.fast, searched=self.searched)
            D = pipe.D
            rows = {key: np.empty((len(xs), D)) for key in _OUTPUTS}
            # each effect alone, on as many threads as numba may use (the same numbers on any)
            in_order(evaluate, range(len(xs)), progress=True)
        return {key: x.T for key, x in rows.items()}  # (D, G)

    def _per_draw(self, grid: dict[str, np.ndarray], ds: xr.Dataset) -> xr.Dataset:
        """The break-even effects (draw, party) of the draws of ``ds`` from their ``grid``
        (:meth:`_grid`)."""
        xs, ratio_scale = self.xs, self.ratio_scale
        D = ds.sizes["draw"]
        # interpolate on the log scale for ratios, so the crossing lies between grid points
        scale = np.log(xs) if ratio_scale else xs
        out = np.full((D, len(PARTIES), 2), np.nan)
        for i, party in enumerate(PARTIES):
            for r, rule in enumerate(RULES):  # (NPVs within rounding of zero are zero)
                c = _crossing(grid[party], scale, rule)
                out[:, i, r] = np.exp(c) if ratio_scale else c
        headline = np.stack([out[:, i, RULES.index(HEADLINE_RULE[p])]
                             for i, p in enumerate(PARTIES)], axis=1)
        measure = self.measure
        per_draw = xr.Dataset(
            {"breakeven_effect": xr.Variable(
                ("draw", "party"), headline,
                attrs={"units": measure,
                       "description": "Break-even true effect: for investors the weakest effect "
                                      "at which their NPV reaches 0 (rule 'first'); for the "
                                      "commissioner the weakest effect from which net savings "
                                      "stay >= 0 (rule 'stays'). NaN: none in the searched "
                                      "range."}),
             "breakeven_effect_first": xr.Variable(
                ("draw", "party"), out[:, :, 0],
                attrs={"units": measure,
                       "description": "Weakest true effect at which the party's NPV reaches 0 "
                                      "(NaN: none in the searched range)."}),
             "breakeven_effect_stays": xr.Variable(
                ("draw", "party"), out[:, :, 1],
                attrs={"units": measure,
                       "description": "True effect from which the party's NPV stays >= 0 for "
                                      "every stronger effect in the range (NaN: none)."})},
            coords={"draw": ds["draw"].values, "party": list(PARTIES)})
        return per_draw

    def finish(self, per_draw: xr.Dataset) -> xr.Dataset:
        """The break-even dataset: the per-draw results of every block (assembled, e.g. with
        :class:`~sibsim.analysis.blocks.DrawAssembler`) with the curves over all draws."""
        if per_draw.sizes["draw"] != self._sums["p_investor_loss"].count:
            raise ValueError(f"BreakevenBlocks.finish: {per_draw.sizes['draw']} draws given, "
                             f"{self._sums['p_investor_loss'].count} searched")
        cur = self.deal.currency
        units = {"p_investor_loss": "probability", "p_commissioner_net_loss": "probability",
                 "mean_investor_npv": cur, "mean_commissioner_npv": cur}
        ds_out = per_draw.assign(
            {name: xr.Variable(("effect",), self._sums[name].mean(),
                               attrs={"units": units[name], "description": _CURVE_TEXT[name]})
             for name in _CURVES})
        ds_out = ds_out.assign_coords(effect=self.xs)
        ds_out.attrs.update({"outcome": self.searched.name,
                             "effect_parameter": self.searched.parameter,
                             "measure": self.measure,
                             "effect_range": list(self.effect_range),
                             "method": "common random numbers: expected outcomes x fixed noise "
                                       "ratio; grid with linear interpolation", "currency": cur})
        return ds_out


#: What each curve over the true effect says.
_CURVE_TEXT = {
    "p_investor_loss": "Share of draws in which the investors get back less than they put in, "
                       "at each true effect.",
    "p_commissioner_net_loss": "Share of draws in which the commissioner's undiscounted net "
                               "savings are negative, at each true effect.",
    "mean_investor_npv": "Mean over draws of the investors' NPV at their discount rate, at each "
                         "true effect.",
    "mean_commissioner_npv": "Mean over draws of the NPV of the commissioner's net savings at "
                             "the social discount rate, at each true effect."}
#: The curves over effects (means over draws) and the pipeline output each averages.
_CURVES = {"p_investor_loss": "investor_loss",
           "p_commissioner_net_loss": "commissioner_net_loss",
           "mean_investor_npv": "investors", "mean_commissioner_npv": "commissioner"}
