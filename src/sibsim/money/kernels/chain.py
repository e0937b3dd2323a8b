"""Small kernels of the money chain (:func:`sibsim.money.sib.money_arrays`), over draws and
periods, writing into preallocated outputs.

Each kernel does, element by element, exactly the floating-point operations of the numpy
expression it replaces (documented with it), in the same order, so its results are the same
to the last bit; what it saves is the temporaries and passes over memory of the numpy
expression. Sums over an axis are written only where numpy adds the terms one after the
other too (a reduction over a non-contiguous axis, or fewer than 8 terms).

Examples
--------
>>> import numpy as np
>>> out = np.empty((1, 2, 2))
>>> payer_flows(np.array([[[30.0, 0.0], [70.0, 0.0]]]), np.array([[100.0, 0.0]]),
...             np.array([[-100.0, 5.0]]), out)
>>> out[0].tolist()
[[-30.0, 0.0], [-70.0, 0.0]]
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["payer_flows"]

FloatArray = NDArray[np.float64]


@numba.njit(cache=True, nogil=True)
def payer_flows(paid: FloatArray, total: FloatArray, commissioner_flow: FloatArray,
                out: FloatArray) -> None:
    """Each payer's part of the commissioner's waterfall flow, in proportion to what it paid.

    ``paid`` (D, Y, P), ``total`` (D, P) and ``commissioner_flow`` (D, P) in currency; writes
    ``out`` (D, Y, P): ``commissioner_flow[d, p] * (paid[d, y, p] / total[d, p])`` where
    ``total[d, p] > 0``, else ``commissioner_flow[d, p] * 0.0`` (the numpy expression
    ``flow[:, None] * np.where(total[:, None] > 0, paid / total[:, None], 0.0)``).
    """
    n_draws, n_payers, n_periods = paid.shape
    for d in range(n_draws):
        for p in range(n_periods):
            tot = total[d, p]
            flow = commissioner_flow[d, p]
            for y in range(n_payers):
                part = paid[d, y, p] / tot if tot > 0.0 else 0.0
                out[d, y, p] = flow * part
