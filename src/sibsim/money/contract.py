"""The outcomes contract of a Social Impact Bond: payment terms per metric, caps and lag.

:class:`Contract` turns evaluation results (an :class:`~sibsim.money.results.EvaluationTable`)
into the commissioner's outcome payments (a :class:`~sibsim.money.results.PaymentResult`) with
:meth:`Contract.outcome_payments`; the computation and the cap order are in
:mod:`sibsim.money.payment_ledger`. Each metric is priced by a rule from
:data:`sibsim.money.pricing.PRICING_RULES`; rate cards (:class:`~sibsim.money.ratecard.RateCard`)
add payments per achievement of the treated participants, under the same caps and lag.

Units: amounts are in ``Contract.currency``; per-person caps in currency per participant; the
lag in payment periods (the period length, year, quarter or month, is only a label).

In a scenario file the contract is the ``[contract]`` table (``Contract.from_toml``)::

    [contract]
    lag = 1
    [contract.caps]
    total = 2_500_000
    [[contract.terms]]
    metric = "reconviction"
    rule = {kind = "price_per_unit", price = 12_500, threshold = 0.10}
    [[contract.rate_cards]]
    name = "training_completed"
    price = 1_500
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from sibsim.money._arrays import per_period
from sibsim.money.payment_ledger import compute_payments, payment_period
from sibsim.money.pricing import PRICING_RULES, PricingRule
from sibsim.money.ratecard import RateCard
from sibsim.money.results import Achievements, EvaluationTable, Overflow, PaymentResult
from sibsim.spec import _validate as v
from sibsim.spec.toml import KeyProblem, Section, build
from sibsim.spec.variant import Spec, param

__all__ = ["Caps", "Contract", "MetricTerms"]

FloatArray = NDArray[np.float64]

#: An optional currency cap: None (no cap) or a positive amount (0 is refused: v.cap).
CAP = v.optional(v.cap())


@dataclass(frozen=True)
class Caps(Spec):
    """Contract-wide caps on outcome payments (currency). None = no cap.

    TOML: the ``[contract.caps]`` table, e.g. ``total = 13_000_000``.

    Parameters
    ----------
    per_period : float, sequence of float (length P), or None
        Maximum paid by the commissioner in any one payment period (all metrics together);
        a sequence gives one cap per period (e.g. an annual budget line).
    per_person : float or None
        Maximum per participant covered by a trigger (currency per person): each trigger pays
        at most ``per_person x participants`` (applied per trigger, before the cumulative
        top-up); each rate card pays each stratum at most ``per_person x`` its participants
        over the deal.
    total : float or None
        Maximum over the whole contract (all metrics, all periods, including amounts falling
        after the horizon).

    Examples
    --------
    >>> Caps(total=13e6).total
    13000000.0
    >>> Caps(per_period=(5.0, 8.0)).per_period_array(2).tolist()
    [5.0, 8.0]
    """

    per_period: float | tuple[float, ...] | None = param(
        v.optional(v.scalar_or_vector(v.interval(0.0, math.inf))), default=None,
        doc="currency per period: a number or one per period")
    per_person: float | None = param(CAP, default=None, doc="currency per participant")
    total: float | None = param(CAP, default=None, doc="currency over the contract")

    def per_period_array(self, n_periods: int) -> FloatArray:
        """Per-period caps as an array of length ``n_periods`` (inf where uncapped)."""
        if self.per_period is None:
            return np.full(n_periods, np.inf)
        return per_period("Caps.per_period", self.per_period, n_periods)


@dataclass(frozen=True)
class MetricTerms(Spec):
    """The payment terms of one outcome metric.

    TOML: one ``[[contract.terms]]`` table; ``rule`` and ``pooled_rule`` are pricing-rule
    tables ``{kind = ..., ...}`` (see :data:`~sibsim.money.pricing.PRICING_RULES`).

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
    >>> from sibsim.money.pricing import PricePerUnit
    >>> terms = MetricTerms("reconviction", PricePerUnit(1000.0, threshold=0.10),
    ...                     pooled_rule=PricePerUnit(1000.0, threshold=0.075))
    >>> terms.rule_for(cumulative=True).threshold
    0.075
    """

    metric: str = param(v.label, doc="metric name, as evaluated")
    rule: PricingRule = param(v.instance_of(PricingRule), reader=PRICING_RULES.read,
                              doc="pricing rule of the metric's triggers")
    pooled_rule: PricingRule | None = param(v.optional(v.instance_of(PricingRule)),
                                            default=None, reader=PRICING_RULES.read,
                                            doc="rule of cumulative triggers (default: rule)")
    cap: float | None = param(CAP, default=None, doc="currency over the contract")
    per_person_cap: float | None = param(CAP, default=None, doc="currency per participant")

    def rule_for(self, cumulative: bool) -> PricingRule:
        """The rule applied to a cohort (``cumulative=False``) or pooled trigger."""
        return self.pooled_rule if (cumulative and self.pooled_rule is not None) else self.rule


def _read_terms(sec: Section, key: str) -> tuple[MetricTerms, ...]:
    """``[[contract.terms]]``: one or more metric-terms tables."""
    raw = sec.get(key)
    if not isinstance(raw, list) or not raw:
        raise KeyProblem(sec.path(key), "expected one or more [[contract.terms]]")
    return tuple(MetricTerms.from_toml(Section(f"{sec.path(key)}[{i}]", item))
                 for i, item in enumerate(raw))


def _read_rate_cards(sec: Section, key: str) -> tuple[RateCard, ...]:
    """``[[contract.rate_cards]]``: rate-card tables."""
    raw = sec.get(key)
    if not isinstance(raw, list):
        raise KeyProblem(sec.path(key), "expected [[contract.rate_cards]] tables")
    return tuple(RateCard.from_toml(Section(f"{sec.path(key)}[{i}]", item))
                 for i, item in enumerate(raw))


def _read_caps(sec: Section, key: str) -> Caps:
    """``[contract.caps]``: a table of caps."""
    sub = sec.sub(key)
    assert sub is not None  # only called when the key is present
    return Caps.from_toml(sub)


@dataclass(frozen=True)
class Contract(Spec):
    """An outcomes contract: payment terms per metric, rate cards, caps, payment lag.

    TOML: the ``[contract]`` table with ``[[contract.terms]]``, optional
    ``[[contract.rate_cards]]`` and an optional ``[contract.caps]``; the currency is the
    scenario's top-level ``currency``
    (``Contract.from_toml(section, currency="GBP")``).

    Parameters
    ----------
    terms : sequence of MetricTerms
        One entry per outcome metric (unique metric names).
    caps : Caps, default no caps
        Contract-wide caps (per period, per person, total); they apply to the rate cards'
        payments too.
    lag : int, default 0
        Payment lag in periods: a trigger known in period q is paid in period q + lag.
    currency : str, default "EUR"
        Currency of all amounts.
    overflow : {"last", "drop"}, default "last"
        Payments falling after the last period: ``"last"`` pays them in the last period
        (the commissioner's liability does not vanish with the horizon), ``"drop"`` leaves
        them out of the horizon (they still count towards caps and top-ups and are reported
        in ``PaymentResult.beyond_horizon``).
    payment_periods : sequence of int, or None, default None
        The contract's own payment dates, as periods (0-based, strictly increasing, within the
        horizon): an amount falling due (result period + ``lag``) between two dates is paid on
        the next date; one due after the last date is treated as due after the horizon (see
        ``overflow``). Caps, the cumulative top-up and the payers' shares apply as without
        dates; the per-period cap applies to the payment date. None: each amount is paid when
        due. Denver paid its housing outcomes in five instalments.
    rate_cards : sequence of RateCard, default none
        Prices per achievement of the treated participants (no counterfactual); names unique
        among themselves and the metrics of ``terms``.

    Examples
    --------
    >>> from sibsim.money.pricing import PricePerUnit
    >>> contract = Contract(
    ...     terms=(MetricTerms("reconviction", PricePerUnit(1000.0, threshold=0.10)),),
    ...     caps=Caps(total=250_000.0), lag=1, currency="GBP")
    >>> table = EvaluationTable(("reconviction",), (1,), (False,), (1000,),
    ...                         measured_effect=[[0.12]], units=[[300.0]])
    >>> contract.outcome_payments(table, n_periods=4).total.tolist()
    [[0.0, 0.0, 250000.0, 0.0]]
    """

    terms: tuple[MetricTerms, ...] = param(v.vector(v.instance_of(MetricTerms)),
                                           reader=_read_terms, doc="one per metric")
    caps: Caps = param(v.instance_of(Caps), default_factory=Caps, reader=_read_caps,
                       doc="contract-wide caps")
    lag: int = param(v.integer(0), default=0, doc="payment lag (periods)")
    currency: str = param(v.label, default="EUR", doc="currency of every amount")
    overflow: Overflow = param(v.one_of("last", "drop"), default="last",
                               doc="payments due after the horizon: last period, or dropped")
    rate_cards: tuple[RateCard, ...] = param(v.vector(v.instance_of(RateCard), min_len=0),
                                             default=(), reader=_read_rate_cards,
                                             doc="prices per achievement of the participants")
    payment_periods: tuple[int, ...] | None = param(
        v.optional(v.vector(v.integer(0))), default=None,
        doc="the contract's payment dates (periods, increasing); None: pay when due")

    def validate(self) -> None:
        """Metric names unique across ``terms``; rate-card names unique and not metrics;
        payment periods strictly increasing."""
        v.unique("Contract.terms", self.metrics, "metric names")
        v.unique("Contract.rate_cards", self.payment_labels, "names (metrics and rate cards)")
        dates = self.payment_periods
        if dates is not None and any(b <= a for a, b in itertools.pairwise(dates)):
            raise v.fail("Contract.payment_periods", list(dates),
                         "strictly increasing periods (each payment date once)")

    def payment_period(self, period: int, n_periods: int) -> tuple[int | None, bool]:
        """The period in which an amount of a result known in ``period`` is paid, and whether
        it falls after the horizon (or after the last payment date).

        The amount falls due in ``period + lag``. With ``payment_periods`` it is paid on the
        first payment date at or after that; an amount due after the last payment date is
        treated as one due after the horizon (``overflow``: ``"last"`` pays it in the
        horizon's last period, ``"drop"`` leaves it out, reported in ``beyond_horizon``).
        Returns ``(None, True)`` for an amount dropped.

        >>> from sibsim.money.pricing import PricePerUnit
        >>> c = Contract((MetricTerms("m", PricePerUnit(1.0)),), lag=1,
        ...              payment_periods=(3, 7))
        >>> [c.payment_period(p, 10) for p in (0, 2, 3, 6, 7)]
        [(3, False), (3, False), (7, False), (7, False), (9, True)]
        """
        return payment_period(period, self.lag, self.overflow, n_periods, self.payment_periods)

    def due_after_horizon(self, periods: Sequence[int], n_periods: int) -> list[int]:
        """The positions of the results known in ``periods`` whose payments fall due after
        the horizon of ``n_periods`` (or after the last payment date): paid in its last period
        or left out, as ``overflow`` says.

        >>> from sibsim.money.pricing import PricePerUnit
        >>> Contract((MetricTerms("m", PricePerUnit(1.0)),), lag=1).due_after_horizon(
        ...     [3, 8, 9], 10)
        [2]
        """
        return [k for k, q in enumerate(periods)
                if self.payment_period(int(q), n_periods)[1]]

    @classmethod
    def toml_fields(cls) -> tuple[dataclasses.Field, ...]:
        """Every field but ``currency``, which is the scenario's (not a key of ``[contract]``)."""
        return tuple(f for f in super().toml_fields() if f.name != "currency")

    @classmethod
    def from_toml(cls, sec: Section, **context: Any) -> Contract:
        """Read a ``[contract]`` table; ``currency`` comes from ``context`` (the scenario's).

        >>> import tomllib
        >>> doc = tomllib.loads('''
        ... [contract]
        ... lag = 1
        ... [[contract.terms]]
        ... metric = "reconviction"
        ... rule = {kind = "price_per_unit", price = 12_500, threshold = 0.10}
        ... ''')
        >>> c = Contract.from_toml(Section("contract", doc["contract"]), currency="GBP")
        >>> c.terms[0].rule, c.lag, c.currency
        (PricePerUnit(price=12500.0, threshold=0.1, ceiling=None), 1, 'GBP')
        """
        out = super().from_toml(sec)  # type: ignore[misc]
        if "currency" not in context:
            return out
        return build(sec.key, functools.partial(dataclasses.replace, out),
                     currency=context["currency"])

    @property
    def metrics(self) -> tuple[str, ...]:
        """Metric names, in ``terms`` order."""
        return tuple(t.metric for t in self.terms)

    @property
    def rate_card_names(self) -> tuple[str, ...]:
        """Rate-card names, in ``rate_cards`` order."""
        return tuple(c.name for c in self.rate_cards)

    @property
    def payment_labels(self) -> tuple[str, ...]:
        """Labels of the payments by metric: the metrics of ``terms``, then the rate cards."""
        return self.metrics + self.rate_card_names

    def check_outcome(self, strata: Sequence[str], states: Sequence[str]) -> None:
        """Refuse rate cards naming strata or states the outcome scenario does not have."""
        for card in self.rate_cards:
            card.check_outcome(strata, states)

    def achievements(self, ds: xr.Dataset) -> Achievements | None:
        """What the rate cards count in an outcome dataset (None without rate cards).

        >>> import sibsim
        >>> deal = sibsim.load_scenario("peterborough")
        >>> deal.contract.achievements(sibsim.simulate(deal.scenario, draws=2)) is None
        True
        """
        if not self.rate_cards:
            return None
        counts = np.stack([card.counts(ds) for card in self.rate_cards], axis=1)
        participants = ds["size"].sel(arm="treatment").sum("wave").values
        return Achievements(cards=self.rate_card_names,
                            strata=tuple(str(s) for s in ds["stratum"].values),
                            participants=participants, counts=counts)

    def outcome_payments(self, table: EvaluationTable, n_periods: int,
                         achievements: Achievements | None = None) -> PaymentResult:
        """Outcome payments per draw and period for the evaluation results in ``table``.

        Parameters
        ----------
        table : EvaluationTable
            Evaluation results, (D, K); every metric must have terms in this contract.
        n_periods : int
            Number of payment periods ``P`` (the horizon).
        achievements : Achievements, optional
            What the rate cards count (:meth:`achievements`); required with rate cards, over
            the same draws and ``P`` periods.

        Returns
        -------
        PaymentResult
            ``total`` (D, P), ``by_metric`` (D, M + R, P), ``by_trigger`` (D, K),
            ``beyond_horizon`` (D, M + R), in ``currency`` (M metrics, then R rate cards).

        Notes
        -----
        Triggers and rate-card payments are processed in order of period (triggers first,
        in table order, then the rate cards, in contract order), applying the pricing rule,
        gate, per-person cap, cumulative top-up, metric (or rate-card) cap, total cap, lag and
        overflow, then the per-period cap (see :mod:`sibsim.money.payment_ledger`). Caps are
        never exceeded.
        """
        owner = "Contract.outcome_payments"
        n_periods = v.integer(1)(f"{owner}.n_periods", n_periods)
        v.instance_of(EvaluationTable)(f"{owner}.table", table)
        unknown = sorted(set(table.metric) - set(self.metrics))
        if unknown:
            raise v.fail(f"{owner}.table.metric", unknown,
                         f"metrics with terms in the contract: {list(self.metrics)}")
        if self.rate_cards:
            if not isinstance(achievements, Achievements):
                raise v.fail(f"{owner}.achievements", type(achievements).__name__,
                             "the Achievements of the contract's rate cards "
                             "(Contract.achievements(dataset))")
            if achievements.cards != self.rate_card_names:
                raise v.fail(f"{owner}.achievements.cards", achievements.cards,
                             f"the contract's rate cards {self.rate_card_names}")
            shape = (table.n_draws, n_periods)
            if (achievements.counts.shape[0], achievements.n_periods) != shape:
                raise v.fail(f"{owner}.achievements.counts", achievements.counts.shape,
                             f"D={shape[0]} draws and P={shape[1]} periods")
        elif achievements is not None and achievements.cards:
            raise v.fail(f"{owner}.achievements.cards", achievements.cards,
                         "none: the contract has no rate cards")
        return compute_payments(self, table, n_periods, achievements)
