"""The outcome-payment computation: triggers committed one by one under rules, gate and caps.

This is the engine behind :meth:`sibsim.money.contract.Contract.outcome_payments` (the public
entry point, which validates its inputs first). Every step is vectorised over Monte Carlo draws
(axis 0, ``D``); amounts are in the contract currency.

Triggers and rate-card payments are committed in order of period: within a period, the
triggers first (in table order), then each rate card's payment for achievements of that period
(in the contract's order).

Cap order, for each trigger:

1. pricing rule (``MetricTerms.rule``, or ``pooled_rule`` for a cumulative trigger);
2. significance gate (a failed gate pays 0);
3. per-person cap: the smaller of ``Caps.per_person`` and ``MetricTerms.per_person_cap``,
   times the trigger's ``participants``;
4. cumulative top-up: a cumulative trigger pays its amount minus what has already been
   committed under the metric, floored at 0;
5. metric cap (``MetricTerms.cap``) on the amount committed under the metric;
6. contract total cap (``Caps.total``) on the amount committed under the contract;
7. lag, the contract's payment dates (``Contract.payment_periods``: an amount is paid on the
   first date at or after it falls due), then the overflow rule for payment periods after
   the horizon or the last payment date (``Contract.overflow``: ``"last"`` pays them in the
   last period, ``"drop"`` leaves them out of the horizon);
8. per-period cap (``Caps.per_period``) on the total paid in the payment period; an
   amount cut by it is forfeited (a later cumulative trigger of the same metric may top
   it up, because only amounts actually committed count as paid).

For a rate card (:class:`~sibsim.money.ratecard.RateCard`), the amount of a period is the
achievements of the period times their prices (by stratum and period), each stratum's
cumulative amount stopped at the per-person cap (the smaller of ``RateCard.per_person_cap`` and
``Caps.per_person``) times the stratum's treated participants; then steps 5-8 above, with the
rate card's own ``cap`` as the metric cap. There is no gate and no top-up.

"Committed" means paid in the horizon or falling after it (``beyond_horizon``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from sibsim.money._arrays import readonly, sum_axis1
from sibsim.money.kernels.chain import LedgerArrays, book_due, book_trigger
from sibsim.money.results import Achievements, EvaluationTable, PaymentResult

if TYPE_CHECKING:
    from sibsim.money.contract import Contract, MetricTerms

__all__ = ["PaymentLedger", "compute_payments", "payment_period", "per_person_cap"]

FloatArray = NDArray[np.float64]


class PaymentLedger:
    """Running totals while triggers are committed, all arrays over draws.

    Parameters
    ----------
    d, m, p, k : int
        Draws, metrics, payment periods and triggers.
    per_period : array (P,)
        Per-period cap (currency; inf where uncapped).
    total_cap : float or None
        Contract total cap (currency).
    """

    def __init__(
        self, d: int, m: int, p: int, k: int, per_period: FloatArray, total_cap: float | None
    ) -> None:
        self.by_metric = np.zeros((d, m, p))
        self.by_trigger = np.zeros((d, k))
        self.beyond = np.zeros((d, m))
        self.committed_metric = np.zeros((d, m))
        self.committed_total = np.zeros(d)
        self.paid_in_period = np.zeros((d, p))
        self.per_period = per_period
        self.total_cap = math.inf if total_cap is None else total_cap
        self.n_periods = p
        #: book with the kernel (float caps); the numpy steps otherwise
        self._kernel = isinstance(self.total_cap, float) and np.asarray(per_period).dtype == float

    def _arrays(self) -> LedgerArrays:
        return LedgerArrays(self.by_metric, self.by_trigger, self.beyond, self.committed_metric,
                            self.committed_total, self.paid_in_period)

    def book_trigger(self, contract: Contract, table: EvaluationTable, k: int, m: int,
                     terms: MetricTerms, period: int | None, beyond: bool) -> bool:
        """What trigger ``k`` is due (:func:`_trigger_due`), committed as :meth:`commit`
        does, in one pass over the draws (:func:`~sibsim.money.kernels.chain.book_trigger`):
        the same numbers. False, with nothing booked, where the kernel does not apply (a
        pricing rule without :meth:`~sibsim.money.pricing.PricingRule.kernel_terms`, caps
        that are not plain numbers, arrays of another type)."""
        cumulative = table.cumulative[k]
        rule = terms.rule_for(cumulative).kernel_terms()
        per_person = per_person_cap(contract, terms)
        cap = terms.cap
        if (rule is None or not self._kernel or table.gate is None
                or not all(isinstance(x, int | float)
                           for x in (per_person, 0.0 if cap is None else cap))
                or table.measured_effect.dtype != np.float64 or table.units.dtype != np.float64
                or table.gate.dtype != np.bool_):
            return False
        book_trigger(table.measured_effect[:, k], table.units[:, k], table.gate[:, k], rule,
                     float(per_person * table.participants[k]) if per_person < math.inf
                     else math.inf, bool(cumulative), m, k, -1 if period is None else period,
                     beyond, math.inf if cap is None else float(cap), self.total_cap,
                     math.inf if period is None else float(self.per_period[period]),
                     self._arrays())
        return True

    def commit(
        self,
        k: int | None,
        m: int,
        due: FloatArray,
        period: int | None,
        beyond: bool,
        metric_cap: float | None,
    ) -> None:
        """Apply metric, total and per-period caps to ``due`` and book it.

        ``period`` is the payment period (None: after the horizon and dropped, so no
        per-period cap applies); ``beyond`` marks an amount due after the horizon; ``k`` is
        the trigger (None for a rate-card payment).
        """
        if self._kernel:  # the same steps, draw by draw (chain.book_due)
            book_due(np.asarray(due, dtype=np.float64), m, -1 if k is None else k,
                     -1 if period is None else period, beyond,
                     math.inf if metric_cap is None else float(metric_cap), self.total_cap,
                     math.inf if period is None else float(self.per_period[period]),
                     LedgerArrays(self.by_metric, self.by_trigger, self.beyond,
                                  self.committed_metric, self.committed_total,
                                  self.paid_in_period))
            return
        if metric_cap is not None:
            due = np.minimum(due, np.maximum(metric_cap - self.committed_metric[:, m], 0.0))
        # an infinite cap leaves ``due`` as it is (min(x, inf) is x, NaN included; what is
        # booked is finite: _trigger_due zeroes non-finite amounts, rate cards multiply
        # finite counts by prices), so it is skipped: the same numbers, bit for bit
        if self.total_cap < math.inf:
            due = np.minimum(due, np.maximum(self.total_cap - self.committed_total, 0.0))
        if period is not None:
            if self.per_period[period] < math.inf:
                room = np.maximum(self.per_period[period] - self.paid_in_period[:, period], 0.0)
                due = np.minimum(due, room)
            self.paid_in_period[:, period] += due
            self.by_metric[:, m, period] += due
        if beyond:
            self.beyond[:, m] += due
        if k is not None:
            self.by_trigger[:, k] = due
        self.committed_metric[:, m] += due
        self.committed_total += due


def payment_period(period: int, lag: int, overflow: str, n_periods: int,
                   dates: tuple[int, ...] | None = None) -> tuple[int | None, bool]:
    """Payment period of an amount of a result known in ``period`` (None: dropped) and whether
    it falls after the horizon or the last payment date: due in ``period + lag``, paid on the
    first of ``dates`` at or after that (every period a date when ``dates`` is None), and
    after the last date or the horizon as ``overflow`` says (``"last"``: the last period).

    >>> payment_period(2, 1, "last", 10, (3, 7)), payment_period(7, 1, "drop", 10, (3, 7))
    ((3, False), (None, True))
    """
    q = period + lag
    if dates is not None:
        for d in dates:
            if q <= d < n_periods:
                return d, False
        q = max(q, n_periods)  # after the last payment date: as if after the horizon
    if q < n_periods:
        return q, False
    return (n_periods - 1 if overflow == "last" else None), True


def per_person_cap(contract: Contract, terms: MetricTerms) -> float:
    """The per-participant cap of a metric's triggers (currency): the smaller of the
    contract's and the metric's (inf: none)."""
    caps = contract.caps
    return min(math.inf if caps.per_person is None else caps.per_person,
               math.inf if terms.per_person_cap is None else terms.per_person_cap)


def _trigger_due(
    contract: Contract, table: EvaluationTable, k: int, terms: MetricTerms,
    committed: FloatArray,
) -> FloatArray:
    """Amount due on trigger k after rule, gate, per-person cap and cumulative top-up."""
    cumulative = table.cumulative[k]
    rule = terms.rule_for(cumulative)
    due = np.asarray(
        rule.due(
            table.measured_effect[:, k],
            table.units[:, k],
            table.avoided_cost[:, k],
            0.0 if cumulative else committed,
        ),
        dtype=np.float64,
    )
    due = np.where(table.gate[:, k] & np.isfinite(due), np.maximum(due, 0.0), 0.0)
    per_person = per_person_cap(contract, terms)
    if per_person < math.inf:
        due = np.minimum(due, per_person * table.participants[k])
    if cumulative:
        due = np.maximum(due - committed, 0.0)
    return due


def _rate_card_due(contract: Contract, achievements: Achievements | None) -> list[FloatArray]:
    """Amount due on each rate card by period of achievement, (D, P) each, after the prices and
    the per-person cap."""
    if not contract.rate_cards:
        return []
    assert achievements is not None  # checked by Contract.outcome_payments
    return [card.amounts(achievements.counts[:, r], achievements.strata,
                         achievements.participants, contract.caps.per_person)
            for r, card in enumerate(contract.rate_cards)]


def compute_payments(contract: Contract, table: EvaluationTable, n_periods: int,
                     achievements: Achievements | None = None) -> PaymentResult:
    """Outcome payments of ``contract`` for ``table`` over ``n_periods`` (inputs already checked).

    Every metric of ``table`` must have terms in ``contract``, ``n_periods >= 1`` and, with rate
    cards, ``achievements`` must match them; use
    :meth:`~sibsim.money.contract.Contract.outcome_payments`, which checks all three.
    """
    index = {m: i for i, m in enumerate(contract.metrics)}
    n_terms = len(contract.terms)
    ledger = PaymentLedger(
        table.n_draws,
        n_terms + len(contract.rate_cards),
        n_periods,
        table.n_triggers,
        contract.caps.per_period_array(n_periods),
        contract.caps.total,
    )
    card_due = _rate_card_due(contract, achievements)
    # (period, 0 = trigger / 1 = rate card, index); a stable sort keeps table order in a period
    items = [(table.period[k], 0, k) for k in range(table.n_triggers)]
    items += [(t, 1, r) for r in range(len(card_due)) for t in range(n_periods)]
    for when, what, i in sorted(items, key=lambda item: item[:2]):
        period, beyond = contract.payment_period(when, n_periods)
        if what == 0:
            m = index[table.metric[i]]
            terms = contract.terms[m]
            if not ledger.book_trigger(contract, table, i, m, terms, period, beyond):
                due = _trigger_due(contract, table, i, terms, ledger.committed_metric[:, m])
                ledger.commit(i, m, due, period, beyond, terms.cap)
        else:
            ledger.commit(None, n_terms + i, card_due[i][:, when], period, beyond,
                          contract.rate_cards[i].cap)
    return PaymentResult(
        total=readonly(sum_axis1(ledger.by_metric)),
        by_metric=readonly(ledger.by_metric),
        by_trigger=readonly(ledger.by_trigger),
        beyond_horizon=readonly(ledger.beyond),
        metrics=contract.payment_labels,
        currency=contract.currency,
        overflow=contract.overflow,
    )
