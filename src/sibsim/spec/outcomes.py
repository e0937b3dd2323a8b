"""Outcome processes: what happens to each person, period by period.

Three kinds are supported, all over a horizon of ``P`` periods (a period is a label: year,
quarter or month; see :class:`sibsim.Scenario`):

* :class:`BinaryOutcome` - an event that happens or not in each period, either recurring or
  first-event-only (absorbing);
* :class:`MarkovOutcome` - a multi-state Markov chain with per-period transition matrices that may
  vary with time since entry (or calendar period), with absorbing states;
* :class:`CountOutcome` - a count of events per person-period: Poisson, or negative binomial for
  over-dispersion.

Each kind is a registered variant (:data:`OUTCOME_KINDS`, looked up by ``kind``): it declares its
fields once (:func:`~sibsim.spec.variant.param`), reads itself from a scenario file's
``[outcome]`` table (:meth:`~sibsim.spec.variant.Spec.from_toml`) and answers the questions the
scenario asks of it (:meth:`Outcome.check_effect`, :attr:`Outcome.baseline`,
:meth:`Outcome.check_baseline`, :meth:`Outcome.parse_baseline`). The engine's side of each kind
(tables and kernels) is registered under the same ``kind`` in
:data:`sibsim.engine.outcome_models.OUTCOME_MODELS`.

Timing convention (all kinds): a participant of entry wave ``w`` is present from the start of
period ``entry(w)``. In each period they *occupy* the state they hold at the start of the period
(one person-period), then make one transition (or have their events) during the period. Events
are counted in the period in which they happen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from sibsim.spec import _validate as v
from sibsim.spec.distributions import (
    Dirichlet,
    Distribution,
    as_distribution,
    require_support,
    within,
)
from sibsim.spec.toml import KeyProblem, Section, parse_distribution, read_pairs
from sibsim.spec.variant import Registry, Spec, param

if TYPE_CHECKING:
    from sibsim.spec.effect import Effect

__all__ = ["OUTCOME_KINDS", "BinaryOutcome", "CountOutcome", "MarkovOutcome", "Outcome"]

CLOCKS = ("entry", "calendar")

#: Largest event rate per person-period a count outcome accepts (including sampled values).
MAX_RATE = 1e6

#: Smallest negative-binomial shape (dispersion) a count outcome accepts (sampled values are
#: checked at simulation time): below it the mean is carried by events too rare to sample.
MIN_DISPERSION = 1e-3

#: The outcome kinds, by their TOML ``kind``: ``OUTCOME_KINDS["binary"] is BinaryOutcome``.
OUTCOME_KINDS = Registry("outcome")


# --------------------------------------------------------------------------- constraints
class _Rate(v.Constraint):
    """A mean event count per person-period: a number or distribution in [0, MAX_RATE]."""

    description = f"an event rate per person-period in [0, {MAX_RATE:g}]"

    def __call__(self, field: str, value: object) -> Distribution:
        r = as_distribution(field, value)
        require_support(field, r, 0.0, np.inf, "an event rate per person-period")
        lo, hi = r.support
        if lo > MAX_RATE or (np.isfinite(hi) and hi > MAX_RATE):
            raise v.fail(field, r.describe(), f"an event rate per person-period of at most "
                         f"{MAX_RATE:g} (unbounded distributions are checked when sampled)")
        return r


class _Shape(v.Constraint):
    """A negative-binomial shape: a number or distribution on [0, inf) that is not all 0."""

    description = "a negative-binomial shape (> 0)"

    def __call__(self, field: str, value: object) -> Distribution:
        k = as_distribution(field, value)
        require_support(field, k, 0.0, np.inf, "a negative-binomial shape (> 0)")
        if k.support[1] < MIN_DISPERSION:
            raise v.fail(field, k.describe(),
                         f"a negative-binomial shape >= {MIN_DISPERSION:g}")
        return k


_PROBABILITY = within(0.0, 1.0, "a probability", fraction=True)
_RATE = _Rate()
_PROFILE = v.optional(v.vector(v.interval(0.0, 1e6)))
_CLOCK = v.one_of(*CLOCKS)


# --------------------------------------------------------------------------- TOML readers
def _matrices_from_toml(key: str, value: Any) -> Any:
    """A matrix (list of rows) or a list of matrices; ``{dist = "dirichlet", ...}`` rows become
    :class:`~sibsim.spec.distributions.Dirichlet` (the outcome checks the shape)."""
    def row(k: str, r: Any) -> Any:
        return parse_distribution(k, r) if isinstance(r, Mapping) else r

    if not isinstance(value, list) or not value:
        raise KeyProblem(key, "expected a matrix (list of rows) or a list of matrices")
    first = value[0]
    if isinstance(first, list) and first and isinstance(first[0], (list, Mapping)):
        for m, mat in enumerate(value):
            if not isinstance(mat, list):
                raise KeyProblem(f"{key}[{m}]", f"expected a matrix (list of rows), got {mat!r}")
        return [[row(f"{key}[{m}][{i}]", r) for i, r in enumerate(mat)]
                for m, mat in enumerate(value)]
    return [row(f"{key}[{i}]", r) for i, r in enumerate(value)]


def read_transitions(sec: Section, key: str) -> Any:
    """Field reader for Markov transition matrices (``transitions``, a stratum's ``baseline``)."""
    return _matrices_from_toml(sec.path(key), sec.get(key))


# --------------------------------------------------------------------------- the kinds
class Outcome(Spec):
    """Common interface of the outcome kinds (registered in :data:`OUTCOME_KINDS`).

    A kind declares ``kind`` (its TOML name) and ``baseline_field`` (the field a stratum's
    ``baseline`` replaces), and implements :meth:`check_baseline` and :meth:`parameters`.
    """

    kind: ClassVar[str] = ""
    #: Name of the field that holds the baseline (probability, rate or transitions).
    baseline_field: ClassVar[str] = ""
    #: The engine gives the treated arm's people who are not engaged ``Effect.organisation``
    #: (an organisation-level effect; count outcomes).
    organisation_effect: ClassVar[bool] = False
    clock: str

    @property
    def baseline(self) -> Any:
        """The baseline parameter: probability, rate or transition matrices."""
        return getattr(self, self.baseline_field)

    def with_baseline(self, value: Any) -> Outcome:
        """A copy with another baseline (e.g. a stratum's), validated like the original."""
        return replace(self, **{self.baseline_field: value})  # type: ignore[type-var]

    def followed(self) -> str | None:
        """The name of the process whose state sets this one's rate (``None``: it follows no
        other process; see :class:`sibsim.spec.state_counts.StateCountOutcome`)."""
        return None

    def check_baseline(self, field: str, value: object) -> Any:
        """Validate a baseline (a stratum's) for this kind; return it normalised."""
        raise TypeError(f"{type(self).__name__} does not define check_baseline")  # pragma: no cover

    @classmethod
    def parse_baseline(cls, sec: Section, key: str) -> Any:
        """Read a baseline written at ``sec[key]`` in a scenario file (``None`` if absent).

        A number or ``{dist = ...}`` table by default; :meth:`check_baseline` validates it.
        """
        return sec.get(key, uncertain=True)

    def check_effect(self, effect: Effect) -> None:
        """Refuse an effect this kind cannot take (raise with the standard message).

        By default the effect acts on the kind's event, so it takes no ``targets``.
        """
        self.check_organisation(effect)
        if effect.targets:
            raise v.fail("Effect.targets", effect.targets,
                         f"no targets for a {self.kind} outcome (the effect acts on its event)")

    def check_organisation(self, effect: Effect) -> None:
        """Refuse ``Effect.organisation`` unless this kind takes it
        (:attr:`organisation_effect`)."""
        if effect.organisation is not None and not self.organisation_effect:
            raise v.fail("Effect.organisation", effect.organisation.describe(),
                         f"none for a {self.kind} outcome (an organisation-level rate ratio "
                         "is for count outcomes)")

    def parameters(self, prefix: str = "baseline") -> dict[str, Distribution]:
        """Uncertain inputs of this process, by parameter name (sampled once per draw)."""
        raise TypeError(f"{type(self).__name__} does not define parameters")  # pragma: no cover


@OUTCOME_KINDS.register
@dataclass(frozen=True)
class BinaryOutcome(Outcome):
    """A yes/no event per person and period (``kind = "binary"``).

    Parameters
    ----------
    probability : float or Distribution
        Baseline probability of the event in a period, in [0, 1] (a fraction: 0.3, not 30).
    recurrent : bool
        ``True``: the event can happen in every period (e.g. "arrested this year");
        ``False``: first event only, after which the person leaves the risk set (absorbing).
    profile : sequence of float, optional
        Hazard multipliers by period of the clock (the last value repeats): the probability in
        clock period ``c`` is ``1 - (1 - probability) ** profile[c]``.
    clock : {"entry", "calendar"}
        Whether ``profile`` is indexed by time since entry or by calendar period.
    name : str
        Name of the event, used in labels.

    Examples
    --------
    >>> BinaryOutcome(probability=0.3, recurrent=False).states
    ('at_risk', 'event')
    >>> from sibsim.spec.toml import Section
    >>> o = OUTCOME_KINDS.from_toml(Section("outcome", {"kind": "binary", "probability": 0.3}))
    >>> o.probability, o.recurrent
    (Fixed(value=0.3), True)
    """

    kind: ClassVar[str] = "binary"
    baseline_field: ClassVar[str] = "probability"

    probability: float | Distribution = param(
        _PROBABILITY, uncertain=True, doc="event probability per person-period, in [0, 1]")
    recurrent: bool = param(v.flag, default=True,
                            doc="the event can recur (false: first event only, absorbing)")
    profile: tuple[float, ...] | None = param(
        _PROFILE, default=None, doc="hazard multipliers by clock period (last one repeats)")
    clock: str = param(_CLOCK, default="entry", doc="profile indexed by 'entry' or 'calendar'")
    name: str = param(v.label, default="event", doc="name of the event")

    @property
    def states(self) -> tuple[str, str]:
        return ("no_event", "event") if self.recurrent else ("at_risk", "event")

    def check_baseline(self, field: str, value: object) -> Distribution:
        return _PROBABILITY(field, value)

    def parameters(self, prefix: str = "baseline") -> dict[str, Distribution]:
        return {f"{prefix}.probability": self.probability}  # type: ignore[dict-item]


@OUTCOME_KINDS.register
@dataclass(frozen=True)
class CountOutcome(Outcome):
    """A count of events per person and period, e.g. reconviction events (``kind = "counts"``).

    Parameters
    ----------
    rate : float or Distribution
        Baseline mean number of events per person per period (>= 0; a sampled rate, after the
        profile and the effect, above 1e6 is refused at simulation time).
    dispersion : float or Distribution, optional
        Negative-binomial shape ``k`` (> 0): the count has variance ``mu + mu**2 / k``.
        ``None`` gives Poisson counts.
    profile : sequence of float, optional
        Rate multipliers by clock period (the last value repeats).
    clock : {"entry", "calendar"}
    name : str
        Name of the event, used in labels.

    Examples
    --------
    >>> CountOutcome(rate=1.55, dispersion=2.0).kind
    'counts'
    """

    kind: ClassVar[str] = "counts"
    baseline_field: ClassVar[str] = "rate"
    organisation_effect: ClassVar[bool] = True

    rate: float | Distribution = param(_RATE, uncertain=True,
                                       doc="mean events per person-period, >= 0")
    dispersion: float | Distribution | None = param(
        v.optional(_Shape()), default=None, uncertain=True,
        doc="negative-binomial shape k > 0 (variance mu + mu**2/k); none: Poisson")
    profile: tuple[float, ...] | None = param(
        _PROFILE, default=None, doc="rate multipliers by clock period (last one repeats)")
    clock: str = param(_CLOCK, default="entry", doc="profile indexed by 'entry' or 'calendar'")
    name: str = param(v.label, default="event", doc="name of the event")

    @classmethod
    def from_toml(cls, sec: Section, **context: Any) -> CountOutcome:
        """Read the table; ``follows`` or ``rate_by_state`` (a count by state's keys) is
        refused at its key, naming ``kind = "counts_by_state"``."""
        for key in ("follows", "rate_by_state"):  # the keys of a count by state
            if key in sec.data:
                raise KeyProblem(sec.path(key), "a count whose rate follows another process's "
                                 "state is kind = \"counts_by_state\" (with follows and "
                                 "rate_by_state)")
        return super().from_toml(sec, **context)  # type: ignore[misc,no-any-return]

    @property
    def states(self) -> tuple[str, ...]:
        return ()

    def check_baseline(self, field: str, value: object) -> Distribution:
        return _RATE(field, value)

    def check_effect(self, effect: Effect) -> None:
        if effect.measure == "or":
            raise v.fail("Effect.measure", "or", "rr, hr or absolute for a count outcome")
        super().check_effect(effect)

    def parameters(self, prefix: str = "baseline") -> dict[str, Distribution]:
        out: dict[str, Distribution] = {f"{prefix}.rate": self.rate}  # type: ignore[dict-item]
        if self.dispersion is not None:
            out["baseline.dispersion"] = self.dispersion  # type: ignore[assignment]
        return out


Row = tuple[float, ...] | Dirichlet
Matrix = tuple[Row, ...]


@OUTCOME_KINDS.register
@dataclass(frozen=True)
class MarkovOutcome(Outcome):
    """A discrete-time multi-state Markov chain (``kind = "markov"``).

    Parameters
    ----------
    states : sequence of str
        State names, e.g. ``("home", "care", "left")``.
    transitions : matrix or sequence of matrices
        One ``S x S`` matrix (rows: from, columns: to), or a list of them, one per clock period
        (the last one repeats). Each row is a list of probabilities summing to 1 within 1e-9, or a
        :class:`~sibsim.spec.distributions.Dirichlet` for an uncertain row. A state whose row
        keeps everyone in it is absorbing.
    initial : str
        The state every participant starts in (default: the first state).
    events : sequence of (from, to)
        Transitions counted as *events* in the output (e.g. ``("home", "care")``).
    clock : {"entry", "calendar"}
        Whether the list of matrices is indexed by time since entry or by calendar period.
    name : str
        Name of the outcome, used in labels.

    Examples
    --------
    >>> m = MarkovOutcome(states=("well", "sick", "dead"),
    ...                   transitions=[[0.9, 0.08, 0.02], [0.3, 0.6, 0.1], [0, 0, 1]],
    ...                   events=[("well", "sick")])
    >>> m.absorbing
    (False, False, True)
    """

    kind: ClassVar[str] = "markov"
    baseline_field: ClassVar[str] = "transitions"

    states: tuple[str, ...] = param(v.vector(v.label, min_len=2),
                                    doc="state names (at least two, distinct)")
    transitions: object = param(
        reader=read_transitions,
        doc="S x S matrix or list of matrices by clock period; rows sum to 1 or are Dirichlet")
    initial: str | None = param(default=None, doc="starting state (default: the first state)")
    events: tuple[tuple[str, str], ...] = param(
        default=(), reader=read_pairs, doc="(from, to) transitions counted as events")
    clock: str = param(_CLOCK, default="entry",
                       doc="matrices indexed by 'entry' or 'calendar' period")
    name: str = param(v.label, default="event", doc="name of the outcome")

    def validate(self) -> None:
        if len(set(self.states)) != len(self.states):
            raise v.fail("MarkovOutcome.states", self.states, "at least two distinct names")
        self._set("transitions", self.check_baseline("MarkovOutcome.transitions",
                                                     self.transitions))
        initial = self.states[0] if self.initial is None else self.initial
        v.choice("MarkovOutcome.initial", initial, self.states)
        self._set("initial", initial)
        self._set("events", tuple(self._pair("MarkovOutcome.events", e) for e in self.events))

    def _pair(self, field: str, pair: object) -> tuple[str, str]:
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise v.fail(field, pair, "a (from_state, to_state) pair")
        a, b = pair
        v.choice(f"{field} from-state", a, self.states)
        v.choice(f"{field} to-state", b, self.states)
        return (str(a), str(b))

    @classmethod
    def parse_baseline(cls, sec: Section, key: str) -> Any:
        """A stratum's baseline in a file: a matrix or list of matrices (or a distribution)."""
        value = sec.get(key)
        if isinstance(value, list):
            return _matrices_from_toml(sec.path(key), value)
        return parse_distribution(sec.path(key), value)

    def check_effect(self, effect: Effect) -> None:
        """A Markov effect acts on named transitions: ``targets`` must name this chain's states."""
        self.check_organisation(effect)
        if not effect.targets:
            raise v.fail("Effect.targets", effect.targets,
                         "at least one (from, to) transition for a Markov outcome")
        for a, b in effect.targets:
            v.choice("Effect.targets from-state", a, self.states)
            v.choice("Effect.targets to-state", b, self.states)
        for a, to, _ in effect.balance_shares():
            for b in to:
                v.choice(f"Effect.balance[{a}]", b, self.states)

    def check_baseline(self, field: str, value: object) -> tuple[Matrix, ...]:
        """Validate one matrix or a list of matrices; return a tuple of matrices."""
        s = len(self.states)
        arr_like = value
        if isinstance(value, np.ndarray):
            arr_like = value.tolist()
        if isinstance(arr_like, (str, bytes)) or not isinstance(arr_like, Sequence) or not arr_like:
            raise TypeError(f"{field}: got {value!r}; allowed: an {s}x{s} matrix or a list of them")
        first = arr_like[0]
        single = isinstance(first, Dirichlet) or (
            isinstance(first, Sequence) and first and not isinstance(first[0], (Sequence,
                                                                                Dirichlet)))
        mats = [arr_like] if single else list(arr_like)
        out = []
        for m, mat in enumerate(mats):
            f = f"{field}[{m}]" if not single else field
            if isinstance(mat, np.ndarray):
                mat = mat.tolist()
            if not isinstance(mat, Sequence) or len(mat) != s:
                raise v.fail(f, mat, f"{s} rows (one per state: {', '.join(self.states)})")
            rows: list[Row] = []
            for r, row in enumerate(mat):
                fr = f"{f}[{self.states[r]}]"
                if isinstance(row, Dirichlet):
                    if row.size != s:
                        raise v.fail(fr, row, f"a Dirichlet with {s} alphas")
                    rows.append(row)
                    continue
                vals = v.real_vector(fr, row, low=0.0, high=1.0)
                if len(vals) != s:
                    raise v.fail(fr, row, f"{s} probabilities")
                if abs(sum(vals) - 1.0) > 1e-9:
                    raise v.fail(fr, row, f"probabilities summing to 1 within 1e-9 "
                                          f"(sum is {sum(vals)!r})")
                rows.append(vals)
            out.append(tuple(rows))
        return tuple(out)

    @property
    def absorbing(self) -> tuple[bool, ...]:
        """Whether each state is absorbing in every matrix (fixed rows only)."""
        out = []
        for i in range(len(self.states)):
            ok = True
            for mat in self.transitions:  # type: ignore[attr-defined]
                row = mat[i]
                mean = row.mean_row if isinstance(row, Dirichlet) else row
                ok = ok and mean[i] == 1.0
            out.append(ok)
        return tuple(out)

    def parameters(self, prefix: str = "baseline") -> dict[str, Distribution]:
        out: dict[str, Distribution] = {}
        for m, mat in enumerate(self.transitions):  # type: ignore[attr-defined]
            for r, row in enumerate(mat):
                if isinstance(row, Dirichlet):
                    out[f"{prefix}.transition[{m}].{self.states[r]}"] = row
        return out
