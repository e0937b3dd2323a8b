"""Expected-value kernel: the deterministic cohort trace of a Markov chain, per draw.

Pure numba over arrays, parallel over draws. The occupancy vector of each (engagement level)
sub-cohort is multiplied by the period's transition matrix; expected events are the flows along
event transitions. Results are *added* (scaled by ``weight``) to the outputs, so frailty
quadrature can call the kernel once per node. Inputs and outputs are the named tuples of
:mod:`sibsim.engine.kernels.arrays` (``groups.sizes`` in float64, outputs in float64).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Draws per iteration of the kernels' parallel loop: each block allocates its scratch vectors
#: once (not once per draw).
DRAW_BLOCK = 64


@njit(parallel=True, cache=True)
def markov_trace(trans, chain, groups, service, weight, out, occupancy, add):
    """Expected trace of transition matrices ``trans (D, 2, K, C, S, S)`` over the states of
    ``chain``: ``weight`` times the expected events and engaged people (and, unless
    ``out.engaged_events`` is zero-size, the engaged sub-cohort's expected events) into ``out``
    and the expected (engaged) occupancy into ``occupancy``.

    ``add`` True: the values are added to the outputs (the frailty quadrature's later nodes).
    False: they are written, not added; the outputs must hold zeros (only the periods from each
    wave's entry on are written), and the result is the same, bit for bit, as adding to those
    zeros (every value is >= +0.0), without reading the outputs first: a freshly allocated
    output is then touched once, not read and written.
    """
    event_flag, init = chain.event_flag, chain.init
    sizes, entry, tidx = groups.sizes, groups.entry, groups.tidx
    engage, dropout, has_effect = service.engage, service.dropout, service.has_effect
    events_out, engaged_out, eev_out = out.events, out.engaged, out.engaged_events
    keep_eev = eev_out.shape[0] > 0
    occ_out, engaged_occ_out = occupancy.occupancy, occupancy.engaged_occupancy
    D = trans.shape[0]
    S = trans.shape[4]
    P = tidx.shape[1]
    A, W, K = sizes.shape
    for b in prange((D + DRAW_BLOCK - 1) // DRAW_BLOCK):
        v = np.zeros((2, S))  # not-engaged (0) and engaged (1) people by state
        nv = np.zeros((2, S))
        for d in range(b * DRAW_BLOCK, min(D, (b + 1) * DRAW_BLOCK)):
            for a in range(A):
                treated = has_effect and a == 0
                for w in range(W):
                    e = entry[w]
                    for k in range(K):
                        n = sizes[a, w, k] * weight
                        v[:, :] = 0.0
                        if treated:
                            v[1, init] = n * engage[d]
                            v[0, init] = n - v[1, init]
                        else:
                            v[0, init] = n
                        for t in range(e, P):
                            if t > e and treated:  # nobody is engaged in an untreated group
                                for s in range(S):
                                    moved = v[1, s] * dropout[d]
                                    v[1, s] -= moved
                                    v[0, s] += moved
                            c = tidx[w, t]
                            ev = 0.0
                            eev = 0.0
                            eng = 0.0
                            nv[:, :] = 0.0
                            for s in range(S):
                                if add:
                                    occ_out[d, a, w, k, t, s] += v[0, s] + v[1, s]
                                    engaged_occ_out[d, a, w, k, t, s] += v[1, s]
                                else:
                                    occ_out[d, a, w, k, t, s] = v[0, s] + v[1, s]
                                    engaged_occ_out[d, a, w, k, t, s] = v[1, s]
                                eng += v[1, s]
                                for j in range(2):
                                    x = v[j, s]
                                    if x == 0.0:
                                        continue
                                    for s2 in range(S):
                                        f = x * trans[d, j, k, c, s, s2]
                                        nv[j, s2] += f
                                        if event_flag[s, s2]:
                                            ev += f
                                            if j == 1:
                                                eev += f
                            if add:
                                events_out[d, a, w, k, t] += ev
                                engaged_out[d, a, w, k, t] += eng
                                if keep_eev:
                                    eev_out[d, a, w, k, t] += eev
                            else:
                                events_out[d, a, w, k, t] = ev
                                engaged_out[d, a, w, k, t] = eng
                                if keep_eev:
                                    eev_out[d, a, w, k, t] = eev
                            v[:, :] = nv


@njit(parallel=True, cache=True)
def counts_trace(rate, groups, service, out):
    """Expected event counts: people present times the rate of their engagement level.

    Frailty and negative-binomial dispersion have mean 1, so they do not change the mean.
    Engaged participants drop out at the start of each period after their first. Writes
    ``out`` (:class:`~sibsim.engine.kernels.arrays.Tallies`, float64; ``out.engaged_events``
    unless zero-size: the engaged people's expected counts).
    """
    sizes, entry, tidx = groups.sizes, groups.entry, groups.tidx
    engage, dropout, has_effect = service.engage, service.dropout, service.has_effect
    events_out, engaged_out, eev_out = out.events, out.engaged, out.engaged_events
    keep_eev = eev_out.shape[0] > 0
    D = rate.shape[0]
    P = tidx.shape[1]
    A, W, K = sizes.shape
    for d in prange(D):
        for a in range(A):
            treated = has_effect and a == 0
            for w in range(W):
                e = entry[w]
                for k in range(K):
                    n = sizes[a, w, k]
                    n1 = n * engage[d] if treated else 0.0
                    for t in range(e, P):
                        if t > e:
                            n1 *= 1.0 - dropout[d]
                        c = tidx[w, t]
                        events_out[d, a, w, k, t] = ((n - n1) * rate[d, 0, k, c]
                                                     + n1 * rate[d, 1, k, c])
                        engaged_out[d, a, w, k, t] = n1
                        if keep_eev:
                            eev_out[d, a, w, k, t] = n1 * rate[d, 1, k, c]
