"""When and on whom a payer counts: payers present in some calendar years only, and savings
counted on some strata only.

Two fields of :class:`~sibsim.money.payers.Payer` narrow what a payer takes part in:

* ``savings_strata``: the payer's savings count only the outcomes avoided in these strata of the
  cohort. Lapset-SIB I's five municipalities each save on their own children's care-years, not
  on all five municipalities' children: with ``savings_strata = ["helsinki"]`` Helsinki's EUR
  130,000 per care-year avoided values Helsinki's children only. Without it a payer's savings
  count every stratum (as before).
* ``first_year`` / ``last_year``: the payer takes part only in the periods of these calendar
  years (with the deal's ``start_year``): it pays its shares of the outcome payments there,
  counts its savings there and incurs its own costs there. Child welfare moved from Finland's
  municipalities to the wellbeing services counties in 2023: the municipality pays ``last_year =
  2022``, the county ``first_year = 2023``, each with the shares the contract gives it. In every
  calendar year of the deal the shares of each metric over the payers present that year sum to 1
  (:func:`check_payer_scope`), so the split conserves money period by period.

Payments due in a period are paid by the payers present in that period (the period of payment,
as in a budget), whatever period the outcome was achieved in; a payer's caps apply to what it is
due in its own years.

Examples
--------
>>> import numpy as np
>>> from sibsim.money.payers import Payer
>>> city = Payer("city", {"m": 1.0}, last_year=2022)
>>> county = Payer("county", {"m": 1.0}, first_year=2023)
>>> presence((city, county), np.array([2021, 2022, 2023, 2024])).astype(int).tolist()
[[1, 1, 0, 0], [0, 0, 1, 1]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from sibsim.money.payers import SHARE_TOLERANCE, Payer, payer_savings
from sibsim.spec import _validate as v

__all__ = ["apply_presence", "check_payer_scope", "presence", "scoped_savings"]

FloatArray = NDArray[np.float64]


def presence(payers: Sequence[Payer], years: np.ndarray) -> NDArray[np.bool_] | None:
    """Whether each payer takes part in each period, (Y, P) for the calendar ``years`` of the
    periods (``Deal.calendar_years()``); None when every payer takes part throughout."""
    if not any(p.bounded for p in payers):
        return None
    years = np.asarray(years)
    lo = np.array([-math.inf if p.first_year is None else p.first_year for p in payers])
    hi = np.array([math.inf if p.last_year is None else p.last_year for p in payers])
    return (years[None, :] >= lo[:, None]) & (years[None, :] <= hi[:, None])


def check_payer_scope(payers: Sequence[Payer], metrics: Sequence[str], strata: Sequence[str],
                      years: np.ndarray, start_year: int | None,
                      field: str = "Deal.payers") -> None:
    """Refuse payers whose strata or years do not fit the deal (``ValueError`` naming the key).

    Every name in ``savings_strata`` is a stratum of the cohort; a payer with ``first_year`` or
    ``last_year`` needs the deal's ``start_year`` and takes part in at least one period of the
    deal; in each calendar year the shares of each metric over the payers present sum to 1.

    >>> years = np.array([2021, 2022, 2023])
    >>> check_payer_scope([Payer("city", 1.0, last_year=2021),
    ...                    Payer("county", 1.0, first_year=2023)], ["m"], ["all"], years, 2021)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Deal.payers.shares[m] in 2022: got 0.0; allowed: shares of metric 'm' ...
    """
    for i, p in enumerate(payers):
        for s in p.savings_strata or ():
            if s not in strata:
                raise v.fail(f"{field}[{i}].savings_strata", s, "strata of the cohort: "
                             + ", ".join(repr(n) for n in strata))
    here = presence(payers, years)
    if here is None:
        return
    for i, p in enumerate(payers):
        if not p.bounded:
            continue
        key = f"{field}[{i}].{'first_year' if p.first_year is not None else 'last_year'}"
        if start_year is None:
            raise v.fail(key, p.first_year if p.first_year is not None else p.last_year,
                         "a payer's years only with the deal's start_year (the calendar year "
                         "of period 0)")
        if not here[i].any():
            raise v.fail(key, (p.first_year, p.last_year), f"years that meet the deal's "
                         f"{int(years[0])}-{int(years[-1])}")
    if any(p.waves is not None for p in payers):  # year by year and wave by wave:
        return  # sibsim.money.payer_waves.check_payer_waves
    for m in metrics:
        shares = np.array([p.share_of(m) for p in payers])
        for year in np.unique(years):
            col = here[:, np.flatnonzero(years == year)[0]]
            total = math.fsum(shares[col])
            if abs(total - 1.0) > SHARE_TOLERANCE:
                who = ", ".join(f"{p.name} {s:g}" for p, s, c in zip(payers, shares, col,
                                                                    strict=True) if c)
                raise v.fail(f"{field}.shares[{m}] in {int(year)}", round(total, 12),
                             f"shares of metric {m!r} summing to 1 over the payers present "
                             f"that year ({who or 'none'})")


def apply_presence(here: NDArray[np.bool_] | None, *arrays: FloatArray) -> tuple[FloatArray, ...]:
    """Each (D, Y, P) or (Y, P) array with the periods in which a payer is absent set to 0."""
    if here is None:
        return arrays
    return tuple(np.where(here if a.ndim == 2 else here[None], a, 0.0) for a in arrays)


def _by_stratum(data: xr.Dataset, var: str, started: np.ndarray | None,
                **sel: str) -> np.ndarray:
    """Treated arm's ``var`` summed over waves, per stratum: (D, K, P)."""
    x = data[var].sel(arm="treatment", **sel)
    if started is not None and not started.all():
        x = x * xr.DataArray(started, dims=("draw", "wave"))
    return x.sum("wave", skipna=False).transpose("draw", "stratum", "period").values


def _process_of_state(ds: xr.Dataset, processes: Sequence[tuple[str, Sequence[str]]],
                      state: str) -> dict[str, str]:
    if "process" not in ds.dims:
        return {}
    return {"process": next(name for name, states in processes if state in states)}


def scoped_savings(payers: Sequence[Payer], ds: xr.Dataset, cf: xr.Dataset,
                   started: np.ndarray | None, processes: Sequence[tuple[str, Sequence[str]]],
                   n_periods: int, cash: FloatArray, wider: FloatArray
                   ) -> tuple[FloatArray, FloatArray]:
    """``cash`` and ``wider`` (D, Y, P) with the savings of each payer that has
    ``savings_strata`` recomputed on the outcomes avoided in those strata only.

    ``processes``: (name, states) of each outcome process of the scenario, in order;
    ``started``: (D, W) cohorts started before a stop (None: all). Other payers' rows are
    returned unchanged (the same arrays when no payer has ``savings_strata``).
    """
    scoped = [i for i, p in enumerate(payers) if p.savings_strata is not None]
    if not scoped:
        return cash, wider
    cash, wider = np.array(cash), np.array(wider)
    several = "process" in ds.dims
    names = [name for name, _ in processes]
    strata = [str(k) for k in ds["stratum"].values]
    avoided: dict[tuple[str, ...], np.ndarray] = {}  # avoided units per stratum, (D, K, P)

    def per_stratum(var: str, **sel: str) -> np.ndarray:
        key = (var, *sel.values())
        if key not in avoided:
            avoided[key] = (_by_stratum(cf, var, started, **sel)
                            - _by_stratum(ds, var, started, **sel))
        return avoided[key]

    for i in scoped:
        p = payers[i]
        keep = [strata.index(k) for k in p.savings_strata]  # type: ignore[union-attr]
        events = {name: per_stratum("events", **({"process": name} if several else {}))[
            :, keep].sum(1) for name in names}
        person_periods = {state: per_stratum("occupancy", state=state, **_process_of_state(
            ds, processes, state))[:, keep].sum(1) for state in p.states_valued()}
        by_process = several or bool(p.savings_terms.processes_valued())
        c, w, _ = payer_savings([p], events if by_process else events[names[0]],
                                person_periods, n_periods)
        cash[:, i], wider[:, i] = c[:, 0], w[:, 0]
    return cash, wider
