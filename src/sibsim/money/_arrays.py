"""Small array helpers shared by the money layer (no validation logic beyond shapes)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from sibsim.spec import _validate as v

__all__ = ["in_states", "per_period", "readonly", "sum_axis1"]


def readonly(a: np.ndarray) -> np.ndarray:
    """Mark ``a`` read-only and return it (result arrays are not to be edited in place)."""
    a.flags.writeable = False
    return a


def in_states(da: xr.DataArray, state: str | Sequence[str]) -> xr.DataArray:
    """``da`` (person-periods with a ``state`` dimension) in ``state``, or summed over a set of
    states (a person is in one state a period, so the sum is the person-periods in any of
    them). A NaN of a state (not one of the process's) stays NaN in the sum.

    >>> occ = xr.DataArray([[2.0, 3.0, 5.0]], dims=("draw", "state"),
    ...                    coords={"state": ["a", "b", "c"]})
    >>> in_states(occ, "b").values.tolist(), in_states(occ, ("a", "c")).values.tolist()
    ([3.0], [7.0])
    """
    if isinstance(state, str):
        return da.sel(state=state)
    return da.sel(state=list(state)).sum("state", skipna=False)


def per_period(field: str, value: float | tuple[float, ...], n_periods: int) -> NDArray[np.float64]:
    """Expand a scalar or a per-period tuple to a float array of length ``n_periods``.

    Examples
    --------
    >>> per_period("Fees.intermediary_per_period", 5.0, 3).tolist()
    [5.0, 5.0, 5.0]
    """
    if isinstance(value, tuple):
        if len(value) != n_periods:
            raise v.fail(field, value, f"a scalar or a sequence of length n_periods={n_periods}")
        return np.asarray(value, dtype=np.float64)
    return np.full(n_periods, float(value))


def sum_axis1(a: np.ndarray, index: list[int] | None = None) -> NDArray[np.float64]:
    """``a.sum(axis=1)`` (or ``a[:, index].sum(axis=1)``) of a float array with at least 3
    dimensions, the same numbers to the last bit, faster for a short axis 1.

    numpy adds the terms of an axis that is not the last one after each other, starting from
    0.0 (so ``-0.0`` terms give ``0.0``); this does the same with one whole-array addition per
    term, instead of numpy's inner loop over axis 1 for every element of the result (slow when
    that axis holds a few payers or metrics and the others 100,000 draws x periods).

    >>> a = np.arange(12.0).reshape(1, 3, 4)
    >>> sum_axis1(a).tolist(), sum_axis1(a, [0, 2]).tolist()
    ([[12.0, 15.0, 18.0, 21.0]], [[8.0, 10.0, 12.0, 14.0]])
    """
    terms = range(a.shape[1]) if index is None else index
    out = np.zeros((a.shape[0], *a.shape[2:]), dtype=np.result_type(a.dtype, np.float64))
    for k in terms:
        out += a[:, k]
    return out
