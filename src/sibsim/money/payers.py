"""Outcome payers: the public bodies that share a SIB's outcome payments and its savings.

A real outcomes contract often has several payers: the state and a municipality, a social
insurance institution, a wellbeing services county, or a central top-up fund paying a share of
every payment (Peterborough: the Ministry of Justice with the Big Lottery Fund; Lapset-SIB II:
three payers committing EUR 10.0M, 4.3M and 1.6M). Each :class:`Payer` has

* its **share** of each metric's outcome payments (a fraction per metric, or one fraction for
  every metric);
* its **own savings** (cashable and wider, per avoided event and per avoided person-period in a
  state) and its own costs: which body saves what;
* its **own caps** (over the contract and per period) and its own budget line in the results.

Order of the money
------------------
1. The contract computes the outcome payments with *its* rules and caps
   (:meth:`~sibsim.money.contract.Contract.outcome_payments`): the contract's caps come first.
2. Each metric's payments are split among the payers by their shares (the shares of a metric
   sum to 1 over the payers, so the split conserves money).
3. Each payer's caps then apply to its own share, period by period: per period, then over the
   contract. What a capped payer does not pay is **not paid**: no other payer makes it up, it
   is not carried to a later period, and it is missing from what enters the capital waterfall,
   so the investors (and whoever receives any excess) have that much less to share. The
   money dataset reports it as ``unpaid_by_payer``.
4. A payer with ``appropriations`` pays from them: what is due beyond the funds it has received
   so far waits for its later funds (first in, first out; unused funds carry over), so its
   payments, and what enters the waterfall, come later. What it still owes at the horizon's
   end is in ``unpaid_by_payer`` too.

Payer caps apply to payments inside the horizon (with the contract's ``overflow = "last"``
the payments due after the horizon are in the last period, and capped there; with
``overflow = "drop"`` they are outside the money dataset and outside the payer caps).

The waterfall's excess returned to the public side (``excess_to = "commissioner"``) is shared
among the payers in proportion to what each paid in that period. One social discount rate
(``[municipality] discount_rate``) discounts every payer's flows.

A deal without payers has one: ``"commissioner"``, paying all of every metric, with the
savings and costs of ``Deal.municipality``; its results are those of a single-commissioner
deal, bit for bit.

Examples
--------
The state pays all of metric "training" and half of "tax"; a municipality the other half:

>>> state = Payer("state", shares={"training": 1.0, "tax": 0.5}, saving_per_event=3_000.0)
>>> city = Payer("city", shares={"tax": 0.5}, cap_total=1e6)
>>> state.share_of("tax"), city.share_of("training")
(0.5, 0.0)
>>> fund = Payer("top-up fund", shares=0.25)  # a quarter of every payment
>>> fund.share_of("anything")
0.25
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sibsim.money._arrays import per_period, readonly
from sibsim.money.kernels.appropriation import defer_to_funds
from sibsim.money.kernels.chain import apply_payer_caps, payer_flows, split_capped
from sibsim.money.kernels.savings import valued_amounts
from sibsim.money.municipality import APPROPRIATIONS, Municipality
from sibsim.money.results import PaymentResult
from sibsim.money.uncertain import UncertainAmount, amount_value, read_amount
from sibsim.spec import _validate as v
from sibsim.spec.variant import Spec, param

__all__ = [
    "DEFAULT_PAYER",
    "SHARE_TOLERANCE",
    "Payer",
    "PayerSplit",
    "check_payers",
    "effective_payers",
    "payer_funds",
    "payer_own_costs",
    "payer_savings",
    "split_by_payer",
    "split_terms",
    "valued_rates",
    "valued_states",
]

FloatArray = NDArray[np.float64]

#: Name of the payer a deal without ``payers`` gets (built from ``Deal.municipality``).
DEFAULT_PAYER = "commissioner"

#: How far the shares of a metric over the payers may be from 1.
SHARE_TOLERANCE = 1e-9

_SHARE = v.fraction(0.0, 1.0)
_AMOUNT = v.interval(0.0, math.inf)
#: An amount >= 0 or a distribution of amounts (an uncertain money assumption).
_UNCERTAIN = UncertainAmount(_AMOUNT)


class _Shares(v.Constraint):
    """One fraction in [0, 1] for every metric, or a mapping metric -> fraction."""

    description = "a fraction in [0, 1] (every metric), or a table {metric = fraction}"

    def __call__(self, field: str, value: object) -> float | dict[str, float]:
        if isinstance(value, Mapping):
            if not value:
                raise v.fail(field, value, "at least one metric")
            return {v.name(f"{field} key", k): _SHARE(f"{field}[{k}]", x)
                    for k, x in value.items()}
        if isinstance(value, (str, bytes)) or isinstance(value, Sequence):
            raise TypeError(f"{field}: got {value!r}; allowed: {self.description}")
        return _SHARE(field, value)


class _PerState(v.Constraint):
    """A mapping state -> amount >= 0 (currency per person-period)."""

    description = "a table {state = amount >= 0}"

    def __call__(self, field: str, value: object) -> dict[str, float]:
        if not isinstance(value, Mapping):
            raise TypeError(f"{field}: got {value!r}; allowed: {self.description}")
        return {v.name(f"{field} key", k): _UNCERTAIN(f"{field}[{k}]", x)
                for k, x in value.items()}


class _AmountOrTable(v.Constraint):
    """An amount >= 0, or a table ``{process = amount >= 0}`` (several outcome processes)."""

    description = "an amount >= 0, or a table {process = amount >= 0}"

    def __call__(self, field: str, value: object) -> float | dict[str, float]:
        if isinstance(value, Mapping) and "dist" not in value:
            return {v.name(f"{field} key", k): _UNCERTAIN(f"{field}[{k}]", x)
                    for k, x in value.items()}
        return _UNCERTAIN(field, value)


class _MetricFractions(v.Constraint):
    """A table ``{metric = fraction in [0, 1]}`` (at least one metric)."""

    description = "a table {metric = fraction in [0, 1]} of money evaluations' metrics"

    def __call__(self, field: str, value: object) -> dict[str, float]:
        if not isinstance(value, Mapping):
            raise TypeError(f"{field}: got {value!r}; allowed: {self.description}")
        for k, x in value.items():
            if isinstance(x, Mapping):  # a distribution: the fractions must add up per draw
                raise v.fail(f"{field}[{k}]", x, "a fraction in [0, 1], a number (a split "
                             "between the payers, not a distribution)")
        return {v.name(f"{field} key", k): _SHARE(f"{field}[{k}]", x)
                for k, x in value.items()}


@dataclass(frozen=True)
class Payer(Spec):
    """One body paying a share of the outcome payments, with its own savings, costs and caps.

    TOML: one ``[[payers]]`` table (see ``docs/scenario-format.md``).

    Parameters
    ----------
    name : str
        The payer ("state", "Kela", "city of Espoo", "top-up fund"); unique in a deal.
    shares : float or mapping metric -> float
        Fraction of each metric's outcome payments this payer pays (0.25 = 25%). A single
        number applies to every metric of the contract; a metric left out of a mapping is 0.
    saving_per_event : float or mapping process -> float
        Cashable saving of this payer per avoided event (currency per event), >= 0; with
        several outcome processes one amount per process (see
        :class:`~sibsim.money.municipality.Municipality`).
    wider_value_per_event : float or mapping process -> float
        Wider public value to this payer per avoided event (currency per event), >= 0.
    saving_per_person_period : mapping state -> float
        Cashable saving per avoided person-period in a state (currency per person-period).
    wider_value_per_person_period : mapping state -> float
        Wider public value per avoided person-period in a state.
    saving_of_money_effect : mapping metric -> float
        This payer's fraction (in [0, 1]) of the extra money that a money evaluation's
        ``money.effect`` brings (Koto-SIB's extra taxes from higher wages: the municipalities
        0.8, the state 0.2), counted in its cashable savings, per draw and period:
        ``fraction x (effect - 1) x per_unit x`` the engaged treated participants' units
        (currency; :mod:`sibsim.money.payer_money_effect`). The fractions of a metric sum to
        at most 1 over the payers; a metric without ``money.effect`` saves nothing. Empty
        (default): none.
    other_costs_per_period : float
        The payer's own costs per period (evaluation, contract management), currency.
    contract_periods : int, optional
        Periods over which ``other_costs_per_period`` are incurred (default: all).
    cap_total : float, optional
        Most this payer pays over the contract (currency); None: no cap.
    cap_per_period : float or sequence of float (length P), optional
        Most this payer pays in one period (currency; a sequence: one per period, e.g. an
        annual budget line); None: no cap.
    savings_strata : str or sequence of str, optional
        Strata of the cohort whose avoided outcomes count in this payer's savings (a
        municipality saves only on its own residents); None: every stratum. See
        :mod:`sibsim.money.payer_scope`.
    first_year, last_year : int, optional
        Calendar years (inclusive, with the deal's ``start_year``) in which this payer takes
        part: it pays its shares, counts its savings and incurs its own costs only in periods of
        those years (child welfare moving from the municipalities to the wellbeing services
        counties in 2023). None: from the deal's start, to its end. In every year the shares of
        each metric over the payers present then sum to 1.
    waves : int or sequence of int, optional
        Entry waves (cohorts; 0-based, as the ``[cohort] entry`` list) whose outcome payments
        this payer's shares apply to: Utah's United Way and Salt Lake County paid for cohort 1
        (``waves = [0]``), the State for later cohorts. None: every wave. For each metric and
        wave the shares over the payers covering that wave sum to 1. See
        :mod:`sibsim.money.payer_waves`.
    appropriations : float or sequence of float, optional
        Funds made available to this payer for outcome payments in each calendar year
        (currency; a number: the same every year; a sequence: one per calendar year of the
        deal, from its first, as ``Deal.calendar_years()`` counts them), received in the first
        period of the year (Massachusetts' payments came from a trust fund filled by yearly
        appropriations; a municipality pays from its yearly budget line). What is due beyond
        the funds received so far waits, first in first out, for the next year's funds, and
        unused funds carry over; what is still owed at the horizon's end is reported in
        ``unpaid_by_payer``. Applied after the payer's caps. None (default): the payer pays
        what is due when it is due.

    The savings rates and ``other_costs_per_period`` may be distributions (uncertain money
    assumptions, sampled once per draw: :mod:`sibsim.money.uncertain`); shares and caps are
    decisions and stay numbers.

    Examples
    --------
    >>> p = Payer("Kela", shares={"employment": 0.6}, saving_per_event=12_000.0,
    ...           cap_total=4.3e6)
    >>> p.cap_total, p.share_vector(("employment", "care")).tolist()
    (4300000.0, [0.6, 0.0])
    """

    name: str = param(v.label, doc="payer name, unique in the deal")
    shares: float | dict[str, float] = param(_Shares(), doc="fraction of each metric's payments")
    saving_per_event: float | dict[str, float] = param(
        _AmountOrTable(), default=0.0, reader=read_amount,
        doc="currency per event avoided; or {process = amount} with several outcome processes")
    wider_value_per_event: float | dict[str, float] = param(
        _AmountOrTable(), default=0.0, reader=read_amount,
        doc="currency per event avoided; or {process = amount} with several outcome processes")
    saving_per_person_period: dict[str, float] = param(
        _PerState(), default_factory=dict, reader=read_amount,
        doc="currency per person-period avoided, by state")
    wider_value_per_person_period: dict[str, float] = param(
        _PerState(), default_factory=dict, reader=read_amount,
        doc="currency per person-period avoided, by state")
    saving_of_money_effect: dict[str, float] = param(
        _MetricFractions(), default_factory=dict,
        doc="fraction of a money evaluation's extra money from its money.effect, by metric")
    other_costs_per_period: float = param(_UNCERTAIN, default=0.0, uncertain=True,
                                          doc="currency per period")
    contract_periods: int | None = param(v.optional(v.integer(1)), default=None,
                                         doc="periods with other costs (default: all)")
    cap_total: float | None = param(v.optional(v.cap()), default=None,
                                    doc="currency over the contract")
    cap_per_period: float | tuple[float, ...] | None = param(
        v.optional(v.scalar_or_vector(_AMOUNT)), default=None,
        doc="currency per period: a number or one per period")
    # when and on whom the payer counts (sibsim.money.payer_scope)
    savings_strata: tuple[str, ...] | None = param(
        v.optional(v.scalar_or_vector(v.label)), default=None,
        doc="strata whose avoided outcomes count in the payer's savings; None: all")
    first_year: int | None = param(v.optional(v.integer(1900, 2200)), default=None,
                                   doc="first calendar year in which the payer takes part")
    last_year: int | None = param(v.optional(v.integer(1900, 2200)), default=None,
                                  doc="last calendar year in which the payer takes part")
    # whose payments the payer shares (sibsim.money.payer_waves)
    waves: tuple[int, ...] | None = param(
        v.optional(v.scalar_or_vector(v.integer(0))), default=None,
        doc="entry waves (0-based) whose outcome payments the shares apply to; None: all")
    # what the payer pays from (sibsim.money.kernels.appropriation)
    appropriations: float | tuple[float, ...] | None = param(
        APPROPRIATIONS, default=None,
        doc="currency made available for outcome payments in each calendar year (a number: "
            "every year; or one per calendar year of the deal); payments wait for the funds")

    def validate(self) -> None:
        if isinstance(self.savings_strata, str):
            self._set("savings_strata", (self.savings_strata,))
        if self.savings_strata is not None:
            v.unique(f"Payer[{self.name}].savings_strata", self.savings_strata, "strata")
        if isinstance(self.waves, int):
            self._set("waves", (self.waves,))
        if self.waves is not None:
            v.unique(f"Payer[{self.name}].waves", self.waves, "entry waves")
        if (self.first_year is not None and self.last_year is not None
                and self.last_year < self.first_year):
            raise v.fail(f"Payer[{self.name}].last_year", self.last_year,
                         f"a year from first_year ({self.first_year}) on")

    @property
    def bounded(self) -> bool:
        """The payer takes part in some calendar years only (``first_year``/``last_year``)."""
        return self.first_year is not None or self.last_year is not None

    @classmethod
    def from_municipality(cls, municipality: Municipality, name: str = DEFAULT_PAYER) -> Payer:
        """The single payer of a deal without ``payers``: all of every metric, with the
        municipality's savings and costs.

        >>> Payer.from_municipality(Municipality(saving_per_event=10.0)).shares
        1.0
        """
        m = municipality
        return cls(name=name, shares=1.0, saving_per_event=m.saving_per_event,
                   wider_value_per_event=m.wider_value_per_event,
                   saving_per_person_period=dict(m.saving_per_person_period),
                   wider_value_per_person_period=dict(m.wider_value_per_person_period),
                   other_costs_per_period=m.other_costs_per_period,
                   contract_periods=m.contract_periods, appropriations=m.appropriations)

    def share_of(self, metric: str) -> float:
        """This payer's fraction of ``metric``'s payments (0 for a metric it does not pay)."""
        if isinstance(self.shares, dict):
            return self.shares.get(metric, 0.0)
        return self.shares

    def wave_mask(self, n_waves: int) -> FloatArray:
        """1.0 for each of ``n_waves`` entry waves whose payments this payer shares, else 0.

        >>> Payer("county", 1.0, waves=[0]).wave_mask(3).tolist()
        [1.0, 0.0, 0.0]
        """
        if self.waves is None:
            return np.ones(n_waves)
        return np.isin(np.arange(n_waves), self.waves).astype(np.float64)

    def share_vector(self, metrics: Sequence[str]) -> FloatArray:
        """Shares of ``metrics``, in that order, as an array (M,)."""
        return np.array([self.share_of(m) for m in metrics], dtype=np.float64)

    @property
    def savings_terms(self) -> Municipality:
        """The payer's savings and costs as a :class:`Municipality` (whose arithmetic is
        reused; its discount rate is unused: the deal has one social discount rate)."""
        return Municipality(
            saving_per_event=self.saving_per_event,
            wider_value_per_event=self.wider_value_per_event,
            saving_per_person_period=self.saving_per_person_period,
            wider_value_per_person_period=self.wider_value_per_person_period,
            other_costs_per_period=self.other_costs_per_period,
            contract_periods=self.contract_periods)

    def states_valued(self) -> set[str]:
        """States whose person-periods this payer values."""
        return set(self.saving_per_person_period) | set(self.wider_value_per_person_period)


def check_payers(payers: Sequence[Payer], metrics: Sequence[str],
                 municipality: Municipality, field: str = "Deal.payers") -> None:
    """Refuse an inconsistent set of payers (raises ``ValueError`` naming the field).

    Payer names are unique; every metric named in a payer's ``shares`` is a contract metric;
    the shares of each metric sum to 1 over the payers (within :data:`SHARE_TOLERANCE`);
    ``municipality`` holds no savings or costs (with payers, each payer holds its own: only the
    social ``discount_rate`` stays in the municipality).

    >>> try:
    ...     check_payers([Payer("state", 0.5), Payer("city", {"m": 0.4})], ["m"], Municipality())
    ... except ValueError as err:
    ...     print(str(err).split("; allowed")[0])
    Deal.payers.shares[m]: got 0.9
    """
    v.unique(field, [p.name for p in payers], "payer names")
    known = set(metrics)
    for i, p in enumerate(payers):
        if isinstance(p.shares, dict):
            unknown = sorted(set(p.shares) - known)
            if unknown:
                raise v.fail(f"{field}[{i}].shares", unknown,
                             f"metrics of the contract ({', '.join(metrics)})")
    if any(p.bounded for p in payers):  # shares sum to 1 year by year: payer_scope checks
        metrics = ()
    if any(p.waves is not None for p in payers):  # ... and wave by wave: payer_waves checks
        metrics = ()
    for m in metrics:
        parts = [(p.name, p.share_of(m)) for p in payers]
        total = math.fsum(s for _, s in parts)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            who = ", ".join(f"{n} {s:g}" for n, s in parts)
            raise v.fail(f"{field}.shares[{m}]", round(total, 12),
                         f"shares of metric {m!r} summing to 1 over the payers ({who})")
    if municipality != Municipality(discount_rate=municipality.discount_rate):
        raise v.fail("Deal.municipality", municipality,
                     "only discount_rate when payers are given (each payer's savings and "
                     "costs are its own: put them in its [[payers]] table)")


@dataclass(frozen=True, eq=False)
class PayerSplit:
    """Outcome payments split among the payers, after each payer's caps.

    Attributes
    ----------
    payers : tuple of str
        Payer names (axis 1).
    due : array (D, Y, P)
        Each payer's share of the contract's payments, before its caps (currency).
    paid : array (D, Y, P)
        What each payer pays, after its caps (currency, >= 0).
    total : array (D, P)
        What all payers pay together: the outcome payments entering the waterfall. Exactly
        the contract's total when no payer cap binds; else the contract's total less what
        capped payers do not pay (equal to ``paid.sum(1)`` up to rounding).

    Examples
    --------
    >>> from sibsim.money import Contract, MetricTerms, PricePerUnit
    >>> from sibsim.money.results import EvaluationTable
    >>> c = Contract((MetricTerms("m", PricePerUnit(10.0)),))
    >>> pay = c.outcome_payments(EvaluationTable(("m",), (0,), (False,), (1,),
    ...                          measured_effect=[[0.2]], units=[[10.0]]), n_periods=1)
    >>> s = split_by_payer((Payer("state", 0.7), Payer("city", 0.3, cap_total=20.0)), pay)
    >>> s.paid[0, :, 0].tolist(), s.total.tolist()
    ([70.0, 20.0], [[90.0]])
    """

    payers: tuple[str, ...]
    due: FloatArray
    paid: FloatArray
    total: FloatArray

    @property
    def unpaid(self) -> FloatArray:
        """Due under a payer's shares but not paid because of its caps, (D, Y, P)."""
        return self.due - self.paid

    def flows(self, commissioner_flow: FloatArray) -> FloatArray:
        """Each payer's waterfall flow (D, Y, P): its payments (-) and its part of any excess
        returned to the public side (+), in proportion to what it paid in the period."""
        out = np.empty(self.paid.shape)
        payer_flows(np.ascontiguousarray(self.paid, dtype=np.float64),
                    np.ascontiguousarray(self.total, dtype=np.float64),
                    np.ascontiguousarray(commissioner_flow, dtype=np.float64), out)
        return out


def split_by_payer(payers: Sequence[Payer], pay: PaymentResult,
                   presence: NDArray[np.bool_] | None = None,
                   by_wave: FloatArray | None = None,
                   funds: FloatArray | None = None) -> PayerSplit:
    """Split the contract's payments among ``payers`` by their shares, then apply each
    payer's caps (per period, then over the contract), period by period, and then each
    budgeted payer's appropriations (``funds``).

    Parameters
    ----------
    payers : sequence of Payer
        Payers whose shares of each metric sum to 1 (see :func:`check_payers`).
    pay : PaymentResult
        The contract's outcome payments (after the contract's own caps).
    presence : bool array (Y, P), optional
        Whether each payer takes part in each period (payers with ``first_year`` /
        ``last_year``: :func:`sibsim.money.payer_scope.presence`); None: all throughout.
    by_wave : array (D, M, W, P), optional
        ``pay.by_metric`` by entry wave, for payers with ``waves``
        (:func:`sibsim.money.payer_waves.payments_by_wave`): each payer's shares then apply
        to the waves it covers only; None: every payer shares every wave's payments.
    funds : array (Y, P), optional
        The funds each payer receives in each period (:func:`payer_funds`; inf for a payer
        without ``appropriations``): a payer's payments wait for its funds
        (:func:`sibsim.money.kernels.appropriation.defer_to_funds`). None: no payer has any.

    Returns
    -------
    PayerSplit
        Due, paid (D, Y, P) and the total paid (D, P), in the contract's currency.
    """
    split = _split(payers, pay, presence, by_wave)
    if funds is None:
        return split
    budgeted = np.flatnonzero(~np.isinf(funds).all(axis=1))
    if budgeted.size == 0:
        return split
    paid = np.ascontiguousarray(split.paid, dtype=np.float64)
    total = np.ascontiguousarray(split.total, dtype=np.float64)
    out_paid, out_total = np.empty_like(paid), np.empty_like(total)
    defer_to_funds(paid, budgeted.astype(np.int64),
                   np.ascontiguousarray(funds[budgeted], dtype=np.float64), total,
                   out_paid, out_total)
    return PayerSplit(split.payers, split.due, readonly(out_paid), readonly(out_total))


def split_terms(payers: Sequence[Payer], metrics: Sequence[str]
                ) -> tuple[FloatArray, list[int], bool]:
    """The payers' shares of each metric (Y, M), the payers with caps, and whether one payer
    pays everything (its due is then the contract's total): what :func:`split_by_payer`
    splits by."""
    shares = np.stack([p.share_vector(metrics) for p in payers])  # (Y, M)
    capped = [i for i, p in enumerate(payers)
              if p.cap_total is not None or p.cap_per_period is not None]
    return shares, capped, len(payers) == 1 and bool(np.all(shares == 1.0))


def _split(payers: Sequence[Payer], pay: PaymentResult, presence: NDArray[np.bool_] | None,
           by_wave: FloatArray | None) -> PayerSplit:
    """:func:`split_by_payer` before the appropriations."""
    P = pay.n_periods
    shares, capped, one = split_terms(payers, pay.metrics)
    if by_wave is None and presence is None and capped and not one and shares.shape[1] == 1:
        # one metric: the shares and the caps in one pass over the payments (the same numbers)
        per, cap_total = _caps(payers, capped, P)
        by_metric = np.ascontiguousarray(pay.by_metric, dtype=np.float64)
        D = by_metric.shape[0]
        due, paid, total = np.empty((D, len(payers), P)), np.empty((D, len(payers), P)), \
            np.empty((D, P))
        split_capped(np.ascontiguousarray(shares, dtype=np.float64), by_metric,
                     np.array(capped, dtype=np.int64), per, cap_total,
                     np.ascontiguousarray(pay.total, dtype=np.float64), due, paid, total)
        return PayerSplit(tuple(p.name for p in payers), readonly(due), readonly(paid),
                          readonly(total))
    if by_wave is not None:  # payers by entry wave (money/payer_waves.py)
        cover = np.stack([p.wave_mask(by_wave.shape[2]) for p in payers])  # (Y, W)
        due = np.einsum("ym,yw,dmwp->dyp", shares, cover, by_wave)
    elif one:
        due = np.array(pay.total[:, None, :])  # one payer paying all: exactly the total
    else:
        due = np.einsum("ym,dmp->dyp", shares, pay.by_metric)
    if presence is not None:  # payers present in some years only (money/payer_scope.py)
        due = due * presence[None]
    if not capped:
        return PayerSplit(tuple(p.name for p in payers), readonly(due), readonly(due.copy()),
                          pay.total)
    per, cap_total = _caps(payers, capped, P)
    due = np.ascontiguousarray(due, dtype=np.float64)
    paid, total = np.empty_like(due), np.empty(pay.total.shape)
    apply_payer_caps(due, np.array(capped, dtype=np.int64), per, cap_total,
                     np.ascontiguousarray(pay.total, dtype=np.float64), paid, total)
    return PayerSplit(tuple(p.name for p in payers), readonly(due), readonly(paid),
                      readonly(total))


def payer_funds(payers: Sequence[Payer], years: np.ndarray, field: str = "Deal.payers"
                ) -> FloatArray | None:
    """The funds each payer receives in each period from its ``appropriations``, (Y, P)
    (currency; inf for a payer without any), for the calendar ``years`` of the periods
    (``Deal.calendar_years()``): a year's funds arrive in its first period. None when no payer
    has appropriations. A list of appropriations needs one per calendar year of the deal
    (``ValueError`` naming the payer's field otherwise).

    >>> payer_funds([Payer("state", 1.0, appropriations=[4.0, 6.0])],
    ...             np.array([2014, 2014, 2015, 2015])).tolist()
    [[4.0, 0.0, 6.0, 0.0]]
    """
    if all(p.appropriations is None for p in payers):
        return None
    years = np.asarray(years)
    distinct, first = np.unique(years, return_index=True)  # years in order; first periods
    out = np.full((len(payers), years.size), np.inf)
    for i, p in enumerate(payers):
        a = p.appropriations
        if a is None:
            continue
        amounts = np.full(distinct.size, float(a)) if np.ndim(a) == 0 else np.asarray(
            a, dtype=np.float64)
        if amounts.size != distinct.size:
            at = f"{field}[{i}]" if field.endswith("payers") else field  # or the municipality
            raise v.fail(f"{at}.appropriations", list(np.atleast_1d(a)),
                         f"a number, or one amount per calendar year of the deal "
                         f"({distinct.size}: {int(distinct[0])}-{int(distinct[-1])})")
        out[i] = 0.0
        out[i, first] = amounts
    return out


def _caps(payers: Sequence[Payer], capped: list[int], n_periods: int
          ) -> tuple[FloatArray, FloatArray]:
    """The per-period caps (C, P) and total caps (C,) of the ``capped`` payers (currency;
    inf: none)."""
    per = np.array([np.full(n_periods, np.inf) if payers[i].cap_per_period is None
                    else per_period(f"Payer[{payers[i].name}].cap_per_period",
                                    payers[i].cap_per_period, n_periods)
                    for i in capped])  # (C, P)
    cap_total = np.array([np.inf if payers[i].cap_total is None else payers[i].cap_total
                          for i in capped], dtype=np.float64)
    return per, cap_total


def payer_savings(payers: Sequence[Payer], avoided_events: FloatArray | Mapping[str, FloatArray],
                  avoided_pp: Mapping[str, FloatArray], n_periods: int
                  ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Each payer's ``(cashable, wider, other costs)`` from its own rates.

    ``avoided_events`` is (D, P), or ``{process: (D, P)}`` with several outcome processes
    (valued at each payer's per-process amounts); ``avoided_pp`` maps each valued state to its
    avoided person-periods (D, P). Returns arrays (D, Y, P), (D, Y, P) and (Y, P), in currency
    (the costs (D, Y, P) when some payer's own costs are uncertain, resolved per draw).
    """
    shape = (next(iter(avoided_events.values())) if isinstance(avoided_events, Mapping)
             else avoided_events).shape
    by_payer = (shape[0], len(payers), *shape[1:])
    cash, wider = np.empty(by_payer), np.empty(by_payer)  # written in place, not stacked
    terms_of = [p.savings_terms for p in payers]
    # every payer's savings in one pass each (the same numbers), where the kernel applies
    written = _valued_in_one_pass(terms_of, avoided_events, avoided_pp, cash, wider)
    for y, (p, terms) in enumerate(zip(payers, terms_of, strict=True)):
        if not written:
            terms.savings(avoided_events, {s: avoided_pp[s] for s in p.states_valued()},
                          out=(cash[:, y], wider[:, y]))
    return cash, wider, payer_own_costs(terms_of, shape)


def payer_own_costs(terms_of: Sequence[Municipality], shape: tuple[int, int]) -> FloatArray:
    """Each payer's own costs per period (currency): (Y, P), or (D, Y, P) when some payer's
    cost is uncertain and resolved per draw; ``shape``: (D, P)."""
    other = [terms.other_costs(shape[1]) for terms in terms_of]
    if any(o.ndim == 2 for o in other):  # an uncertain cost: (D, Y, P)
        return np.stack([np.broadcast_to(o, shape) for o in other], axis=1)
    return np.stack(other)


def _valued_in_one_pass(terms_of: Sequence[Municipality], avoided: object,
                        avoided_pp: Mapping[str, FloatArray], cash: FloatArray,
                        wider: FloatArray) -> bool:
    """Every payer's cashable savings and wider value written into ``cash`` and ``wider``
    (D, Y, P) by :func:`~sibsim.money.kernels.savings.valued_amounts`, the same numbers as
    :meth:`Municipality.savings` payer by payer; False (nothing written) where the kernel does
    not apply: several processes' events, amounts per process, or arrays of another layout."""
    if not (isinstance(avoided, np.ndarray) and avoided.ndim == 2
            and avoided.dtype == np.float64):
        return False
    D, P = avoided.shape
    states = sorted({s for t in terms_of for s in t.states_valued()})
    if any(not (isinstance(avoided_pp.get(s), np.ndarray) and avoided_pp[s].shape == (D, P)
                and avoided_pp[s].dtype == np.float64) for s in states):
        return False
    pp = np.stack([avoided_pp[s] for s in states]) if states else np.empty((0, D, P))
    rates = [valued_rates(terms_of, kind, D, states) for kind in ("saving", "wider_value")]
    if rates[0] is None or rates[1] is None:
        return False
    for out, (rate, order) in zip((cash, wider), rates, strict=True):
        valued_amounts(avoided, pp, rate, order, out)
    return True


def valued_rates(terms_of: Sequence[Municipality], kind: str, draws: int,
                 states: Sequence[str]) -> tuple[FloatArray, NDArray[np.int64]] | None:
    """The ``rate`` (Y, 1 + K, D) and ``order`` (Y, K) of
    :func:`~sibsim.money.kernels.savings.valued_amounts` for each payer's ``kind`` of money
    (``"saving"``: cashable, ``"wider_value"``): its amount per avoided event, then per
    person-period of each state it values (``states``: the order of the person-periods given
    to the kernel), per draw (currency); None where the kernel does not apply (amounts per
    process, or per-draw amounts of another shape)."""
    amounts = []
    for t in terms_of:
        first = getattr(t, f"{kind}_per_event")
        if isinstance(first, Mapping):
            return None
        amounts.append([first, *getattr(t, f"{kind}_per_person_period").values()])
    K = max(len(a) for a in amounts) - 1
    rate = np.zeros((len(terms_of), 1 + K, draws))
    order = np.full((len(terms_of), max(K, 1)), -1, dtype=np.int64)
    for y, (t, row) in enumerate(zip(terms_of, amounts, strict=True)):
        for k, amount in enumerate(row):
            x = amount_value(amount)
            if np.ndim(x) and np.shape(x) not in ((draws, 1), (draws,)):
                return None
            rate[y, k] = np.reshape(x, -1) if np.ndim(x) else x
        for k, state in enumerate(getattr(t, f"{kind}_per_person_period")):
            order[y, k] = list(states).index(state)
    return rate, order


def effective_payers(payers: Sequence[Payer], municipality: Municipality) -> tuple[Payer, ...]:
    """``payers``, or the single default payer built from ``municipality`` when none."""
    return tuple(payers) if payers else (Payer.from_municipality(municipality),)


def valued_states(payers: Sequence[Payer], explicit: bool) -> dict[str, str]:
    """Every state some payer values -> the field to name if the outcome lacks it."""
    out: dict[str, str] = {}
    for i, p in enumerate(payers):
        owner = f"Deal.payers[{i}]" if explicit else "Municipality"
        for s in sorted(p.saving_per_person_period):
            out.setdefault(s, f"{owner}.saving_per_person_period")
        for s in sorted(p.wider_value_per_person_period):
            out.setdefault(s, f"{owner}.wider_value_per_person_period")
    return out

