"""The count tables of one effect in one pass (the break-even search builds them at every effect).

:func:`rates_at_effect` writes the rate table ``(D, 2, K, C)`` of a count outcome (without and
with the effect) from the effect-free rates and the effect of each column, and, in the same
pass over the draws, the largest rate of each draw and stratum (what
:func:`sibsim.engine.ranges.check_expected_counts` bounds) and whether every rate is finite and
at most the largest allowed (:func:`sibsim.engine.tables.check_rates`). Each value is the one
the numpy expressions of :func:`sibsim.engine.tables.apply_to_rate` give, bit for bit.

>>> import numpy as np
>>> rate, top = np.empty((1, 2, 1, 2)), np.empty((1, 1))
>>> rates_at_effect(np.array([[[0.5, 0.0]]]), np.array([[[0.8, 0.8]]]), True, 1e6, rate, top)
True
>>> rate[0, :, 0].tolist(), top.tolist()
([[0.5, 0.0], [0.4, 0.0]], [[0.5]])
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["rates_at_effect"]


@njit(cache=True, nogil=True)
def rates_at_effect(r0: NDArray[np.float64], eff: NDArray[np.float64], multiplicative: bool,
                    max_rate: float, rate: NDArray[np.float64],
                    top: NDArray[np.float64]) -> bool:
    """Rates without (``r0`` (D, K, C)) and with the effect (``eff`` (D, K', C), K' = 1 or K:
    the effect of each column at its strength) into ``rate`` (D, 2, K, C).

    With the effect: ``r0 * eff`` where ``r0 > 0``, else 0.0 (``multiplicative``: a rate or
    hazard ratio), or ``max(0.0, r0 + eff)`` (an absolute change; NaN propagates as in
    ``np.maximum``). Writes ``top`` (D, K): the largest of the two rates over the columns
    (``rate.max(axis=(1, 3))`` when every rate is finite). Returns whether every rate is finite
    and at most ``max_rate``; every output is written either way.
    """
    n_draws, n_strata, n_cols = r0.shape
    one = eff.shape[1] == 1
    ok = True
    for d in range(n_draws):
        for k in range(n_strata):
            ke = 0 if one else k
            hi = -np.inf
            for c in range(n_cols):
                x = r0[d, k, c]
                e = eff[d, ke, c]
                if multiplicative:
                    y = x * e if x > 0.0 else 0.0
                else:
                    s = x + e
                    y = 0.0 if 0.0 >= s else s  # np.maximum(0.0, s): NaN stays NaN
                rate[d, 0, k, c] = x
                rate[d, 1, k, c] = y
                if not (np.isfinite(x) and np.isfinite(y) and x <= max_rate
                        and y <= max_rate):
                    ok = False
                hi = max(hi, x, y)
            top[d, k] = hi
    return ok
