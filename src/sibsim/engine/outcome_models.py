"""The engine side of each outcome kind: its tables and the kernels that simulate it.

An outcome kind's specification (:data:`sibsim.spec.outcomes.OUTCOME_KINDS`) says *what* the
process is; its model here, registered under the same ``kind`` in :data:`OUTCOME_MODELS`, says
*how* it is simulated:

* :meth:`OutcomeModel.structure`: the draw-independent shape (states, counted transitions,
  absorbing states, the starting state);
* :meth:`OutcomeModel.tables`: the kernels' arrays for one chunk of sampled parameters;
* :meth:`OutcomeModel.individual`, :meth:`OutcomeModel.aggregate`, :meth:`OutcomeModel.expected`:
  which numba kernel each engine runs, with which tables.

The model is picked once per run (:func:`model_of`), before any kernel runs; the kernels see
arrays only. Binary outcomes are simulated as two-state chains by the aggregate and expected
engines (:class:`TransitionModel`) and by their own kernel in the individual engine.

Examples
--------
>>> import sibsim
>>> sc = sibsim.Scenario(cohort=sibsim.Cohort(size=10), outcome=sibsim.BinaryOutcome(0.3),
...                      horizon=3)
>>> model = model_of(sc)
>>> type(model).__name__, model.structure().states
('BinaryModel', ('no_event', 'event'))
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import numpy as np

from sibsim.engine import expected as _expected
from sibsim.engine.kernels import aggregate as _agg
from sibsim.engine.kernels import individual as _ind
from sibsim.engine.kernels.arrays import (
    BinaryTables,
    Chain,
    CountTables,
    Groups,
    JumpTables,
    Occupancy,
    Service,
    Streams,
    Tallies,
    aggregate_purpose,
    no_engaged_events,
    outcome_purpose,
)
from sibsim.engine.kernels.rates import rates_at_effect
from sibsim.engine.ranges import check_expected_counts
from sibsim.engine.tables import (
    Structure,
    Tables,
    apply_to_probability,
    apply_to_rate,
    apply_to_transitions,
    binary_frailty_transitions,
    binary_transitions,
    check_probabilities,
    check_rates,
    columns,
    cumulative_rows,
    draw_vector,
    effect_by_column,
    exit_tables,
    markov_frailty_transitions,
    matrices,
    profile_values,
    scaled_effect,
    stratum_baselines,
)
from sibsim.spec.distributions import Dirichlet
from sibsim.spec.outcomes import MAX_RATE
from sibsim.spec.scenario import Scenario
from sibsim.spec.variant import Registry

__all__ = ["OUTCOME_MODELS", "BinaryModel", "CountModel", "EffectFreeTables", "MarkovModel",
           "OutcomeModel", "TransitionModel", "binary_occupancy", "model_of",
           "organisation_rates"]

#: Engine models of the outcome kinds, by the same ``kind`` as ``OUTCOME_KINDS``.
OUTCOME_MODELS = Registry("outcome model")


def model_of(scenario: Scenario) -> OutcomeModel:
    """The engine model of the scenario's outcome kind (chosen once per run)."""
    return OUTCOME_MODELS[scenario.outcome.kind](scenario)


class EffectFreeTables(NamedTuple):
    """The parts of a model's tables that do not depend on the effect's value (see
    :meth:`OutcomeModel.effect_free_tables`): computed once when only the effect changes, as in
    the break-even search."""

    common: dict[str, np.ndarray]  #: engagement, drop-out, negative-binomial shape per draw
    tidx: np.ndarray  #: (W, P) table column of each wave and period
    strength: np.ndarray  #: (K', C) the effect's strength in each column (K' = 1 or K strata)
    untreated: Any  #: the not-engaged table: rates or probabilities (D, K, C), matrices
    #: counts with ``Effect.organisation``: the treated arm's not-engaged rates (D, K, C) (the
    #: organisation-level effect at each column's strength); None without it
    organisation: np.ndarray | None = None


class OutcomeModel:
    """How one outcome kind is simulated (subclass per kind, register in :data:`OUTCOME_MODELS`).

    Parameters
    ----------
    scenario : Scenario
        The scenario whose outcome is of this model's ``kind``.
    """

    kind: ClassVar[str] = ""
    #: The individual engine's kernel counts events only: occupancy is derived from the events
    #: afterwards (:meth:`derived_occupancy`).
    occupancy_from_events: ClassVar[bool] = False

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.outcome = scenario.outcome

    # ------------------------------------------------------------------ structure
    def layout(self) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, int, bool]:
        """``(states, event_flag (S, S), absorbing (S,), initial state index, recurrent)``."""
        raise NotImplementedError

    def structure(self) -> Structure:
        """The fixed (draw-independent) shape of the scenario."""
        sc = self.scenario
        sizes = np.array(sc.group_sizes(), dtype=np.int64)
        entry = np.arange(sc.cohort.n_waves, dtype=np.int64)
        states, flag, absorbing, init, recurrent = self.layout()
        return Structure(kind=self.kind, states=states, sizes=sizes, entry=entry,
                         event_flag=flag, absorbing=absorbing, init=init, recurrent=recurrent,
                         has_effect=sc.effect is not None, horizon=sc.horizon)

    def n_base(self) -> int:
        """Number of baseline entries (profile values or matrices) indexed by the clock."""
        profile = self.outcome.profile
        return 1 if profile is None else len(profile)

    def n_columns(self) -> int:
        """Number of table columns (see :func:`sibsim.engine.tables.columns`)."""
        return len(columns(self.scenario, self.n_base())[1])

    # ------------------------------------------------------------------ tables
    def _common(self, params: dict[str, np.ndarray], D: int) -> dict[str, np.ndarray]:
        """Engagement and negative-binomial shape per draw (Poisson: inf), drop-out and
        newcomer uptake per draw and stratum ``(D, K)``, and the end of each wave's service
        ``(W, K)``.

        The cohort's turnover (``cohort.turnover``, or a stratum's own
        ``cohort.turnover[<stratum>]``, when the scenario has it) joins the effect's drop-out:
        an engaged person stops being engaged in a period after their entry period if they
        drop out or their place changes hands (independently), with probability ``dropout +
        turnover - dropout x turnover`` (the drop-out itself, to the last bit, where the
        turnover is 0). See :class:`~sibsim.spec.cohort.Cohort`.

        ``uptake``: ``turnover x newcomer_uptake`` (``cohort.newcomer_uptake``, or a stratum's
        own), the per-period probability that a place changes holder and the newcomer takes up
        the service; zeros without newcomer uptake. ``uptake_end[w, k]``: newcomers joining
        from this period on no longer take it up: ``min(w + onset + duration, end of stratum
        k)`` (``Effect.onset``, ``duration``, ``ends_by_stratum``; the horizon without a
        duration or an end; wave ``w`` enters in period ``w``)."""
        dropout = draw_vector(params, "effect.dropout", D, 0.0)
        strata = self.scenario.cohort.stratum_names or ("all",)
        by_stratum = np.empty((D, len(strata)))
        uptake = np.zeros((D, len(strata)))
        for k, name in enumerate(strata):
            own = f"cohort.turnover[{name}]"
            key = own if own in params else "cohort.turnover"
            if key in params:
                turnover = draw_vector(params, key, D, 0.0)
                by_stratum[:, k] = np.minimum(dropout + turnover - dropout * turnover, 1.0)
                own = f"cohort.newcomer_uptake[{name}]"
                key = own if own in params else "cohort.newcomer_uptake"
                if key in params:
                    # <= turnover <= the drop-out above: the kernels' ratio uptake / dropout
                    # (the chance that an engaged leaver's place goes to an engaged newcomer)
                    # is at most 1
                    uptake[:, k] = np.minimum(turnover * draw_vector(params, key, D, 0.0),
                                              by_stratum[:, k])
            else:
                by_stratum[:, k] = dropout
        return {"nb_shape": np.full(D, np.inf),
                "engage": draw_vector(params, "effect.engagement", D, 1.0),
                "dropout": by_stratum, "uptake": uptake, "uptake_end": self._uptake_end()}

    def _uptake_end(self) -> np.ndarray:
        """The period ``(W, K)`` from which a newcomer of each wave and stratum no longer takes
        up the service (see :meth:`_common`)."""
        sc = self.scenario
        P, W = sc.horizon, sc.cohort.n_waves
        strata = sc.cohort.stratum_names
        effect = sc.effect
        if effect is None:
            return np.zeros((W, len(strata)), np.int64)
        ends = effect.stratum_ends(strata, P)  # (K,)
        last = P if effect.duration is None else effect.onset + effect.duration
        wave_end = np.minimum(np.arange(W, dtype=np.int64) + last, P)  # (W,)
        return np.ascontiguousarray(np.minimum(wave_end[:, None], ends[None, :]))

    def tables(self, params: dict[str, np.ndarray], D: int) -> Tables:
        """The kernels' arrays for ``D`` draws from sampled ``params``."""
        return self.tables_at_effect(self.effect_free_tables(params, D), params, D)

    def effect_free_tables(self, params: dict[str, np.ndarray], D: int) -> EffectFreeTables:
        """The parts of :meth:`tables` that do not read ``params["effect.value"]``."""
        raise NotImplementedError

    def tables_at_effect(self, free: EffectFreeTables, params: dict[str, np.ndarray],
                         D: int) -> Tables:
        """The tables from their effect-free parts (:meth:`effect_free_tables` of the same
        draws) and ``params`` (only ``effect.value`` is read): the same arrays, to the last
        bit, as :meth:`tables` with those ``params``.

        >>> import numpy as np, sibsim
        >>> from sibsim.engine.parameters import sample_parameters
        >>> sc = sibsim.load_scenario("peterborough").scenario
        >>> model, p = model_of(sc), sample_parameters(sc.parameters(), 1, 0, 4)
        >>> free = model.effect_free_tables(p, 4)
        >>> at = model.tables_at_effect(free, {"effect.value": np.full(4, 0.7)}, 4)
        >>> bool(np.array_equal(at.rate, model.tables({**p, "effect.value": np.full(4, 0.7)},
        ...                                                  4).rate))
        True
        """
        raise NotImplementedError

    # ------------------------------------------------------------------ kernels
    def individual(self, st: Structure, tb: Tables, seed: np.uint64, draw0: np.int64,
                   frailty_var: float, ev: np.ndarray, en: np.ndarray,
                   occ: np.ndarray | None, eocc: np.ndarray | None,
                   evj: np.ndarray | None = None) -> None:
        """Run the individual-level kernel, filling ``ev``, ``en`` (and ``occ``, and ``eocc``:
        engaged people by state, for kinds with states; and ``evj``, when given: the events of
        the people engaged in the period, int64 like ``ev``)."""
        raise NotImplementedError

    def aggregate(self, st: Structure, tb: Tables, seed: np.uint64, draw0: np.int64,
                  ev: np.ndarray, en: np.ndarray, occ: np.ndarray | None,
                  eocc: np.ndarray | None, evj: np.ndarray | None = None) -> None:
        """Run the aggregate kernel, filling ``ev``, ``en`` (and ``occ``, ``eocc``, ``evj``)."""
        raise NotImplementedError

    def expected(self, st: Structure, tb: Tables, frailty_var: float, out=None,
                 engaged_events: np.ndarray | None = None):
        """Expected ``(occupancy or None, events, engaged, engaged occupancy or None)`` as float
        arrays; ``out``: zeroed arrays of those shapes (None where the kind has no states) to
        write them into instead of new ones; ``engaged_events``: a zeroed float array shaped
        like the events, filled with the engaged people's expected events (None: not
        tallied)."""
        raise NotImplementedError

    def derived_occupancy(self, st: Structure, events: np.ndarray) -> np.ndarray:
        """Occupancy derived from events (kinds with :attr:`occupancy_from_events`)."""
        raise NotImplementedError


class TransitionModel(OutcomeModel):
    """Kinds simulated as transition matrices ``trans (D, 2, K, C, S, S)`` by the aggregate and
    expected engines (binary and Markov outcomes)."""

    def frailty_transitions(self, st: Structure, trans: np.ndarray, z: float) -> np.ndarray:
        """The matrices of a person with frailty ``z`` (used by the expected trace)."""
        return markov_frailty_transitions(trans, z)

    def aggregate(self, st, tb, seed, draw0, ev, en, occ, eocc, evj=None) -> None:
        _agg.markov_aggregate(tb.trans, chain(st), groups(st, tb), service(st, tb),
                              _aggregate_streams(st, seed, draw0), tallies(ev, en, evj),
                              Occupancy(occ, eocc))

    def expected(self, st, tb, frailty_var, out=None, engaged_events=None):
        return _expected.transition_trace(
            st, tb, frailty_var, lambda trans, z: self.frailty_transitions(st, trans, z), out,
            engaged_events)


@OUTCOME_MODELS.register
class BinaryModel(TransitionModel):
    """Binary outcomes: an event probability table ``prob (D, 2, K, C)`` and its two-state
    matrices; the individual kernel draws one event per person-period."""

    kind: ClassVar[str] = "binary"
    occupancy_from_events: ClassVar[bool] = True

    def layout(self):
        o = self.outcome
        flag = np.array([[False, True], [False, o.recurrent]])
        absorbing = np.array([False, not o.recurrent])
        return o.states, flag, absorbing, 0, o.recurrent

    def effect_free_tables(self, params, D):
        scenario, o = self.scenario, self.outcome
        common = self._common(params, D)
        hm = profile_values(o.profile)
        tidx, bidx, strength = columns(scenario, hm.size)
        base = np.stack(stratum_baselines(scenario, params, "probability"), axis=1)  # (D, K)
        with np.errstate(divide="ignore", invalid="ignore"):
            p0 = -np.expm1(hm[bidx][None, None, :]
                           * np.log1p(-np.minimum(base, 1.0))[:, :, None])
        # a zero hazard multiplier means no events, even where p = 1 (0 * log(0))
        p0 = np.where(hm[bidx][None, None, :] == 0, 0.0, p0)
        return EffectFreeTables(common, tidx, strength, p0)

    def tables_at_effect(self, free, params, D):
        scenario, p0 = self.scenario, free.untreated
        eff = effect_by_column(scenario, params, free.strength)
        p1 = p0 if eff is None else apply_to_probability(p0, scenario.effect.measure, eff)
        prob = np.ascontiguousarray(np.stack([p0, p1], axis=1))  # (D, 2, K, C)
        check_probabilities(prob, "event probability")
        return Tables(prob=prob, trans=binary_transitions(prob, self.outcome.recurrent),
                      rate=None, tidx=free.tidx, **free.common)

    def frailty_transitions(self, st, trans, z):
        return binary_frailty_transitions(trans, z, st.recurrent)

    def individual(self, st, tb, seed, draw0, frailty_var, ev, en, occ, eocc, evj=None) -> None:
        with np.errstate(divide="ignore"):  # p = 1: log(1 - p) = -inf (the kernel's q^z = 0)
            log_q = np.log1p(-np.minimum(tb.prob, 1.0)) if frailty_var > 0 else tb.prob
        eev = np.zeros_like(ev)
        _ind.binary_individual(BinaryTables(tb.prob, log_q, bool(st.recurrent)), groups(st, tb),
                               service(st, tb), _individual_streams(st, seed, draw0),
                               float(frailty_var), tallies(ev, en, evj), eev)
        eocc[..., 1] = eev
        eocc[..., 0] = en - eev

    def derived_occupancy(self, st, events):
        return binary_occupancy(st, events)


@OUTCOME_MODELS.register
class CountModel(OutcomeModel):
    """Count outcomes: a rate table ``rate (D, 2, K, C)`` (``(D, 3, K, C)`` with
    ``Effect.organisation``: the treated arm's people not engaged at level 2) and a
    negative-binomial shape per draw; no states."""

    kind: ClassVar[str] = "counts"

    def layout(self):
        return (), np.zeros((0, 0), bool), np.zeros(0, bool), 0, True

    def _common(self, params, D):
        common = super()._common(params, D)
        if self.outcome.dispersion is not None:
            nb = np.ascontiguousarray(params["baseline.dispersion"], dtype=float)
            if np.any(nb <= 0):
                raise ValueError(f"baseline.dispersion: sampled {nb[nb <= 0][0]!r}; allowed: a "
                                 "negative-binomial shape > 0 (use a distribution on (0, inf))")
            common["nb_shape"] = nb
        return common

    def effect_free_tables(self, params, D):
        scenario, o = self.scenario, self.outcome
        common = self._common(params, D)
        mult = profile_values(o.profile)
        tidx, bidx, strength = columns(scenario, mult.size)
        base = np.stack(stratum_baselines(scenario, params, "rate"), axis=1)
        r0 = base[:, :, None] * mult[bidx][None, None, :]
        return EffectFreeTables(common, tidx, strength, r0,
                                organisation_rates(scenario, params, r0, strength))

    def _group_sizes(self) -> np.ndarray:
        """``np.array(scenario.group_sizes())`` (people per arm, wave and stratum), built once
        per model (the scenario is immutable) rather than at every chunk of every effect of
        the break-even search; read-only."""
        sizes = self.__dict__.get("_sizes")
        if sizes is None:
            sizes = np.array(self.scenario.group_sizes())
            sizes.flags.writeable = False
            self._sizes = sizes
        return sizes

    def tables_at_effect(self, free, params, D):
        """As :meth:`OutcomeModel.tables_at_effect`; with ``Effect.organisation`` the rate table
        has a third level, ``rate[:, 2]``: the treated arm's people who are not engaged (the
        kernels read it instead of ``rate[:, 0]`` for them)."""
        scenario, r0, common = self.scenario, free.untreated, free.common
        eff = effect_by_column(scenario, params, free.strength)
        sizes = self._group_sizes()
        org = free.organisation
        levels = 2 if org is None else 3
        if eff is not None and r0.dtype == np.float64 and eff.dtype == np.float64:
            # one pass: the tables, their check and each draw's largest rate (the same bits)
            rate, top = np.empty((r0.shape[0], levels, *r0.shape[1:])), np.empty(r0.shape[:2])
            ok = rates_at_effect(r0, eff, scenario.effect.measure in ("rr", "hr"), MAX_RATE,
                                 rate, top)
            if org is not None:
                rate[:, 2] = org
                top = np.maximum(top, org.max(axis=2))
                ok = ok and bool(np.isfinite(org).all() and org.max(initial=0.0) <= MAX_RATE)
            if not ok:
                check_rates(rate)  # refuses them, naming the value
            check_expected_counts(rate, common["nb_shape"], sizes, top_rate=top)
            return Tables(prob=None, trans=None, rate=rate, tidx=free.tidx, **common)
        r1 = r0 if eff is None else apply_to_rate(r0, scenario.effect.measure, eff)
        rate = np.ascontiguousarray(np.stack([r0, r1] if org is None else [r0, r1, org],
                                             axis=1))
        check_rates(rate)
        check_expected_counts(rate, common["nb_shape"], sizes)
        return Tables(prob=None, trans=None, rate=rate, tidx=free.tidx, **common)

    def individual(self, st, tb, seed, draw0, frailty_var, ev, en, occ, eocc, evj=None) -> None:
        _ind.counts_individual(CountTables(tb.rate, tb.nb_shape), groups(st, tb), service(st, tb),
                               _individual_streams(st, seed, draw0), float(frailty_var),
                               tallies(ev, en, evj))

    def aggregate(self, st, tb, seed, draw0, ev, en, occ, eocc, evj=None) -> None:
        _agg.counts_aggregate(CountTables(tb.rate, tb.nb_shape), groups(st, tb), service(st, tb),
                              _aggregate_streams(st, seed, draw0), tallies(ev, en, evj))

    def expected(self, st, tb, frailty_var, out=None, engaged_events=None):
        # frailty and dispersion have mean 1: the expected count ignores them
        return _expected.count_trace(st, tb, out, engaged_events)


@OUTCOME_MODELS.register
class MarkovModel(TransitionModel):
    """Markov outcomes: transition matrices ``trans (D, 2, K, C, S, S)`` per stratum, with the
    effect applied to its target transitions."""

    kind: ClassVar[str] = "markov"

    def layout(self):
        o = self.outcome
        states = o.states
        idx = {s: i for i, s in enumerate(states)}
        flag = np.zeros((len(states), len(states)), bool)
        for a, b in o.events:
            flag[idx[a], idx[b]] = True
        absorbing = np.array(o.absorbing) & self._never_leaves()
        return states, flag, absorbing, idx[o.initial], False

    def _never_leaves(self) -> np.ndarray:
        """A state stays absorbing only if the effect cannot move people out of it."""
        scenario, o = self.scenario, self.outcome
        out = np.ones(len(o.states), bool)
        if scenario.effect is not None and scenario.effect.measure == "absolute":
            for a, _ in scenario.effect.targets:
                out[o.states.index(a)] = False
        for s in scenario.cohort.strata:
            if s.baseline is not None:
                for i in range(len(o.states)):
                    for mat in s.baseline:
                        row = mat[i]
                        mean = row.mean_row if isinstance(row, Dirichlet) else row
                        out[i] &= mean[i] == 1.0
        return out

    def n_base(self) -> int:
        o = self.outcome
        return max([len(o.transitions)] + [len(s.baseline) for s in self.scenario.cohort.strata
                                           if s.baseline is not None])

    def effect_free_tables(self, params, D):
        scenario, o = self.scenario, self.outcome
        per_stratum = []
        for s in scenario.cohort.strata or (None,):
            if s is None or s.baseline is None:
                per_stratum.append(matrices(o.transitions, "baseline", params, o.states, D))
            else:
                per_stratum.append(matrices(s.baseline, f"baseline[{s.name}]", params, o.states,
                                            D))
        n_base = max(m.shape[1] for m in per_stratum)
        tidx, bidx, strength = columns(scenario, n_base)
        S = len(o.states)
        t0 = np.empty((D, len(per_stratum), len(bidx), S, S))  # (D, K, C, S, S)
        for k, m in enumerate(per_stratum):  # each stratum's matrices gathered in place
            np.take(m, np.minimum(bidx, m.shape[1] - 1), axis=1, out=t0[:, k], mode="clip")
        return EffectFreeTables(self._common(params, D), tidx, strength, t0)

    def tables_at_effect(self, free, params, D):
        scenario, o, t0 = self.scenario, self.outcome, free.untreated
        eff = effect_by_column(scenario, params, free.strength)  # (D, K', C)
        trans = np.empty((D, 2, *t0.shape[1:]))  # (D, 2, K, C, S, S): untreated, treated
        trans[:, 0] = t0
        if eff is None:
            trans[:, 1] = t0
        else:  # written into the treated half: no separate t1 and no stacked copy
            apply_to_transitions(t0, scenario.effect.measure, eff,
                                 [(o.states.index(a), o.states.index(b))
                                  for a, b in scenario.effect.targets],
                                 scenario.effect.target_scale, out=trans[:, 1],
                                 balance=_balance_indices(scenario.effect, o.states))
        check_probabilities(trans, "transition probability")
        return Tables(prob=None, trans=trans, rate=None, tidx=free.tidx, **free.common)

    def individual(self, st, tb, seed, draw0, frailty_var, ev, en, occ, eocc, evj=None) -> None:
        cum = cumulative_rows(tb.trans)
        if frailty_var > 0:
            q, qcum = exit_tables(tb.trans)
        else:
            q, qcum = cum[..., 0], cum
        _ind.markov_individual(JumpTables(cum, q, qcum), chain(st), groups(st, tb),
                               service(st, tb), _individual_streams(st, seed, draw0),
                               float(frailty_var), tallies(ev, en, evj), Occupancy(occ, eocc))


def _balance_indices(effect, states: tuple[str, ...]) -> dict | None:
    """``Effect.balance`` by state index for :func:`apply_to_transitions`: ``{row: (states,
    shares)}``, and ``{row: {target: (states, shares)}}`` for a row balanced by target; None
    when every row balances on its diagonal."""
    out: dict = {}
    for a, t, to, shares in effect.balance_by_target():
        where = (tuple(states.index(b) for b in to), shares)
        if t is None:
            out[states.index(a)] = where
        else:
            out.setdefault(states.index(a), {})[states.index(t)] = where
    return out or None


def organisation_rates(scenario: Scenario, params: dict[str, np.ndarray], r0: np.ndarray,
                       strength: np.ndarray) -> np.ndarray | None:
    """The treated arm's not-engaged rates ``(D, K, C)`` under ``Effect.organisation`` (None
    without it): the untreated rates ``r0 (D, K, C)`` times the organisation ratio at each
    column's strength ``strength (K', C)`` (``o ** strength``, 1 at strength 0), where ``r0 >
    0``.

    >>> import sibsim
    >>> sc = sibsim.Scenario(cohort=sibsim.Cohort(size=10), outcome=sibsim.CountOutcome(2.0),
    ...                      effect=sibsim.Effect("rr", 0.8, organisation=0.81), horizon=2)
    >>> organisation_rates(sc, {"effect.organisation": np.array([0.81])},
    ...                    np.full((1, 1, 3), 2.0), np.array([[0.0, 0.5, 1.0]])).tolist()
    [[[2.0, 1.8, 1.62]]]
    """
    effect = scenario.effect
    if effect is None or effect.organisation is None:
        return None
    o = np.asarray(params["effect.organisation"], dtype=float)
    ratio = scaled_effect("rr", o[:, None, None], strength[None, :, :])
    return np.ascontiguousarray(apply_to_rate(r0, "rr", ratio))


def tallies(ev: np.ndarray, en: np.ndarray, evj: np.ndarray | None = None) -> Tallies:
    """The kernels' outputs; ``evj`` None: the engaged people's events are not tallied (the
    kernel gets a zero-size placeholder of the outputs' type)."""
    return Tallies(ev, en, no_engaged_events(ev.dtype) if evj is None else evj)


def groups(st: Structure, tb: Tables) -> Groups:
    """The stochastic kernels' cohort layout."""
    return Groups(st.sizes, st.entry, tb.tidx)


def service(st: Structure, tb: Tables) -> Service:
    """The kernels' engagement inputs."""
    return Service(tb.engage, tb.dropout, bool(st.has_effect), tb.uptake, tb.uptake_end)


def chain(st: Structure) -> Chain:
    """The kernels' states of a transition model."""
    return Chain(st.event_flag, st.absorbing, int(st.init))


def _individual_streams(st: Structure, seed: np.uint64, draw0: np.int64) -> Streams:
    """The individual kernels' stream keys (own outcome purpose, optional person stream)."""
    return Streams(np.uint64(seed), np.int64(draw0), np.int64(outcome_purpose(st.process)),
                   bool(st.person_stream), bool(st.shared_frailty))


def _aggregate_streams(st: Structure, seed: np.uint64, draw0: np.int64) -> Streams:
    """The aggregate kernels' stream keys (no person stream)."""
    return Streams(np.uint64(seed), np.int64(draw0), np.int64(aggregate_purpose(st.process)))


def binary_occupancy(st: Structure, events: np.ndarray) -> np.ndarray:
    """State occupancy of a binary outcome, derived from its events.

    Recurrent: a person is in state ``event`` in period ``t`` if they had the event in ``t - 1``.
    Absorbing: in state ``event`` once they have had it.
    """
    P = events.shape[-1]
    present = (np.arange(P)[None, :] >= st.entry[:, None]).astype(float)  # (W, P)
    n = st.sizes.astype(float)  # (A, W, K)
    pres = n[:, :, :, None] * present[None, :, None, :]  # (A, W, K, P)
    occ = np.zeros((*events.shape, 2))
    if st.recurrent:
        occ[..., 1:, 1] = events[..., :-1]
    else:
        occ[..., 1:, 1] = np.cumsum(events, axis=-1)[..., :-1]
    occ[..., 1] *= present[None, None, :, None, :]
    occ[..., 0] = pres[None] - occ[..., 1]
    return occ
