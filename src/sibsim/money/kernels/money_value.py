"""The money of a money evaluation's outcome units
(:meth:`sibsim.money.money_metric.MoneyValue.value`) in one pass: each element with exactly the
floating-point operations of the numpy expression, in the same order, so the same numbers to the
last bit, without its five temporaries the size of the outcome arrays (every arm, wave and
period of every draw).

Examples
--------
>>> import numpy as np
>>> units = np.array([[[4.0, 9.0]]])                  # (draws, cells, periods)
>>> z = np.array([[[1.0, -1.0]]])
>>> scale = np.array([[10.0, 100.0]])                 # (draws, periods)
>>> out = np.empty_like(units)
>>> money_of_units(units, scale, z, 0.5, out)         # max(u + 0.5 sqrt(u) z, 0) x scale
>>> out.tolist()
[[[50.0, 750.0]]]
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

from sibsim.money.kernels.chain import _np_maximum

__all__ = ["money_of_units"]

FloatArray = NDArray[np.float64]


@numba.njit(cache=True, nogil=True)
def money_of_units(units: FloatArray, scale: FloatArray, z: FloatArray, cv: float,
                   out: FloatArray) -> None:
    """``out = maximum(units + cv * sqrt(maximum(units, 0)) * z, 0) * scale``.

    ``units``, ``z``, ``out`` (D, C, P): outcome units, standard normal noise and the money,
    per draw, cell (arm x wave x stratum) and period; ``scale`` (D, P): currency per unit;
    ``cv``: the dispersion.
    """
    n_draws, n_cells, n_periods = units.shape
    for d in range(n_draws):
        for c in range(n_cells):
            for t in range(n_periods):
                u = units[d, c, t]
                spread = cv * np.sqrt(_np_maximum(u, 0.0)) * z[d, c, t]
                out[d, c, t] = _np_maximum(u + spread, 0.0) * scale[d, t]
