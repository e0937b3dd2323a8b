"""Capital structure of a Social Impact Bond: tranches, guarantee, fees, service costs.

Specification objects only (validated at construction, read from TOML by ``from_toml``); the
cash-flow waterfall is :func:`sibsim.money.cashflows.waterfall` (its numba kernel is in
:mod:`sibsim.money.kernels.waterfall`) and its result a :class:`~sibsim.money.cashflows.CashFlows`.

Investors' capital is drawn down to pay service costs and fees as they are incurred;
outcome payments from the commissioner are distributed to the tranches in order of
seniority; a guarantee may cover principal losses at the end of the horizon. Cash flows have
the sign convention **+ received / - paid** and sum to zero over parties in every draw and
period.

Capital kinds (``[[capital.tranches]]``): investors' loans (:class:`Tranche`), non-recoverable
grants (:class:`Grant`: drawn like the others, never repaid, not investors') and deferred fees
(:class:`DeferredFees`: part of the service cost drawn in kind and repaid at its seniority out of
outcome payments only); every kind is drawn pro rata to its commitment.

Conventions (see ``docs/money.md``)
-----------------------------------
Within each period ``t`` (all flows of a period happen at the same date):

1. target returns accrue: each tranche's claim (principal outstanding plus unpaid target
   return) grows by ``1 + target_return`` (compounding per period; capital drawn in period
   ``t`` starts to accrue in ``t + 1``);
2. fees are due: ``intermediary_per_period[t] + management_rate_on_drawn x capital drawn
   before period t``;
3. drawdown: investors fund service costs plus fees, pro rata to commitments, up to the total
   commitment, and only as the need arises (no drawdown before a cost or fee is due). Beyond
   the commitment, the need is **unfunded**: service costs are funded before fees, and what
   is left unfunded is reported in ``CashFlows.unfunded`` (borne outside the deal: the
   provider delivers at its own risk or scales the service down). With ``recycle=True``,
   outcome payments held back from earlier periods fund the need before any drawdown;
4. the outcome payment is distributed immediately: tranches in order of seniority (1 = most
   senior; equal seniority shares pro rata to claims), each up to its claim and its return
   cap headroom ``return_cap x capital drawn - cash received``; fees are not paid from
   outcome payments (they are funded by drawdowns);
5. excess (what is left once every claim is met) goes to ``excess_to``: ``"commissioner"``
   (it pays less), ``"provider"`` (a performance bonus) or ``"investors"`` (pro rata to
   commitments, each up to its return cap headroom; what no tranche can take goes back to the
   commissioner).

With ``recycle=True`` an outcome payment is first held back, up to the service costs and fixed
fees the deal still has to pay in later periods (before its stop), and only the rest is
distributed; the held reserve is released when the deal settles.

From a stop period on (early termination, :mod:`sibsim.money.termination`) there are no more
service costs, fees or drawdowns. When the deal settles (at its stop, once the payments
already due are in, or at its maturity; the last period by default) the guarantor pays the
covered principal losses,
``loss = max(capital drawn - cash received, 0)`` per tranche, as its guarantee kind says
(:class:`FirstLossGuarantee`, :class:`ProRataGuarantee`; registered in :data:`GUARANTEES`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sibsim.money._arrays import per_period
from sibsim.money.kernels.waterfall import (
    CapitalArrays,
    ExcessTo,
    FeeArrays,
    GuaranteeArrays,
    GuaranteeMode,
    TrancheArrays,
)
from sibsim.money.uncertain import UncertainAmount, amount_value, read_amount
from sibsim.spec import _validate as v
from sibsim.spec.distributions import Distribution
from sibsim.spec.toml import KeyProblem, Section, parse_distribution
from sibsim.spec.variant import Registry, Spec, param, toml_value

__all__ = [
    "CAPITAL_KINDS",
    "GUARANTEES",
    "Capital",
    "CapitalStructure",
    "DeferredFees",
    "Fees",
    "FirstLossGuarantee",
    "Grant",
    "Guarantee",
    "ProRataGuarantee",
    "ServiceCosts",
    "Tranche",
    "investor_tranches",
]

FloatArray = NDArray[np.float64]

COMMISSIONER = "commissioner"
GUARANTOR = "guarantor"
PROVIDER = "provider"
INTERMEDIARY = "intermediary"
RESERVED_PARTIES = (COMMISSIONER, GUARANTOR, PROVIDER, INTERMEDIARY)

#: Guarantee kinds, by their TOML ``kind``: ``GUARANTEES["pro_rata"]`` is :class:`ProRataGuarantee`.
GUARANTEES = Registry("guarantee")

#: ``covers`` value meaning every tranche.
COVERS_ALL = "first_loss"

#: ``excess_to`` values, from the kernel's :class:`ExcessTo` codes.
EXCESS_TO = tuple(e.name.lower() for e in ExcessTo)


# --------------------------------------------------------------------------------------
# service costs
# --------------------------------------------------------------------------------------


_COST = UncertainAmount(lambda field, x: v.real(field, x, low=0.0))


class _FixedCosts(v.Constraint):
    """A number or a distribution (every period), or one number per period."""

    description = "an amount >= 0 (a number or a distribution), or one number per period"

    def __call__(self, field: str, value: object) -> Any:
        if isinstance(value, (Distribution, np.ndarray, Mapping)):
            return _COST(field, value)
        return v.scalar_or_vector(v.interval(0.0))(field, value)


def _read_fixed(sec: Section, key: str) -> Any:
    sec.used.add(key)
    raw = sec.data[key]
    return parse_distribution(sec.path(key), raw) if isinstance(raw, Mapping) \
        else toml_value(raw)


@dataclass(frozen=True)
class ServiceCosts(Spec):
    """Cost of delivering the service, per period.

    Parameters
    ----------
    fixed_per_period : float or sequence of float (length P), default 0
        Fixed cost in each period (currency per period: staff, premises), >= 0.
    per_participant : float, default 0
        Variable cost per participant served in a period (currency per participant-period).
    basis : {"engaged", "in_service"}, default "engaged"
        Who is served in a period of their service window (``service_periods`` from entry):
        ``"engaged"``, every engaged participant (who has not dropped out), as before;
        ``"in_service"``, engaged participants who are not in an absorbing state (dead, or
        left for good): costs follow the people. The states come from the outcome process with
        states (the first one, with several processes); a count outcome has none, so both
        bases agree there.
    per_state : mapping state -> float, default {}
        Cost per engaged participant-period spent in a state (currency), replacing
        ``per_participant`` there (e.g. ``{"shelter": 900, "housed": 400}``); other states cost
        ``per_participant``. With ``basis = "in_service"`` an absorbing state cannot be listed.

    ``per_participant``, a single ``fixed_per_period`` and the ``per_state`` costs may be
    distributions (uncertain money assumptions, sampled once per draw:
    :mod:`sibsim.money.uncertain`).

    Examples
    --------
    >>> costs = ServiceCosts(fixed_per_period=(50_000.0, 20_000.0), per_participant=1_500.0)
    >>> costs.cost([[100, 40]]).tolist()
    [[200000.0, 80000.0]]
    >>> by_state = {"shelter": np.array([[60.0, 10.0]])}
    >>> ServiceCosts(per_participant=1_000.0, per_state={"shelter": 2_000.0}).cost(
    ...     [[100, 40]], by_state).tolist()
    [[160000.0, 50000.0]]
    """

    fixed_per_period: float | tuple[float, ...] = param(
        _FixedCosts(), default=0.0, reader=_read_fixed,
        doc="currency per period: a number (or distribution), or one per period of the horizon")
    per_participant: float = param(UncertainAmount(v.interval(0.0)), default=0.0,
                                   uncertain=True,
                                   doc="currency per participant served per period")
    basis: str = param(v.one_of("engaged", "in_service"), default="engaged",
                       doc="who is served: every engaged participant, or those not in an "
                           "absorbing state")
    per_state: dict = param(default_factory=dict, reader=read_amount,
                            doc="currency per engaged participant-period in a state")

    def validate(self) -> None:
        raw = self.per_state
        if not isinstance(raw, Mapping):
            raise TypeError(f"ServiceCosts.per_state: got {raw!r}; allowed: a mapping "
                            "state -> cost")
        self._set("per_state", {v.name("ServiceCosts.per_state key", k):
                                _COST(f"ServiceCosts.per_state[{k}]", x)
                                for k, x in raw.items()})

    def __hash__(self) -> int:
        return hash((self.fixed_per_period, self.per_participant, self.basis,
                     tuple(sorted(self.per_state.items()))))

    def cost(self, participants_served: ArrayLike,
             served_by_state: Mapping[str, ArrayLike] | None = None) -> FloatArray:
        """Service cost per draw and period.

        Parameters
        ----------
        participants_served : array (D, P) or (P,)
            Participants served in each period (>= 0); a 1-D array is one draw.
        served_by_state : mapping state -> array (D, P), optional
            Of those, the participants served in each state of :attr:`per_state` (needed when
            ``per_state`` is given).

        Returns
        -------
        array (D, P)
            ``fixed_per_period + per_participant x (participants_served - sum of the listed
            states) + sum of per_state[s] x served_by_state[s]`` (currency).
        """
        served = np.array(participants_served, dtype=np.float64, ndmin=2)
        if served.ndim != 2 or not np.all(np.isfinite(served)) or np.any(served < 0):
            raise v.fail("ServiceCosts.cost.participants_served", served,
                         "finite counts >= 0, shaped (D, P) or (P,)")
        if isinstance(self.fixed_per_period, np.ndarray):  # uncertain, resolved per draw (D, 1)
            fixed = np.repeat(np.asarray(self.fixed_per_period, dtype=np.float64).reshape(-1, 1),
                              served.shape[1], 1)
        else:
            fixed = per_period("ServiceCosts.fixed_per_period", self.fixed_per_period,
                               served.shape[1])[None, :]
        per_participant = amount_value(self.per_participant)
        if not self.per_state:
            return fixed + per_participant * served
        if served_by_state is None or set(self.per_state) - set(served_by_state):
            raise v.fail("ServiceCosts.cost.served_by_state", served_by_state,
                         "participants served in each state of per_state: "
                         + ", ".join(self.per_state))
        rest = served.copy()
        out = np.array(fixed + 0.0 * served)
        for state, price in self.per_state.items():
            x = np.array(served_by_state[state], dtype=np.float64, ndmin=2)
            rest -= x
            out += amount_value(price) * x
        return out + per_participant * np.maximum(rest, 0.0)


# --------------------------------------------------------------------------------------
# tranches
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capital(Spec):
    """Base of the capital kinds of ``[[capital.tranches]]``: a named commitment that funds
    service costs (and fees) pro rata with the others as the need arises.

    Use one of the kinds: :class:`Tranche` (an investors' loan repaid with a target return:
    a table without ``kind``), or a registered kind (``CAPITAL_KINDS[kind]``): :class:`Grant`
    (``kind = "grant"``: never repaid) or :class:`DeferredFees` (``kind = "deferred_fees"``:
    the provider's own fees, repaid only out of outcome payments).

    Parameters
    ----------
    name : str
        Label, used as the party name; not one of commissioner, guarantor, provider,
        intermediary.
    commitment : float
        Capital committed (currency), > 0.
    """

    #: The capital kind: "loan", "grant" or "deferred_fees" (the money dataset's
    #: ``tranche_kind``).
    capital_kind: ClassVar[str] = ""
    #: Repaid from outcome payments (1.0) or never (0.0: a grant); the kernel's weight.
    repaid: ClassVar[float] = 1.0
    #: An investor's capital: counted in the investor metrics ("all" investors), can take an
    #: excess paid to investors and be covered by a guarantee.
    investor: ClassVar[bool] = False

    name: str = param(v.label, doc="party label")
    commitment: float = param(v.interval(0.0, low_open=True), doc="currency, > 0")

    def validate(self) -> None:
        if not type(self).capital_kind:
            raise TypeError(f"{type(self).__name__} is not a capital kind; allowed: one of "
                            + ", ".join(f"{c.__name__} ({c.capital_kind!r})"
                                        for c in (Tranche, *CAPITAL_KINDS.classes())))
        if self.name in RESERVED_PARTIES:
            raise v.fail(f"{type(self).__name__}.name", self.name,
                         "a name other than " + ", ".join(RESERVED_PARTIES))

    # the waterfall terms of kinds without a return (grants, deferred fees)
    @property
    def target_return(self) -> float:
        return 0.0

    @property
    def return_cap(self) -> float | None:
        return None


#: Capital kinds of ``[[capital.tranches]]`` other than an investors' loan, by their TOML
#: ``kind``; a table without ``kind`` is a :class:`Tranche`.
CAPITAL_KINDS = Registry("capital kind")


@dataclass(frozen=True)
class Tranche(Capital):
    """One class of investor capital: a loan (a ``[[capital.tranches]]`` table without
    ``kind``).

    Parameters
    ----------
    name : str
        Label, used as the party name (e.g. "senior", "junior"); not one of
        commissioner, guarantor, provider, intermediary.
    commitment : float
        Capital committed (currency), > 0.
    seniority : int, default 1
        Repayment rank: 1 is repaid first; equal ranks share pro rata to their claims.
    target_return : float, default 0
        Target return per period, a fraction in [0, 1] (0.05 = 5% per period), compounding
        on the claim (principal outstanding plus unpaid return). ``13`` meant as 13% is
        refused with a message suggesting ``0.13``.
    return_cap : float or None
        Maximum cash received as a multiple of capital drawn (e.g. 1.5); >= 1; None = no cap.

    Examples
    --------
    >>> Tranche("senior", 9.6e6, seniority=1, target_return=0.05).commitment
    9600000.0
    """

    capital_kind = "loan"
    investor = True

    seniority: int = param(v.integer(1), default=1, doc="rank; 1 is repaid first")
    target_return: float = param(v.fraction(0.0, 1.0), default=0.0,  # type: ignore[assignment]
                                 doc="fraction per period, compounding on the claim")
    return_cap: float | None = param(  # type: ignore[assignment]
        v.optional(v.interval(1.0)), default=None,
        doc="multiple of capital drawn, >= 1; None: no cap")


@CAPITAL_KINDS.register
@dataclass(frozen=True)
class Grant(Capital):
    """A non-recoverable grant (TOML ``kind = "grant"``): drawn pro rata with the other capital
    to fund service costs and fees, never repaid.

    It has no claim on outcome payments (it receives nothing, whatever the results), is not an
    investor (left out of the investor metrics, of an excess paid to investors, of a
    guarantee, of a stop-loss and of a claim-tied share's boundary) and appears as its own party
    with the grant drawn as its outflow. Fields as :class:`Capital`.

    Examples
    --------
    Roca: USD 6M of philanthropic grants next to the senior and junior loans.

    >>> g = Grant("grants", 6e6)
    >>> g.capital_kind, g.repaid, g.investor, g.target_return
    ('grant', 0.0, False, 0.0)
    """

    kind = "grant"
    capital_kind = "grant"
    repaid = 0.0

    @property
    def seniority(self) -> int:
        """Grants are repaid by no one: ranked after every tranche (their claim is 0)."""
        return 10**9


@CAPITAL_KINDS.register
@dataclass(frozen=True)
class DeferredFees(Capital):
    """Fees of the provider (or intermediary) deferred at risk (TOML ``kind = "deferred_fees"``).

    Part of the service costs that the provider does not receive in cash when it is incurred:
    the deferred part is "drawn" in kind, pro rata with the other capital (so a share
    ``commitment / total commitment`` of each period's need, until the commitment is used), and
    becomes a claim repaid only out of outcome payments, at its ``seniority``, without return.
    It is not an investor (left out of the investor metrics, of an excess paid to investors
    and of a guarantee). The service costs must include the deferred fees.

    Parameters
    ----------
    name, commitment
        As :class:`Capital`: ``commitment`` is the most deferred (currency).
    seniority : int, default 1
        Repayment rank among the tranches (1 first; Roca's deferred fees: after the loans).

    Examples
    --------
    >>> f = DeferredFees("deferred_fees", 3.76e6, seniority=3)
    >>> f.capital_kind, f.repaid, f.investor, f.return_cap
    ('deferred_fees', 1.0, False, None)
    """

    kind = "deferred_fees"
    capital_kind = "deferred_fees"

    seniority: int = param(v.integer(1), default=1, doc="rank; 1 is repaid first")


def investor_tranches(coords: Mapping[str, Any]) -> list[str]:
    """The investors' tranches (kind ``"loan"``) among the ``tranche`` coordinate of a money
    dataset's coordinates (``Dataset.coords`` or :func:`~sibsim.money.sib.money_arrays`'
    dict): grants and deferred fees are not investors'.

    >>> investor_tranches({"tranche": ["senior", "grants"],
    ...                    "tranche_kind": ("tranche", ["loan", "grant"])})
    ['senior']
    """
    names = [str(t) for t in np.asarray(coords["tranche"]).tolist()]
    if "tranche_kind" not in coords:
        return names
    kinds = coords["tranche_kind"]
    kinds = kinds[1] if isinstance(kinds, tuple) else np.asarray(kinds).tolist()
    return [n for n, k in zip(names, kinds, strict=True) if str(k) == Tranche.capital_kind]


# --------------------------------------------------------------------------------------
# guarantees
# --------------------------------------------------------------------------------------


class _Covers(v.Constraint):
    """``"first_loss"`` (every tranche) or tranche names (a lone name becomes a 1-tuple)."""

    description = f"{COVERS_ALL!r} (every tranche) or a non-empty sequence of tranche names"

    def __call__(self, field: str, value: object) -> str | tuple[str, ...]:
        if isinstance(value, str):
            return value if value == COVERS_ALL else (v.label(field, value),)
        if isinstance(value, (Sequence, np.ndarray)) and len(value) > 0:
            return tuple(v.label(f"{field}[{i}]", c) for i, c in enumerate(value))
        raise v.fail(field, value, self.description)


@dataclass(frozen=True)
class Guarantee(Spec):
    """Base of the guarantee kinds (a guarantee of investors' principal, paid at settlement).

    Use a registered kind: :class:`FirstLossGuarantee` (``"first_loss"``) or
    :class:`ProRataGuarantee` (``"pro_rata"``); ``GUARANTEES[kind]`` gives the class.

    Parameters
    ----------
    funder : str
        Who gives the guarantee (e.g. "Bloomberg Philanthropies"); it appears as the
        party "guarantor".
    share_of_principal : float
        A fraction in (0, 1]; its meaning depends on the kind.
    covers : tuple of str or "first_loss", default ("senior",)
        Tranche names covered; ``"first_loss"`` covers every tranche.
    cap : float or None
        Maximum paid by the guarantor (currency, >= 0); None: no cap.
    """

    #: The kernel's code for this kind.
    mode: ClassVar[GuaranteeMode] = GuaranteeMode.NONE

    funder: str = param(v.label, doc="who guarantees (party 'guarantor')")
    share_of_principal: float = param(v.fraction(0.0, 1.0, low_open=True),
                                      doc="fraction in (0, 1]")
    covers: tuple[str, ...] | Literal["first_loss"] = param(
        _Covers(), default=("senior",), doc="tranche names, or 'first_loss' for every tranche")
    cap: float | None = param(v.optional(v.interval(0.0)), default=None,
                              doc="maximum paid by the guarantor (currency); None: no cap")

    def validate(self) -> None:
        if type(self).mode == GuaranteeMode.NONE:
            raise TypeError(f"{type(self).__name__} is not a guarantee kind; allowed: one of "
                            + ", ".join(f"{c.__name__} ({c.kind!r})"
                                        for c in GUARANTEES.classes()))

    def covered(self, tranche_names: Sequence[str]) -> NDArray[np.bool_]:
        """Which of ``tranche_names`` the guarantee covers, a boolean array (T,)."""
        return np.array([self.covers == COVERS_ALL or n in self.covers for n in tranche_names],
                        dtype=np.bool_)

    def lower(self, tranche_names: Sequence[str]) -> GuaranteeArrays:
        """The kernel's inputs for a structure with these tranches.

        Examples
        --------
        >>> g = ProRataGuarantee("F", 0.5, covers=("senior",)).lower(("senior", "junior"))
        >>> int(g.mode), g.covered.tolist(), g.share, g.cap
        (2, [True, False], 0.5, inf)
        """
        return GuaranteeArrays(int(self.mode), self.covered(tranche_names),
                               self.share_of_principal, math.inf if self.cap is None else self.cap)


@GUARANTEES.register
@dataclass(frozen=True)
class FirstLossGuarantee(Guarantee):
    """First-loss guarantee (TOML ``kind = "first_loss"``, the default).

    Covers principal losses from the first unit lost, up to ``share_of_principal x`` capital
    drawn by the covered tranches (and ``cap``); when several tranches are covered, senior
    losses are compensated first, so what remains falls on the most junior capital. Fields as
    :class:`Guarantee`.

    Examples
    --------
    NYC ABLE: 0.75 of a USD 9.6M loan, a USD 7.2M first loss.

    >>> g = FirstLossGuarantee("Bloomberg Philanthropies", 0.75, covers=("senior",))
    >>> g.kind, g.covers
    ('first_loss', ('senior',))
    """

    kind = "first_loss"
    mode = GuaranteeMode.FIRST_LOSS


@GUARANTEES.register
@dataclass(frozen=True)
class ProRataGuarantee(Guarantee):
    """Pro-rata guarantee (TOML ``kind = "pro_rata"``).

    Pays ``share_of_principal x loss`` of each covered tranche, scaled down to ``cap`` in
    total. Fields as :class:`Guarantee`.

    Examples
    --------
    >>> ProRataGuarantee("Foundation", 0.5, covers="first_loss", cap=1e6).kind
    'pro_rata'
    """

    kind = "pro_rata"
    mode = GuaranteeMode.PRO_RATA


def _read_guarantee(parent: Section, key: str) -> Guarantee:
    """Read ``[capital.guarantee]``: ``kind`` (default "first_loss") picks the class.

    The deprecated ``pro_rata = true / false`` key is still read, as ``kind = "pro_rata"`` /
    ``"first_loss"`` (with a FutureWarning).
    """
    sec = parent.sub(key)
    assert sec is not None  # the generic reader calls this only for a present key
    if "pro_rata" in sec.data:
        flag = sec.get("pro_rata")
        if "kind" in sec.data:
            raise KeyProblem(sec.path("pro_rata"), "deprecated, and 'kind' is given: "
                             "remove 'pro_rata'")
        if not isinstance(flag, bool):
            raise KeyProblem(sec.path("pro_rata"), f"got {flag!r}; allowed: true or false "
                             "(deprecated: write kind = \"pro_rata\" or \"first_loss\")")
        kind = "pro_rata" if flag else "first_loss"
        warnings.warn(f"{sec.path('pro_rata')} is deprecated: write kind = {kind!r}",
                      FutureWarning, stacklevel=2)
    else:
        kind = sec.data.get("kind", FirstLossGuarantee.kind)
    return GUARANTEES.lookup(sec.path("kind"), kind).from_toml(sec)


# --------------------------------------------------------------------------------------
# fees and the whole structure
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fees(Spec):
    """Fees of the intermediary (or fund manager), funded by drawdowns.

    Parameters
    ----------
    intermediary_per_period : float or sequence of float (length P), default 0
        Fixed fee per period (currency per period), >= 0.
    management_rate_on_drawn : float, default 0
        Fee per period as a fraction in [0, 1] of capital drawn before the period (0.01 = 1%
        per period).

    Examples
    --------
    >>> fees = Fees(intermediary_per_period=25_000.0, management_rate_on_drawn=0.005)
    >>> fees.lower(n_periods=2).fixed.tolist()
    [25000.0, 25000.0]
    """

    intermediary_per_period: float | tuple[float, ...] = param(
        v.scalar_or_vector(v.interval(0.0)), default=0.0,
        doc="currency per period: a number, or one per period of the horizon")
    management_rate_on_drawn: float = param(
        v.fraction(0.0, 1.0), default=0.0,
        doc="fraction per period of capital drawn before the period")

    def lower(self, n_periods: int) -> FeeArrays:
        """The kernel's inputs for a horizon of ``n_periods``."""
        return FeeArrays(per_period("Fees.intermediary_per_period",
                                    self.intermediary_per_period, n_periods),
                         self.management_rate_on_drawn)


class _Tranches(v.Constraint):
    """A Tranche (becomes a 1-tuple) or a non-empty sequence of Tranche."""

    description = ("a capital kind (Tranche, Grant, DeferredFees) or a non-empty sequence of "
                   "them")

    def __call__(self, field: str, value: object) -> tuple[Capital, ...]:
        if isinstance(value, Capital):
            return (value,)
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
            raise TypeError(*v.fail(field, value, self.description).args)
        check = v.instance_of(Capital)
        return tuple(check(f"{field}[{i}]", t) for i, t in enumerate(value))  # type: ignore[misc]


def _read_tranches(sec: Section, key: str) -> tuple[Capital, ...]:
    """``[[capital.tranches]]``: a table's ``kind`` picks a capital kind of
    :data:`CAPITAL_KINDS`; without one it is an investors' loan (:class:`Tranche`)."""
    raw = sec.get(key)
    if not isinstance(raw, list) or not raw:
        raise KeyProblem(sec.path(key), f"expected one or more [[{sec.path(key)}]]")
    out: list[Capital] = []
    for i, item in enumerate(raw):
        item_sec = Section(f"{sec.path(key)}[{i}]", item)
        kind = item.get("kind") if isinstance(item, Mapping) else None
        if kind is None:
            out.append(Tranche.from_toml(item_sec))
        elif isinstance(kind, str) and kind in CAPITAL_KINDS:
            out.append(CAPITAL_KINDS[kind].from_toml(item_sec))
        else:
            raise KeyProblem(item_sec.path("kind"), f"unknown key for a loan, and got {kind!r} "
                             "as a capital kind; allowed: "
                             + ", ".join(repr(k) for k in CAPITAL_KINDS.names())
                             + " (a loan has no kind)")
    return tuple(out)


def _read_fees(sec: Section, key: str) -> Fees:
    sub = sec.sub(key)
    assert sub is not None  # the generic reader calls this only for a present key
    return Fees.from_toml(sub)


def _scenario_currency(sec: Section, key: str) -> str:
    raise KeyProblem(sec.path(key), "the currency is the scenario's: set the top-level "
                     "'currency' key")


@dataclass(frozen=True)
class CapitalStructure(Spec):
    """Who funds the SIB and how outcome payments flow back.

    Parameters
    ----------
    tranches : sequence of Capital
        At least one; unique names: investors' loans (:class:`Tranche`), grants
        (:class:`Grant`) and deferred fees (:class:`DeferredFees`), at least one loan.
    guarantee : Guarantee or None
        A :class:`FirstLossGuarantee` or :class:`ProRataGuarantee`; its ``covers`` must name
        tranches of this structure.
    fees : Fees or None
    excess_to : {"commissioner", "provider", "investors"}, default "commissioner"
        Who gets outcome payments left once every tranche's claim is met.
    recycle : bool, default False
        Outcome payments received during the deal fund later service costs and fees before
        new drawdowns: each payment is held back up to what the deal still has to pay in later
        periods, and only the rest is distributed (the held reserve is in the intermediary's
        flow and in ``CashFlows.reserve``; it is released when the deal settles).
    currency : str, default "EUR"
        Currency of all amounts (from the scenario when read from TOML).

    Examples
    --------
    >>> cs = CapitalStructure((Tranche("senior", 4.6e6, 1, 0.05), Tranche("junior", 2.4e6, 2)))
    >>> cs.total_commitment, cs.parties
    (7000000.0, ('commissioner', 'senior', 'junior', 'guarantor', 'provider', 'intermediary'))
    """

    tranches: tuple[Capital, ...] = param(_Tranches(), reader=_read_tranches,
                                          doc="at least one, unique names")
    guarantee: Guarantee | None = param(v.optional(v.instance_of(Guarantee)), default=None,
                                        reader=_read_guarantee)
    fees: Fees | None = param(v.optional(v.instance_of(Fees)), default=None, reader=_read_fees)
    excess_to: Literal["commissioner", "provider", "investors"] = param(
        v.one_of(*EXCESS_TO), default="commissioner",
        doc="who gets outcome payments left once every claim is met")
    currency: str = param(v.label, default="EUR", reader=_scenario_currency,
                          doc="currency of all amounts")
    recycle: bool = param(v.flag, default=False,
                          doc="outcome payments fund later costs before new drawdowns")

    def validate(self) -> None:
        names = self.tranche_names
        v.unique("CapitalStructure.tranches", names, "tranche names")
        if not any(t.investor for t in self.tranches):
            raise v.fail("CapitalStructure.tranches", [t.capital_kind for t in self.tranches],
                         "at least one investors' tranche (kind 'loan') next to grants and "
                         "deferred fees")
        g = self.guarantee
        loans = [t.name for t in self.tranches if t.investor]
        if g is not None and g.covers != COVERS_ALL and any(c not in loans for c in g.covers):
            raise v.fail("CapitalStructure.guarantee.covers", g.covers,
                         f"{COVERS_ALL!r} or names among the investors' tranches {loans} "
                         "(not grants or deferred fees)")

    @property
    def tranche_names(self) -> tuple[str, ...]:
        """Tranche names in the order given."""
        return tuple(t.name for t in self.tranches)

    @property
    def total_commitment(self) -> float:
        """Sum of the tranches' commitments (currency)."""
        return float(sum(t.commitment for t in self.tranches))

    @property
    def tranche_kinds(self) -> tuple[str, ...]:
        """Capital kind of each tranche (``"loan"``, ``"grant"``, ``"deferred_fees"``)."""
        return tuple(t.capital_kind for t in self.tranches)

    @property
    def parties(self) -> tuple[str, ...]:
        """Party labels of ``CashFlows.flows`` axis 1."""
        return (COMMISSIONER, *self.tranche_names, GUARANTOR, PROVIDER, INTERMEDIARY)

    def tranche_arrays(self) -> TrancheArrays:
        """The tranches as kernel inputs (commitment shares, growth, caps, seniority order)."""
        tranches = self.tranches
        ranks = sorted({t.seniority for t in tranches})
        groups = [np.array([i for i, t in enumerate(tranches) if t.seniority == r])
                  for r in ranks]
        commit = np.array([t.commitment for t in tranches])
        investor = np.array([t.investor for t in tranches], dtype=np.float64) * commit
        return TrancheArrays(
            share=commit / commit.sum(),
            total_commit=float(commit.sum()),
            growth=1.0 + np.array([t.target_return for t in tranches]),
            cap=np.array([math.inf if t.return_cap is None else t.return_cap
                          for t in tranches]),
            order=np.concatenate(groups).astype(np.int64),
            group_start=np.cumsum([0] + [len(g) for g in groups]).astype(np.int64),
            repaid=np.array([t.repaid for t in tranches], dtype=np.float64),
            excess_share=investor / investor.sum(),
        )

    def lower(self, n_periods: int) -> CapitalArrays:
        """Every kernel input of the structure for a horizon of ``n_periods``.

        Examples
        --------
        >>> cs = CapitalStructure((Tranche("a", 50.0, 2), Tranche("b", 150.0, 1)),
        ...                       excess_to="investors")
        >>> arrays = cs.lower(n_periods=3)
        >>> arrays.tranches.order.tolist(), arrays.tranches.share.tolist(), arrays.excess_to
        ([1, 0], [0.25, 0.75], 2)
        """
        names = self.tranche_names
        guarantee = (GuaranteeArrays.none(len(names)) if self.guarantee is None
                     else self.guarantee.lower(names))
        # a guarantee covers investors only ("first_loss": every investors' tranche)
        guarantee = guarantee._replace(covered=guarantee.covered & np.array(
            [t.investor for t in self.tranches], dtype=np.bool_))
        return CapitalArrays(
            tranches=self.tranche_arrays(),
            fees=(self.fees or Fees()).lower(n_periods),
            guarantee=guarantee,
            excess_to=int(ExcessTo[self.excess_to.upper()]),
            recycle=self.recycle,
        )
