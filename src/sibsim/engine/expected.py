"""Expected-value mode: the deterministic cohort trace, vectorised over draws.

For given parameters this is the exact mean of what the stochastic engines simulate (as heemod and
hesim compute a cohort trace): the state-occupancy vector is multiplied by each period's transition
matrix. Engagement and drop-out split the treated cohort into engaged and not-engaged sub-cohorts.
Gamma frailty is integrated out with generalised Gauss-Laguerre quadrature over the frailty
distribution (exact for polynomials of degree < 2 * nodes; 40 nodes by default).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from sibsim.engine.tables import Structure, Tables, frailty_transitions

QUADRATURE_NODES = 40


def frailty_nodes(variance: float, n: int = QUADRATURE_NODES) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights that integrate over Gamma(shape=1/variance, scale=variance)."""
    shape = 1.0 / variance
    x, w = special.roots_genlaguerre(n, shape - 1.0)
    w = w / w.sum()
    return x * variance, w


def expected_trace(st: Structure, tb: Tables, frailty_var: float):
    """Return float arrays ``(occupancy, events, engaged)`` shaped like the stochastic engines'."""
    sizes = st.sizes
    A, W, K = sizes.shape
    P = st.horizon
    if st.kind == "counts":
        return _counts_trace(st, tb)
    D = tb.trans.shape[0]
    S = tb.trans.shape[-1]
    if frailty_var > 0:
        zs, ws = frailty_nodes(frailty_var)
        trans_q = [frailty_transitions(tb.trans, z, st.kind, st.recurrent) for z in zs]
    else:
        zs, ws = np.ones(1), np.ones(1)
        trans_q = [tb.trans]
    occ = np.zeros((D, A, W, K, P, S))
    ev = np.zeros((D, A, W, K, P))
    en = np.zeros((D, A, W, K, P))
    flag = st.event_flag.astype(float)
    for q, weight in enumerate(ws):
        T = trans_q[q]  # (D, 2, K, W, P, S, S)
        for a in range(A):
            treated = st.has_effect and a == 0
            for w in range(W):
                e = int(st.entry[w])
                for k in range(K):
                    n = sizes[a, w, k] * weight
                    v = np.zeros((D, 2, S))
                    if treated:
                        v[:, 1, st.init] = n * tb.engage
                        v[:, 0, st.init] = n * (1.0 - tb.engage)
                    else:
                        v[:, 0, st.init] = n
                    for t in range(e, P):
                        if t > e:
                            moved = v[:, 1, :] * tb.dropout[:, None]
                            v[:, 1, :] -= moved
                            v[:, 0, :] += moved
                        occ[:, a, w, k, t] += v.sum(axis=1)
                        en[:, a, w, k, t] += v[:, 1, :].sum(axis=1)
                        Tt = T[:, :, k, w, t]  # (D, 2, S, S)
                        flow = v[..., :, None] * Tt  # (D, 2, S, S)
                        ev[:, a, w, k, t] += np.einsum("djst,st->d", flow, flag)
                        v = flow.sum(axis=2)
    return occ, ev, en


def _counts_trace(st: Structure, tb: Tables):
    """Expected counts: people present times the rate (frailty and dispersion have mean 1)."""
    rate = tb.rate  # (D, 2, K, W, P)
    D = rate.shape[0]
    A, W, K = st.sizes.shape
    P = st.horizon
    ev = np.zeros((D, A, W, K, P))
    en = np.zeros((D, A, W, K, P))
    tau = np.arange(P)[None, :] - st.entry[:, None]  # (W, P)
    present = tau >= 0
    for a in range(A):
        treated = st.has_effect and a == 0
        n = st.sizes[a].astype(float)  # (W, K)
        if treated:
            stay = (1.0 - tb.dropout)[:, None, None] ** np.maximum(tau, 0)[None]  # (D, W, P)
            frac1 = tb.engage[:, None, None] * stay * present[None]
        else:
            frac1 = np.zeros((D, W, P))
        frac0 = present[None] - frac1
        r0 = np.moveaxis(rate[:, 0], 1, 2)  # (D, W, K, P)
        r1 = np.moveaxis(rate[:, 1], 1, 2)
        ev[:, a] = n[None, :, :, None] * (frac0[:, :, None, :] * r0 + frac1[:, :, None, :] * r1)
        en[:, a] = n[None, :, :, None] * frac1[:, :, None, :]
    return None, ev, en
