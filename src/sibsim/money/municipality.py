"""The commissioner's side: savings, outcome payments and net savings over time.

Savings are valued on the outcomes the service *truly* avoided: for each draw, the treated
cohort's counterfactual (its expected outcomes without the service, given that draw's
parameters: the expected-value engine) minus its simulated outcomes. Cashable savings (budget
lines that really shrink) are kept apart from wider public value (benefits to other budgets or to
society).

Conventions
-----------
* All amounts are in the scenario's currency, per period, with the flow of period ``t``
  discounted by ``(1 + r) ** t`` where ``r`` is the per-period social discount rate derived from
  the annual rate: ``r = (1 + annual) ** (1 / periods_per_year) - 1`` (period 0 undiscounted).
* Net savings = cashable savings - outcome payments - the commissioner's other costs
  (evaluation, contract management).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from sibsim.money.uncertain import UncertainAmount, amount_value
from sibsim.spec import _validate as v

#: A body's yearly funds for outcome payments (currency): None, a number for every year, or
#: one per calendar year; the municipality's and each payer's (one constraint, two readers).
APPROPRIATIONS = v.optional(v.scalar_or_vector(v.interval(0.0, math.inf)))

__all__ = ["Municipality", "per_period_rate"]


def per_period_rate(annual_rate: float, periods_per_year: int) -> float:
    """Convert an annual rate to the equivalent rate per period (compounding).

    >>> round(per_period_rate(0.1025, 2), 10)
    0.05
    """
    return (1.0 + annual_rate) ** (1.0 / periods_per_year) - 1.0


def _real_amount(field: str, value: object) -> float:
    return v.real(field, value, low=0.0)


#: A number >= 0 or a distribution of values >= 0 (see :mod:`sibsim.money.uncertain`).
_AMOUNT = UncertainAmount(_real_amount)


def _values(field_name: str, mapping: Mapping[str, float] | None) -> dict[str, float]:
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{field_name}: got {mapping!r}; allowed: a mapping state -> value")
    return {v.name(f"{field_name} key", k): _AMOUNT(f"{field_name}[{k}]", x)
            for k, x in mapping.items()}


def _plus(total: np.ndarray | float, term: np.ndarray) -> np.ndarray:
    """``total + term``, added in place when ``total`` is an array of the result's shape and
    type (always one computed here, never a caller's): the same numbers, no new array."""
    if (isinstance(total, np.ndarray) and total.dtype == np.float64
            and np.result_type(total, term) == np.float64
            and np.broadcast_shapes(total.shape, np.shape(term)) == total.shape):
        return np.add(total, term, out=total)
    return total + term


@dataclass(frozen=True)
class Municipality:
    """What the commissioner saves and spends.

    Parameters
    ----------
    saving_per_event : float or mapping process -> float
        Cashable saving per avoided event (currency per event), >= 0. A scenario with several
        outcome processes gives one amount per process, ``{"jail_days": 250.0}`` (processes left
        out save nothing per event); a single number is refused there unless it is 0.
    wider_value_per_event : float or mapping process -> float
        Wider public value per avoided event (currency per event), >= 0; per process as above.
    saving_per_person_period : mapping state -> float
        Cashable saving per avoided person-period in a costly state (e.g. a day, or year, in
        care); a negative avoided amount (more time in the state) costs the same.
    wider_value_per_person_period : mapping state -> float
        Wider public value per avoided person-period in a state.
    discount_rate : float
        Social discount rate per year (e.g. 0.035, the UK Green Book rate); a number (a
        decision of the deal, not an uncertain assumption).

    Every amount above except the discount rate may also be a
    :class:`~sibsim.spec.distributions.Distribution` (values >= 0), sampled once per draw
    (see :mod:`sibsim.money.uncertain`).
    other_costs_per_period : float
        Commissioner's own costs per period during the contract (evaluation, management).
    contract_periods : int, optional
        Periods over which ``other_costs_per_period`` are incurred (default: all).
    appropriations : float or sequence of float, optional
        Funds the commissioner makes available for outcome payments in each calendar year
        (currency; a number: every year; a sequence: one per calendar year of the deal): its
        payments wait for them (:class:`~sibsim.money.payers.Payer` ``appropriations``). None
        (default): it pays what is due when it is due.

    Examples
    --------
    >>> Municipality(saving_per_event=2_500.0, discount_rate=0.035).discount_rate
    0.035
    """

    saving_per_event: float | Mapping[str, float] = 0.0
    wider_value_per_event: float | Mapping[str, float] = 0.0
    saving_per_person_period: Mapping[str, float] = field(default_factory=dict)
    wider_value_per_person_period: Mapping[str, float] = field(default_factory=dict)
    discount_rate: float = 0.035
    other_costs_per_period: float = 0.0
    contract_periods: int | None = None
    appropriations: float | tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        for f in ("saving_per_event", "wider_value_per_event"):
            val = getattr(self, f)
            object.__setattr__(self, f, _values(f"Municipality.{f}", val) if isinstance(
                val, Mapping) and "dist" not in val else _AMOUNT(f"Municipality.{f}", val))
        object.__setattr__(self, "other_costs_per_period",
                           _AMOUNT("Municipality.other_costs_per_period",
                                   self.other_costs_per_period))
        object.__setattr__(self, "saving_per_person_period",
                           _values("Municipality.saving_per_person_period",
                                   self.saving_per_person_period))
        object.__setattr__(self, "wider_value_per_person_period",
                           _values("Municipality.wider_value_per_person_period",
                                   self.wider_value_per_person_period))
        object.__setattr__(self, "discount_rate", v.fraction(-0.5, 1.0)(
            "Municipality.discount_rate", self.discount_rate))
        if self.contract_periods is not None:
            object.__setattr__(self, "contract_periods",
                               v.positive_int("Municipality.contract_periods",
                                              self.contract_periods))
        object.__setattr__(self, "appropriations", APPROPRIATIONS(
            "Municipality.appropriations", self.appropriations))

    def states_valued(self) -> set[str]:
        return set(self.saving_per_person_period) | set(self.wider_value_per_person_period)

    def per_event(self, process: str | None = None) -> tuple[float, float]:
        """``(saving, wider value)`` per avoided event of ``process`` (``None``: the single
        process of a one-process scenario, valued by plain numbers)."""
        out = []
        for amount in (self.saving_per_event, self.wider_value_per_event):
            if isinstance(amount, Mapping):
                out.append(amount_value(amount.get(process, 0.0)) if process is not None
                           else 0.0)
            else:
                out.append(amount_value(amount))
        return out[0], out[1]

    def event_rates(self) -> tuple[float, float] | None:
        """``(saving, wider value)`` per avoided event when the savings are those two plain
        numbers times the avoided events (no per-process amounts, no valued states, no
        per-draw values); None otherwise.

        >>> Municipality(saving_per_event=2.0, wider_value_per_event=3.0).event_rates()
        (2.0, 3.0)
        """
        if self.saving_per_person_period or self.wider_value_per_person_period:
            return None
        amounts = (self.saving_per_event, self.wider_value_per_event)
        if not all(isinstance(a, int | float) and not isinstance(a, bool) for a in amounts):
            return None
        save, value = self.per_event()
        return float(save), float(value)

    def processes_valued(self) -> set[str]:
        """Processes named in a per-process ``saving_per_event`` / ``wider_value_per_event``."""
        return {k for amount in (self.saving_per_event, self.wider_value_per_event)
                if isinstance(amount, Mapping) for k in amount}

    def savings(self, avoided_events: np.ndarray | Mapping[str, np.ndarray],
                avoided_pp: Mapping[str, np.ndarray],
                out: tuple[np.ndarray, np.ndarray] | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """``(cashable, wider)`` per draw and period from avoided events and person-periods.

        ``avoided_events``: one array (a single process), or ``{process: array}`` valued by the
        per-process amounts. ``out``: two arrays of the result's shape to write them into
        (returned; the same numbers), e.g. one payer's slices of all payers' arrays.

        >>> m = Municipality(saving_per_event=2.0, wider_value_per_event=3.0)
        >>> [x.tolist() for x in m.savings(np.array([[1.0, 4.0]]), {})]
        [[[2.0, 8.0]], [[3.0, 12.0]]]
        """
        if isinstance(avoided_events, Mapping):
            cash = wider = 0.0
            for name, avoided in avoided_events.items():
                save, value = self.per_event(name)
                cash = cash + avoided * save
                wider = wider + avoided * value
        else:
            save, value = self.per_event()
            cash = np.multiply(avoided_events, save, out=None if out is None else out[0])
            wider = np.multiply(avoided_events, value, out=None if out is None else out[1])
        for state, value in self.saving_per_person_period.items():
            cash = _plus(cash, avoided_pp[state] * amount_value(value))
        for state, value in self.wider_value_per_person_period.items():
            wider = _plus(wider, avoided_pp[state] * amount_value(value))
        if out is None:
            return cash, wider
        for target, value in zip(out, (cash, wider), strict=True):
            if value is not target:  # computed apart (several processes, valued states)
                target[...] = value
        return out

    def other_costs(self, n_periods: int) -> np.ndarray:
        """Own costs per period, shape (P,); (D, P) when the cost is uncertain and resolved
        per draw (:func:`sibsim.money.uncertain.resolve_money`)."""
        cost = self.other_costs_per_period
        if isinstance(cost, np.ndarray):
            out = np.repeat(np.asarray(cost, dtype=np.float64).reshape(-1, 1), n_periods, 1)
        else:
            out = np.full(n_periods, cost)
        if self.contract_periods is not None:
            out[..., self.contract_periods:] = 0.0
        return out
