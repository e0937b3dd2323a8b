"""A cancellation decided outside the contract, lowered to the evaluation table and the lifecycle.

:class:`~sibsim.money.termination.CancelLaterCohorts` (``[[termination]] kind =
"cancel_later_cohorts"``) says that, with some probability, no entry wave starts from a period
``c`` on (Peterborough's third cohort, cancelled by government policy). In each draw where it
happens:

* the waves entering before ``c`` *ran*; the others were never started;
* the deal stops serving from ``c`` (service, service costs, fees and drawdowns end, as for a
  stop of :mod:`sibsim.money.termination`), but the contract does not end: the results of the
  waves that ran are paid when they are known, even after ``c``;
* each pooled evaluation measures the waves that ran only. This is one extra trigger per pooled
  evaluation, placed after the metric's planned pooled trigger: its waves are those that ran,
  its result is known when the last of their windows ends (plus ``report_lag``), and it is
  priced by the pooled rule (a top-up of what the cohorts' own results earned, like the planned
  pooled trigger). It is measured exactly as a deal with those waves only would measure it
  (the outcomes and the evaluation's parameters of a draw do not depend on later waves);
* the planned pooled result (over every wave) and the cancelled waves' own results are not
  measured: measured effect, units and avoided cost 0, gate 0 (they pay nothing);
* in the draws where the cancellation does not happen the extra trigger is not measured (0,
  gate 0) and everything else is as without the rule.

A deal whose rule has ``probability = 0`` is the deal without it, bit for bit (no extra
trigger). Combinations the lifecycle cannot honour are refused by :func:`check_cancellation`.

Examples
--------
>>> import sibsim
>>> deal = sibsim.load_scenario("peterborough")
>>> [r.kind for r in deal.termination]
['cancel_later_cohorts']
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from sibsim.money._arrays import readonly
from sibsim.money.evaluation import (
    Evaluation,
    EvaluationFixed,
    evaluate,
    evaluation_fixed,
)
from sibsim.money.kernels.chain import pick_measured
from sibsim.money.results import EvaluationTable
from sibsim.spec import _validate as v

if TYPE_CHECKING:
    from sibsim.money.contract import Contract
    from sibsim.money.deal import Deal
    from sibsim.money.termination import CancelLaterCohorts

__all__ = ["Cancellation", "CohortsThatRan", "apply_cancellation", "cancellation_columns",
           "check_cancellation", "cohorts_that_ran"]


class Cancellation(NamedTuple):
    """A cancellation lowered to arrays, for :func:`sibsim.money.termination.lifecycle`.

    ``stop``: first period without service, per draw (the number of periods where the
    cancellation did not happen), int (D,); ``period``: the cancellation's ``from_period``;
    ``due``: the triggers that can pay in a draw where it happened, bool (K,).
    """

    stop: NDArray[np.int64]
    period: int
    due: NDArray[np.bool_]

    def settle_at(self, settle_at: NDArray[np.int64], contract: Contract,
                  table: EvaluationTable, n_periods: int, maturity: int) -> NDArray[np.int64]:
        """``settle_at`` (settlement period for a stop from each period) with the
        cancellation's: the last payment due on the cohorts that ran, at the latest the
        maturity (no other stop falls in ``period``: :func:`check_cancellation`)."""
        out = np.array(settle_at, copy=True)
        last = self.period
        for k in np.flatnonzero(self.due):
            q = contract.payment_period(table.period[k], n_periods)[0]
            if q is not None:
                last = max(last, q)
        out[self.period] = min(last, maturity)
        return out


def check_cancellation(rule: CancelLaterCohorts, deal: Deal, index: int) -> None:
    """Refuse a deal in which the cancellation makes no sense or cannot be honoured.

    Refused: cancelling no wave or every wave (``from_period`` must lie after the first entry
    wave with people and at or before the last), a cancellation after the deal's maturity,
    another termination rule beside it (a contract stop and a cancellation in the same period
    would need two settlements), rate cards (their achievements are not counted by wave),
    a ``to_date`` evaluation (its netting covers every wave) and a claim-tied share (paid in
    the waterfall on the planned triggers).

    Examples
    --------
    >>> import sibsim
    >>> from sibsim.money.termination import CancelLaterCohorts
    >>> deal = sibsim.load_scenario("peterborough")
    >>> deal.replace(termination=(CancelLaterCohorts(from_period=3),))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Deal.termination[0].from_period: got 3; allowed: a period after the first ...
    """
    field = f"Deal.termination[{index}]"
    entry = deal.scenario.cohort.entry or ()
    people = [w for w, n in enumerate(entry) if n > 0]
    c = rule.from_period
    if not people or not people[0] < c <= people[-1]:
        raise v.fail(f"{field}.from_period", c,
                     f"a period after the first entry wave with people (period {people[0]}) "
                     f"and at or before the last (period {people[-1]}): some cohorts run, "
                     "later ones are cancelled")
    if len(deal.termination) > 1:
        raise v.fail(f"{field}.kind", rule.kind,
                     "the deal's only [[termination]] rule (a cancellation beside other "
                     "termination rules is not modelled)")
    rule.refuse_unsplit_terms(deal, field, "their achievements are not counted by entry "
                               "wave, so the cohorts that ran cannot be told apart")
    for e in deal.evaluations:
        if e.to_date:
            raise v.fail(f"Evaluation[{e.metric}].to_date", e.to_date,
                         "false with a cancel_later_cohorts rule (a result to date nets every "
                         "wave together)")


def _trimmed(ev: Evaluation, n: int) -> Evaluation:
    """The evaluation of a deal with its first ``n`` entry waves only: per-wave design values
    (tuples) cut to those waves."""
    design = ev.design

    def cut(d: object) -> object:
        changes = {f.name: getattr(d, f.name)[:n] for f in d.toml_fields()  # type: ignore[attr-defined]
                   if isinstance(getattr(d, f.name), tuple)
                   and f.name not in ("designs", "weights")}
        if hasattr(d, "designs"):
            changes["designs"] = tuple(cut(x) for x in d.designs)  # type: ignore[attr-defined]
        return dataclasses.replace(d, **changes) if changes else d  # type: ignore[type-var]

    new = cut(design)
    return ev if new is design else dataclasses.replace(ev, design=new)


def apply_cancellation(deal: Deal, ds: xr.Dataset, table: EvaluationTable, seed: int,
                       fixed: Any = None,
                       window_sums: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
                       ) -> tuple[EvaluationTable, Cancellation | None]:
    """The evaluation table of ``ds`` with the deal's cancellation applied, and the
    cancellation's arrays (None, and ``table`` unchanged, without an active rule).

    ``table``: :func:`~sibsim.money.evaluation.evaluate` of the deal's evaluations on ``ds``;
    ``fixed``: the :class:`~sibsim.money.sib.EffectFree` parts of the run, if any (the
    evaluation of the cohorts that ran keeps its effect-free parts there, computed once);
    ``window_sums``: the treated units' window sums that ``table``'s evaluation recorded
    (:func:`~sibsim.money.evaluation.evaluate`), whose first waves' columns the evaluation of
    the cohorts that ran reads instead of summing the units again.
    """
    cut = cohorts_that_ran(deal, ds, seed, fixed)
    if cut is None:
        return table, None
    stop, ran = cut.stop, cut.ran
    happened = stop < ds.sizes["period"]  # (D,)
    c = cut.rule.from_period
    small = evaluate(cut.ds, cut.evaluations, seed, cut.parts, given_sums=window_sums)
    waves = table.waves or tuple(() for _ in range(table.n_triggers))
    cols = [((table, small)[i], k, role) for i, k, role in cancellation_columns(
        deal.evaluations, table.metric, waves, small.metric, ran)]
    n = table.n_draws
    effect, units, avoided = (np.empty((n, len(cols))) for _ in range(3))
    gate = np.empty((n, len(cols)), bool)
    due = np.array([role != "planned" for _, _, role in cols], dtype=bool)
    # each column measured where the cancellation did not happen ("planned"), where it did
    # ("after") or always ("ran"): its value there, else 0 (gate False)
    pick_measured(_arrays(table), _arrays(small),
                  np.array([0 if t is table else 1 for t, _, _ in cols], dtype=np.int64),
                  np.array([k for _, k, _ in cols], dtype=np.int64),
                  np.array([_WHEN[role] for _, _, role in cols], dtype=np.int64),
                  np.ascontiguousarray(happened), (effect, units, avoided, gate))
    small_waves = small.waves or ()
    new = EvaluationTable._handed(  # the arrays were made here: not copied
        metric=tuple(t.metric[k] for t, k, _ in cols),
        period=tuple(t.period[k] for t, k, _ in cols),
        cumulative=tuple(t.cumulative[k] for t, k, _ in cols),
        participants=tuple(t.participants[k] for t, k, _ in cols),
        measured_effect=effect, units=units, avoided_cost=avoided, gate=gate,
        waves=tuple((waves[k] if t is table else tuple(ran[w] for w in small_waves[k]))
                    for t, k, _ in cols))
    return new, Cancellation(stop=stop, period=c, due=due)


class CohortsThatRan(NamedTuple):
    """What the cancellation of later cohorts reads beside the deal's evaluation table
    (:func:`cohorts_that_ran`)."""

    rule: Any  #: the active :class:`~sibsim.money.termination.CancelLaterCohorts` rule
    stop: NDArray[np.int64]  #: (D,) the period it cancels the later cohorts in (P: never)
    ran: list[int]  #: the waves that entered before it (the first ones)
    ds: xr.Dataset  #: the outcome dataset of those waves
    evaluations: tuple[Evaluation, ...]  #: the deal's evaluations cut to those waves
    #: their effect-free parts, pooled triggers only (None without ``fixed``)
    parts: Any


def cohorts_that_ran(deal: Deal, ds: xr.Dataset, seed: int, fixed: Any = None
                     ) -> CohortsThatRan | None:
    """The deal's cancellation of later cohorts on the draws of ``ds``, or None without an
    active rule. With ``fixed`` (:class:`~sibsim.money.sib.EffectFree`), the draws'
    cancellation and the effect-free parts of the evaluation of the cohorts that ran are made
    once and kept there (the same at every call)."""
    rules = [r for r in deal.termination if r.outside_contract and not r.inert]
    if not rules:
        return None
    (rule,) = rules  # one rule: check_cancellation
    P, draws = ds.sizes["period"], ds["draw"].values
    stop = (rule.cancel_period(seed, draws, P) if fixed is None else fixed.evaluation_part(
        ("cancel_period", rule, P), lambda: readonly(rule.cancel_period(seed, draws, P))))
    ran = [int(w) for w, e in enumerate(ds["entry_period"].values) if e < rule.from_period]
    # wave w enters in period w: the waves that ran are the first ones (a slice is a view)
    assert ran == list(range(len(ran)))
    ds_ran = ds.isel(wave=slice(0, len(ran)))
    evs = tuple(_trimmed(e, len(ran)) for e in deal.evaluations)
    # the comparison arm and counterfactual rates: the same every time
    parts = None if fixed is None else fixed.evaluation_part(
        ("cancel_later_cohorts", evs, len(ran)),
        lambda: _pooled_only(evaluation_fixed(ds_ran, evs, seed)))
    return CohortsThatRan(rule, stop, ran, ds_ran, evs, parts)


def cancellation_columns(evaluations: tuple[Evaluation, ...], metric: tuple[str, ...],
                         waves: tuple[tuple[int, ...], ...], small_metric: tuple[str, ...],
                         ran: list[int]) -> list[tuple[int, int, str]]:
    """The columns of the cancellation's table (:func:`apply_cancellation`), in order: the
    table (0: the deal's evaluation table, with trigger metrics ``metric`` and ``waves``; 1:
    that of the cohorts that ran, metrics ``small_metric``), the column in it, and its role
    (:data:`_WHEN`): each evaluation's triggers, its planned pooled one and those of waves that
    did not all run measured where the cancellation did not happen ("planned"), the others
    always ("ran"), then its pooled trigger of the cohorts that ran where it did ("after")."""
    cols = []
    for ev in evaluations:
        mine = [k for k in range(len(metric)) if metric[k] == ev.metric]
        small_mine = [k for k in range(len(small_metric)) if small_metric[k] == ev.metric]
        for j, k in enumerate(mine):
            pooled = ev.pooled and j == len(mine) - 1
            role = "planned" if pooled or not set(waves[k]) <= set(ran) else "ran"
            cols.append((0, k, role))
        if ev.pooled:
            cols.append((1, small_mine[-1], "after"))
    return cols


def _pooled_only(fixed: EvaluationFixed) -> EvaluationFixed:
    """``fixed`` with each evaluation's pooled trigger alone (the last of a pooled
    evaluation's triggers; none of an evaluation without one): the only column of the
    evaluation of the cohorts that ran that :func:`apply_cancellation` reads. Each trigger is
    measured on its own, so the pooled one's numbers are the same as with the others."""
    parts = [part._replace(triggers=part.triggers[-1:] if part.ev.pooled else [])
             for part in fixed.parts]
    return fixed._replace(parts=parts)


#: When a column of the cancellation's table is measured (:func:`pick_measured`): where the
#: cancellation did not happen, where it did, always.
_WHEN = {"planned": 0, "after": 1, "ran": 2}


def _arrays(table: EvaluationTable) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The measured effect, units, avoided cost and gate arrays (D, K) of ``table``."""
    assert table.avoided_cost is not None and table.gate is not None  # filled by the table
    return table.measured_effect, table.units, table.avoided_cost, table.gate


def cancellation_text(money: xr.Dataset, deal: Deal) -> str | None:
    """One plain-language line on the cancellation of later cohorts in a run (None without an
    active rule): in how many draws it happened, and what that means.

    >>> import sibsim
    >>> deal = sibsim.load_scenario("peterborough")
    >>> res = sibsim.analyse(deal, draws=50, seed=1, progress=False, with_breakeven=False)
    >>> print(cancellation_text(res.money, deal))  # doctest: +ELLIPSIS
    Later cohorts cancelled by a decision outside the contract (from period 2 on) in ...
    """
    rules = [r for r in deal.termination if r.outside_contract and not r.inert]
    if not rules:
        return None
    c = rules[0].from_period
    share = float((np.asarray(money["stop_period"].values) == c).mean())
    return (f"Later cohorts cancelled by a decision outside the contract (from period {c} on) "
            f"in {100 * share:.1f}% of draws (probability {rules[0].describe_probability()}, "
            "an assumption); the cohorts that started are still paid on their results.")
