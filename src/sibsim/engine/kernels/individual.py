"""Individual-level kernels: every person is simulated, period by period.

Work is split into tasks, one per ``(draw, arm, wave, stratum)`` group; a task walks its people in
fixed blocks of :data:`~sibsim.engine.kernels.rng.BLOCK`, each block with its own keyed random
stream, and writes only to its own slice of the outputs. Counts are integers, so the result is
bitwise identical whatever the thread count. Nothing is allocated per individual: per task there
are a few arrays of length ``P`` (periods).

Array conventions (all kernels)
-------------------------------
``D`` draws in this chunk, ``J = 2`` engagement levels (0: baseline, i.e. comparison arm, never
engaged or dropped out; 1: engaged in the service), ``K`` strata, ``C`` table columns, ``W``
entry waves, ``P`` periods, ``A`` arms (0: treatment, 1: comparison), ``S`` states. Tables are
indexed ``[d, j, k, c]``; wave ``w`` in calendar period ``t`` reads column ``tidx[w, t]``.

Inputs are grouped in the named tuples of :mod:`sibsim.engine.kernels.arrays`:

* :class:`~sibsim.engine.kernels.arrays.Groups`: ``sizes[a, w, k]`` people per group;
  ``entry[w]`` the period in which wave ``w`` enters; ``tidx[w, t]`` the table column;
* :class:`~sibsim.engine.kernels.arrays.Service`: ``engage[d]`` share engaging at entry;
  ``dropout[d, k]`` per-period drop-out probability; ``has_effect``;
* :class:`~sibsim.engine.kernels.arrays.Streams`: ``seed``; ``draw0``, the global index of
  draw 0 of the chunk (keys the random streams); ``purpose``, the outcome stream's purpose code
  (:func:`~sibsim.engine.kernels.arrays.outcome_purpose` of the process index;
  :attr:`Purpose.INDIVIDUAL` for the first, or only, process); ``person``: draw the person's own
  variables (engagement, drop-out, and frailty when ``shared_frailty``) from a separate *person
  stream* keyed without the process, so that every outcome process of a person sees the same
  engagement path (and frailty). ``False`` (a single process) draws everything from the outcome
  stream. The number of person-stream draws of a person never depends on their outcomes, so
  the streams stay aligned across processes;
* the kind's tables (:class:`~sibsim.engine.kernels.arrays.BinaryTables`, ...) and
  ``frailty_var``, the variance of the gamma frailty (0: none).

Outputs are int64 arrays ``(D, A, W, K, P)`` (plus a state axis) filled by the kernel, grouped in
:class:`~sibsim.engine.kernels.arrays.Tallies` and :class:`~sibsim.engine.kernels.arrays.Occupancy`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sibsim.engine.kernels.arrays import Purpose
from sibsim.engine.kernels.rng import BLOCK, gamma, group_of, poisson_inverse, stream_state, uniform

# stream purposes, part of every key, so that the outcome streams never overlap other streams
#: Purpose code of the outcome stream of the first (or only) process.
PURPOSE_INDIVIDUAL = int(Purpose.INDIVIDUAL)
#: The person stream (engagement, drop-out, shared frailty) of several outcome processes.
PURPOSE_PERSON = int(Purpose.PERSON)


@njit(inline="always", cache=True)
def _frailty(s0, s1, variance):
    if variance <= 0.0:
        return s0, s1, 1.0
    s0, s1, g = gamma(s0, s1, 1.0 / variance)
    return s0, s1, g * variance


@njit(inline="always", cache=True)
def _engaged_at_entry(s0, s1, treated, p_engage):
    if not treated:
        return s0, s1, 0
    if p_engage >= 1.0:
        return s0, s1, 1
    s0, s1, u = uniform(s0, s1)
    return s0, s1, 1 if u < p_engage else 0


@njit(inline="always", cache=True)
def _person_start(s0, s1, p0, p1, person, shared_frailty, frailty_var, treated, p_engage):
    """Frailty and engagement at entry, from the person stream or the outcome stream."""
    if not person:
        s0, s1, z = _frailty(s0, s1, frailty_var)
        s0, s1, j = _engaged_at_entry(s0, s1, treated, p_engage)
        return s0, s1, p0, p1, z, j
    if shared_frailty:
        p0, p1, z = _frailty(p0, p1, frailty_var)
    else:
        s0, s1, z = _frailty(s0, s1, frailty_var)
    p0, p1, j = _engaged_at_entry(p0, p1, treated, p_engage)
    return s0, s1, p0, p1, z, j


@njit(inline="always", cache=True)
def _person_uniform(s0, s1, p0, p1, person):
    """A uniform for a person-level event (drop-out) from the right stream."""
    if person:
        p0, p1, u = uniform(p0, p1)
    else:
        s0, s1, u = uniform(s0, s1)
    return s0, s1, p0, p1, u


@njit(parallel=True, cache=True)
def binary_individual(tables, groups, service, streams, frailty_var, out, engaged_event_out):
    """Binary event per person-period.

    ``prob[d, j, k, tidx[w, t]]`` is the event probability in calendar period ``t`` for a member
    of wave ``w``, stratum ``k`` with engagement ``j``; ``log_q = log(1 - prob)`` (used with
    frailty: ``p_i = 1 - exp(z_i * log_q)``), both in ``tables`` (:class:`BinaryTables`).
    Writes ``out`` (:class:`Tallies`; ``out.engaged_events``, unless zero-size, the events of
    people engaged in the period) and ``engaged_event_out (D, A, W, K, P)`` (engaged people
    in the ``event`` state at the start of the period).
    """
    prob, log_q, recurrent = tables.prob, tables.log_q, tables.recurrent
    events_out, engaged_out, evj_out = out.events, out.engaged, out.engaged_events
    keep_evj = evj_out.shape[0] > 0
    sizes, entry, tidx = groups.sizes, groups.entry, groups.tidx
    engage, dropout, has_effect = service.engage, service.dropout, service.has_effect
    seed, draw0, purpose = streams.seed, streams.draw0, streams.purpose
    person, shared_frailty = streams.person, streams.shared_frailty
    D = prob.shape[0]
    P = tidx.shape[1]
    A, W, K = sizes.shape
    n_tasks = D * A * W * K
    for task in prange(n_tasks):
        d, a, w, k = group_of(task, A, W, K)
        n = sizes[a, w, k]
        e = entry[w]
        ev = np.zeros(P, np.int64)
        en = np.zeros(P, np.int64)
        eev = np.zeros(P, np.int64)
        evj = np.zeros(P, np.int64)  # events of the engaged
        treated = has_effect and a == 0
        p_eng = engage[d]
        p_drop = dropout[d, k]
        simple = frailty_var <= 0.0 and (not treated or (p_eng >= 1.0 and p_drop <= 0.0))
        jfix = 1 if treated else 0
        row = np.empty(P)
        for t in range(P):
            row[t] = prob[d, jfix, k, tidx[w, t]]
        n_blocks = (n + BLOCK - 1) // BLOCK
        for b in range(n_blocks):
            s0, s1 = stream_state(seed, purpose, draw0 + d, a * 65536 + w, k, b)
            p0, p1 = s0, s1
            if person:
                p0, p1 = stream_state(seed, PURPOSE_PERSON, draw0 + d, a * 65536 + w, k, b)
            m = min(BLOCK, n - b * BLOCK)
            if simple and recurrent:
                # no per-person state: period-major, with a branch-free count in a register
                for t in range(e, P):
                    p = row[t]
                    c = 0
                    for _ in range(m):
                        s0, s1, u = uniform(s0, s1)
                        c += u < p
                    ev[t] += c
            elif simple:
                for _ in range(m):
                    for t in range(e, P):
                        s0, s1, u = uniform(s0, s1)
                        if u < row[t]:
                            ev[t] += 1
                            break
            if simple:
                if jfix == 1:
                    for t in range(e, P):
                        en[t] += m
                continue
            for _ in range(m):
                s0, s1, p0, p1, z, j = _person_start(s0, s1, p0, p1, person, shared_frailty,
                                                     frailty_var, treated, p_eng)
                at_risk = True
                had = False  # recurrent: had the event in the previous period
                for t in range(e, P):
                    if j == 1 and t > e and p_drop > 0.0:
                        s0, s1, p0, p1, u = _person_uniform(s0, s1, p0, p1, person)
                        if u < p_drop:
                            j = 0
                    en[t] += j
                    if not at_risk:
                        eev[t] += j
                        if j == 0 or p_drop <= 0.0:
                            # nothing left to draw: book engagement for the remaining periods
                            for t2 in range(t + 1, P):
                                en[t2] += j
                                eev[t2] += j
                            break
                        continue
                    if had:
                        eev[t] += j
                    if z == 1.0:
                        p = prob[d, j, k, tidx[w, t]]
                    else:
                        p = 1.0 - np.exp(z * log_q[d, j, k, tidx[w, t]])
                    s0, s1, u = uniform(s0, s1)
                    had = u < p
                    if had:
                        ev[t] += 1
                        evj[t] += j
                        if not recurrent:
                            at_risk = False
        if simple and jfix == 1:
            # everyone engaged throughout: their events are everyone's (bit for bit), and
            # engaged in the event state = in the event state
            for t in range(P):
                evj[t] = ev[t]
            run = 0
            for t in range(e + 1, P):
                run = ev[t - 1] if recurrent else run + ev[t - 1]
                eev[t] = run
        for t in range(P):
            events_out[d, a, w, k, t] = ev[t]
            engaged_out[d, a, w, k, t] = en[t]
            engaged_event_out[d, a, w, k, t] = eev[t]
            if keep_evj:
                evj_out[d, a, w, k, t] = evj[t]


@njit(parallel=True, cache=True)
def markov_individual(tables, chain, groups, service, streams, frailty_var, out, occupancy):
    """Multi-state Markov chain per person.

    ``cum[d, j, k, tidx[w, t], s, :]`` is the cumulative transition row out of state ``s`` in
    calendar period ``t``. With frailty ``z`` a person leaves state ``s`` with probability
    ``1 - (1 - q) ** z`` where ``q = exit_prob[d, j, k, tidx[w, t], s]``, and then goes where
    ``exit_cum`` (the cumulative row of destinations given exit) sends them; the three are in
    ``tables`` (:class:`JumpTables`), the states in ``chain`` (:class:`Chain`).
    Writes ``out`` (:class:`Tallies`; ``out.engaged_events``, unless zero-size, the events of
    people engaged in the period) and ``occupancy`` (:class:`Occupancy`: person-periods by
    state, engaged person-periods by state).

    Occupancy and engagement are booked as changes (``+1`` when a person enters a state or
    engages, ``-1`` when they leave) and summed over periods once per task, so a person who
    stays put costs one uniform and one comparison per period.
    """
    cum, exit_prob, exit_cum = tables.cum, tables.exit_prob, tables.exit_cum
    event_flag, absorbing, init = chain.event_flag, chain.absorbing, chain.init
    events_out, engaged_out, evj_out = out.events, out.engaged, out.engaged_events
    keep_evj = evj_out.shape[0] > 0
    sizes, entry, tidx = groups.sizes, groups.entry, groups.tidx
    engage, dropout, has_effect = service.engage, service.dropout, service.has_effect
    seed, draw0, purpose = streams.seed, streams.draw0, streams.purpose
    person, shared_frailty = streams.person, streams.shared_frailty
    occ_out, engaged_occ_out = occupancy.occupancy, occupancy.engaged_occupancy
    D = cum.shape[0]
    P = tidx.shape[1]
    S = cum.shape[4]
    A, W, K = sizes.shape
    n_tasks = D * A * W * K
    for task in prange(n_tasks):
        d, a, w, k = group_of(task, A, W, K)
        n = sizes[a, w, k]
        e = entry[w]
        docc = np.zeros((P + 1, S), np.int64)
        deocc = np.zeros((P + 1, S), np.int64)
        den = np.zeros(P + 1, np.int64)
        ev = np.zeros(P, np.int64)
        evj = np.zeros(P, np.int64)  # events of the engaged
        treated = has_effect and a == 0
        p_eng = engage[d]
        p_drop = dropout[d, k]
        col = tidx[w]
        n_blocks = (n + BLOCK - 1) // BLOCK
        for b in range(n_blocks):
            s0, s1 = stream_state(seed, purpose, draw0 + d, a * 65536 + w, k, b)
            p0, p1 = s0, s1
            if person:
                p0, p1 = stream_state(seed, PURPOSE_PERSON, draw0 + d, a * 65536 + w, k, b)
            m = min(BLOCK, n - b * BLOCK)
            for _ in range(m):
                s0, s1, p0, p1, z, j = _person_start(s0, s1, p0, p1, person, shared_frailty,
                                                     frailty_var, treated, p_eng)
                s = init
                docc[e, s] += 1
                den[e] += j
                deocc[e, s] += j
                for t in range(e, P):
                    if j == 1 and t > e and p_drop > 0.0:
                        s0, s1, p0, p1, u = _person_uniform(s0, s1, p0, p1, person)
                        if u < p_drop:
                            j = 0
                            den[t] -= 1
                            deocc[t, s] -= 1
                    if absorbing[s]:
                        if j == 0 or p_drop <= 0.0:
                            break  # nothing left to draw: the booked changes stand
                        continue
                    c = col[t]
                    s0, s1, u = uniform(s0, s1)
                    if z == 1.0:
                        ns = 0
                        while ns < S - 1 and u >= cum[d, j, k, c, s, ns]:
                            ns += 1
                    else:
                        q = 1.0 - (1.0 - exit_prob[d, j, k, c, s]) ** z
                        if u >= q:
                            ns = s
                        else:
                            x = u / q
                            ns = 0
                            while ns < S - 1 and (x >= exit_cum[d, j, k, c, s, ns] or ns == s):
                                ns += 1
                    if event_flag[s, ns]:
                        ev[t] += 1
                        evj[t] += j
                    if ns != s:
                        docc[t + 1, s] -= 1
                        docc[t + 1, ns] += 1
                        if j == 1:
                            deocc[t + 1, s] -= 1
                            deocc[t + 1, ns] += 1
                        s = ns
        occ_run = np.zeros(S, np.int64)
        eocc_run = np.zeros(S, np.int64)
        en_run = 0
        for t in range(P):
            en_run += den[t]
            events_out[d, a, w, k, t] = ev[t]
            engaged_out[d, a, w, k, t] = en_run
            if keep_evj:
                evj_out[d, a, w, k, t] = evj[t]
            for s in range(S):
                occ_run[s] += docc[t, s]
                occ_out[d, a, w, k, t, s] = occ_run[s]
                eocc_run[s] += deocc[t, s]
                engaged_occ_out[d, a, w, k, t, s] = eocc_run[s]


@njit(parallel=True, cache=True)
def counts_individual(tables, groups, service, streams, frailty_var, out):
    """Event counts per person-period: Poisson, or negative binomial (gamma-Poisson).

    ``rate[d, j, k, tidx[w, t]]`` is the mean count; ``nb_shape[d]`` the negative-binomial shape
    (``inf`` or ``<= 0`` for Poisson). Counts are drawn by inversion, so for a fixed seed they
    never decrease when the rate grows (common random numbers are monotone in the effect).
    Both are in ``tables`` (:class:`CountTables`); writes ``out`` (:class:`Tallies`;
    ``out.engaged_events``, unless zero-size, the counts of people engaged in the period). A
    rate table with a third level (an organisation-level effect) gives the treated arm's people
    who are not engaged ``rate[d, 2, k, c]`` instead of ``rate[d, 0, k, c]`` (the same random
    numbers). Newcomer uptake (``service.uptake``, while ``t < service.uptake_end[w, k]``):
    an engaged person who leaves gets an engaged newcomer in their place with probability
    ``uptake / dropout``, a place not engaged at the start of the period one with probability
    ``uptake`` (a uniform from the person's stream each; none without uptake: ``up_end`` is 0).
    """
    rate, nb_shape = tables.rate, tables.nb_shape
    organisation = rate.shape[1] > 2
    events_out, engaged_out, evj_out = out.events, out.engaged, out.engaged_events
    keep_evj = evj_out.shape[0] > 0
    sizes, entry, tidx = groups.sizes, groups.entry, groups.tidx
    engage, dropout, has_effect = service.engage, service.dropout, service.has_effect
    uptake, uptake_end = service.uptake, service.uptake_end
    seed, draw0, purpose = streams.seed, streams.draw0, streams.purpose
    person, shared_frailty = streams.person, streams.shared_frailty
    D = rate.shape[0]
    P = tidx.shape[1]
    A, W, K = sizes.shape
    n_tasks = D * A * W * K
    for task in prange(n_tasks):
        d, a, w, k = group_of(task, A, W, K)
        n = sizes[a, w, k]
        e = entry[w]
        ev = np.zeros(P, np.int64)
        en = np.zeros(P, np.int64)
        evj = np.zeros(P, np.int64)  # events of the engaged
        treated = has_effect and a == 0
        j0 = 2 if treated and organisation else 0  # the not-engaged people's level
        p_eng = engage[d]
        p_drop = dropout[d, k]
        p_up = uptake[d, k] if treated else 0.0
        p_up_left = min(p_up / p_drop, 1.0) if p_up > 0.0 else 0.0  # p_up <= p_drop
        up_end = uptake_end[w, k] if p_up > 0.0 else 0
        shape = nb_shape[d]
        negbin = shape > 0.0 and np.isfinite(shape)
        n_blocks = (n + BLOCK - 1) // BLOCK
        for b in range(n_blocks):
            s0, s1 = stream_state(seed, purpose, draw0 + d, a * 65536 + w, k, b)
            p0, p1 = s0, s1
            if person:
                p0, p1 = stream_state(seed, PURPOSE_PERSON, draw0 + d, a * 65536 + w, k, b)
            m = min(BLOCK, n - b * BLOCK)
            for _ in range(m):
                s0, s1, p0, p1, z, j = _person_start(s0, s1, p0, p1, person, shared_frailty,
                                                     frailty_var, treated, p_eng)
                for t in range(e, P):
                    if j == 1 and t > e and p_drop > 0.0:
                        s0, s1, p0, p1, u = _person_uniform(s0, s1, p0, p1, person)
                        if u < p_drop:
                            j = 0
                            if t < up_end:  # the leaver's place: an engaged newcomer?
                                s0, s1, p0, p1, u = _person_uniform(s0, s1, p0, p1, person)
                                j = 1 if u < p_up_left else 0
                    elif j == 0 and t > e and t < up_end:  # a newcomer who takes it up?
                        s0, s1, p0, p1, u = _person_uniform(s0, s1, p0, p1, person)
                        j = 1 if u < p_up else 0
                    en[t] += j
                    lam = rate[d, j if j == 1 else j0, k, tidx[w, t]] * z
                    if negbin:
                        s0, s1, g = gamma(s0, s1, shape)
                        lam *= g / shape
                    s0, s1, u = uniform(s0, s1)
                    x = poisson_inverse(u, lam)
                    ev[t] += x
                    evj[t] += j * x
        for t in range(P):
            events_out[d, a, w, k, t] = ev[t]
            engaged_out[d, a, w, k, t] = en[t]
            if keep_evj:
                evj_out[d, a, w, k, t] = evj[t]
