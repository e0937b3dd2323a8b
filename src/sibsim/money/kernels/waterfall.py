"""The cash-flow waterfall kernel: sequential in periods, parallel over blocks of draws.

Inputs and outputs are grouped in :class:`typing.NamedTuple` s:

* :class:`WaterfallInputs` -- service costs and outcome payments, arrays (D, P);
* :class:`TrancheArrays` -- commitments, target returns, return caps and seniority order;
* :class:`FeeArrays` -- intermediary fee per period and management rate on drawn capital;
* :class:`GuaranteeArrays` -- the guarantee's :class:`GuaranteeMode`, covered tranches, share
  and cap;
* :class:`CapitalArrays` -- the three above, the :class:`ExcessTo` code and the recycling flag;
* :class:`LifecycleArrays` -- when the deal stops and settles (termination, stop-loss,
  maturity) and a :class:`ClaimShareArrays` (a savings share tied to the investors' claim);
* :class:`WaterfallOutputs` -- flows (D, party, P), drawdown, outstanding, guarantee, unfunded,
  stop and settlement periods, recycled reserve, claim-share payments.

The rules are documented in :mod:`sibsim.money.capital` and ``docs/money.md``; the
specification objects lower themselves to these groups (``CapitalStructure.lower``) and
:func:`sibsim.money.cashflows.waterfall` wraps the outputs in a ``CashFlows``.

Examples
--------
One tranche of 100 (no return), 100 of costs then 120 of outcome payments; the excess of 20
goes back to the commissioner:

>>> import numpy as np
>>> x = WaterfallInputs(costs=np.array([[100.0, 0.0]]), pay=np.array([[0.0, 120.0]]))
>>> tr = TrancheArrays(share=np.ones(1), total_commit=100.0, growth=np.ones(1),
...                    cap=np.full(1, np.inf), order=np.zeros(1, np.int64),
...                    group_start=np.array([0, 1], np.int64))
>>> capital = CapitalArrays(tr, FeeArrays(np.zeros(2), 0.0), GuaranteeArrays.none(1),
...                         int(ExcessTo.COMMISSIONER))
>>> out = run(x, capital)
>>> out.flows[0, :, 1].tolist()  # commissioner, tranche, guarantor, provider, intermediary
[-100.0, 100.0, 0.0, 0.0, 0.0]
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CapitalArrays",
    "ClaimShareArrays",
    "ExcessTo",
    "FeeArrays",
    "GuaranteeArrays",
    "GuaranteeMode",
    "KernelPath",
    "LifecycleArrays",
    "TrancheArrays",
    "WaterfallInputs",
    "WaterfallOutputs",
    "filled_tranches",
    "kernel_path",
    "run",
    "tranche_period",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class ExcessTo(IntEnum):
    """Who receives outcome payments left once every tranche's claim is met."""

    COMMISSIONER = 0  #: it pays less
    PROVIDER = 1  #: a performance bonus
    INVESTORS = 2  #: pro rata to commitments, up to each return cap; the rest to the commissioner


class GuaranteeMode(IntEnum):
    """How the guarantee pays covered principal losses when the deal settles."""

    NONE = 0  #: no guarantee
    FIRST_LOSS = 1  #: from the first unit lost, up to share x covered capital drawn; senior first
    PRO_RATA = 2  #: share x loss of each covered tranche


class KernelPath(IntEnum):
    """Which compiled waterfall runs the draws (:func:`kernel_path` chooses; both give the same
    numbers, bit for bit, where the specialised one applies)."""

    GENERAL = 0  #: any capital structure: per-tranche state in small arrays
    ONE_TRANCHE = 1  #: one tranche, no guarantee, no recycling, no claim-tied share: scalars


class WaterfallInputs(NamedTuple):
    """Money coming in, per draw and period (currency, >= 0, C-contiguous float64)."""

    costs: FloatArray  #: (D, P) service costs incurred
    pay: FloatArray  #: (D, P) outcome payments made by the commissioner


class TrancheArrays(NamedTuple):
    """The tranches, in ``CapitalStructure`` order (T tranches)."""

    share: FloatArray  #: (T,) share of the total commitment (drawdowns are pro rata to it)
    total_commit: float  #: total commitment (currency)
    growth: FloatArray  #: (T,) 1 + target return per period
    cap: FloatArray  #: (T,) return cap, a multiple of capital drawn (inf: none)
    order: IntArray  #: tranche indices by seniority, most senior first
    group_start: IntArray  #: (G + 1,) bounds in ``order`` of each seniority group
    #: (T,) 1.0 for capital repaid from outcome payments (loans, deferred fees), 0.0 for a
    #: grant (drawn, never repaid: no claim, outside the stop-loss and the claim-tied share);
    #: None: every tranche is repaid (filled in by :func:`run`)
    repaid: FloatArray | None = None
    #: (T,) share of an excess to investors (``ExcessTo.INVESTORS``): commitments of the
    #: investors' tranches only; None: ``share`` (filled in by :func:`run`)
    excess_share: FloatArray | None = None


class FeeArrays(NamedTuple):
    """Fees funded by drawdowns."""

    fixed: FloatArray  #: (P,) intermediary fee per period (currency)
    mgmt_rate: float  #: per period, a fraction of capital drawn before the period


class GuaranteeArrays(NamedTuple):
    """The guarantee of principal, paid in the settlement period (the last period by default)."""

    mode: int  #: a :class:`GuaranteeMode` code
    covered: NDArray[np.bool_]  #: (T,) tranches covered
    share: float  #: share of principal (fraction)
    cap: float  #: maximum paid (currency; inf: none)

    @classmethod
    def none(cls, n_tranches: int) -> GuaranteeArrays:
        """No guarantee."""
        return cls(int(GuaranteeMode.NONE), np.zeros(n_tranches, dtype=np.bool_), 0.0, 0.0)


class CapitalArrays(NamedTuple):
    """Everything the kernel needs of a capital structure (``CapitalStructure.lower``)."""

    tranches: TrancheArrays
    fees: FeeArrays
    guarantee: GuaranteeArrays
    excess_to: int  #: an :class:`ExcessTo` code
    recycle: bool = False  #: outcome payments fund later service costs before new drawdowns


class ClaimShareArrays(NamedTuple):
    """A share of avoided cost whose tier boundary is the investors' outstanding claim.

    Lowered by :meth:`sibsim.money.pricing.ClaimShare.lower`. In period ``t`` the commissioner
    pays ``share_until`` of ``avoided[d, t]`` until the investors' outstanding amount (less the
    period's other outcome payments) is reached, and ``share_after`` of the rest.
    """

    avoided: FloatArray  #: (D, P) avoided cost shared in the period it is paid (currency)
    share_until: float  #: share of avoided cost until the investors are repaid (fraction)
    share_after: float  #: share of avoided cost after that (fraction, <= share_until)
    multiple: float  #: 0: the boundary is the claim; m > 0: m x capital drawn - cash received
    cap: float  #: maximum paid under the rule over the deal (currency; inf: none)
    active: bool  #: False: no such rule (``avoided`` is then a dummy (1, 1) array)

    @classmethod
    def none(cls) -> ClaimShareArrays:
        """No claim-tied savings share."""
        return cls(np.zeros((1, 1)), 0.0, 0.0, 0.0, np.inf, False)


class _StopArrays(NamedTuple):
    """The kernel's view of :class:`LifecycleArrays` without the nested claim share."""

    stop: IntArray
    settle_at: IntArray
    stop_loss: float


class LifecycleArrays(NamedTuple):
    """When the deal stops and settles (built by :func:`sibsim.money.termination.lifecycle`).

    From the stop period ``s`` on there are no service costs, fees or drawdowns; the deal
    settles (the guarantee is paid) in ``settle_at[s]``; ``settle_at[P]`` is the maturity,
    used when the deal runs its course.
    """

    stop: IntArray  #: (D,) first period without service (P: the deal is not stopped early)
    settle_at: IntArray  #: (P + 1,) settlement period for a stop from each period
    stop_loss: float  #: investors' loss (drawn - received) that stops the deal; inf: none
    claim: ClaimShareArrays

    @classmethod
    def none(cls, n_draws: int, n_periods: int) -> LifecycleArrays:
        """No early stop; settlement (the guarantee) in the last period."""
        return cls(np.full(n_draws, n_periods, np.int64),
                   np.full(n_periods + 1, n_periods - 1, np.int64), np.inf,
                   ClaimShareArrays.none())


class WaterfallOutputs(NamedTuple):
    """Kernel outputs (currency). Party axis: commissioner, T tranches, guarantor, provider,
    intermediary."""

    flows: FloatArray  #: (D, T + 4, P) net flow per party, + received / - paid
    drawdown: FloatArray  #: (D, P) capital drawn from all tranches
    outstanding: FloatArray  #: (D, T, P) claim after the period's distribution
    guarantee: FloatArray  #: (D, T) paid by the guarantor in the settlement period
    unfunded: FloatArray  #: (D, P) service costs and fees beyond the total commitment
    stop: IntArray  #: (D,) first period without service (P: not stopped early)
    settled: IntArray  #: (D,) settlement period (the guarantee is paid in it)
    reserve: FloatArray  #: (D, P) recycled outcome payments held after the period (currency)
    claim_paid: FloatArray  #: (D, P) outcome payments of the claim-tied share (currency)

    @classmethod
    def empty(cls, n_draws: int, n_tranches: int, n_periods: int) -> WaterfallOutputs:
        return cls(
            flows=np.empty((n_draws, n_tranches + 4, n_periods)),
            drawdown=np.empty((n_draws, n_periods)),
            outstanding=np.empty((n_draws, n_tranches, n_periods)),
            guarantee=np.empty((n_draws, n_tranches)),
            unfunded=np.empty((n_draws, n_periods)),
            stop=np.empty(n_draws, np.int64),
            settled=np.empty(n_draws, np.int64),
            reserve=np.empty((n_draws, n_periods)),
            claim_paid=np.empty((n_draws, n_periods)),
        )


class _DrawState(NamedTuple):
    """Scratch state of one draw, allocated once per block of draws."""

    drawn: FloatArray  # cumulative capital drawn
    claim: FloatArray  # principal outstanding + unpaid target return
    received: FloatArray  # cumulative cash received from outcome payments
    room: FloatArray  # payable now: min(claim, return-cap headroom)
    paid: FloatArray
    loss: FloatArray


_BLOCK = 1024  # draws per parallel block
_SERIAL_BELOW = 4 * _BLOCK  # fewer draws than this run on one thread

# enum codes as plain ints, frozen into the kernels as constants
_PROVIDER = int(ExcessTo.PROVIDER)
_INVESTORS = int(ExcessTo.INVESTORS)
_FIRST_LOSS = int(GuaranteeMode.FIRST_LOSS)
_PRO_RATA = int(GuaranteeMode.PRO_RATA)
_NONE = int(GuaranteeMode.NONE)


def kernel_path(capital: CapitalArrays, life: LifecycleArrays | None = None) -> KernelPath:
    """The kernel for ``capital`` and ``life``: :attr:`KernelPath.ONE_TRANCHE` for one tranche
    (one seniority group) without a guarantee, recycling or a claim-tied savings share (the
    common deal; its state fits in scalars, about 2-3x faster a draw), else
    :attr:`KernelPath.GENERAL`. Stops, stop-loss, return caps and every excess rule are in both.

    Examples
    --------
    >>> tr = TrancheArrays(share=np.ones(1), total_commit=100.0, growth=np.ones(1),
    ...                    cap=np.full(1, np.inf), order=np.zeros(1, np.int64),
    ...                    group_start=np.array([0, 1], np.int64))
    >>> c = CapitalArrays(tr, FeeArrays(np.zeros(2), 0.0), GuaranteeArrays.none(1),
    ...                   int(ExcessTo.COMMISSIONER))
    >>> kernel_path(c).name
    'ONE_TRANCHE'
    """
    tr, g = capital.tranches, capital.guarantee
    simple = (tr.share.shape[0] == 1 and tr.group_start.shape[0] == 2
              and int(g.mode) == _NONE and not capital.recycle
              and (life is None or not life.claim.active))
    return KernelPath.ONE_TRANCHE if simple else KernelPath.GENERAL


def filled_tranches(tr: TrancheArrays) -> TrancheArrays:
    """``tr`` with ``repaid`` and ``excess_share`` filled in where None (every tranche an
    investor's loan; an excess shared by commitments), as the kernels read them."""
    if tr.repaid is not None and tr.excess_share is not None:
        return tr
    return tr._replace(repaid=np.ones_like(tr.share) if tr.repaid is None else tr.repaid,
                       excess_share=tr.share if tr.excess_share is None else tr.excess_share)


def run(inputs: WaterfallInputs, capital: CapitalArrays,
        life: LifecycleArrays | None = None, path: KernelPath | None = None) -> WaterfallOutputs:
    """Allocate the outputs and run the waterfall of every draw.

    Parameters
    ----------
    inputs : WaterfallInputs
        Costs and outcome payments, C-contiguous float64 arrays (D, P) of the same shape.
    capital : CapitalArrays
        The tranches, fees, guarantee, excess rule and recycling flag
        (``CapitalStructure.lower``).
    life : LifecycleArrays, optional
        Stop and settlement periods, stop-loss and claim-tied share; default: the deal runs
        to the last period, which is also its settlement period.
    path : KernelPath, optional
        The kernel to run (default: :func:`kernel_path`); ``KernelPath.GENERAL`` always
        applies (the tests compare the two).

    Returns
    -------
    WaterfallOutputs
    """
    n_draws, n_periods = inputs.pay.shape
    tr = filled_tranches(capital.tranches)
    auto = kernel_path(capital, life)
    if path is None:
        path = auto
    elif path != KernelPath.GENERAL and path != auto:
        raise ValueError(f"waterfall.path: got {KernelPath(path).name}; allowed: GENERAL or "
                         f"{auto.name} for this capital structure")
    if life is None:
        life = LifecycleArrays.none(n_draws, n_periods)
    out = WaterfallOutputs.empty(n_draws, capital.tranches.share.shape[0], n_periods)
    stops = _StopArrays(life.stop, life.settle_at, life.stop_loss)
    parallel = n_draws > _SERIAL_BELOW
    if path == KernelPath.ONE_TRANCHE:
        kernel = _one_tranche_parallel if parallel else _one_tranche_serial
        kernel(inputs, tr, capital.fees, int(capital.excess_to), stops, out)
        return out
    kernel = _waterfall_parallel if parallel else _waterfall_serial
    # the claim-tied share travels as its own argument: numba's parallel lowering refuses a
    # tuple of arrays nested inside another tuple argument ("scalar type ... given for non
    # scalar argument")
    kernel(inputs, tr, capital.fees, capital.guarantee, int(capital.excess_to),
           bool(capital.recycle), stops, life.claim, out)
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def _pay_group(available: float, claims: FloatArray, order: IntArray, lo: int, hi: int,
               out: FloatArray) -> float:
    """Pay ``available`` to tranches ``order[lo:hi]`` pro rata to ``claims``; return total."""
    total = 0.0
    for j in range(lo, hi):
        total += claims[order[j]]
    frac = max(min(available, total), 0.0) / total if total > 0.0 else 0.0
    paid = 0.0
    for j in range(lo, hi):
        i = order[j]
        out[i] = claims[i] * frac
        paid += out[i]
    return paid


@numba.njit(cache=True, nogil=True, inline="always")
def _guarantee_draw(tr: TrancheArrays, g: GuaranteeArrays, s: _DrawState) -> None:
    """Guarantee paid to each tranche of one draw, written to ``s.paid``."""
    drawn, received, loss, out = s.drawn, s.received, s.loss, s.paid
    n_tr = drawn.shape[0]
    limit = 0.0
    for i in range(n_tr):
        out[i] = 0.0
        loss[i] = 0.0
        if g.covered[i]:
            loss[i] = max(drawn[i] - received[i], 0.0)
            limit += g.share * drawn[i]
    if g.mode == _PRO_RATA:
        total = 0.0
        for i in range(n_tr):
            out[i] = g.share * loss[i]
            total += out[i]
        if total > g.cap:
            for i in range(n_tr):
                out[i] *= g.cap / total
    elif g.mode == _FIRST_LOSS:
        limit = min(limit, g.cap)
        group_start = tr.group_start
        for k in range(group_start.shape[0] - 1):  # compensate senior losses first
            limit -= _pay_group(limit, loss, tr.order, group_start[k], group_start[k + 1], out)


@numba.njit(cache=True, nogil=True, inline="always")
def _claim_share(d: int, t: int, c: ClaimShareArrays, other: float, paid_so_far: float,
                 multiple_owed: float, claim_owed: float) -> float:
    """Claim-tied share of the avoided cost shared in period ``t`` of draw ``d``."""
    avoided = c.avoided[d, t]
    if avoided <= 0.0:
        return 0.0
    owed = multiple_owed if c.multiple > 0.0 else claim_owed
    owed = max(owed - other, 0.0)  # the period's other outcome payments repay first
    first = min(c.share_until * avoided, owed)
    rest = max(avoided - first / c.share_until, 0.0)
    amount = first + c.share_after * rest
    return min(amount, max(c.cap - paid_so_far, 0.0))


@numba.njit(cache=True, nogil=True)
def _waterfall_draws(lo: int, hi: int, x: WaterfallInputs, tr: TrancheArrays, fees: FeeArrays,
                    g: GuaranteeArrays, excess_to: int, recycle: bool, life: _StopArrays,
                    cs: ClaimShareArrays, out: WaterfallOutputs, s: _DrawState) -> None:
    """Periods of draws ``lo, ..., hi - 1``, one after the other: updates the state (drawn,
    claim, received; reset for each draw) and the outputs, and pays the guarantee in the
    settlement period. One call per block of draws (a call per draw costs more than a draw)."""
    costs, pay = x.costs, x.pay
    share, growth, cap, order, group_start = tr.share, tr.growth, tr.cap, tr.order, tr.group_start
    repaid, excess_share = tr.repaid, tr.excess_share
    flows = out.flows
    o_guarantee, o_unfunded, o_drawdown = out.guarantee, out.unfunded, out.drawdown
    o_claim_paid, o_reserve, o_outstanding = out.claim_paid, out.reserve, out.outstanding
    o_stop, o_settled = out.stop, out.settled
    fixed, mgmt_rate, total_commit = fees.fixed, fees.mgmt_rate, tr.total_commit
    life_stop, settle_at, stop_loss = life.stop, life.settle_at, life.stop_loss
    claim_share = cs.active
    drawn, claim, received, room, paid = s.drawn, s.claim, s.received, s.room, s.paid
    n_periods = pay.shape[1]
    n_tr = share.shape[0]
    for d in range(lo, hi):
        # reset through the local names: numba does not reliably apply a slice
        # assignment made through a tuple attribute (``s.drawn[:] = 0.0``) here
        drawn[:] = 0.0
        claim[:] = 0.0
        received[:] = 0.0
        stop = life_stop[d]
        settle = settle_at[stop]
        reserve = 0.0
        claim_total = 0.0
        check_loss = stop_loss < np.inf
        for i in range(n_tr):
            o_guarantee[d, i] = 0.0
        for t in range(n_periods):
            # 1. accrual; 2. fees; 3. drawdown pro rata to commitments (none from the stop on)
            drawn_total = 0.0
            for i in range(n_tr):
                claim[i] *= growth[i]
                drawn_total += drawn[i]
            need = 0.0
            cost = 0.0
            if t < stop:
                cost = costs[d, t]
                need = cost + fixed[t] + mgmt_rate * drawn_total
            reserve_start = reserve
            from_reserve = 0.0
            if recycle:  # recycled outcome payments fund the need before new drawdowns
                from_reserve = min(reserve, need)
                reserve -= from_reserve
            draw = min(need - from_reserve, max(total_commit - drawn_total, 0.0))
            funded_cost = min(cost, draw + from_reserve)
            o_unfunded[d, t] = need - from_reserve - draw
            o_drawdown[d, t] = draw
            for i in range(n_tr):
                v = draw * share[i]
                flows[d, 1 + i, t] = -v
                drawn[i] += v
                claim[i] += v * repaid[i]  # a grant is never owed back
                headroom = cap[i] * drawn[i] - received[i] if cap[i] < np.inf else np.inf
                room[i] = min(claim[i], max(headroom, 0.0))
            # the claim-tied savings share, on the investors' claim at this moment
            incoming = pay[d, t]
            if claim_share:
                claim_owed = 0.0
                multiple_owed = 0.0
                for i in range(n_tr):
                    claim_owed += claim[i]
                    multiple_owed += max(cs.multiple * drawn[i] - received[i], 0.0) * repaid[i]
                extra = _claim_share(d, t, cs, incoming, claim_total, multiple_owed,
                                     claim_owed)
                claim_total += extra
                o_claim_paid[d, t] = extra
                incoming += extra
            else:
                o_claim_paid[d, t] = 0.0
            available = incoming
            if recycle:  # hold back what later service costs and fees of the deal still need
                hold = 0.0
                if t < settle:
                    future = 0.0
                    for u in range(t + 1, min(stop, n_periods)):
                        future += costs[d, u] + fixed[u]
                    hold = min(reserve + incoming, future)
                available = reserve + incoming - hold
                reserve = hold
            o_reserve[d, t] = reserve
            # 4. outcome payment to tranches by seniority
            for k in range(group_start.shape[0] - 1):
                lo, hi = group_start[k], group_start[k + 1]
                available -= _pay_group(available, room, order, lo, hi, paid)
                for j in range(lo, hi):
                    i = order[j]
                    claim[i] -= paid[i]
                    received[i] += paid[i]
                    flows[d, 1 + i, t] += paid[i]
            # 5. excess
            if excess_to == _INVESTORS:  # pro rata to commitments, up to return-cap headroom
                excess = max(available, 0.0)
                for i in range(n_tr):
                    headroom = cap[i] * drawn[i] - received[i] if cap[i] < np.inf else np.inf
                    v = min(excess * excess_share[i], max(headroom, 0.0))
                    flows[d, 1 + i, t] += v
                    received[i] += v
                    available -= v
            excess = max(available, 0.0)
            flows[d, 0, t] = -incoming + (excess if excess_to != _PROVIDER else 0.0)
            for i in range(n_tr):
                o_outstanding[d, i, t] = claim[i]
            flows[d, 1 + n_tr, t] = 0.0
            flows[d, 2 + n_tr, t] = funded_cost + (excess if excess_to == _PROVIDER else 0.0)
            flows[d, 3 + n_tr, t] = draw - funded_cost
            if recycle:  # the vehicle's fees funded plus the change in its recycled reserve
                flows[d, 3 + n_tr, t] = (draw + from_reserve - funded_cost) + (reserve
                                                                               - reserve_start)
            # stop-loss: the investors' loss at the end of the period stops the deal from t + 1
            if check_loss and t < stop:
                loss = 0.0
                for i in range(n_tr):
                    loss += (drawn[i] - received[i]) * repaid[i]
                if loss >= stop_loss:
                    stop = t + 1
                    settle = settle_at[stop]
            # settlement: the guarantee covers the losses left once the period's money has moved
            # (without a guarantee there is nothing to pay: the call alone cost about a quarter
            # of a simple deal's waterfall)
            if t == settle and g.mode != _NONE:
                _guarantee_draw(tr, g, s)
                total = 0.0
                for i in range(n_tr):
                    o_guarantee[d, i] = paid[i]
                    flows[d, 1 + i, t] += paid[i]
                    total += paid[i]
                flows[d, 1 + n_tr, t] = 0.0 - total
        o_stop[d] = stop
        o_settled[d] = settle


def _waterfall_kernel(x: WaterfallInputs, tr: TrancheArrays, fees: FeeArrays,
                      g: GuaranteeArrays, excess_to: int, recycle: bool, life: _StopArrays,
                      cs: ClaimShareArrays, out: WaterfallOutputs) -> None:
    """Waterfall of every draw; sequential in periods, parallel over blocks of draws.

    Each draw writes only its own rows, so results do not depend on the thread count.
    """
    n_draws = x.pay.shape[0]
    n_tr = tr.share.shape[0]
    n_blocks = (n_draws + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):  # scratch arrays allocated once per block of draws
        s = _DrawState(np.empty(n_tr), np.empty(n_tr), np.empty(n_tr), np.empty(n_tr),
                       np.empty(n_tr), np.empty(n_tr))
        _waterfall_draws(b * _BLOCK, min((b + 1) * _BLOCK, n_draws), x, tr, fees, g,
                         excess_to, recycle, life, cs, out, s)


# one kernel, two compilations: threads pay off only for many draws
_waterfall_parallel = numba.njit(cache=True, nogil=True, parallel=True)(_waterfall_kernel)
_waterfall_serial = numba.njit(cache=True, nogil=True)(_waterfall_kernel)


@numba.njit(cache=True, nogil=True, inline="always")
def tranche_period(claim: float, drawn: float, received: float, serving: bool, cost: float,
                   fixed: float, mgmt_rate: float, total_commit: float, share: float,
                   growth: float, repaid: float, cap: float, capped: bool,
                   excess_share: float, excess_to: int, incoming: float
                   ) -> tuple[float, float, float, float, float, float, float, float, float]:
    """One period of one tranche's waterfall (:func:`_one_tranche_draws`; no guarantee,
    recycling or claim-tied share), in scalars: the tranche's claim, capital drawn and cash
    received before the period; whether the service runs (``serving``: before the stop), its
    cost and fixed fee; the tranche's terms; the outcome payments coming in (currency).

    Returns the claim, drawn and received after it, the need (cost, fees and management
    fee), the drawdown, the cost funded, the tranche's drawdown (``drawdown x share``), the
    tranche's flow and the excess left (before the excess rule's commissioner or provider
    share), each as the general kernel computes it (the same numbers bit for bit)."""
    claim *= growth
    drawn_total = 0.0 + drawn
    need = 0.0
    spent = 0.0
    if serving:
        spent = cost
        need = spent + fixed + mgmt_rate * drawn_total
    draw = min(need - 0.0, max(total_commit - drawn_total, 0.0))
    funded_cost = min(spent, draw + 0.0)
    v = draw * share
    drawn += v
    claim += v * repaid
    headroom = cap * drawn - received if capped else np.inf
    room = min(claim, max(headroom, 0.0))
    available = incoming
    total = 0.0 + room  # the seniority group of one tranche
    frac = max(min(available, total), 0.0) / total if total > 0.0 else 0.0
    paid = room * frac
    available -= 0.0 + paid
    claim -= paid
    received += paid
    tranche_flow = -v + paid
    if excess_to == _INVESTORS:
        excess = max(available, 0.0)
        headroom = cap * drawn - received if capped else np.inf
        extra = min(excess * excess_share, max(headroom, 0.0))
        tranche_flow += extra
        received += extra
        available -= extra
    return (claim, drawn, received, need, draw, funded_cost, v, tranche_flow,
            max(available, 0.0))


@numba.njit(cache=True, nogil=True)
def _one_tranche_draws(lo: int, hi: int, x: WaterfallInputs, tr: TrancheArrays,
                       fees: FeeArrays, excess_to: int, life: _StopArrays,
                       out: WaterfallOutputs) -> None:
    """:func:`_waterfall_draws` for one tranche without a guarantee, recycling or claim-tied
    share, the state in scalars: the same operations in the same order (the general kernel's
    sums over one tranche start from 0.0, kept here), so the same numbers bit for bit."""
    costs, pay = x.costs, x.pay
    share, growth, cap = tr.share[0], tr.growth[0], tr.cap[0]
    repaid, excess_share = tr.repaid[0], tr.excess_share[0]
    capped = cap < np.inf
    flows = out.flows
    o_guarantee, o_unfunded, o_drawdown = out.guarantee, out.unfunded, out.drawdown
    o_claim_paid, o_reserve, o_outstanding = out.claim_paid, out.reserve, out.outstanding
    o_stop, o_settled = out.stop, out.settled
    fixed, mgmt_rate, total_commit = fees.fixed, fees.mgmt_rate, tr.total_commit
    life_stop, settle_at, stop_loss = life.stop, life.settle_at, life.stop_loss
    check_loss = stop_loss < np.inf
    n_periods = pay.shape[1]
    for d in range(lo, hi):
        drawn = 0.0
        claim = 0.0
        received = 0.0
        stop = life_stop[d]
        settle = settle_at[stop]
        o_guarantee[d, 0] = 0.0
        for t in range(n_periods):
            incoming = pay[d, t]
            claim, drawn, received, need, draw, funded_cost, _, tranche_flow, excess = (
                tranche_period(claim, drawn, received, t < stop, costs[d, t], fixed[t],
                               mgmt_rate, total_commit, share, growth, repaid, cap, capped,
                               excess_share, excess_to, incoming))
            o_unfunded[d, t] = need - 0.0 - draw
            o_drawdown[d, t] = draw
            o_claim_paid[d, t] = 0.0
            o_reserve[d, t] = 0.0
            flows[d, 1, t] = tranche_flow
            flows[d, 0, t] = -incoming + (excess if excess_to != _PROVIDER else 0.0)
            o_outstanding[d, 0, t] = claim
            flows[d, 2, t] = 0.0
            flows[d, 3, t] = funded_cost + (excess if excess_to == _PROVIDER else 0.0)
            flows[d, 4, t] = draw - funded_cost
            if check_loss and t < stop:
                loss = 0.0 + (drawn - received) * repaid
                if loss >= stop_loss:
                    stop = t + 1
                    settle = settle_at[stop]
        o_stop[d] = stop
        o_settled[d] = settle


def _one_tranche_kernel(x: WaterfallInputs, tr: TrancheArrays, fees: FeeArrays,
                        excess_to: int, life: _StopArrays, out: WaterfallOutputs) -> None:
    """:func:`_waterfall_kernel` for :attr:`KernelPath.ONE_TRANCHE` (blocks of draws)."""
    n_draws = x.pay.shape[0]
    n_blocks = (n_draws + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):
        _one_tranche_draws(b * _BLOCK, min((b + 1) * _BLOCK, n_draws), x, tr, fees,
                           excess_to, life, out)


_one_tranche_parallel = numba.njit(cache=True, nogil=True, parallel=True)(_one_tranche_kernel)
_one_tranche_serial = numba.njit(cache=True, nogil=True)(_one_tranche_kernel)
