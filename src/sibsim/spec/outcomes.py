"""Outcome processes: what happens to each person, period by period.

Three kinds are supported, all over a horizon of ``P`` periods (a period is a label: year,
quarter or month; see :class:`sibsim.Scenario`):

* :class:`BinaryOutcome` - an event that happens or not in each period, either recurring or
  first-event-only (absorbing);
* :class:`MarkovOutcome` - a multi-state Markov chain with per-period transition matrices that may
  vary with time since entry (or calendar period), with absorbing states;
* :class:`CountOutcome` - a count of events per person-period: Poisson, or negative binomial for
  over-dispersion.

Timing convention (all kinds): a participant of entry wave ``w`` is present from the start of
period ``entry(w)``. In each period they *occupy* the state they hold at the start of the period
(one person-period), then make one transition (or have their events) during the period. Events
are counted in the period in which they happen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sibsim.spec import _validate as v
from sibsim.spec.distributions import Dirichlet, Distribution, as_distribution, require_support

__all__ = ["BinaryOutcome", "CountOutcome", "MarkovOutcome", "Outcome"]

CLOCKS = ("entry", "calendar")

#: Largest event rate per person-period a count outcome accepts (including sampled values).
MAX_RATE = 1e6


def _profile(field: str, profile: object) -> tuple[float, ...] | None:
    if profile is None:
        return None
    return v.real_vector(field, profile, low=0.0, high=1e6)


class Outcome:
    """Common interface of the outcome processes."""

    kind: ClassVar[str] = "outcome"
    clock: str

    def parameters(self, prefix: str = "baseline") -> dict[str, Distribution]:
        """Uncertain inputs of this process, by parameter name (sampled once per draw)."""
        raise TypeError(f"{type(self).__name__} does not define parameters")  # pragma: no cover


@dataclass(frozen=True)
class BinaryOutcome(Outcome):
    """A yes/no event per person and period.

    Parameters
    ----------
    probability : float or Distribution
        Baseline probability of the event in a period, in [0, 1].
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
    """

    probability: float | Distribution
    recurrent: bool = True
    profile: tuple[float, ...] | None = None
    clock: str = "entry"
    name: str = "event"
    kind: ClassVar[str] = "binary"

    def __post_init__(self) -> None:
        p = as_distribution("BinaryOutcome.probability", self.probability)
        require_support("BinaryOutcome.probability", p, 0.0, 1.0, "a probability")
        object.__setattr__(self, "probability", p)
        if not isinstance(self.recurrent, bool):
            raise TypeError(f"BinaryOutcome.recurrent: got {self.recurrent!r}; allowed: True/False")
        object.__setattr__(self, "profile", _profile("BinaryOutcome.profile", self.profile))
        v.choice("BinaryOutcome.clock", self.clock, CLOCKS)
        v.name("BinaryOutcome.name", self.name)

    @property
    def states(self) -> tuple[str, str]:
        return ("no_event", "event") if self.recurrent else ("at_risk", "event")

    def check_baseline(self, field: str, value: object) -> Distribution:
        p = as_distribution(field, value)
        return require_support(field, p, 0.0, 1.0, "a probability")

    def parameters(self, prefix: str = "baseline") -> dict[str, Distribution]:
        return {f"{prefix}.probability": self.probability}  # type: ignore[dict-item]


@dataclass(frozen=True)
class CountOutcome(Outcome):
    """A count of events per person and period (e.g. reconviction events).

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

    Examples
    --------
    >>> CountOutcome(rate=1.55, dispersion=2.0).kind
    'counts'
    """

    rate: float | Distribution
    dispersion: float | Distribution | None = None
    profile: tuple[float, ...] | None = None
    clock: str = "entry"
    name: str = "event"
    kind: ClassVar[str] = "counts"

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", self.check_baseline("CountOutcome.rate", self.rate))
        if self.dispersion is not None:
            k = as_distribution("CountOutcome.dispersion", self.dispersion)
            require_support("CountOutcome.dispersion", k, 0.0, np.inf,
                            "a negative-binomial shape (> 0)")
            if k.support[1] <= 0:
                raise v.fail("CountOutcome.dispersion", k.describe(),
                             "a negative-binomial shape > 0")
            object.__setattr__(self, "dispersion", k)
        object.__setattr__(self, "profile", _profile("CountOutcome.profile", self.profile))
        v.choice("CountOutcome.clock", self.clock, CLOCKS)
        v.name("CountOutcome.name", self.name)

    @property
    def states(self) -> tuple[str, ...]:
        return ()

    def check_baseline(self, field: str, value: object) -> Distribution:
        r = as_distribution(field, value)
        require_support(field, r, 0.0, np.inf, "an event rate per person-period")
        lo, hi = r.support
        if lo > MAX_RATE or (np.isfinite(hi) and hi > MAX_RATE):
            raise v.fail(field, r.describe(), f"an event rate per person-period of at most "
                         f"{MAX_RATE:g} (unbounded distributions are checked when sampled)")
        return r

    def parameters(self, prefix: str = "baseline") -> dict[str, Distribution]:
        out: dict[str, Distribution] = {f"{prefix}.rate": self.rate}  # type: ignore[dict-item]
        if self.dispersion is not None:
            out["baseline.dispersion"] = self.dispersion  # type: ignore[assignment]
        return out


Row = tuple[float, ...] | Dirichlet
Matrix = tuple[Row, ...]


@dataclass(frozen=True)
class MarkovOutcome(Outcome):
    """A discrete-time multi-state Markov chain.

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

    Examples
    --------
    >>> m = MarkovOutcome(states=("well", "sick", "dead"),
    ...                   transitions=[[0.9, 0.08, 0.02], [0.3, 0.6, 0.1], [0, 0, 1]],
    ...                   events=[("well", "sick")])
    >>> m.absorbing
    (False, False, True)
    """

    states: tuple[str, ...]
    transitions: object
    initial: str | None = None
    events: tuple[tuple[str, str], ...] = ()
    clock: str = "entry"
    name: str = "event"
    kind: ClassVar[str] = "markov"

    def __post_init__(self) -> None:
        if isinstance(self.states, (str, bytes)) or not isinstance(self.states, Sequence):
            raise TypeError(f"MarkovOutcome.states: got {self.states!r}; "
                            "allowed: a sequence of state names")
        states = tuple(v.name(f"MarkovOutcome.states[{i}]", s) for i, s in enumerate(self.states))
        if len(states) < 2 or len(set(states)) != len(states):
            raise v.fail("MarkovOutcome.states", self.states, "at least two distinct names")
        object.__setattr__(self, "states", states)
        object.__setattr__(self, "transitions",
                           self.check_baseline("MarkovOutcome.transitions", self.transitions))
        initial = states[0] if self.initial is None else self.initial
        v.choice("MarkovOutcome.initial", initial, states)
        object.__setattr__(self, "initial", initial)
        events = tuple(self._pair("MarkovOutcome.events", e) for e in self.events)
        object.__setattr__(self, "events", events)
        v.choice("MarkovOutcome.clock", self.clock, CLOCKS)

    def _pair(self, field: str, pair: object) -> tuple[str, str]:
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise v.fail(field, pair, "a (from_state, to_state) pair")
        a, b = pair
        v.choice(f"{field} from-state", a, self.states)
        v.choice(f"{field} to-state", b, self.states)
        return (str(a), str(b))

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
