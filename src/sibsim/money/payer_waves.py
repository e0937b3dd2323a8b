"""Payers by entry wave (cohort): a payer's shares applying to some cohorts' payments only.

Some contracts give each cohort its own payers. In Utah's High Quality Preschool SIB, United
Way of Salt Lake and Salt Lake County paid the outcome payments of the first cohort, the State
of Utah those of the later cohorts. :class:`~sibsim.money.payers.Payer` has ``waves``: the
entry waves (0-based, one per element of ``[cohort] entry``) whose outcome payments its
``shares`` apply to; a payer without ``waves`` shares every wave's payments.

How the payments are split
--------------------------
Each per-wave result (trigger) of an evaluation measures one entry wave, and the contract's
payment on it (after the contract's own caps: ``PaymentResult.by_trigger``) is paid in its
payment period. :func:`payments_by_wave` adds these up by metric, wave and payment period,
(D, M, W, P); its sum over the waves is the contract's ``by_metric``. Payer ``y`` is due
``sum_m sum_w share[y, m] * covers[y, w] * by_wave[d, m, w, p]``; because the shares of each
metric over the payers covering a wave sum to 1 (:func:`check_payer_waves`), the payers
together are due exactly what the contract pays (up to rounding). Payer caps, years
(``first_year``/``last_year``) and savings work as before.

A savings share tied to the investors' claim (``claim_share``) is paid in the capital
waterfall, period by period, on the avoided cost of the results paid in that period. Its
payment in a period is attributed to the waves in proportion to each wave's avoided cost
shared in that period: the tier boundary is the investors' claim over all cohorts together, so
every unit of avoided cost shared in one period is paid at that period's (blended) rate.

A pooled result (``pooled = true``, or a ``to_date`` netting) covers every wave at once and
has no single cohort: a deal with payers by wave needs ``pooled = false`` in every evaluation.
Rate cards are not counted by wave: a deal with payers by wave has none.

Examples
--------
Cohort 1's payments go to the county, the others' to the state:

>>> from sibsim.money.payers import Payer
>>> county = Payer("county", 1.0, waves=[0])
>>> state = Payer("state", 1.0, waves=[1, 2])
>>> check_payer_waves((county, state), ["m"], n_waves=3)
>>> check_payer_waves((county,), ["m"], n_waves=3)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: Deal.payers.shares[m] for wave 1: got 0.0; allowed: shares of metric 'm' ...
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from sibsim.money.payers import SHARE_TOLERANCE, Payer
from sibsim.money.payment_ledger import payment_period
from sibsim.money.results import EvaluationTable, PaymentResult
from sibsim.spec import _validate as v

if TYPE_CHECKING:
    from sibsim.money.deal import Deal

__all__ = ["by_wave", "check_payer_waves", "payments_by_wave", "wave_payments"]

FloatArray = NDArray[np.float64]


def by_wave(payers: Sequence[Payer]) -> bool:
    """True when some payer's shares apply to some entry waves only."""
    return any(p.waves is not None for p in payers)


def check_payer_waves(payers: Sequence[Payer], metrics: Sequence[str], n_waves: int,
                      evaluations: Sequence[object] = (), rate_cards: Sequence[str] = (),
                      presence: NDArray[np.bool_] | None = None,
                      years: np.ndarray | None = None, field: str = "Deal.payers") -> None:
    """Refuse payers by wave that do not fit the deal (``ValueError`` naming the key).

    Every wave named exists (``0 <= w < n_waves``); no evaluation has a pooled or to-date
    result (they cover every wave at once); the contract has no rate cards; for each metric,
    each wave (and, with payers present in some years only, each calendar year of ``years``,
    ``presence`` (Y, P) as :func:`sibsim.money.payer_scope.presence`) the shares over the
    payers covering that wave (and present) sum to 1.
    """
    if not by_wave(payers):
        return
    for i, p in enumerate(payers):
        for w in p.waves or ():
            if w >= n_waves:
                raise v.fail(f"{field}[{i}].waves", w, f"entry waves 0 to {n_waves - 1} of "
                             f"the cohort (0-based, one per element of [cohort] entry)")
        if p.waves is not None and rate_cards:
            raise v.fail(f"{field}[{i}].waves", list(p.waves), "none when the contract has "
                         f"rate cards ({', '.join(rate_cards)}): achievements are not counted "
                         "by entry wave")
    for j, ev in enumerate(evaluations):
        for key in ("pooled", "to_date"):
            if getattr(ev, key, False):
                raise v.fail(f"Deal.evaluations[{j}].{key}", True, "false when payers are "
                             "given by entry wave (Payer.waves): such a result covers every "
                             "wave at once, so its payment belongs to no one cohort")
    cover = np.stack([p.wave_mask(n_waves) > 0 for p in payers])  # (Y, W)
    columns: list[tuple[str, NDArray[np.bool_]]] = [("", np.ones(len(payers), dtype=bool))]
    if presence is not None and years is not None:
        columns = [(f" in {int(year)}", presence[:, int(np.flatnonzero(years == year)[0])])
                   for year in np.unique(years)]
    for m in metrics:
        shares = np.array([p.share_of(m) for p in payers])
        for w in range(n_waves):
            for when, here in columns:
                who = cover[:, w] & here
                total = math.fsum(shares[who])
                if abs(total - 1.0) > SHARE_TOLERANCE:
                    names = ", ".join(f"{p.name} {s:g}" for p, s, c in
                                      zip(payers, shares, who, strict=True) if c)
                    raise v.fail(f"{field}.shares[{m}] for wave {w}{when}", round(total, 12),
                                 f"shares of metric {m!r} summing to 1 over the payers "
                                 f"covering wave {w} ({names or 'none'})")


def payments_by_wave(pay: PaymentResult, table: EvaluationTable, lag: int,
                     n_waves: int, dates: tuple[int, ...] | None = None) -> FloatArray:
    """The contract's payments by metric, entry wave and payment period, (D, M, W, P).

    Parameters
    ----------
    pay : PaymentResult
        The contract's payments (``by_trigger`` after its caps).
    table : EvaluationTable
        The results paid, with ``waves`` (one wave per trigger).
    lag : int
        The contract's payment lag (periods).
    n_waves : int
        Entry waves ``W`` of the cohort.
    dates : sequence of int, optional
        The contract's payment dates (``Contract.payment_periods``).

    Examples
    --------
    >>> from sibsim.money import Contract, MetricTerms, PricePerUnit
    >>> c = Contract((MetricTerms("m", PricePerUnit(10.0)),))
    >>> t = EvaluationTable(("m", "m"), (0, 1), (False, False), (5, 5),
    ...                     measured_effect=[[0.2, 0.2]], units=[[1.0, 3.0]], waves=((0,), (1,)))
    >>> payments_by_wave(c.outcome_payments(t, 2), t, 0, 2)[0, 0].tolist()
    [[10.0, 0.0], [0.0, 30.0]]
    """
    if table.waves is None:
        raise v.fail("payments_by_wave.table.waves", None, "the waves of each trigger "
                     "(an EvaluationTable from sibsim.money.evaluation.evaluate)")
    D, M, P = pay.by_metric.shape
    index = {m: i for i, m in enumerate(pay.metrics)}
    out = np.zeros((D, M, n_waves, P))
    for k in range(table.n_triggers):
        waves = table.waves[k]
        if len(waves) != 1:
            raise v.fail(f"payments_by_wave.table.waves[{k}]", list(waves),
                         "one entry wave per trigger (no pooled results)")
        q = payment_period(table.period[k], lag, pay.overflow, P, dates)[0]
        if q is not None:
            out[:, index[table.metric[k]], waves[0], q] += pay.by_trigger[:, k]
    return out


def wave_payments(deal: Deal, table: EvaluationTable, pay: PaymentResult, n_periods: int,
                  claim: FloatArray | None = None) -> FloatArray | None:
    """:func:`payments_by_wave` of a deal's run, or None when no payer is given by wave.

    ``claim`` (D, P): a claim-tied share paid in the waterfall, attributed to the waves in
    proportion to each wave's avoided cost shared in each period.
    """
    payers = deal.effective_payers
    if not by_wave(payers):
        return None
    contract = deal.contract
    assert contract is not None
    n_waves = deal.scenario.cohort.n_waves
    if claim is None:
        return payments_by_wave(pay, table, contract.lag, n_waves, contract.payment_periods)
    from sibsim.money.termination import _claim_arrays, paid_in_waterfall

    assert table.waves is not None
    wave_of = np.array([w[0] for w in table.waves])
    avoided = np.stack([
        _claim_arrays(contract, dataclasses.replace(
            table, gate=table.gate & (wave_of == w)[None]), n_periods).avoided
        for w in range(n_waves)], axis=1)  # (D, W, P)
    out = payments_by_wave(pay, table, contract.lag, n_waves, contract.payment_periods)
    m = next(i for i, t in enumerate(contract.terms) if paid_in_waterfall(t.rule))
    total = avoided.sum(axis=1, keepdims=True)
    weight = np.divide(avoided, total, out=np.zeros_like(avoided), where=total > 0)
    out[:, m] += weight * np.asarray(claim)[:, None, :]
    return out
