"""Expected-value kernel: the deterministic cohort trace of a Markov chain, per draw.

Pure numba over arrays, parallel over draws. The occupancy vector of each (engagement level)
sub-cohort is multiplied by the period's transition matrix; expected events are the flows along
event transitions. Results (scaled by ``weight``) are *added* to the outputs, so frailty
quadrature can call the kernel once per node (the first node writes them into the zeroed
outputs: the same bits). Inputs and outputs are the named tuples of
:mod:`sibsim.engine.kernels.arrays` (``groups.sizes`` in float64, outputs in float64).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Draws per iteration of the trace kernel's parallel loop: a block's occupancy vectors and
#: matrices are held with the draws last, so that the innermost loops run over draws.
DRAW_BLOCK = 64


@njit(parallel=True, cache=True, nogil=True)
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

    Each draw's numbers are those of a loop over draws that moves the not-engaged (0) and
    engaged (1) vectors through the period's matrix: ``next[j, s2]`` adds ``v[j, s] *
    trans[.., j, .., s, s2]`` over ``s`` in order, the events add the flows along event
    transitions in the order ``(s, j, s2)``, a zero occupancy adds nothing (here: +0.0, which
    leaves a sum that started at +0.0 unchanged). Draws are taken in blocks of
    :data:`DRAW_BLOCK`, their vectors and the current column's matrices stored with the draw
    last, so the innermost loops run over the block's draws.
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
    B = DRAW_BLOCK
    for b in prange((D + B - 1) // B):
        d0 = b * B
        nb = min(D, d0 + B) - d0
        v = np.empty((2, S, B))  # people by engagement level and state, per draw of the block
        nv = np.empty((2, S, B))
        tm = np.empty((2, S, S, B))  # the block's matrices of the current column
        ev = np.empty(B)
        eev = np.empty(B)
        eng = np.empty(B)
        for a in range(A):
            treated = has_effect and a == 0
            J = 2 if treated else 1  # nobody is engaged in an untreated group
            for w in range(W):
                e = entry[w]
                for k in range(K):
                    n = sizes[a, w, k] * weight
                    v[:, :, :] = 0.0
                    for i in range(nb):
                        if treated:
                            v[1, init, i] = n * engage[d0 + i]
                            v[0, init, i] = n - v[1, init, i]
                        else:
                            v[0, init, i] = n
                    last = -1
                    for t in range(e, P):
                        if t > e and treated:
                            for s in range(S):
                                for i in range(nb):
                                    moved = v[1, s, i] * dropout[d0 + i, k]
                                    v[1, s, i] -= moved
                                    v[0, s, i] += moved
                        c = tidx[w, t]
                        if c != last:
                            for i in range(nb):
                                for j in range(J):
                                    for s in range(S):
                                        for s2 in range(S):
                                            tm[j, s, s2, i] = trans[d0 + i, j, k, c, s, s2]
                            last = c
                        ev[:] = 0.0
                        eev[:] = 0.0
                        eng[:] = 0.0
                        for s in range(S):
                            for i in range(nb):
                                eng[i] += v[1, s, i]
                            for j in range(J):
                                for s2 in range(S):
                                    if event_flag[s, s2]:
                                        for i in range(nb):
                                            x = v[j, s, i]
                                            f = x * tm[j, s, s2, i] if x != 0.0 else 0.0
                                            ev[i] += f
                                            if j == 1:
                                                eev[i] += f
                        for j in range(J):
                            for s2 in range(S):
                                for i in range(nb):
                                    nv[j, s2, i] = 0.0
                                for s in range(S):
                                    for i in range(nb):
                                        x = v[j, s, i]
                                        nv[j, s2, i] += x * tm[j, s, s2, i] if x != 0.0 else 0.0
                        for i in range(nb):
                            d = d0 + i
                            if add:
                                for s in range(S):
                                    occ_out[d, a, w, k, t, s] += v[0, s, i] + v[1, s, i]
                                    engaged_occ_out[d, a, w, k, t, s] += v[1, s, i]
                                events_out[d, a, w, k, t] += ev[i]
                                engaged_out[d, a, w, k, t] += eng[i]
                                if keep_eev:
                                    eev_out[d, a, w, k, t] += eev[i]
                            else:
                                for s in range(S):
                                    occ_out[d, a, w, k, t, s] = v[0, s, i] + v[1, s, i]
                                    engaged_occ_out[d, a, w, k, t, s] = v[1, s, i]
                                events_out[d, a, w, k, t] = ev[i]
                                engaged_out[d, a, w, k, t] = eng[i]
                                if keep_eev:
                                    eev_out[d, a, w, k, t] = eev[i]
                        for j in range(J):
                            for s in range(S):
                                for i in range(nb):
                                    v[j, s, i] = nv[j, s, i]


@njit(parallel=True, cache=True, nogil=True)
def counts_trace(rate, groups, service, out):
    """Expected event counts: people present times the rate of their engagement level.

    Frailty and negative-binomial dispersion have mean 1, so they do not change the mean.
    Engaged participants drop out at the start of each period after their first; while the
    wave's service runs (``t < service.uptake_end[w, k]``) each place of the treated arm also
    gets an engaged newcomer with probability ``service.uptake[d, k]`` (newcomer uptake:
    ``n1 <- n1 (1 - dropout) + uptake n``). A rate table
    with a third level (an organisation-level effect) gives the treated arm's people who are not
    engaged ``rate[d, 2, k, c]`` instead of ``rate[d, 0, k, c]``. Writes
    ``out`` (:class:`~sibsim.engine.kernels.arrays.Tallies`, float64; ``out.engaged`` and
    ``out.engaged_events`` unless zero-size: the engaged people, and their expected counts).
    """
    sizes, entry, tidx = groups.sizes, groups.entry, groups.tidx
    engage, dropout, has_effect = service.engage, service.dropout, service.has_effect
    uptake, uptake_end = service.uptake, service.uptake_end
    events_out, engaged_out, eev_out = out.events, out.engaged, out.engaged_events
    keep_en = engaged_out.shape[0] > 0
    keep_eev = eev_out.shape[0] > 0
    D = rate.shape[0]
    organisation = rate.shape[1] > 2
    P = tidx.shape[1]
    A, W, K = sizes.shape
    for d in prange(D):
        for a in range(A):
            treated = has_effect and a == 0
            j0 = 2 if treated and organisation else 0  # the not-engaged people's level
            for w in range(W):
                e = entry[w]
                for k in range(K):
                    n = sizes[a, w, k]
                    n1 = n * engage[d] if treated else 0.0
                    up = uptake[d, k] if treated else 0.0
                    for t in range(e, P):
                        if t > e:
                            n1 *= 1.0 - dropout[d, k]
                            if up > 0.0 and t < uptake_end[w, k]:
                                # every place, engaged or not, changes holder and gets an
                                # engaged newcomer with probability up
                                n1 += up * n
                        c = tidx[w, t]
                        events_out[d, a, w, k, t] = ((n - n1) * rate[d, j0, k, c]
                                                     + n1 * rate[d, 1, k, c])
                        if keep_en:
                            engaged_out[d, a, w, k, t] = n1
                        if keep_eev:
                            eev_out[d, a, w, k, t] = n1 * rate[d, 1, k, c]
