"""Aggregate kernels for exchangeable individuals: counts, not people.

Instead of following each person, each ``(draw, arm, wave, stratum)`` group carries the number of
people in every (engagement, state) cell and moves them with binomial draws (a multinomial row is
drawn as a chain of conditional binomials). This is exact in distribution and its cost does not
depend on the cohort size.

Each task draws from its own keyed xoroshiro128+ stream, ``(seed, draw, arm, wave, stratum)``,
with exact binomial (inversion / BTRS), Poisson (inversion / PTRS) and gamma (Marsaglia-Tsang)
samplers, so the result does not depend on which thread runs the task.
Array conventions and the grouped inputs (:mod:`sibsim.engine.kernels.arrays`) are those of
:mod:`sibsim.engine.kernels.individual`; ``streams.purpose`` is
:func:`~sibsim.engine.kernels.arrays.aggregate_purpose` of the process index and the person
stream is not used.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sibsim.engine.kernels.arrays import Purpose
from sibsim.engine.kernels.rng import binomial, gamma, group_of, poisson, stream_state

#: Purpose code of the streams of the first (or only) process.
PURPOSE_AGGREGATE = int(Purpose.AGGREGATE)


@njit(parallel=True, cache=True)
def markov_aggregate(trans, chain, groups, service, streams, out, occupancy):
    """State counts moved by multinomial steps; ``trans[d, j, k, tidx[w, t], s, s2]``, the states
    in ``chain`` (:class:`~sibsim.engine.kernels.arrays.Chain`). Writes ``out``
    (:class:`~sibsim.engine.kernels.arrays.Tallies`) and ``occupancy``
    (:class:`~sibsim.engine.kernels.arrays.Occupancy`: people and engaged people by state at the
    start of each period). ``out.engaged_events`` (unless zero-size) gets the events of the
    engaged sub-cohort: the same binomial draws, tallied apart (no extra random numbers)."""
    event_flag, absorbing, init = chain.event_flag, chain.absorbing, chain.init
    sizes, entry, tidx = groups.sizes, groups.entry, groups.tidx
    engage, dropout, has_effect = service.engage, service.dropout, service.has_effect
    seed, draw0, purpose = streams.seed, streams.draw0, streams.purpose
    events_out, engaged_out, eev_out = out.events, out.engaged, out.engaged_events
    keep_eev = eev_out.shape[0] > 0
    occ_out, engaged_occ_out = occupancy.occupancy, occupancy.engaged_occupancy
    D = trans.shape[0]
    P = tidx.shape[1]
    S = trans.shape[4]
    A, W, K = sizes.shape
    n_tasks = D * A * W * K
    for task in prange(n_tasks):
        d, a, w, k = group_of(task, A, W, K)
        s0, s1 = stream_state(seed, purpose, draw0 + d, a * 65536 + w, k, 0)
        treated = has_effect and a == 0
        cnt = np.zeros((2, S), np.int64)
        new = np.zeros((2, S), np.int64)
        n1 = 0
        if treated:
            s0, s1, n1 = binomial(s0, s1, sizes[a, w, k], engage[d])
        n0 = sizes[a, w, k] - n1
        cnt[0, init] = n0
        cnt[1, init] = n1
        e = entry[w]
        for t in range(e, P):
            if t > e and dropout[d, k] > 0.0:
                for s in range(S):
                    s0, s1, x = binomial(s0, s1, cnt[1, s], dropout[d, k])
                    cnt[1, s] -= x
                    cnt[0, s] += x
            ev = 0
            eev = 0
            eng = 0
            for s in range(S):
                occ_out[d, a, w, k, t, s] = cnt[0, s] + cnt[1, s]
                engaged_occ_out[d, a, w, k, t, s] = cnt[1, s]
                eng += cnt[1, s]
            new[:, :] = 0
            c = tidx[w, t]
            for j in range(2):
                for s in range(S):
                    m = cnt[j, s]
                    if m == 0:
                        continue
                    if absorbing[s]:
                        new[j, s] += m
                        continue
                    rem = m
                    p_rem = 1.0
                    for s2 in range(S):
                        pr = trans[d, j, k, c, s, s2]
                        if s2 == S - 1 or p_rem <= pr:
                            x = rem
                        else:
                            s0, s1, x = binomial(s0, s1, rem, pr / p_rem)
                        new[j, s2] += x
                        if event_flag[s, s2]:
                            ev += x
                            if j == 1:
                                eev += x
                        rem -= x
                        p_rem -= pr
                        if rem == 0:
                            break
            cnt[:, :] = new
            events_out[d, a, w, k, t] = ev
            engaged_out[d, a, w, k, t] = eng
            if keep_eev:
                eev_out[d, a, w, k, t] = eev


@njit(parallel=True, cache=True)
def counts_aggregate(tables, groups, service, streams, out):
    """Total event counts per group and period.

    The sum of ``n`` independent Poisson(``r``) counts is Poisson(``n r``); the sum of ``n``
    negative-binomial counts with shape ``k`` and mean ``r`` is Poisson(``r / k * G``) with
    ``G ~ Gamma(n k, 1)``. Both are exact. Uses the keyed xoroshiro128+ streams (no generator
    to seed), one per ``(draw, arm, wave, stratum)``. ``rate`` and ``nb_shape`` are in ``tables``
    (:class:`~sibsim.engine.kernels.arrays.CountTables`); writes ``out``
    (:class:`~sibsim.engine.kernels.arrays.Tallies`; the engaged sub-cohort's count is its own
    draw, so ``out.engaged_events`` needs no extra random numbers). Newcomer uptake
    (``service.uptake``, while ``t < service.uptake_end[w, k]``): after the drop-out draw, the
    engaged who left get an engaged newcomer with probability ``uptake / dropout`` each, the
    people not engaged at the start of the period with probability ``uptake`` each (two more
    binomial draws, none without uptake). A rate table with a third
    level (an organisation-level effect) gives the treated arm's people who are not engaged
    ``rate[d, 2, k, c]`` instead of ``rate[d, 0, k, c]`` (the same random numbers).
    """
    rate, nb_shape = tables.rate, tables.nb_shape
    organisation = rate.shape[1] > 2
    sizes, entry, tidx = groups.sizes, groups.entry, groups.tidx
    engage, dropout, has_effect = service.engage, service.dropout, service.has_effect
    uptake, uptake_end = service.uptake, service.uptake_end
    seed, draw0, purpose = streams.seed, streams.draw0, streams.purpose
    events_out, engaged_out, eev_out = out.events, out.engaged, out.engaged_events
    keep_eev = eev_out.shape[0] > 0
    D = rate.shape[0]
    P = tidx.shape[1]
    A, W, K = sizes.shape
    n_tasks = D * A * W * K
    for task in prange(n_tasks):
        d, a, w, k = group_of(task, A, W, K)
        s0, s1 = stream_state(seed, purpose, draw0 + d, a * 65536 + w, k, 0)
        treated = has_effect and a == 0
        j0 = 2 if treated and organisation else 0  # the not-engaged people's level
        n = sizes[a, w, k]
        n1 = 0
        if treated:
            s0, s1, n1 = binomial(s0, s1, n, engage[d])
        n0 = n - n1
        shape = nb_shape[d]
        negbin = shape > 0.0 and np.isfinite(shape)
        e = entry[w]
        up = uptake[d, k] if treated else 0.0
        # an engaged leaver's place goes to an engaged newcomer with probability up / dropout
        # (given that the holder left: by turnover, or dropped out); up <= dropout
        up_left = min(up / dropout[d, k], 1.0) if up > 0.0 else 0.0
        for t in range(e, P):
            n0_before = n0
            x = 0
            if t > e and dropout[d, k] > 0.0 and n1 > 0:
                s0, s1, x = binomial(s0, s1, n1, dropout[d, k])
                n1 -= x
                n0 += x
            if t > e and up > 0.0 and t < uptake_end[w, k]:
                # newcomer uptake (no random numbers drawn without it): engaged newcomers in
                # the places of the engaged who left and of those not engaged before
                y = 0
                if x > 0:
                    s0, s1, y = binomial(s0, s1, x, up_left)
                z = 0
                if n0_before > 0:
                    s0, s1, z = binomial(s0, s1, n0_before, up)
                n1 += y + z
                n0 -= y + z
            ev = 0
            eev = 0
            for j in range(2):
                nj = n0 if j == 0 else n1
                lam = rate[d, j if j == 1 else j0, k, tidx[w, t]]
                if nj == 0 or lam <= 0.0:
                    continue
                if negbin:
                    s0, s1, g = gamma(s0, s1, nj * shape)
                    mean = lam / shape * g
                else:
                    mean = lam * nj
                s0, s1, x = poisson(s0, s1, mean)
                ev += x
                if j == 1:
                    eev += x
            events_out[d, a, w, k, t] = ev
            engaged_out[d, a, w, k, t] = n1
            if keep_eev:
                eev_out[d, a, w, k, t] = eev
