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
* :class:`BeforeAfter` (``"before_after"``): the same people before the service; the scenario's
  comparison arm (``ComparisonGroup(ratio=1)``) plays their "before" period, and ``bias`` can
  represent a secular trend or regression to the mean.

Each entry wave can be measured on its own (``per_wave``) and all waves pooled (``pooled``);
each is one *trigger* of the contract (see :class:`sibsim.money.results.EvaluationTable`).
An optional significance gate (a one-sided z-test at level ``alpha`` on the difference of rates,
with Poisson variances) must pass before a trigger pays.

Conventions
-----------
* The window of wave ``w`` covers periods ``entry(w), ..., entry(w) + window - 1``; its result is
  known in period ``entry(w) + window - 1 + report_lag`` (the pooled result after the last wave's).
* ``rate`` = outcome units per participant over the window: events (``outcome="events"``) or
  person-periods in ``state`` (``outcome="occupancy"``).
* ``direction="reduce"``: measured effect = ``1 - treated_rate / counterfactual_rate``, units =
  ``(counterfactual_rate - treated_rate) * participants`` (events avoided);
  ``direction="increase"``: measured effect = ``treated_rate / counterfactual_rate - 1``, units =
  ``(treated_rate - counterfactual_rate) * participants``.

Examples
--------
>>> from sibsim.spec import Normal
>>> ev = Evaluation("reconviction", design=Matched(bias=Normal(0.0, 0.02)), report_lag=1)
>>> ev.design.kind, sorted(ev.parameters())
('matched', ['evaluation.reconviction.bias'])
>>> Evaluation("reconviction", design="matched", bias=0.05).design   # the older flat spelling
Matched(bias=Fixed(value=0.05))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import xarray as xr
from scipy import stats

from sibsim.engine.parameters import sample_parameter
from sibsim.money.results import EvaluationTable
from sibsim.spec import _validate as v
from sibsim.spec.distributions import Distribution, as_distribution, require_support
from sibsim.spec.toml import Section
from sibsim.spec.variant import Registry, Spec, param

__all__ = [
    "EVALUATION_DESIGNS",
    "RCT",
    "BeforeAfter",
    "ComparisonArm",
    "Evaluation",
    "EvaluationDesign",
    "Historical",
    "Matched",
    "check_evaluations",
    "evaluate",
]

#: The evaluation designs, by TOML ``kind``: ``"rct"``, ``"matched"``, ``"historical"``,
#: ``"before_after"``.
EVALUATION_DESIGNS = Registry("evaluation design")


class _Uncertain(v.Constraint):
    """A number (kept as a :class:`Fixed` value) or a distribution whose support lies in
    ``[low, high]``."""

    def __init__(self, low: float, high: float, what: str) -> None:
        self.low, self.high, self.what = low, high, what
        self.description = f"{what}: a number or a distribution with values in [{low:g}, {high:g}]"

    def __call__(self, field: str, value: object) -> Distribution:
        return require_support(field, as_distribution(field, value), self.low, self.high,
                               self.what)


class ComparisonArm(NamedTuple):
    """The concurrent comparison arm of one evaluation, per entry wave.

    ``units``: outcome units in each wave's follow-up window, shape ``(draws, waves)``;
    ``size``: participants per wave, shape ``(waves,)``.
    """

    units: np.ndarray
    size: np.ndarray


# --------------------------------------------------------------------------- designs
class EvaluationDesign(Spec):
    """Base of the evaluation designs: where the counterfactual rate comes from.

    A design declares its fields with :func:`~sibsim.spec.variant.param`, its uncertain inputs
    (:meth:`parameters`), whether it needs a concurrent comparison arm
    (``needs_comparison``) and computes the counterfactual rate of a group of waves
    (:meth:`counterfactual`). Register a new design with ``@EVALUATION_DESIGNS.register``.
    """

    #: The design compares the treated cohort with the scenario's comparison arm.
    needs_comparison = True

    def parameters(self, metric: str) -> dict[str, Distribution]:
        """Uncertain inputs of the design for ``metric``, by parameter name."""
        return {}

    def counterfactual(self, metric: str, params: Mapping[str, np.ndarray],
                       comparison: ComparisonArm | None,
                       waves: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Counterfactual rate per participant over the window of the waves ``waves``, per
        draw, and its (Poisson) variance: two arrays of shape ``(draws,)``.

        ``params`` holds the draws of :meth:`parameters`; ``comparison`` is the comparison arm
        (``None`` when ``needs_comparison`` is false).
        """
        raise NotImplementedError


def _comparison_rate(comparison: ComparisonArm | None, waves: Sequence[int],
                     scale: Any) -> tuple[np.ndarray, np.ndarray]:
    """The comparison arm's rate over ``waves`` times ``scale``, and its Poisson variance."""
    assert comparison is not None
    nc = comparison.size[waves].sum()
    c_units = comparison.units[:, waves].sum(1)
    return c_units / max(nc, 1) * scale, c_units / max(nc, 1) ** 2 * scale**2


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
                       waves: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        return _comparison_rate(comparison, waves, 1.0)


@dataclass(frozen=True)
class _BiasedComparison(EvaluationDesign):
    """A comparison arm whose rate is off by a relative ``bias`` (matched, before-after)."""

    bias: float | Distribution = param(
        _Uncertain(-np.inf, np.inf, "a relative bias"), default=0.0, uncertain=True,
        doc="relative bias of the comparison rate (fraction, e.g. 0.02 = 2% too high); "
            "number or distribution")

    def parameters(self, metric: str) -> dict[str, Distribution]:
        return {f"evaluation.{metric}.bias": self.bias}  # type: ignore[dict-item]

    def counterfactual(self, metric: str, params: Mapping[str, np.ndarray],
                       comparison: ComparisonArm | None,
                       waves: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        scale = np.maximum(1.0 + params[f"evaluation.{metric}.bias"], 0.0)
        return _comparison_rate(comparison, waves, scale)


@EVALUATION_DESIGNS.register
@dataclass(frozen=True)
class Matched(_BiasedComparison):
    """A matched comparison group, possibly biased: the counterfactual is the comparison arm's
    rate times ``max(0, 1 + bias)``.

    Parameters
    ----------
    bias : float or Distribution
        Relative bias of the comparison rate (a fraction; sampled per draw if uncertain, as
        parameter ``evaluation.<metric>.bias``).

    Examples
    --------
    >>> from sibsim.spec import Normal
    >>> Matched(bias=Normal(0.0, 0.02)).bias
    Normal(mu=0.0, sd=0.02)
    """

    kind = "matched"


@EVALUATION_DESIGNS.register
@dataclass(frozen=True)
class Historical(EvaluationDesign):
    """No concurrent group: the counterfactual is a historical (predicted) rate.

    Parameters
    ----------
    historical_rate : float or Distribution
        Outcome units per participant over the window, >= 0 (sampled per draw if uncertain, as
        parameter ``evaluation.<metric>.historical_rate``).

    Examples
    --------
    >>> from sibsim.spec import Gamma
    >>> Historical(historical_rate=Gamma.from_mean_sd(2.8, 0.1)).needs_comparison
    False
    """

    kind = "historical"
    needs_comparison = False

    historical_rate: float | Distribution = param(
        _Uncertain(0.0, np.inf, "a rate (>= 0)"), uncertain=True,
        doc="counterfactual outcome units per participant over the window (>= 0); number or "
            "distribution")

    def parameters(self, metric: str) -> dict[str, Distribution]:
        return {f"evaluation.{metric}.historical_rate": self.historical_rate}  # type: ignore

    def counterfactual(self, metric: str, params: Mapping[str, np.ndarray],
                       comparison: ComparisonArm | None,
                       waves: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        rate = params[f"evaluation.{metric}.historical_rate"]
        return rate, np.zeros(len(rate))


@EVALUATION_DESIGNS.register
@dataclass(frozen=True)
class BeforeAfter(_BiasedComparison):
    """The same people before the service: the scenario's comparison arm
    (``ComparisonGroup(ratio=1)``) plays their "before" period, its rate times
    ``max(0, 1 + bias)`` (``bias``: a secular trend or regression to the mean).

    Parameters
    ----------
    bias : float or Distribution
        Relative bias of the "before" rate (a fraction; parameter ``evaluation.<metric>.bias``).

    Examples
    --------
    >>> BeforeAfter(bias=-0.2).kind
    'before_after'
    """

    kind = "before_after"


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


@dataclass(frozen=True)
class Evaluation(Spec):
    """How the evaluator measures the effect of one outcome metric.

    Parameters
    ----------
    metric : str
        Name of the outcome metric (matches the contract's ``MetricTerms.metric``).
    design : EvaluationDesign or str
        Where the counterfactual comes from: :class:`RCT` (default), :class:`Matched`,
        :class:`Historical` or :class:`BeforeAfter`. A kind name (``"matched"``) is the older
        spelling: the design is then built from the flat ``bias`` / ``historical_rate``.
    window : int
        Follow-up periods per participant, from entry (Peterborough: 1 year after release).
    outcome : {"events", "occupancy"}
        Measure events, or person-periods in ``state``.
    state : str, optional
        The state whose person-periods are measured (``outcome="occupancy"``).
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
        Periods between the end of a window and the result being known.
    value_per_unit : float
        Currency value of one outcome unit, used as ``avoided_cost`` for savings-share rules.
    process : str, optional
        The outcome process measured (its outcome's ``name``); required when the scenario has
        several outcome processes, else optional (it must then name the only one).

    Examples
    --------
    >>> from sibsim.spec import Normal
    >>> Evaluation("reconviction", design=Matched(bias=Normal(0, 0.02)), window=1).design.kind
    'matched'
    >>> Evaluation("reconviction", design="historical", historical_rate=0.6).design
    Historical(historical_rate=Fixed(value=0.6))
    """

    metric: str = param(v.label, doc="name of the outcome metric paid on")
    design: EvaluationDesign | str = param(
        v.instance_of(EvaluationDesign, str), default=RCT(), reader=_read_design,
        doc="where the counterfactual comes from: a design of EVALUATION_DESIGNS")
    window: int = param(v.integer(1), default=1,
                        doc="follow-up periods per participant, from entry")
    outcome: str = param(v.one_of("events", "occupancy"), default="events",
                         doc="measure events, or person-periods in `state`")
    state: str | None = param(v.optional(v.label), default=None,
                              doc="state measured with outcome='occupancy'")
    direction: str = param(v.one_of("reduce", "increase"), default="reduce",
                           doc="whether fewer or more is better")
    per_wave: bool = param(v.flag, default=True, doc="one trigger per entry wave")
    pooled: bool = param(v.flag, default=True, doc="one trigger for all waves pooled")
    bias: float | Distribution | None = param(
        default=None, uncertain=True,
        doc="older flat spelling of the design's bias (with design given as a kind name)")
    historical_rate: float | Distribution | None = param(
        default=None, uncertain=True,
        doc="older flat spelling of the design's historical_rate (with design given as a kind)")
    alpha: float | None = param(v.optional(v.fraction(0.0, 0.5, low_open=True)), default=None,
                                doc="one-sided significance level of the gate; None: no gate")
    report_lag: int = param(v.integer(0), default=0,
                            doc="periods from the end of a window to the result being known")
    value_per_unit: float = param(v.interval(0.0), default=0.0,
                                  doc="currency per outcome unit (avoided cost)")
    process: str | None = param(v.optional(v.label), default=None,
                                doc="the outcome process measured (several processes: required)")

    def validate(self) -> None:
        if self.outcome == "occupancy":
            v.name("Evaluation.state", self.state)
        if not (self.per_wave or self.pooled):
            raise v.fail("Evaluation.per_wave/pooled", (self.per_wave, self.pooled),
                         "at least one of per_wave or pooled")
        self._set("design", _design(self.design, {k: getattr(self, k) for k in _FLAT_KEYS}))
        for k in _FLAT_KEYS:
            self._set(k, None)

    @property
    def needs_comparison(self) -> bool:
        """The design needs the scenario's concurrent comparison arm."""
        return self.design.needs_comparison  # type: ignore[union-attr]

    def parameters(self) -> dict[str, Distribution]:
        """Uncertain inputs of the evaluation, by name (``evaluation.<metric>.<field>``)."""
        return self.design.parameters(self.metric)  # type: ignore[union-attr]


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


def _window_mask(entry: np.ndarray, n_periods: int, window: int) -> np.ndarray:
    """``mask[w, t]``: period ``t`` is in wave ``w``'s follow-up window."""
    t = np.arange(n_periods)[None, :]
    return (t >= entry[:, None]) & (t < entry[:, None] + window)


def _units(ds: xr.Dataset, ev: Evaluation) -> xr.DataArray:
    """Outcome units per draw, arm, wave and period."""
    if "process" in ds.dims:
        names = [str(x) for x in ds["process"].values]
        if ev.process not in names:
            raise v.fail(f"Evaluation[{ev.metric}].process", ev.process,
                         "one of " + ", ".join(repr(n) for n in names)
                         + " (the scenario has several outcome processes)")
        ds = ds.sel(process=ev.process)
        if (ev.outcome == "occupancy" and "state" in ds.dims and ev.state in ds["state"].values
                and np.isnan(ds["occupancy"].sel(state=ev.state)[(0,) * 5].item())):
            raise v.fail("Evaluation.state", ev.state, f"a state of process {ev.process!r}")
    if ev.outcome == "events":
        return ds["events"].sum("stratum", skipna=False)
    if "state" not in ds.dims or ev.state not in ds["state"].values:
        raise v.fail("Evaluation.state", ev.state, "a state of the scenario's Markov/binary "
                     "outcome")
    return ds["occupancy"].sel(state=ev.state).sum("stratum", skipna=False)


def evaluate(ds: xr.Dataset, evaluations: tuple[Evaluation, ...], seed: int) -> EvaluationTable:
    """Measure every evaluation on a simulated outcome dataset.

    ``seed`` keys the evaluation's own uncertain parameters (bias, historical rate), sampled per
    draw like the scenario's parameters.
    """
    D = ds.sizes["draw"]
    P = ds.sizes["period"]
    entry = ds["entry_period"].values
    size = ds["size"].sum("stratum", skipna=False)  # (arm, wave)
    metric, period, cumulative, participants = [], [], [], []
    effects, units, gates, values = [], [], [], []
    for ev in evaluations:
        design = ev.design
        if design.needs_comparison and "comparison" not in ds["arm"].values:
            alone = [c.kind for c in EVALUATION_DESIGNS.classes() if not c.needs_comparison]
            raise v.fail(f"Evaluation[{ev.metric}].design", design.kind,
                         "a design without a concurrent comparison group ("
                         + ", ".join(repr(k) for k in alone)
                         + ") when the scenario has no comparison group")
        late = [w for w, e in enumerate(entry) if e + ev.window > P]
        if late:
            raise v.fail(f"Evaluation[{ev.metric}].window", ev.window,
                         "a follow-up window that ends within the "
                         f"horizon of {P} periods for every entry wave (wave {late[0]} enters "
                         f"in period {entry[late[0]]})")
        params = {name: sample_parameter(dist, name, seed, 0, D)
                  for name, dist in ev.parameters().items()}
        mask = _window_mask(entry, P, ev.window)  # (W, P)
        u = _units(ds, ev).values  # (D, A, W, P)
        arms = list(ds["arm"].values)
        treated = (u[:, arms.index("treatment")] * mask[None]).sum(-1)  # (D, W)
        n_t = size.sel(arm="treatment").values  # (W,)
        comparison = None
        if design.needs_comparison:
            comparison = ComparisonArm(
                units=(u[:, arms.index("comparison")] * mask[None]).sum(-1),  # (D, W)
                size=size.sel(arm="comparison").values)  # (W,)
        groups = []
        if ev.per_wave:
            groups += [([w], False) for w in range(len(entry)) if n_t[w] > 0]
        if ev.pooled:
            groups.append((list(range(len(entry))), True))
        for waves, pooled in groups:
            nt = n_t[waves].sum()
            t_units = treated[:, waves].sum(1)
            t_rate = t_units / nt
            c_rate, c_var = design.counterfactual(ev.metric, params, comparison, waves)
            diff = (c_rate - t_rate) if ev.direction == "reduce" else (t_rate - c_rate)
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.where(c_rate > 0, diff / np.where(c_rate > 0, c_rate, 1.0), 0.0)
            gate = np.ones(D, bool)
            if ev.alpha is not None:
                se = np.sqrt(t_units / nt**2 + c_var)
                z = np.where(se > 0, diff / np.where(se > 0, se, 1.0), 0.0)
                gate = z > stats.norm.isf(ev.alpha)
            last = max(entry[w] for w in waves) + ev.window - 1 + ev.report_lag
            metric.append(ev.metric)
            period.append(int(last))
            cumulative.append(bool(pooled and ev.per_wave))
            participants.append(int(nt))
            effects.append(rel)
            units.append(diff * nt)
            gates.append(gate)
            values.append(diff * nt * ev.value_per_unit)
    return EvaluationTable(metric=tuple(metric), period=tuple(period),
                           cumulative=tuple(cumulative), participants=tuple(participants),
                           measured_effect=np.stack(effects, 1), units=np.stack(units, 1),
                           avoided_cost=np.stack(values, 1), gate=np.stack(gates, 1))
