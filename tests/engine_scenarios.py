"""One small scenario per outcome kind, for tests that compare the engines on it.

``tests/test_engine_statistics.py`` (the engines agree) and ``tests/test_engaged_events.py``
(the engaged participants' events agree) use the same cohorts, outcomes and effect, with their
own engagement, drop-out, duration and frailty.
"""

from __future__ import annotations

import numpy as np

from sibsim import (
    BinaryOutcome,
    Cohort,
    ComparisonGroup,
    CountOutcome,
    Effect,
    Frailty,
    MarkovOutcome,
    Scenario,
)

STATES = ("well", "sick", "dead")
T = np.array([[0.80, 0.15, 0.05],
              [0.30, 0.60, 0.10],
              [0.00, 0.00, 1.00]])
KINDS = ["binary", "absorbing", "counts", "markov"]


def one_process(kind: str, frailty: float | None = None, **effect) -> Scenario:
    """Two cohorts (40 and 20) over 5 periods, a 1:1 comparison group, relative risk 0.6 on
    ``kind`` (one of :data:`KINDS`); ``effect``: engagement, dropout, duration, decay."""
    if kind == "markov":
        outcome = MarkovOutcome(STATES, T, events=[("well", "sick")])
        eff = Effect("rr", 0.6, targets=[("well", "sick")], **effect)
    elif kind == "counts":
        outcome = CountOutcome(0.8, dispersion=2.0)
        eff = Effect("rr", 0.6, **effect)
    else:
        outcome = BinaryOutcome(0.25, recurrent=kind == "binary")
        eff = Effect("rr", 0.6, **effect)
    return Scenario(cohort=Cohort(entry=(40, 20)), outcome=outcome, horizon=5, effect=eff,
                    comparison=ComparisonGroup(ratio=1),
                    frailty=None if frailty is None else Frailty(frailty))
