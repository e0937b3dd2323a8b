"""Pricing rules: the amount due on one evaluation result ("trigger") of an outcomes contract.

A pricing rule is a :class:`PricingRule` (a :class:`~sibsim.spec.variant.Spec`) registered in
:data:`PRICING_RULES` by its TOML ``kind``. Its one method, :meth:`PricingRule.due`, is
vectorised over Monte Carlo draws. The contract (:mod:`sibsim.money.contract`) applies the
gate, caps and lag afterwards.

Units: effects and thresholds are fractions (``0.10`` = 10% fewer events than the
counterfactual), amounts are in the contract currency, ``units`` are outcome units (events
avoided, successes, person-periods in a state).

Adding a rule is one class and one ``@PRICING_RULES.register`` line (see
``docs/extending.md``).

Examples
--------
>>> PRICING_RULES.names()
('price_per_unit', 'steps', 'linear', 'savings_share', 'claim_share')
>>> rule = PRICING_RULES["price_per_unit"](price=1000.0, threshold=0.10)
>>> rule.due([0.12, 0.09], units=[186.0, 140.0]).tolist()
[186000.0, 0.0]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sibsim.money.kernels.chain import PriceTerms
from sibsim.spec import _validate as v
from sibsim.spec.toml import KeyProblem, Section
from sibsim.spec.variant import Registry, Spec, param

__all__ = [
    "PRICING_RULES",
    "ClaimShare",
    "LinearFloorCap",
    "PricePerUnit",
    "PricingRule",
    "SavingsShare",
    "StepSchedule",
]

FloatArray = NDArray[np.float64]

#: Pricing rules by TOML ``kind`` (``rule = {kind = "steps", ...}`` in ``[[contract.terms]]``).
PRICING_RULES = Registry("pricing rule")

#: A currency amount (price, payment): finite and >= 0.
AMOUNT = v.interval(0.0, math.inf)
#: A measured effect or an effect threshold: a fraction, 0.10 = 10% (10 meant as 10% is refused).
EFFECT = v.fraction()


def _broadcast(*values: ArrayLike) -> list[FloatArray]:
    return list(np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in values)))


class PricingRule(Spec):
    """Base of the pricing rules: the amount due on one trigger, for every draw.

    A subclass is a frozen dataclass with a ``kind`` (its TOML name), fields declared with
    :func:`~sibsim.spec.variant.param`, and :meth:`due`. Register it with
    ``@PRICING_RULES.register`` to make it readable from scenario files.
    """

    kind: ClassVar[str] = ""

    def due(
        self,
        measured_effect: ArrayLike,
        units: ArrayLike = 0.0,
        avoided_cost: ArrayLike = 0.0,
        paid_to_date: ArrayLike = 0.0,
    ) -> FloatArray:
        """Amount due (currency) for each draw.

        Parameters
        ----------
        measured_effect : array (D,)
            Measured relative improvement, a fraction (may be negative).
        units : array (D,)
            Outcome units attributable (may be negative).
        avoided_cost : array (D,)
            Currency value of the avoided outcomes.
        paid_to_date : array (D,)
            Already committed under the metric (currency); a cumulative trigger passes 0.

        Returns
        -------
        array (D,)
            Currency, never negative, non-decreasing in ``measured_effect``, ``units`` and
            ``avoided_cost`` (a rule may rely on how an evaluation links them instead: a
            :class:`PricePerUnit` with a ``ceiling`` is non-decreasing along
            ``units = measured_effect x counterfactual units``). Any broadcastable shapes are
            accepted.
        """
        raise NotImplementedError(f"{type(self).__name__}.due")

    def kernel_terms(self) -> PriceTerms | None:
        """The rule as the scalars of :func:`sibsim.money.kernels.chain.book_trigger`, which
        then computes :meth:`due` draw by draw with the steps after it; None (the default):
        the rule has no such form, and :meth:`due` is called."""
        return None


@PRICING_RULES.register
@dataclass(frozen=True)
class PricePerUnit(PricingRule):
    """A price per outcome unit (event avoided, success, person-period in a state).

    Pays ``price x max(units, 0)`` when ``measured_effect >= threshold``, else 0. With a
    ``ceiling`` on the measured effect, the units counted stop growing once the effect reaches
    it: ``price x max(units, 0) x min(effect, ceiling) / effect`` (Denver's jail-day payments
    scale from a 20% to a 65% reduction).
    TOML: ``rule = {kind = "price_per_unit", price = 12_500, threshold = 0.10}``, or with a
    ceiling ``rule = {kind = "price_per_unit", price = 1_500, threshold = 0.20,
    ceiling = 0.65}``.

    Parameters
    ----------
    price : float
        Currency per outcome unit, >= 0.
    threshold : float or None, default 0.0
        Minimum measured effect (fraction) for any payment; None pays unconditionally.
    ceiling : float or None, default None
        Measured effect (fraction, > 0 and > ``threshold``) beyond which no more units are paid
        for. None: no ceiling (every unit is paid for).

    Notes
    -----
    In an evaluation, ``units / measured_effect`` is the counterfactual's outcome units, so
    with a ceiling the amount is ``price x min(units, ceiling x counterfactual units)``: it
    never decreases as the service does better. Holding ``units`` fixed while the effect
    rises above the ceiling (which no evaluation produces) lowers it.

    Examples
    --------
    Peterborough-like: GBP 1,000 per reconviction event avoided if events fall by >= 10%.

    >>> rule = PricePerUnit(price=1000.0, threshold=0.10)
    >>> rule.due([0.12, 0.09], units=[186.0, 140.0]).tolist()
    [186000.0, 0.0]

    Denver-like: USD 1,000 per jail day avoided from a 20% reduction, counted up to 65%. An
    80% reduction that avoided 800 days (of 1,000 expected) pays for 650 of them:

    >>> denver = PricePerUnit(price=1000.0, threshold=0.20, ceiling=0.65)
    >>> denver.due([0.19, 0.20, 0.65, 0.80], units=[190.0, 200.0, 650.0, 800.0]).tolist()
    [0.0, 200000.0, 650000.0, 650000.0]
    """

    kind = "price_per_unit"

    def kernel_terms(self) -> PriceTerms | None:
        """:meth:`due` as scalars (None when a term holds per-draw values).

        >>> PricePerUnit(price=1000.0, threshold=0.10).kernel_terms()
        PriceTerms(price=1000.0, has_ceiling=False, ceiling=0.0, has_threshold=True, threshold=0.1)
        """
        terms = (self.price, self.ceiling, self.threshold)
        if not all(x is None or (isinstance(x, int | float) and not isinstance(x, bool))
                   for x in terms):
            return None
        return PriceTerms(float(self.price), self.ceiling is not None,
                          float(self.ceiling or 0.0), self.threshold is not None,
                          float(self.threshold or 0.0))

    price: float = param(AMOUNT, doc="currency per outcome unit")
    threshold: float | None = param(v.optional(EFFECT), default=0.0,
                                    doc="minimum measured effect (fraction); None: always pay")
    ceiling: float | None = param(v.optional(v.fraction(0.0, 1.0, low_open=True)), default=None,
                                  doc="measured effect (fraction) beyond which no more units "
                                      "are paid for; None: no ceiling")

    def validate(self) -> None:
        """``ceiling > threshold`` when both are given."""
        if (self.ceiling is not None and self.threshold is not None
                and self.ceiling <= self.threshold):
            raise v.fail("PricePerUnit.ceiling", self.ceiling, f"> threshold={self.threshold}")

    def due(
        self,
        measured_effect: ArrayLike,
        units: ArrayLike = 0.0,
        avoided_cost: ArrayLike = 0.0,
        paid_to_date: ArrayLike = 0.0,
    ) -> FloatArray:
        """Amount due (currency) for each draw."""
        effect, units_, _, _ = _broadcast(measured_effect, units, avoided_cost, paid_to_date)
        amount = self.price * np.maximum(units_, 0.0)
        if self.ceiling is not None:
            # beyond the ceiling the units counted are units x ceiling / effect (effect > 0 there)
            over = effect > self.ceiling
            amount = np.where(over, amount * (self.ceiling / np.where(over, effect, 1.0)),
                              amount)
        if self.threshold is not None:
            amount = np.where(effect >= self.threshold, amount, 0.0)
        return amount


@PRICING_RULES.register
@dataclass(frozen=True)
class StepSchedule(PricingRule):
    """A payment table on the measured effect (e.g. NYC ABLE, Massachusetts).

    Pays ``payments[k]`` for the largest ``thresholds[k] <= measured_effect``; 0 below the
    first threshold. The amounts are lump sums for the trigger, not per unit.
    TOML: ``rule = {kind = "steps", thresholds = [0.085, 0.10], payments = [4.8e6, 9.6e6]}``.

    Parameters
    ----------
    thresholds : sequence of float
        Measured-effect steps (fractions), strictly increasing.
    payments : sequence of float
        Currency paid from each step on, non-decreasing, >= 0; same length as ``thresholds``.

    Examples
    --------
    Steps at 8.5%, 10% and 20% (illustrative amounts, USD):

    >>> rule = StepSchedule(thresholds=(0.085, 0.10, 0.20), payments=(4.8e6, 9.6e6, 11.712e6))
    >>> rule.due([0.05, 0.085, 0.15, 0.25]).tolist()
    [0.0, 4800000.0, 9600000.0, 11712000.0]
    """

    kind = "steps"

    thresholds: tuple[float, ...] = param(v.vector(EFFECT),
                                          doc="measured-effect steps (fractions), increasing")
    payments: tuple[float, ...] = param(v.vector(AMOUNT),
                                        doc="currency paid from each step on, non-decreasing")

    def validate(self) -> None:
        """Thresholds strictly increasing; payments non-decreasing, one per threshold."""
        th, pay = self.thresholds, self.payments
        if any(b <= a for a, b in itertools.pairwise(th)):
            raise v.fail("StepSchedule.thresholds", th, "strictly increasing values")
        if any(b < a for a, b in itertools.pairwise(pay)):
            raise v.fail("StepSchedule.payments", pay, "non-decreasing values")
        if len(pay) != len(th):
            raise v.fail("StepSchedule.payments", pay, f"one per threshold ({len(th)} values)")

    def due(
        self,
        measured_effect: ArrayLike,
        units: ArrayLike = 0.0,
        avoided_cost: ArrayLike = 0.0,
        paid_to_date: ArrayLike = 0.0,
    ) -> FloatArray:
        """Amount due (currency) for each draw."""
        effect, *_ = _broadcast(measured_effect, units, avoided_cost, paid_to_date)
        table = np.concatenate(([0.0], self.payments))
        step = np.searchsorted(np.asarray(self.thresholds), effect, side="right")
        return np.where(np.isnan(effect), 0.0, table[step])


@PRICING_RULES.register
@dataclass(frozen=True)
class LinearFloorCap(PricingRule):
    """A payment linear in the measured effect between a floor and a cap (e.g. Denver jail days).

    Pays 0 below ``floor_effect``; ``floor_payment`` at it, rising linearly to
    ``cap_payment`` at ``cap_effect``; ``cap_payment`` above. Lump sums, not per unit.
    TOML: ``rule = {kind = "linear", floor_effect = 0.2, cap_effect = 0.6, floor_payment = 1e5,
    cap_payment = 5e5}``.

    Parameters
    ----------
    floor_effect, cap_effect : float
        Measured effects (fractions), ``floor_effect < cap_effect``.
    floor_payment, cap_payment : float
        Currency, ``0 <= floor_payment <= cap_payment``.

    Examples
    --------
    >>> rule = LinearFloorCap(0.25, 0.75, floor_payment=100_000.0, cap_payment=900_000.0)
    >>> rule.due([0.1, 0.25, 0.5, 0.8]).tolist()
    [0.0, 100000.0, 500000.0, 900000.0]
    """

    kind = "linear"

    floor_effect: float = param(EFFECT, doc="measured effect (fraction) where payment starts")
    cap_effect: float = param(EFFECT, doc="measured effect (fraction) where payment tops out")
    floor_payment: float = param(AMOUNT, doc="currency paid at the floor")
    cap_payment: float = param(AMOUNT, doc="currency paid at and above the cap")

    def validate(self) -> None:
        """``floor_effect < cap_effect`` and ``floor_payment <= cap_payment``."""
        if self.cap_effect <= self.floor_effect:
            raise v.fail("LinearFloorCap.cap_effect", self.cap_effect,
                         f"> floor_effect={self.floor_effect}")
        if self.cap_payment < self.floor_payment:
            raise v.fail("LinearFloorCap.cap_payment", self.cap_payment,
                         f">= floor_payment={self.floor_payment}")

    def due(
        self,
        measured_effect: ArrayLike,
        units: ArrayLike = 0.0,
        avoided_cost: ArrayLike = 0.0,
        paid_to_date: ArrayLike = 0.0,
    ) -> FloatArray:
        """Amount due (currency) for each draw."""
        effect, *_ = _broadcast(measured_effect, units, avoided_cost, paid_to_date)
        # effects lie in [-1, 1], so only a tiny cap - floor overflows the quotient, to +-inf,
        # which the clip maps to the right end: exact, and no RuntimeWarning
        with np.errstate(over="ignore"):
            frac = np.clip((effect - self.floor_effect) / (self.cap_effect - self.floor_effect),
                           0, 1)
        amount = self.floor_payment + (self.cap_payment - self.floor_payment) * frac
        return np.where(effect >= self.floor_effect, amount, 0.0)


class _Tier(v.Constraint):
    """One ``(share, up_to)`` tier of a savings share; ``up_to`` None (or inf) is open."""

    description = "a (share, up_to) pair: share in (0, 1], up_to > 0 or None"
    share = v.fraction(0.0, 1.0, low_open=True)
    up_to = v.interval(0.0, math.inf, low_open=True)

    def __call__(self, field: str, value: object) -> tuple[float, float]:
        if (isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray))
                or len(value) != 2):
            raise TypeError(str(v.fail(field, value, self.description)))
        share, up_to = value
        if up_to is None or (isinstance(up_to, float) and up_to == math.inf):
            return self.share(f"{field}.share", share), math.inf
        return self.share(f"{field}.share", share), self.up_to(f"{field}.up_to", up_to)


def _read_tiers(sec: Section, key: str) -> Any:
    """TOML tiers: ``[[share, up_to], ..., [share]]``; a one-item ``[share]`` is an open tier."""
    raw = sec.get(key)
    if not isinstance(raw, list):
        raise KeyProblem(sec.path(key), "expected a list of [share, up_to] pairs (the last "
                         "may be [share], an open tier)")
    return tuple((t[0], None) if isinstance(t, list) and len(t) == 1
                 else tuple(t) if isinstance(t, list) else t for t in raw)


@PRICING_RULES.register
@dataclass(frozen=True)
class SavingsShare(PricingRule):
    """A tiered share of the avoided cost (e.g. Utah preschool: 95%, then 40%).

    Tier boundaries are on cumulative payments under the metric: tier ``j`` applies while
    the cumulative amount committed is below ``up_to[j]``. A payment that crosses a
    boundary is split exactly: the part of the avoided cost needed to reach the boundary is
    paid at the lower tier's share, the rest at the next tier's share.
    TOML: ``rule = {kind = "savings_share", tiers = [[0.95, 7_350_000], [0.40]]}`` (a one-item
    tier ``[share]`` is open).

    Parameters
    ----------
    tiers : sequence of (share, up_to) pairs
        ``share`` in (0, 1] (fraction of avoided cost paid); ``up_to`` the cumulative
        payment (currency) at which the tier ends, strictly increasing; ``None`` (or inf)
        for an open last tier (stored as inf). If the last tier is bounded, nothing is paid
        beyond it.
    threshold : float or None, default None
        Minimum measured effect (fraction) for any payment; None pays whenever avoided cost > 0.

    Examples
    --------
    95% of avoided cost until payments reach 100, then 40%. With 90 already paid, an avoided
    cost of 20 pays 10 at 95% (using 10/0.95 of avoided cost) and 40% of the remaining
    20 - 10/0.95:

    >>> rule = SavingsShare(tiers=((0.95, 100.0), (0.40, None)))
    >>> round(float(rule.due(0.0, avoided_cost=20.0, paid_to_date=90.0)), 6)
    13.789474
    """

    kind = "savings_share"

    tiers: tuple[tuple[float, float], ...] = param(
        v.vector(_Tier()), reader=_read_tiers,
        doc="(share of avoided cost, cumulative payment up to which it applies) pairs")
    threshold: float | None = param(v.optional(EFFECT), default=None,
                                    doc="minimum measured effect (fraction); None: always pay")

    def validate(self) -> None:
        """Tier ends ``up_to`` strictly increasing."""
        for j in range(1, len(self.tiers)):
            if self.tiers[j][1] <= self.tiers[j - 1][1]:
                raise v.fail(f"SavingsShare.tiers[{j}].up_to", self.tiers[j][1],
                             f"> the previous tier's up_to={self.tiers[j - 1][1]}")

    def due(
        self,
        measured_effect: ArrayLike,
        units: ArrayLike = 0.0,
        avoided_cost: ArrayLike = 0.0,
        paid_to_date: ArrayLike = 0.0,
    ) -> FloatArray:
        """Amount due (currency) for each draw, given what has been paid under the metric."""
        effect, _, avoided, paid = _broadcast(measured_effect, units, avoided_cost, paid_to_date)
        remaining = np.maximum(avoided, 0.0)  # avoided cost not yet shared out
        cumulative = np.maximum(paid, 0.0)
        amount = np.zeros_like(remaining)
        for share, up_to in self.tiers:
            room = np.maximum(up_to - cumulative, 0.0)  # payment room left in this tier
            used = np.minimum(remaining, room / share)  # avoided cost consumed by the tier
            # a tier that fills pays exactly its room, so the boundary is hit exactly
            pay = np.where(used < remaining, room, share * remaining)
            amount += pay
            cumulative = cumulative + pay
            remaining = remaining - used
        if self.threshold is not None:
            amount = np.where(effect >= self.threshold, amount, 0.0)
        return amount


@PRICING_RULES.register
@dataclass(frozen=True)
class ClaimShare(PricingRule):
    """A share of avoided cost tiered on the investors' outstanding claim (e.g. Utah preschool).

    "95% of the avoided cost until the investors are repaid plus 5%, then 40%": the tier
    boundary is what the investors are still owed **at the moment of payment**, so the
    amount is computed inside the cash-flow waterfall, period by period
    (:mod:`sibsim.money.kernels.waterfall`), not by the payment ledger: :meth:`due` is 0 and
    :meth:`lower` gives the waterfall the avoided cost to share in each payment period.
    In period ``t`` the commissioner pays ``share_until_repaid x`` the avoided cost until the
    investors' outstanding amount (less the period's other outcome payments) is paid, and
    ``share_after x`` the rest of the avoided cost.
    TOML: ``rule = {kind = "claim_share", share_until_repaid = 0.95, share_after = 0.40}``.

    Parameters
    ----------
    share_until_repaid : float
        Share of the avoided cost (fraction in (0, 1]) paid while the investors are owed money.
    share_after : float
        Share of the avoided cost (fraction in [0, share_until_repaid]) paid after that.
    repaid_multiple : float or None, default None
        None: the investors are owed their claim, principal plus unpaid target return at each
        tranche's ``target_return`` (Utah: 5% a year). A multiple ``m >= 1``: they are owed
        ``m x capital drawn - cash received`` (principal plus a flat premium, e.g. 1.05),
        whatever the tranches' target returns.
    threshold : float or None, default None
        Minimum measured effect (fraction) for any payment; None pays whenever avoided cost > 0.

    Notes
    -----
    The gate, the trigger's lag and overflow, a stop of the deal (no payment on results known
    from the stop on) and the metric's ``cap`` apply; a cumulative trigger shares the avoided
    cost not yet shared under the metric. Contract-wide caps (``per_period``, ``total``,
    per-person caps) do not reach inside the waterfall, so a deal that combines them with a
    claim share is refused. At most one metric may use the rule.

    Examples
    --------
    >>> rule = ClaimShare(share_until_repaid=0.95, share_after=0.40)
    >>> rule.due(0.2, avoided_cost=1e6).tolist()   # computed in the waterfall instead
    0.0
    >>> arrays = rule.lower(measured_effect=[[0.2]], avoided_cost=[[1000.0]], gate=[[True]],
    ...                     cumulative=(False,), pay_period=(1,), n_periods=3)
    >>> arrays.avoided.tolist(), arrays.share_until, arrays.multiple
    ([[0.0, 1000.0, 0.0]], 0.95, 0.0)
    """

    kind = "claim_share"
    #: The amount is computed in the waterfall (see :meth:`lower`), not by the ledger.
    in_waterfall: ClassVar[bool] = True

    share_until_repaid: float = param(v.fraction(0.0, 1.0, low_open=True),
                                      doc="share of avoided cost until the investors are repaid")
    share_after: float = param(v.fraction(0.0, 1.0), doc="share of avoided cost after that")
    repaid_multiple: float | None = param(
        v.optional(v.interval(1.0, 10.0)), default=None,
        doc="None: owed = the claim; m: owed = m x capital drawn - cash received")
    threshold: float | None = param(v.optional(EFFECT), default=None,
                                    doc="minimum measured effect (fraction); None: always pay")

    def validate(self) -> None:
        """``share_after <= share_until_repaid``."""
        if self.share_after > self.share_until_repaid:
            raise v.fail("ClaimShare.share_after", self.share_after,
                         f"<= share_until_repaid={self.share_until_repaid}")

    def due(
        self,
        measured_effect: ArrayLike,
        units: ArrayLike = 0.0,
        avoided_cost: ArrayLike = 0.0,
        paid_to_date: ArrayLike = 0.0,
    ) -> FloatArray:
        """0 for each draw: the amount depends on the investors' claim, known in the waterfall."""
        effect, *_ = _broadcast(measured_effect, units, avoided_cost, paid_to_date)
        return np.zeros_like(effect)

    def lower(self, measured_effect: ArrayLike, avoided_cost: ArrayLike, gate: ArrayLike,
              cumulative: Sequence[bool], pay_period: Sequence[int | None], n_periods: int,
              cap: float | None = None) -> Any:
        """The waterfall's inputs: the avoided cost to share in each payment period.

        Parameters
        ----------
        measured_effect, avoided_cost : array (D, K)
            The rule's triggers, in processing order (fraction; currency).
        gate : bool array (D, K)
            False where a trigger pays nothing (failed gate, or known after a stop).
        cumulative : sequence of bool (K,)
            Pooled top-up triggers: they share the avoided cost not yet shared.
        pay_period : sequence of int or None (K,)
            Payment period of each trigger (None: after the horizon and dropped).
        n_periods : int
            Periods ``P``.
        cap : float or None
            The metric's cap over the deal (currency).

        Returns
        -------
        ClaimShareArrays
            ``avoided`` (D, P) and the shares, for :mod:`sibsim.money.kernels.waterfall`.
        """
        from sibsim.money.kernels.waterfall import ClaimShareArrays

        effect = np.asarray(measured_effect, dtype=np.float64)
        avoided = np.asarray(avoided_cost, dtype=np.float64)
        ok = np.asarray(gate, dtype=bool)
        out = np.zeros((effect.shape[0], n_periods))
        shared = np.zeros(effect.shape[0])  # avoided cost already shared under the metric
        for k, (pooled, period) in enumerate(zip(cumulative, pay_period, strict=True)):
            a = np.where(ok[:, k], np.maximum(avoided[:, k], 0.0), 0.0)
            if self.threshold is not None:
                a = np.where(effect[:, k] >= self.threshold, a, 0.0)
            if pooled:
                a = np.maximum(a - shared, 0.0)
            shared += a
            if period is not None:
                out[:, period] += a
        return ClaimShareArrays(out, self.share_until_repaid, self.share_after,
                                0.0 if self.repaid_multiple is None else self.repaid_multiple,
                                math.inf if cap is None else cap, True)
