"""IRR and NPV refusals at their edges: the exact message of each, for 1-D and 2-D cash flows
and scalar and per-path rates.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py, a sample of
money/irr.py's mutants) found unguarded.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from sibsim.money.irr import irr, npv

CASES = {
    "3-D flows": (lambda: irr(np.zeros((1, 2, 3))), ValueError,
                  "cashflows must be 1-D (periods,) or 2-D (paths, periods); got ndim=3, "
                  "shape=(1, 2, 3)"),
    "NaN, 1-D": (lambda: irr([-1.0, np.nan, 2.0]), ValueError,
                 "cashflows must be finite (no NaN or inf); found nan at period 1"),
    "NaN, 2-D": (lambda: irr([[-1.0, np.nan, 2.0]]), ValueError,
                 "cashflows must be finite (no NaN or inf); found nan at path 0, period 1"),
    "NaN, 1-D, NPV": (lambda: npv(0.1, [-1.0, np.nan, 2.0]), ValueError,
                      "cashflows must be finite (no NaN or inf); found nan at period 1"),
    "NaN, 2-D, NPV": (lambda: npv(0.1, [[-1.0, 2.0], [np.inf, 1.0]]), ValueError,
                      "cashflows must be finite (no NaN or inf); found inf at path 1, period 0"),
    "tol": (lambda: irr([-1.0, 2.0], tol="x"), TypeError,
            "tol must be a real number; got str"),
    "maxiter": (lambda: irr([-1.0, 2.0], maxiter=True), TypeError,
                "maxiter must be an integer; got bool"),
    "scalar rate": (lambda: npv(-2.0, [-1.0, 2.0]), ValueError,
                    "rate must be > -1 and finite (NaN allowed, gives NaN); got -2.0 (mask "
                    "TOTAL_LOSS paths from irr before discounting)"),
    "rate per path": (lambda: npv(np.array([0.1, -2.0]), [[-1.0, 2.0], [-1.0, 2.0]]),
                      ValueError,
                      "rate must be > -1 and finite (NaN allowed, gives NaN); got -2.0 at path "
                      "1 (mask TOTAL_LOSS paths from irr before discounting)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_refusal_in_full(case):
    call, error, message = CASES[case]
    with pytest.raises(error, match="^" + re.escape(message) + "$"):
        call()
