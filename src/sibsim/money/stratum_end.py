"""One sub-project's end while the others continue, lowered to the served people and results.

:class:`~sibsim.money.termination.EndStratum` (``[[termination]] kind = "end_stratum"``) says
that, with some probability, one stratum of the cohort (a sub-project: Vantaa in Lapset-SIB I)
ends from a period ``c`` on while the deal and its other strata run on. In each draw where it
happens:

* **service**: the stratum's people are not served from ``c`` on: they leave the people
  served (``participants_served``) and so the service costs per participant and per state
  (:func:`unserved_mask`, applied by :func:`sibsim.money.sib._served` before the strata are
  added together, in the general path and the break-even fast path alike); a cost not
  incurred is not drawn down. The deal's ``fixed_per_period`` costs are shared by every
  stratum and stay;
* **outcome payments**: the results of the evaluations that measure the stratum alone
  (``Evaluation.stratum`` = that stratum) known in ``c`` or later pay nothing (gate 0, as the
  results of a stopped deal); those known earlier are paid as the contract says, even after
  ``c``. Payers pay by their shares of each metric, so the payers of the stratum's metric stop
  paying for it (:func:`end_results`);
* **savings**: the stratum's simulated outcomes stand (the outcome model does not know the
  service ended); its payers keep the savings those outcomes give;
* nothing else changes: the deal's stop, settlement and maturity are as without the rule.

Refused (:func:`check_stratum_end`): an unknown stratum; a stratum not alone in an evaluation
that measures it (a result over several strata cannot drop one stratum's share); an end at or
before the stratum's last entry wave with people (people never served would keep the
service's effect in their simulated outcomes), at or after the horizon, or after the
deal's maturity; ending every stratum (that is a stop of the deal); two rules for one stratum;
rate cards (their achievements are not counted by stratum); a claim-tied share (paid in the
waterfall on the planned results); a rule that stops the deal on the stratum's results; a
cancellation of later cohorts beside it.

A deal whose rules all have ``probability = 0`` is the deal without them, bit for bit.

Examples
--------
>>> import sibsim
>>> deal = sibsim.load_scenario("lapset-sib-1")
>>> [(r.kind, r.stratum, r.from_period) for r in deal.termination]
[('end_stratum', 'vantaa', 4)]
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from sibsim.money.results import EvaluationTable
from sibsim.spec import _validate as v

if TYPE_CHECKING:
    from sibsim.money.deal import Deal
    from sibsim.money.termination import EndStratum

__all__ = ["StratumEnds", "check_stratum_end", "end_results", "stratum_end_text",
           "stratum_ends", "unserved_mask"]


class StratumEnds(NamedTuple):
    """The deal's active stratum ends lowered to arrays (one row per rule).

    ``rules``: the rules (a cache key with the run's seed and draws); ``strata``: each rule's
    stratum index in the outcome dataset's ``stratum`` dim; ``end``: each rule's first period
    without the stratum's service, per draw (the number of periods where it did not end), int
    (R, D); ``metrics``: each rule's metrics (the evaluations measuring that stratum alone).
    """

    rules: tuple[Any, ...]
    strata: tuple[int, ...]
    end: NDArray[np.int64]
    metrics: tuple[frozenset[str], ...]


def _active(deal: Deal) -> list[EndStratum]:
    return [r for r in deal.termination if r.ends_stratum and not r.inert]  # type: ignore[attr-defined]


def _own_metrics(deal: Deal, stratum: str) -> frozenset[str]:
    return frozenset(e.metric for e in deal.evaluations if e.stratum == (stratum,))


def check_stratum_end(rule: EndStratum, deal: Deal, index: int) -> None:
    """Refuse a deal in which the stratum's end makes no sense or cannot be honoured (see the
    module notes for the list).

    Examples
    --------
    >>> import sibsim
    >>> from sibsim.money.termination import EndStratum
    >>> deal = sibsim.load_scenario("lapset-sib-1")
    >>> deal.replace(termination=(EndStratum("espoo", from_period=4),))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Deal.termination[0].stratum: got 'espoo'; allowed: a stratum of the cohort: ...
    """
    field = f"Deal.termination[{index}]"
    cohort = deal.scenario.cohort
    names = [s.name for s in cohort.strata]
    if rule.stratum not in names:
        raise v.fail(f"{field}.stratum", rule.stratum,
                     "a stratum of the cohort: " + (", ".join(repr(n) for n in names)
                                                    or "none (the cohort has no strata)"))
    s = names.index(rule.stratum)
    people = [w for w, row in enumerate(cohort.stratum_people()) if row[s] > 0]
    c, horizon = rule.from_period, deal.scenario.horizon
    if not people[-1] < c < horizon:
        raise v.fail(f"{field}.from_period", c,
                     f"a period after the stratum's last entry wave with people (period "
                     f"{people[-1]}) and before the horizon ({horizon}): everyone in it has "
                     "started the service (people never served would keep the service's "
                     "effect in their simulated outcomes)")
    rule.refuse_unsplit_terms(deal, field, "their achievements are not counted by stratum")
    mine = [r for r in deal.termination if r.ends_stratum]
    if [r.stratum for r in mine].count(rule.stratum) > 1:  # type: ignore[attr-defined]
        raise v.fail(f"{field}.stratum", rule.stratum,
                     "a stratum no other end_stratum rule ends")
    if len({r.stratum for r in mine}) >= len(names):  # type: ignore[attr-defined]
        raise v.fail(f"{field}.stratum", rule.stratum,
                     "a stratum while others continue (to end every stratum, stop the deal: "
                     "an effect_below or stop_loss rule, or a maturity)")
    for other in deal.termination:
        if other.outside_contract:
            raise v.fail(f"{field}.kind", rule.kind,
                         f"a rule beside which no {other.kind} rule stands (a cancellation of "
                         "later cohorts and a stratum's end together are not modelled)")
        if set(other.metrics()) & _own_metrics(deal, rule.stratum):
            raise v.fail(f"{field}.stratum", rule.stratum,
                         f"a stratum whose results no {other.kind} rule reads (a stop of the "
                         "deal on the results of a sub-project that ended is not modelled)")
    for e in deal.evaluations:
        if e.stratum is None or (rule.stratum in e.stratum and len(e.stratum) > 1):
            raise v.fail(f"Evaluation[{e.metric}].stratum", e.stratum,
                         f"{rule.stratum!r} alone, or strata without it, with an end_stratum "
                         f"rule for {rule.stratum!r} (a result over several strata cannot "
                         "drop one stratum's share)")


def stratum_ends(deal: Deal, ds: xr.Dataset, seed: int) -> StratumEnds | None:
    """The deal's active stratum ends for the draws of ``ds`` (None without an active rule:
    every rule absent or with ``probability = 0``)."""
    rules = _active(deal)
    if not rules:
        return None
    names = [str(s) for s in ds["stratum"].values]
    P = ds.sizes["period"]
    draws = ds["draw"].values
    end = np.stack([r.end_period(seed, draws, P) for r in rules])
    return StratumEnds(tuple(rules), tuple(names.index(r.stratum) for r in rules), end,
                       tuple(_own_metrics(deal, r.stratum) for r in rules))


def unserved_mask(ends: StratumEnds, n_strata: int, n_periods: int) -> NDArray[np.bool_]:
    """Which people are not served, by draw, stratum and period: bool (D, S, P); true for a
    stratum whose end has happened, from its end period on.

    >>> ends = StratumEnds((None,), (1,), np.array([[2, 4]]), (frozenset(),))
    >>> unserved_mask(ends, 2, 4)[:, 1].astype(int).tolist()
    [[0, 0, 1, 1], [0, 0, 0, 0]]
    """
    t = np.arange(n_periods)
    out = np.zeros((ends.end.shape[1], n_strata, n_periods), bool)
    for s, end in zip(ends.strata, ends.end, strict=True):
        out[:, s, :] |= t[None, :] >= end[:, None]
    return out


def end_results(ends: StratumEnds, table: EvaluationTable) -> EvaluationTable:
    """``table`` with the ended strata's results known from their end on paying nothing
    (gate 0; measured effect and units as measured). Unchanged when no result is affected."""
    period = np.asarray(table.period)
    gone = np.zeros(table.gate.shape, bool)
    for metrics, end in zip(ends.metrics, ends.end, strict=True):
        mine = np.array([m in metrics for m in table.metric], bool)
        gone |= mine[None, :] & (period[None, :] >= end[:, None])
    if not gone.any():
        return table
    return dataclasses.replace(table, gate=table.gate & ~gone)


def stratum_end_text(money: xr.Dataset, deal: Deal) -> str | None:
    """One plain-language line per stratum's end in a run (None without an active rule): in
    how many draws it happened, and what that means.

    >>> import sibsim
    >>> deal = sibsim.load_scenario("lapset-sib-1")
    >>> res = sibsim.analyse(deal, draws=20, seed=1, progress=False, with_breakeven=False)
    >>> print(stratum_end_text(res.money, deal))  # doctest: +ELLIPSIS
    Sub-project 'vantaa' ended from period 4 on in 100.0% of draws (probability 1); ...
    """
    rules = _active(deal)
    if not rules:
        return None
    seed, draws, P = int(money.attrs["seed"]), money["draw"].values, money.sizes["period"]
    lines = []
    for r in rules:
        share = float((r.end_period(seed, draws, P) < P).mean())
        lines.append(
            f"Sub-project {r.stratum!r} ended from period {r.from_period} on in "
            f"{100 * share:.1f}% of draws (probability {r.describe_probability()}"
            f"{'' if not r.policy_risk else ', an assumption'}); the other sub-projects "
            "(strata) continue: its people are not served and its results known from then "
            "on pay nothing.")
    return "\n".join(lines)
