"""A count whose event rate follows the state another outcome process holds (``counts_by_state``).

Some outcomes happen only in some states of another process of the same people: benefit months
while job seeking and none in work (Koto-SIB), jail days while homeless rather than housed. A
:class:`StateCountOutcome` names the process it ``follows`` (a binary or Markov process of the
same scenario) and gives an event rate per person-period for each of its states
(``rate_by_state``). The service's effect on the followed process then moves the count by
itself (fewer job seekers, fewer benefit months); the count's own effect (a rate ratio among
the engaged, ``measure = "rr"`` or ``"hr"``) acts on top of it.

Semantics (exact): given the followed process's occupancy in a period, the count of a cell
(draw, arm, entry wave, stratum, period) is Poisson with mean
``sum_s n0_s rate0_s + n1_s rate1_s``, where ``n1_s`` are the engaged people in state ``s`` at the
start of the period, ``n0_s`` the others, ``rate0_s`` the rate of state ``s`` (times the profile)
and ``rate1_s = rate0_s x effect``. A sum of independent Poisson counts is Poisson, so one draw
per cell (engaged and not engaged apart) is exact for the aggregate and the individual engine;
the expected engine gives that mean from the expected occupancy. The count is Poisson given the
states: it follows a person's frailty only through the states it follows (no frailty of its
own), and it takes no negative-binomial ``dispersion``.

Examples
--------
>>> o = StateCountOutcome(follows="employment", name="benefit_months",
...                       rate_by_state={"job_seeking": 3.0, "employed": 0.0})
>>> o.kind, o.states, o.followed()
('counts_by_state', (), 'employment')
>>> sorted(o.parameters())
['baseline.rate.employed', 'baseline.rate.job_seeking']
>>> o.rates()["job_seeking"]
Fixed(value=3.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from sibsim.spec import _validate as v
from sibsim.spec.distributions import Distribution
from sibsim.spec.outcomes import _CLOCK, _PROFILE, _RATE, MAX_RATE, OUTCOME_KINDS, Outcome
from sibsim.spec.toml import KeyProblem, Section, parse_distribution
from sibsim.spec.variant import param

if TYPE_CHECKING:
    from sibsim.spec.effect import Effect
    from sibsim.spec.scenario import Process

__all__ = ["StateCountOutcome", "check_followers"]

#: Keys of a plain count that a count by state refuses, with the reason.
_REFUSED_KEYS = {
    "rate": "a count by state takes its rates from rate_by_state (one per state of the "
            "process it follows); leave out the plain rate",
    "baseline": "a count by state takes its rates from rate_by_state (one per state of the "
                "process it follows); leave out baseline",
    "dispersion": "a count by state is Poisson given the states it follows (no "
                  "negative-binomial dispersion); leave out dispersion or use kind = \"counts\"",
}


class _RateTable(v.Constraint):
    """Rates by state: ``{state: rate}`` (or ``(state, rate)`` pairs), each state once, each
    rate a number or distribution in [0, MAX_RATE]; stored as a tuple of pairs."""

    description = (f"a table {{state = rate}} with an event rate per person-period in "
                   f"[0, {MAX_RATE:g}] for each state")

    def __call__(self, field: str, value: object) -> tuple[tuple[str, Distribution], ...]:
        if isinstance(value, Mapping):
            pairs = list(value.items())
        elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
            pairs = list(value)
        else:
            raise TypeError(f"{field}: got {value!r}; allowed: {self.description}")
        out = []
        for pair in pairs:
            if (isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence)
                    or len(pair) != 2):
                raise v.fail(field, pair, "(state, rate) pairs or a {state = rate} table")
            state = v.name(f"{field} state", pair[0])
            out.append((state, _RATE(f"{field}[{state}]", pair[1])))
        if not out:
            raise v.fail(field, value, "a rate for at least one state")
        v.unique(field, [s for s, _ in out], "states: each state given once")
        return tuple(out)


def _read_rate_table(sec: Section, key: str) -> Any:
    """Field reader: ``rate_by_state = {state = number or {dist = ...}, ...}``."""
    raw = sec.get(key)
    if not isinstance(raw, Mapping):
        raise KeyProblem(sec.path(key), "expected a table {state = rate, ...} (an event rate "
                         "per person-period for each state of the process it follows)")
    return tuple((s, parse_distribution(f"{sec.path(key)}.{s}", x)) for s, x in raw.items())


@OUTCOME_KINDS.register
@dataclass(frozen=True)
class StateCountOutcome(Outcome):
    """A count whose rate per person-period depends on another process's state
    (``kind = "counts_by_state"``).

    Parameters
    ----------
    follows : str
        The ``name`` of the binary or Markov process of the same scenario whose state sets the
        rate (it must not itself be a count by state).
    rate_by_state : mapping of state to float or Distribution
        Mean events per person-period in each state of the followed process: every state once
        (0 for states without events), each in [0, 1e6]. Stored as ``(state, rate)`` pairs in
        the followed process's state order once the scenario is built.
    profile : sequence of float, optional
        Rate multipliers by clock period (the last value repeats), applied to every state.
    clock : {"entry", "calendar"}
    name : str
        Name of the event, used in labels.

    The effect of this process (optional) is a rate ratio on every state's rate among the
    engaged participants: ``measure = "rr"`` (or ``"hr"``, the same for a rate).

    Examples
    --------
    >>> StateCountOutcome(follows="housing", rate_by_state=[("housed", 0.5),
    ...                                                     ("homeless", 4.0)]).rate_by_state
    (('housed', Fixed(value=0.5)), ('homeless', Fixed(value=4.0)))
    """

    kind: ClassVar[str] = "counts_by_state"
    baseline_field: ClassVar[str] = "rate_by_state"

    follows: str = param(v.label, doc="name of the binary or Markov process whose state sets "
                                      "the rate")
    rate_by_state: tuple[tuple[str, Distribution], ...] = param(
        _RateTable(), uncertain=True, reader=_read_rate_table,
        doc="events per person-period in each state of the followed process, >= 0")
    profile: tuple[float, ...] | None = param(
        _PROFILE, default=None, doc="rate multipliers by clock period (last one repeats)")
    clock: str = param(_CLOCK, default="entry", doc="profile indexed by 'entry' or 'calendar'")
    name: str = param(v.label, default="event", doc="name of the event")

    @classmethod
    def from_toml(cls, sec: Section, **context: Any) -> StateCountOutcome:
        """Read the table; a plain count's ``rate``, ``baseline`` or ``dispersion`` is refused
        at its key, with the reason."""
        for key, why in _REFUSED_KEYS.items():
            if key in sec.data:
                raise KeyProblem(sec.path(key), why)
        return super().from_toml(sec, **context)  # type: ignore[misc,no-any-return]

    @property
    def states(self) -> tuple[str, ...]:
        return ()

    def followed(self) -> str | None:
        return self.follows

    def rates(self) -> dict[str, Distribution]:
        """The rate of each state, by state name."""
        return dict(self.rate_by_state)

    def check_baseline(self, field: str, value: object) -> Any:
        raise v.fail(field, value, "no stratum baseline for a count by state (its rates are "
                     "per state of the process it follows: rate_by_state)")

    def check_effect(self, effect: Effect) -> None:
        if effect.measure not in ("rr", "hr"):
            raise v.fail("Effect.measure", effect.measure,
                         "'rr' or 'hr' for a count by state (a rate ratio on every state's "
                         "rate among the engaged)")
        super().check_effect(effect)

    def parameters(self, prefix: str = "baseline") -> dict[str, Distribution]:
        return {f"{prefix}.rate.{s}": r for s, r in self.rate_by_state}

    def check_follows(self, processes: Sequence[Process]) -> StateCountOutcome:
        """Check what this count follows against the scenario's processes; return it with its
        rates in the followed process's state order.

        ``follows`` must name another process that has states and is not itself a count by
        state; ``rate_by_state`` must give exactly that process's states.
        """
        owner = type(self).__name__
        drivers = [p.outcome for p in processes
                   if p.outcome.states and p.outcome.followed() is None]
        names = ", ".join(repr(o.name) for o in drivers) or "none in this scenario"
        driver = next((o for o in drivers if o.name == self.follows), None)
        if driver is None or self.follows == self.name:
            raise v.fail(f"{owner}.follows", self.follows,
                         f"the name of another outcome process with states, which does not "
                         f"itself follow one ({names})")
        given = [s for s, _ in self.rate_by_state]
        unknown = [s for s in given if s not in driver.states]
        if unknown:
            raise v.fail(f"{owner}.rate_by_state", unknown[0],
                         f"the states of {driver.name!r}: " + ", ".join(driver.states))
        missing = [s for s in driver.states if s not in given]
        if missing:
            raise v.fail(f"{owner}.rate_by_state", given,
                         f"a rate for every state of {driver.name!r} (missing: "
                         + ", ".join(missing) + "; 0 for a state without events)")
        rates = self.rates()
        ordered = tuple((s, rates[s]) for s in driver.states)
        return self if ordered == self.rate_by_state else replace(self, rate_by_state=ordered)


def check_followers(processes: Sequence[Process]) -> tuple[Process, ...]:
    """The scenario's processes with every count by state checked against what it follows
    (:meth:`StateCountOutcome.check_follows`) and its rates put in that process's state
    order. Processes that follow nothing are returned as they are."""
    out = []
    for p in processes:
        if p.outcome.followed() is None:
            out.append(p)
            continue
        checked = p.outcome.check_follows(processes)  # type: ignore[attr-defined]
        out.append(p if checked is p.outcome else replace(p, outcome=checked))
    return tuple(out)
