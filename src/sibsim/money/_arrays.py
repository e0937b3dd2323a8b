"""Small array helpers shared by the money layer (no validation logic beyond shapes)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from sibsim.spec import _validate as v

__all__ = ["per_period", "readonly"]


def readonly(a: np.ndarray) -> np.ndarray:
    """Mark ``a`` read-only and return it (result arrays are not to be edited in place)."""
    a.flags.writeable = False
    return a


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
