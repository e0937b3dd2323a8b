"""The intervention effect on the treated arm."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sibsim.spec import _validate as v
from sibsim.spec.distributions import Distribution, require_support, within
from sibsim.spec.toml import KeyProblem, Section, calendar_period, read_pairs
from sibsim.spec.variant import Spec, param

__all__ = ["MEASURES", "SHARE_SUM_TOLERANCE", "Effect", "balance_states", "is_by_target"]

MEASURES = ("rr", "hr", "or", "absolute")


class _Targets(v.Constraint):
    """``(from, to)`` pairs of two different state names (stored as a tuple of tuples)."""

    description = "(from, to) pairs"

    def __call__(self, field: str, value: object) -> tuple[tuple[str, str], ...]:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise TypeError(f"{field}: got {value!r}; allowed: (from, to) pairs")
        targets = []
        for t in value:
            if isinstance(t, (str, bytes)) or not isinstance(t, Sequence) or len(t) != 2:
                raise v.fail(field, t, "a (from_state, to_state) pair")
            if t[0] == t[1]:
                raise v.fail(field, t, "a transition between two different states")
            targets.append((v.name(f"{field} from", t[0]), v.name(f"{field} to", t[1])))
        return tuple(targets)


_SHARE = within(0.0, 1.0, "a probability", fraction=True)


class _ByStratum(v.Constraint):
    """Values by stratum name: a mapping ``{name: value}`` or ``(name, value)`` pairs, stored
    as a tuple of pairs in the given order (hashable, immutable); names distinct."""

    what = "stratum"

    def __init__(self, inner: v.Constraint) -> None:
        self.inner = inner
        self.description = f"a mapping of {self.what} name -> {inner.description}"

    def __call__(self, field: str, value: object) -> tuple[tuple[str, Any], ...]:
        if isinstance(value, Mapping):
            items = list(value.items())
        elif (isinstance(value, Sequence) and not isinstance(value, (str, bytes))
              and all(isinstance(p, Sequence) and not isinstance(p, (str, bytes))
                      and len(p) == 2 for p in value)):
            items = [tuple(p) for p in value]
        else:
            raise TypeError(str(v.fail(field, value, self.description)))
        out = tuple((v.name(f"{field} {self.what}", k), self.inner(f"{field}[{k}]", x))
                    for k, x in items)
        v.unique(field, [k for k, _ in out], "strata" if self.what == "stratum" else
                 f"{self.what}s")
        return out


class _ByState(_ByStratum):
    """Values by from-state name (``Effect.balance``): as :class:`_ByStratum`."""

    what = "state"


#: Largest accepted distance of a row's balance shares from a sum of 1.
SHARE_SUM_TOLERANCE = 1e-9


def _is_pair(x: object) -> bool:
    return isinstance(x, Sequence) and not isinstance(x, (str, bytes)) and len(x) == 2


class _BalanceTo(v.Constraint):
    """Where one row's change goes (``Effect.balance``): a state name (it takes all of it); a
    mapping ``{state: share}`` (or ``(state, share)`` pairs; stored as a tuple of pairs) of
    shares >= 0 summing to 1 within :data:`SHARE_SUM_TOLERANCE`; or a sequence of state names
    (stored as a tuple), shared in proportion to the row's own untreated probabilities of
    them. With ``by_target`` (a row's value, not a target's) also a mapping ``{target: where}``
    (or ``(target, where)`` pairs; stored as a tuple of pairs) whose values are state names,
    lists or share tables, none a number: each target's own change goes where its value says.
    A mapping with a number among its values is read as shares."""

    description = ("a state name, a table {state = share} of shares >= 0 that sum to 1, or a "
                   "list of state names (shared in proportion to the row's probabilities)")

    def __init__(self, by_target: bool = True) -> None:
        self.by_target = by_target

    def __call__(self, field: str, value: object) -> str | tuple:
        if isinstance(value, str):
            return v.name(field, value)
        if isinstance(value, Mapping):
            items = list(value.items())
        elif (isinstance(value, Sequence) and not isinstance(value, bytes) and value
              and all(_is_pair(x) for x in value)):
            items = [tuple(x) for x in value]
        elif (isinstance(value, Sequence) and not isinstance(value, bytes) and value
              and all(isinstance(x, str) for x in value)):
            names = tuple(v.name(f"{field} state", x) for x in value)
            v.unique(field, names, "states")
            return names
        else:
            raise TypeError(str(v.fail(field, value, self._allowed())))
        if not items:
            raise v.fail(field, value, self._allowed())
        if self.by_target and not any(_is_number(x) for _, x in items):
            inner = _BalanceTo(by_target=False)
            per = tuple((v.name(f"{field} target", k), inner(f"{field}[{k}]", x))
                        for k, x in items)
            v.unique(field, [k for k, _ in per], "targets")
            return per
        shares = tuple((v.name(f"{field} state", k), v.real(f"{field}[{k}]", x, low=0.0,
                                                             high=1.0))
                       for k, x in items)
        v.unique(field, [k for k, _ in shares], "states")
        total = math.fsum(x for _, x in shares)
        if abs(total - 1.0) > SHARE_SUM_TOLERANCE:
            raise v.fail(field, dict(shares), f"shares that sum to 1 (within "
                         f"{SHARE_SUM_TOLERANCE:g}); these sum to {total:.12g}")
        return shares

    def _allowed(self) -> str:
        if not self.by_target:
            return self.description
        return (self.description + "; or a table {target = where} of the row's targets, "
                "each where a state name, a table of shares or a list")


def _is_number(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def is_by_target(to: str | tuple) -> bool:
    """Whether one row's stored ``Effect.balance`` value gives each target its own states
    (``((target, where), ...)``), rather than one place for the whole row's change.

    >>> is_by_target((("special", ("general", "ready")), ("ready_special", "ready")))
    True
    >>> is_by_target((("general", 0.6), ("ready", 0.4))), is_by_target(("general", "ready"))
    (False, False)
    """
    return (not isinstance(to, str) and bool(to) and not isinstance(to[0], str)
            and not _is_number(to[0][1]))


def balance_states(to: str | tuple) -> tuple[str, ...]:
    """The states named by one row's ``Effect.balance`` value (see :class:`Effect`); by target:
    every target's, each once, in order.

    >>> balance_states("general"), balance_states((("general", 0.6), ("ready", 0.4)))
    (('general',), ('general', 'ready'))
    >>> balance_states((("special", ("general", "ready")), ("ready_special", "ready")))
    ('general', 'ready')
    """
    if isinstance(to, str):
        return (to,)
    if is_by_target(to):
        return tuple(dict.fromkeys(b for _, where in to for b in balance_states(where)))
    return tuple(x if isinstance(x, str) else x[0] for x in to)


def _read_table(sec: Section, key: str) -> dict[str, Any]:
    """TOML reader of a ``{stratum = value, ...}`` inline table."""
    raw = sec.get(key)
    if not isinstance(raw, Mapping):
        raise KeyProblem(sec.path(key), "expected a table {stratum = value, ...}")
    return dict(raw)


def end_period(key: str, year: object, start_year: int | None, periods_per_year: int,
               start_period: int, horizon: int | None) -> int:
    """The period from which a calendar year ``year`` counts: the deal's first period in that
    year, ``(year - start_year) * periods_per_year - start_period`` (0 for the start year
    itself, whose periods before the deal began are not in it), as a stratum's
    ``start_year`` (:func:`sibsim.spec.toml.calendar_period`). Refused (a
    :class:`KeyProblem` at ``key``): a file without ``start_year``, a year before it, and a
    year that begins after the horizon's end.

    >>> end_period("e", 2023, 2019, 1, 0, 12)   # yearly from 2019: 2023 is period 4
    4
    >>> end_period("e", 2015, 2013, 4, 1, 12)   # quarterly from April 2013: Jan-Mar 2015
    7
    """
    last = None  # the calendar year in (or at whose start) the horizon ends
    if horizon is not None and start_year is not None:
        last = start_year + (horizon + start_period) // periods_per_year
    return calendar_period(key, year, start_year, periods_per_year, start_period, last)


@dataclass(frozen=True)
class Effect(Spec):
    """What the service does to the outcome of the people who engage with it.

    Parameters
    ----------
    measure : {"rr", "hr", "or", "absolute"}
        How ``value`` changes a baseline per-period probability ``p`` (or rate ``r``):

        * ``"rr"`` relative risk: ``p' = min(1, value * p)``; rate ``r' = value * r``;
        * ``"hr"`` hazard ratio: ``p' = 1 - (1 - p) ** value``; rate ``r' = value * r``;
        * ``"or"`` odds ratio: ``p' / (1 - p') = value * p / (1 - p)`` (not for counts);
        * ``"absolute"``: ``p' = clip(p + value, 0, 1)``; rate ``r' = max(0, r + value)``.

        A value below 1 (or below 0 for ``absolute``) means fewer events.
    value : float or Distribution
        The true effect (uncertain: sampled once per draw).
    targets : sequence of (from, to)
        Markov outcomes only: the transitions the effect acts on. The change in a row's target
        probabilities is balanced on the row's diagonal (staying put); if that would make the stay
        probability negative the targets are scaled down so the row sums to 1.
    onset : int
        Periods after entry before the effect starts (0: from the entry period).
    duration : int, optional
        Periods of full effect (the service period), counted from ``onset``; ``None`` = until the
        horizon.
    decay : float
        Share of the effect (on the log scale for ratios) lost in each period after the service
        ends: 1 stops it at once, 0 keeps it for good. In period ``k >= 1`` after the end the
        effect's strength is ``(1 - decay) ** k``.
    engagement : float or Distribution
        Share of the treated cohort who take up the service (others get no effect).
    dropout : float or Distribution
        Per-period probability that an engaged participant drops out (from their second period on);
        drop-outs get no effect from then on.
    by_wave : sequence of float
        Strength of the effect by entry wave, a multiplier (>= 0) on the log effect for ratios
        and on the change for ``absolute`` (the last value repeats for later waves): with
        ``value = 0.8`` and ``by_wave = (0.5, 1.0)`` the first wave gets ``0.8 ** 0.5 = 0.894``
        and later waves 0.8 (e.g. a weaker first cohort while the service beds in). Empty: 1
        for every wave.
    target_scale : sequence of float
        Markov outcomes only: one multiplier (>= 0) per target transition, on the log effect for
        ratios and on the change for ``absolute``: target ``i`` gets ``value ** target_scale[i]``
        (a different effect per transition from one uncertain ``value``). Empty: 1 for every
        target.
    balance : mapping of state -> state, shares or states
        Markov outcomes only: for a from-state of the targets, where the change in its row
        goes instead of the diagonal. A state name takes all of it (``{ready = "general"}``:
        an effect on leaving "ready" for special education sends the children it keeps out to
        general education, not back to "ready" for a second year). A mapping ``{state:
        share}`` splits it in fixed shares (>= 0, summing to 1 within 1e-9): ``{preschool =
        {general = 0.6, ready = 0.4}}`` sends 60% of the children kept out to general
        education, 40% to "ready". A list of states splits it in proportion to the row's own
        untreated probabilities of them, in each draw, stratum and period: ``{preschool =
        ["general", "ready"]}`` makes the children kept out "ready" at the rate of the others
        who are not in special education. The row's own state may only be named alone.
        **By target**: a mapping ``{target: where}`` from the row's target to-states (every
        one of them) to any of those three forms sends each target's own change to its own
        states: ``{preschool = {special = ["general", "ready"], ready_special = "ready"}}``
        sends the children kept out of "special" to "general" and "ready" in proportion to
        the row, and those kept out of "ready_special" (who are ready) to "ready" only. A
        mapping whose values are numbers is shares; one whose values are names, lists or
        tables is by target (the two cannot be mixed). If a state's probability would go
        negative (the targets rise), the targets are scaled down until the first of them
        reaches 0, as for the diagonal (by target: the rising targets, all by one factor; the
        falling ones keep their change). Empty: every row balances on its diagonal.
    organisation : float or Distribution, optional
        Count outcomes only: the **organisation-level effect**, a rate ratio (>= 0, whatever
        ``measure``) for every person of the treated arm who is *not* engaged with the
        service: those who never engaged, those who dropped out, and newcomers who took a
        leaver's place (the cohort's ``turnover``). It is the part of the service that works
        on the workplace rather than on the person (e.g. an employer's work-ability
        management). Engaged people keep ``value``, their whole effect; the comparison arm
        never gets it. It follows the effect's strength over time like ``value`` does, on the
        log scale: in period ``t`` a place of entry wave ``w`` has the rate ratio
        ``organisation ** strength``, the strength at the wave's time since entry ``t - w``
        (``onset``, ``duration``, ``decay``) times ``by_wave`` and ``by_stratum``, and 1 from
        a stratum's ``ends_by_stratum`` on (a newcomer holds a place of that wave, so the
        workplace effect it finds is the wave's). ``None`` (the default): no
        organisation-level effect, the same as 1. Uncertain: sampled once per draw as
        ``effect.organisation``.

    Examples
    --------
    >>> e = Effect(measure="rr", value=0.8, duration=2, decay=0.5)
    >>> e.strength(5).tolist()
    [1.0, 1.0, 0.5, 0.25, 0.125]

    A weaker effect in one stratum, and another's ending from period 2:

    >>> e = Effect("rr", 0.8, by_stratum={"b": 0.5}, ends_by_stratum={"c": 2})
    >>> e.stratum_strength(("a", "b", "c")).tolist()
    [1.0, 0.5, 1.0]
    >>> e.stratum_ends(("a", "b", "c"), 4).tolist()
    [4, 4, 2]

    An organisation-level effect of 0.95 on everyone not served (sick-leave days):

    >>> sorted(Effect("rr", 0.8, organisation=0.95).parameters())
    ['effect.dropout', 'effect.engagement', 'effect.organisation', 'effect.value']
    """

    measure: str = param(v.one_of(*MEASURES), default="rr",
                         doc="how value changes the baseline: rr, hr, or, absolute")
    value: float | Distribution = param(
        within(-np.inf, np.inf, "an absolute change"), default=1.0, uncertain=True,
        doc="the true effect (a ratio >= 0, or an absolute change); required in a file")
    targets: tuple[tuple[str, str], ...] = param(
        _Targets(), default=(), reader=read_pairs,
        doc="Markov outcomes only: the (from, to) transitions the effect acts on")
    onset: int = param(v.integer(0, 10**6), default=0,
                       doc="periods after entry before the effect starts")
    duration: int | None = param(v.optional(v.integer(1, 10**6)), default=None,
                                 doc="periods of full effect from onset; none: to the horizon")
    decay: float = param(v.fraction(0.0, 1.0), default=1.0,
                         doc="share of the effect lost per period after the service ends")
    engagement: float | Distribution = param(
        _SHARE, default=1.0, uncertain=True, doc="share of the treated cohort who engage")
    dropout: float | Distribution = param(
        _SHARE, default=0.0, uncertain=True,
        doc="per-period probability that an engaged participant drops out")
    by_wave: tuple[float, ...] = param(
        v.vector(v.interval(0.0, 100.0), min_len=0), default=(),
        doc="strength multiplier by entry wave (log scale for ratios; last repeats)")
    target_scale: tuple[float, ...] = param(
        v.vector(v.interval(0.0, 100.0), min_len=0), default=(),
        doc="Markov: strength multiplier per target transition (log scale for ratios)")
    balance: tuple[tuple[str, str | tuple], ...] = param(
        _ByState(_BalanceTo(by_target=True)), default=(), reader=_read_table,
        doc="Markov: {from-state = state, {state = share, ...} or [state, ...]}: the "
            "state(s) that take the change in that row (default: the diagonal); or "
            "{from-state = {target = where, ...}}: each target's change on its own")
    by_stratum: tuple[tuple[str, float], ...] = param(
        _ByStratum(v.interval(0.0, 100.0)), default=(), reader=_read_table,
        doc="{stratum = multiplier}: strength by stratum (log scale for ratios); others 1")
    ends_by_stratum: tuple[tuple[str, int], ...] = param(
        _ByStratum(v.integer(0, 10**6)), default=(), reader=_read_table,
        doc="{stratum = period}: no effect in that stratum from this period on (a file: "
            "calendar years)")
    organisation: float | Distribution | None = param(
        v.optional(within(0.0, np.inf, "a rate ratio")), default=None, uncertain=True,
        doc="counts: rate ratio of the treated arm's people not engaged (never engaged, "
            "dropped out, newcomers): the organisation-level effect; none: 1")

    def validate(self) -> None:
        if self.target_scale and len(self.target_scale) != len(self.targets):
            raise v.fail("Effect.target_scale", self.target_scale,
                         f"one multiplier per target ({len(self.targets)}), or none")
        rows = {a for a, _ in self.targets}
        for a, to in self.balance:
            if a not in rows:
                raise v.fail("Effect.balance", a, "from-states of the targets: "
                             + ", ".join(repr(r) for r in sorted(rows)))
            if not is_by_target(to):
                self._check_balance_to(f"Effect.balance[{a}]", a, to)
                continue
            own = [b for aa, b in self.targets if aa == a]
            for t, where in to:
                if t not in own:
                    raise v.fail(f"Effect.balance[{a}]", t, f"targets of row {a!r}: "
                                 + ", ".join(repr(b) for b in own))
                self._check_balance_to(f"Effect.balance[{a}][{t}]", a, where)
            missing = [b for b in own if b not in dict(to)]
            if missing:
                raise v.fail(f"Effect.balance[{a}]", {t: w for t, w in to},
                             f"a table naming every target of row {a!r} ("
                             + ", ".join(repr(b) for b in own) + "); missing: "
                             + ", ".join(repr(b) for b in missing)
                             + f" (give {a!r} for its diagonal)")
        if self.measure != "absolute":
            require_support("Effect.value", self.value, 0.0, np.inf,  # type: ignore[arg-type]
                            f"a ratio ({self.measure})")

    def _check_balance_to(self, field: str, a: str, to: str | tuple) -> None:
        """Refuse balancing states of row ``a`` that are its targets, and its own state in
        shares or a list (``to``: one place, for the row or for one of its targets)."""
        for b in balance_states(to):
            if (a, b) in self.targets:
                raise v.fail(field, b, "a state that is not a target of "
                             f"row {a!r} (it takes the change of the targets)")
            if b == a and not isinstance(to, str):
                raise v.fail(field, b, f"states other than the row's own "
                             f"({a!r}) in shares or a list (its own state alone is the "
                             "default, the diagonal)")

    @classmethod
    def from_toml(cls, sec: Section, *, start_year: int | None = None,
                  periods_per_year: int = 1, start_period: int = 0,
                  horizon: int | None = None, **context: Any) -> Effect:
        """Read an ``[effect]`` table; ``value`` is required there (no silent no-op effect).

        ``ends_by_stratum`` holds calendar years there, turned into periods with the file's
        ``start_year``, ``periods_per_year``, ``start_period`` and ``horizon`` (see
        :func:`end_period`).
        """
        if "value" not in sec.data:
            raise KeyProblem(sec.path("value"), "this key is required")
        key = "ends_by_stratum"
        if key in sec.data:
            years = _read_table(sec, key)
            context[key] = {name: end_period(f"{sec.path(key)}.{name}", year, start_year,
                                             periods_per_year, start_period, horizon)
                            for name, year in years.items()}
            rest = Section(sec.key, {k: x for k, x in sec.data.items() if k != key})
            rest.used.add(key)
            sec = rest
        try:
            return super().from_toml(sec, **context)
        except KeyProblem as err:  # a refused balance: at its own key, not the whole table
            if err.key == sec.key and err.problem.startswith("Effect.balance"):
                raise KeyProblem(sec.path("balance"), err.problem) from None
            raise

    def balance_shares(self) -> tuple[tuple[str, tuple[str, ...], tuple[float, ...] | None],
                                      ...]:
        """Each balanced row as ``(from-state, states, shares)``: the states that take its
        change and their shares (summing to 1 within 1e-9), or ``None`` for shares in
        proportion to the row's untreated probabilities of those states; a single state has
        the share ``(1.0,)``. A row balanced by target gives one entry per target, in the
        order written (:meth:`balance_by_target` says which target each is).

        >>> Effect("rr", 0.5, targets=(("a", "c"),), balance={"a": ["b", "d"]}).balance_shares()
        (('a', ('b', 'd'), None),)
        >>> Effect("rr", 0.5, targets=(("a", "c"),), balance={"a": {"b": 0.6, "d": 0.4}}
        ...        ).balance_shares()
        (('a', ('b', 'd'), (0.6, 0.4)),)
        """
        return tuple((a, to, shares) for a, _, to, shares in self.balance_by_target())

    def balance_by_target(self) -> tuple[tuple[str, str | None, tuple[str, ...],
                                               tuple[float, ...] | None], ...]:
        """Each balanced row, or each target of a row balanced by target, as ``(from-state,
        target, states, shares)``: ``target`` None for the whole row's change (the forms of
        :meth:`balance_shares`), else the to-state of the target whose own change goes to
        ``states`` in ``shares`` (None: in proportion to the row's untreated probabilities).

        >>> e = Effect("hr", 0.7, targets=(("p", "s"), ("p", "rs")),
        ...            balance={"p": {"s": ["g", "r"], "rs": "r"}})
        >>> e.balance_by_target()
        (('p', 's', ('g', 'r'), None), ('p', 'rs', ('r',), (1.0,)))
        """
        out = []
        for a, to in self.balance:
            for t, where in (to if is_by_target(to) else ((None, to),)):
                if isinstance(where, str):
                    out.append((a, t, (where,), (1.0,)))
                elif isinstance(where[0], str):
                    out.append((a, t, tuple(where), None))
                else:
                    out.append((a, t, tuple(b for b, _ in where),
                                tuple(float(x) for _, x in where)))
        return tuple(out)

    @property
    def varies_by_stratum(self) -> bool:
        """The effect has multipliers or ends by stratum."""
        return bool(self.by_stratum or self.ends_by_stratum)

    def check_strata(self, strata: Sequence[Any], horizon: int) -> None:
        """Refuse ``by_stratum`` and ``ends_by_stratum`` names that are not strata of the
        cohort (``strata``: its :class:`~sibsim.spec.cohort.Stratum` objects), their use
        without strata, and an end before a stratum's first entry period or after
        ``horizon``."""
        names = tuple(s.name for s in strata)
        for field in ("by_stratum", "ends_by_stratum"):
            given = getattr(self, field)
            if given and not names:
                raise v.fail(f"Effect.{field}", dict(given), "none without strata: give "
                             "the cohort [[cohort.strata]] to vary the effect by stratum")
            for name, _ in given:
                if name not in names:
                    raise v.fail(f"Effect.{field}", name, "strata of the cohort: "
                                 + ", ".join(repr(n) for n in names))
        first = {s.name: s.start for s in strata}
        for name, end in self.ends_by_stratum:
            if not first[name] <= end <= horizon:
                raise v.fail(f"Effect.ends_by_stratum[{name}]", end,
                             f"a period from the stratum's first entry ({first[name]}) to the "
                             f"horizon ({horizon}); in a scenario file a calendar year, from "
                             "the stratum's first entry year on")

    def stratum_strength(self, names: Sequence[str]) -> np.ndarray:
        """Multiplier of the strength for each stratum named in ``names``, shape ``(K,)``."""
        own = dict(self.by_stratum)
        return np.array([own.get(n, 1.0) for n in names], dtype=float)

    def stratum_ends(self, names: Sequence[str], horizon: int) -> np.ndarray:
        """Period from which each stratum in ``names`` gets no effect (``horizon``: none
        within it), shape ``(K,)`` int64."""
        own = dict(self.ends_by_stratum)
        return np.array([own.get(n, horizon) for n in names], dtype=np.int64)

    def strength(self, n_periods: int) -> np.ndarray:
        """Strength of the effect (0 to 1) by period since entry, shape ``(n_periods,)``."""
        tau = np.arange(n_periods)
        w = (tau >= self.onset).astype(float)
        if self.duration is not None:
            end = self.onset + self.duration
            after = tau >= end
            k = (tau - end + 1)[after]
            w[after] = (1.0 - self.decay) ** k
        return w

    def wave_strength(self, n_waves: int) -> np.ndarray:
        """Multiplier of the strength for each entry wave, shape ``(n_waves,)``.

        >>> Effect("rr", 0.8, by_wave=(0.5, 1.0)).wave_strength(3).tolist()
        [0.5, 1.0, 1.0]
        """
        if not self.by_wave:
            return np.ones(n_waves)
        w = np.asarray(self.by_wave, dtype=float)
        return w[np.minimum(np.arange(n_waves), w.size - 1)]

    def parameters(self) -> dict[str, Distribution]:
        """Uncertain inputs, by parameter name."""
        out = {"effect.value": self.value, "effect.engagement": self.engagement,
               "effect.dropout": self.dropout}
        if self.organisation is not None:
            out["effect.organisation"] = self.organisation
        return out  # type: ignore[return-value]
