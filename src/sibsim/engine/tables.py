"""Turn a scenario and one chunk of sampled parameters into the arrays the kernels read.

This is the only place where the specification objects meet numpy arrays. Everything is
vectorised over draws. Index conventions: see :mod:`sibsim.engine.kernels.individual`
(``[d, j, k, w, t, ...]``: draw, engagement, stratum, wave, calendar period).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sibsim.spec.distributions import Dirichlet
from sibsim.spec.outcomes import BinaryOutcome, CountOutcome, MarkovOutcome
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

    prob: np.ndarray | None  # binary: (D, 2, K, W, P) event probability
    trans: np.ndarray | None  # binary/markov: (D, 2, K, W, P, S, S)
    rate: np.ndarray | None  # counts: (D, 2, K, W, P)
    nb_shape: np.ndarray  # (D,), inf for Poisson
    engage: np.ndarray  # (D,)
    dropout: np.ndarray  # (D,)


# ---------------------------------------------------------------------------- effect measures
def apply_to_probability(p: np.ndarray, measure: str, value: np.ndarray) -> np.ndarray:
    """Apply an effect (already scaled by its strength) to probabilities ``p``."""
    if measure == "rr":
        return np.minimum(1.0, p * value)
    if measure == "hr":
        with np.errstate(divide="ignore"):
            return -np.expm1(value * np.log1p(-np.minimum(p, 1.0)))
    if measure == "or":
        num = value * p
        den = 1.0 - p + num
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), p)
    return np.clip(p + value, 0.0, 1.0)


def apply_to_rate(r: np.ndarray, measure: str, value: np.ndarray) -> np.ndarray:
    if measure in ("rr", "hr"):
        return r * value
    return np.maximum(0.0, r + value)


def scaled_effect(measure: str, value: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """The effect at partial strength: ratios on the log scale, absolute changes linearly."""
    if measure == "absolute":
        return value * strength
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(strength == 0, 1.0, np.power(value, strength))
    return out


# ---------------------------------------------------------------------------- helpers
def _clock_index(scenario: Scenario, clock: str) -> tuple[np.ndarray, np.ndarray]:
    """``(clock[w, t], tau[w, t])``: clock index and time since entry for each wave and period."""
    P = scenario.horizon
    W = scenario.cohort.n_waves
    t = np.arange(P)[None, :]
    e = np.arange(W)[:, None]
    tau = t - e
    clk = np.maximum(tau, 0) if clock == "entry" else np.broadcast_to(t, (W, P))
    return clk, tau


def _profile(profile: tuple[float, ...] | None, clk: np.ndarray) -> np.ndarray:
    if profile is None:
        return np.ones(clk.shape)
    prof = np.asarray(profile, dtype=float)
    return prof[np.minimum(clk, prof.size - 1)]


def _effect_arrays(scenario: Scenario, params: dict[str, np.ndarray], tau: np.ndarray, D: int):
    """Effect value per draw and its strength per (wave, period)."""
    e = scenario.effect
    if e is None:
        return None, None
    strength = e.strength(scenario.horizon)[np.maximum(tau, 0)] * (tau >= 0)  # (W, P)
    return params["effect.value"], strength


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


# ---------------------------------------------------------------------------- builders
def build_tables(scenario: Scenario, params: dict[str, np.ndarray], D: int) -> Tables:
    """Build the kernels' arrays for ``D`` draws from sampled ``params``."""
    o = scenario.outcome
    engage = _draw_vector(params, "effect.engagement", D, 1.0)
    dropout = _draw_vector(params, "effect.dropout", D, 0.0)
    nb = np.full(D, np.inf)
    if isinstance(o, CountOutcome) and o.dispersion is not None:
        nb = np.ascontiguousarray(params["baseline.dispersion"], dtype=float)
    if isinstance(o, BinaryOutcome):
        prob = _binary_prob(scenario, params, D)
        trans = binary_transitions(prob, o.recurrent)
        return Tables(prob=prob, trans=trans, rate=None, nb_shape=nb, engage=engage,
                      dropout=dropout)
    if isinstance(o, CountOutcome):
        return Tables(prob=None, trans=None, rate=_count_rate(scenario, params, D),
                      nb_shape=nb, engage=engage, dropout=dropout)
    return Tables(prob=None, trans=_markov_trans(scenario, params, D), rate=None, nb_shape=nb,
                  engage=engage, dropout=dropout)


def _binary_prob(scenario: Scenario, params: dict[str, np.ndarray], D: int) -> np.ndarray:
    o = scenario.outcome
    clk, tau = _clock_index(scenario, o.clock)
    hmult = _profile(o.profile, clk)  # (W, P)
    base = np.stack(_stratum_baselines(scenario, params, "probability"), axis=1)  # (D, K)
    p0 = -np.expm1(hmult[None, None] * np.log1p(-np.minimum(base, 1.0))[:, :, None, None])
    p0 = np.where(tau[None, None] >= 0, p0, 0.0)  # (D, K, W, P)
    value, strength = _effect_arrays(scenario, params, tau, D)
    if value is None:
        p1 = p0
    else:
        eff = scaled_effect(scenario.effect.measure, value[:, None, None, None],
                            strength[None, None])
        p1 = np.where(tau[None, None] >= 0,
                      apply_to_probability(p0, scenario.effect.measure, eff), 0.0)
    return np.ascontiguousarray(np.stack([p0, p1], axis=1))


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


def _count_rate(scenario: Scenario, params: dict[str, np.ndarray], D: int) -> np.ndarray:
    o = scenario.outcome
    clk, tau = _clock_index(scenario, o.clock)
    mult = _profile(o.profile, clk)
    base = np.stack(_stratum_baselines(scenario, params, "rate"), axis=1)
    r0 = np.where(tau[None, None] >= 0, base[:, :, None, None] * mult[None, None], 0.0)
    value, strength = _effect_arrays(scenario, params, tau, D)
    if value is None:
        r1 = r0
    else:
        eff = scaled_effect(scenario.effect.measure, value[:, None, None, None],
                            strength[None, None])
        r1 = np.where(tau[None, None] >= 0, apply_to_rate(r0, scenario.effect.measure, eff), 0.0)
    return np.ascontiguousarray(np.stack([r0, r1], axis=1))


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


def _markov_trans(scenario: Scenario, params: dict[str, np.ndarray], D: int) -> np.ndarray:
    o = scenario.outcome
    S = len(o.states)
    clk, tau = _clock_index(scenario, o.clock)
    W, P = clk.shape
    per_stratum = []
    for s in scenario.cohort.strata or (None,):
        if s is None or s.baseline is None:
            per_stratum.append(_matrices(o.transitions, "baseline", params, o.states, D))
        else:
            per_stratum.append(_matrices(s.baseline, f"baseline[{s.name}]", params, o.states, D))
    K = len(per_stratum)
    t0 = np.zeros((D, K, W, P, S, S))
    for k, mats in enumerate(per_stratum):
        t0[:, k] = mats[:, np.minimum(clk, mats.shape[1] - 1)]
    t1 = t0.copy()
    value, strength = _effect_arrays(scenario, params, tau, D)
    if value is not None:
        eff = scaled_effect(scenario.effect.measure, value[:, None, None, None],
                            strength[None, None])
        eff = np.broadcast_to(eff, (D, K, W, P))
        t1 = apply_to_transitions(t0, scenario.effect.measure, eff,
                                  [(o.states.index(a), o.states.index(b))
                                   for a, b in scenario.effect.targets])
    out = np.stack([t0, t1], axis=1)
    out[:, :, :, tau < 0] = np.eye(S)
    return np.ascontiguousarray(out)


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
