"""Each payer's cashable savings and wider value from avoided events and person-periods, in one
pass (:func:`sibsim.money.payers.payer_savings`).

Each output element is computed with exactly the floating-point operations of
:meth:`sibsim.money.municipality.Municipality.savings`, in the same order (the saving per
avoided event first, then each valued state's term added in the payer's order), so the results
are the same to the last bit; what it saves is the temporaries and passes over memory of the
numpy expressions (about ten per payer).

Examples
--------
>>> import numpy as np
>>> avoided = np.array([[1.0, 2.0]])                  # (draws, periods)
>>> pp = np.array([[[10.0, 0.0]]])                    # (states, draws, periods)
>>> rate = np.array([[[3.0], [0.5]]])                 # (payers, 1 + states, draws)
>>> order = np.array([[0]])                           # payer 0 values state 0
>>> out = np.empty((1, 1, 2))
>>> valued_amounts(avoided, pp, rate, order, out)
>>> out[0, 0].tolist()                                # 1 x 3 + 10 x 0.5, 2 x 3 + 0
[8.0, 6.0]
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["valued_amounts"]

FloatArray = NDArray[np.float64]


@numba.njit(cache=True, nogil=True)
def valued_amounts(avoided: FloatArray, pp: FloatArray, rate: FloatArray,
                   order: NDArray[np.int64], out: FloatArray) -> None:
    """Each payer's money from avoided events and person-periods.

    ``avoided`` (D, P): events avoided; ``pp`` (S, D, P): person-periods avoided in each valued
    state; ``rate`` (Y, 1 + K, D): each payer's amount per avoided event (``rate[y, 0]``) and per
    person-period of its k-th valued state (``rate[y, 1 + k]``), per draw; ``order`` (Y, K): the
    index into ``pp`` of payer y's k-th valued state, -1 past its last. Writes ``out`` (D, Y, P):
    ``avoided * rate[y, 0]``, then ``+ pp[order[y, k]] * rate[y, 1 + k]`` for k = 0, 1, ...
    """
    n_draws, n_periods = avoided.shape
    n_payers, n_states = order.shape
    for d in range(n_draws):
        for y in range(n_payers):
            r0 = rate[y, 0, d]
            for t in range(n_periods):
                out[d, y, t] = avoided[d, t] * r0
            for k in range(n_states):
                s = order[y, k]
                if s < 0:
                    break
                r = rate[y, 1 + k, d]
                for t in range(n_periods):
                    out[d, y, t] = out[d, y, t] + pp[s, d, t] * r
