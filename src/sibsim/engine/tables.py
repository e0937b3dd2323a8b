"""The arrays the kernels read, and the helpers that build them from a scenario and sampled
parameters.

Each outcome kind's model (:mod:`sibsim.engine.outcome_models`) assembles its tables from these
helpers (table columns, effect measures, stratum baselines, transition matrices); together they
are the only place where the specification objects meet numpy arrays. Everything is
vectorised over draws. Index conventions: see :mod:`sibsim.engine.kernels.individual`
(``[d, j, k, c, ...]``: draw, engagement, stratum, table column; the column of wave ``w`` in
calendar period ``t`` is ``tidx[w, t]``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sibsim.spec.distributions import Dirichlet
from sibsim.spec.outcomes import MAX_RATE
from sibsim.spec.scenario import Scenario

#: Where a change in a Markov row goes (``Effect.balance`` lowered to state indices): the
#: balancing states and their shares, or None for shares in proportion to the row.
Balance = tuple[tuple[int, ...], tuple[float, ...] | None]


@dataclass(frozen=True)
class Structure:
    """The fixed (draw-independent) shape of a scenario."""

    kind: str
    states: tuple[str, ...]
    sizes: np.ndarray  # (A, W, K) int64
    entry: np.ndarray  # (W,) int64
    event_flag: np.ndarray  # (S, S) bool
    absorbing: np.ndarray  # (S,) bool
    init: int
    recurrent: bool
    has_effect: bool
    horizon: int
    #: index of the outcome process (keys its random streams; 0 for the first or only one)
    process: int = 0
    #: draw engagement, drop-out (and a shared frailty) from a person stream shared by the
    #: processes (individual engine, several processes)
    person_stream: bool = False
    shared_frailty: bool = False


@dataclass(frozen=True)
class Tables:
    """Per-chunk arrays for the kernels (see the module docstring for indices)."""

    prob: np.ndarray | None  # binary: (D, 2, K, C) event probability
    trans: np.ndarray | None  # binary/markov: (D, 2, K, C, S, S)
    rate: np.ndarray | None  # counts: (D, 2, K, C); (D, 3, K, C) with an organisation effect
    tidx: np.ndarray  # (W, P): column of each wave and calendar period
    nb_shape: np.ndarray  # (D,), inf for Poisson
    engage: np.ndarray  # (D,)
    dropout: np.ndarray  # (D, K): by stratum (turnover)
    uptake: np.ndarray  # (D, K): turnover x newcomer uptake per period (0: none)
    uptake_end: np.ndarray  # (W, K) int64: period from which newcomers no longer take it up


# ---------------------------------------------------------------------------- effect measures
def apply_to_probability(p: np.ndarray, measure: str, value: np.ndarray) -> np.ndarray:
    """Apply an effect (already scaled by its strength) to probabilities ``p``."""
    if measure == "rr":
        with np.errstate(invalid="ignore"):
            return np.where(p > 0, np.minimum(1.0, p * value), 0.0)
    if measure == "hr":
        with np.errstate(divide="ignore", invalid="ignore"):
            out = -np.expm1(value * np.log1p(-np.minimum(p, 1.0)))
        # a zero hazard ratio removes all hazard, even where p = 1 (0 * log(0))
        return np.where(value == 0, 0.0, np.where(p > 0, out, 0.0))
    if measure == "or":
        num = value * p
        den = 1.0 - p + num
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), p)
    return np.clip(p + value, 0.0, 1.0)


def apply_to_rate(r: np.ndarray, measure: str, value: np.ndarray) -> np.ndarray:
    if measure in ("rr", "hr"):
        with np.errstate(invalid="ignore"):
            return np.where(r > 0, r * value, 0.0)
    return np.maximum(0.0, r + value)


def scaled_effect(measure: str, value: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """The effect at partial strength: ratios on the log scale, absolute changes linearly.

    ``value`` (D, 1, 1) and ``strength`` (1, 1, C) broadcast to (D, 1, C). When every draw has
    the same value (a point of the break-even grid), the power is taken for the first draw
    only and copied to the others: the same numbers, without D x C powers.

    >>> scaled_effect("rr", np.full((3, 1, 1), 0.25), np.array([[[0.0, 0.5, 1.0]]]))[2, 0]
    array([1.  , 0.5 , 0.25])
    """
    if measure == "absolute":
        return value * strength
    if value.ndim == 3 and value.shape[0] > 1 and value.shape[1:] == (1, 1) \
            and (value == value[0, 0, 0]).all():
        first = scaled_effect(measure, value[:1], strength)  # (1, 1, C), the same inner loop
        return np.repeat(first, value.shape[0], axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(strength == 0, 1.0, np.power(value, strength))
    return out


# ---------------------------------------------------------------------------- columns
def effect_strength(scenario: Scenario) -> np.ndarray:
    """Strength of the effect (0 to 1, times the multipliers) of each stratum, entry wave and
    calendar period, shape ``(K', W, P)``: ``K' = K`` strata when the effect varies by
    stratum (``by_stratum``, ``ends_by_stratum``), else 1 (the same for every stratum).

    The strength at time since entry (onset, duration, decay) times the wave's multiplier
    (``by_wave``) times the stratum's (``by_stratum``), and 0 in the periods from the
    stratum's end (``ends_by_stratum``) on. No effect: zeros.
    """
    P = scenario.horizon
    W = scenario.cohort.n_waves
    effect = scenario.effect
    if effect is None:
        return np.zeros((1, W, P))
    tau = np.arange(P)[None, :] - np.arange(W)[:, None]
    strength = effect.strength(P)[np.maximum(tau, 0)]
    if effect.by_wave:
        strength = strength * effect.wave_strength(W)[:, None]
    if not effect.varies_by_stratum:
        return strength[None]
    names = tuple(s.name for s in scenario.cohort.strata)
    strength = strength[None] * effect.stratum_strength(names)[:, None, None]
    ends = effect.stratum_ends(names, P)
    return np.where(np.arange(P)[None, None, :] < ends[:, None, None], strength, 0.0)


def columns(scenario: Scenario, n_base: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct table columns and where each (wave, period) finds its column.

    A column is a distinct pair (baseline index, effect strength): the baseline index picks the
    profile entry or transition matrix (by time since entry or by calendar period, per the
    outcome's clock) and the strength is the effect's strength at that time since entry
    (:func:`effect_strength`; with an effect that varies by stratum, the strengths of every
    stratum: the kernels read column ``c`` of stratum ``k`` at ``[..., k, c]``, so columns stay
    indexed by wave and period alone). Returns ``(tidx[w, t], base_index[c], strength[k,
    c])``, ``strength`` of shape ``(K', C)`` (``K' = 1``: the same in every stratum). Building
    tables per column rather than per (wave, period) keeps them small: most scenarios have
    only a handful of columns.
    """
    P = scenario.horizon
    W = scenario.cohort.n_waves
    t = np.arange(P)[None, :]
    tau = t - np.arange(W)[:, None]
    clk = np.maximum(tau, 0) if scenario.outcome.clock == "entry" else np.broadcast_to(t, (W, P))
    base = np.minimum(clk, n_base - 1)
    strength = effect_strength(scenario)  # (K', W, P)
    keys = np.concatenate([base[None].astype(float), strength]).reshape(len(strength) + 1, -1)
    uniq, inverse = np.unique(keys.T, axis=0, return_inverse=True)
    tidx = np.ascontiguousarray(inverse.reshape(W, P), dtype=np.int64)
    return tidx, uniq[:, 0].astype(np.int64), np.ascontiguousarray(uniq[:, 1:].T)


def profile_values(profile: tuple[float, ...] | None) -> np.ndarray:
    return np.ones(1) if profile is None else np.asarray(profile, dtype=float)


def stratum_baselines(scenario: Scenario, params: dict[str, np.ndarray], field: str) -> list:
    out = []
    for s in scenario.cohort.strata or (None,):
        name = "baseline" if s is None or s.baseline is None else f"baseline[{s.name}]"
        out.append(params[f"{name}.{field}"])
    return out


def draw_vector(params: dict[str, np.ndarray], name: str, D: int, default: float) -> np.ndarray:
    if name in params:
        return np.ascontiguousarray(params[name], dtype=float)
    return np.full(D, default)


def effect_by_column(scenario: Scenario, params: dict[str, np.ndarray],
                      strength: np.ndarray) -> np.ndarray | None:
    """Effect per draw, stratum and column, ``(D, K', C)``, at each column's strength
    ``strength (K', C)`` (``K' = 1``: the same in every stratum, broadcast over strata)."""
    if scenario.effect is None:
        return None
    value = params["effect.value"]
    return scaled_effect(scenario.effect.measure, value[:, None, None], strength[None, :, :])


def check_probabilities(prob: np.ndarray, what: str) -> None:
    """Refuse probabilities that are not finite or outside [0, 1] (a bug guard: never NaN).

    Two reductions decide (a NaN makes both comparisons false; no temporary the size of
    ``prob``); only a refused table is searched for the value to name.

    >>> check_probabilities(np.array([0.0, 0.5, 1.0]), "p")
    >>> for bad in (np.nan, -1e-9, 1.5, np.inf):
    ...     try:
    ...         check_probabilities(np.array([0.5, bad]), "p")
    ...     except ValueError:
    ...         print("refused", bad)
    refused nan
    refused -1e-09
    refused 1.5
    refused inf
    """
    if prob.size == 0 or (prob.min() >= 0 and prob.max() <= 1 + 1e-12):
        return
    bad = ~np.isfinite(prob) | (prob < 0) | (prob > 1 + 1e-12)
    if bad.any():
        raise ValueError(f"{what}: the sampled parameters and the effect give "
                         f"{float(prob[bad][0])!r}; allowed: a finite probability in [0, 1] (check "
                         "the outcome's distributions and effect.value)")


def check_rates(rate: np.ndarray) -> None:
    """Refuse sampled rates that are not finite or exceed :data:`MAX_RATE`."""
    bad = ~np.isfinite(rate) | (rate > MAX_RATE)
    if bad.any():
        d = int(np.argwhere(bad)[0][0])
        raise ValueError(
            f"event rate: sampled parameters give {rate[bad][0]:g} events per person-period "
            f"(chunk draw {d}); allowed: finite rates up to {MAX_RATE:g} (check the "
            "distributions of baseline.rate, the profile and effect.value)")


def binary_transitions(prob: np.ndarray, recurrent: bool) -> np.ndarray:
    """The 2-state transition matrices equivalent to a binary outcome."""
    trans = np.zeros((*prob.shape, 2, 2))
    trans[..., 0, 0] = 1.0 - prob
    trans[..., 0, 1] = prob
    if recurrent:
        trans[..., 1, 0] = 1.0 - prob
        trans[..., 1, 1] = prob
    else:
        trans[..., 1, 1] = 1.0
    return trans


def matrices(mats: tuple, prefix: str, params: dict[str, np.ndarray], states: tuple[str, ...],
              D: int) -> np.ndarray:
    """Sampled matrices ``(D, M, S, S)`` of one baseline."""
    S = len(states)
    out = np.empty((D, len(mats), S, S))
    for m, mat in enumerate(mats):
        for r, row in enumerate(mat):
            if isinstance(row, Dirichlet):
                out[:, m, r, :] = params[f"{prefix}.transition[{m}].{states[r]}"]
            else:
                out[:, m, r, :] = np.asarray(row)[None, :]
    return out


def apply_to_transitions(t0: np.ndarray, measure: str, eff: np.ndarray,
                         targets: list[tuple[int, int]],
                         scales: tuple[float, ...] = (),
                         out: np.ndarray | None = None,
                         balance: dict[int, int | Balance | dict[int, Balance]]
                         | None = None) -> np.ndarray:
    """Apply the effect to target transitions; balance each changed row on its diagonal, or
    on what ``balance[row]`` gives: a state, or ``(states, shares)`` (the change split among
    those states in those shares; ``shares`` None: in proportion to the row's probabilities
    of the states in ``t0``, equal shares where they are all 0), or by target a dict
    ``{target column: (states, shares)}`` (each target's own change split so; a target not in
    it on the diagonal; all targets alike: as one ``(states, shares)`` for the row).

    If a balancing probability would go negative, the changed targets are scaled so the row
    sums to one and the first balancing probability to run out is zero (for shares in
    proportion, all of them; by target, only the rising targets are scaled, by one factor).
    ``scales`` (one per target, optional) multiply the effect's strength for each target:
    ``eff ** scale`` for ratios, ``eff * scale`` for absolute changes. ``out``: an array
    shaped like ``t0`` (e.g. the treated half of the kernels' table) to write the matrices
    into and return, instead of a new one.

    >>> t0 = np.array([[[[[0.9, 0.1], [0.0, 1.0]]]]])  # (D, K, C, S, S)
    >>> apply_to_transitions(t0, "rr", np.full((1, 1, 1), 0.5), [(0, 1)])[0, 0, 0].tolist()
    [[0.95, 0.05], [0.0, 1.0]]
    >>> t0 = np.array([[[[[0.0, 0.9, 0.1], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]]]])
    >>> apply_to_transitions(t0, "rr", np.full((1, 1, 1), 0.5), [(0, 2)],
    ...                      balance={0: 1})[0, 0, 0, 0].tolist()   # to state 1, not 0
    [0.0, 0.95, 0.05]
    >>> t0 = np.array([[[[[0.0, 0.6, 0.2, 0.2], *np.eye(4)[1:].tolist()]]]])
    >>> half = apply_to_transitions(t0, "rr", np.full((1, 1, 1), 0.5), [(0, 3)],
    ...                             balance={0: ((1, 2), None)})[0, 0, 0, 0]  # 3 to 1
    >>> np.round(half, 12).tolist()
    [0.0, 0.675, 0.225, 0.1]
    >>> t0 = np.array([[[[[0.0, 0.5, 0.2, 0.1, 0.2], *np.eye(5)[1:].tolist()]]]])
    >>> by = apply_to_transitions(t0, "rr", np.full((1, 1, 1), 0.5), [(0, 3), (0, 4)],
    ...                           balance={0: {3: ((1, 2), None), 4: ((1,), (1.0,))}})
    >>> np.round(by[0, 0, 0, 0], 12).tolist()   # 3 gives 0.05 to 1 and 2 (5:2), 4 0.1 to 1
    [0.0, 0.635714285714, 0.214285714286, 0.05, 0.1]
    """
    if out is None:
        t1 = t0.copy()
    else:
        t1 = out
        t1[...] = t0
    rows = sorted({a for a, _ in targets})
    for a in rows:
        idx = [i for i, (aa, _) in enumerate(targets) if aa == a]
        cols = [targets[i][1] for i in idx]
        old = t0[..., a, cols]
        if scales:
            with np.errstate(divide="ignore", invalid="ignore"):
                per = np.stack([eff * scales[i] if measure == "absolute"
                                else np.where(scales[i] == 0, 1.0, eff ** scales[i])
                                for i in idx], axis=-1)
            new = apply_to_probability(old, measure, per)
        else:
            new = apply_to_probability(old, measure, eff[..., None])
        b = a if balance is None else balance.get(a, a)  # the state(s) taking the change
        if isinstance(b, dict):
            per = [b.get(c, ((a,), (1.0,))) for c in cols]
            if any(p != per[0] for p in per):
                t1[..., a, cols] = _share_by_target(t0, t1, a, old, new, per)
                continue
            b = per[0]  # every target alike: the row's change together, as one place
        if not isinstance(b, (int, np.integer)):
            if len(b[0]) > 1:
                t1[..., a, cols] = _share_change(t0, t1, a, old, new, *b)
                continue
            b = b[0][0]
        others = 1.0 - t0[..., a, b] - old.sum(-1)
        room = np.maximum(1.0 - others, 0.0)
        tot = new.sum(-1)
        with np.errstate(over="ignore"):  # room / a subnormal total: the branch not taken
            scale = np.where(tot > room, room / np.where(tot > 0, tot, 1.0), 1.0)
        new = new * scale[..., None]
        t1[..., a, cols] = new
        t1[..., a, b] = np.maximum(1.0 - others - new.sum(-1), 0.0)
    return t1


def _share_change(t0: np.ndarray, t1: np.ndarray, a: int, old: np.ndarray, new: np.ndarray,
                  to: tuple[int, ...], shares: tuple[float, ...] | None) -> np.ndarray:
    """Balance row ``a`` on the states ``to`` (more than one): write their probabilities into
    ``t1`` and return the targets' new probabilities ``new`` (scaled down where a balancing
    state would go negative). ``old``: the targets' probabilities in ``t0``; ``shares``: fixed
    shares of the change (normalised to sum to 1), or None for shares in proportion to the
    row's probabilities of ``to`` in ``t0`` (equal where those are all 0)."""
    to_i = list(to)
    pb = t0[..., a, to_i]  # (..., n): the balancing states' untreated probabilities
    held = pb.sum(-1)
    if shares is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(held[..., None] > 0, pb / np.where(held > 0, held, 1.0)[..., None],
                         1.0 / len(to))
        limit = held  # they fall together: the largest fall of their total is all of it
    else:
        share = np.asarray(shares, dtype=float)
        w = np.broadcast_to(share / share.sum(), pb.shape)
        with np.errstate(divide="ignore", over="ignore"):  # the first to run out limits it
            limit = np.where(w > 0, pb / np.where(w > 0, w, 1.0), np.inf).min(-1)
    room = np.maximum(old.sum(-1) + limit, 0.0)  # the most the targets can hold together
    tot = new.sum(-1)
    with np.errstate(over="ignore"):  # room / a subnormal total: the branch not taken
        scale = np.where(tot > room, room / np.where(tot > 0, tot, 1.0), 1.0)
    new = new * scale[..., None]
    change = old.sum(-1) - new.sum(-1)  # what the targets gave up (< 0: took)
    t1[..., a, to_i] = np.maximum(pb + w * change[..., None], 0.0)
    return new


def _share_by_target(t0: np.ndarray, t1: np.ndarray, a: int, old: np.ndarray,
                     new: np.ndarray, per: list[Balance]) -> np.ndarray:
    """Balance row ``a`` target by target: target ``i``'s change (``old[..., i]`` in ``t0``,
    ``new[..., i]`` wanted) goes to the states ``per[i][0]`` in the shares ``per[i][1]``
    (normalised; None: in proportion to the row's probabilities of them in ``t0``, equal
    where those are all 0). Write the balancing states' probabilities into ``t1`` and return
    the targets' new probabilities: those that fall as wanted, those that rise times one
    factor ``s <= 1``, the largest that keeps every balancing state at >= 0 (state ``j``,
    untreated ``p_j`` and share ``w_ij`` of target ``i``'s change, ends at ``p_j + sum_i
    w_ij (old_i - new_i)``)."""
    states = list(dict.fromkeys(j for to, _ in per for j in to))  # every balancing state
    pb = t0[..., a, states]  # (..., m): their untreated probabilities
    w = np.zeros((*old.shape, len(states)))  # (..., n, m): target i's share to state j
    for i, (to, shares) in enumerate(per):
        at = [states.index(j) for j in to]
        own = pb[..., at]
        if shares is None:
            held = own.sum(-1)
            with np.errstate(divide="ignore", invalid="ignore"):
                w[..., i, at] = np.where(held[..., None] > 0,
                                         own / np.where(held > 0, held, 1.0)[..., None],
                                         1.0 / len(to))
        else:
            share = np.asarray(shares, dtype=float)
            w[..., i, at] = share / share.sum()
    rise = new > old
    fixed = np.where(rise, 0.0, new)  # falling targets: as wanted
    moving = np.where(rise, new, 0.0)  # rising ones: scaled together
    room = pb + (w * (old - fixed)[..., None]).sum(-2)  # each state with the rising at 0
    take = (w * moving[..., None]).sum(-2)  # what the rising targets take from it
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(take > 0, np.maximum(room, 0.0) / np.where(take > 0, take, 1.0),
                         np.inf)
    scale = np.minimum(ratio.min(-1), 1.0)
    t1[..., a, states] = np.maximum(room - scale[..., None] * take, 0.0)
    return fixed + scale[..., None] * moving


def cumulative_rows(trans: np.ndarray) -> np.ndarray:
    """Cumulative rows with the last entry forced to exactly 1."""
    cum = np.cumsum(trans, axis=-1)
    cum[..., -1] = 1.0
    return cum


def exit_tables(trans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(exit_prob, exit_cum)``: probability of leaving each state and the cumulative
    destination row given an exit (used with frailty)."""
    S = trans.shape[-1]
    diag = np.diagonal(trans, axis1=-2, axis2=-1)
    q = 1.0 - diag
    off = trans * (1.0 - np.eye(S))
    with np.errstate(invalid="ignore", divide="ignore"):
        cond = np.where(q[..., None] > 0, off / np.where(q[..., None] > 0, q[..., None], 1.0), 0.0)
    cum = np.cumsum(cond, axis=-1)
    cum[..., -1] = 1.0
    return np.ascontiguousarray(q), np.ascontiguousarray(cum)


def binary_frailty_transitions(trans: np.ndarray, z: float, recurrent: bool) -> np.ndarray:
    """Two-state matrices of a binary outcome for a person with frailty ``z``:
    ``p_z = 1 - (1 - p) ** z`` (used by the expected trace)."""
    p = trans[..., 0, 1]
    with np.errstate(divide="ignore"):  # p = 1: log(1 - p) = -inf, and p_z = 1 as it should
        pz = -np.expm1(z * np.log1p(-np.minimum(p, 1.0)))
    return binary_transitions(pz, recurrent)


def markov_frailty_transitions(trans: np.ndarray, z: float) -> np.ndarray:
    """Transition matrices for a person with frailty ``z``: the exit probability ``q`` of each
    state becomes ``1 - (1 - q) ** z``, destinations given an exit unchanged (used by the
    expected trace)."""
    S = trans.shape[-1]
    q, _ = exit_tables(trans)
    with np.errstate(divide="ignore"):  # q = 1: log(1 - q) = -inf, and q_z = 1 as it should
        qz = -np.expm1(z * np.log1p(-np.minimum(q, 1.0)))
    off = trans * (1.0 - np.eye(S))
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(q > 0, qz / np.where(q > 0, q, 1.0), 0.0)
    out = off * scale[..., None]
    idx = np.arange(S)
    out[..., idx, idx] = 1.0 - qz
    return out
