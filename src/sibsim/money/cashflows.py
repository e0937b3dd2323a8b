"""The cash-flow waterfall of a capital structure and its result, :class:`CashFlows`.

:func:`waterfall` checks the money arrays, lowers the capital structure
(:meth:`sibsim.money.capital.CapitalStructure.lower`) to the kernel's inputs, runs
:func:`sibsim.money.kernels.waterfall.run` and wraps its outputs.
The rules (accrual, fees, drawdown, distribution, excess, guarantee) are documented in
:mod:`sibsim.money.capital` and ``docs/money.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sibsim.money._arrays import readonly, sum_axis1
from sibsim.money.capital import CapitalStructure
from sibsim.money.kernels import waterfall as kernel
from sibsim.spec import _validate as v

__all__ = ["CashFlows", "waterfall"]

FloatArray = NDArray[np.float64]


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
        Paid by the guarantor to each tranche in the settlement period (currency).
    outstanding : array (D, T, P)
        Each tranche's claim (principal plus unpaid target return) after the period's
        distribution (currency).
    unfunded : array (D, P)
        Service costs plus fees that the remaining commitment could not fund (currency).
    currency : str
    stop_period : int array (D,) or None
        First period without service, drawdowns or fees (P: the deal was not stopped early).
        None: not recorded (every draw runs to the end).
    settlement_period : int array (D,) or None
        Period in which the deal settles and the guarantee is paid; None: the last period.
    reserve : array (D, P) or None
        Recycled outcome payments held by the deal after each period (``recycle=True``).
    claim_share_paid : array (D, P) or None
        Outcome payments of a claim-tied savings share (``ClaimShare``), computed in the
        waterfall and included in the commissioner's flow (currency).

    Examples
    --------
    >>> from sibsim.money.capital import Tranche
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
    stop_period: NDArray[np.int64] | None = None
    settlement_period: NDArray[np.int64] | None = None
    reserve: FloatArray | None = None
    claim_share_paid: FloatArray | None = None

    @property
    def settlement(self) -> NDArray[np.int64]:
        """Settlement period of each draw, int array (D,) (the last period if not recorded)."""
        if self.settlement_period is not None:
            return self.settlement_period
        return np.full(self.flows.shape[0], self.flows.shape[2] - 1, dtype=np.int64)

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
        dist[np.arange(dist.shape[0]), :, self.settlement] -= self.guarantee_paid
        return dist

    def party(self, name: str) -> FloatArray:
        """Net flows (D, P) of one party (+ received, - paid)."""
        if name not in self.parties:
            raise v.fail("CashFlows.party.name", name, "one of " + ", ".join(self.parties))
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
            return sum_axis1(self.flows, idx)
        if tranche not in self.tranches:
            raise v.fail("CashFlows.investor.tranche", tranche,
                         "one of " + ", ".join(self.tranches))
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
                    "paid by the guarantor to each tranche in the settlement period",
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
    """``value`` as a float array of at least 2 dimensions, checked: a float64 array given
    itself (the kernel only reads it), else a converted copy."""
    if hasattr(value, "total") and not isinstance(value, np.ndarray):
        value = value.total  # a PaymentResult
    a = np.asarray(value, dtype=np.float64)
    if a.ndim < 2:  # as np.array(..., ndmin=2): leading axes of length 1
        a = a.reshape((1,) * (2 - a.ndim) + a.shape)
    # finite and >= 0 in two reductions without temporaries: a NaN makes both comparisons fail
    if a.ndim != 2 or 0 in a.shape or not (a.min() >= 0.0 and a.max() < np.inf):
        raise v.fail(f"waterfall.{name}", a,
                     "finite amounts >= 0 shaped (D, P) or (P,), D >= 1 and P >= 1")
    return a


def _read_only(a: FloatArray) -> FloatArray:
    """A read-only view of ``a``: the kernel's inputs are always read-only, whether given or
    copied, so that it is compiled once for them."""
    out = a.view()
    out.flags.writeable = False
    return out


def waterfall(
    structure: CapitalStructure, service_costs: ArrayLike, outcome_payments: ArrayLike,
    life: kernel.LifecycleArrays | None = None,
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
    life : LifecycleArrays, optional
        When the deal stops and settles, its stop-loss and a claim-tied savings share (built
        by :func:`sibsim.money.termination.lifecycle`); default: no early stop, settlement in
        the last period.

    Returns
    -------
    CashFlows
        Flows (D, party, P), + received / - paid, summing to 0 over parties.

    Notes
    -----
    Sequential in periods, vectorised over draws (100,000 draws x 10 periods take a few
    hundredths of a second). The order of operations within a period is given in
    :mod:`sibsim.money.capital` and in ``docs/money.md``.

    Examples
    --------
    Senior 60 and junior 40, both at 10% per period; 100 of costs in period 0, 130 of
    outcome payments in period 1: senior gets 66, junior 44, the commissioner keeps 20.

    >>> import numpy as np
    >>> from sibsim.money.capital import Tranche
    >>> cs = CapitalStructure((Tranche("senior", 60.0, 1, 0.10), Tranche("junior", 40.0, 2, 0.10)))
    >>> cf = waterfall(cs, [100.0, 0.0], [0.0, 130.0])
    >>> np.round(cf.flows[0, :, 1], 6).tolist()
    [-110.0, 66.0, 44.0, 0.0, 0.0, 0.0]
    """
    v.instance_of(CapitalStructure)("waterfall.structure", structure)
    costs = _money_array("service_costs", service_costs)
    pay = _money_array("outcome_payments", outcome_payments)
    try:
        costs, pay = (_read_only(np.ascontiguousarray(a))
                      for a in np.broadcast_arrays(costs, pay))
    except ValueError as err:
        raise v.fail("waterfall.service_costs", costs.shape,
                     f"a shape broadcastable with outcome_payments {pay.shape}") from err
    capital = structure.lower(n_periods=pay.shape[1])
    if life is not None:
        _check_life(life, *pay.shape)
    out = kernel.run(kernel.WaterfallInputs(costs, pay), capital, life)
    return CashFlows(
        flows=readonly(out.flows),
        parties=structure.parties,
        tranches=structure.tranche_names,
        commitment_share=tuple(capital.tranches.share.tolist()),
        drawdown_total=readonly(out.drawdown),
        guarantee_paid=readonly(out.guarantee),
        outstanding=readonly(out.outstanding),
        unfunded=readonly(out.unfunded),
        currency=structure.currency,
        stop_period=readonly(out.stop),
        settlement_period=readonly(out.settled),
        reserve=readonly(out.reserve),
        claim_share_paid=readonly(out.claim_paid),
    )


def _check_life(life: kernel.LifecycleArrays, n_draws: int, n_periods: int) -> None:
    """Shapes and ranges of the lifecycle inputs (they index the kernel's arrays)."""
    stop, settle = np.asarray(life.stop), np.asarray(life.settle_at)
    if stop.shape != (n_draws,) or stop.min() < 0 or stop.max() > n_periods:
        raise v.fail("waterfall.life.stop", stop, f"(D={n_draws},) periods in [0, {n_periods}]")
    if settle.shape != (n_periods + 1,) or settle.min() < 0 or settle.max() >= n_periods:
        raise v.fail("waterfall.life.settle_at", settle,
                     f"({n_periods + 1},) periods in [0, {n_periods - 1}]")
    if life.claim.active and np.shape(life.claim.avoided) != (n_draws, n_periods):
        raise v.fail("waterfall.life.claim.avoided", np.shape(life.claim.avoided),
                     f"shape (D={n_draws}, P={n_periods})")
