"""Outcome-payment terms of a Social Impact Bond and their vectorised evaluation.

This module turns evaluation results ("triggers") into outcome payments made by the
commissioner. Every computation is vectorised over Monte Carlo draws (axis 0, length ``D``);
money is placed on a grid of ``P`` payment periods (the period length, year, quarter or month,
is only a label).

Conventions
-----------
* Amounts are in the contract currency (``Contract.currency``); effects are fractions
  (``0.10`` = 10% fewer events than the counterfactual).
* A trigger known in period ``q`` is paid in period ``q + lag``.
* Triggers are processed in order of ``period``; triggers of the same period in table order.
  Put cohort triggers before a pooled (cumulative) top-up of the same period.
* Cap order, for each trigger (see :meth:`Contract.outcome_payments`):

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

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Caps",
    "Contract",
    "EvaluationTable",
    "LinearFloorCap",
    "MetricTerms",
    "PaymentResult",
    "PricePerUnit",
    "PricingRule",
    "SavingsShare",
    "StepSchedule",
]

FloatArray = NDArray[np.float64]
Overflow = Literal["last", "drop"]

# --------------------------------------------------------------------------------------
# validation helpers (shared with capital.py)
# --------------------------------------------------------------------------------------


def _invalid(owner: str, name: str, value: Any, allowed: str, exc: type = ValueError) -> Exception:
    """Build an error that names the field, the value given and what is allowed."""
    return exc(f"{owner}.{name}: got {value!r}; allowed: {allowed}.")


def _real(
    owner: str,
    name: str,
    value: Any,
    *,
    lo: float | None = None,
    lo_open: bool = False,
    hi: float | None = None,
    allow_inf: bool = False,
) -> float:
    """Validate a real number (not bool) and return it as float."""
    bounds = []
    if lo is not None:
        bounds.append(f"{'>' if lo_open else '>='} {lo}")
    if hi is not None:
        bounds.append(f"<= {hi}")
    allowed = "a " + ("" if allow_inf else "finite ") + "real number"
    if bounds:
        allowed += " " + " and ".join(bounds)
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise _invalid(owner, name, value, allowed, TypeError)
    x = float(value)
    if math.isnan(x) or (not allow_inf and math.isinf(x)):
        raise _invalid(owner, name, value, allowed)
    if lo is not None and (x < lo or (lo_open and x == lo)):
        raise _invalid(owner, name, value, allowed)
    if hi is not None and x > hi:
        raise _invalid(owner, name, value, allowed)
    return x


def _optional_real(owner: str, name: str, value: Any, **kw: Any) -> float | None:
    return None if value is None else _real(owner, name, value, **kw)


def _integer(owner: str, name: str, value: Any, *, lo: int | None = None) -> int:
    """Validate an integer (not bool) and return it as int."""
    allowed = "an integer" + (f" >= {lo}" if lo is not None else "")
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise _invalid(owner, name, value, allowed, TypeError)
    if lo is not None and value < lo:
        raise _invalid(owner, name, value, allowed)
    return int(value)


def _name(owner: str, name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(owner, name, value, "a non-empty string", TypeError)
    return value


def _real_tuple(owner: str, name: str, value: Any, **kw: Any) -> tuple[float, ...]:
    """Validate a non-empty sequence of reals and return it as a tuple of floats."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise _invalid(owner, name, value, "a non-empty sequence of real numbers", TypeError)
    if len(value) == 0:
        raise _invalid(owner, name, value, "a non-empty sequence of real numbers")
    return tuple(_real(owner, f"{name}[{i}]", v, **kw) for i, v in enumerate(value))


def _scalar_or_tuple(owner: str, name: str, value: Any, **kw: Any) -> float | tuple[float, ...]:
    """A real number, or a per-period sequence of them."""
    if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str | bytes):
        return _real_tuple(owner, name, value, **kw)
    return _real(owner, name, value, **kw)


def _per_period(
    owner: str, name: str, value: float | tuple[float, ...], n_periods: int
) -> FloatArray:
    """Expand a scalar or per-period tuple to a float array of length ``n_periods``."""
    if isinstance(value, tuple):
        if len(value) != n_periods:
            raise _invalid(
                owner, name, value, f"a scalar or a sequence of length n_periods={n_periods}"
            )
        return np.asarray(value, dtype=np.float64)
    return np.full(n_periods, float(value))


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _broadcast(*values: ArrayLike) -> list[FloatArray]:
    return list(np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in values)))


# --------------------------------------------------------------------------------------
# the evaluation table: the interface with the evaluation step
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EvaluationTable:
    """Evaluation results ("triggers") of every Monte Carlo draw.

    Each of the ``K`` triggers is one evaluation whose result is known in a period and may
    lead to an outcome payment. Per-trigger descriptors are sequences of length ``K``;
    results are arrays shaped ``(D, K)`` (draw, trigger).

    Parameters
    ----------
    metric : sequence of str, length K
        Outcome metric of each trigger; must match a ``MetricTerms.metric`` of the contract.
    period : sequence of int, length K
        Period (0-based) in which the evaluation result is known.
    cumulative : sequence of bool, length K
        True for a pooled / top-up evaluation: it pays the amount due on its units minus
        what has already been committed under the metric, floored at 0 (Peterborough's
        "10% in a cohort, or 7.5% pooled across all cohorts").
    participants : sequence of int, length K
        People covered by the trigger (for per-person caps).
    measured_effect : array (D, K)
        Measured relative improvement, a fraction (0.10 = 10% fewer events than the
        counterfactual); may be negative.
    units : array (D, K)
        Outcome units attributable (events avoided, successes, person-periods in a state);
        may be negative.
    avoided_cost : array (D, K), optional
        Currency value of the avoided outcomes (for savings-share rules). Default 0.
    gate : bool array (D, K), optional
        True where the significance gate passed (or there is no gate). Default all True.

    Examples
    --------
    >>> import numpy as np
    >>> table = EvaluationTable(
    ...     metric=("reconviction",), period=(1,), cumulative=(False,), participants=(1000,),
    ...     measured_effect=np.array([[0.12], [0.05]]), units=np.array([[186.0], [78.0]]))
    >>> table.n_draws, table.n_triggers
    (2, 1)
    """

    metric: tuple[str, ...]
    period: tuple[int, ...]
    cumulative: tuple[bool, ...]
    participants: tuple[int, ...]
    measured_effect: FloatArray
    units: FloatArray
    avoided_cost: FloatArray | None = None
    gate: NDArray[np.bool_] | None = None

    def __post_init__(self) -> None:
        owner = "EvaluationTable"
        metric = tuple(_name(owner, f"metric[{i}]", m) for i, m in enumerate(self._seq("metric")))
        k = len(metric)
        period = tuple(
            _integer(owner, f"period[{i}]", p, lo=0) for i, p in enumerate(self._seq("period"))
        )
        participants = tuple(
            _integer(owner, f"participants[{i}]", n, lo=0)
            for i, n in enumerate(self._seq("participants"))
        )
        cumulative = self._seq("cumulative")
        for i, c in enumerate(cumulative):
            if not isinstance(c, bool | np.bool_):
                raise _invalid(owner, f"cumulative[{i}]", c, "True or False", TypeError)
        cumulative = tuple(bool(c) for c in cumulative)
        for name, seq in (
            ("period", period),
            ("cumulative", cumulative),
            ("participants", participants),
        ):
            if len(seq) != k:
                raise _invalid(owner, name, seq, f"a sequence of length K={k} (one per metric)")
        effect = self._array("measured_effect", k, None)
        d = effect.shape[0]
        units = self._array("units", k, d)
        avoided = (
            np.zeros((d, k)) if self.avoided_cost is None else self._array("avoided_cost", k, d)
        )
        gate = np.ones((d, k), dtype=bool) if self.gate is None else self._gate(k, d)
        for name, value in (
            ("metric", metric),
            ("period", period),
            ("cumulative", cumulative),
            ("participants", participants),
            ("measured_effect", effect),
            ("units", units),
            ("avoided_cost", avoided),
            ("gate", gate),
        ):
            object.__setattr__(
                self, name, _readonly(value) if isinstance(value, np.ndarray) else value
            )

    def _seq(self, name: str) -> tuple[Any, ...]:
        value = getattr(self, name)
        if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
            raise _invalid(
                "EvaluationTable", name, value, "a sequence, one entry per trigger", TypeError
            )
        return tuple(value.tolist() if isinstance(value, np.ndarray) else value)

    def _array(self, name: str, k: int, d: int | None) -> FloatArray:
        raw = getattr(self, name)
        try:
            a = np.array(raw, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise _invalid("EvaluationTable", name, raw, "a real array (D, K)", TypeError) from err
        shape = f"(D, K={k})" if d is None else f"(D={d}, K={k})"
        if a.ndim != 2 or a.shape[1] != k or (d is not None and a.shape[0] != d) or a.shape[0] < 1:
            raise ValueError(
                f"EvaluationTable.{name}: got an array of shape {a.shape}; allowed: shape {shape}."
            )
        if not np.all(np.isfinite(a)):
            raise ValueError(
                f"EvaluationTable.{name}: got non-finite values (NaN or inf); "
                "allowed: finite real numbers."
            )
        return a

    def _gate(self, k: int, d: int) -> NDArray[np.bool_]:
        g = np.array(self.gate)
        if g.dtype != np.bool_:
            raise _invalid(
                "EvaluationTable",
                "gate",
                f"array of dtype {g.dtype}",
                "a bool array (D, K)",
                TypeError,
            )
        if g.shape != (d, k):
            raise ValueError(
                f"EvaluationTable.gate: got an array of shape {g.shape}; allowed: shape ({d}, {k})."
            )
        return g

    @property
    def n_draws(self) -> int:
        """Number of Monte Carlo draws ``D``."""
        return int(self.measured_effect.shape[0])

    @property
    def n_triggers(self) -> int:
        """Number of triggers ``K``."""
        return len(self.metric)


# --------------------------------------------------------------------------------------
# pricing rules
# --------------------------------------------------------------------------------------


@runtime_checkable
class PricingRule(Protocol):
    """What the contract needs from a pricing rule: the amount due on one trigger.

    ``due`` takes arrays of shape ``(D,)`` (any broadcastable shapes) and returns the amount
    due, in currency, never negative; it must be non-decreasing in ``measured_effect``,
    ``units`` and ``avoided_cost``. ``paid_to_date`` is what has already been committed
    under the metric (used by tiered savings shares; a cumulative trigger passes 0).
    """

    def due(
        self,
        measured_effect: ArrayLike,
        units: ArrayLike = 0.0,
        avoided_cost: ArrayLike = 0.0,
        paid_to_date: ArrayLike = 0.0,
    ) -> FloatArray: ...


@dataclass(frozen=True)
class PricePerUnit:
    """A price per outcome unit (event avoided, success, person-period in a state).

    Pays ``price x max(units, 0)`` when ``measured_effect >= threshold``, else 0.

    Parameters
    ----------
    price : float
        Currency per outcome unit, >= 0.
    threshold : float or None, default 0.0
        Minimum measured effect (fraction) for any payment; None pays unconditionally.

    Examples
    --------
    Peterborough-like: GBP 1,000 per reconviction event avoided if events fall by >= 10%.

    >>> rule = PricePerUnit(price=1000.0, threshold=0.10)
    >>> rule.due([0.12, 0.09], units=[186.0, 140.0]).tolist()
    [186000.0, 0.0]
    """

    price: float
    threshold: float | None = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "price", _real("PricePerUnit", "price", self.price, lo=0.0))
        object.__setattr__(
            self, "threshold", _optional_real("PricePerUnit", "threshold", self.threshold)
        )

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
        if self.threshold is not None:
            amount = np.where(effect >= self.threshold, amount, 0.0)
        return amount


@dataclass(frozen=True)
class StepSchedule:
    """A payment table on the measured effect (e.g. NYC ABLE, Massachusetts).

    Pays ``payments[k]`` for the largest ``thresholds[k] <= measured_effect``; 0 below the
    first threshold. The amounts are lump sums for the trigger, not per unit.

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

    thresholds: tuple[float, ...]
    payments: tuple[float, ...]

    def __post_init__(self) -> None:
        owner = "StepSchedule"
        th = _real_tuple(owner, "thresholds", self.thresholds)
        pay = _real_tuple(owner, "payments", self.payments, lo=0.0)
        if any(b <= a for a, b in itertools.pairwise(th)):
            raise _invalid(owner, "thresholds", th, "strictly increasing values")
        if any(b < a for a, b in itertools.pairwise(pay)):
            raise _invalid(owner, "payments", pay, "non-decreasing values")
        if len(pay) != len(th):
            raise _invalid(owner, "payments", pay, f"one per threshold ({len(th)} values)")
        object.__setattr__(self, "thresholds", th)
        object.__setattr__(self, "payments", pay)

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


@dataclass(frozen=True)
class LinearFloorCap:
    """A payment linear in the measured effect between a floor and a cap (e.g. Denver jail days).

    Pays 0 below ``floor_effect``; ``floor_payment`` at it, rising linearly to
    ``cap_payment`` at ``cap_effect``; ``cap_payment`` above. Lump sums, not per unit.

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

    floor_effect: float
    cap_effect: float
    floor_payment: float
    cap_payment: float

    def __post_init__(self) -> None:
        owner = "LinearFloorCap"
        floor_e = _real(owner, "floor_effect", self.floor_effect)
        cap_e = _real(owner, "cap_effect", self.cap_effect)
        floor_p = _real(owner, "floor_payment", self.floor_payment, lo=0.0)
        cap_p = _real(owner, "cap_payment", self.cap_payment, lo=0.0)
        if cap_e <= floor_e:
            raise _invalid(owner, "cap_effect", cap_e, f"> floor_effect={floor_e}")
        if cap_p < floor_p:
            raise _invalid(owner, "cap_payment", cap_p, f">= floor_payment={floor_p}")
        for name, v in (
            ("floor_effect", floor_e),
            ("cap_effect", cap_e),
            ("floor_payment", floor_p),
            ("cap_payment", cap_p),
        ):
            object.__setattr__(self, name, v)

    def due(
        self,
        measured_effect: ArrayLike,
        units: ArrayLike = 0.0,
        avoided_cost: ArrayLike = 0.0,
        paid_to_date: ArrayLike = 0.0,
    ) -> FloatArray:
        """Amount due (currency) for each draw."""
        effect, *_ = _broadcast(measured_effect, units, avoided_cost, paid_to_date)
        frac = np.clip((effect - self.floor_effect) / (self.cap_effect - self.floor_effect), 0, 1)
        amount = self.floor_payment + (self.cap_payment - self.floor_payment) * frac
        return np.where(effect >= self.floor_effect, amount, 0.0)


@dataclass(frozen=True)
class SavingsShare:
    """A tiered share of the avoided cost (e.g. Utah preschool: 95%, then 40%).

    Tier boundaries are on cumulative payments under the metric: tier ``j`` applies while
    the cumulative amount committed is below ``up_to[j]``. A payment that crosses a
    boundary is split exactly: the part of the avoided cost needed to reach the boundary is
    paid at the lower tier's share, the rest at the next tier's share.

    Parameters
    ----------
    tiers : sequence of (share, up_to) pairs
        ``share`` in (0, 1] (fraction of avoided cost paid); ``up_to`` the cumulative
        payment (currency) at which the tier ends, strictly increasing; ``None`` (or inf)
        for an open last tier. If the last tier is bounded, nothing is paid beyond it.
    threshold : float or None, default None
        Minimum measured effect for any payment; None pays whenever avoided cost > 0.

    Examples
    --------
    95% of avoided cost until payments reach 100, then 40%. With 90 already paid, an avoided
    cost of 20 pays 10 at 95% (using 10/0.95 of avoided cost) and 40% of the remaining
    20 - 10/0.95:

    >>> rule = SavingsShare(tiers=((0.95, 100.0), (0.40, None)))
    >>> round(float(rule.due(0.0, avoided_cost=20.0, paid_to_date=90.0)), 6)
    13.789474
    """

    tiers: tuple[tuple[float, float], ...]
    threshold: float | None = None

    def __post_init__(self) -> None:
        owner = "SavingsShare"
        raw = self.tiers
        if isinstance(raw, str | bytes) or not isinstance(raw, Sequence) or len(raw) == 0:
            raise _invalid(
                owner, "tiers", raw, "a non-empty sequence of (share, up_to) pairs", TypeError
            )
        tiers = []
        for j, tier in enumerate(raw):
            if not isinstance(tier, Sequence) or len(tier) != 2:
                raise _invalid(owner, f"tiers[{j}]", tier, "a (share, up_to) pair", TypeError)
            share = _real(owner, f"tiers[{j}].share", tier[0], lo=0.0, lo_open=True, hi=1.0)
            up_to = (
                math.inf
                if tier[1] is None
                else _real(
                    owner, f"tiers[{j}].up_to", tier[1], lo=0.0, lo_open=True, allow_inf=True
                )
            )
            if tiers and up_to <= tiers[-1][1]:
                raise _invalid(
                    owner,
                    f"tiers[{j}].up_to",
                    tier[1],
                    f"> the previous tier's up_to={tiers[-1][1]}",
                )
            tiers.append((share, up_to))
        object.__setattr__(self, "tiers", tuple(tiers))
        object.__setattr__(self, "threshold", _optional_real(owner, "threshold", self.threshold))

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


# --------------------------------------------------------------------------------------
# caps, metric terms and the contract
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caps:
    """Contract-wide caps on outcome payments (currency). None = no cap.

    Parameters
    ----------
    per_period : float, sequence of float (length P), or None
        Maximum paid by the commissioner in any one payment period (all metrics together);
        a sequence gives one cap per period (e.g. an annual budget line).
    per_person : float or None
        Maximum per participant covered by a trigger: each trigger pays at most
        ``per_person x participants`` (applied per trigger, before the cumulative top-up).
    total : float or None
        Maximum over the whole contract (all metrics, all periods, including amounts falling
        after the horizon).

    Examples
    --------
    >>> Caps(total=13e6).total
    13000000.0
    """

    per_period: float | tuple[float, ...] | None = None
    per_person: float | None = None
    total: float | None = None

    def __post_init__(self) -> None:
        if self.per_period is not None:
            object.__setattr__(
                self, "per_period", _scalar_or_tuple("Caps", "per_period", self.per_period, lo=0.0)
            )
        object.__setattr__(
            self, "per_person", _optional_real("Caps", "per_person", self.per_person, lo=0.0)
        )
        object.__setattr__(self, "total", _optional_real("Caps", "total", self.total, lo=0.0))

    def per_period_array(self, n_periods: int) -> FloatArray:
        """Per-period caps as an array of length ``n_periods`` (inf where uncapped)."""
        if self.per_period is None:
            return np.full(n_periods, np.inf)
        return _per_period("Caps", "per_period", self.per_period, n_periods)


@dataclass(frozen=True)
class MetricTerms:
    """The payment terms of one outcome metric.

    Parameters
    ----------
    metric : str
        Metric name, as in ``EvaluationTable.metric``.
    rule : PricingRule
        Pricing rule for the metric's triggers.
    pooled_rule : PricingRule or None
        Rule for cumulative (pooled) triggers, if different (Peterborough: 10% threshold per
        cohort, 7.5% pooled). Default: ``rule``.
    cap : float or None
        Maximum committed under this metric over the contract (currency).
    per_person_cap : float or None
        Per-participant cap for this metric's triggers (currency per person); combined with
        ``Caps.per_person`` by taking the smaller.

    Examples
    --------
    >>> terms = MetricTerms("reconviction", PricePerUnit(1000.0, threshold=0.10),
    ...                     pooled_rule=PricePerUnit(1000.0, threshold=0.075))
    >>> terms.rule_for(cumulative=True).threshold
    0.075
    """

    metric: str
    rule: PricingRule
    pooled_rule: PricingRule | None = None
    cap: float | None = None
    per_person_cap: float | None = None

    def __post_init__(self) -> None:
        owner = "MetricTerms"
        _name(owner, "metric", self.metric)
        for name in ("rule", "pooled_rule"):
            value = getattr(self, name)
            if (value is not None or name == "rule") and not callable(getattr(value, "due", None)):
                raise _invalid(
                    owner,
                    name,
                    value,
                    "a pricing rule (PricePerUnit, StepSchedule, LinearFloorCap, "
                    "SavingsShare or an object with a due() method)",
                    TypeError,
                )
        object.__setattr__(self, "cap", _optional_real(owner, "cap", self.cap, lo=0.0))
        object.__setattr__(
            self,
            "per_person_cap",
            _optional_real(owner, "per_person_cap", self.per_person_cap, lo=0.0),
        )

    def rule_for(self, cumulative: bool) -> PricingRule:
        """The rule applied to a cohort (``cumulative=False``) or pooled trigger."""
        return self.pooled_rule if (cumulative and self.pooled_rule is not None) else self.rule


@dataclass(frozen=True, eq=False)
class PaymentResult:
    """Outcome payments made by the commissioner, per draw and payment period.

    Attributes
    ----------
    total : array (D, P)
        Paid by the commissioner in each period (currency, >= 0), after gate, caps and lag.
    by_metric : array (D, M, P)
        The same, split by metric (``metrics`` order); sums to ``total`` over axis 1.
    by_trigger : array (D, K)
        Amount committed on each trigger (currency), whether paid in the horizon or not.
    beyond_horizon : array (D, M)
        Amount whose payment period (trigger period + lag) is after the last period: paid in
        the last period if ``overflow == "last"`` (already in ``total``), left out of
        ``total`` if ``overflow == "drop"``.
    metrics : tuple of str
        Metric labels of axis 1 of ``by_metric``.
    currency : str
        Currency of every amount.
    overflow : {"last", "drop"}
        The lag-overflow rule used.
    """

    total: FloatArray
    by_metric: FloatArray
    by_trigger: FloatArray
    beyond_horizon: FloatArray
    metrics: tuple[str, ...]
    currency: str
    overflow: Overflow

    @property
    def n_periods(self) -> int:
        """Number of payment periods ``P``."""
        return int(self.total.shape[1])

    def to_dataset(self) -> Any:
        """Return an ``xarray.Dataset`` with dims (draw, metric, period)."""
        import xarray as xr

        d, _, p = self.by_metric.shape
        coords = {"draw": np.arange(d), "metric": list(self.metrics), "period": np.arange(p)}
        ds = xr.Dataset(
            {
                "outcome_payment": (
                    ("draw", "period"),
                    self.total,
                    {
                        "units": self.currency,
                        "description": "outcome payments made by the commissioner per period",
                    },
                ),
                "outcome_payment_by_metric": (
                    ("draw", "metric", "period"),
                    self.by_metric,
                    {
                        "units": self.currency,
                        "description": "outcome payments per metric and period",
                    },
                ),
                "beyond_horizon": (
                    ("draw", "metric"),
                    self.beyond_horizon,
                    {
                        "units": self.currency,
                        "description": "amounts due after the last period "
                        f"(overflow={self.overflow})",
                    },
                ),
            },
            coords=coords,
            attrs={"currency": self.currency, "overflow": self.overflow},
        )
        return ds


@dataclass(frozen=True)
class Contract:
    """An outcomes contract: payment terms per metric, caps, payment lag.

    Parameters
    ----------
    terms : sequence of MetricTerms
        One entry per outcome metric (unique metric names).
    caps : Caps, default no caps
        Contract-wide caps (per period, per person, total).
    lag : int, default 0
        Payment lag in periods: a trigger known in period q is paid in period q + lag.
    currency : str, default "EUR"
        Currency of all amounts.
    overflow : {"last", "drop"}, default "last"
        Payments falling after the last period: ``"last"`` pays them in the last period
        (the commissioner's liability does not vanish with the horizon), ``"drop"`` leaves
        them out of the horizon (they still count towards caps and top-ups and are reported
        in ``PaymentResult.beyond_horizon``).

    Examples
    --------
    >>> import numpy as np
    >>> contract = Contract(
    ...     terms=(MetricTerms("reconviction", PricePerUnit(1000.0, threshold=0.10)),),
    ...     caps=Caps(total=250_000.0), lag=1, currency="GBP")
    >>> table = EvaluationTable(("reconviction",), (1,), (False,), (1000,),
    ...                         measured_effect=[[0.12]], units=[[300.0]])
    >>> contract.outcome_payments(table, n_periods=4).total.tolist()
    [[0.0, 0.0, 250000.0, 0.0]]
    """

    terms: tuple[MetricTerms, ...]
    caps: Caps = field(default_factory=Caps)
    lag: int = 0
    currency: str = "EUR"
    overflow: Overflow = "last"

    def __post_init__(self) -> None:
        owner = "Contract"
        terms = self.terms
        if isinstance(terms, MetricTerms):
            terms = (terms,)
        if not isinstance(terms, Sequence) or len(terms) == 0:
            raise _invalid(owner, "terms", terms, "a non-empty sequence of MetricTerms", TypeError)
        for i, t in enumerate(terms):
            if not isinstance(t, MetricTerms):
                raise _invalid(owner, f"terms[{i}]", t, "a MetricTerms", TypeError)
        names = [t.metric for t in terms]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise _invalid(owner, "terms", names, f"unique metric names (repeated: {dupes})")
        if not isinstance(self.caps, Caps):
            raise _invalid(owner, "caps", self.caps, "a Caps", TypeError)
        _integer(owner, "lag", self.lag, lo=0)
        _name(owner, "currency", self.currency)
        if self.overflow not in ("last", "drop"):
            raise _invalid(owner, "overflow", self.overflow, "'last' or 'drop'")
        object.__setattr__(self, "terms", tuple(terms))
        object.__setattr__(self, "lag", int(self.lag))

    @property
    def metrics(self) -> tuple[str, ...]:
        """Metric names, in ``terms`` order."""
        return tuple(t.metric for t in self.terms)

    def outcome_payments(self, table: EvaluationTable, n_periods: int) -> PaymentResult:
        """Outcome payments per draw and period for the evaluation results in ``table``.

        Parameters
        ----------
        table : EvaluationTable
            Evaluation results, (D, K); every metric must have terms in this contract.
        n_periods : int
            Number of payment periods ``P`` (the horizon).

        Returns
        -------
        PaymentResult
            ``total`` (D, P), ``by_metric`` (D, M, P), ``by_trigger`` (D, K),
            ``beyond_horizon`` (D, M), in ``currency``.

        Notes
        -----
        Triggers are processed in order of period (table order within a period), applying
        the pricing rule, gate, per-person cap, cumulative top-up, metric cap, total cap, lag
        and overflow, then the per-period cap (module docstring). Caps are never exceeded.
        """
        n_periods = _integer("Contract.outcome_payments", "n_periods", n_periods, lo=1)
        if not isinstance(table, EvaluationTable):
            raise _invalid(
                "Contract.outcome_payments",
                "table",
                type(table).__name__,
                "an EvaluationTable",
                TypeError,
            )
        index = {m: i for i, m in enumerate(self.metrics)}
        unknown = sorted(set(table.metric) - set(index))
        if unknown:
            raise _invalid(
                "Contract.outcome_payments",
                "table.metric",
                unknown,
                f"metrics with terms in the contract: {list(self.metrics)}",
            )
        ledger = _Ledger(
            table.n_draws,
            len(self.terms),
            n_periods,
            table.n_triggers,
            self.caps.per_period_array(n_periods),
            self.caps.total,
        )
        order = sorted(range(table.n_triggers), key=lambda k: table.period[k])
        for k in order:
            m = index[table.metric[k]]
            due = self._trigger_due(table, k, self.terms[m], ledger.committed_metric[:, m])
            period, beyond = self._payment_period(table.period[k], n_periods)
            ledger.commit(k, m, due, period, beyond, self.terms[m].cap)
        return PaymentResult(
            total=_readonly(ledger.by_metric.sum(axis=1)),
            by_metric=_readonly(ledger.by_metric),
            by_trigger=_readonly(ledger.by_trigger),
            beyond_horizon=_readonly(ledger.beyond),
            metrics=self.metrics,
            currency=self.currency,
            overflow=self.overflow,
        )

    def _payment_period(self, period: int, n_periods: int) -> tuple[int | None, bool]:
        """Payment period of a trigger (None if dropped) and whether it is after the horizon."""
        q = period + self.lag
        if q < n_periods:
            return q, False
        return (n_periods - 1 if self.overflow == "last" else None), True

    def _trigger_due(
        self, table: EvaluationTable, k: int, terms: MetricTerms, committed: FloatArray
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
        per_person = min(
            math.inf if self.caps.per_person is None else self.caps.per_person,
            math.inf if terms.per_person_cap is None else terms.per_person_cap,
        )
        if per_person < math.inf:
            due = np.minimum(due, per_person * table.participants[k])
        if cumulative:
            due = np.maximum(due - committed, 0.0)
        return due


class _Ledger:
    """Running totals while triggers are committed (internal to Contract.outcome_payments)."""

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
