"""Capital structure of a Social Impact Bond and the cash-flow waterfall between parties.

Investors' capital is drawn down to pay service costs and fees as they are incurred;
outcome payments from the commissioner are distributed to the tranches in order of
seniority; a guarantee may cover principal losses at the end of the horizon. The result is a
:class:`CashFlows` object: arrays (draw, party, period) with the sign convention
**+ received / - paid**, which sum to zero over parties in every draw and period.

Conventions (see ``docs/money.md``)
-----------------------------------
Within each period ``t`` (all flows of a period happen at the same date):

1. target returns accrue: each tranche's claim (principal outstanding plus unpaid target
   return) grows by ``1 + target_return`` (compounding per period; capital drawn in period
   ``t`` starts to accrue in ``t + 1``);
2. fees are due: ``intermediary_per_period[t] + management_rate_on_drawn x capital drawn
   before period t``;
3. drawdown: investors fund service costs plus fees, pro rata to commitments, up to the total
   commitment. Beyond it, the need is **unfunded**: service costs are funded before fees,
   and what is left unfunded is reported in ``CashFlows.unfunded`` (borne outside the deal:
   the provider delivers at its own risk or scales the service down). Outcome payments are
   not recycled into service costs;
4. the outcome payment is distributed immediately: tranches in order of seniority (1 = most
   senior; equal seniority shares pro rata to claims), each up to its claim and its return
   cap headroom ``return_cap x capital drawn - cash received``; fees are not paid from
   outcome payments (they are funded by drawdowns);
5. excess (what is left once every claim is met) goes to ``excess_to``: ``"commissioner"``
   (it pays less), ``"provider"`` (a performance bonus) or ``"investors"`` (pro rata to
   commitments, each up to its return cap headroom; what no tranche can take goes back to the
   commissioner).

At the end of the horizon (last period) the guarantor pays the covered principal losses,
``loss = max(capital drawn - cash received, 0)`` per tranche.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from sibsim.money.payments import (
    _integer,
    _invalid,
    _name,
    _optional_real,
    _per_period,
    _readonly,
    _real,
    _scalar_or_tuple,
)

__all__ = [
    "CapitalStructure",
    "CashFlows",
    "Fees",
    "Guarantee",
    "ServiceCosts",
    "Tranche",
    "waterfall",
]

FloatArray = NDArray[np.float64]
ExcessTo = Literal["commissioner", "provider", "investors"]

COMMISSIONER = "commissioner"
GUARANTOR = "guarantor"
PROVIDER = "provider"
INTERMEDIARY = "intermediary"
RESERVED_PARTIES = (COMMISSIONER, GUARANTOR, PROVIDER, INTERMEDIARY)


# --------------------------------------------------------------------------------------
# specification objects
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceCosts:
    """Cost of delivering the service, per period.

    Parameters
    ----------
    fixed_per_period : float or sequence of float (length P), default 0
        Fixed cost in each period (currency per period: staff, premises), >= 0.
    per_participant : float, default 0
        Variable cost per participant served in a period (currency per participant-period).

    Examples
    --------
    >>> costs = ServiceCosts(fixed_per_period=(50_000.0, 20_000.0), per_participant=1_500.0)
    >>> costs.cost([[100, 40]]).tolist()
    [[200000.0, 80000.0]]
    """

    fixed_per_period: float | tuple[float, ...] = 0.0
    per_participant: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "fixed_per_period",
            _scalar_or_tuple("ServiceCosts", "fixed_per_period", self.fixed_per_period, lo=0.0),
        )
        object.__setattr__(
            self,
            "per_participant",
            _real("ServiceCosts", "per_participant", self.per_participant, lo=0.0),
        )

    def cost(self, participants_served: ArrayLike) -> FloatArray:
        """Service cost per draw and period.

        Parameters
        ----------
        participants_served : array (D, P) or (P,)
            Participants served in each period (>= 0); a 1-D array is one draw.

        Returns
        -------
        array (D, P)
            ``fixed_per_period + per_participant x participants_served`` (currency).
        """
        served = np.array(participants_served, dtype=np.float64, ndmin=2)
        if served.ndim != 2 or not np.all(np.isfinite(served)) or np.any(served < 0):
            raise _invalid(
                "ServiceCosts.cost",
                "participants_served",
                f"array of shape {served.shape}",
                "finite counts >= 0, shaped (D, P) or (P,)",
            )
        fixed = _per_period(
            "ServiceCosts", "fixed_per_period", self.fixed_per_period, served.shape[1]
        )
        return fixed[None, :] + self.per_participant * served


@dataclass(frozen=True)
class Tranche:
    """One class of investor capital.

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
        Target return per period (0.05 = 5% per period), compounding on the claim
        (principal outstanding plus unpaid return).
    return_cap : float or None
        Maximum cash received as a multiple of capital drawn (e.g. 1.5); >= 1; None = no cap.

    Examples
    --------
    >>> Tranche("senior", 9.6e6, seniority=1, target_return=0.05).commitment
    9600000.0
    """

    name: str
    commitment: float
    seniority: int = 1
    target_return: float = 0.0
    return_cap: float | None = None

    def __post_init__(self) -> None:
        owner = "Tranche"
        _name(owner, "name", self.name)
        if self.name in RESERVED_PARTIES:
            raise _invalid(owner, "name", self.name, f"a name other than {RESERVED_PARTIES}")
        object.__setattr__(
            self, "commitment", _real(owner, "commitment", self.commitment, lo=0.0, lo_open=True)
        )
        object.__setattr__(self, "seniority", _integer(owner, "seniority", self.seniority, lo=1))
        object.__setattr__(
            self, "target_return", _real(owner, "target_return", self.target_return, lo=0.0)
        )
        object.__setattr__(
            self, "return_cap", _optional_real(owner, "return_cap", self.return_cap, lo=1.0)
        )


@dataclass(frozen=True)
class Guarantee:
    """A guarantee of investors' principal, paid at the end of the horizon.

    Parameters
    ----------
    funder : str
        Who gives the guarantee (e.g. "Bloomberg Philanthropies"); it appears as the
        party "guarantor".
    share_of_principal : float
        In (0, 1]. By default (``pro_rata=False``) the guarantee covers principal losses from
        the first unit lost, up to ``share_of_principal x capital drawn`` by the covered
        tranches (NYC ABLE: 0.75 of a USD 9.6M loan = USD 7.2M first loss). With
        ``pro_rata=True`` it pays ``share_of_principal x loss`` of each covered tranche.
    covers : tuple of str or "first_loss", default ("senior",)
        Tranche names covered; ``"first_loss"`` covers every tranche (losses are compensated
        in order of seniority, so what remains falls on the most junior capital).
    cap : float or None
        Maximum paid by the guarantor (currency).
    pro_rata : bool, default False
        See ``share_of_principal``.

    Examples
    --------
    >>> Guarantee("Bloomberg Philanthropies", 0.75, covers=("senior",)).covers
    ('senior',)
    """

    funder: str
    share_of_principal: float
    covers: tuple[str, ...] | Literal["first_loss"] = ("senior",)
    cap: float | None = None
    pro_rata: bool = False

    def __post_init__(self) -> None:
        owner = "Guarantee"
        _name(owner, "funder", self.funder)
        object.__setattr__(
            self,
            "share_of_principal",
            _real(
                owner, "share_of_principal", self.share_of_principal, lo=0.0, lo_open=True, hi=1.0
            ),
        )
        covers = self.covers
        if covers != "first_loss":
            if isinstance(covers, str):
                covers = (covers,)
            if not isinstance(covers, Sequence) or len(covers) == 0:
                raise _invalid(
                    owner, "covers", covers, "'first_loss' or a non-empty tuple of tranche names"
                )
            covers = tuple(_name(owner, "covers", c) for c in covers)
        object.__setattr__(self, "covers", covers)
        object.__setattr__(self, "cap", _optional_real(owner, "cap", self.cap, lo=0.0))
        if not isinstance(self.pro_rata, bool):
            raise _invalid(owner, "pro_rata", self.pro_rata, "True or False", TypeError)


@dataclass(frozen=True)
class Fees:
    """Fees of the intermediary (or fund manager), funded by drawdowns.

    Parameters
    ----------
    intermediary_per_period : float or sequence of float (length P), default 0
        Fixed fee per period (currency per period), >= 0.
    management_rate_on_drawn : float, default 0
        Fee per period as a fraction of capital drawn before the period (0.01 = 1% per
        period), >= 0.

    Examples
    --------
    >>> fees = Fees(intermediary_per_period=25_000.0, management_rate_on_drawn=0.005)
    >>> fees.management_rate_on_drawn
    0.005
    """

    intermediary_per_period: float | tuple[float, ...] = 0.0
    management_rate_on_drawn: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "intermediary_per_period",
            _scalar_or_tuple(
                "Fees", "intermediary_per_period", self.intermediary_per_period, lo=0.0
            ),
        )
        object.__setattr__(
            self,
            "management_rate_on_drawn",
            _real("Fees", "management_rate_on_drawn", self.management_rate_on_drawn, lo=0.0),
        )


@dataclass(frozen=True)
class CapitalStructure:
    """Who funds the SIB and how outcome payments flow back.

    Parameters
    ----------
    tranches : sequence of Tranche
        At least one; unique names.
    guarantee : Guarantee or None
    fees : Fees or None
    excess_to : {"commissioner", "provider", "investors"}, default "commissioner"
        Who gets outcome payments left once every tranche's claim is met.
    currency : str, default "EUR"
        Currency of all amounts.

    Examples
    --------
    >>> cs = CapitalStructure((Tranche("senior", 4.6e6, 1, 0.05), Tranche("junior", 2.4e6, 2)))
    >>> cs.total_commitment, cs.parties
    (7000000.0, ('commissioner', 'senior', 'junior', 'guarantor', 'provider', 'intermediary'))
    """

    tranches: tuple[Tranche, ...]
    guarantee: Guarantee | None = None
    fees: Fees | None = None
    excess_to: ExcessTo = "commissioner"
    currency: str = "EUR"

    def __post_init__(self) -> None:
        owner = "CapitalStructure"
        tranches = (self.tranches,) if isinstance(self.tranches, Tranche) else self.tranches
        if not isinstance(tranches, Sequence) or len(tranches) == 0:
            raise _invalid(
                owner, "tranches", tranches, "a non-empty sequence of Tranche", TypeError
            )
        for i, t in enumerate(tranches):
            if not isinstance(t, Tranche):
                raise _invalid(owner, f"tranches[{i}]", t, "a Tranche", TypeError)
        names = [t.name for t in tranches]
        if len(set(names)) != len(names):
            raise _invalid(owner, "tranches", names, "unique tranche names")
        if self.guarantee is not None:
            if not isinstance(self.guarantee, Guarantee):
                raise _invalid(owner, "guarantee", self.guarantee, "a Guarantee or None", TypeError)
            if self.guarantee.covers != "first_loss":
                missing = [c for c in self.guarantee.covers if c not in names]
                if missing:
                    raise _invalid(
                        owner,
                        "guarantee.covers",
                        self.guarantee.covers,
                        f"'first_loss' or names among the tranches {names}",
                    )
        if self.fees is not None and not isinstance(self.fees, Fees):
            raise _invalid(owner, "fees", self.fees, "a Fees or None", TypeError)
        if self.excess_to not in ("commissioner", "provider", "investors"):
            raise _invalid(
                owner, "excess_to", self.excess_to, "'commissioner', 'provider' or 'investors'"
            )
        _name(owner, "currency", self.currency)
        object.__setattr__(self, "tranches", tuple(tranches))

    @property
    def tranche_names(self) -> tuple[str, ...]:
        """Tranche names in the order given."""
        return tuple(t.name for t in self.tranches)

    @property
    def total_commitment(self) -> float:
        """Sum of the tranches' commitments (currency)."""
        return float(sum(t.commitment for t in self.tranches))

    @property
    def parties(self) -> tuple[str, ...]:
        """Party labels of ``CashFlows.flows`` axis 1."""
        return (COMMISSIONER, *self.tranche_names, GUARANTOR, PROVIDER, INTERMEDIARY)


# --------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CashFlows:
    """Cash flows between the parties of a SIB, per draw and period.

    Attributes
    ----------
    flows : array (D, party, P)
        Net cash flow of each party (currency): + received, - paid. Sums to 0 over parties.
    parties : tuple of str
        Labels of axis 1: commissioner, each tranche, guarantor, provider, intermediary.
    tranches : tuple of str
        Tranche names (in ``CapitalStructure`` order).
    commitment_share : tuple of float
        Each tranche's share of the total commitment (drawdowns are pro rata to it).
    drawdown_total : array (D, P)
        Capital drawn from all tranches together (currency, >= 0); see ``drawdown``.
    guarantee_paid : array (D, T)
        Paid by the guarantor to each tranche in the last period (currency).
    outstanding : array (D, T, P)
        Each tranche's claim (principal plus unpaid target return) after the period's
        distribution (currency).
    unfunded : array (D, P)
        Service costs plus fees that the remaining commitment could not fund (currency).
    currency : str

    Examples
    --------
    >>> import numpy as np
    >>> cs = CapitalStructure((Tranche("senior", 100.0),))
    >>> cf = waterfall(cs, service_costs=[[100.0, 0.0]], outcome_payments=[[0.0, 120.0]])
    >>> cf.investor().tolist()
    [[-100.0, 100.0]]
    >>> cf.party("commissioner").tolist()
    [[0.0, -100.0]]
    """

    flows: FloatArray
    parties: tuple[str, ...]
    tranches: tuple[str, ...]
    commitment_share: tuple[float, ...]
    drawdown_total: FloatArray
    guarantee_paid: FloatArray
    outstanding: FloatArray
    unfunded: FloatArray
    currency: str

    @property
    def drawdown(self) -> FloatArray:
        """Capital drawn from each tranche, array (D, T, P) (currency, >= 0)."""
        share = np.asarray(self.commitment_share)
        return self.drawdown_total[:, None, :] * share[None, :, None]

    @property
    def distribution(self) -> FloatArray:
        """Outcome payments distributed to each tranche, array (D, T, P), excluding guarantee."""
        idx = [self.parties.index(t) for t in self.tranches]
        dist = self.flows[:, idx, :] + self.drawdown
        dist[:, :, -1] -= self.guarantee_paid
        return dist

    def party(self, name: str) -> FloatArray:
        """Net flows (D, P) of one party (+ received, - paid)."""
        if name not in self.parties:
            raise _invalid("CashFlows.party", "name", name, f"one of {self.parties}")
        return self.flows[:, self.parties.index(name), :]

    def investor(self, tranche: str | None = None) -> FloatArray:
        """Investor cash flows (D, P), + received / - paid, for IRR, MOIC or NPV.

        Parameters
        ----------
        tranche : str or None
            A tranche name; None sums all tranches (the investors as a whole).

        Returns
        -------
        array (D, P)
            ``-drawdown + distribution + guarantee`` (currency).
        """
        if tranche is None:
            idx = [self.parties.index(t) for t in self.tranches]
            return self.flows[:, idx, :].sum(axis=1)
        if tranche not in self.tranches:
            raise _invalid("CashFlows.investor", "tranche", tranche, f"one of {self.tranches}")
        return self.party(tranche)

    def to_dataset(self) -> Any:
        """Return an ``xarray.Dataset``: ``flow`` (draw, party, period) and details."""
        import xarray as xr

        d, _, p = self.flows.shape
        coords = {
            "draw": np.arange(d),
            "party": list(self.parties),
            "tranche": list(self.tranches),
            "period": np.arange(p),
        }
        cur = self.currency

        def var(dims: tuple[str, ...], data: np.ndarray, text: str) -> tuple[Any, ...]:
            return dims, data, {"units": cur, "description": text}

        return xr.Dataset(
            {
                "flow": var(
                    ("draw", "party", "period"),
                    self.flows,
                    "net cash flow per party: + received, - paid; sums to 0 over party",
                ),
                "drawdown": var(
                    ("draw", "tranche", "period"),
                    self.drawdown,
                    "capital drawn from each tranche to fund service costs and fees",
                ),
                "distribution": var(
                    ("draw", "tranche", "period"),
                    self.distribution,
                    "outcome payments distributed to each tranche",
                ),
                "guarantee_paid": var(
                    ("draw", "tranche"),
                    self.guarantee_paid,
                    "paid by the guarantor to each tranche in the last period",
                ),
                "outstanding": var(
                    ("draw", "tranche", "period"),
                    self.outstanding,
                    "claim (principal plus unpaid target return) after the period's distribution",
                ),
                "unfunded": var(
                    ("draw", "period"),
                    self.unfunded,
                    "service costs and fees beyond the total commitment, unfunded",
                ),
            },
            coords=coords,
            attrs={"currency": cur, "sign_convention": "+ received, - paid"},
        )


# --------------------------------------------------------------------------------------
# the waterfall
# --------------------------------------------------------------------------------------


def _money_array(name: str, value: ArrayLike) -> FloatArray:
    if hasattr(value, "total") and not isinstance(value, np.ndarray):
        value = value.total  # a PaymentResult
    a = np.array(value, dtype=np.float64, ndmin=2)
    if a.ndim != 2 or 0 in a.shape or not np.all(np.isfinite(a)) or np.any(a < 0):
        raise _invalid(
            "waterfall",
            name,
            f"array of shape {a.shape}",
            "finite amounts >= 0 shaped (D, P) or (P,), D >= 1 and P >= 1",
        )
    return a


def _seniority_groups(tranches: tuple[Tranche, ...]) -> list[NDArray[np.intp]]:
    """Tranche indices grouped by seniority, most senior first."""
    ranks = sorted({t.seniority for t in tranches})
    return [np.array([i for i, t in enumerate(tranches) if t.seniority == r]) for r in ranks]


def waterfall(
    structure: CapitalStructure, service_costs: ArrayLike, outcome_payments: ArrayLike
) -> CashFlows:
    """Cash flows between commissioner, investors, guarantor, provider and intermediary.

    Parameters
    ----------
    structure : CapitalStructure
        Tranches, guarantee, fees and the excess rule.
    service_costs : array (D, P) or (P,)
        Service costs incurred in each period (currency, >= 0), e.g. ``ServiceCosts.cost``.
    outcome_payments : array (D, P) or (P,), or a PaymentResult
        Outcome payments made by the commissioner in each period (currency, >= 0).

    Returns
    -------
    CashFlows
        Flows (D, party, P), + received / - paid, summing to 0 over parties.

    Notes
    -----
    Sequential in periods, vectorised over draws (100,000 draws x 10 periods take a few
    hundredths of a second). The order of operations within a period is given in the module
    docstring and in ``docs/money.md``.

    Examples
    --------
    Senior 60 and junior 40, both at 10% per period; 100 of costs in period 0, 130 of
    outcome payments in period 1: senior gets 66, junior 44, the commissioner keeps 20.

    >>> import numpy as np
    >>> cs = CapitalStructure((Tranche("senior", 60.0, 1, 0.10), Tranche("junior", 40.0, 2, 0.10)))
    >>> cf = waterfall(cs, [100.0, 0.0], [0.0, 130.0])
    >>> np.round(cf.flows[0, :, 1], 6).tolist()
    [-110.0, 66.0, 44.0, 0.0, 0.0, 0.0]
    """
    if not isinstance(structure, CapitalStructure):
        raise _invalid(
            "waterfall", "structure", type(structure).__name__, "a CapitalStructure", TypeError
        )
    costs = _money_array("service_costs", service_costs)
    pay = _money_array("outcome_payments", outcome_payments)
    try:
        costs, pay = (np.ascontiguousarray(a) for a in np.broadcast_arrays(costs, pay))
    except ValueError as err:
        raise _invalid(
            "waterfall",
            "service_costs",
            f"shape {costs.shape}",
            f"a shape broadcastable with outcome_payments {pay.shape}",
        ) from err
    return _run(structure, costs, pay)


_BLOCK = 1024  # draws per parallel block
_SERIAL_BELOW = 4 * _BLOCK  # fewer draws than this run on one thread
_EXCESS_CODE = {"commissioner": 0, "provider": 1, "investors": 2}


def _run(structure: CapitalStructure, costs: FloatArray, pay: FloatArray) -> CashFlows:
    """Prepare the kernel's arguments from ``structure`` and wrap its outputs."""
    n_draws, n_periods = pay.shape
    tranches = structure.tranches
    n_tr = len(tranches)
    groups = _seniority_groups(tranches)
    order = np.concatenate(groups).astype(np.int64)
    group_start = np.cumsum([0] + [len(g) for g in groups]).astype(np.int64)
    fees = structure.fees or Fees()
    commit = np.array([t.commitment for t in tranches])
    share = commit / commit.sum()
    g = structure.guarantee
    if g is None:
        g_mode, covered, g_share, g_cap = 0, np.zeros(n_tr, dtype=np.bool_), 0.0, 0.0
    else:
        g_mode = 2 if g.pro_rata else 1
        covered = np.array([g.covers == "first_loss" or t.name in g.covers for t in tranches])
        g_share, g_cap = g.share_of_principal, (math.inf if g.cap is None else g.cap)

    flows = np.empty((n_draws, len(structure.parties), n_periods))
    drawdown = np.empty((n_draws, n_periods))
    outstanding = np.empty((n_draws, n_tr, n_periods))
    guarantee = np.empty((n_draws, n_tr))
    unfunded = np.empty((n_draws, n_periods))
    kernel = _waterfall_parallel if n_draws > _SERIAL_BELOW else _waterfall_serial
    kernel(
        costs,
        pay,
        share,
        float(commit.sum()),
        1.0 + np.array([t.target_return for t in tranches]),
        np.array([math.inf if t.return_cap is None else t.return_cap for t in tranches]),
        order,
        group_start,
        _per_period("Fees", "intermediary_per_period", fees.intermediary_per_period, n_periods),
        fees.management_rate_on_drawn,
        _EXCESS_CODE[structure.excess_to],
        g_mode,
        covered,
        g_share,
        g_cap,
        flows,
        drawdown,
        outstanding,
        guarantee,
        unfunded,
    )
    return CashFlows(
        flows=_readonly(flows),
        parties=structure.parties,
        tranches=structure.tranche_names,
        commitment_share=tuple(share.tolist()),
        drawdown_total=_readonly(drawdown),
        guarantee_paid=_readonly(guarantee),
        outstanding=_readonly(outstanding),
        unfunded=_readonly(unfunded),
        currency=structure.currency,
    )


@numba.njit(cache=True, nogil=True)
def _pay_group(
    available: float,
    claims: FloatArray,
    order: NDArray[np.int64],
    lo: int,
    hi: int,
    out: FloatArray,
) -> float:
    """Pay ``available`` to tranches ``order[lo:hi]`` pro rata to ``claims``; return total."""
    total = 0.0
    for j in range(lo, hi):
        total += claims[order[j]]
    frac = max(min(available, total), 0.0) / total if total > 0.0 else 0.0
    paid = 0.0
    for j in range(lo, hi):
        i = order[j]
        out[i] = claims[i] * frac
        paid += out[i]
    return paid


@numba.njit(cache=True, nogil=True)
def _guarantee_draw(
    drawn: FloatArray,
    received: FloatArray,
    order: NDArray[np.int64],
    group_start: NDArray[np.int64],
    mode: int,
    covered: NDArray[np.bool_],
    share: float,
    cap: float,
    loss: FloatArray,
    out: FloatArray,
) -> None:
    """Guarantee paid to each tranche of one draw (mode 1: first loss, 2: pro rata)."""
    n_tr = drawn.shape[0]
    limit = 0.0
    for i in range(n_tr):
        out[i] = 0.0
        loss[i] = 0.0
        if covered[i]:
            loss[i] = max(drawn[i] - received[i], 0.0)
            limit += share * drawn[i]
    if mode == 2:
        total = 0.0
        for i in range(n_tr):
            out[i] = share * loss[i]
            total += out[i]
        if total > cap:
            for i in range(n_tr):
                out[i] *= cap / total
    elif mode == 1:
        limit = min(limit, cap)
        for k in range(group_start.shape[0] - 1):  # compensate senior losses first
            limit -= _pay_group(limit, loss, order, group_start[k], group_start[k + 1], out)


def _waterfall_kernel(
    costs: FloatArray,
    pay: FloatArray,
    share: FloatArray,
    total_commit: float,
    growth: FloatArray,
    cap: FloatArray,
    order: NDArray[np.int64],
    group_start: NDArray[np.int64],
    fixed_fee: FloatArray,
    mgmt_rate: float,
    excess_code: int,
    g_mode: int,
    g_covered: NDArray[np.bool_],
    g_share: float,
    g_cap: float,
    flows: FloatArray,
    drawdown: FloatArray,
    outstanding: FloatArray,
    guarantee: FloatArray,
    unfunded: FloatArray,
) -> None:
    """Waterfall of every draw; sequential in periods, parallel over draws.

    Party axis of ``flows``: commissioner, tranches (T), guarantor, provider, intermediary.
    Each draw writes only its own rows, so results do not depend on the thread count.
    """
    n_draws, n_periods = pay.shape
    n_tr = share.shape[0]
    n_blocks = (n_draws + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):  # scratch arrays allocated once per block of draws
        drawn = np.empty(n_tr)  # cumulative capital drawn
        claim = np.empty(n_tr)  # principal outstanding + unpaid target return
        received = np.empty(n_tr)  # cumulative cash received from outcome payments
        room = np.empty(n_tr)  # payable now: min(claim, return-cap headroom)
        paid = np.empty(n_tr)
        loss = np.empty(n_tr)
        for d in range(b * _BLOCK, min((b + 1) * _BLOCK, n_draws)):
            drawn[:] = 0.0
            claim[:] = 0.0
            received[:] = 0.0
            _waterfall_draw(
                d,
                costs,
                pay,
                share,
                total_commit,
                growth,
                cap,
                order,
                group_start,
                fixed_fee,
                mgmt_rate,
                excess_code,
                flows,
                drawdown,
                outstanding,
                unfunded,
                drawn,
                claim,
                received,
                room,
                paid,
            )
            # guarantee at the end of the horizon
            _guarantee_draw(
                drawn,
                received,
                order,
                group_start,
                g_mode,
                g_covered,
                g_share,
                g_cap,
                loss,
                paid,
            )
            total = 0.0
            for i in range(n_tr):
                guarantee[d, i] = paid[i]
                flows[d, 1 + i, n_periods - 1] += paid[i]
                total += paid[i]
            flows[d, 1 + n_tr, n_periods - 1] = 0.0 - total


# one kernel, two compilations: threads pay off only for many draws
_waterfall_parallel = numba.njit(cache=True, parallel=True)(_waterfall_kernel)
_waterfall_serial = numba.njit(cache=True)(_waterfall_kernel)


@numba.njit(cache=True, nogil=True)
def _waterfall_draw(
    d: int,
    costs: FloatArray,
    pay: FloatArray,
    share: FloatArray,
    total_commit: float,
    growth: FloatArray,
    cap: FloatArray,
    order: NDArray[np.int64],
    group_start: NDArray[np.int64],
    fixed_fee: FloatArray,
    mgmt_rate: float,
    excess_code: int,
    flows: FloatArray,
    drawdown: FloatArray,
    outstanding: FloatArray,
    unfunded: FloatArray,
    drawn: FloatArray,
    claim: FloatArray,
    received: FloatArray,
    room: FloatArray,
    paid: FloatArray,
) -> None:
    """Periods of draw ``d``: updates the state (drawn, claim, received) and the outputs."""
    n_periods = pay.shape[1]
    n_tr = share.shape[0]
    for t in range(n_periods):
        # 1. accrual; 2. fees; 3. drawdown pro rata to commitments
        drawn_total = 0.0
        for i in range(n_tr):
            claim[i] *= growth[i]
            drawn_total += drawn[i]
        need = costs[d, t] + fixed_fee[t] + mgmt_rate * drawn_total
        draw = min(need, max(total_commit - drawn_total, 0.0))
        funded_cost = min(costs[d, t], draw)
        unfunded[d, t] = need - draw
        drawdown[d, t] = draw
        for i in range(n_tr):
            x = draw * share[i]
            flows[d, 1 + i, t] = -x
            drawn[i] += x
            claim[i] += x
            headroom = cap[i] * drawn[i] - received[i] if cap[i] < np.inf else np.inf
            room[i] = min(claim[i], max(headroom, 0.0))
        # 4. outcome payment to tranches by seniority
        available = pay[d, t]
        for k in range(group_start.shape[0] - 1):
            lo, hi = group_start[k], group_start[k + 1]
            available -= _pay_group(available, room, order, lo, hi, paid)
            for j in range(lo, hi):
                i = order[j]
                claim[i] -= paid[i]
                received[i] += paid[i]
                flows[d, 1 + i, t] += paid[i]
        # 5. excess
        if excess_code == 2:  # pro rata to commitments, up to return-cap headroom
            excess = max(available, 0.0)
            for i in range(n_tr):
                headroom = cap[i] * drawn[i] - received[i] if cap[i] < np.inf else np.inf
                x = min(excess * share[i], max(headroom, 0.0))
                flows[d, 1 + i, t] += x
                received[i] += x
                available -= x
        excess = max(available, 0.0)
        flows[d, 0, t] = -pay[d, t] + (excess if excess_code != 1 else 0.0)
        for i in range(n_tr):
            outstanding[d, i, t] = claim[i]
        flows[d, 1 + n_tr, t] = 0.0
        flows[d, 2 + n_tr, t] = funded_cost + (excess if excess_code == 1 else 0.0)
        flows[d, 3 + n_tr, t] = draw - funded_cost
