"""Evaluation: from simulated outcomes to the *measured* effect the contract pays on.

The evaluator compares the treated cohort's outcome over a follow-up window with a
counterfactual. How the counterfactual is obtained is the evaluation's *design*, one of the
variants registered in :data:`EVALUATION_DESIGNS` (TOML ``design = {kind = ...}``):

* :class:`RCT` (``"rct"``): the simulated comparison arm is a randomised control group;
* :class:`Matched` (``"matched"``): the comparison arm is a matched comparison group, possibly
  biased: its rate is multiplied by ``max(0, 1 + bias)`` with ``bias`` an uncertain parameter
  (e.g. ``Normal(0, 0.03)``);
* :class:`Historical` (``"historical"``): no concurrent group; the counterfactual is a fixed
  historical rate per participant over the window (``historical_rate``, itself uncertain);
* :class:`Predicted` (``"predicted"``): a model's prediction, a historical rate whose error
  drifts year by year with the business cycle the model misses (``drift``: the sd a year of
  the log-ratio of prediction to truth, a random walk or an AR(1) over calendar years);
* :class:`BeforeAfter` (``"before_after"``): the same people before the service; the scenario's
  comparison arm (``ComparisonGroup(ratio=1)``) plays their "before" period, and ``bias`` can
  represent a secular trend or regression to the mean;
* :class:`Blend` (``"blend"``): a weighted blend of several designs' estimates (Massachusetts'
  backstop: 0.8 x RCT + 0.2 x difference-in-differences).

``bias`` and ``historical_rate`` may also be given per entry wave (a sequence, one value or
distribution per wave: a different counterfactual for each cohort).

Each entry wave can be measured on its own (``per_wave``), period by period (``per_period``:
one result per wave and period of its window) and all waves pooled (``pooled``); each result
is one *trigger* of the contract (see :class:`sibsim.money.results.EvaluationTable`). An
optional significance gate (a one-sided z-test at level ``alpha`` on the difference of rates,
with Poisson variances) must pass before a trigger pays. ``stratum`` restricts the measurement
to some strata of the cohort (and of the comparison group).

Conventions
-----------
* The window of wave ``w`` covers periods ``entry(w) + window_start, ...,
  entry(w) + window_start + window - 1`` (``clock="entry"``), or the calendar periods
  ``calendar_window = (first, last)`` from the wave's entry on (``clock="calendar"``); its
  result is known at the end of the window plus ``report_lag`` periods (the pooled result after
  the last wave's; a per-period result at the end of its period plus ``report_lag``).
* ``rate`` = outcome units per participant over the window: events (``outcome="events"``) or
  person-periods in ``state`` (``outcome="occupancy"``).
* ``direction="reduce"``: measured effect = ``1 - treated_rate / counterfactual_rate``, units =
  ``(counterfactual_rate - treated_rate) * participants`` (events avoided);
  ``direction="increase"``: measured effect = ``treated_rate / counterfactual_rate - 1``, units =
  ``(treated_rate - counterfactual_rate) * participants``.
* The measured effect is rounded half away from zero to the contract's ``precision`` (default
  0.001, 0.1 percentage point) before any threshold sees it; units are not rounded.

Examples
--------
>>> from sibsim.spec import Normal
>>> ev = Evaluation("reconviction", design=Matched(bias=Normal(0.0, 0.02)), report_lag=1)
>>> ev.design.kind, sorted(ev.parameters())
('matched', ['evaluation.reconviction.bias'])
>>> Evaluation("reconviction", design="matched", bias=0.05).design   # the older flat spelling
Matched(bias=Fixed(value=0.05))
>>> sorted(Evaluation("m", design=Historical(historical_rate=(0.5, 0.6))).parameters())
['evaluation.m.historical_rate[0]', 'evaluation.m.historical_rate[1]']
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from sibsim._lazy import stats
from sibsim.dataset.schema import in_schema_order
from sibsim.engine.parameters import sample_parameter
from sibsim.money._arrays import in_states
from sibsim.money.estimand import ESTIMANDS, enrolled, enrolled_share, on_the_treated
from sibsim.money.kernels.chain import (
    PAIRWISE_BLOCK,
    TriggerTerms,
    masked_period_sums,
    measure_trigger,
    strata_window_sums,
    sum_strata,
)
from sibsim.money.money_metric import MoneyValue, read_money
from sibsim.money.results import EvaluationTable
from sibsim.spec import _validate as v
from sibsim.spec.distributions import Distribution, Normal, as_distribution, require_support
from sibsim.spec.toml import KeyProblem, Section, parse_distribution
from sibsim.spec.variant import Registry, Spec, param

__all__ = [
    "EVALUATION_DESIGNS",
    "RCT",
    "BeforeAfter",
    "Blend",
    "ComparisonArm",
    "Evaluation",
    "EvaluationDesign",
    "EvaluationFixed",
    "Historical",
    "Matched",
    "Measured",
    "Predicted",
    "check_evaluations",
    "contract_round",
    "evaluate",
    "evaluation_fixed",
    "measured_periods",
    "money_effect_gain",
    "person_periods",
    "targets_met",
    "trigger_terms",
    "unit_values",
]

#: The evaluation designs, by TOML ``kind``: ``"rct"``, ``"matched"``, ``"historical"``,
#: ``"predicted"``, ``"before_after"``, ``"blend"``.
EVALUATION_DESIGNS = Registry("evaluation design")


class _Uncertain(v.Constraint):
    """A number (kept as a :class:`Fixed` value) or a distribution whose support lies in
    ``[low, high]``; with ``per_wave``, also a sequence of them, one per entry wave."""

    def __init__(self, low: float, high: float, what: str, per_wave: bool = False) -> None:
        self.low, self.high, self.what, self.per_wave = low, high, what, per_wave
        self.description = f"{what}: a number or a distribution with values in [{low:g}, {high:g}]"
        if per_wave:
            self.description += ", or a sequence of them (one per entry wave)"

    def one(self, field: str, value: object) -> Distribution:
        return require_support(field, as_distribution(field, value), self.low, self.high,
                               self.what)

    def __call__(self, field: str, value: object) -> Distribution | tuple[Distribution, ...]:
        if self.per_wave and isinstance(value, (Sequence, np.ndarray)) \
                and not isinstance(value, (str, bytes)):
            out = tuple(self.one(f"{field}[{w}]", x) for w, x in enumerate(value))
            if not out:
                raise v.fail(field, value, "at least one value (one per entry wave)")
            return out
        return self.one(field, value)


def _read_per_wave(sec: Section, key: str) -> Any:
    """TOML reader of an uncertain value that may be given per entry wave: a number, a
    ``{dist = ...}`` table, or an array of them."""
    sec.used.add(key)
    raw = sec.data[key]
    if isinstance(raw, list):
        return tuple(parse_distribution(f"{sec.path(key)}[{w}]", x) for w, x in enumerate(raw))
    return parse_distribution(sec.path(key), raw)


def _named(metric: str, field: str, value: Any) -> dict[str, Distribution]:
    """Parameter names of a design field: ``evaluation.<metric>.<field>``, with ``[w]`` per
    entry wave when the field is given per wave."""
    name = f"evaluation.{metric}.{field}"
    if isinstance(value, tuple):
        return {f"{name}[{w}]": d for w, d in enumerate(value)}
    return {name: value}


def _draws(params: Mapping[str, np.ndarray], metric: str, field: str, value: Any) -> np.ndarray:
    """The sampled values of a design field: shape ``(draws,)``, or ``(draws, waves)`` when the
    field is given per entry wave."""
    name = f"evaluation.{metric}.{field}"
    if isinstance(value, tuple):
        return np.stack([params[f"{name}[{w}]"] for w in range(len(value))], axis=1)
    return params[name]


class ComparisonArm(NamedTuple):
    """The concurrent comparison arm of one evaluation, per entry wave.

    ``units``: outcome units measured by the trigger in each wave (its window, or one period of
    it), shape ``(draws, waves)``; ``size``: participants per wave, shape ``(waves,)``.
    """

    units: np.ndarray
    size: np.ndarray


class Measured(NamedTuple):
    """What one trigger measures, passed to :meth:`EvaluationDesign.counterfactual`.

    ``waves``: the entry waves (indices); ``treated``: treated participants in each of them,
    shape ``(len(waves),)``; ``spans``: how many *trigger spans* of each wave the trigger
    covers, shape ``(len(waves),)`` (1, except for the pooled trigger of a ``per_period``
    evaluation, which covers every period of each wave's window). A span is what one of the
    wave's own triggers measures: its whole window, or one period of it with ``per_period``.

    Examples
    --------
    >>> Measured(waves=[0, 1], treated=np.array([10, 20]), spans=np.array([1, 1])).waves
    [0, 1]
    """

    waves: list[int]
    treated: np.ndarray
    spans: np.ndarray
    #: money evaluations (``Evaluation.money``): currency per outcome unit over what the
    #: trigger measures in each of its waves (the mean over the wave's periods measured),
    #: shape ``(draws, len(waves))``, by which a design values a rate given in outcome units
    #: (a historical rate); None: outcome units
    value: np.ndarray | None = None
    #: the periods each of the trigger's waves measures, shape ``(len(waves), periods)``: 1
    #: where measured (the wave's window, up to the last period of a result to date, or the
    #: trigger's one period with ``per_period``), else 0 (:func:`measured_periods`), for a
    #: design whose counterfactual varies by period (:class:`Predicted`); None: not given
    periods: np.ndarray | None = None
    #: money evaluations: currency per outcome unit of each period, shape ``(draws, periods)``
    #: (``Evaluation.money``); None: outcome units
    scale: np.ndarray | None = None


# --------------------------------------------------------------------------- designs
class EvaluationDesign(Spec):
    """Base of the evaluation designs: where the counterfactual rate comes from.

    A design declares its fields with :func:`~sibsim.spec.variant.param`, its uncertain inputs
    (:meth:`parameters`), whether it needs a concurrent comparison arm
    (``needs_comparison``) and computes the counterfactual rate of a trigger
    (:meth:`counterfactual`). A field given as a tuple holds one value per entry wave
    (checked against the scenario by :meth:`check_waves`). Register a new design with
    ``@EVALUATION_DESIGNS.register``.
    """

    #: The design compares the treated cohort with the scenario's comparison arm.
    needs_comparison = True
    #: The design's counterfactual rate is given for a whole window (a historical rate), so a
    #: window cut short (``Evaluation.window_ends_by``) needs results per period.
    whole_window_rate = False

    def parameters(self, metric: str) -> dict[str, Distribution]:
        """Uncertain inputs of the design for ``metric``, by parameter name."""
        return {}

    def period_draws(self, metric: str, seed: int | None, draws: np.ndarray, n_periods: int,
                     periods_per_year: int) -> dict[str, np.ndarray]:
        """Random values of the design that vary by period (a drifting prediction's error), by
        name, each of shape ``(len(draws), n_periods)``, for the draws with global indices
        ``draws``, keyed on ``(seed, name, draw block)`` like the parameters; ``seed=None``:
        at their mean (the power analysis). They join the ``params`` that
        :meth:`counterfactual` gets. None by default."""
        return {}

    def check_waves(self, field: str, n_waves: int) -> None:
        """Refuse a per-wave field (a tuple) whose length is not the number of entry waves.

        ``field`` names the design in the message (e.g. ``"Evaluation[m].design"``).
        """
        for f in self.toml_fields():
            value = getattr(self, f.name)
            if isinstance(value, tuple) and len(value) != n_waves:
                raise v.fail(f"{field}.{f.name}", value,
                             f"one value per entry wave of the scenario ({n_waves}, empty "
                             "waves included), or a single value for all waves")

    def counterfactual(self, metric: str, params: Mapping[str, np.ndarray],
                       comparison: ComparisonArm | None,
                       measured: Measured) -> tuple[np.ndarray, np.ndarray]:
        """Counterfactual rate per participant over what the trigger ``measured`` measures, per
        draw, and its (Poisson) variance: two arrays of shape ``(draws,)``.

        ``params`` holds the draws of :meth:`parameters`; ``comparison`` is the comparison arm
        over the same periods (``None`` when ``needs_comparison`` is false).
        """
        raise NotImplementedError


def _comparison_rate(comparison: ComparisonArm | None, waves: Sequence[int],
                     scale: Any) -> tuple[np.ndarray, np.ndarray]:
    """The comparison arm's rate over ``waves`` times ``scale``, and its Poisson variance.

    ``scale``: a number, an array ``(draws,)``, or one per draw and wave ``(draws, waves)``
    (each wave's comparison units scaled before pooling).
    """
    assert comparison is not None
    nc = comparison.size[waves].sum()
    if not nc > 0:  # refused before (Evaluation.check_groups): never a rate of 0 people
        raise ValueError(f"comparison arm: got 0 people in entry waves {list(waves)}; allowed: "
                         "at least one person in each group the design compares")
    if np.ndim(scale) == 2:
        c_units, s = comparison.units[:, waves], scale[:, waves]
        return (c_units * s).sum(1) / nc, (c_units * s**2).sum(1) / nc**2
    c_units = comparison.units[:, waves].sum(1)
    return c_units / nc * scale, c_units / nc**2 * scale**2


@EVALUATION_DESIGNS.register
@dataclass(frozen=True)
class RCT(EvaluationDesign):
    """A randomised control group: the counterfactual is the comparison arm's rate.

    Examples
    --------
    >>> Evaluation("reconviction", design=RCT()).design.kind
    'rct'
    """

    kind = "rct"

    def counterfactual(self, metric: str, params: Mapping[str, np.ndarray],
                       comparison: ComparisonArm | None,
                       measured: Measured) -> tuple[np.ndarray, np.ndarray]:
        return _comparison_rate(comparison, measured.waves, 1.0)


@dataclass(frozen=True)
class _BiasedComparison(EvaluationDesign):
    """A comparison arm whose rate is off by a relative ``bias`` (matched, before-after)."""

    bias: float | Distribution | tuple[Distribution, ...] = param(
        _Uncertain(-np.inf, np.inf, "a relative bias", per_wave=True), default=0.0,
        uncertain=True, reader=_read_per_wave,
        doc="relative bias of the comparison rate (fraction, e.g. 0.02 = 2% too high); "
            "number or distribution, or one per entry wave")

    def parameters(self, metric: str) -> dict[str, Distribution]:
        return _named(metric, "bias", self.bias)

    def counterfactual(self, metric: str, params: Mapping[str, np.ndarray],
                       comparison: ComparisonArm | None,
                       measured: Measured) -> tuple[np.ndarray, np.ndarray]:
        scale = np.maximum(1.0 + _draws(params, metric, "bias", self.bias), 0.0)
        return _comparison_rate(comparison, measured.waves, scale)


@EVALUATION_DESIGNS.register
@dataclass(frozen=True)
class Matched(_BiasedComparison):
    """A matched comparison group, possibly biased: the counterfactual is the comparison arm's
    rate times ``max(0, 1 + bias)``.

    Parameters
    ----------
    bias : float or Distribution, or a sequence of them
        Relative bias of the comparison rate (a fraction; sampled per draw if uncertain, as
        parameter ``evaluation.<metric>.bias``). A sequence gives one bias per entry wave
        (parameters ``evaluation.<metric>.bias[w]``); a pooled result scales each wave's
        comparison outcomes by its own ``max(0, 1 + bias[w])`` before pooling.

    Examples
    --------
    >>> from sibsim.spec import Normal
    >>> Matched(bias=Normal(0.0, 0.02)).bias
    Normal(mu=0.0, sd=0.02)
    >>> Matched(bias=[0.0, Normal(0.05, 0.02)]).bias
    (Fixed(value=0.0), Normal(mu=0.05, sd=0.02))
    """

    kind = "matched"


@EVALUATION_DESIGNS.register
@dataclass(frozen=True)
class Historical(EvaluationDesign):
    """No concurrent group: the counterfactual is a historical (predicted) rate.

    Parameters
    ----------
    historical_rate : float or Distribution, or a sequence of them
        Outcome units per participant, >= 0, over what one trigger of a wave measures: its
        window, or one period of it with ``per_period`` (sampled per draw if uncertain, as
        parameter ``evaluation.<metric>.historical_rate``). A sequence gives one rate per entry
        wave (parameters ``evaluation.<metric>.historical_rate[w]``). A pooled result's
        counterfactual is the participant-weighted mean of the waves' rates (times the periods
        of each wave's window with ``per_period``). With ``Evaluation.money`` the rate stays
        in outcome units and is valued at the money per unit of the periods measured.

    Examples
    --------
    >>> from sibsim.spec import Gamma
    >>> Historical(historical_rate=Gamma.from_mean_sd(2.8, 0.1)).needs_comparison
    False
    >>> Historical(historical_rate=[2.8, 2.6]).historical_rate
    (Fixed(value=2.8), Fixed(value=2.6))
    """

    kind = "historical"
    whole_window_rate = True
    needs_comparison = False

    historical_rate: float | Distribution | tuple[Distribution, ...] = param(
        _Uncertain(0.0, np.inf, "a rate (>= 0)", per_wave=True), uncertain=True,
        reader=_read_per_wave,
        doc="counterfactual outcome units per participant over the window (per period with "
            "per_period), >= 0; number or distribution, or one per entry wave")

    def parameters(self, metric: str) -> dict[str, Distribution]:
        return _named(metric, "historical_rate", self.historical_rate)

    def counterfactual(self, metric: str, params: Mapping[str, np.ndarray],
                       comparison: ComparisonArm | None,
                       measured: Measured) -> tuple[np.ndarray, np.ndarray]:
        rate = _draws(params, metric, "historical_rate", self.historical_rate)
        n, spans = np.asarray(measured.treated, float), np.asarray(measured.spans, float)
        value = measured.value  # a money evaluation: each wave's rate valued in currency
        if rate.ndim == 2 and len(measured.waves) == 1 and spans[0] == 1:
            rate = rate[:, measured.waves[0]]
            if value is not None:
                rate = rate * value[:, 0]
        elif rate.ndim == 2:  # one rate per wave: weighted by participants (and spans)
            per_wave = rate[:, measured.waves]
            if value is not None:
                per_wave = per_wave * value
            rate = (per_wave * (n * spans)).sum(1) / n.sum()
        elif value is not None:  # one rate, valued by wave
            rate = rate * ((n * spans * value).sum(1) / n.sum())
        elif np.any(spans != 1):
            rate = rate * ((n * spans).sum() / n.sum())
        return rate, np.zeros(len(rate))


#: The standard normal steps of a :class:`Predicted` design's drift (one stream a year).
_STEP = Normal(0.0, 1.0)


@EVALUATION_DESIGNS.register
@dataclass(frozen=True)
class Predicted(Historical):
    """A model's prediction of the counterfactual whose error drifts with the business cycle:
    the historical rate (its level, uncertain as in :class:`Historical`) times
    ``exp(d[y])`` in calendar year ``y`` of the horizon, where ``d``, the log-ratio of the
    prediction to the truth, follows an AR(1) over calendar years,
    ``d[y] = persistence x d[y - 1] + drift x z[y]`` with ``d[-1] = 0`` and ``z[y]`` standard
    normal (``persistence = 1``: a random walk). The model is fitted before the first year, so
    the first year's prediction is already one step off: with a random walk,
    ``Var d[y] = (y + 1) x drift**2`` and ``Cov(d[s], d[y]) = (min(s, y) + 1) x drift**2``.

    Each trigger's counterfactual uses the drifted prediction of the periods it measures: with
    ``per_period`` (paid year by year) each year's result uses that year's ``exp(d[y])``; a
    whole window (or a pooled result) uses the mean of ``exp(d)`` over the periods of each
    wave's window (weighted by the money per unit of each period for a money evaluation). The
    drift is the prediction's error only: the truth (the simulated outcomes) does not move
    with it. ``exp(d)`` is a lognormal factor: its mean is ``exp(Var d / 2)``, 1.0002 for a
    year of ``drift = 0.02``.

    ``z[y]`` is sampled per draw from its own keyed stream, ``evaluation.<metric>.drift[y]``
    (``evaluation.cycle.<cycle>[y]`` with ``cycle``), so a year's drift does not depend on
    later years' or on the horizon, and no other draw of the run changes. The drift is not
    one of the evaluation's :meth:`parameters` (it is a path over the horizon, not a number);
    the power analysis takes it at its mean, 0. A person-level residual of the prediction
    needs no field: it is the spread of the outcome itself, which the simulation has.
    ``drift = 0`` gives :class:`Historical`'s numbers to the last bit.

    Parameters
    ----------
    historical_rate : float or Distribution, or a sequence of them
        The prediction's level, as :class:`Historical`'s ``historical_rate`` (outcome units
        per participant over what a trigger of a wave measures; its uncertainty is the
        prediction's level bias).
    drift : float
        Standard deviation of a year's step of the log-ratio of prediction to truth (a
        fraction, e.g. 0.03: a 3% drift a year), in [0, 1].
    persistence : float
        The AR(1) coefficient of the log-ratio from one year to the next, in [0, 1]: 1 (the
        default) a random walk, the error accumulating; below 1 the prediction is pulled back
        towards the truth (a re-estimated model), its error's sd tending to
        ``drift / sqrt(1 - persistence**2)``.
    cycle : str, optional
        The business cycle the drift follows: evaluations whose designs name the same cycle
        share the steps ``z[y]`` (their drifts move together); None: the evaluation's own.

    Examples
    --------
    >>> p = Predicted(historical_rate=9.4, drift=0.03, persistence=0.5, cycle="finland")
    >>> p.kind, p.needs_comparison, sorted(p.parameters("wages"))
    ('predicted', False, ['evaluation.wages.historical_rate'])
    >>> Predicted(historical_rate=9.4, drift=5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Predicted.drift: got 5; allowed: a finite number in [0, 1], ...: write 0.05 for 5%
    """

    kind = "predicted"

    drift: float = param(
        v.fraction(0.0, 1.0),
        doc="sd of a year's step of the log-ratio of prediction to truth (fraction, 0.03 = "
            "3% a year), in [0, 1]; 0: the historical design")
    persistence: float = param(
        v.fraction(0.0, 1.0), default=1.0,
        doc="AR(1) coefficient of the log-ratio from year to year, in [0, 1]; 1: a random walk")
    cycle: str | None = param(
        v.optional(v.label), default=None,
        doc="name of the business cycle: designs naming the same cycle share the drift's "
            "steps; None: the evaluation's own")

    def _stream(self, metric: str, year: int) -> str:
        """The keyed stream of year ``year``'s step."""
        if self.cycle is None:
            return f"evaluation.{metric}.drift[{year}]"
        return f"evaluation.cycle.{self.cycle}[{year}]"

    @staticmethod
    def _path(metric: str) -> str:
        """The name of the log-ratio path (draws, periods) among a trigger's ``params``."""
        return f"evaluation.{metric}.drift_path"

    def period_draws(self, metric: str, seed: int | None, draws: np.ndarray, n_periods: int,
                     periods_per_year: int) -> dict[str, np.ndarray]:
        """The log-ratio of prediction to truth in each period (draws, periods): the AR(1)
        over calendar years, period ``p`` in year ``p // periods_per_year``; none with
        ``drift = 0``.

        Examples
        --------
        >>> p = Predicted(historical_rate=1.0, drift=0.1)
        >>> d = p.period_draws("m", 1, np.arange(3), 8, 4)["evaluation.m.drift_path"]
        >>> d.shape, bool(np.all(d[:, :4] == d[:, :1])), bool(np.all(d[:, 4:] == d[:, 4:5]))
        ((3, 8), True, True)
        """
        if self.drift == 0.0:
            return {}
        draws = np.asarray(draws, dtype=np.int64)
        years = np.arange(n_periods) // int(periods_per_year)
        d = np.zeros((len(draws), int(years[-1]) + 1 if n_periods else 0))
        if seed is not None:
            level = np.zeros(len(draws))
            for y in range(d.shape[1]):
                z = _sample_for_draws(_STEP, self._stream(metric, y), seed, draws)
                level = self.persistence * level + self.drift * z
                d[:, y] = level
        return {self._path(metric): d[:, years]}

    def counterfactual(self, metric: str, params: Mapping[str, np.ndarray],
                       comparison: ComparisonArm | None,
                       measured: Measured) -> tuple[np.ndarray, np.ndarray]:
        if self.drift == 0.0:
            return super().counterfactual(metric, params, comparison, measured)
        name = self._path(metric)
        if name not in params or measured.periods is None:
            raise v.fail(f"Predicted[{metric}]", "a trigger without its periods or drift",
                         "the drift path of period_draws in params and Measured.periods")
        rate = _draws(params, metric, "historical_rate", self.historical_rate)
        waves = list(measured.waves)
        n, spans = np.asarray(measured.treated, float), np.asarray(measured.spans, float)
        periods = np.asarray(measured.periods, float)
        cols = np.flatnonzero(periods.any(0))  # only the periods measured: (D, W', p) small
        factor = np.exp(params[name][:, cols])  # (D, p)
        weights = periods[None, :, cols]  # (1, W', p)
        if measured.scale is not None:
            weights = weights * np.asarray(measured.scale, float)[:, None, cols]
        else:
            weights = weights * np.ones((factor.shape[0], 1, 1))
        total = weights.sum(-1)  # 0 only for a wave the trigger does not measure (span 0)
        drifted = np.where(total > 0, (weights * factor[:, None, :]).sum(-1)
                           / np.where(total > 0, total, 1.0), 1.0)
        per_wave = (rate[:, waves] if rate.ndim == 2 else rate[:, None]) * drifted  # (D, W')
        if measured.value is not None:
            per_wave = per_wave * measured.value
        if len(waves) == 1 and spans[0] == 1:
            out = per_wave[:, 0]
        else:
            out = (per_wave * (n * spans)).sum(1) / n.sum()
        return out, np.zeros(len(out))


@EVALUATION_DESIGNS.register
@dataclass(frozen=True)
class BeforeAfter(_BiasedComparison):
    """The same people before the service: the scenario's comparison arm
    (``ComparisonGroup(ratio=1)``) plays their "before" period, its rate times
    ``max(0, 1 + bias)`` (``bias``: a secular trend or regression to the mean).

    Parameters
    ----------
    bias : float or Distribution, or a sequence of them
        Relative bias of the "before" rate (a fraction; parameter ``evaluation.<metric>.bias``),
        or one per entry wave (``evaluation.<metric>.bias[w]``).

    Examples
    --------
    >>> BeforeAfter(bias=-0.2).kind
    'before_after'
    """

    kind = "before_after"


def _read_designs(sec: Section, key: str) -> tuple[Any, ...]:
    """TOML ``designs``: a list of design tables ``{kind = ..., ...}`` (or bare kinds)."""
    raw = sec.data[key]
    sec.used.add(key)
    if not isinstance(raw, list) or not raw:
        raise KeyProblem(sec.path(key), "expected a list of design tables {kind = ..., ...}")
    out = []
    for i, item in enumerate(raw):
        path = f"{sec.path(key)}[{i}]"
        item = {"kind": item} if isinstance(item, str) else item
        if not isinstance(item, Mapping):
            raise KeyProblem(path, "expected a design table {kind = ..., ...} or a kind name")
        out.append(EVALUATION_DESIGNS.from_toml(Section(path, item)))
    return tuple(out)


@EVALUATION_DESIGNS.register
@dataclass(frozen=True)
class Blend(EvaluationDesign):
    """A weighted blend of the estimates of several designs (Massachusetts' "backstop"
    estimate: 0.8 x the RCT's + 0.2 x a difference-in-differences estimate).

    The weights apply to the impact estimates in outcome units per participant,
    ``diff_i = c_i - t`` (the treated rate ``t`` is the same for every design), so the blended
    counterfactual is ``c = sum_i w_i c_i`` (the weights add up to 1) and the measured effect is
    ``(c - t) / c``. The gate's variance is ``(sum_i w_i sd_i)**2``: exact when the designs
    scale one comparison arm (RCT, matched, before-after) or have none (historical).

    Parameters
    ----------
    designs : sequence of EvaluationDesign
        Two or more designs (not blends), each with its own parameters, named
        ``evaluation.<metric>.designs[i].<field>``.
    weights : sequence of float
        One weight per design, fractions in (0, 1] adding up to 1.

    Examples
    --------
    >>> from sibsim.spec import Normal
    >>> b = Blend(designs=(RCT(), Matched(bias=Normal(0.0, 0.1))), weights=(0.8, 0.2))
    >>> b.needs_comparison, sorted(b.parameters("days"))
    (True, ['evaluation.days.designs[1].bias'])
    >>> Blend(designs=(RCT(), Historical(historical_rate=0.5)), weights=(0.8, 0.3))
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Blend.weights: got (0.8, 0.3); allowed: weights that add up to 1 ...
    """

    kind = "blend"

    designs: tuple[EvaluationDesign, ...] = param(
        v.vector(v.instance_of(EvaluationDesign)), reader=_read_designs,
        doc="the designs blended: a list of design tables {kind = ..., ...}")
    weights: tuple[float, ...] = param(
        v.vector(v.fraction(0.0, 1.0, low_open=True)),
        doc="one weight per design (fractions adding up to 1)")

    def validate(self) -> None:
        """Two or more designs, none a blend; one weight per design, adding up to 1."""
        if len(self.designs) < 2:
            raise v.fail("Blend.designs", self.designs, "two or more designs")
        if any(isinstance(d, Blend) for d in self.designs):
            raise v.fail("Blend.designs", self.designs, "designs that are not blends")
        if len(self.weights) != len(self.designs):
            raise v.fail("Blend.weights", self.weights,
                         f"one weight per design ({len(self.designs)} values)")
        if abs(math.fsum(self.weights) - 1.0) > 1e-9:
            raise v.fail("Blend.weights", self.weights,
                         f"weights that add up to 1 (they add up to {math.fsum(self.weights):g})")

    @property  # type: ignore[override]
    def needs_comparison(self) -> bool:  # type: ignore[override]
        """A blend needs the comparison arm when any of its designs does."""
        return any(d.needs_comparison for d in self.designs)

    @property  # type: ignore[override]
    def whole_window_rate(self) -> bool:  # type: ignore[override]
        """A blend's rate covers a whole window when any of its designs' does."""
        return any(d.whole_window_rate for d in self.designs)

    @staticmethod
    def _part(metric: str, i: int) -> str:
        return f"{metric}.designs[{i}]"

    def parameters(self, metric: str) -> dict[str, Distribution]:
        out: dict[str, Distribution] = {}
        for i, d in enumerate(self.designs):
            out.update(d.parameters(self._part(metric, i)))
        return out

    def check_waves(self, field: str, n_waves: int) -> None:
        for i, d in enumerate(self.designs):
            d.check_waves(f"{field}.designs[{i}]", n_waves)

    def period_draws(self, metric: str, seed: int | None, draws: np.ndarray, n_periods: int,
                     periods_per_year: int) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for i, d in enumerate(self.designs):
            out.update(d.period_draws(self._part(metric, i), seed, draws, n_periods,
                                      periods_per_year))
        return out

    def counterfactual(self, metric: str, params: Mapping[str, np.ndarray],
                       comparison: ComparisonArm | None,
                       measured: Measured) -> tuple[np.ndarray, np.ndarray]:
        rate: Any = 0.0
        sd: Any = 0.0
        for i, (d, w) in enumerate(zip(self.designs, self.weights, strict=True)):
            c, var = d.counterfactual(self._part(metric, i), params, comparison, measured)
            rate = rate + w * np.asarray(c, float)
            sd = sd + w * np.sqrt(np.asarray(var, float))
        return rate, sd**2


# --------------------------------------------------------------------------- the evaluation
#: Keys of the older flat spelling: ``design="matched", bias=...`` (fields of the design).
_FLAT_KEYS = ("bias", "historical_rate")


def _read_design(sec: Section, key: str) -> EvaluationDesign | str:
    """TOML ``design``: a ``{kind = ..., ...}`` table, or a bare kind (the older spelling, with
    the flat ``bias`` / ``historical_rate`` keys; built in :meth:`Evaluation.validate`)."""
    raw = sec.data[key]
    if isinstance(raw, str):
        sec.used.add(key)
        EVALUATION_DESIGNS.lookup(sec.path(key), raw)
        return raw
    return EVALUATION_DESIGNS.read(sec, key)


def _design(design: EvaluationDesign | str, flat: Mapping[str, Any]) -> EvaluationDesign:
    """The design object of an :class:`Evaluation`: ``design`` itself, or, for a kind name,
    the registered design built from the flat keys (``bias``, ``historical_rate``)."""
    given = {k: x for k, x in flat.items() if x is not None}
    if isinstance(design, str):
        if design not in EVALUATION_DESIGNS:
            raise v.fail("Evaluation.design", design,
                         "a design object or one of "
                         + ", ".join(repr(k) for k in EVALUATION_DESIGNS.names()))
        cls = EVALUATION_DESIGNS[design]
    else:
        cls = type(design)
    fields = {f.name: f for f in cls.toml_fields()}
    for key, value in given.items():
        if key not in fields:
            takes = [c.kind for c in EVALUATION_DESIGNS.classes()
                     if key in {f.name for f in c.toml_fields()}]
            raise v.fail(f"Evaluation.{key}", value,
                         f"no {key} for design {cls.kind!r} (designs with a {key}: "
                         + ", ".join(repr(k) for k in takes) + ")")
    if not isinstance(design, str):
        if given:
            key = next(iter(given))
            raise v.fail(f"Evaluation.{key}", given[key],
                         f"None with a design object: give it in the design, "
                         f"design={cls.__name__}({key}=...)")
        return design
    for name, f in fields.items():
        if name not in given and f.default is dataclasses.MISSING:
            raise v.fail(f"Evaluation.{name}", None,
                         f"{f.metadata.get('doc', 'a value')} (required by design {design!r})")
    try:
        return cls(**given)
    except (ValueError, TypeError) as err:
        # the user wrote the flat key: name it as a field of the Evaluation
        msg, prefix = str(err), f"{cls.__name__}."
        if msg.startswith(prefix):
            msg = "Evaluation." + msg[len(prefix):]
        raise type(err)(msg) from None


class _Precision(v.Constraint):
    """The contract's rounding of measured effects: a fraction in (0, 0.01]; 0 or ``None``
    switch rounding off (stored as ``None``)."""

    description = ("a fraction in (0, 0.01] (0.001 = 0.1 percentage point), or 0 or None for "
                   "no rounding")

    def __call__(self, field: str, value: object) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{field}: got {value!r}; allowed: {self.description}")
        x = float(value)
        if x == 0.0:
            return None
        if not (math.isfinite(x) and 0.0 < x <= 0.01):
            hint = (f": write {x / 100:g} for {x:g} percentage point(s)"
                    if math.isfinite(x) and 0.01 < x <= 100.0 else "")
            raise v.fail(field, value, self.description + hint)
        return x


def _rounding(precision: float | None) -> tuple[bool, bool, float, float]:
    """:func:`contract_round`'s terms for :class:`~sibsim.money.kernels.chain.TriggerTerms`:
    whether it rounds, whether ``1 / precision`` is a whole number of steps, that number (or
    ``1 / precision``) and the precision."""
    if precision is None:
        return False, False, 1.0, 1.0
    inverse = 1.0 / precision
    steps = round(inverse)
    whole = steps > 0 and abs(steps - inverse) <= 1e-9 * inverse
    return True, bool(whole), float(steps if whole else inverse), float(precision)


def contract_round(effect: Any, precision: float | None) -> np.ndarray:
    """Round measured effects half away from zero to a multiple of ``precision`` (a fraction;
    ``None``: unchanged).

    When ``1 / precision`` is a whole number (0.001 -> 1000) the result is ``k / 1000``, the
    same float as the decimal the report prints, so a threshold written as ``0.1`` compares
    equal to a measured ``0.1``. What is rounded is the float the simulation produced: a value
    within float error of a multiple lands on it, one exactly half-way goes away from zero.

    Examples
    --------
    >>> contract_round(np.array([0.09999999999999998, 0.1005, -0.1005, 0.12345]), 0.001)
    array([ 0.1  ,  0.101, -0.101,  0.123])
    >>> float(contract_round(np.array(0.1234), None))
    0.1234
    """
    x = np.asarray(effect, dtype=float)
    if precision is None:
        return x
    inverse = 1.0 / precision
    steps = round(inverse)
    whole = steps > 0 and abs(steps - inverse) <= 1e-9 * inverse
    q = np.abs(x) * (steps if whole else inverse)
    k = np.floor(q)
    k = k + (q - k >= 0.5)  # exact: q - floor(q) has no rounding error
    mag = k / steps if whole else k * precision
    return np.where(x < 0, -mag, mag) + 0.0  # + 0.0 turns -0.0 into 0.0


@dataclass(frozen=True)
class Evaluation(Spec):
    """How the evaluator measures the effect of one outcome metric.

    Parameters
    ----------
    metric : str
        Name of the outcome metric (matches the contract's ``MetricTerms.metric``).
    design : EvaluationDesign or str
        Where the counterfactual comes from: :class:`RCT` (default), :class:`Matched`,
        :class:`Historical`, :class:`Predicted`, :class:`BeforeAfter` or :class:`Blend`. A
        kind name (``"matched"``) is the older spelling: the design is then built from the flat
        ``bias`` / ``historical_rate``.
    window : int
        Follow-up periods per participant, from entry (plus ``window_start``); Peterborough: 1
        year after release. With ``clock="calendar"`` the window is ``calendar_window``.
    outcome : {"events", "occupancy"}
        Measure events, or person-periods in ``state``.
    state : str or sequence of str, optional
        The state whose person-periods are measured (``outcome="occupancy"``), or a list of
        distinct states measured together (stored as a tuple): person-periods in any of them,
        e.g. every special-education state of a chain on a joint state space,
        ``["special", "ready_special", "literate_special"]``.
    direction : {"reduce", "increase"}
        Whether fewer (e.g. reconvictions) or more (e.g. employment) is better.
    per_wave, pooled : bool
        Measure each entry wave, all waves pooled, or both.
    bias, historical_rate : float or Distribution, optional
        Older flat spelling of the design's fields, only with ``design`` given as a kind name;
        moved into the design at construction (both read back as ``None``).
    alpha : float, optional
        One-sided significance level of the gate, a fraction in (0, 0.5]; ``None``: no gate.
    report_lag : int
        Periods between the end of a window (or, with ``per_period``, of a period) and the
        result being known.
    value_per_unit : float
        Currency value of one outcome unit, used as ``avoided_cost`` for savings-share rules.
        Left at 0 with ``money`` (the avoided cost is then the money measured).
    money : MoneyValue, optional
        The metric is money (:mod:`sibsim.money.money_metric`): each outcome unit is worth
        ``money.per_unit`` currency (a number or a distribution, growing by ``money.growth``
        a year), so the evaluation measures and compares money (wages above a prediction, taxes
        and benefits gained), the trigger's ``units`` and avoided cost are currency, the
        pricing rules pay per unit of currency (``price_per_unit`` with ``price = 0.5``: half
        of the gain) and ``target_per_person_period`` is currency per person-period. TOML:
        ``money = {per_unit = 2_000, growth = 0.02}``. ``None``: outcome units.
    stratum : str or sequence of str, optional
        Measure only these strata of the cohort (treated and comparison people alike); stored
        as a tuple of names. ``None``: every stratum.
    window_start : int
        Periods from entry to the start of the window (``clock="entry"``), e.g. 1 to skip the
        first year.
    clock : {"entry", "calendar"}
        ``"entry"``: each wave's window starts at its own entry (plus ``window_start``);
        ``"calendar"``: every wave is measured over the same calendar periods,
        ``calendar_window``, from its entry on.
    calendar_window : (int, int), optional
        First and last period (0-based, inclusive) of the calendar window; required with
        ``clock="calendar"`` and only then.
    per_period : bool
        Split each wave's result by period: one trigger per wave and period of its window
        (each cohort-year paid as its result comes in) instead of one per wave. Needs
        ``per_wave``; with ``pooled`` the pooled trigger still covers every wave's whole window
        and tops up what the per-period triggers earned.
    precision : float, optional
        Rounding of the measured effect before thresholds apply, a fraction (default 0.001,
        0.1 percentage point; half away from zero); ``None`` or 0: no rounding.
    process : str, optional
        The outcome process measured (its outcome's ``name``); required when the scenario has
        several outcome processes, else optional (it must then name the only one).
    target_per_person_period : float, optional
        An absolute target (Tyhy-SIB: 2.1 sick-leave days fewer per employee a year): the
        improvement on the counterfactual, in outcome units per participant and period
        (``units / person-periods measured``, rounded to ``precision``), that a trigger must
        reach before it pays anything; >= 0. It is a condition of the trigger next to the
        significance gate (a trigger that misses it has ``gate`` False), so each draw's own
        counterfactual rate does not move the bar, and the measured effect stays relative.
        ``None`` (default): no absolute target.
    to_date : bool
        Netting to date (Essex: paid every quarter on care days saved to date). Needs
        ``per_period``: instead of one trigger per wave and period, one trigger per period,
        known at its end plus ``report_lag``, measures every wave's window up to that period
        (all waves together) and is a top-up: it pays the amount due on the result to date
        minus what has been committed under the metric, never less than 0. A period that goes
        the wrong way lowers the result to date, so later periods pay less; nothing paid
        before is taken back (no clawback).
    window_ends_by : int, optional
        The last period (0-based, inclusive) any window may cover (``clock="entry"`` only):
        each wave's window runs from its entry (plus ``window_start``) for ``window`` periods
        but no later than this period, the contract's end (Essex: 30 months from engagement,
        to March 2019 at the latest). Late entrants' windows are shorter: the outcome units,
        person-periods and counterfactual (``Historical``: its per-period rate times the
        periods measured, so ``per_period`` is needed with it) cover the periods measured
        only. A wave with people must enter by this period. ``None`` (default): whole
        windows, each within the horizon.
    estimand : {"intention_to_treat", "treated"}
        What the measured effect estimates: the intention-to-treat contrast of every assigned
        participant (default), or the effect on the treated (enrolled), the ITT contrast
        divided by the share of the assigned who enrolled in that draw (Bloom 1984); units,
        the gate and per-person caps count as under ITT, see :mod:`sibsim.money.estimand`.

    Examples
    --------
    >>> from sibsim.spec import Normal
    >>> Evaluation("reconviction", design=Matched(bias=Normal(0, 0.02)), window=1).design.kind
    'matched'
    >>> Evaluation("reconviction", design="historical", historical_rate=0.6).design
    Historical(historical_rate=Fixed(value=0.6))
    >>> Evaluation("m", stratum="young", clock="calendar", calendar_window=[2, 3]).stratum
    ('young',)
    """

    metric: str = param(v.label, doc="name of the outcome metric paid on")
    design: EvaluationDesign | str = param(
        v.instance_of(EvaluationDesign, str), default=RCT(), reader=_read_design,
        doc="where the counterfactual comes from: a design of EVALUATION_DESIGNS")
    window: int = param(v.integer(1), default=1,
                        doc="follow-up periods per participant, from entry (+ window_start)")
    outcome: str = param(v.one_of("events", "occupancy"), default="events",
                         doc="measure events, or person-periods in `state`")
    state: str | tuple[str, ...] | None = param(
        v.optional(v.state_set), default=None,
        doc="state (or list of states, measured together) with outcome='occupancy'")
    direction: str = param(v.one_of("reduce", "increase"), default="reduce",
                           doc="whether fewer or more is better")
    per_wave: bool = param(v.flag, default=True, doc="one trigger per entry wave")
    pooled: bool = param(v.flag, default=True, doc="one trigger for all waves pooled")
    bias: float | Distribution | None = param(
        default=None, uncertain=True, reader=_read_per_wave,
        doc="older flat spelling of the design's bias (with design given as a kind name)")
    historical_rate: float | Distribution | None = param(
        default=None, uncertain=True, reader=_read_per_wave,
        doc="older flat spelling of the design's historical_rate (with design given as a kind)")
    alpha: float | None = param(v.optional(v.fraction(0.0, 0.5, low_open=True)), default=None,
                                doc="one-sided significance level of the gate; None: no gate")
    report_lag: int = param(v.integer(0), default=0,
                            doc="periods from the end of a window to the result being known")
    value_per_unit: float = param(v.interval(0.0), default=0.0,
                                  doc="currency per outcome unit (avoided cost)")
    money: MoneyValue | None = param(
        v.optional(v.instance_of(MoneyValue)), default=None, reader=read_money,
        doc="the metric is money: {per_unit = currency per outcome unit, growth, cv}; "
            "None: outcome units")
    stratum: str | tuple[str, ...] | None = param(
        v.optional(v.scalar_or_vector(v.label)), default=None,
        doc="measure only these strata (a name or a list); None: all")
    window_start: int = param(v.integer(0), default=0,
                              doc="periods from entry to the start of the window")
    clock: str = param(v.one_of("entry", "calendar"), default="entry",
                       doc="windows from each wave's entry, or fixed calendar periods")
    calendar_window: tuple[int, int] | None = param(
        v.optional(v.vector(v.integer(0), min_len=2)), default=None,
        doc="[first, last] period of the calendar window (clock='calendar')")
    per_period: bool = param(v.flag, default=False,
                             doc="one trigger per wave and period of its window")
    precision: float | None = param(_Precision(), default=0.001,
                                    doc="rounding of the measured effect (fraction); None: off")
    process: str | None = param(v.optional(v.label), default=None,
                                doc="the outcome process measured (several processes: required)")
    target_per_person_period: float | None = param(
        v.optional(v.interval(0.0, math.inf)), default=None,
        doc="absolute target: outcome units per participant and period the result must "
            "improve on the counterfactual by before it pays; None: no absolute target")
    to_date: bool = param(v.flag, default=False,
                          doc="per_period results to date: each period measures every wave's "
                              "window up to it, and pays the increase of the amount due")
    window_ends_by: int | None = param(
        v.optional(v.integer(0)), default=None,
        doc="last period (0-based) of every window: windows from entry are cut at the "
            "contract's end; None: whole windows")
    estimand: str = param(v.one_of(*ESTIMANDS), default="intention_to_treat",
                          doc="'intention_to_treat' (every assigned participant) or 'treated' "
                              "(the effect on the enrolled: ITT / enrolled share, Bloom 1984)")

    @property
    def states(self) -> tuple[str, ...]:
        """The states measured (``()`` with ``outcome="events"`` or no state given).

        >>> Evaluation("sen", outcome="occupancy", state=["special", "literate_special"]).states
        ('special', 'literate_special')
        """
        return v.states_of(self.state)

    def validate(self) -> None:
        if self.outcome == "occupancy" and self.state is None:
            v.name("Evaluation.state", self.state)
        if not (self.per_wave or self.pooled):
            raise v.fail("Evaluation.per_wave/pooled", (self.per_wave, self.pooled),
                         "at least one of per_wave or pooled")
        if self.per_period and not self.per_wave:
            raise v.fail("Evaluation.per_period", self.per_period,
                         "per_period only with per_wave = true (it splits each wave's result "
                         "by period; a pooled-only evaluation has one result)")
        if self.to_date and not self.per_period:
            raise v.fail("Evaluation.to_date", self.to_date,
                         "to_date only with per_period = true (it nets the per-period results "
                         "to date)")
        if self.stratum is not None:
            strata = (self.stratum,) if isinstance(self.stratum, str) else self.stratum
            v.unique("Evaluation.stratum", strata, "strata")
            self._set("stratum", strata)
        self._check_clock()
        if self.money is not None and self.value_per_unit != 0.0:
            raise v.fail("Evaluation.value_per_unit", self.value_per_unit,
                         "0 (left out) with money: the units are then money and the avoided "
                         "cost is that money; give the value of a unit as money.per_unit")
        self._set("design", _design(self.design, {k: getattr(self, k) for k in _FLAT_KEYS}))
        for k in _FLAT_KEYS:
            self._set(k, None)
        self._check_window_end()

    def _check_clock(self) -> None:
        cal = self.calendar_window
        if self.clock == "entry":
            if cal is not None:
                raise v.fail("Evaluation.calendar_window", cal,
                             "None with clock = 'entry' (set clock = 'calendar' to measure "
                             "every wave over the same calendar periods)")
            return
        if cal is None:
            raise v.fail("Evaluation.calendar_window", cal,
                         "[first, last] calendar periods (required with clock = 'calendar')")
        if len(cal) != 2 or cal[0] > cal[1]:
            raise v.fail("Evaluation.calendar_window", cal,
                         "[first, last]: two periods with first <= last")
        self._set("calendar_window", (cal[0], cal[1]))
        if self.window_start != 0:
            raise v.fail("Evaluation.window_start", self.window_start,
                         "0 with clock = 'calendar' (the window is calendar_window)")
        if self.window_ends_by is not None:
            raise v.fail("Evaluation.window_ends_by", self.window_ends_by,
                         "None with clock = 'calendar' (the last period of calendar_window "
                         "ends every window)")
        length = cal[1] - cal[0] + 1
        if self.window not in (1, length):
            raise v.fail("Evaluation.window", self.window,
                         f"1 (left out) or {length}, the length of calendar_window, with "
                         "clock = 'calendar'")

    def _check_window_end(self) -> None:
        """A historical rate is given per trigger span: over a whole window, unless results
        are per period; a window cut short would compare part of a window with all of it."""
        if self.window_ends_by is None or self.per_period:
            return
        if self.design.whole_window_rate:  # type: ignore[union-attr]  # resolved above
            raise v.fail("Evaluation.window_ends_by", self.window_ends_by,
                         "None with a historical design unless per_period = true (its "
                         "historical_rate covers a whole window, which the end would cut)")

    @property
    def needs_comparison(self) -> bool:
        """The design needs the scenario's concurrent comparison arm."""
        return self.design.needs_comparison  # type: ignore[union-attr]

    def parameters(self) -> dict[str, Distribution]:
        """Uncertain inputs of the evaluation, by name (``evaluation.<metric>.<field>``, with
        ``[w]`` for a value given per entry wave)."""
        out = self.design.parameters(self.metric)  # type: ignore[union-attr]
        if self.money is not None:
            out.update(self.money.parameters(self.metric))
        return out

    @property
    def avoided_cost_per_unit(self) -> float:
        """Avoided cost of one of the trigger's units: 1 for a money evaluation (its units
        are money), else ``value_per_unit``."""
        return 1.0 if self.money is not None else self.value_per_unit

    def check_scenario(self, strata: Sequence[str], n_waves: int) -> None:
        """Refuse strata the scenario does not have, and per-wave design values whose number
        is not the scenario's number of entry waves.

        Examples
        --------
        >>> Evaluation("m", stratum="old").check_scenario(("young", "adult"), 2)
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Evaluation[m].stratum: got 'old'; allowed: strata of the scenario: 'young', ...
        """
        field = f"Evaluation[{self.metric}]"
        names = [str(s) for s in strata]
        for s in self.stratum or ():
            if s not in names:
                raise v.fail(f"{field}.stratum", s, "strata of the scenario: "
                             + ", ".join(repr(n) for n in names))
        self.design.check_waves(f"{field}.design", n_waves)  # type: ignore[union-attr]

    def check_groups(self, sizes: np.ndarray, strata: Sequence[str],
                     own_entry: bool = False) -> None:
        """Refuse a design with an empty group: every group a trigger measures must hold at
        least one person (an empty comparison group would measure an effect of exactly 0).

        ``sizes``: people per arm (treatment, then comparison if any), entry wave and stratum,
        shape ``(arms, waves, strata)``, as :meth:`sibsim.Scenario.group_sizes`; ``strata``:
        the stratum names. Refused: no treated participant in the evaluated strata; with
        ``per_wave``, an entry wave with people but none in the evaluated strata; a design with
        a comparison arm whose evaluated strata hold no comparison person in a measured wave
        (``per_wave``) or in all waves together (``pooled``). With ``own_entry`` (strata that
        give their own entry waves, entering at different times) a wave in which the evaluated
        strata have nobody is not measured rather than refused: the file says so.

        Examples
        --------
        >>> sizes = np.array([[[100]], [[0]]])   # 100 treated, 0 comparison people
        >>> Evaluation("m").check_groups(sizes, ("all",))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Evaluation[m] comparison group: got 0 people (100 treated); allowed: ...
        """
        field = f"Evaluation[{self.metric}]"
        sizes = np.asarray(sizes)
        wave_people = sizes[0].sum(-1)  # (W,) treated people per wave, all strata
        keep = [i for i, s in enumerate(strata) if self.stratum is None or s in self.stratum]
        n_t = sizes[0][:, keep].sum(-1)
        where = "" if self.stratum is None else f" in strata {list(self.stratum)}"
        if n_t.sum() <= 0:
            raise v.fail(f"{field}.stratum", self.stratum,
                         "strata with treated participants in at least one entry wave")
        if self.per_wave and not own_entry:
            empty = [w for w in range(len(n_t)) if wave_people[w] > 0 and n_t[w] <= 0]
            if empty:
                raise v.fail(f"{field}.stratum", self.stratum,
                             f"strata with at least one participant in every entry wave with "
                             f"people (wave {empty[0]} has {int(wave_people[empty[0]])} "
                             f"participants, none{where}); measure pooled only, or widen the "
                             "strata or their shares")
        if not self.needs_comparison:
            return
        if sizes.shape[0] < 2:
            raise _no_comparison(self)
        n_c = sizes[1][:, keep].sum(-1)
        hint = ("at least one person in each group the design compares (raise "
                "ComparisonGroup.ratio or size, or the strata's shares)")
        if self.pooled and n_c.sum() <= 0:
            raise ValueError(f"{field} comparison group{where}: got 0 people "
                             f"({int(n_t.sum())} treated); allowed: {hint}")
        if self.per_wave:
            for w in range(len(n_t)):
                if n_t[w] > 0 and n_c[w] <= 0:
                    raise ValueError(f"{field} comparison group of entry wave {w}{where}: got "
                                     f"0 people ({int(n_t[w])} treated); allowed: {hint}")


def _no_comparison(ev: Evaluation) -> ValueError:
    """The error for a design that needs a comparison group the scenario does not have."""
    alone = [c.kind for c in EVALUATION_DESIGNS.classes() if not c.needs_comparison]
    return v.fail(f"Evaluation[{ev.metric}].design", ev.design.kind,  # type: ignore[union-attr]
                  "a design without a concurrent comparison group ("
                  + ", ".join(repr(k) for k in alone)
                  + ") when the scenario has no comparison group")


def check_evaluations(evaluations: Evaluation | Sequence[Evaluation],
                      field: str = "evaluations") -> tuple[Evaluation, ...]:
    """The evaluations of one deal as a tuple: one or more :class:`Evaluation`, at most one per
    metric (two evaluations of one metric would pay twice).

    Examples
    --------
    >>> check_evaluations([Evaluation("a"), Evaluation("b")])[1].metric
    'b'
    >>> check_evaluations([Evaluation("a"), Evaluation("a")])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: evaluations: got ['a', 'a']; allowed: unique metrics: ... (repeated: a)
    """
    if isinstance(evaluations, Evaluation):
        return (evaluations,)
    try:
        evs = tuple(evaluations)
    except TypeError:
        raise v.fail(field, evaluations, "one or more Evaluation") from None
    if not evs or not all(isinstance(e, Evaluation) for e in evs):
        raise v.fail(field, evaluations, "one or more Evaluation")
    v.unique(field, [e.metric for e in evs], "metrics: one evaluation per metric")
    return evs


def _windows(ev: Evaluation, entry: np.ndarray, n_periods: int,
             treated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last period (inclusive) of each wave's window; a wave with ``last < first``
    has an empty window (only possible without people in it)."""
    field = f"Evaluation[{ev.metric}]"
    if ev.clock == "calendar":
        assert ev.calendar_window is not None
        lo, hi = ev.calendar_window
        if hi >= n_periods:
            raise v.fail(f"{field}.calendar_window", ev.calendar_window,
                         f"calendar periods within the horizon of {n_periods} periods "
                         f"(0 to {n_periods - 1})")
        late = [w for w, e in enumerate(entry) if treated[w] > 0 and e > hi]
        if late:
            raise v.fail(f"{field}.calendar_window", ev.calendar_window,
                         "a calendar window that ends at or after the entry of every wave "
                         f"with people (wave {late[0]} enters in period {entry[late[0]]})")
        return np.maximum(entry, lo), np.full(len(entry), hi)
    first = entry + ev.window_start
    last = first + ev.window - 1
    if ev.window_ends_by is not None:  # windows cut at the contract's end
        end = ev.window_ends_by
        if end >= n_periods:
            raise v.fail(f"{field}.window_ends_by", end,
                         f"a period within the horizon of {n_periods} periods "
                         f"(0 to {n_periods - 1})")
        after = [w for w in range(len(entry)) if treated[w] > 0 and first[w] > end]
        if after:
            raise v.fail(f"{field}.window_ends_by", end,
                         "a last period at or after the start of every window of a wave with "
                         f"people (wave {after[0]} enters in period {entry[after[0]]})")
        last = np.minimum(last, end)
    late = [w for w in range(len(entry)) if last[w] >= n_periods]
    if late:
        start = f" {ev.window_start} period(s) after entry" if ev.window_start else ""
        raise v.fail(f"{field}.window", ev.window,
                     f"a follow-up window{start} that ends within the "
                     f"horizon of {n_periods} periods for every entry wave (wave {late[0]} "
                     f"enters in period {entry[late[0]]})")
    return first, last


def in_strata(da: xr.DataArray, ev: Evaluation) -> xr.DataArray:
    """``da`` restricted to the evaluation's strata, then summed over strata."""
    if ev.stratum is not None:
        da = da.sel(stratum=list(ev.stratum))
    return da.sum("stratum", skipna=False)


def outcome_units(ds: xr.Dataset, ev: Evaluation) -> xr.DataArray:
    """Outcome units per draw, arm, wave and period."""
    ds = in_schema_order(ds)
    if "process" in ds.dims:
        names = [str(x) for x in ds["process"].values]
        if ev.process not in names:
            raise v.fail(f"Evaluation[{ev.metric}].process", ev.process,
                         "one of " + ", ".join(repr(n) for n in names)
                         + " (the scenario has several outcome processes)")
        ds = ds.sel(process=ev.process)
        for state in ev.states if ev.outcome == "occupancy" and "state" in ds.dims else ():
            if (state in ds["state"].values
                    and np.isnan(ds["occupancy"].sel(state=state)[(0,) * 5].item())):
                raise v.fail("Evaluation.state", state, f"a state of process {ev.process!r}")
    if ev.outcome == "events":
        return in_strata(ds["events"], ev)
    for state in ev.states:
        if "state" not in ds.dims or state not in ds["state"].values:
            raise v.fail("Evaluation.state", state, "a state of the scenario's Markov/binary "
                         "outcome")
    return in_strata(in_states(ds["occupancy"], ev.state), ev)


def engaged_units(ds: xr.Dataset, ev: Evaluation) -> np.ndarray:
    """The treated arm's outcome units of its engaged participants (those who took up the
    service and have not dropped out), per draw, wave and period ``(D, W, P)``, in the
    evaluation's strata: ``engaged_occupancy`` of the state measured
    (``outcome="occupancy"``) or ``engaged_events`` (``outcome="events"``; only in datasets
    simulated with ``engaged_events=True``, as for a deal that needs them). Used by a money
    evaluation's ``money.effect`` (:mod:`sibsim.money.money_metric`)."""
    return in_strata(_engaged(ds, ev), ev).transpose("draw", "wave", "period").values


def _engaged(ds: xr.Dataset, ev: Evaluation) -> xr.DataArray:
    """The treated arm's units of its engaged participants in every stratum, dims (draw, wave,
    stratum, period) (:func:`engaged_units` before the evaluation's strata are summed)."""
    name = "engaged_events" if ev.outcome == "events" else "engaged_occupancy"
    if name not in ds:
        how = ("simulate the deal itself, or pass engaged_events=True to sibsim.simulate"
               if ev.outcome == "events" else "an outcome with states (binary or Markov)")
        raise v.fail(f"Evaluation[{ev.metric}].money.effect",
                     ev.money.effect if ev.money is not None else None,
                     f"an outcome dataset with {name} ({how}): the effect acts on the engaged "
                     "participants' units")
    da = ds[name].sel(arm="treatment")
    if "process" in da.dims:
        da = da.sel(process=ev.process)
    if ev.outcome != "events":
        da = in_states(da, ev.state)
    return da


def money_effect_gain(ds: xr.Dataset, ev: Evaluation, seed: int) -> np.ndarray | None:
    """The extra money a money evaluation's ``money.effect`` brings, per draw, entry wave,
    stratum and period ``(D, W, K, P)``, in currency: ``(effect[d] - 1) x per_unit[d, p] x``
    the treated arm's engaged units (:func:`engaged_units`) in each of the evaluation's strata
    (0 in the others), in every period of the horizon (the effect does not decay); the
    per-draw ``effect`` and ``per_unit`` (with its ``growth``) are the values the evaluation
    samples for ``seed`` (:func:`evaluate`). It is the expected gain the effect adds to the
    evaluation's treated money, before any dispersion (``cv``) noise. None without
    ``money.effect`` (an effect of 1: no extra money).

    >>> import sibsim
    >>> deal = sibsim.load_scenario("koto-sib")
    >>> ds = sibsim.simulate(deal, draws=2, seed=1, progress=False)
    >>> money_effect_gain(ds, deal.evaluations[0], 1).shape  # EUR: draws, waves, strata, quarters
    (2, 9, 1, 24)
    """
    money = ev.money
    if money is None or money.effect is None:
        return None
    draws = ds["draw"].values
    params = {name: _sample_for_draws(dist, name, seed, draws)
              for name, dist in money.parameters(ev.metric).items()}
    n_draws, n_periods = ds.sizes["draw"], ds.sizes["period"]
    scale = money.scale(params, ev.metric, n_draws, n_periods,
                        int(ds.attrs["periods_per_year"]))  # (D, P)
    ratio = money.ratio(params, ev.metric, n_draws)  # (D,)
    da = _engaged(ds, ev)
    if ev.stratum is not None:  # the effect acts on the evaluation's strata only
        da = da.where(da["stratum"].isin(list(ev.stratum)), 0.0)
    units = np.maximum(da.transpose("draw", "wave", "stratum", "period").values, 0.0)
    assert ratio is not None
    return (ratio - 1.0)[:, None, None, None] * scale[:, None, None, :] * units


class _Trigger(NamedTuple):
    """One trigger to measure: its waves, when it is known, whether it is a top-up, the
    treated units of each wave it measures ``(D, W)`` and the comparison arm over the same
    periods."""

    waves: list[int]
    known: int
    cumulative: bool
    treated_units: np.ndarray
    comparison: ComparisonArm | None
    spans: np.ndarray
    #: the one period measured (``per_period``: ``treated_units`` is that period's units);
    #: None: ``treated_units`` sums each wave's window
    period: int | None = None
    #: ``to_date``: the last period measured (``treated_units`` sums each wave's window up to
    #: it); None: not a result to date
    upto: int | None = None


def evaluation_triggers(ev: Evaluation, u: np.ndarray, arms: list[str], size: xr.DataArray,
                        entry: np.ndarray) -> list[_Trigger]:
    """The triggers of one evaluation: per wave (or per wave and period), then pooled.

    ``u``: :func:`outcome_units` of the evaluation, (draw, arm, wave, period); ``size``:
    :func:`in_strata` of the dataset's ``size`` (arm, wave); ``entry``: entry period of each
    wave. Shared with :mod:`sibsim.analysis.power` and
    :mod:`sibsim.analysis.evaluation_design`, which compute the same triggers' power."""
    W, P = len(entry), u.shape[-1]
    n_t = size.sel(arm="treatment").values  # (W,)
    first, last = _windows(ev, entry, P, n_t)
    t = np.arange(P)[None, :]
    mask = (t >= first[:, None]) & (t <= last[:, None])  # (W, P): period t in wave w's window
    u_t = u[:, arms.index("treatment")]  # (D, W, P)
    treated = _window_sums(u_t, mask)  # (D, W): (u_t * mask[None]).sum(-1)
    u_c = n_c = comparison = None
    if ev.needs_comparison:
        u_c = u[:, arms.index("comparison")]
        n_c = size.sel(arm="comparison").values
        comparison = ComparisonArm(units=_window_sums(u_c, mask), size=n_c)
    lag, ones = ev.report_lag, np.ones(W, dtype=np.int64)
    out = []
    if ev.to_date:
        out.extend(_to_date_triggers(ev, u_t, u_c, n_t, n_c, mask))
    if ev.per_wave and not ev.to_date:
        for w in range(W):
            if n_t[w] <= 0:
                continue
            if not ev.per_period:
                out.append(_Trigger([w], int(last[w]) + lag, False, treated, comparison, ones))
                continue
            for p in range(int(first[w]), int(last[w]) + 1):
                arm = None if u_c is None else ComparisonArm(units=u_c[:, :, p], size=n_c)
                out.append(_Trigger([w], p + lag, False, u_t[:, :, p], arm, ones, p))
    if ev.pooled:
        spans = np.maximum(last - first + 1, 0) if ev.per_period else ones
        out.append(_Trigger(list(range(W)), int(last.max()) + lag, ev.per_wave, treated,
                            comparison, spans))
    return out


def _to_date_triggers(ev: Evaluation, u_t: np.ndarray, u_c: np.ndarray | None,
                      n_t: np.ndarray, n_c: np.ndarray | None,
                      mask: np.ndarray) -> list[_Trigger]:
    """The triggers of a ``to_date`` evaluation: one per period from the first window period
    of a wave with people to the last, each measuring every wave's window up to that period
    (a top-up of what was committed under the metric before)."""
    has = n_t > 0
    periods = np.flatnonzero(mask[has].any(0))
    spans_to = np.cumsum(mask, axis=1)  # (W, P): window periods of each wave up to p
    treated = np.cumsum(u_t * mask[None], axis=-1)  # (D, W, P): units to date
    compared = None if u_c is None else np.cumsum(u_c * mask[None], axis=-1)
    out = []
    for p in range(int(periods.min()), int(periods.max()) + 1):
        spans = spans_to[:, p]
        waves = [w for w in range(len(n_t)) if has[w] and spans[w] > 0]
        arm = None if compared is None or n_c is None else ComparisonArm(
            units=compared[:, :, p], size=n_c)
        out.append(_Trigger(waves, p + ev.report_lag, True, treated[:, :, p], arm, spans,
                            None, p))
    return out


def person_periods(mask: np.ndarray, n_t: np.ndarray, waves: Sequence[int],
                   period: int | None = None, upto: int | None = None) -> float:
    """Person-periods a trigger measures: its treated participants times the periods of each
    wave's window it covers (one with ``period``; those up to ``upto`` for a result to date;
    else the whole window). ``mask`` (W, P): the windows; ``n_t`` (W,): treated per wave.

    Examples
    --------
    >>> mask = np.array([[True, True, False], [False, True, True]])
    >>> n = np.array([10, 20])
    >>> person_periods(mask, n, [0, 1]), person_periods(mask, n, [0, 1], upto=1)
    (60.0, 40.0)
    """
    if period is not None:
        return float(np.asarray(n_t)[list(waves)].sum())
    m = mask if upto is None else mask[:, :upto + 1]
    return float((np.asarray(n_t, float) * m.sum(1))[list(waves)].sum())


def measured_periods(mask: np.ndarray, waves: Sequence[int], period: int | None = None,
                     upto: int | None = None) -> np.ndarray:
    """The periods a trigger measures in each of its waves, ``(len(waves), P)``: 1 where
    measured, else 0 (:attr:`Measured.periods`): the trigger's one ``period`` (``per_period``),
    each wave's window up to ``upto`` (a result to date), else each wave's whole window.
    ``mask`` (W, P): the windows.

    Examples
    --------
    >>> mask = np.array([[True, True, False], [False, True, True]])
    >>> measured_periods(mask, [0, 1], upto=1).tolist()
    [[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    >>> measured_periods(mask, [1], period=2).tolist()
    [[0.0, 0.0, 1.0]]
    """
    m = np.asarray(mask, dtype=bool)[list(waves)]
    if period is not None:
        out = np.zeros(m.shape)
        out[:, period] = 1.0
        return out
    if upto is not None:
        m = m.copy()
        m[:, upto + 1:] = False
    return m.astype(float)


def _target_met(ev: Evaluation, units: np.ndarray, person_periods: float) -> np.ndarray:
    """Whether each draw's improvement per person-period (rounded to the contract's precision)
    reaches the evaluation's ``target_per_person_period``; all True without a target."""
    if ev.target_per_person_period is None:
        return np.ones(np.shape(units), bool)
    per = contract_round(np.asarray(units, float) / person_periods, ev.precision)
    return per >= ev.target_per_person_period


def targets_met(fixed: EvaluationFixed, units: np.ndarray,
                shares: np.ndarray | None = None) -> np.ndarray:
    """Whether the units of every trigger (D, K), in :func:`evaluate`'s order, reach their
    evaluation's ``target_per_person_period`` (True where there is none): for results replaced
    after :func:`evaluate` (a replay). ``shares`` (D, K): the enrolled share of each trigger
    (:func:`sibsim.money.estimand.trigger_shares`; per enrolled person-period), None: 1."""
    cols, k = [], 0
    for part in fixed.parts:
        for trig in part.triggers:
            pp: Any = trig.person_periods
            if shares is not None and part.ev.estimand == "treated":
                pp = np.where(shares[:, k] > 0, pp * shares[:, k], pp)
            cols.append(_target_met(part.ev, units[:, k], pp))
            k += 1
    return np.stack(cols, 1) if cols else np.ones(np.shape(units), bool)


def unit_values(fixed: EvaluationFixed) -> np.ndarray:
    """Currency per outcome unit of every trigger (D, K), in :func:`evaluate`'s order: a money
    evaluation's mean value over the person-periods the trigger measures
    (``Evaluation.money``), 1 for an evaluation in outcome units. ``units / unit_values`` are
    a money trigger's units back in outcome units (without its dispersion)."""
    cols = [np.ones(len(fixed.draws)) if trig.value is None else np.asarray(trig.value, float)
            for part in fixed.parts for trig in part.triggers]
    return np.stack(cols, 1) if cols else np.ones((len(fixed.draws), 0))


def _sample_for_draws(dist: Distribution, name: str, seed: int, draws: np.ndarray) -> np.ndarray:
    """Values of an evaluation parameter for the draws with global indices ``draws`` (the
    outcome dataset's ``draw`` coordinate: a block of a longer run, or any selection of its
    draws, gets the values the whole run gives those draws)."""
    draws = np.asarray(draws, dtype=np.int64)
    if draws.size == 0:
        return np.zeros(0)
    lo, hi = int(draws.min()), int(draws.max()) + 1
    vals = sample_parameter(dist, name, seed, lo, hi)
    return vals if hi - lo == draws.size and np.all(np.diff(draws) == 1) else vals[draws - lo]


class _FixedTrigger(NamedTuple):
    """What one trigger needs besides the treated arm's outcomes (see :class:`EvaluationFixed`):
    its waves, when it is known, whether it is a top-up, its treated participants, the period
    it measures (None: each wave's window) and its counterfactual rate and variance (D,)."""

    waves: list[int]
    known: int
    cumulative: bool
    participants: float
    period: int | None
    c_rate: np.ndarray
    c_var: np.ndarray
    #: ``to_date``: the last period measured (see :class:`_Trigger`)
    upto: int | None = None
    #: treated person-periods measured (for ``target_per_person_period``)
    person_periods: float = math.nan
    #: money evaluations: currency per outcome unit over the periods measured (D,) (scales
    #: the gate's variance); None: outcome units
    value: np.ndarray | None = None
    #: trigger spans of each wave (W,) (weights of the enrolled share, ``estimand="treated"``)
    spans: np.ndarray | None = None


class _FixedEvaluation(NamedTuple):
    """One evaluation's :class:`_FixedTrigger` s and its window mask (W, P)."""

    ev: Evaluation
    mask: np.ndarray
    triggers: list[_FixedTrigger]
    #: money evaluations: currency per outcome unit (D, P), and the dispersion's normal draws
    #: of the treated arm (D, W, P) (None without ``cv``)
    scale: np.ndarray | None = None
    noise: np.ndarray | None = None
    #: money evaluations with ``money.effect``: the effect on the engaged treated
    #: participants' money per unit in each draw (D,); None: no effect
    ratio: np.ndarray | None = None


class EvaluationFixed(NamedTuple):
    """The parts of :func:`evaluate` that do not depend on the treated arm's outcomes: the
    checks, the evaluation parameters, the comparison arm and every trigger's counterfactual
    rate, computed once by :func:`evaluation_fixed` and reused for datasets that differ only
    in the treated arm's events and occupancy (the break-even search)."""

    evaluations: tuple[Evaluation, ...]
    draws: np.ndarray
    parts: list[_FixedEvaluation]


def _window_mask(ev: Evaluation, entry: np.ndarray, n_periods: int,
                 treated: np.ndarray) -> np.ndarray:
    """(W, P): period t in wave w's window (as :func:`evaluation_triggers`)."""
    first, last = _windows(ev, entry, n_periods, treated)
    t = np.arange(n_periods)[None, :]
    return (t >= first[:, None]) & (t <= last[:, None])


def _prepare(ds: xr.Dataset, ev: Evaluation, seed: int
             ) -> tuple[_FixedEvaluation, np.ndarray]:
    """One evaluation's :class:`_FixedEvaluation` and the treated arm's outcome units
    (D, W, P) of ``ds``."""
    entry = ds["entry_period"].values
    arms = list(ds["arm"].values)
    design = ev.design
    if design.needs_comparison and "comparison" not in arms:
        raise _no_comparison(ev)
    ev.check_scenario(list(ds["stratum"].values), len(entry))
    ev.check_groups(ds["size"].transpose("arm", "wave", "stratum").values,
                    list(ds["stratum"].values),
                    own_entry=bool(ds.attrs.get("strata_own_entry", 0)))
    size = in_strata(ds["size"], ev)  # (arm, wave)
    n_t = size.sel(arm="treatment").values  # (W,)
    if not n_t.sum() > 0:
        raise v.fail(f"Evaluation[{ev.metric}].stratum", ev.stratum,
                     "strata with treated participants in at least one entry wave")
    params = {name: _sample_for_draws(dist, name, seed, ds["draw"].values)
              for name, dist in ev.parameters().items()}
    u = outcome_units(ds, ev).values  # (D, A, W, P)
    params.update(design.period_draws(ev.metric, seed, ds["draw"].values, u.shape[-1],
                                      int(ds.attrs["periods_per_year"])))
    triggers = []
    mask = _window_mask(ev, entry, u.shape[-1], n_t)
    scale = noise = None
    ratio = None
    if ev.money is not None:  # a money evaluation: outcome units valued period by period
        scale = ev.money.scale(params, ev.metric, u.shape[0], u.shape[-1],
                               int(ds.attrs["periods_per_year"]))
        z = ev.money.noise(ev.metric, seed, ds["draw"].values, u.shape[1:])
        ratio = ev.money.ratio(params, ev.metric, u.shape[0])
        ti = arms.index("treatment")
        factor = (None if ratio is None  # the engaged treated participants' money per unit
                  else ev.money.engaged_factor(u[:, ti], engaged_units(ds, ev), ratio))
        u = ev.money.value(u, scale[:, None, None, :], z)
        if factor is not None:
            u[:, ti] = u[:, ti] * factor
        noise = None if z is None else z[:, ti]
    for trig in evaluation_triggers(ev, u, arms, size, entry):
        waves = trig.waves
        by_wave = value = None
        if scale is not None:
            by_wave = _wave_values(scale, mask, waves, trig.period, trig.upto)
            value = _mean_value(scale, mask, n_t, waves, trig.period, trig.upto)
        measured = Measured(waves=waves, treated=n_t[waves], spans=trig.spans[waves],
                            value=by_wave,
                            periods=measured_periods(mask, waves, trig.period, trig.upto),
                            scale=scale)
        c_rate, c_var = design.counterfactual(ev.metric, params, trig.comparison, measured)
        triggers.append(_FixedTrigger(waves, int(trig.known), bool(trig.cumulative),
                                      n_t[waves].sum(), trig.period, c_rate, c_var, trig.upto,
                                      person_periods(mask, n_t, waves, trig.period, trig.upto),
                                      value, trig.spans))
    return (_FixedEvaluation(ev, mask, triggers, scale, noise, ratio),
            u[:, arms.index("treatment")])


def _wave_values(scale: np.ndarray, mask: np.ndarray, waves: Sequence[int],
                 period: int | None, upto: int | None) -> np.ndarray:
    """Currency per outcome unit of each of a trigger's waves (D, len(waves)): ``scale``
    (D, P) at its one period, else the mean over the periods of the wave's window it measures
    (up to ``upto``).

    Examples
    --------
    >>> scale = np.array([[1.0, 2.0, 4.0]])
    >>> mask = np.array([[True, True, False], [False, True, True]])
    >>> _wave_values(scale, mask, [0, 1], None, None).tolist()
    [[1.5, 3.0]]
    """
    if period is not None:
        return np.repeat(scale[:, period:period + 1], len(waves), axis=1)
    m = (mask if upto is None else mask[:, :upto + 1])[list(waves)].astype(float)
    counts = m.sum(1)
    out = scale[:, :m.shape[1]] @ m.T / np.where(counts > 0, counts, 1.0)
    return np.where(counts > 0, out, scale[:, :1])


def _mean_value(scale: np.ndarray, mask: np.ndarray, n_t: np.ndarray, waves: Sequence[int],
                period: int | None, upto: int | None) -> np.ndarray:
    """Currency per outcome unit over what a trigger measures (D,): ``scale`` (D, P) at its
    one period, else averaged over the person-periods of its waves' windows (up to ``upto``).

    Examples
    --------
    >>> scale = np.array([[1.0, 2.0, 4.0]])
    >>> mask = np.array([[True, True, False], [False, True, True]])
    >>> _mean_value(scale, mask, np.array([1.0, 3.0]), [0, 1], None, None).tolist()
    [2.625]
    """
    if period is not None:
        return scale[:, period]
    m = mask if upto is None else mask[:, :upto + 1]
    weights = (np.asarray(n_t, float)[list(waves), None] * m[list(waves)]).sum(0)
    total = weights.sum()
    if not total > 0:
        return scale[:, 0]
    return scale[:, :len(weights)] @ weights / total


def evaluation_fixed(ds: xr.Dataset, evaluations: tuple[Evaluation, ...],
                     seed: int) -> EvaluationFixed:
    """The :class:`EvaluationFixed` parts of measuring ``evaluations`` on ``ds`` (pass it to
    :func:`evaluate` for ``ds`` or a dataset that differs only in the treated arm)."""
    ds = in_schema_order(ds)
    return EvaluationFixed(tuple(evaluations), np.asarray(ds["draw"].values),
                           [_prepare(ds, ev, seed)[0] for ev in evaluations])


def _treated_units(ds: xr.Dataset, ev: Evaluation, mask: np.ndarray | None = None
                   ) -> np.ndarray:
    """The treated arm's outcome units (D, W, P): :func:`outcome_units` of that arm alone (its
    checks were made by :func:`evaluation_fixed`), the same numbers to the last bit.

    ``mask`` (W, P): each wave's window; the units' sums over it (D, W) are returned instead
    (:func:`_window_sums` of the units, without them in between)."""
    da = ds["events" if ev.outcome == "events" else "occupancy"]
    pick = {"arm": "treatment"}
    if "process" in da.dims:
        pick["process"] = ev.process
    if ev.outcome != "events":
        pick["state"] = ev.state
    dims = list(da.dims)
    if (not isinstance(pick.get("state", ""), str)  # a set of states, summed over them
            or [d for d in dims if d not in pick] != ["draw", "wave", "stratum", "period"]
            or da.dtype != np.float64):  # or not the usual layout: the labelled way
        i = list(ds["arm"].values).index("treatment")
        units = outcome_units(ds.isel(arm=slice(i, i + 1)), ev).values[:, 0]
        return units if mask is None else _window_sums(units, mask)
    index: list[Any] = [slice(None)] * len(dims)
    for dim, label in pick.items():
        index[dims.index(dim)] = int(ds.indexes[dim].get_loc(label))
    x = da.values[tuple(index)]
    strata = list(ds["stratum"].values)
    chosen = np.array([strata.index(s) for s in (ev.stratum or strata)], dtype=np.int64)
    if mask is not None and x.shape[3] <= PAIRWISE_BLOCK and mask.shape == (x.shape[1],
                                                                            x.shape[3]):
        sums = np.empty(x.shape[:2])
        strata_window_sums(x, chosen, np.ascontiguousarray(mask, dtype=np.float64), sums)
        return sums
    out = np.empty((x.shape[0], x.shape[1], x.shape[3]))
    sum_strata(x, chosen, out)
    return out if mask is None else _window_sums(out, mask)


def _window_sums(u: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(u * mask[None]).sum(-1)`` of units ``u`` (D, W, P) in each wave's window ``mask``
    (W, P): the same numbers to the last bit (numpy's pairwise sum, in
    :func:`sibsim.money.kernels.chain.masked_period_sums`), without the (D, W, P) temporary."""
    if u.ndim != 3 or u.dtype != np.float64 or u.shape[-1] > PAIRWISE_BLOCK:
        return (u * mask[None]).sum(-1)
    out = np.empty(u.shape[:2])  # u read where it lies (one arm of the units: no copy)
    masked_period_sums(u, np.ascontiguousarray(mask, dtype=np.float64), out)
    return out


def _valued(part: _FixedEvaluation, u_t: np.ndarray, ds: xr.Dataset) -> np.ndarray:
    """The treated arm's units (D, W, P) in money for a money evaluation (as in
    :func:`_prepare`; its engaged participants' units from ``ds`` with ``money.effect``),
    else as they are."""
    ev = part.ev
    if ev.money is None or part.scale is None:
        return u_t
    factor = (None if part.ratio is None
              else ev.money.engaged_factor(u_t, engaged_units(ds, ev), part.ratio))
    return ev.money.value(u_t, part.scale[:, None, :], part.noise, factor)


def _given_window_sums(given: Mapping[int, tuple[np.ndarray, np.ndarray]] | None, i: int,
                       mask: np.ndarray, n_draws: int) -> np.ndarray | None:
    """The first ``len(mask)`` columns of evaluation ``i``'s window sums in ``given`` (see
    :func:`evaluate`) when its mask begins with ``mask`` (W, P) and it has ``n_draws`` rows;
    else None."""
    hit = None if given is None else given.get(i)
    if hit is None:
        return None
    g_mask, sums = hit
    n = mask.shape[0]
    if (g_mask.shape[0] < n or g_mask.shape[1:] != mask.shape[1:] or sums.shape[0] != n_draws
            or not np.array_equal(g_mask[:n], mask)):
        return None
    return sums[:, :n]


def trigger_terms(ev: Evaluation, participants: float, valued: bool = False) -> TriggerTerms:
    """The scalars of one of ``ev``'s triggers for
    :func:`~sibsim.money.kernels.chain.measure_trigger` (``participants``: its treated
    participants; ``valued``: a money evaluation's variance scale applies)."""
    assert not valued or ev.money is not None
    return TriggerTerms(
        float(participants), float(participants**2), ev.direction == "reduce",
        ev.alpha is not None, float(stats.norm.isf(ev.alpha)) if ev.alpha is not None else 0.0,
        valued, float(1.0 + ev.money.cv**2) if valued else 1.0,  # type: ignore[union-attr]
        *_rounding(ev.precision), float(ev.avoided_cost_per_unit))


def evaluate(ds: xr.Dataset, evaluations: tuple[Evaluation, ...], seed: int,
             fixed: EvaluationFixed | None = None, *,
             window_sums: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
             given_sums: Mapping[int, tuple[np.ndarray, np.ndarray]] | None = None,
             ) -> EvaluationTable:
    """Measure every evaluation on a simulated outcome dataset.

    ``seed`` keys the evaluation's own uncertain parameters (bias, historical rate), sampled per
    draw like the scenario's parameters, for the global draw indices in ``ds["draw"]`` (so a
    block of draws is measured exactly as in the whole run). Measured effects are rounded to
    each evaluation's ``precision`` (:func:`contract_round`); units are not.

    ``fixed``: :func:`evaluation_fixed` of the same evaluations and seed on a dataset that
    differs from ``ds`` at most in the treated arm's events and occupancy (the comparison arm,
    sizes and parameters are taken from it); the result is the same to the last bit.

    ``window_sums`` (with ``fixed``): a dict filled with ``{i: (mask, sums)}`` for each
    evaluation ``i`` whose triggers read the treated arm's units summed over each wave's
    window: its window mask (W, P) and those sums (D, W). ``given_sums``: such a dict from
    the same evaluations on a dataset whose first waves are those of ``ds`` (a
    cancellation's cohorts that ran, :mod:`sibsim.money.cancellation`): an evaluation whose
    window mask is the first rows of the given one takes its first columns instead of summing
    the units again (each wave's sum is its own: the same numbers).
    """
    ds = in_schema_order(ds)
    D = ds.sizes["draw"]
    if fixed is not None and (fixed.evaluations != tuple(evaluations)
                              or not np.array_equal(fixed.draws, ds["draw"].values)):
        raise v.fail("evaluate.fixed", "the parts of other evaluations or draws",
                     "evaluation_fixed(ds, evaluations, seed) of these evaluations and draws")
    metric, period, cumulative, participants = [], [], [], []
    effects, units, gates, values, waves = [], [], [], [], []
    # with the fixed parts the triggers are known: their columns are written in place (the
    # same numbers as stacking them afterwards)
    n_triggers = None if fixed is None else sum(len(part.triggers) for part in fixed.parts)
    table = None if n_triggers is None else (
        np.empty((D, n_triggers)), np.empty((D, n_triggers)), np.empty((D, n_triggers)),
        np.empty((D, n_triggers), bool))  # measured effect, units, avoided cost, gate
    j = 0  # the trigger's column
    for i, ev in enumerate(evaluations):
        if fixed is None:
            part, u_t = _prepare(ds, ev, seed)
        else:
            part = fixed.parts[i]
            # triggers on whole windows of units not valued in money read the windows' sums
            # alone (computed below without the units in between); others read the units
            windows = all(t.upto is None and t.period is None for t in part.triggers) and (
                ev.money is None or part.scale is None)
            u_t = None if windows else _valued(part, _treated_units(ds, ev), ds)
        treated = to_date = None
        # the usual trigger in one kernel pass (measure_trigger); the no-show adjustment and
        # an absolute target take the numpy path
        fast = ev.estimand != "treated" and ev.target_per_person_period is None
        if ev.estimand == "treated":  # Bloom's no-show adjustment (sibsim.money.estimand)
            n_all = in_strata(ds["size"], ev).sel(arm="treatment").values
            took_up = enrolled(ds, ev)  # (D, W)
        for trig in part.triggers:
            if trig.upto is not None:  # a result to date: each wave's window up to trig.upto
                if to_date is None:
                    to_date = np.cumsum(u_t * part.mask[None], axis=-1)  # (D, W, P)
                t_units = to_date[:, trig.waves, trig.upto].sum(1)
            elif trig.period is not None:
                t_units = u_t[:, :, trig.period][:, trig.waves].sum(1)
            else:
                if treated is None and u_t is None:  # (D, W), the units' window sums
                    treated = _given_window_sums(given_sums, i, part.mask, D)
                    if treated is None:
                        treated = _treated_units(ds, ev, part.mask)
                    if window_sums is not None:
                        window_sums[i] = (part.mask, treated)
                elif treated is None:
                    treated = _window_sums(u_t, part.mask)
                t_units = treated[:, trig.waves].sum(1)
            nt = trig.participants
            metric.append(ev.metric)
            period.append(trig.known)
            cumulative.append(trig.cumulative)
            participants.append(int(nt))
            waves.append(tuple(int(w) for w in trig.waves))
            if fast and nt > 0:  # one pass over the draws (the same numbers, bit for bit)
                cols = ((np.empty(D), np.empty(D), np.empty(D), np.empty(D, bool))
                        if table is None else tuple(a[:, j] for a in table))
                c_rate, c_var = (np.broadcast_to(np.asarray(x, dtype=np.float64), (D,))
                                 for x in (trig.c_rate, trig.c_var))
                valued = trig.value is not None and ev.money is not None
                terms = trigger_terms(ev, nt, valued)
                value = (np.broadcast_to(np.asarray(trig.value, dtype=np.float64), (D,))
                         if valued else c_rate)
                if measure_trigger(np.ascontiguousarray(t_units, dtype=np.float64), c_rate,
                                   c_var, value, terms, *cols):
                    if table is None:
                        effects.append(cols[0])
                        units.append(cols[1])
                        values.append(cols[2])
                        gates.append(cols[3])
                    j += 1
                    continue
            t_rate = t_units / nt
            c_rate, c_var = trig.c_rate, trig.c_var
            diff = (c_rate - t_rate) if ev.direction == "reduce" else (t_rate - c_rate)
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.where(c_rate > 0, diff / np.where(c_rate > 0, c_rate, 1.0), 0.0)
            gate = np.ones(D, bool)
            if ev.alpha is not None:
                var = t_units / nt**2 + c_var
                if trig.value is not None and ev.money is not None:
                    # money: a unit's variance is value**2 (1 + cv**2), its mean value
                    var = var * trig.value * (1.0 + ev.money.cv**2)
                se = np.sqrt(var)
                z = np.where(se > 0, diff / np.where(se > 0, se, 1.0), 0.0)
                gate = z > stats.norm.isf(ev.alpha)
            n_units = diff * nt
            pp: Any = trig.person_periods
            if ev.estimand == "treated":
                share = enrolled_share(took_up, n_all, trig.waves, trig.spans)
                rel, n_units, gate = on_the_treated(rel, n_units, gate, share)
                pp = np.where(share > 0, pp * share, pp)  # enrolled person-periods
            if ev.target_per_person_period is not None:  # an absolute target
                gate = gate & _target_met(ev, n_units, pp)
            results = (contract_round(rel, ev.precision), n_units,
                       n_units * ev.avoided_cost_per_unit, gate)
            if table is None:
                effects.append(results[0])
                units.append(results[1])
                values.append(results[2])
                gates.append(results[3])
            else:
                for a, x in zip(table, results, strict=True):
                    a[:, j] = x
            j += 1
    if table is None:
        table = (np.stack(effects, 1), np.stack(units, 1), np.stack(values, 1),
                 np.stack(gates, 1))
    # the arrays were made here: handed to the table, not copied
    return EvaluationTable._handed(metric=tuple(metric), period=tuple(period),
                                   cumulative=tuple(cumulative),
                                   participants=tuple(participants), measured_effect=table[0],
                                   units=table[1], avoided_cost=table[2], gate=table[3],
                                   waves=tuple(waves))
