"""The estimand of an evaluation: intention to treat, or the effect on the treated (enrolled).

An :class:`~sibsim.money.evaluation.Evaluation` measures, by default, the *intention-to-treat*
(ITT) contrast: every person assigned to the treated cohort counts, whether or not they engaged
with the service (the effect's ``engagement`` share). Some contracts pay on the effect of
*enrolment* instead (Massachusetts Juvenile Justice PFS, Roca: "backstop estimates of the effect
of enrolment"): ``estimand = "treated"`` measures the treatment-on-the-treated (ToT) effect by
Bloom's no-show adjustment (H. S. Bloom, "Accounting for no-shows in experimental evaluation
designs", *Evaluation Review* 8(2), 1984, pp. 225-246): the ITT contrast divided by the share
of the assigned cohort who enrolled,

    ToT difference per enrolled participant = (ITT difference per assigned participant) / s,

with ``s`` the enrolled share *as measured in that draw* (the engine's engaged participants at
their entry period, in the evaluation's strata and outcome process, over the trigger's waves;
weighted by the periods each wave's result covers when those differ, as in a pooled
``per_period`` or ``to_date`` result). Bloom's estimator assumes that those who did not enrol
are unaffected by the offer, which holds by construction here (people who do not engage get no
effect), and that the enrolled share is not itself an outcome of chance within the comparison
group (it is known only in the treated cohort, as in the evaluation of a real contract).

How each quantity is counted under ``"treated"``:

* ``measured_effect``: the relative ToT effect, ``ITT relative effect / s``. With the
  comparison arm's rate ``c`` as the enrolled's counterfactual (engagement is drawn at random
  within the cohort, so the enrolled have the cohort's baseline), ``(c - t) / (s c)`` is the
  relative change among the enrolled. It is rounded to the contract's ``precision`` after the
  division, so step thresholds see the ToT effect.
* ``units`` (events avoided, person-periods gained) and ``avoided_cost``: unchanged, since the
  total is the same counted either way: ``(ToT difference) x enrolled = (ITT difference) x
  assigned``. A ``price_per_unit`` or ``savings_share`` rule pays the same under both
  estimands; what changes is any rule that reads the measured effect (steps, linear, a
  ceiling on the effect).
* the significance gate: the ITT test's (Bloom: dividing by the enrolled share scales the
  estimate and its standard error alike, so the ToT's z-statistic and p-value are the ITT's).
* ``target_per_person_period``: the improvement per *enrolled* person-period (units / (s x
  person-periods of the assigned cohort)).
* ``participants`` (per-person caps): the assigned participants, as under ITT (one number per
  trigger; a cap per enrolled participant would vary by draw).

A trigger whose draw has no enrolled participant (``s = 0``: nobody took up the service, so
there is no effect on the treated to measure) measures an effect of 0, units of 0 and a closed
gate: nothing is paid on it in that draw. A deal whose scenario has no effect (no engagement to
say who enrolled) is refused.

Examples
--------
Bloom's adjustment by hand: an ITT reduction of 6% with 60% enrolled is a 10% reduction among
the enrolled.

>>> import numpy as np
>>> rel, units, gate = on_the_treated(np.array([0.06, 0.06]), np.array([30.0, 30.0]),
...                                   np.array([True, True]), np.array([0.6, 0.0]))
>>> rel.round(12).tolist(), units.tolist(), gate.tolist()
([0.1, 0.0], [30.0, 0.0], [True, False])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from sibsim.spec import _validate as v

__all__ = ["ESTIMANDS", "check_estimand", "enrolled", "enrolled_share", "on_the_treated",
           "trigger_shares"]

#: What an evaluation estimates: the intention-to-treat contrast (every assigned person), or
#: the effect on the treated (enrolled) by Bloom's no-show adjustment.
ESTIMANDS = ("intention_to_treat", "treated")


def check_estimand(ev: Any, scenario: Any) -> None:
    """Refuse ``estimand = "treated"`` for a scenario with no effect: without one the engine
    splits nobody into engaged and not engaged, so there is no enrolled share to divide by.

    ``ev``: an :class:`~sibsim.money.evaluation.Evaluation`; ``scenario``: its
    :class:`~sibsim.Scenario`.

    Examples
    --------
    >>> import sibsim, sibsim.money
    >>> s = sibsim.Scenario(cohort=sibsim.Cohort(size=10), outcome=sibsim.BinaryOutcome(0.3),
    ...                     horizon=2, comparison=sibsim.ComparisonGroup(ratio=1))
    >>> check_estimand(sibsim.money.Evaluation("m", estimand="treated"), s)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Evaluation[m].estimand: got 'treated'; allowed: 'intention_to_treat' when ...
    """
    if ev.estimand == "treated" and scenario.service_effect is None:
        raise v.fail(f"Evaluation[{ev.metric}].estimand", ev.estimand,
                     "'intention_to_treat' when the scenario has no effect (the effect on the "
                     "treated divides by the share who engage, the effect's engagement; give "
                     "the outcome an [effect])")


def enrolled(ds: xr.Dataset, ev: Any) -> np.ndarray:
    """Enrolled (engaged) treated participants of each entry wave, in the evaluation's strata,
    shape ``(draw, wave)`` (people).

    Counted at each wave's entry period, before any drop-out (drop-out starts in a
    participant's second period), from the measured process's engaged people by state
    (``engaged_occupancy`` summed over its states) when the scenario has several processes and
    that process has states, else from ``engaged`` (the person's engagement). A wave that
    enters after the horizon has none.
    """
    if "process" in ds.dims and "engaged_occupancy" in ds:
        eocc = ds["engaged_occupancy"].sel(arm="treatment", process=ev.process)
        if not bool(eocc.isnull().all()):
            eng = eocc.sum("state", skipna=True)
        else:  # a count process: no states
            eng = ds["engaged"].sel(arm="treatment")
    else:
        eng = ds["engaged"].sel(arm="treatment")
    if ev.stratum is not None:
        eng = eng.sel(stratum=list(ev.stratum))
    eng = eng.sum("stratum").transpose("draw", "wave", "period").values  # (D, W, P)
    entry = np.asarray(ds["entry_period"].values, dtype=np.int64)
    out = np.zeros(eng.shape[:2])
    for w, e in enumerate(entry):
        if 0 <= e < eng.shape[-1]:
            out[:, w] = eng[:, w, e]
    return out


def enrolled_share(enrolled_wd: np.ndarray, n_t: np.ndarray, waves: Sequence[int],
                   spans: np.ndarray | None = None) -> np.ndarray:
    """The enrolled share of a trigger's assigned participants, per draw, shape ``(draw,)``.

    ``enrolled_wd`` (D, W): :func:`enrolled`; ``n_t`` (W,): assigned participants per wave;
    ``waves``: the trigger's waves; ``spans`` (W,): periods (trigger spans) of each wave that
    the trigger covers (None: 1 each), the weights of a pooled result's waves.

    >>> enrolled_share(np.array([[6.0, 9.0]]), np.array([10.0, 10.0]), [0, 1]).tolist()
    [0.75]
    >>> enrolled_share(np.array([[6.0, 9.0]]), np.array([10.0, 10.0]), [0, 1],
    ...                np.array([3, 1])).tolist()
    [0.675]
    """
    w = list(waves)
    weight = np.ones(len(n_t)) if spans is None else np.asarray(spans, dtype=float)
    assigned = float((np.asarray(n_t, dtype=float) * weight)[w].sum())
    return (enrolled_wd[:, w] * weight[w]).sum(1) / assigned


def on_the_treated(rel: np.ndarray, units: np.ndarray, gate: np.ndarray,
                   share: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bloom's no-show adjustment of one trigger's ITT results, per draw.

    ``rel``: the ITT relative effect (unrounded); ``units``: the ITT units (unchanged: the same
    total either way); ``gate``: the ITT gate (the ToT's p-value is the ITT's); ``share``: the
    enrolled share (:func:`enrolled_share`). Returns ``(rel / share, units, gate)``, with an
    effect of 0, units of 0 and a closed gate in a draw with no one enrolled. With ``share``
    exactly 1 the results are the ITT's to the last bit.
    """
    some = share > 0
    rel = np.where(some, rel / np.where(some, share, 1.0), 0.0)
    return rel, np.where(some, units, 0.0), gate & some


def _assigned(ds: xr.Dataset, ev: Any) -> np.ndarray:
    """Assigned treated participants of each entry wave in the evaluation's strata, (W,)."""
    size = ds["size"].sel(arm="treatment")
    if ev.stratum is not None:
        size = size.sel(stratum=list(ev.stratum))
    return size.sum("stratum").transpose("wave").values


def trigger_shares(ds: xr.Dataset, fixed: Any) -> np.ndarray:
    """The enrolled share of every trigger, shape ``(draw, trigger)`` in
    :func:`~sibsim.money.evaluation.evaluate`'s order: 1 for an intention-to-treat evaluation,
    :func:`enrolled_share` for ``estimand="treated"``. ``fixed``:
    :func:`~sibsim.money.evaluation.evaluation_fixed` of the same dataset (a replay turns a
    realised ToT effect into units with it: units = effect x share x counterfactual units)."""
    D = ds.sizes["draw"]
    cols = []
    for part in fixed.parts:
        took_up = n_t = None
        if part.ev.estimand == "treated":
            took_up, n_t = enrolled(ds, part.ev), _assigned(ds, part.ev)
        for trig in part.triggers:
            cols.append(np.ones(D) if took_up is None
                        else enrolled_share(took_up, n_t, trig.waves, trig.spans))
    return np.stack(cols, 1) if cols else np.ones((D, 0))
