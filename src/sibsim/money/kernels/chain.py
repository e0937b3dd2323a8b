"""Small kernels of the money chain (:func:`sibsim.money.sib.money_arrays`), over draws and
periods, writing into preallocated outputs.

Each kernel does, element by element, exactly the floating-point operations of the numpy
expression it replaces (documented with it), in the same order, so its results are the same
to the last bit; what it saves is the temporaries and passes over memory of the numpy
expression. Sums over an axis are written only where numpy adds the terms one after the
other too (a reduction over a non-contiguous axis, or fewer than 8 terms).

Examples
--------
>>> import numpy as np
>>> out = np.empty((1, 2, 2))
>>> payer_flows(np.array([[[30.0, 0.0], [70.0, 0.0]]]), np.array([[100.0, 0.0]]),
...             np.array([[-100.0, 5.0]]), out)
>>> out[0].tolist()
[[-30.0, 0.0], [-70.0, 0.0]]
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["PAIRWISE_BLOCK", "LedgerArrays", "PriceTerms", "TriggerTerms", "apply_payer_caps",
           "book_due", "book_trigger", "breakeven_tail", "breakeven_totals", "cap_one",
           "discounted_sums", "due_one", "investor_npvs", "masked_period_sums", "measure_one",
           "measure_trigger", "npv_factors",
           "payer_flows",
           "pick_measured", "split_capped", "strata_window_sums", "sum_strata",
           "sum_waves_strata"]

FloatArray = NDArray[np.float64]


@numba.njit(cache=True, nogil=True)
def payer_flows(paid: FloatArray, total: FloatArray, commissioner_flow: FloatArray,
                out: FloatArray) -> None:
    """Each payer's part of the commissioner's waterfall flow, in proportion to what it paid.

    ``paid`` (D, Y, P), ``total`` (D, P) and ``commissioner_flow`` (D, P) in currency; writes
    ``out`` (D, Y, P): ``commissioner_flow[d, p] * (paid[d, y, p] / total[d, p])`` where
    ``total[d, p] > 0``, else ``commissioner_flow[d, p] * 0.0`` (the numpy expression
    ``flow[:, None] * np.where(total[:, None] > 0, paid / total[:, None], 0.0)``).
    """
    n_draws, n_payers, n_periods = paid.shape
    for d in range(n_draws):
        for p in range(n_periods):
            tot = total[d, p]
            flow = commissioner_flow[d, p]
            for y in range(n_payers):
                part = paid[d, y, p] / tot if tot > 0.0 else 0.0
                out[d, y, p] = flow * part


@numba.njit(cache=True, nogil=True, inline="always")
def _np_minimum(a: float, b: float) -> float:
    """``np.minimum`` of two floats (NaN propagates)."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a < b else b


@numba.njit(cache=True, nogil=True, inline="always")
def _np_maximum(a: float, b: float) -> float:
    """``np.maximum`` of two floats (NaN propagates)."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a > b else b


@numba.njit(cache=True, nogil=True)
def apply_payer_caps(due: FloatArray, capped: NDArray[np.int64], per_period: FloatArray,
                     cap_total: FloatArray, contract_total: FloatArray, paid: FloatArray,
                     total: FloatArray) -> None:
    """Each capped payer's caps, period by period, and what all payers pay together.

    ``due`` (D, Y, P): each payer's share of the contract's payments; ``capped`` (C,): the
    payers with caps; ``per_period`` (C, P) and ``cap_total`` (C,): their caps (inf: none);
    ``contract_total`` (D, P): the contract's payments. Writes ``paid`` (D, Y, P): ``due``,
    with payer ``capped[c]`` paying ``min(due, per_period[c, t], max(room, 0))`` in period
    ``t`` (``room``: ``cap_total[c]`` less what it paid before), and ``total`` (D, P):
    ``contract_total`` less the payers' shortfall ``sum_y (due - paid)`` where that is > 0,
    floored at 0. The same operations as the numpy loop of
    :func:`sibsim.money.payers.split_by_payer`, bit for bit.
    """
    n_draws, n_payers, n_periods = due.shape
    for d in range(n_draws):
        for y in range(n_payers):
            for t in range(n_periods):
                paid[d, y, t] = due[d, y, t]
        for c in range(capped.shape[0]):
            y = capped[c]
            room = cap_total[c]
            for t in range(n_periods):
                x = _np_minimum(_np_minimum(due[d, y, t], per_period[c, t]),
                                _np_maximum(room, 0.0))
                paid[d, y, t] = x
                room = room - x
        for t in range(n_periods):
            short = 0.0  # numpy's reduction starts from 0.0
            for y in range(n_payers):
                short += due[d, y, t] - paid[d, y, t]
            pay = contract_total[d, t]
            total[d, t] = _np_maximum(pay - short, 0.0) if short > 0.0 else pay


@numba.njit(cache=True, nogil=True)
def split_capped(shares: FloatArray, by_metric: FloatArray, capped: NDArray[np.int64],
                 per_period: FloatArray, cap_total: FloatArray, contract_total: FloatArray,
                 due: FloatArray, paid: FloatArray, total: FloatArray) -> None:
    """The contract's payments split among payers by their shares (numpy's einsum as a plain
    loop), then :func:`apply_payer_caps`.

    ``shares`` (Y, 1): each payer's share of the contract's one metric; ``by_metric``
    (D, 1, P): the contract's payments (currency). Writes ``due`` (D, Y, P):
    ``np.einsum("ym,dmp->dyp", shares, by_metric)``, which for one metric is ``0.0 + share x
    payment`` whatever the shapes (so ``-0.0`` gives ``0.0``), the same here; then ``paid``
    and ``total`` as :func:`apply_payer_caps` (the other arguments are its own). With several
    metrics numpy's einsum may add their products in another order: not for this kernel.
    """
    n_draws, _, n_periods = by_metric.shape
    n_payers = shares.shape[0]
    for d in range(n_draws):
        for y in range(n_payers):
            share = shares[y, 0]
            for t in range(n_periods):
                due[d, y, t] = 0.0 + share * by_metric[d, 0, t]
    apply_payer_caps(due, capped, per_period, cap_total, contract_total, paid, total)


@numba.njit(cache=True, nogil=True)
def sum_waves_strata(x: FloatArray, started: NDArray[np.bool_], mask: bool,
                     out: FloatArray) -> None:
    """Sum over entry waves and strata, of the started waves only when ``mask``.

    ``x`` (D, W, S, P), ``started`` (D, W) (read when ``mask``); writes ``out`` (D, P):
    ``(x * started[:, :, None, None]).sum(axis=(1, 2))`` (or ``x.sum(axis=(1, 2))``), adding
    the (wave, stratum) terms one after the other in that order to 0.0, as numpy does for a
    reduction over outer axes.
    """
    n_draws, n_waves, n_strata, n_periods = x.shape
    for d in range(n_draws):
        for p in range(n_periods):
            out[d, p] = 0.0
        for w in range(n_waves):
            f = (1.0 if started[d, w] else 0.0) if mask else 1.0
            for s in range(n_strata):
                for p in range(n_periods):
                    out[d, p] += x[d, w, s, p] * f if mask else x[d, w, s, p]


@numba.njit(cache=True, nogil=True)
def sum_strata(x: FloatArray, strata: NDArray[np.int64], out: FloatArray) -> None:
    """Sum over the strata ``strata`` (in that order) of ``x`` (D, W, S, P) into ``out``
    (D, W, P): ``x[:, :, strata].sum(axis=2)``, the terms added one after the other to 0.0,
    as numpy does for a reduction over an outer axis."""
    n_draws, n_waves, _, n_periods = x.shape
    for d in range(n_draws):
        for w in range(n_waves):
            for p in range(n_periods):
                out[d, w, p] = 0.0
            for k in range(strata.shape[0]):
                s = strata[k]
                for p in range(n_periods):
                    out[d, w, p] += x[d, w, s, p]


#: The longest axis :func:`masked_period_sums` sums (numpy's pairwise block; longer axes are
#: split in halves by numpy, which the kernel does not do).
PAIRWISE_BLOCK = 128


@numba.njit(cache=True, nogil=True)
def masked_period_sums(u: FloatArray, mask: FloatArray, out: FloatArray) -> None:
    """``(u * mask[None]).sum(-1)`` of ``u`` (D, W, P) and ``mask`` (W, P) into ``out`` (D, W),
    for P <= :data:`PAIRWISE_BLOCK`.

    numpy sums the last (contiguous) axis by its pairwise summation: fewer than 8 terms one
    after the other; otherwise 8 running sums over blocks of 8 terms, combined as
    ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``, then the remaining terms one by
    one; the result is added to 0.0. This does the same, without the (D, W, P) temporary.
    """
    n_draws, n_waves, _ = u.shape
    for d in range(n_draws):
        for w in range(n_waves):
            out[d, w] = _masked_sum(u[d, w], mask[w])


@numba.njit(cache=True, nogil=True, inline="always")
def _masked_sum(u: FloatArray, mask: FloatArray) -> float:
    """``(u * mask).sum()`` of two rows (P,), numpy's pairwise order (see
    :func:`masked_period_sums`)."""
    n = u.shape[0]
    end = n - n % 8
    if n < 8:
        res = -0.0
        for i in range(n):
            res += u[i] * mask[i]
    else:
        r0 = u[0] * mask[0]
        r1 = u[1] * mask[1]
        r2 = u[2] * mask[2]
        r3 = u[3] * mask[3]
        r4 = u[4] * mask[4]
        r5 = u[5] * mask[5]
        r6 = u[6] * mask[6]
        r7 = u[7] * mask[7]
        for i in range(8, end, 8):
            r0 += u[i] * mask[i]
            r1 += u[i + 1] * mask[i + 1]
            r2 += u[i + 2] * mask[i + 2]
            r3 += u[i + 3] * mask[i + 3]
            r4 += u[i + 4] * mask[i + 4]
            r5 += u[i + 5] * mask[i + 5]
            r6 += u[i + 6] * mask[i + 6]
            r7 += u[i + 7] * mask[i + 7]
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        for i in range(end, n):
            res += u[i] * mask[i]
    return 0.0 + res


@numba.njit(cache=True, nogil=True, inline="always")
def _masked_sum_scalar(x: FloatArray, d: int, w: int, s: int, mask: FloatArray) -> float:
    """:func:`_masked_sum` of the row ``x[d, w, s]`` (P,) of a (D, W, S, P) array and
    ``mask[w]``, read by index (no row view made)."""
    n = x.shape[3]
    end = n - n % 8
    if n < 8:
        res = -0.0
        for i in range(n):
            res += x[d, w, s, i] * mask[w, i]
    else:
        r0 = x[d, w, s, 0] * mask[w, 0]
        r1 = x[d, w, s, 1] * mask[w, 1]
        r2 = x[d, w, s, 2] * mask[w, 2]
        r3 = x[d, w, s, 3] * mask[w, 3]
        r4 = x[d, w, s, 4] * mask[w, 4]
        r5 = x[d, w, s, 5] * mask[w, 5]
        r6 = x[d, w, s, 6] * mask[w, 6]
        r7 = x[d, w, s, 7] * mask[w, 7]
        for i in range(8, end, 8):
            r0 += x[d, w, s, i] * mask[w, i]
            r1 += x[d, w, s, i + 1] * mask[w, i + 1]
            r2 += x[d, w, s, i + 2] * mask[w, i + 2]
            r3 += x[d, w, s, i + 3] * mask[w, i + 3]
            r4 += x[d, w, s, i + 4] * mask[w, i + 4]
            r5 += x[d, w, s, i + 5] * mask[w, i + 5]
            r6 += x[d, w, s, i + 6] * mask[w, i + 6]
            r7 += x[d, w, s, i + 7] * mask[w, i + 7]
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        for i in range(end, n):
            res += x[d, w, s, i] * mask[w, i]
    return 0.0 + res


@numba.njit(cache=True, nogil=True)
def strata_window_sums(x: FloatArray, strata: NDArray[np.int64], mask: FloatArray,
                       out: FloatArray) -> None:
    """:func:`masked_period_sums` of :func:`sum_strata` of ``x`` (D, W, S, P): each wave's
    units summed over the strata ``strata`` (one after the other, from 0.0) and then over its
    window ``mask`` (W, P) (numpy's pairwise order), into ``out`` (D, W); the same numbers as
    the two kernels one after the other, without the (D, W, P) units in between. For
    P <= :data:`PAIRWISE_BLOCK`.

    With one stratum the window sum reads that stratum's row of ``x`` directly: the strata's
    sum ``0.0 + x`` differs from ``x`` only in the sign of a zero, which the window sum's
    products and additions carry at most to its last step, ``0.0 + res``, where it is lost:
    the same numbers (tests/test_chain_kernels_bitwise.py), in less than half the time."""
    n_draws, n_waves, _, n_periods = x.shape
    if strata.shape[0] == 1:
        s = strata[0]
        for d in range(n_draws):
            for w in range(n_waves):
                out[d, w] = _masked_sum_scalar(x, d, w, s, mask)
        return
    u = np.empty(n_periods)
    for d in range(n_draws):
        for w in range(n_waves):
            for p in range(n_periods):
                u[p] = 0.0
            for k in range(strata.shape[0]):
                s = strata[k]
                for p in range(n_periods):
                    u[p] += x[d, w, s, p]
            out[d, w] = _masked_sum(u, mask[w])

@numba.njit(cache=True, nogil=True)
def pick_measured(sources: tuple[FloatArray, FloatArray, FloatArray, NDArray[np.bool_]],
                  others: tuple[FloatArray, FloatArray, FloatArray, NDArray[np.bool_]],
                  source: NDArray[np.int64], column: NDArray[np.int64],
                  when: NDArray[np.int64], happened: NDArray[np.bool_],
                  out: tuple[FloatArray, FloatArray, FloatArray, NDArray[np.bool_]]) -> None:
    """The columns of two evaluation tables, measured in some draws only (the cancellation's
    table, :func:`sibsim.money.cancellation.apply_cancellation`).

    ``sources`` and ``others``: the (measured effect, units, avoided cost, gate) arrays
    (D, K) of the two tables; column ``i`` of ``out`` (D, N) is column ``column[i]`` of
    ``sources`` (``source[i] == 0``) or ``others`` (1), measured in the draws where
    ``happened`` is False (``when[i] == 0``), True (1) or always (2): the value there, else
    0.0 (gate False). The numpy expression ``np.where(measured, x[:, k], 0.0)`` (and
    ``measured & gate[:, k]``), copying, so the same numbers bit for bit.
    """
    # one call per table (the two may differ in layout), draw by draw (rows of ``out``)
    _pick_columns(sources, 0, source, column, when, happened, out)
    _pick_columns(others, 1, source, column, when, happened, out)


@numba.njit(cache=True, nogil=True)
def _pick_columns(src: tuple[FloatArray, FloatArray, FloatArray, NDArray[np.bool_]],
                  which: int, source: NDArray[np.int64], column: NDArray[np.int64],
                  when: NDArray[np.int64], happened: NDArray[np.bool_],
                  out: tuple[FloatArray, FloatArray, FloatArray, NDArray[np.bool_]]) -> None:
    """The columns ``i`` of ``out`` with ``source[i] == which``, from ``src`` (see
    :func:`pick_measured`)."""
    effect, units, avoided, gate = src
    o_effect, o_units, o_avoided, o_gate = out
    for d in range(happened.shape[0]):
        for i in range(source.shape[0]):
            if source[i] != which:
                continue
            k = column[i]
            w = when[i]
            if w == 2 or (happened[d] if w == 1 else not happened[d]):
                o_effect[d, i] = effect[d, k]
                o_units[d, i] = units[d, k]
                o_avoided[d, i] = avoided[d, k]
                o_gate[d, i] = gate[d, k]
            else:
                o_effect[d, i] = 0.0
                o_units[d, i] = 0.0
                o_avoided[d, i] = 0.0
                o_gate[d, i] = False

class TriggerTerms(NamedTuple):
    """The scalars of one trigger of :func:`measure_trigger` (see
    :func:`sibsim.money.evaluation.evaluate`)."""

    participants: float  #: treated participants ``nt`` (> 0)
    participants_sq: float  #: ``nt ** 2`` as Python computes it
    reduce: bool  #: the evaluation's direction is ``"reduce"``
    gated: bool  #: a significance gate (``alpha``)
    critical: float  #: ``stats.norm.isf(alpha)`` (gated only)
    valued: bool  #: a money evaluation's variance scale (``value``) applies
    variance_factor: float  #: ``1.0 + cv ** 2`` of a money evaluation (valued only)
    rounds: bool  #: the contract rounds measured effects (``precision``)
    whole: bool  #: ``1 / precision`` is a whole number of steps
    steps: float  #: that number (whole) or ``1 / precision``
    precision: float  #: the precision (rounds only)
    cost_per_unit: float  #: ``avoided_cost_per_unit`` (currency per outcome unit)


@numba.njit(cache=True, nogil=True)
def measure_trigger(t_units: FloatArray, c_rate: FloatArray, c_var: FloatArray,
                    value: FloatArray, terms: TriggerTerms, effect: FloatArray,
                    units: FloatArray, avoided: FloatArray, gate: NDArray[np.bool_]) -> bool:
    """One trigger's measured effect (rounded), units, avoided cost and gate, per draw.

    ``t_units`` (D,): the treated units measured; ``c_rate``, ``c_var`` (D,): the
    counterfactual rate and its variance; ``value`` (D,): currency per unit (read when
    ``terms.valued``). Writes ``effect``, ``units``, ``avoided`` and ``gate`` (D,) with the
    operations of the numpy expressions of :func:`sibsim.money.evaluation.evaluate` and
    :func:`~sibsim.money.evaluation.contract_round`, in their order::

        t_rate = t_units / nt
        diff = c_rate - t_rate  (reduce; else t_rate - c_rate)
        rel = diff / c_rate where c_rate > 0, else 0.0
        var = (t_units / nt**2 + c_var) [* value * (1 + cv**2)];  se = sqrt(var)
        gate = (diff / se where se > 0, else 0.0) > critical
        units = diff * nt;  avoided = units * cost_per_unit

    so the same numbers bit for bit. Returns False (the outputs then partly written) when a
    value is not finite or a variance negative, where numpy would warn or give NaN: the caller
    takes the numpy path then, warnings included.
    """
    for d in range(t_units.shape[0]):
        ok, rel, n_units, cost, passed = measure_one(t_units[d], c_rate[d], c_var[d],
                                                     value[d], terms)
        if not ok:
            return False
        effect[d] = rel
        units[d] = n_units
        avoided[d] = cost
        gate[d] = passed
    return True


@numba.njit(cache=True, nogil=True, inline="always")
def measure_one(tu: float, cr: float, cv: float, value: float, terms: TriggerTerms
                ) -> tuple[bool, float, float, float, bool]:
    """One draw of :func:`measure_trigger`: whether its values are finite (and its variance
    >= 0), then the measured effect (rounded), units, avoided cost and gate, from the treated
    units ``tu``, the counterfactual rate ``cr`` and variance ``cv`` and the value per unit
    (read when ``terms.valued``). Scalars only (no array is passed: numba counts the
    references of arrays passed to a function, per call)."""
    nt, nt2 = terms.participants, terms.participants_sq
    steps, precision = terms.steps, terms.precision
    t_rate = tu / nt
    diff = cr - t_rate if terms.reduce else t_rate - cr
    rel = diff / cr if cr > 0.0 else 0.0
    if not (np.isfinite(diff) and np.isfinite(rel)):
        return False, 0.0, 0.0, 0.0, False
    passed = True
    if terms.gated:
        var = tu / nt2 + cv
        if terms.valued:
            var = var * value * terms.variance_factor
        if not var >= 0.0 or not np.isfinite(var):
            return False, 0.0, 0.0, 0.0, False
        se = np.sqrt(var)
        z = diff / se if se > 0.0 else 0.0
        if not np.isfinite(z):
            return False, 0.0, 0.0, 0.0, False
        passed = z > terms.critical
    n_units = diff * nt
    cost = n_units * terms.cost_per_unit
    if not (np.isfinite(n_units) and np.isfinite(cost)):
        return False, 0.0, 0.0, 0.0, False
    if terms.rounds:  # half away from zero to a multiple of the precision
        q = np.abs(rel) * steps
        k = np.floor(q)
        k = k + (1.0 if q - k >= 0.5 else 0.0)
        mag = k / steps if terms.whole else k * precision
        rel = (-mag if rel < 0 else mag) + 0.0
    return True, rel, n_units, cost, passed


@numba.njit(cache=True, nogil=True)
def discounted_sums(flows: FloatArray, disc: FloatArray, out: FloatArray) -> None:
    """Each row's ``flows[d, 0] * disc[0] + flows[d, 1] * disc[1] + ...``, added period by
    period, into ``out`` (D,) (:func:`sibsim.analysis.metrics.present_value` of a (D, P)
    array, whose numpy loop adds whole columns in the same order: the same numbers)."""
    for d in range(flows.shape[0]):
        out[d] = _discounted_sum(flows[d], disc)


@numba.njit(cache=True, nogil=True, inline="always")
def _discounted_sum(x: FloatArray, disc: FloatArray) -> float:
    """``x[0] * disc[0] + x[1] * disc[1] + ...``, added period by period (one row of
    :func:`discounted_sums`)."""
    acc = x[0] * disc[0]
    for t in range(1, x.shape[0]):
        acc = acc + x[t] * disc[t]
    return acc


@numba.njit(cache=True, nogil=True, inline="always")
def npv_factors(rates: FloatArray) -> FloatArray:
    """``1 / (1 + rate)`` of each per-period rate (R,), as :func:`sibsim.money.irr.npv`
    computes it."""
    inverse = np.empty(rates.shape[0])
    for i in range(rates.shape[0]):
        inverse[i] = 1.0 / (1.0 + rates[i])
    return inverse


@numba.njit(cache=True, nogil=True, inline="always")
def investor_npvs(investors: FloatArray, rates: FloatArray, inverse: FloatArray,
                  npv: FloatArray, d: int) -> bool:
    """Draw ``d``'s column of ``npv`` (R, D): the NPV of the investors' flows ``investors``
    (P,) at each rate (``inverse``: :func:`npv_factors`), Horner's sum as
    ``irr._npv_path(investors, rate, False)`` (NaN at a NaN rate). Returns whether every
    flow is finite."""
    finite = True
    for p in range(investors.shape[0]):
        if not np.isfinite(investors[p]):
            finite = False
    for i in range(rates.shape[0]):
        if np.isnan(rates[i]):
            npv[i, d] = np.nan
            continue
        y = inverse[i]
        acc = 0.0
        for t in range(investors.shape[0] - 1, -1, -1):
            acc = acc * y + investors[t]
        npv[i, d] = acc
    return finite


@numba.njit(cache=True, nogil=True)
def breakeven_totals(flow: FloatArray, pick: NDArray[np.int64], drawdown: FloatArray, row: int,
                     net: FloatArray, disc: FloatArray, paid: FloatArray, rates: FloatArray,
                     npv: FloatArray, invested: FloatArray, received: FloatArray,
                     commissioner_pv: FloatArray, net_total: FloatArray,
                     commissioner_scale: FloatArray) -> bool:
    """What the break-even search reads of one effect's money arrays, in one pass over draws.

    ``flow`` (D, parties, P) and ``drawdown`` (D, tranches, P) in currency: the waterfall's
    flows and drawdowns; ``pick``: the parties of the investors' tranches; ``row``: the one
    investor tranche (its party is ``pick[0]``); ``net`` (D, P): the commissioner's net
    savings; ``disc`` (P,): discount factors; ``paid`` (D, P): the outcome payments;
    ``rates`` (R,): per-period discount rates. Writes, per draw ``d``:

    * ``npv`` (R, D): the NPV at each rate of the investors' flows ``sum_axis1(flow, pick)``
      (0.0 plus each party's flow in the order of ``pick``), as
      :func:`sibsim.money.irr.npv` gives it (Horner's sum in ``1 / (1 + rate)``), without
      the (D, P) flows in between;
    * ``invested`` (D,): ``drawdown[:, [row]].sum((1, 2))``;
    * ``received`` (D,): ``(flow[:, [pick[0]]] + drawdown[:, [row]]).sum((1, 2))``, the
      tranche's ``investor_received`` summed;
    * ``commissioner_pv`` (D,): :func:`discounted_sums` of ``net`` at ``disc``;
    * ``net_total`` (D,): ``net.sum(-1)``;
    * ``commissioner_scale`` (D,): the size of the commissioner's money, ``|net|`` and
      ``|paid|`` summed over periods (added in order: a scale for rounding, not a total);

    each other sum over periods in numpy's pairwise order (:func:`_masked_sum` with weights 1.0:
    ``x * 1.0`` is ``x``), so the same numbers bit for bit. For P <= :data:`PAIRWISE_BLOCK`
    and one investor tranche (numpy sums several tranches' periods in another order).
    Returns whether every investor flow is finite (every output is written either way).
    """
    n_draws, n_periods = net.shape
    # (D, P) views made once, none per draw (numba counts the references of each view it
    # makes: twice the time)
    own = flow[:, pick[0]]
    drawn = drawdown[:, row]
    # the investors' one party: read once, without the loop over parties (several times
    # faster)
    one = pick.shape[0] == 1
    investors = np.empty(n_periods)  # one draw's investor flows
    inverse = npv_factors(rates)
    finite = True
    for d in range(n_draws):
        if one:
            for p in range(n_periods):
                investors[p] = 0.0 + own[d, p]  # what the sum over one party gives
        else:
            for p in range(n_periods):
                acc = 0.0
                for k in range(pick.shape[0]):
                    acc += flow[d, pick[k], p]
                investors[p] = acc
        finite = investor_npvs(investors, rates, inverse, npv, d) and finite
        invested[d] = _row_sum(drawn, d)
        received[d] = _row_sum_of_sums(own, drawn, d)
        net_total[d] = _row_sum(net, d)
        acc = net[d, 0] * disc[0]  # _discounted_sum of the row
        for t in range(1, n_periods):
            acc = acc + net[d, t] * disc[t]
        commissioner_pv[d] = acc
        size = 0.0
        for p in range(n_periods):
            size += abs(net[d, p]) + abs(paid[d, p])
        commissioner_scale[d] = size
    return finite


@numba.njit(cache=True, nogil=True)
def breakeven_tail(x: FloatArray, started: NDArray[np.bool_], mask: bool, cf_sum: FloatArray,
                   rate: FloatArray, commissioner: int, other: FloatArray, flow: FloatArray,
                   pick: NDArray[np.int64], drawdown: FloatArray, row: int, disc: FloatArray,
                   paid: FloatArray, rates: FloatArray, net: FloatArray, npv: FloatArray,
                   invested: FloatArray, received: FloatArray, commissioner_pv: FloatArray,
                   net_total: FloatArray, commissioner_scale: FloatArray) -> bool:
    """:func:`breakeven_totals` of the commissioner's net savings made here from the treated
    events at one effect: the steps of :func:`~sibsim.money.sib.money_arrays` for payers whose
    cashable savings are a saving per avoided event alone, in one pass over the draws,
    without the (D, P) and (D, Y, P) arrays in between.

    ``x`` (D, W, S, P): the treated arm's events; ``started`` (D, W) and ``mask``: the
    cohorts started (as :func:`sum_waves_strata`); ``cf_sum`` (D, P): the counterfactual's
    treated events summed the same way; ``rate`` (Y, D): each payer's saving per avoided
    event (currency); ``commissioner``: the commissioner's party in ``flow``; ``other`` (P,):
    the payers' own costs summed. Writes ``net`` (D, P), per draw and period as the numpy
    steps do:

    * events avoided ``a = cf_sum - sum_waves_strata(x)`` (the same additions);
    * cashable savings ``0.0 + a * rate[0] + a * rate[1] + ...`` (``valued_amounts``
      payer by payer, then ``sum_axis1`` over payers);
    * net savings ``(cash + flow[:, commissioner]) - other``;

    then returns :func:`breakeven_totals` of ``net`` (its other arguments and outputs). The
    same numbers bit for bit (tests/test_breakeven_tail.py).
    """
    sum_waves_strata(x, started if mask else np.ones((1, 1), np.bool_), mask, net)
    n_draws, n_periods = net.shape
    n_payers = rate.shape[0]
    for d in range(n_draws):
        for p in range(n_periods):
            avoided = cf_sum[d, p] - net[d, p]
            cash = 0.0
            for y in range(n_payers):
                cash += avoided * rate[y, d]
            net[d, p] = cash
    for d in range(n_draws):  # apart: in the loop above, twice the time
        for p in range(n_periods):
            net[d, p] = (net[d, p] + flow[d, commissioner, p]) - other[p]
    return breakeven_totals(flow, pick, drawdown, row, net, disc, paid, rates, npv, invested,
                            received, commissioner_pv, net_total, commissioner_scale)


@numba.njit(cache=True, nogil=True)
def _row_sum(u: FloatArray, d: int) -> float:
    """``u[d].sum()`` of a (D, P) array in numpy's pairwise order: :func:`_masked_sum` of the
    row with weights 1.0 (``x * 1.0`` is ``x``), read by index (no row view made)."""
    n = u.shape[1]
    end = n - n % 8
    if n < 8:
        res = -0.0
        for i in range(n):
            res += u[d, i]
    else:
        r0, r1, r2, r3 = u[d, 0], u[d, 1], u[d, 2], u[d, 3]
        r4, r5, r6, r7 = u[d, 4], u[d, 5], u[d, 6], u[d, 7]
        for i in range(8, end, 8):
            r0 += u[d, i]
            r1 += u[d, i + 1]
            r2 += u[d, i + 2]
            r3 += u[d, i + 3]
            r4 += u[d, i + 4]
            r5 += u[d, i + 5]
            r6 += u[d, i + 6]
            r7 += u[d, i + 7]
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        for i in range(end, n):
            res += u[d, i]
    return 0.0 + res


@numba.njit(cache=True, nogil=True)
def _row_sum_of_sums(u: FloatArray, w: FloatArray, d: int) -> float:
    """``(u[d] + w[d]).sum()`` of two (D, P) arrays, as :func:`_row_sum` of ``u + w``,
    without the array in between."""
    n = u.shape[1]
    end = n - n % 8
    if n < 8:
        res = -0.0
        for i in range(n):
            res += u[d, i] + w[d, i]
    else:
        r0, r1 = u[d, 0] + w[d, 0], u[d, 1] + w[d, 1]
        r2, r3 = u[d, 2] + w[d, 2], u[d, 3] + w[d, 3]
        r4, r5 = u[d, 4] + w[d, 4], u[d, 5] + w[d, 5]
        r6, r7 = u[d, 6] + w[d, 6], u[d, 7] + w[d, 7]
        for i in range(8, end, 8):
            r0 += u[d, i] + w[d, i]
            r1 += u[d, i + 1] + w[d, i + 1]
            r2 += u[d, i + 2] + w[d, i + 2]
            r3 += u[d, i + 3] + w[d, i + 3]
            r4 += u[d, i + 4] + w[d, i + 4]
            r5 += u[d, i + 5] + w[d, i + 5]
            r6 += u[d, i + 6] + w[d, i + 6]
            r7 += u[d, i + 7] + w[d, i + 7]
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        for i in range(end, n):
            res += u[d, i] + w[d, i]
    return 0.0 + res


class LedgerArrays(NamedTuple):
    """The running totals of :class:`sibsim.money.payment_ledger.PaymentLedger` that
    :func:`book_due` updates (currency)."""

    by_metric: FloatArray  #: (D, M, P) paid by metric and payment period
    by_trigger: FloatArray  #: (D, K) paid on each trigger
    beyond: FloatArray  #: (D, M) due after the horizon
    committed_metric: FloatArray  #: (D, M) committed on each metric so far
    committed_total: FloatArray  #: (D,) committed on the contract so far
    paid_in_period: FloatArray  #: (D, P) paid in each period so far


@numba.njit(cache=True, nogil=True)
def book_due(due: FloatArray, m: int, k: int, period: int, beyond: bool, metric_cap: float,
             total_cap: float, period_cap: float, ledger: LedgerArrays) -> None:
    """Cap ``due`` (D,) and book it in ``ledger``: the numpy steps of
    :meth:`sibsim.money.payment_ledger.PaymentLedger.commit`, draw by draw, in their order
    (so the same numbers bit for bit).

    ``metric_cap``, ``total_cap``, ``period_cap``: the metric's cap, the contract's total cap
    and the payment period's cap (``inf``: none, skipped as there); ``period`` -1: after the
    horizon (dropped); ``k`` -1: a rate card's payment (no trigger).
    """
    by_metric, by_trigger, o_beyond = ledger.by_metric, ledger.by_trigger, ledger.beyond
    committed_metric, committed_total = ledger.committed_metric, ledger.committed_total
    paid_in_period = ledger.paid_in_period
    for d in range(due.shape[0]):
        x = cap_one(due[d], metric_cap, committed_metric[d, m], total_cap,
                    committed_total[d], period_cap if period >= 0 else np.inf,
                    paid_in_period[d, period] if period >= 0 else 0.0)
        if period >= 0:
            paid_in_period[d, period] += x
            by_metric[d, m, period] += x
        if beyond:
            o_beyond[d, m] += x
        if k >= 0:
            by_trigger[d, k] = x
        committed_metric[d, m] += x
        committed_total[d] += x


class PriceTerms(NamedTuple):
    """A pricing rule as scalars (:meth:`sibsim.money.pricing.PricingRule.kernel_terms`):
    ``price x max(units, 0)``, scaled by ``ceiling / effect`` where the measured effect is
    above a ``ceiling``, and 0 where it is not ``>= threshold``."""

    price: float  #: currency per outcome unit
    has_ceiling: bool  #: a ceiling on the measured effect
    ceiling: float  #: that ceiling (fraction; read when has_ceiling)
    has_threshold: bool  #: a threshold on the measured effect
    threshold: float  #: that threshold (fraction; read when has_threshold)


@numba.njit(cache=True, nogil=True, inline="always")
def cap_one(x: float, metric_cap: float, committed_metric: float, total_cap: float,
            committed_total: float, period_cap: float, paid_in_period: float) -> float:
    """One draw's amount ``x`` after :func:`book_due`'s caps: the metric's (``metric_cap``
    less what it committed), the contract's total (``total_cap`` less what it committed) and
    the payment period's (``period_cap`` less what was paid in it); ``inf``: none, skipped."""
    if metric_cap < np.inf:
        x = _np_minimum(x, _np_maximum(metric_cap - committed_metric, 0.0))
    if total_cap < np.inf:
        x = _np_minimum(x, _np_maximum(total_cap - committed_total, 0.0))
    if period_cap < np.inf:
        x = _np_minimum(x, _np_maximum(period_cap - paid_in_period, 0.0))
    return x


@numba.njit(cache=True, nogil=True, inline="always")
def due_one(effect: float, units: float, gate: bool, rule: PriceTerms, per_person: float,
            cumulative: bool, committed: float) -> float:
    """One draw of what :func:`book_trigger` finds due, before the caps of :func:`cap_one`
    (``committed``: what the metric committed before)."""
    amount = rule.price * _np_maximum(units, 0.0)
    if rule.has_ceiling and effect > rule.ceiling:
        amount = amount * (rule.ceiling / effect)
    if rule.has_threshold and not effect >= rule.threshold:
        amount = 0.0
    x = _np_maximum(amount, 0.0) if gate and np.isfinite(amount) else 0.0
    if per_person < np.inf:
        x = _np_minimum(x, per_person)
    if cumulative:
        x = _np_maximum(x - committed, 0.0)
    return x


@numba.njit(cache=True, nogil=True)
def book_trigger(effect: FloatArray, units: FloatArray, gate: NDArray[np.bool_],
                 rule: PriceTerms, per_person: float, cumulative: bool, m: int, k: int,
                 period: int, beyond: bool, metric_cap: float, total_cap: float,
                 period_cap: float, ledger: LedgerArrays) -> None:
    """What one trigger is due, capped and booked, draw by draw: the numpy steps of
    :meth:`sibsim.money.pricing.PricePerUnit.due`, :func:`sibsim.money.payment_ledger._trigger_due`
    and :func:`book_due`, in their order, so the same numbers bit for bit.

    ``effect``, ``units`` (D,): the trigger's measured effect (fraction) and outcome units;
    ``gate`` (D,): its gate; ``rule``: the pricing rule's scalars; ``per_person``: the
    per-person cap times the trigger's participants (currency; ``inf``: none);
    ``cumulative``: a pooled trigger, which pays what is due beyond what the metric committed
    before. Per draw::

        amount = price * max(units, 0)  [* (ceiling / effect) where effect > ceiling]
        amount = amount where effect >= threshold, else 0.0
        due = max(amount, 0.0) where gate and amount is finite, else 0.0
        due = min(due, per_person);  due = max(due - committed[m], 0.0)  (cumulative)

    then :func:`book_due`'s caps and booking (what is due is kept in a row of D numbers, then
    booked: each draw's numbers are its own, so the same as booking each draw in turn).
    """
    committed_metric = ledger.committed_metric
    due = np.empty(units.shape[0])
    for d in range(units.shape[0]):
        due[d] = due_one(effect[d], units[d], gate[d], rule, per_person, cumulative,
                         committed_metric[d, m])
    book_due(due, m, k, period, beyond, metric_cap, total_cap, period_cap, ledger)
