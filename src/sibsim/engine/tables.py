"""Turn a scenario and one chunk of sampled parameters into the arrays the kernels read.

This is the only place where the specification objects meet numpy arrays. Everything is
vectorised over draws. Index conventions: see :mod:`sibsim.engine.kernels.individual`
(``[d, j, k, c, ...]``: draw, engagement, stratum, table column; the column of wave ``w`` in
calendar period ``t`` is ``tidx[w, t]``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sibsim.spec.distributions import Dirichlet
from sibsim.spec.outcomes import MAX_RATE, BinaryOutcome, CountOutcome, MarkovOutcome
from sibsim.spec.scenario import Scenario


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


def structure(scenario: Scenario) -> Structure:
    o = scenario.outcome
    sizes = np.array(scenario.group_sizes(), dtype=np.int64)
    entry = np.arange(scenario.cohort.n_waves, dtype=np.int64)
    if isinstance(o, MarkovOutcome):
        states = o.states
        idx = {s: i for i, s in enumerate(states)}
        flag = np.zeros((len(states), len(states)), bool)
        for a, b in o.events:
            flag[idx[a], idx[b]] = True
        absorbing = np.array(o.absorbing) & _never_leaves(scenario)
        init = idx[o.initial]
        recurrent = False
    elif isinstance(o, BinaryOutcome):
        states = o.states
        flag = np.array([[False, True], [False, o.recurrent]])
        absorbing = np.array([False, not o.recurrent])
        init = 0
        recurrent = o.recurrent
    else:
        states = ()
        flag = np.zeros((0, 0), bool)
        absorbing = np.zeros(0, bool)
        init = 0
        recurrent = True
    return Structure(kind=o.kind, states=states, sizes=sizes, entry=entry, event_flag=flag,
                     absorbing=absorbing, init=init, recurrent=recurrent,
                     has_effect=scenario.effect is not None, horizon=scenario.horizon)


def _never_leaves(scenario: Scenario) -> np.ndarray:
    """A state stays absorbing only if the effect cannot move people out of it."""
    o = scenario.outcome
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


@dataclass(frozen=True)
class Tables:
    """Per-chunk arrays for the kernels (see the module docstring for indices)."""

    prob: np.ndarray | None  # binary: (D, 2, K, C) event probability
    trans: np.ndarray | None  # binary/markov: (D, 2, K, C, S, S)
    rate: np.ndarray | None  # counts: (D, 2, K, C)
    tidx: np.ndarray  # (W, P): column of each wave and calendar period
    nb_shape: np.ndarray  # (D,), inf for Poisson
    engage: np.ndarray  # (D,)
    dropout: np.ndarray  # (D,)


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
    """The effect at partial strength: ratios on the log scale, absolute changes linearly."""
    if measure == "absolute":
        return value * strength
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(strength == 0, 1.0, np.power(value, strength))
    return out


# ---------------------------------------------------------------------------- columns
def columns(scenario: Scenario, n_base: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct table columns and where each (wave, period) finds its column.

    A column is a distinct pair (baseline index, effect strength): the baseline index picks the
    profile entry or transition matrix (by time since entry or by calendar period, per the
    outcome's clock) and the strength is the effect's strength at that time since entry.
    Returns ``(tidx[w, t], base_index[c], strength[c])``. Building tables per column rather than
    per (wave, period) keeps them small: most scenarios have only a handful of columns.
    """
    P = scenario.horizon
    W = scenario.cohort.n_waves
    t = np.arange(P)[None, :]
    tau = t - np.arange(W)[:, None]
    clk = np.maximum(tau, 0) if scenario.outcome.clock == "entry" else np.broadcast_to(t, (W, P))
    base = np.minimum(clk, n_base - 1)
    if scenario.effect is not None:
        strength = scenario.effect.strength(P)[np.maximum(tau, 0)]
    else:
        strength = np.zeros((W, P))
    pairs = np.stack([base.ravel().astype(float), strength.ravel()], axis=1)
    uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
    tidx = np.ascontiguousarray(inverse.reshape(W, P), dtype=np.int64)
    return tidx, uniq[:, 0].astype(np.int64), uniq[:, 1]


def n_columns(scenario: Scenario) -> int:
    """Number of table columns the scenario needs (see :func:`columns`)."""
    o = scenario.outcome
    if isinstance(o, MarkovOutcome):
        n_base = max([len(o.transitions)] + [len(s.baseline) for s in scenario.cohort.strata
                                             if s.baseline is not None])
    else:
        n_base = 1 if o.profile is None else len(o.profile)
    return len(columns(scenario, n_base)[1])


def _profile_values(profile: tuple[float, ...] | None) -> np.ndarray:
    return np.ones(1) if profile is None else np.asarray(profile, dtype=float)


def _stratum_baselines(scenario: Scenario, params: dict[str, np.ndarray], field: str) -> list:
    out = []
    for s in scenario.cohort.strata or (None,):
        name = "baseline" if s is None or s.baseline is None else f"baseline[{s.name}]"
        out.append(params[f"{name}.{field}"])
    return out


def _draw_vector(params: dict[str, np.ndarray], name: str, D: int, default: float) -> np.ndarray:
    if name in params:
        return np.ascontiguousarray(params[name], dtype=float)
    return np.full(D, default)


def _effect_by_column(scenario: Scenario, params: dict[str, np.ndarray],
                      strength: np.ndarray) -> np.ndarray | None:
    """Effect per draw and column, ``(D, 1, C)``, at each column's strength."""
    if scenario.effect is None:
        return None
    value = params["effect.value"]
    return scaled_effect(scenario.effect.measure, value[:, None, None], strength[None, None, :])


# ---------------------------------------------------------------------------- builders
def build_tables(scenario: Scenario, params: dict[str, np.ndarray], D: int) -> Tables:
    """Build the kernels' arrays for ``D`` draws from sampled ``params``."""
    o = scenario.outcome
    engage = _draw_vector(params, "effect.engagement", D, 1.0)
    dropout = _draw_vector(params, "effect.dropout", D, 0.0)
    nb = np.full(D, np.inf)
    if isinstance(o, CountOutcome) and o.dispersion is not None:
        nb = np.ascontiguousarray(params["baseline.dispersion"], dtype=float)
        if np.any(nb <= 0):
            raise ValueError(f"baseline.dispersion: sampled {nb[nb <= 0][0]!r}; allowed: a "
                             "negative-binomial shape > 0 (use a distribution on (0, inf))")
    common = {"nb_shape": nb, "engage": engage, "dropout": dropout}
    if isinstance(o, BinaryOutcome):
        hm = _profile_values(o.profile)
        tidx, bidx, strength = columns(scenario, hm.size)
        base = np.stack(_stratum_baselines(scenario, params, "probability"), axis=1)  # (D, K)
        with np.errstate(divide="ignore", invalid="ignore"):
            p0 = -np.expm1(hm[bidx][None, None, :]
                           * np.log1p(-np.minimum(base, 1.0))[:, :, None])
        # a zero hazard multiplier means no events, even where p = 1 (0 * log(0))
        p0 = np.where(hm[bidx][None, None, :] == 0, 0.0, p0)
        eff = _effect_by_column(scenario, params, strength)
        p1 = p0 if eff is None else apply_to_probability(p0, scenario.effect.measure, eff)
        prob = np.ascontiguousarray(np.stack([p0, p1], axis=1))  # (D, 2, K, C)
        _check_probabilities(prob, "event probability")
        return Tables(prob=prob, trans=binary_transitions(prob, o.recurrent), rate=None,
                      tidx=tidx, **common)
    if isinstance(o, CountOutcome):
        mult = _profile_values(o.profile)
        tidx, bidx, strength = columns(scenario, mult.size)
        base = np.stack(_stratum_baselines(scenario, params, "rate"), axis=1)
        r0 = base[:, :, None] * mult[bidx][None, None, :]
        eff = _effect_by_column(scenario, params, strength)
        r1 = r0 if eff is None else apply_to_rate(r0, scenario.effect.measure, eff)
        rate = np.ascontiguousarray(np.stack([r0, r1], axis=1))
        _check_rates(rate)
        return Tables(prob=None, trans=None, rate=rate, tidx=tidx, **common)
    tidx, trans = _markov_trans(scenario, params, D)
    _check_probabilities(trans, "transition probability")
    return Tables(prob=None, trans=trans, rate=None, tidx=tidx, **common)


def _check_probabilities(prob: np.ndarray, what: str) -> None:
    """Refuse probabilities that are not finite or outside [0, 1] (a bug guard: never NaN)."""
    bad = ~np.isfinite(prob) | (prob < 0) | (prob > 1 + 1e-12)
    if bad.any():
        raise ValueError(f"{what}: the sampled parameters and the effect give "
                         f"{prob[bad][0]!r}; allowed: a finite probability in [0, 1] (check "
                         "the outcome's distributions and effect.value)")


def _check_rates(rate: np.ndarray) -> None:
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


def _matrices(mats: tuple, prefix: str, params: dict[str, np.ndarray], states: tuple[str, ...],
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


def _markov_trans(scenario: Scenario, params: dict[str, np.ndarray],
                  D: int) -> tuple[np.ndarray, np.ndarray]:
    o = scenario.outcome
    per_stratum = []
    for s in scenario.cohort.strata or (None,):
        if s is None or s.baseline is None:
            per_stratum.append(_matrices(o.transitions, "baseline", params, o.states, D))
        else:
            per_stratum.append(_matrices(s.baseline, f"baseline[{s.name}]", params, o.states, D))
    n_base = max(m.shape[1] for m in per_stratum)
    tidx, bidx, strength = columns(scenario, n_base)
    t0 = np.stack([m[:, np.minimum(bidx, m.shape[1] - 1)] for m in per_stratum], axis=1)
    eff = _effect_by_column(scenario, params, strength)  # (D, 1, C)
    if eff is None:
        t1 = t0
    else:
        t1 = apply_to_transitions(t0, scenario.effect.measure, eff,
                                  [(o.states.index(a), o.states.index(b))
                                   for a, b in scenario.effect.targets])
    return tidx, np.ascontiguousarray(np.stack([t0, t1], axis=1))  # (D, 2, K, C, S, S)


def apply_to_transitions(t0: np.ndarray, measure: str, eff: np.ndarray,
                         targets: list[tuple[int, int]]) -> np.ndarray:
    """Apply the effect to target transitions; balance each changed row on its diagonal.

    If the stay probability would go negative, the changed targets are scaled so the row sums
    to one and the stay probability is zero.
    """
    t1 = t0.copy()
    rows = sorted({a for a, _ in targets})
    for a in rows:
        cols = [b for aa, b in targets if aa == a]
        old = t0[..., a, cols]
        new = apply_to_probability(old, measure, eff[..., None])
        others = 1.0 - t0[..., a, a] - old.sum(-1)
        room = np.maximum(1.0 - others, 0.0)
        tot = new.sum(-1)
        scale = np.where(tot > room, room / np.where(tot > 0, tot, 1.0), 1.0)
        new = new * scale[..., None]
        t1[..., a, cols] = new
        t1[..., a, a] = np.maximum(1.0 - others - new.sum(-1), 0.0)
    return t1


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


def frailty_transitions(trans: np.ndarray, z: float, kind: str, recurrent: bool) -> np.ndarray:
    """Transition matrices for a person with frailty ``z`` (used by the expected trace)."""
    if kind == "binary":
        p = trans[..., 0, 1]
        pz = -np.expm1(z * np.log1p(-np.minimum(p, 1.0)))
        return binary_transitions(pz, recurrent)
    S = trans.shape[-1]
    q, _ = exit_tables(trans)
    qz = -np.expm1(z * np.log1p(-np.minimum(q, 1.0)))
    off = trans * (1.0 - np.eye(S))
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(q > 0, qz / np.where(q > 0, q, 1.0), 0.0)
    out = off * scale[..., None]
    idx = np.arange(S)
    out[..., idx, idx] = 1.0 - qz
    return out
