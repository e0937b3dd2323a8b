"""The payers' appropriations: outcome payments wait for the funds a payer has.

A payer whose outcome payments are paid from appropriated funds (a municipality's yearly budget
line, a state's trust fund filled by yearly appropriations) pays what is due when the funds
allow; what the funds do not cover waits, first in first out, for the next funds, and funds
left unused carry over. See :func:`sibsim.money.payers.split_by_payer`.

Examples
--------
>>> import numpy as np
>>> paid = np.array([[[5.0, 0.0, 10.0, 0.0]]])          # (draws, payers, periods)
>>> funds = np.array([[3.0, 3.0, 3.0, 3.0]])            # (budgeted payers, periods)
>>> total = paid.sum(1)
>>> out, out_total = np.empty_like(paid), np.empty_like(total)
>>> defer_to_funds(paid, np.array([0]), funds, total, out, out_total)
>>> out[0, 0].tolist(), out_total[0].tolist()
([3.0, 2.0, 4.0, 3.0], [3.0, 2.0, 4.0, 3.0])
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["defer_to_funds"]

FloatArray = NDArray[np.float64]


@numba.njit(cache=True, nogil=True)
def defer_to_funds(paid: FloatArray, budgeted: NDArray[np.int64], funds: FloatArray,
                   total: FloatArray, out_paid: FloatArray, out_total: FloatArray) -> None:
    """Each budgeted payer's payments, paid as its funds allow.

    ``paid`` (D, Y, P): what each payer would pay in each period (after its caps); ``budgeted``
    (B,): the payers with appropriations; ``funds`` (B, P): the funds each of them receives in
    each period (currency); ``total`` (D, P): what all payers pay together. Writes ``out_paid``
    (D, Y, P): for a budgeted payer, in period ``t``, ``min(owed + paid[t], available)``, where
    ``owed`` is what earlier periods left unpaid and ``available`` the funds received so far less
    what was paid from them; other payers as ``paid``. ``out_total`` (D, P): ``total`` plus the
    budgeted payers' changes (``total`` itself, bit for bit, where no budget binds), floored at 0.
    Money is conserved: over the periods, a budgeted payer pays ``paid``'s sum less what is
    still owed at the end.
    """
    n_draws, n_payers, n_periods = paid.shape
    for d in range(n_draws):
        for y in range(n_payers):
            for t in range(n_periods):
                out_paid[d, y, t] = paid[d, y, t]
        for t in range(n_periods):
            out_total[d, t] = total[d, t]
        for b in range(budgeted.shape[0]):
            y = budgeted[b]
            owed = 0.0
            available = 0.0
            for t in range(n_periods):
                available += funds[b, t]
                want = paid[d, y, t] if owed == 0.0 else owed + paid[d, y, t]
                pay = want if want <= available else available
                owed = want - pay
                available -= pay
                if pay != paid[d, y, t]:
                    out_paid[d, y, t] = pay
                    x = out_total[d, t] + (pay - paid[d, y, t])
                    out_total[d, t] = x if x > 0.0 else 0.0
