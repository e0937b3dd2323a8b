"""The outcome-payment computation: triggers committed one by one under rules, gate and caps.

This is the engine behind :meth:`sibsim.money.contract.Contract.outcome_payments` (the public
entry point, which validates its inputs first). Every step is vectorised over Monte Carlo draws
(axis 0, ``D``); amounts are in the contract currency.

Cap order, for each trigger, in order of ``period`` (table order within a period):

1. pricing rule (``MetricTerms.rule``, or ``pooled_rule`` for a cumulative trigger);
2. significance gate (a failed gate pays 0);
3. per-person cap: the smaller of ``Caps.per_person`` and ``MetricTerms.per_person_cap``,
   times the trigger's ``participants``;
4. cumulative top-up: a cumulative trigger pays its amount minus what has already been
   committed under the metric, floored at 0;
5. metric cap (``MetricTerms.cap``) on the amount committed under the metric;
6. contract total cap (``Caps.total``) on the amount committed under the contract;
7. lag, then the overflow rule for payment periods after the horizon
   (``Contract.overflow``: ``"last"`` pays them in the last period, ``"drop"`` leaves
   them out of the horizon);
8. per-period cap (``Caps.per_period``) on the total paid in the payment period; an
   amount cut by it is forfeited (a later cumulative trigger of the same metric may top
   it up, because only amounts actually committed count as paid).

"Committed" means paid in the horizon or falling after it (``beyond_horizon``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from sibsim.money._arrays import readonly
from sibsim.money.results import EvaluationTable, PaymentResult

if TYPE_CHECKING:
    from sibsim.money.contract import Contract, MetricTerms

__all__ = ["PaymentLedger", "compute_payments"]

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

    def commit(
        self,
        k: int,
        m: int,
        due: FloatArray,
        period: int | None,
        beyond: bool,
        metric_cap: float | None,
    ) -> None:
        """Apply metric, total and per-period caps to ``due`` and book it.

        ``period`` is the payment period (None: after the horizon and dropped, so no
        per-period cap applies); ``beyond`` marks an amount due after the horizon.
        """
        if metric_cap is not None:
            due = np.minimum(due, np.maximum(metric_cap - self.committed_metric[:, m], 0.0))
        due = np.minimum(due, np.maximum(self.total_cap - self.committed_total, 0.0))
        if period is not None:
            room = np.maximum(self.per_period[period] - self.paid_in_period[:, period], 0.0)
            due = np.minimum(due, room)
            self.paid_in_period[:, period] += due
            self.by_metric[:, m, period] += due
        if beyond:
            self.beyond[:, m] += due
        self.by_trigger[:, k] = due
        self.committed_metric[:, m] += due
        self.committed_total += due


def _payment_period(contract: Contract, period: int, n_periods: int) -> tuple[int | None, bool]:
    """Payment period of a trigger (None if dropped) and whether it is after the horizon."""
    q = period + contract.lag
    if q < n_periods:
        return q, False
    return (n_periods - 1 if contract.overflow == "last" else None), True


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
    caps = contract.caps
    per_person = min(
        math.inf if caps.per_person is None else caps.per_person,
        math.inf if terms.per_person_cap is None else terms.per_person_cap,
    )
    if per_person < math.inf:
        due = np.minimum(due, per_person * table.participants[k])
    if cumulative:
        due = np.maximum(due - committed, 0.0)
    return due


def compute_payments(contract: Contract, table: EvaluationTable, n_periods: int) -> PaymentResult:
    """Outcome payments of ``contract`` for ``table`` over ``n_periods`` (inputs already checked).

    Every metric of ``table`` must have terms in ``contract`` and ``n_periods >= 1``; use
    :meth:`~sibsim.money.contract.Contract.outcome_payments`, which checks both.
    """
    index = {m: i for i, m in enumerate(contract.metrics)}
    ledger = PaymentLedger(
        table.n_draws,
        len(contract.terms),
        n_periods,
        table.n_triggers,
        contract.caps.per_period_array(n_periods),
        contract.caps.total,
    )
    order = sorted(range(table.n_triggers), key=lambda k: table.period[k])
    for k in order:
        m = index[table.metric[k]]
        terms = contract.terms[m]
        due = _trigger_due(contract, table, k, terms, ledger.committed_metric[:, m])
        period, beyond = _payment_period(contract, table.period[k], n_periods)
        ledger.commit(k, m, due, period, beyond, terms.cap)
    return PaymentResult(
        total=readonly(ledger.by_metric.sum(axis=1)),
        by_metric=readonly(ledger.by_metric),
        by_trigger=readonly(ledger.by_trigger),
        beyond_horizon=readonly(ledger.beyond),
        metrics=contract.metrics,
        currency=contract.currency,
        overflow=contract.overflow,
    )
