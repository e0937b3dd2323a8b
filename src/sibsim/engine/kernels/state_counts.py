"""Kernels of a count whose rate follows another process's state (counts by state).

The count of a cell ``(draw, arm, wave, stratum, period)`` is Poisson with mean
``sum_s n0_s rate[d, 0, k, c, s] + n1_s rate[d, 1, k, c, s]``, where ``n1_s`` are the engaged people
in state ``s`` of the followed process at the start of the period (its engaged occupancy),
``n0_s`` the others (occupancy minus engaged occupancy) and ``c = tidx[w, t]``. A sum of
independent Poisson counts is Poisson, so drawing the not-engaged and the engaged part once
each per cell is exact whichever engine simulated the followed process; the expected kernel
writes the two means.

Inputs are the named tuples of :mod:`sibsim.engine.kernels.arrays`: ``rate (D, 2, K, C, S)``,
:class:`~sibsim.engine.kernels.arrays.Groups`, :class:`~sibsim.engine.kernels.arrays.Streams`
(``purpose``: :func:`~sibsim.engine.kernels.arrays.state_count_purpose` of the process index),
the followed process's :class:`~sibsim.engine.kernels.arrays.Occupancy` as float64 arrays
``(D, A, W, K, P, S)``, and the outputs' :class:`~sibsim.engine.kernels.arrays.Tallies`
(``engaged``: the engaged people of the followed process).

Each cell group ``(draw, arm, wave, stratum)`` draws from its own keyed stream
``(seed, purpose, draw, arm, wave, stratum)``, so counts depend on the seed alone: not on the
threads or the chunks of draws.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sibsim.engine.kernels.rng import group_of, poisson, stream_state


@njit(inline="always", cache=True)
def _means(rate, occ, eocc, d, a, w, k, t, c, S):
    """``(not-engaged mean, engaged mean, engaged people)`` of one cell."""
    mean0 = 0.0
    mean1 = 0.0
    eng = 0.0
    for s in range(S):
        n1 = eocc[d, a, w, k, t, s]
        n0 = occ[d, a, w, k, t, s] - n1
        if n0 > 0.0:
            mean0 += n0 * rate[d, 0, k, c, s]
        if n1 > 0.0:
            mean1 += n1 * rate[d, 1, k, c, s]
        eng += n1
    return mean0, mean1, eng


@njit(parallel=True, cache=True)
def state_counts_sample(rate, groups, streams, driver, out):
    """Draw the counts of every cell (int64 ``out``) from the followed process's occupancy
    ``driver``: one Poisson draw for the not-engaged and one for the engaged people."""
    sizes, entry, tidx = groups.sizes, groups.entry, groups.tidx
    seed, draw0, purpose = streams.seed, streams.draw0, streams.purpose
    occ, eocc = driver.occupancy, driver.engaged_occupancy
    events_out, engaged_out, eev_out = out.events, out.engaged, out.engaged_events
    keep_eev = eev_out.shape[0] > 0
    D = rate.shape[0]
    S = rate.shape[4]
    P = tidx.shape[1]
    A, W, K = sizes.shape
    for task in prange(D * A * W * K):
        d, a, w, k = group_of(task, A, W, K)
        s0, s1 = stream_state(seed, purpose, draw0 + d, a * 65536 + w, k, 0)
        for t in range(entry[w], P):
            mean0, mean1, eng = _means(rate, occ, eocc, d, a, w, k, t, tidx[w, t], S)
            x0 = np.int64(0)
            x1 = np.int64(0)
            if mean0 > 0.0:
                s0, s1, x0 = poisson(s0, s1, mean0)
            if mean1 > 0.0:
                s0, s1, x1 = poisson(s0, s1, mean1)
            events_out[d, a, w, k, t] = x0 + x1
            engaged_out[d, a, w, k, t] = np.int64(eng)
            if keep_eev:
                eev_out[d, a, w, k, t] = x1


@njit(parallel=True, cache=True)
def state_counts_mean(rate, groups, driver, out):
    """Write the expected counts of every cell (float64 ``out``) from the followed process's
    (expected) occupancy ``driver``."""
    entry, tidx = groups.entry, groups.tidx
    occ, eocc = driver.occupancy, driver.engaged_occupancy
    events_out, engaged_out, eev_out = out.events, out.engaged, out.engaged_events
    keep_eev = eev_out.shape[0] > 0
    D = rate.shape[0]
    S = rate.shape[4]
    P = tidx.shape[1]
    A, W, K = groups.sizes.shape
    for task in prange(D * A * W * K):
        d, a, w, k = group_of(task, A, W, K)
        for t in range(entry[w], P):
            mean0, mean1, eng = _means(rate, occ, eocc, d, a, w, k, t, tidx[w, t], S)
            events_out[d, a, w, k, t] = mean0 + mean1
            engaged_out[d, a, w, k, t] = eng
            if keep_eev:
                eev_out[d, a, w, k, t] = mean1
