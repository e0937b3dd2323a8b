"""What the break-even search reads of one effect, in one pass over the draws, draw by draw,
with each draw's state in scalars and rows of a few numbers (no (draws x periods) array in
between): from the contract's payments on (the payers' split and caps, the one-tranche
waterfall, the commissioner's net savings and the search's totals), and, with its front on,
from the treated arm's events (the evaluation, the cancellation's columns and the ledger)
or from the rates at the effect (the expected events too).

It does, for each draw, the floating-point operations of the kernels it stands for, in their
order, so its results are the same to the last bit:

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
    _masked_sum,
    _masked_sum_scalar,
    _np_maximum,
    _np_minimum,
    _row_sum,
    _row_sum_of_sums,
    cap_one,
    due_one,
    investor_npvs,
    measure_one,
    npv_factors,
)
from sibsim.money.kernels.waterfall import ExcessTo, FeeArrays, TrancheArrays, tranche_period

__all__ = [
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

_INVESTORS = int(ExcessTo.INVESTORS)
_PROVIDER = int(ExcessTo.PROVIDER)


class TraceTerms(NamedTuple):
    """The treated arm's expected event counts of one effect, draw by draw, as the break-even
    search's expected engine makes them for a count outcome
    (:func:`~sibsim.engine.kernels.rates.rates_at_effect`, its checks and
    :func:`~sibsim.engine.kernels.trace.counts_trace`), times each cell's noise ratio."""

    on: bool  #: make the events here (else read ``savings.events``)
    r0: FloatArray  #: (D, K, C) the rates without the effect
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
    dropout: FloatArray  #: (D, K) per-period drop-out
    uptake: FloatArray  #: (D, K) newcomers' uptake
    uptake_end: NDArray[np.int64]  #: (W, K) the end of each wave's service
    ratio: FloatArray  #: (D, W, K, P) each treated cell's noise ratio


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
    started: NDArray[np.bool_]  #: (D, W) the cohorts started (read when ``mask``)
    mask: bool  #: some cohorts did not start
    cf_sum: FloatArray  #: (D, P) the counterfactual's events, summed as ``events``
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


@numba.njit(cache=True, nogil=True)
def breakeven_from_payments(front: FrontTerms, by_metric: FloatArray, pay_total: FloatArray,
                            payers: PayerTerms,
                            costs: FloatArray, stop: NDArray[np.int64], tr: TrancheArrays,
                            fees: FeeArrays, excess_to: int, savings: SavingsArrays,
                            disc: FloatArray, rates: FloatArray, out: SearchTotals) -> int:
    """The search's totals of one effect from the contract's payments, draw by draw.

    ``front``: with ``front.on``, the contract's payments are made here from the treated
    events (``savings.events``), as :func:`~sibsim.money.evaluation.evaluate` (the kernel path
    of :func:`~sibsim.money.kernels.chain.measure_trigger`), the cancellation's
    :func:`~sibsim.money.kernels.chain.pick_measured` and the ledger's
    :func:`~sibsim.money.kernels.chain.book_trigger` make them (:data:`NOT_MEASURED` where a
    measured value is not finite); else (:func:`front_off`) they are read from ``by_metric``
    (D, 1, P) and ``pay_total`` (D, P) (currency,
    :class:`~sibsim.money.results.PaymentResult`). ``payers``: their split; ``costs`` (D, P):
    the service costs incurred, ``stop`` (D,): the first period without service
    (:class:`~sibsim.money.termination.Lifecycle`); ``tr``, ``fees``, ``excess_to``: one
    tranche's waterfall (``CapitalStructure.lower``; no guarantee, recycling, claim-tied share
    or stop-loss); ``savings``: the net savings' parts; ``disc`` (P,): the commissioner's
    discount factors; ``rates`` (R,): the investors' per-period discount rates. Writes ``out``
    and returns :data:`OK`, :data:`NOT_FINITE` (investors' flows not all finite; every output
    written) or :data:`OUT_OF_RANGE` (a cost or the payers' total not finite and >= 0; the
    outputs are not all written).

    Per draw and period: the payers' total paid (after their caps), the waterfall's tranche and
    commissioner flows and drawdown, the events avoided, the cashable savings and the net
    savings; then the investors' NPVs (Horner's sum in ``1 / (1 + rate)``) and the sums over
    periods in numpy's pairwise order, as :func:`~sibsim.money.kernels.chain.breakeven_totals`.
    """
    n_draws, n_periods = costs.shape
    shares, from_total, capped = payers.shares, payers.from_total, payers.capped
    per_period, cap_total = payers.per_period, payers.cap_total
    n_payers, n_capped = shares.shape[0], capped.shape[0]
    share, growth, cap = tr.share[0], tr.growth[0], tr.cap[0]
    repaid, excess_share = tr.repaid[0], tr.excess_share[0]
    is_capped = cap < np.inf
    total_commit, fixed, mgmt_rate = tr.total_commit, fees.fixed, fees.mgmt_rate
    x, started, mask = savings.events, savings.started, savings.mask
    cf_sum, rate, other = savings.cf_sum, savings.rate, savings.other
    n_waves, n_strata = x.shape[1], x.shape[2]
    n_savers = rate.shape[0]
    npv, invested, received = out.npv, out.invested, out.received
    commissioner_pv, net_total = out.commissioner_pv, out.net_total
    commissioner_scale = out.commissioner_scale
    inverse = npv_factors(rates)
    due_by = np.empty(n_payers)  # one period's rows and one draw's rows, made once
    paid_by = np.empty(n_payers)
    room_of = np.empty(n_capped)
    # one draw's rows, (1, P) for the pairwise sums of chain._row_sum
    own = np.empty((1, n_periods))  # the tranche's flows
    investors = np.empty(n_periods)  # the investors' flows (0.0 plus the tranche's)
    drawn_by = np.empty((1, n_periods))  # the tranche's drawdowns
    net = np.empty((1, n_periods))  # the commissioner's net savings
    paid = np.empty(n_periods)  # the payers' total paid
    metric_row = np.empty(n_periods)  # the draw's contract payments, by_metric[d, 0]
    total_row = np.empty(n_periods)  # and pay_total[d]
    # the front: the evaluation, the cancellation and the ledger
    on, strata, window, member = front.on, front.strata, front.mask, front.member
    n_cols = front.nt.shape[0] if on else 0
    sums = np.empty(n_waves)  # each wave's units over its window
    units_row = np.empty(n_periods)  # one wave's units summed over the strata
    rel_of = np.empty(n_cols)
    units_of = np.empty(n_cols)
    gate_of = np.empty(n_cols, np.bool_)
    paid_in = np.empty(n_periods)  # the ledger's paid in each period
    # the draw's treated events: made (the trace on) or read
    tr_on = on and front.trace.on
    trace = front.trace
    r0, eff, tidx, ratio = trace.r0, trace.eff, trace.tidx, trace.ratio
    sizes, entry, engage = trace.sizes, trace.entry, trace.engage
    dropout, uptake, uptake_end = trace.dropout, trace.uptake, trace.uptake_end
    people, multiplicative = trace.people, trace.multiplicative
    one_eff = eff.shape[0] == 1
    n_cols_r = r0.shape[2] if tr_on else 0
    r1 = np.empty((n_strata, n_cols_r))  # the rates with the effect
    xd = np.empty((1, n_waves, n_strata, n_periods))
    # the treated events summed over waves and strata (of the started cohorts), each period's
    # terms added in (wave, stratum) order as sum_waves_strata does, as the events are made
    summed = np.empty(n_periods)
    finite = True
    for d in range(n_draws):
        for t in range(n_periods):
            summed[t] = 0.0
        if tr_on:  # rates_at_effect, its checks and counts_trace, times the noise ratio
            for k in range(n_strata):
                ke = 0 if one_eff else k
                hi = -np.inf
                for c in range(n_cols_r):
                    r = r0[d, k, c]
                    e = eff[ke, c]
                    if multiplicative:
                        y = r * e if r > 0.0 else 0.0
                    else:
                        y = r + e
                        y = 0.0 if 0.0 >= y else y
                    if not (np.isfinite(r) and np.isfinite(y) and r <= trace.max_rate
                            and y <= trace.max_rate):
                        return NOT_TRACED
                    hi = max(hi, r, y)
                    r1[k, c] = y
                if not people[k] * hi * trace.bound <= trace.max_count:
                    return NOT_TRACED
            for w in range(n_waves):
                e_w = entry[w]
                f = (1.0 if started[d, w] else 0.0) if mask else 1.0
                for k in range(n_strata):
                    n = sizes[w, k]
                    n1 = n * engage[d]
                    up = uptake[d, k]
                    for t in range(n_periods):
                        ev = 0.0
                        if t >= e_w:
                            if t > e_w:
                                n1 *= 1.0 - dropout[d, k]
                                if up > 0.0 and t < uptake_end[w, k]:
                                    n1 += up * n
                            c = tidx[w, t]
                            ev = (n - n1) * r0[d, k, c] + n1 * r1[k, c]
                        v = ev * ratio[d, w, k, t]
                        xd[0, w, k, t] = v
                        summed[t] += v * f if mask else v
        else:
            for w in range(n_waves):
                f = (1.0 if started[d, w] else 0.0) if mask else 1.0
                for k in range(n_strata):
                    for t in range(n_periods):
                        v = x[d, w, k, t]
                        xd[0, w, k, t] = v
                        summed[t] += v * f if mask else v
        if on:  # the contract's payments of the draw from its treated events
            for w in range(n_waves):
                if strata.shape[0] == 1:
                    sums[w] = _masked_sum_scalar(xd, 0, w, strata[0], window)
                else:
                    for t in range(n_periods):
                        units_row[t] = 0.0
                    for k in range(strata.shape[0]):
                        for t in range(n_periods):
                            units_row[t] += xd[0, w, strata[k], t]
                    sums[w] = _masked_sum(units_row, window[w])
            happened = front.happened[d]
            for i in range(n_cols):  # every column measured, then kept where measured
                acc = -0.0
                for w in range(n_waves):
                    if member[i, w]:
                        acc += sums[w]
                tu = 0.0 + acc  # treated[:, waves].sum(1): fewer than 8 waves
                ok, rel, n_units, _, passed = measure_one(
                    tu, front.c_rate[i, d], front.c_var[i, d], front.c_rate[i, d],
                    TriggerTerms(front.nt[i], front.nt2[i], *front.trigger[2:]))
                if not ok:
                    return NOT_MEASURED
                when = front.when[i]
                if when == 2 or (happened if when == 1 else not happened):
                    rel_of[i] = rel
                    units_of[i] = n_units
                    gate_of[i] = passed and front.known[i]
                else:
                    rel_of[i] = 0.0
                    units_of[i] = 0.0
                    gate_of[i] = False
            for t in range(n_periods):
                metric_row[t] = 0.0
                paid_in[t] = 0.0
            committed_metric = 0.0
            committed_total = 0.0
            for j in range(n_cols):
                i = front.order[j]
                due = due_one(rel_of[i], units_of[i], gate_of[i],
                              PriceTerms(front.price[i], front.has_ceiling[i], front.ceiling[i],
                                         front.has_threshold[i], front.threshold[i]),
                              front.per_person[i], front.cumulative[i], committed_metric)
                q = front.pay_period[i]
                v = cap_one(due, front.metric_cap, committed_metric, front.total_cap,
                            committed_total, front.period_cap[i] if q >= 0 else np.inf,
                            paid_in[q] if q >= 0 else 0.0)
                if q >= 0:
                    paid_in[q] += v
                    metric_row[q] += v
                committed_metric += v
                committed_total += v
            for t in range(n_periods):
                total_row[t] = 0.0 + metric_row[t]  # sum_axis1 over the one metric
        else:
            for t in range(n_periods):
                metric_row[t] = by_metric[d, 0, t]
                total_row[t] = pay_total[d, t]
        for c in range(n_capped):
            room_of[c] = cap_total[c]
        drawn = 0.0
        claim = 0.0
        got = 0.0
        stop_d = stop[d]
        for t in range(n_periods):
            # the payers' split and caps (split_capped), or the contract's total
            contract = total_row[t]
            if n_capped == 0:
                total_paid = contract
            else:
                for y in range(n_payers):
                    due_by[y] = contract if from_total else 0.0 + shares[y] * metric_row[t]
                    paid_by[y] = due_by[y]
                for c in range(n_capped):
                    y = capped[c]
                    v = _np_minimum(_np_minimum(due_by[y], per_period[c, t]),
                                    _np_maximum(room_of[c], 0.0))
                    paid_by[y] = v
                    room_of[c] = room_of[c] - v
                short = 0.0
                for y in range(n_payers):
                    short += due_by[y] - paid_by[y]
                total_paid = _np_maximum(contract - short, 0.0) if short > 0.0 else contract
            cost_in = costs[d, t]
            if not (total_paid >= 0.0 and total_paid < np.inf and cost_in >= 0.0
                    and cost_in < np.inf):
                return OUT_OF_RANGE
            paid[t] = total_paid
            # the waterfall of one tranche (_one_tranche_draws, no stop-loss)
            claim, drawn, got, _, _, _, v, tranche_flow, excess = tranche_period(
                claim, drawn, got, t < stop_d, cost_in, fixed[t], mgmt_rate, total_commit,
                share, growth, repaid, cap, is_capped, excess_share, excess_to, total_paid)
            commissioner_flow = -total_paid + (excess if excess_to != _PROVIDER else 0.0)
            own[0, t] = tranche_flow
            investors[t] = 0.0 + tranche_flow  # the sum over the investors' one party
            drawn_by[0, t] = v  # drawdown_total x share, the tranche's drawdown
            # the net savings (breakeven_tail): events avoided, cashable savings, net
            avoided = cf_sum[d, t] - summed[t]
            cash = 0.0
            for y in range(n_savers):
                cash += avoided * rate[y, d]
            net[0, t] = (cash + commissioner_flow) - other[t]
        # the totals (breakeven_totals)
        finite = investor_npvs(investors, rates, inverse, npv, d) and finite
        invested[d] = _row_sum(drawn_by, 0)
        received[d] = _row_sum_of_sums(own, drawn_by, 0)
        net_total[d] = _row_sum(net, 0)
        acc = net[0, 0] * disc[0]
        for t in range(1, n_periods):
            acc = acc + net[0, t] * disc[t]
        commissioner_pv[d] = acc
        size = 0.0
        for t in range(n_periods):
            size += abs(net[0, t]) + abs(paid[t])
        commissioner_scale[d] = size
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
