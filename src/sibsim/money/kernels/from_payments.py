"""What the break-even search reads of one effect, in one pass over the draws, draw by draw,
with each draw's state in scalars and rows of a few numbers (no (draws x periods) array in
between): from the contract's payments on (the payers' split and caps, the one-tranche
waterfall, the commissioner's net savings and the search's totals), and, with its front on,
from the treated arm's events (the evaluation, the cancellation's columns and the ledger)
or from the rates at the effect (the expected events too).

It goes over the draws in blocks, each step over a block's draws innermost (the compiler then
runs several draws at once in vector registers), and does, for each draw, the floating-point
operations of the kernels it stands for, in their order, so its results are the same to the
last bit:

* :func:`sibsim.engine.kernels.rates.rates_at_effect` with the checks of
  :func:`sibsim.engine.ranges.check_expected_counts`, and
  :func:`sibsim.engine.kernels.trace.counts_trace` of the treated arm, times the noise ratio
  (:class:`TraceTerms`);
* :func:`sibsim.money.kernels.chain.strata_window_sums` and
  :func:`~sibsim.money.kernels.chain.measure_trigger` (:func:`sibsim.money.evaluation.evaluate`),
  :func:`~sibsim.money.kernels.chain.pick_measured` (the cancellation's table) and
  :func:`~sibsim.money.kernels.chain.book_trigger` (the ledger) (:class:`FrontTerms`);
* :func:`sibsim.money.kernels.chain.split_capped` (or, without caps, the contract's total,
  as :func:`sibsim.money.payers.split_by_payer` gives it);
* :func:`sibsim.money.kernels.waterfall._one_tranche_draws` without a stop-loss;
* :func:`sibsim.money.kernels.chain.breakeven_tail` (the net savings and
  :func:`~sibsim.money.kernels.chain.breakeven_totals`).

A draw whose values those steps would refuse or warn about ends the pass with a status
(:data:`NOT_MEASURED`, :data:`NOT_TRACED`, :data:`OUT_OF_RANGE`): the caller then takes the
steps themselves, with their errors and warnings. ``tests/test_breakeven_from_payments.py``
compares the kernel with those kernels and with the money chain.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from numpy.typing import NDArray

from sibsim.money.kernels.chain import (
    PriceTerms,
    TriggerTerms,
    _np_maximum,
    _np_minimum,
    cap_one,
    due_one,
    measure_one,
    npv_factors,
)
from sibsim.money.kernels.waterfall import ExcessTo, FeeArrays, TrancheArrays, tranche_period

__all__ = [
    "BLOCK",
    "NOT_FINITE",
    "NOT_MEASURED",
    "NOT_TRACED",
    "OK",
    "OUT_OF_RANGE",
    "FrontTerms",
    "PayerTerms",
    "SavingsArrays",
    "SearchTotals",
    "TraceTerms",
    "breakeven_from_payments",
    "front_off",
    "trace_off",
]

FloatArray = NDArray[np.float64]

#: What :func:`breakeven_from_payments` returns: every output written; the investors' flows
#: are not all finite; costs or payments out of the waterfall's range (finite and >= 0: the
#: general chain then raises its own error); a measured value not finite (the evaluation's
#: numpy path then measures it, with its warnings). Outputs are not all written in the last
#: two cases.
OK, NOT_FINITE, OUT_OF_RANGE, NOT_MEASURED = 0, 1, 2, 3
#: The expected events' rates are not finite or too large, or their counts may be (the
#: engine's checks then decide, and name the value).
NOT_TRACED = 4

_PROVIDER = int(ExcessTo.PROVIDER)


class TraceTerms(NamedTuple):
    """The treated arm's expected event counts of one effect, draw by draw, as the break-even
    search's expected engine makes them for a count outcome
    (:func:`~sibsim.engine.kernels.rates.rates_at_effect`, its checks and
    :func:`~sibsim.engine.kernels.trace.counts_trace`), times each cell's noise ratio. The
    arrays of the draws have them last."""

    on: bool  #: make the events here (else read ``savings.events``)
    r0: FloatArray  #: (K, C, D) the rates without the effect
    eff: FloatArray  #: (K', C) the effect of each column at this effect (K' = 1 or K)
    multiplicative: bool  #: a rate or hazard ratio (else an absolute change)
    max_rate: float  #: the largest rate allowed
    people: FloatArray  #: (K,) the largest group of each stratum (every arm and wave)
    bound: float  #: the dispersion factor's bound (check_expected_counts)
    max_count: float  #: the largest expected count per group and period allowed
    sizes: FloatArray  #: (W, K) the treated arm's people
    entry: NDArray[np.int64]  #: (W,) each wave's entry period
    tidx: NDArray[np.int64]  #: (W, P) each period's table column
    engage: FloatArray  #: (D,) share engaging at entry
    dropout: FloatArray  #: (K, D) per-period drop-out
    uptake: FloatArray  #: (K, D) newcomers' uptake
    uptake_end: NDArray[np.int64]  #: (W, K) the end of each wave's service
    ratio: FloatArray  #: (W, K, P, D) each treated cell's noise ratio


class FrontTerms(NamedTuple):
    """The evaluation, the cancellation of later cohorts and the contract's ledger of a deal
    with one evaluation of whole windows and price-per-unit terms on its one metric, as arrays
    (``analysis.breakeven._Front``): what makes the contract's payments from the treated arm's
    events, draw by draw. N columns: the evaluation table's triggers after the cancellation
    (:func:`~sibsim.money.cancellation.apply_cancellation`), in table order."""

    on: bool  #: make the payments here (else read them: ``by_metric``, ``pay_total``)
    strata: NDArray[np.int64]  #: (S',) the strata the evaluation measures
    mask: FloatArray  #: (W, P) each wave's window (1.0 in it)
    member: NDArray[np.bool_]  #: (N, W) the waves each column measures
    c_rate: FloatArray  #: (N, D) each column's counterfactual rate
    c_var: FloatArray  #: (N, D) and its variance
    nt: FloatArray  #: (N,) treated participants measured
    nt2: FloatArray  #: (N,) their square (as Python computes ``nt ** 2``)
    trigger: TriggerTerms  #: the evaluation's scalars (its participants not read)
    #: (N,) measured where the cancellation did not happen (0), where it did (1), always (2)
    when: NDArray[np.int64]
    happened: NDArray[np.bool_]  #: (D,) the cancellation happened
    known: NDArray[np.bool_]  #: (N,) the result is known before the contract ends
    order: NDArray[np.int64]  #: (N,) the ledger's order of the columns (by period, stable)
    price: FloatArray  #: (N,) each column's pricing rule (PriceTerms' fields)
    has_ceiling: NDArray[np.bool_]  #: (N,)
    ceiling: FloatArray  #: (N,)
    has_threshold: NDArray[np.bool_]  #: (N,)
    threshold: FloatArray  #: (N,)
    per_person: FloatArray  #: (N,) per-person cap x participants (currency; inf: none)
    cumulative: NDArray[np.bool_]  #: (N,) a pooled top-up
    pay_period: NDArray[np.int64]  #: (N,) payment period (-1: after the horizon, dropped)
    period_cap: FloatArray  #: (N,) the payment period's cap (inf: none)
    metric_cap: float  #: the metric's cap (inf: none)
    total_cap: float  #: the contract's total cap (inf: none)
    trace: TraceTerms  #: the treated events made here (with the front on) or read


class PayerTerms(NamedTuple):
    """The payers' shares of the contract's one metric and their caps
    (:func:`sibsim.money.payers.split_by_payer` without presence, waves or appropriations)."""

    shares: FloatArray  #: (Y,) each payer's share of the metric
    #: each payer's due is the contract's total (one payer paying everything) instead of
    #: ``0.0 + share x payment``
    from_total: bool
    capped: NDArray[np.int64]  #: (C,) the payers with caps (C = 0: none; the total is paid)
    per_period: FloatArray  #: (C, P) their caps per period (currency; inf: none)
    cap_total: FloatArray  #: (C,) their caps over the contract (currency; inf: none)


class SavingsArrays(NamedTuple):
    """What the commissioner's net savings are made of
    (:func:`~sibsim.money.kernels.chain.breakeven_tail`)."""

    events: FloatArray  #: (D, W, S, P) the treated arm's events
    started: NDArray[np.bool_]  #: (W, D) the cohorts started (read when ``mask``)
    mask: bool  #: some cohorts did not start
    cf_sum: FloatArray  #: (P, D) the counterfactual's events, summed as ``events``
    rate: FloatArray  #: (Y, D) each payer's saving per avoided event (currency)
    other: FloatArray  #: (P,) the payers' own costs summed (currency)


class SearchTotals(NamedTuple):
    """The outputs (:func:`~sibsim.money.kernels.chain.breakeven_totals`'), per draw."""

    npv: FloatArray  #: (R, D) the investors' NPV at each rate
    invested: FloatArray  #: (D,) capital drawn
    received: FloatArray  #: (D,) capital received back
    commissioner_pv: FloatArray  #: (D,) the net savings' present value
    net_total: FloatArray  #: (D,) the net savings summed
    commissioner_scale: FloatArray  #: (D,) |net| and |paid| summed over periods


#: Draws per block: each step runs over a block's draws innermost, in rows of this many
#: numbers (about 0.4 MB of rows in all on Peterborough: they stay in the core's cache).
BLOCK = 256


class _Rows(NamedTuple):
    """The rows of one block of draws (B = :data:`BLOCK` lanes, the draws innermost), made
    once per call of :func:`breakeven_from_payments` and reused by every block."""

    r1: FloatArray  #: (K, C, B) the rates with the effect
    hi: FloatArray  #: (B,) the largest rate of a stratum
    n1: FloatArray  #: (B,) a group's engaged people
    started: FloatArray  #: (B,) a cohort started (1.0) or not
    events: FloatArray  #: (W, S, P, B) the treated events
    summed: FloatArray  #: (P, B) the treated events of the started cohorts, summed
    sums: FloatArray  #: (W, B) each wave's units over its window
    units: FloatArray  #: (P, B) one wave's units summed over the strata
    rel: FloatArray  #: (N, B) each column's measured effect (kept where measured)
    n_units: FloatArray  #: (N, B) and its units
    gate: NDArray[np.bool_]  #: (N, B) and its gate
    paid_in: FloatArray  #: (P, B) the ledger's paid in each period
    committed: FloatArray  #: (2, B) what the metric and the contract committed
    metric: FloatArray  #: (P, B) the contract's payments on its one metric
    total: FloatArray  #: (P, B) and its total
    due_by: FloatArray  #: (Y, B) each payer's due in a period
    paid_by: FloatArray  #: (Y, B) and paid
    room: FloatArray  #: (C', B) each capped payer's room under its total cap
    state: FloatArray  #: (6, B) the payers' shortfall and total paid, the tranche's claim,
    #: drawn and received, and the commissioner's flow, in a period
    cash: FloatArray  #: (B,) the cashable savings in a period
    own: FloatArray  #: (P, B) the tranche's flows
    drawn: FloatArray  #: (P, B) the tranche's drawdowns
    both: FloatArray  #: (P, B) the two summed (capital received back)
    net: FloatArray  #: (P, B) the commissioner's net savings
    paid: FloatArray  #: (P, B) the payers' total paid
    acc: FloatArray  #: (8, B) the pairwise sums' eight partial sums
    res: FloatArray  #: (B,) a sum
    ones: FloatArray  #: (P,) 1.0 (the weights of a plain sum)


@numba.njit(cache=True, nogil=True)
def _rows(n_strata: int, n_cols_r: int, n_waves: int, n_periods: int, n_cols: int,
          n_payers: int, n_capped: int) -> _Rows:
    f = np.empty
    return _Rows(f((n_strata, n_cols_r, BLOCK)), f(BLOCK), f(BLOCK), f(BLOCK),
                 f((n_waves, n_strata, n_periods, BLOCK)), f((n_periods, BLOCK)),
                 f((n_waves, BLOCK)), f((n_periods, BLOCK)), f((n_cols, BLOCK)),
                 f((n_cols, BLOCK)), f((n_cols, BLOCK), np.bool_), f((n_periods, BLOCK)),
                 f((2, BLOCK)), f((n_periods, BLOCK)), f((n_periods, BLOCK)),
                 f((n_payers, BLOCK)), f((n_payers, BLOCK)), f((n_capped, BLOCK)),
                 f((6, BLOCK)), f(BLOCK), f((n_periods, BLOCK)), f((n_periods, BLOCK)),
                 f((n_periods, BLOCK)), f((n_periods, BLOCK)), f((n_periods, BLOCK)),
                 f((8, BLOCK)), f(BLOCK), np.ones(n_periods))



@numba.njit(cache=True, nogil=True)
def _lanes_sum(u: FloatArray, mask: FloatArray, nb: int, rows: _Rows) -> None:
    """``rows.res[b] = (u[:, b] * mask).sum()`` for the first ``nb`` lanes of ``u`` (P, B), in
    numpy's pairwise order (P <= 128: :func:`~sibsim.money.kernels.chain._masked_sum`, whose
    weights 1.0 give :func:`~sibsim.money.kernels.chain._row_sum`), the lanes innermost."""
    res, acc = rows.res, rows.acc
    n = u.shape[0]
    end = n - n % 8
    if n < 8:
        for b in range(nb):
            res[b] = -0.0
        for i in range(n):
            m = mask[i]
            for b in range(nb):
                res[b] += u[i, b] * m
    else:
        for j in range(8):
            m = mask[j]
            for b in range(nb):
                acc[j, b] = u[j, b] * m
        for i in range(8, end, 8):
            for j in range(8):
                m = mask[i + j]
                for b in range(nb):
                    acc[j, b] += u[i + j, b] * m
        for b in range(nb):
            res[b] = (((acc[0, b] + acc[1, b]) + (acc[2, b] + acc[3, b]))
                      + ((acc[4, b] + acc[5, b]) + (acc[6, b] + acc[7, b])))
        for i in range(end, n):
            m = mask[i]
            for b in range(nb):
                res[b] += u[i, b] * m
    for b in range(nb):
        res[b] = 0.0 + res[b]


@numba.njit(cache=True, nogil=True)
def _traced(trace: TraceTerms, savings: SavingsArrays, d0: int, nb: int, rows: _Rows) -> bool:
    """The treated events of draws ``d0 : d0 + nb`` from the rates at the effect
    (:func:`~sibsim.engine.kernels.rates.rates_at_effect` and the checks of
    :func:`~sibsim.engine.ranges.check_expected_counts`, then
    :func:`~sibsim.engine.kernels.trace.counts_trace` times the noise ratio) into
    ``rows.events``, and their sum over the started cohorts into ``rows.summed``. Returns
    False where a rate or count is one the engine must judge."""
    r0, eff, tidx, ratio = trace.r0, trace.eff, trace.tidx, trace.ratio
    sizes, entry, engage = trace.sizes, trace.entry, trace.engage
    dropout, uptake, uptake_end = trace.dropout, trace.uptake, trace.uptake_end
    people, multiplicative = trace.people, trace.multiplicative
    max_rate, bound, max_count = trace.max_rate, trace.bound, trace.max_count
    r1, hi, n1, f = rows.r1, rows.hi, rows.n1, rows.started
    events, summed = rows.events, rows.summed
    started, mask = savings.started, savings.mask
    n_waves, n_strata, n_periods = events.shape[0], events.shape[1], events.shape[2]
    one_eff = eff.shape[0] == 1
    bad = 0
    for k in range(n_strata):
        ke = 0 if one_eff else k
        for b in range(nb):
            hi[b] = -np.inf
        for c in range(r0.shape[1]):
            e = eff[ke, c]
            for b in range(nb):
                r = r0[k, c, d0 + b]
                if multiplicative:
                    y = r * e if r > 0.0 else 0.0
                else:
                    y = r + e
                    y = 0.0 if 0.0 >= y else y
                ok = np.isfinite(r) & np.isfinite(y) & (r <= max_rate) & (y <= max_rate)
                bad += 0 if ok else 1
                h = hi[b]
                h = r if r > h else h
                hi[b] = y if y > h else h
                r1[k, c, b] = y
        for b in range(nb):
            bad += 0 if people[k] * hi[b] * bound <= max_count else 1
    if bad > 0:
        return False
    for t in range(n_periods):
        for b in range(nb):
            summed[t, b] = 0.0
    for w in range(n_waves):
        e_w = entry[w]
        for b in range(nb):
            f[b] = (1.0 if started[w, d0 + b] else 0.0) if mask else 1.0
        for k in range(n_strata):
            n = sizes[w, k]
            for b in range(nb):
                n1[b] = n * engage[d0 + b]
            for t in range(n_periods):
                if t >= e_w:
                    c = tidx[w, t]
                    if t > e_w:
                        more = t < uptake_end[w, k]
                        for b in range(nb):
                            m = n1[b] * (1.0 - dropout[k, d0 + b])
                            up = uptake[k, d0 + b]
                            if up > 0.0 and more:
                                m += up * n
                            n1[b] = m
                    for b in range(nb):
                        m = n1[b]
                        events[w, k, t, b] = ((n - m) * r0[k, c, d0 + b] + m * r1[k, c, b]
                                              ) * ratio[w, k, t, d0 + b]
                else:
                    for b in range(nb):
                        events[w, k, t, b] = 0.0 * ratio[w, k, t, d0 + b]
                if mask:
                    for b in range(nb):
                        summed[t, b] += events[w, k, t, b] * f[b]
                else:
                    for b in range(nb):
                        summed[t, b] += events[w, k, t, b]
    return True


@numba.njit(cache=True, nogil=True)
def _read_events(savings: SavingsArrays, d0: int, nb: int, rows: _Rows) -> None:
    """:func:`_traced`'s rows from the treated events read (``savings.events``)."""
    x, started, mask = savings.events, savings.started, savings.mask
    events, summed = rows.events, rows.summed
    n_waves, n_strata, n_periods = events.shape[0], events.shape[1], events.shape[2]
    for t in range(n_periods):
        for b in range(nb):
            summed[t, b] = 0.0
    for w in range(n_waves):
        for k in range(n_strata):
            for t in range(n_periods):
                for b in range(nb):
                    v = x[d0 + b, w, k, t]
                    events[w, k, t, b] = v
                    summed[t, b] += v * (1.0 if started[w, d0 + b] else 0.0) if mask else v


@numba.njit(cache=True, nogil=True)
def _paid_by_contract(front: FrontTerms, d0: int, nb: int, rows: _Rows) -> bool:
    """The contract's payments of draws ``d0 : d0 + nb`` from their treated events
    (``rows.events``) into ``rows.metric`` and ``rows.total``: the evaluation of whole
    windows (:func:`~sibsim.money.kernels.chain.measure_one`), the cancellation's columns and
    the ledger (:func:`~sibsim.money.kernels.chain.due_one`,
    :func:`~sibsim.money.kernels.chain.cap_one`). Returns False where a measured value is not
    finite."""
    strata, window, member = front.strata, front.mask, front.member
    events, sums, units = rows.events, rows.sums, rows.units
    rel_of, units_of, gate_of = rows.rel, rows.n_units, rows.gate
    paid_in, committed, metric, total = rows.paid_in, rows.committed, rows.metric, rows.total
    res = rows.res
    n_waves, n_periods = events.shape[0], events.shape[2]
    for w in range(n_waves):  # each wave's units over its window
        if strata.shape[0] == 1:
            _lanes_sum(events[w, strata[0]], window[w], nb, rows)
        else:
            for t in range(n_periods):
                for b in range(nb):
                    units[t, b] = 0.0
            for k in range(strata.shape[0]):
                for t in range(n_periods):
                    for b in range(nb):
                        units[t, b] += events[w, strata[k], t, b]
            _lanes_sum(units, window[w], nb, rows)
        for b in range(nb):
            sums[w, b] = res[b]
    bad = 0
    for i in range(front.nt.shape[0]):  # every column measured, then kept where measured
        for b in range(nb):
            res[b] = -0.0
        for w in range(n_waves):
            if member[i, w]:
                for b in range(nb):
                    res[b] += sums[w, b]
        terms = TriggerTerms(front.nt[i], front.nt2[i], *front.trigger[2:])
        when, known = front.when[i], front.known[i]
        for b in range(nb):
            d = d0 + b
            cr = front.c_rate[i, d]
            # treated[:, waves].sum(1): fewer than 8 waves
            ok, rel, n_units, _, passed = measure_one(0.0 + res[b], cr, front.c_var[i, d], cr,
                                                      terms)
            bad += 0 if ok else 1
            h = front.happened[d]
            keep = when == 2 or (h if when == 1 else not h)
            rel_of[i, b] = rel if keep else 0.0
            units_of[i, b] = n_units if keep else 0.0
            gate_of[i, b] = (passed and known) if keep else False
    if bad > 0:
        return False
    for t in range(n_periods):
        for b in range(nb):
            metric[t, b] = 0.0
            paid_in[t, b] = 0.0
    for b in range(nb):
        committed[0, b] = 0.0
        committed[1, b] = 0.0
    for j in range(front.nt.shape[0]):  # the ledger, in its order of the columns
        i = front.order[j]
        rule = PriceTerms(front.price[i], front.has_ceiling[i], front.ceiling[i],
                          front.has_threshold[i], front.threshold[i])
        per_person, cumulative = front.per_person[i], front.cumulative[i]
        q = front.pay_period[i]
        if q >= 0:
            period_cap = front.period_cap[i]
            for b in range(nb):
                due = due_one(rel_of[i, b], units_of[i, b], gate_of[i, b], rule, per_person,
                              cumulative, committed[0, b])
                v = cap_one(due, front.metric_cap, committed[0, b], front.total_cap,
                            committed[1, b], period_cap, paid_in[q, b])
                paid_in[q, b] += v
                metric[q, b] += v
                committed[0, b] += v
                committed[1, b] += v
        else:  # paid after the horizon: dropped, but committed
            for b in range(nb):
                due = due_one(rel_of[i, b], units_of[i, b], gate_of[i, b], rule, per_person,
                              cumulative, committed[0, b])
                v = cap_one(due, front.metric_cap, committed[0, b], front.total_cap,
                            committed[1, b], np.inf, 0.0)
                committed[0, b] += v
                committed[1, b] += v
    for t in range(n_periods):
        for b in range(nb):
            total[t, b] = 0.0 + metric[t, b]  # sum_axis1 over the one metric
    return True


@numba.njit(cache=True, nogil=True)
def _read_payments(by_metric: FloatArray, pay_total: FloatArray, d0: int, nb: int,
                   rows: _Rows) -> None:
    """:func:`_paid_by_contract`'s rows read from the contract's payments."""
    metric, total = rows.metric, rows.total
    for t in range(metric.shape[0]):
        for b in range(nb):
            metric[t, b] = by_metric[d0 + b, 0, t]
            total[t, b] = pay_total[d0 + b, t]


@numba.njit(cache=True, nogil=True)
def _paid_on(payers: PayerTerms, costs: FloatArray, stop: NDArray[np.int64], tr: TrancheArrays,
             fees: FeeArrays, excess_to: int, savings: SavingsArrays, d0: int, nb: int,
             rows: _Rows) -> bool:
    """Period by period, for draws ``d0 : d0 + nb``: the payers' total paid after their caps
    (:func:`~sibsim.money.kernels.chain.split_capped`), the tranche's flows and drawdowns
    (:func:`~sibsim.money.kernels.waterfall.tranche_period`) and the commissioner's net
    savings, into ``rows``. Returns False where a cost or the payers' total is not finite
    and >= 0."""
    shares, from_total, capped = payers.shares, payers.from_total, payers.capped
    per_period, cap_total = payers.per_period, payers.cap_total
    n_payers, n_capped = shares.shape[0], capped.shape[0]
    share, growth, cap = tr.share[0], tr.growth[0], tr.cap[0]
    repaid, excess_share = tr.repaid[0], tr.excess_share[0]
    is_capped = cap < np.inf
    total_commit, fixed, mgmt_rate = tr.total_commit, fees.fixed, fees.mgmt_rate
    cf_sum, rate, other = savings.cf_sum, savings.rate, savings.other
    metric, total, summed = rows.metric, rows.total, rows.summed
    due_by, paid_by, room = rows.due_by, rows.paid_by, rows.room
    short, total_paid, claim = rows.state[0], rows.state[1], rows.state[2]
    drawn, got, commissioner_flow = rows.state[3], rows.state[4], rows.state[5]
    cash, own, drawn_by, both = rows.cash, rows.own, rows.drawn, rows.both
    net, paid = rows.net, rows.paid
    for c in range(n_capped):
        for b in range(nb):
            room[c, b] = cap_total[c]
    for b in range(nb):
        drawn[b] = 0.0
        claim[b] = 0.0
        got[b] = 0.0
    bad = 0
    for t in range(metric.shape[0]):
        # the payers' split and caps (split_capped), or the contract's total
        if n_capped == 0:
            for b in range(nb):
                total_paid[b] = total[t, b]
        else:
            for y in range(n_payers):
                s = shares[y]
                for b in range(nb):
                    v = total[t, b] if from_total else 0.0 + s * metric[t, b]
                    due_by[y, b] = v
                    paid_by[y, b] = v
            for c in range(n_capped):
                y = capped[c]
                limit = per_period[c, t]
                for b in range(nb):
                    v = _np_minimum(_np_minimum(due_by[y, b], limit),
                                    _np_maximum(room[c, b], 0.0))
                    paid_by[y, b] = v
                    room[c, b] = room[c, b] - v
            for b in range(nb):
                short[b] = 0.0
            for y in range(n_payers):
                for b in range(nb):
                    short[b] += due_by[y, b] - paid_by[y, b]
            for b in range(nb):
                contract = total[t, b]
                s = short[b]
                total_paid[b] = _np_maximum(contract - s, 0.0) if s > 0.0 else contract
        # the waterfall of one tranche (_one_tranche_draws, no stop-loss)
        fixed_t = fixed[t]
        for b in range(nb):
            d = d0 + b
            incoming = total_paid[b]
            cost_in = costs[t, d]
            ok = ((incoming >= 0.0) & (incoming < np.inf) & (cost_in >= 0.0)
                  & (cost_in < np.inf))
            bad += 0 if ok else 1
            paid[t, b] = incoming
            claim_b, drawn_b, got_b, _, _, _, v, tranche_flow, excess = tranche_period(
                claim[b], drawn[b], got[b], t < stop[d], cost_in, fixed_t, mgmt_rate,
                total_commit, share, growth, repaid, cap, is_capped, excess_share, excess_to,
                incoming)
            claim[b] = claim_b
            drawn[b] = drawn_b
            got[b] = got_b
            own[t, b] = tranche_flow
            drawn_by[t, b] = v  # drawdown_total x share, the tranche's drawdown
            both[t, b] = tranche_flow + v
            commissioner_flow[b] = -incoming + (excess if excess_to != _PROVIDER else 0.0)
            cash[b] = 0.0
        # the net savings (breakeven_tail): events avoided, cashable savings, net
        for y in range(rate.shape[0]):
            for b in range(nb):
                cash[b] += (cf_sum[t, d0 + b] - summed[t, b]) * rate[y, d0 + b]
        other_t = other[t]
        for b in range(nb):
            net[t, b] = (cash[b] + commissioner_flow[b]) - other_t
    return bad == 0


@numba.njit(cache=True, nogil=True)
def _totals(disc: FloatArray, rates: FloatArray, inverse: FloatArray, d0: int, nb: int,
            rows: _Rows, out: SearchTotals) -> bool:
    """The search's totals of draws ``d0 : d0 + nb`` from ``rows`` into ``out``
    (:func:`~sibsim.money.kernels.chain.breakeven_totals`: the investors' NPVs, Horner's sum
    in ``inverse`` = ``1 / (1 + rate)``, and the sums over periods in numpy's pairwise order).
    Returns whether the investors' flows are all finite."""
    own, drawn, both, net, paid = rows.own, rows.drawn, rows.both, rows.net, rows.paid
    res, ones, npv = rows.res, rows.ones, out.npv
    n_periods = own.shape[0]
    bad = 0
    for t in range(n_periods):  # the investors' flows: 0.0 plus their one tranche's
        for b in range(nb):
            bad += 0 if np.isfinite(0.0 + own[t, b]) else 1
    for i in range(rates.shape[0]):
        if np.isnan(rates[i]):
            for b in range(nb):
                npv[i, d0 + b] = np.nan
            continue
        y = inverse[i]
        for b in range(nb):
            res[b] = 0.0
        for t in range(n_periods - 1, -1, -1):
            for b in range(nb):
                res[b] = res[b] * y + (0.0 + own[t, b])
        for b in range(nb):
            npv[i, d0 + b] = res[b]
    _lanes_sum(drawn, ones, nb, rows)
    for b in range(nb):
        out.invested[d0 + b] = res[b]
    _lanes_sum(both, ones, nb, rows)
    for b in range(nb):
        out.received[d0 + b] = res[b]
    _lanes_sum(net, ones, nb, rows)
    for b in range(nb):
        out.net_total[d0 + b] = res[b]
    for b in range(nb):
        res[b] = net[0, b] * disc[0]
    for t in range(1, n_periods):
        disc_t = disc[t]
        for b in range(nb):
            res[b] = res[b] + net[t, b] * disc_t
    for b in range(nb):
        out.commissioner_pv[d0 + b] = res[b]
    for b in range(nb):
        res[b] = 0.0
    for t in range(n_periods):
        for b in range(nb):
            res[b] += abs(net[t, b]) + abs(paid[t, b])
    for b in range(nb):
        out.commissioner_scale[d0 + b] = res[b]
    return bad == 0


@numba.njit(cache=True, nogil=True)
def breakeven_from_payments(front: FrontTerms, by_metric: FloatArray, pay_total: FloatArray,
                            payers: PayerTerms,
                            costs: FloatArray, stop: NDArray[np.int64], tr: TrancheArrays,
                            fees: FeeArrays, excess_to: int, savings: SavingsArrays,
                            disc: FloatArray, rates: FloatArray, out: SearchTotals) -> int:
    """The search's totals of one effect from the contract's payments, draw by draw.

    ``front``: with ``front.on``, the contract's payments are made here from the treated
    events, as :func:`~sibsim.money.evaluation.evaluate` (the kernel path of
    :func:`~sibsim.money.kernels.chain.measure_trigger`), the cancellation's
    :func:`~sibsim.money.kernels.chain.pick_measured` and the ledger's
    :func:`~sibsim.money.kernels.chain.book_trigger` make them (:data:`NOT_MEASURED` where a
    measured value is not finite), and the treated events are made here too where
    ``front.trace.on`` (else read from ``savings.events``); without ``front.on``
    (:func:`front_off`) the payments are read from ``by_metric`` (D, 1, P) and ``pay_total``
    (D, P) (currency, :class:`~sibsim.money.results.PaymentResult`). ``payers``: their
    split; ``costs`` (P, D): the service costs incurred, ``stop`` (D,): the first period
    without service (:class:`~sibsim.money.termination.Lifecycle`); ``tr``, ``fees``,
    ``excess_to``: one tranche's waterfall (``CapitalStructure.lower``; no guarantee,
    recycling, claim-tied share or stop-loss); ``savings``: the net savings' parts; ``disc``
    (P,): the commissioner's discount factors; ``rates`` (R,): the investors' per-period
    discount rates. P <= 128 (numpy's pairwise sums of up to one block). Writes ``out`` and
    returns :data:`OK`, :data:`NOT_FINITE` (investors' flows not all finite; every output
    written), or :data:`NOT_TRACED`, :data:`NOT_MEASURED` or :data:`OUT_OF_RANGE` (a cost or
    the payers' total not finite and >= 0), with the outputs not all written.

    Per draw and period: the payers' total paid (after their caps), the waterfall's tranche and
    commissioner flows and drawdown, the events avoided, the cashable savings and the net
    savings; then the investors' NPVs and the sums over periods. The draws go in blocks of
    :data:`BLOCK`, each step over a block's draws innermost, so the compiler can run several
    draws at once in vector registers (the per-draw arrays have the draws last for it:
    ``costs``, ``savings.started`` and ``cf_sum``, the trace's arrays). Each draw's operations
    are those of the kernels it stands for, in their order: the same numbers to the last bit.
    """
    n_periods, n_draws = costs.shape
    trace = front.trace
    traced = front.on and trace.on
    events = savings.events
    rows = _rows(events.shape[2], trace.r0.shape[1] if traced else 0, events.shape[1],
                 n_periods, front.nt.shape[0] if front.on else 0, payers.shares.shape[0],
                 payers.capped.shape[0])
    inverse = npv_factors(rates)
    finite = True
    for d0 in range(0, n_draws, BLOCK):
        nb = min(BLOCK, n_draws - d0)
        if traced:
            if not _traced(trace, savings, d0, nb, rows):
                return NOT_TRACED
        else:
            _read_events(savings, d0, nb, rows)
        if front.on:
            if not _paid_by_contract(front, d0, nb, rows):
                return NOT_MEASURED
        else:
            _read_payments(by_metric, pay_total, d0, nb, rows)
        if not _paid_on(payers, costs, stop, tr, fees, excess_to, savings, d0, nb, rows):
            return OUT_OF_RANGE
        finite = _totals(disc, rates, inverse, d0, nb, rows, out) and finite
    return OK if finite else NOT_FINITE


def front_off() -> FrontTerms:
    """A :class:`FrontTerms` that is off: the payments are read (empty arrays of the types the
    kernel is compiled for)."""
    f, i, b = np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.bool_)
    f2, b2 = np.zeros((0, 0)), np.zeros((0, 0), np.bool_)
    trigger = TriggerTerms(1.0, 1.0, True, False, 0.0, False, 1.0, False, False, 1.0, 1.0, 0.0)
    return FrontTerms(False, i, f2, b2, f2, f2, f, f, trigger, i, b, b, i, f, b, f, b, f, f, b,
                      i, f, np.inf, np.inf, trace_off())


def trace_off() -> TraceTerms:
    """A :class:`TraceTerms` that is off: the treated events are read."""
    f, i = np.zeros(0), np.zeros(0, np.int64)
    f2, i2 = np.zeros((0, 0)), np.zeros((0, 0), np.int64)
    return TraceTerms(False, np.zeros((0, 0, 0)), f2, True, np.inf, f, 1.0, np.inf, f2, i, i2, f,
                      f2, f2, i2, np.zeros((0, 0, 0, 0)))
