"""A payer's savings from a money evaluation's effect on the money per unit.

A money evaluation (:mod:`sibsim.money.money_metric`) may have an effect of the service on the
money per unit, ``money.effect``: Koto-SIB's participants earned more per quarter in work, so
paid more tax per quarter. That extra money is in the measured gain and the payments on it;
the payers' savings per state or event avoided (``saving_per_person_period``,
``saving_per_event``) do not hold it, because they value outcomes avoided, not the money per
unit. ``Payer.saving_of_money_effect = {metric = fraction}`` gives a payer its fraction of
that extra money as a cashable saving, per draw and period:

    saving[d, y, p] = fraction[y] x (effect[d] - 1) x per_unit[d, p] x engaged[d, p]

with ``effect[d]`` and ``per_unit[d, p]`` (its ``growth`` included) the values the evaluation
samples for the run's seed and draw, and ``engaged[d, p]`` the treated arm's units of its
engaged participants (those who took up the service and have not dropped out: the outcome
dataset's ``engaged_occupancy`` of the state measured, or ``engaged_events``) in the
evaluation's strata, summed over the cohorts started (those a termination stopped before they
started are left out, as for every saving). The extra money is counted in every period of the
horizon, not only in the evaluation's window: the effect does not decay (a wage gain kept
after the service), and the savings per state avoided count the whole horizon too. It is the
expected extra money: the dispersion of the money per unit between person-periods (``cv``) is
noise on the measurement, not on the payers' money.

* ``fraction``: the payer's part of the extra money (Koto-SIB: the metric is taxes and
  benefits, and its effect's extra money is income tax, 80% municipal and 20% state tax, so
  the municipalities 0.8 and the state 0.2; on a metric of wages, a payer's tax rate on
  them). The
  fractions of a metric sum to **at most 1** over the payers present in a period: the rest of
  the extra money goes to bodies outside the deal (refused above 1: it would count the same
  euros twice).
* ``savings_strata`` and ``first_year`` / ``last_year`` apply as to the payer's other
  savings (:mod:`sibsim.money.payer_scope`): a payer counts the extra money of the engaged
  participants in its strata, in the periods of its years.
* An effect below 1 (lower wages) gives a negative saving (taxes lost); an evaluation without
  ``money.effect`` (an effect of 1), or in outcome units (no ``money``: a what-if of the same
  deal), gives none. A metric that no evaluation measures is refused.

Examples
--------
>>> from sibsim.money.payers import Payer
>>> city = Payer("municipalities", 0.0, saving_of_money_effect={"public_finance": 0.8})
>>> state = Payer("state", 1.0, saving_of_money_effect={"public_finance": 0.2})
>>> fractions((city, state), "public_finance").tolist()
[0.8, 0.2]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from sibsim.money.payers import SHARE_TOLERANCE, Payer
from sibsim.spec import _validate as v

__all__ = ["check_money_effect_savings", "fractions", "money_effect_savings"]

FloatArray = NDArray[np.float64]


def fractions(payers: Sequence[Payer], metric: str) -> FloatArray:
    """Each payer's fraction of ``metric``'s extra money (0 for a payer without it), (Y,)."""
    return np.array([p.saving_of_money_effect.get(metric, 0.0) for p in payers],
                    dtype=np.float64)


def _metrics(payers: Sequence[Payer]) -> list[str]:
    """The metrics some payer takes a fraction of, in order of first mention."""
    return list(dict.fromkeys(m for p in payers for m in p.saving_of_money_effect))


def check_money_effect_savings(payers: Sequence[Payer], evaluations: Sequence[Any],
                               here: NDArray[np.bool_] | None,
                               field: str = "Deal.payers") -> None:
    """Refuse a ``saving_of_money_effect`` that does not fit the deal (``ValueError`` naming
    the key): every metric it names is an evaluation's (one in units, or without
    ``money.effect``, brings no extra money: it saves nothing), and in every period the
    fractions of a metric over the payers present (``here``, (Y, P), from
    :func:`sibsim.money.payer_scope.presence`; None: all throughout) sum to at most 1.

    >>> from sibsim.money.evaluation import Evaluation
    >>> from sibsim.money.money_metric import MoneyValue
    >>> ev = Evaluation("tax", outcome="occupancy", state="work", direction="increase",
    ...                 money=MoneyValue(per_unit=100.0, effect=1.1))
    >>> payers = (Payer("a", 1.0, saving_of_money_effect={"tax": 0.8}),
    ...           Payer("b", 0.0, saving_of_money_effect={"tax": 0.3}))
    >>> try:
    ...     check_money_effect_savings(payers, [ev], None)
    ... except ValueError as err:
    ...     print(str(err).split("; allowed")[0])
    Deal.payers.saving_of_money_effect[tax]: got 1.1
    """
    known = [e.metric for e in evaluations]
    for i, p in enumerate(payers):
        for m in p.saving_of_money_effect:
            if m not in known:
                raise v.fail(f"{field}[{i}].saving_of_money_effect", m,
                             "metrics of the deal's evaluations: "
                             + ", ".join(repr(x) for x in known))
    for m in _metrics(payers):
        share = fractions(payers, m)
        present = np.ones((len(payers), 1), bool) if here is None else np.asarray(here, bool)
        totals = (share[:, None] * present).sum(axis=0)  # per period
        worst = int(np.argmax(totals))
        if totals[worst] > 1.0 + SHARE_TOLERANCE:
            who = ", ".join(f"{p.name} {s:g}" for p, s, c in
                            zip(payers, share, present[:, worst], strict=True) if c and s)
            raise v.fail(f"{field}.saving_of_money_effect[{m}]", round(float(totals[worst]), 12),
                         f"fractions of metric {m!r}'s extra money summing to at most 1 over "
                         f"the payers present in a period ({who}): the same euros cannot be "
                         "saved twice")


def money_effect_savings(payers: Sequence[Payer], evaluations: Sequence[Any], ds: xr.Dataset,
                         seed: int, started: NDArray[np.bool_] | None) -> FloatArray | None:
    """Each payer's saving from the money evaluations' effects, (D, Y, P), in currency
    (module docstring); None when no payer has ``saving_of_money_effect``.

    ``started``: (D, W) cohorts started before a stop (None: all). Absent years
    (``first_year`` / ``last_year``) are applied by the caller with the other savings
    (:func:`sibsim.money.payer_scope.apply_presence`).
    """
    from sibsim.money.evaluation import money_effect_gain

    metrics = _metrics(payers)
    if not metrics:
        return None
    by_metric = {e.metric: e for e in evaluations}
    strata = [str(k) for k in ds["stratum"].values]
    out = np.zeros((ds.sizes["draw"], len(payers), ds.sizes["period"]))
    for m in metrics:
        gain = money_effect_gain(ds, by_metric[m], seed)  # (D, W, K, P)
        if gain is None:  # no effect (or no money): no extra money
            continue
        if started is not None and not started.all():
            gain = gain * started[:, :, None, None]
        per_stratum = gain.sum(axis=1)  # (D, K, P)
        whole = per_stratum.sum(axis=1)  # (D, P)
        for y, p in enumerate(payers):
            share = p.saving_of_money_effect.get(m, 0.0)
            if share == 0.0:
                continue
            if p.savings_strata is None:
                out[:, y] += share * whole
            else:
                keep = [strata.index(k) for k in p.savings_strata]
                out[:, y] += share * per_stratum[:, keep].sum(axis=1)
    return out
