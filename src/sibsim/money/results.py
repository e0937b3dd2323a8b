"""Result and interface objects of the outcome payments: the evaluation table and the payments.

:class:`EvaluationTable` is what the evaluation step (:mod:`sibsim.money.evaluation`) hands to
the contract; :class:`PaymentResult` is what :meth:`sibsim.money.contract.Contract.outcome_payments`
returns. Arrays are indexed by Monte Carlo draw (axis 0, ``D``); amounts are in the contract
currency and effects are fractions (``0.10`` = 10%).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from sibsim.money._arrays import readonly
from sibsim.spec import _validate as v

__all__ = ["Achievements", "EvaluationTable", "Overflow", "PaymentResult"]

FloatArray = NDArray[np.float64]
#: Where payments due after the horizon go: the last period, or out of the horizon.
Overflow = Literal["last", "drop"]

_OWNER = "EvaluationTable"
_LABELS = v.vector(v.label, min_len=0)
_COUNTS = v.vector(v.integer(0), min_len=0)
_FLAGS = v.vector(v.flag, min_len=0)


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
        currency for a money evaluation (``Evaluation.money``: wages above the prediction);
        may be negative.
    avoided_cost : array (D, K), optional
        Currency value of the avoided outcomes (for savings-share rules); a money
        evaluation's units themselves. Default 0.
    gate : bool array (D, K), optional
        True where the significance gate passed (or there is no gate) and any absolute target
        of the evaluation (``target_per_person_period``) was met. Default all True.
    waves : sequence of tuple of int, length K, optional
        Entry waves (0-based) each trigger measures: one wave for a per-wave trigger, every
        wave for a pooled one. Filled by :func:`sibsim.money.evaluation.evaluate`; payers by
        wave (:mod:`sibsim.money.payer_waves`) need it. Default None (not known).

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
    waves: tuple[tuple[int, ...], ...] | None = None

    def __post_init__(self) -> None:
        self._settle(copy=True)

    @classmethod
    def _handed(cls, **fields: Any) -> EvaluationTable:
        """A table of every field, whose arrays are taken as they are (made read-only, not
        copied), checked as the constructor checks them: for arrays that their caller has
        just made and hands over (:func:`sibsim.money.evaluation.evaluate`, the
        cancellation's table), which nothing else holds."""
        table = cls.__new__(cls)
        for f in dataclasses.fields(cls):
            object.__setattr__(table, f.name, fields.pop(f.name))
        if fields:
            raise TypeError(f"{_OWNER}._handed: unknown fields {sorted(fields)}")
        table._settle(copy=False)
        return table

    def _settle(self, copy: bool) -> None:
        """Check every field and store it normalised, its arrays read-only (copies of them
        with ``copy``)."""
        metric = _LABELS(f"{_OWNER}.metric", self._seq("metric"))
        k = len(metric)
        period = _COUNTS(f"{_OWNER}.period", self._seq("period"))
        participants = _COUNTS(f"{_OWNER}.participants", self._seq("participants"))
        cumulative = _FLAGS(f"{_OWNER}.cumulative", self._seq("cumulative"))
        for name, seq in (
            ("period", period),
            ("cumulative", cumulative),
            ("participants", participants),
        ):
            if len(seq) != k:
                raise v.fail(f"{_OWNER}.{name}", seq,
                             f"a sequence of length K={k} (one per metric)")
        effect = self._array("measured_effect", k, None, copy)
        d = effect.shape[0]
        units = self._array("units", k, d, copy)
        avoided = (
            np.zeros((d, k)) if self.avoided_cost is None
            else self._array("avoided_cost", k, d, copy)
        )
        gate = np.ones((d, k), dtype=bool) if self.gate is None else self._gate(k, d, copy)
        if self.waves is not None:
            waves = tuple(tuple(_COUNTS(f"{_OWNER}.waves[{i}]", list(w)))
                          for i, w in enumerate(self.waves))
            if len(waves) != k:
                raise v.fail(f"{_OWNER}.waves", self.waves,
                             f"a sequence of length K={k} (one tuple of waves per trigger)")
            object.__setattr__(self, "waves", waves)
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
                self, name, readonly(value) if isinstance(value, np.ndarray) else value
            )

    def _seq(self, name: str) -> Any:
        value = getattr(self, name)
        if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
            raise TypeError(str(v.fail(f"{_OWNER}.{name}", value,
                                       "a sequence, one entry per trigger")))
        return value.tolist() if isinstance(value, np.ndarray) else value

    def _array(self, name: str, k: int, d: int | None, copy: bool = True) -> FloatArray:
        raw = getattr(self, name)
        try:
            a = np.array(raw, dtype=np.float64) if copy else np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(str(v.fail(f"{_OWNER}.{name}", raw, "a real array (D, K)"))) from err
        shape = f"(D, K={k})" if d is None else f"(D={d}, K={k})"
        if a.ndim != 2 or a.shape[1] != k or (d is not None and a.shape[0] != d) or a.shape[0] < 1:
            raise ValueError(
                f"{_OWNER}.{name}: got an array of shape {a.shape}; allowed: shape {shape}"
            )
        if not np.all(np.isfinite(a)):
            raise ValueError(
                f"{_OWNER}.{name}: got non-finite values (NaN or inf); "
                "allowed: finite real numbers"
            )
        return a

    def _gate(self, k: int, d: int, copy: bool = True) -> NDArray[np.bool_]:
        g = np.array(self.gate) if copy else np.asarray(self.gate)
        if g.dtype != np.bool_:
            raise TypeError(f"{_OWNER}.gate: got an array of dtype {g.dtype}; "
                            "allowed: a bool array (D, K)")
        if g.shape != (d, k):
            raise ValueError(
                f"{_OWNER}.gate: got an array of shape {g.shape}; allowed: shape ({d}, {k})"
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


@dataclass(frozen=True, eq=False)
class Achievements:
    """What the treated participants achieved, for the contract's rate cards.

    The rate cards' counterpart of :class:`EvaluationTable`: built from the outcome dataset
    by :meth:`sibsim.money.contract.Contract.achievements` and handed to
    :meth:`~sibsim.money.contract.Contract.outcome_payments`.

    Parameters
    ----------
    cards : sequence of str, length R
        Rate-card names, in the contract's order.
    strata : sequence of str, length S
        Stratum names.
    participants : array (S,)
        Treated participants of each stratum (people, >= 0).
    counts : array (D, R, S, P)
        Achievements (events or person-periods, >= 0) per draw, rate card, stratum and the
        period in which they happen.

    Examples
    --------
    >>> a = Achievements(("training",), ("all",), [20.0], [[[[10.0, 4.0]]]])
    >>> a.counts.shape, a.n_periods
    ((1, 1, 1, 2), 2)
    """

    cards: tuple[str, ...]
    strata: tuple[str, ...]
    participants: FloatArray
    counts: FloatArray

    def __post_init__(self) -> None:
        owner = "Achievements"
        cards = _LABELS(f"{owner}.cards", self.cards)
        strata = _LABELS(f"{owner}.strata", self.strata)
        v.unique(f"{owner}.cards", cards, "rate-card names")
        participants = np.array(self.participants, dtype=np.float64)
        counts = np.array(self.counts, dtype=np.float64)
        if participants.shape != (len(strata),) or not np.all(participants >= 0):
            raise v.fail(f"{owner}.participants", self.participants,
                         f"one number of people >= 0 per stratum ({len(strata)})")
        if counts.ndim != 4 or counts.shape[1:3] != (len(cards), len(strata)) \
                or counts.shape[0] < 1:
            raise ValueError(f"{owner}.counts: got an array of shape {counts.shape}; allowed: "
                             f"shape (D, R={len(cards)}, S={len(strata)}, P)")
        if not np.all(np.isfinite(counts)) or np.any(counts < 0):
            raise ValueError(f"{owner}.counts: got non-finite or negative values; allowed: "
                             "finite counts >= 0")
        for name, value in (("cards", cards), ("strata", strata),
                            ("participants", readonly(participants)),
                            ("counts", readonly(counts))):
            object.__setattr__(self, name, value)

    @property
    def n_periods(self) -> int:
        """Number of periods of achievement ``P``."""
        return int(self.counts.shape[-1])


@dataclass(frozen=True, eq=False)
class PaymentResult:
    """Outcome payments made by the commissioner, per draw and payment period.

    Attributes
    ----------
    total : array (D, P)
        Paid by the commissioner in each period (currency, >= 0), after gate, caps and lag.
    by_metric : array (D, M, P)
        The same, split by metric (``metrics`` order: the contract's metrics, then its rate
        cards); sums to ``total`` over axis 1.
    by_trigger : array (D, K)
        Amount committed on each trigger (currency), whether paid in the horizon or not.
    beyond_horizon : array (D, M)
        Amount whose payment period (trigger period + lag) is after the last period: paid in
        the last period if ``overflow == "last"`` (already in ``total``), left out of
        ``total`` if ``overflow == "drop"``.
    metrics : tuple of str
        Labels of axis 1 of ``by_metric``: the metrics with terms, then the rate cards.
    currency : str
        Currency of every amount.
    overflow : {"last", "drop"}
        The lag-overflow rule used.

    Examples
    --------
    GBP 10 per unit, paid one period after the result is known:

    >>> from sibsim.money import Contract, MetricTerms, PricePerUnit
    >>> contract = Contract((MetricTerms("m", PricePerUnit(10.0)),), lag=1, currency="GBP")
    >>> table = EvaluationTable(("m",), (0,), (False,), (100,), measured_effect=[[0.2]],
    ...                         units=[[3.0]])
    >>> res = contract.outcome_payments(table, n_periods=2)
    >>> res.total.tolist(), res.by_metric.shape, res.currency
    ([[0.0, 30.0]], (1, 1, 2), 'GBP')
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
