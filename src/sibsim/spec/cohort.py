"""Who is simulated: the cohort (entry waves, strata), the comparison group and frailty."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sibsim.spec import _validate as v
from sibsim.spec.distributions import Distribution, Fixed, within
from sibsim.spec.outcomes import Outcome
from sibsim.spec.toml import KeyProblem, Section, build, calendar_period
from sibsim.spec.variant import Spec, param, toml_value

__all__ = ["Cohort", "ComparisonGroup", "Frailty", "Stratum", "split_by_shares"]


_SHARE = v.fraction(0.0, 1.0, low_open=True)
_TURNOVER = within(0.0, 1.0, "a share of the cohort replaced per period", fraction=True)
_UPTAKE = within(0.0, 1.0, "a probability that a newcomer takes up the service", fraction=True)


def split_by_shares(total: int, shares: Sequence[float]) -> tuple[int, ...]:
    """Split ``total`` people into integer groups proportional to ``shares``.

    Uses the largest-remainder method, so the parts always add up to ``total``.

    >>> split_by_shares(10, [0.5, 0.3, 0.2])
    (5, 3, 2)
    """
    w = np.asarray(shares, dtype=float)
    exact = total * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    rest = total - int(base.sum())
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:rest]] += 1
    return tuple(int(x) for x in base)


@dataclass(frozen=True)
class Stratum(Spec):
    """A sub-population with its own share of the cohort and, optionally, its own baseline.

    Parameters
    ----------
    name : str
        Label used in the output's ``stratum`` coordinate.
    share : float, optional
        Share of every entry wave (and of the comparison group) in this stratum, in (0, 1].
        Shares of all strata must add up to 1. Give ``share`` or ``entry``, not both.
    baseline : optional
        Replaces the outcome's baseline for this stratum: a probability (or distribution) for a
        binary outcome, a rate for a count outcome, or a transition matrix for a Markov outcome.
        ``None`` keeps the outcome's own baseline. The scenario checks it against the outcome
        kind.
    entry : sequence of int, optional
        The stratum's own entry waves (people): ``entry[i]`` of its people enter at the start
        of period ``start + i``. For strata that enter at different times (a municipality
        joining a year later): either every stratum gives ``entry`` or none does; the cohort's
        entry waves are then their sum, and each stratum's share of the cohort is its people
        over all.
    start : int
        Period (0-based) of the stratum's first entry wave, with ``entry`` (default 0). In a
        scenario file ``start_year`` (a calendar year, with the file's ``start_year``) may
        stand for it.
    turnover : float or Distribution, optional
        The stratum's own workforce turnover (an employer's own), in [0, 1] per period, instead
        of the cohort's (:class:`Cohort` ``turnover``, whose rules it follows). Uncertain:
        sampled once per draw as parameter ``cohort.turnover[<name>]``, independently of the
        other strata's. ``None`` (default): the cohort's.
    newcomer_uptake : float or Distribution, optional
        The stratum's own **newcomer uptake** (:class:`Cohort` ``newcomer_uptake``, whose rules
        it follows), in [0, 1]. Uncertain: sampled once per draw as parameter
        ``cohort.newcomer_uptake[<name>]``. ``None`` (default): the cohort's.

    Examples
    --------
    >>> Stratum("high risk", 0.25, baseline=0.4).share
    0.25
    >>> Stratum("hospital", 0.5, turnover=0.12).turnover
    Fixed(value=0.12)
    >>> late = Stratum("helsinki", entry=(200,), start=1)   # 200 people, a year later
    >>> late.entry_waves(3)
    (0, 200, 0)
    """

    name: str = param(v.label, doc="label in the output's stratum coordinate")
    share: float | None = param(default=None,
                                doc="share of every entry wave, in (0, 1]; shares add up to 1")
    baseline: object = param(default=None, doc="replaces the outcome's baseline in this stratum")
    entry: tuple[int, ...] | None = param(
        v.optional(v.vector(v.integer(0, v.MAX_PEOPLE))), default=None,
        doc="the stratum's own people entering in each period from start (instead of share)")
    start: int = param(v.integer(0, 10_000), default=0,
                       doc="period of the stratum's first entry wave (with entry)")
    turnover: float | Distribution | None = param(  # checked in validate (named by stratum)
        default=None, uncertain=True,
        doc="the stratum's own share of places replaced per period, in [0, 1] (None: the "
            "cohort's)")
    newcomer_uptake: float | Distribution | None = param(  # checked in validate (by stratum)
        default=None, uncertain=True,
        doc="the stratum's own probability that a newcomer joining while the service runs "
            "takes it up, in [0, 1] (None: the cohort's)")

    def validate(self) -> None:
        owner = f"Stratum[{self.name}]"
        if self.turnover is not None:  # the message names the stratum
            self._set("turnover", _TURNOVER(f"{owner}.turnover", self.turnover))
        if self.newcomer_uptake is not None:
            self._set("newcomer_uptake",
                      _UPTAKE(f"{owner}.newcomer_uptake", self.newcomer_uptake))
        if self.entry is None:
            if self.share is None:
                raise v.fail(f"{owner}.share", None, "a share of every entry wave in (0, 1], "
                             "or the stratum's own entry (people entering per period)")
            if self.start != 0:
                raise v.fail(f"{owner}.start", self.start, "0 unless the stratum gives its own "
                             "entry (a stratum given by share is a share of every wave)")
            # the share's message names the stratum: "Stratum[young].share: got ..."
            self._set("share", _SHARE(f"{owner}.share", self.share))
            return
        if self.share is not None:
            raise v.fail(f"{owner}.share", self.share, "no share when the stratum gives its own "
                         "entry (its share of the cohort is its people over all)")
        if sum(self.entry) == 0:
            raise v.fail(f"{owner}.entry", self.entry, "at least one wave with people in it")

    @property
    def own_entry(self) -> bool:
        """The stratum gives its own entry waves (rather than a share of every wave)."""
        return self.entry is not None

    def entry_waves(self, n_waves: int) -> tuple[int, ...]:
        """People of this stratum entering in each of ``n_waves`` periods (own entry only)."""
        assert self.entry is not None
        out = [0] * n_waves
        for i, n in enumerate(self.entry):
            out[self.start + i] = n
        return tuple(out)

    @classmethod
    def from_toml(cls, sec: Section, *, outcome: type[Outcome] | Outcome = Outcome,
                  start_year: int | None = None, periods_per_year: int = 1,
                  start_period: int = 0, **context: Any) -> Stratum:
        """Read one ``[[cohort.strata]]`` table.

        ``outcome`` (an outcome kind, class or object) reads ``baseline`` in that kind's form
        (:meth:`~sibsim.spec.outcomes.Outcome.parse_baseline`: a number or distribution, or
        transition matrices); without it a baseline is read as a number or distribution.
        ``start_year`` (the file's calendar year of period 0), ``periods_per_year`` and
        ``start_period`` (the period of that year in which period 0 begins) turn the table's
        ``start_year`` into the stratum's ``start`` period (see :func:`stratum_start`).
        """
        start = sec.get("start", 0)
        if "start_year" in sec.data:
            start = stratum_start(sec, start_year, periods_per_year, start_period)
        given = {key: sec.get(key, uncertain=True) for key in ("turnover", "newcomer_uptake")
                 if key in sec.data}  # absent: the cohort's
        out = build(sec.key, cls, name=sec.require("name"), share=sec.get("share"),
                    baseline=outcome.parse_baseline(sec, "baseline"),
                    entry=toml_value(sec.get("entry")), start=start, **given)
        sec.finish()
        return out


def stratum_start(sec: Section, start_year: int | None, periods_per_year: int,
                  start_period: int = 0) -> int:
    """The ``start`` period of a ``[[cohort.strata]]`` table that gives ``start_year`` (a
    calendar year): the deal's first period in that year, ``(year - start_year) *
    periods_per_year - start_period``, where ``start_period`` is the period of the file's
    ``start_year`` in which period 0 begins; a stratum of the start year itself starts at
    period 0 (the year's periods before the deal began are not in it).

    >>> stratum_start(Section("s", {"start_year": 2014}), 2013, 4, start_period=1)
    3
    >>> stratum_start(Section("s", {"start_year": 2013}), 2013, 4, start_period=1)
    0
    """
    key = sec.path("start_year")
    if "start" in sec.data:
        raise KeyProblem(key, "give start (a period) or start_year (a calendar year), not both")
    return calendar_period(key, sec.get("start_year"), start_year, periods_per_year,
                           start_period)


@dataclass(frozen=True)
class Cohort(Spec):
    """The treated cohort: its size, when participants enter, and its strata.

    Parameters
    ----------
    size : int, optional
        Number of participants, all entering in period 0.
    entry : sequence of int, optional
        Staggered entry: ``entry[t]`` participants enter at the start of period ``t`` (an *entry
        wave*). Give ``size`` or ``entry`` (if both, they must agree). Zero waves are allowed but
        not all zero.
    strata : sequence of Stratum
        Optional sub-populations; their shares must add up to 1 (within 1e-9).
    turnover : float or Distribution
        **Workforce turnover**: the share of the cohort's places (an employer's staff) whose
        holder leaves and is replaced by a newcomer at the start of each period after a
        person's entry period (a share per period, in [0, 1]: in a yearly scenario the annual
        turnover rate; with shorter periods ``1 - (1 - annual) ** (1 / periods per year)``).
        Uncertain: sampled once per draw (parameter ``cohort.turnover``). Leavers stop
        counting; each joiner takes the leaver's place in the cohort, its stratum and its entry
        wave, and is **not served**: the service's effect stays with the people who received
        it, so a place whose served holder has left counts the newcomer's untreated outcome.
        The measured per-person effect is diluted: with effect ``e`` on the engaged share
        ``g`` and no drop-out, place-periods ``k`` periods after entry carry the effect with
        probability ``g (1 - turnover) ** k``. In the engine a leaver is an engaged person
        who stops being engaged, with the per-period probability ``dropout + turnover -
        dropout x turnover`` (the effect's drop-out or turnover, independently). The cohort's
        size, the comparison group ("the same staff the year before", untreated) and the
        people at risk do not change. Only for outcomes without states (counts), without a
        profile by time since entry and without frailty: a newcomer would start in the initial
        state, at the start of their own clock, with a frailty of their own, which the engine
        does not model (refused by :class:`~sibsim.spec.scenario.Scenario`).
        Default 0: a fixed panel, the same people throughout. A stratum (an employer) may
        give its own (:class:`Stratum` ``turnover``); this one holds for the others.
    newcomer_uptake : float or Distribution
        **Newcomer uptake**: the probability that a newcomer who takes a leaver's place
        (``turnover``) *while the wave's service still runs* takes up the individual service
        in person, in [0, 1]. The service runs, for a place of the entry wave that enters in
        period ``e``, in the periods ``e + 1 <= t < e + onset + duration`` of the (service's)
        effect (``Effect.onset``, ``Effect.duration``: "periods of full effect, the service
        period"; without a duration, to the horizon), and not from a stratum's end on
        (``Effect.ends_by_stratum``); a newcomer joins at the start of a period after the
        wave's entry, as turnover has it. A newcomer who takes it up is engaged from the
        period of joining on, like a participant: the engaged rate in that period, the
        effect's drop-out afterwards, turnover again. The effect's time profile is the
        wave's, not the newcomer's own (the services are the employer's programme in its
        ``t - e``-th period, which a newcomer joins where it stands; the engine keeps no
        joining date per place): with ``onset``, ``duration`` and ``decay`` a newcomer gets
        the strength of the wave's time since entry. In the engine a place changes holder
        with probability ``turnover`` per period, whether its holder is engaged or not, and
        the newcomer is engaged with probability ``newcomer_uptake``: an engaged place stays
        engaged with probability ``(1 - dropout) (1 - turnover) + turnover x uptake``, a
        place not engaged (never engaged, dropped out, or an earlier newcomer who did not
        take it up) becomes engaged with probability ``turnover x uptake``. Engaged
        newcomers are counted among the engaged (``engaged`` in the results), so service
        costs per engaged participant (``[service_costs] per_participant``) cost them in the
        periods of the wave's ``service_periods``. Uncertain: sampled once per draw
        (parameter ``cohort.newcomer_uptake``; a stratum's own, :class:`Stratum`
        ``newcomer_uptake``, as ``cohort.newcomer_uptake[<stratum>]``). Default 0:
        newcomers are never engaged, the results of a cohort without the field to the last
        bit. It acts through turnover alone (a newcomer joins only in a leaver's place):
        without turnover nobody joins, and it is no parameter (a turnover of 0 in a draw, an
        override, leaves nothing to take up).

    Examples
    --------
    >>> Cohort(entry=(1000, 1000, 1000)).size
    3000
    >>> Cohort(size=500, turnover=0.1).parameters()
    {'cohort.turnover': Fixed(value=0.1)}
    >>> Cohort(size=500).parameters()   # no turnover: no parameter (a fixed panel)
    {}
    >>> Cohort(size=500, turnover=0.1, newcomer_uptake=0.7).parameters()
    {'cohort.turnover': Fixed(value=0.1), 'cohort.newcomer_uptake': Fixed(value=0.7)}
    """

    size: int | None = param(v.optional(v.integer(1, v.MAX_PEOPLE)), default=None,
                             doc="participants, all entering in period 0")
    entry: tuple[int, ...] | None = param(
        v.optional(v.vector(v.integer(0, v.MAX_PEOPLE))), default=None,
        doc="people entering at the start of each period (entry waves)")
    strata: tuple[Stratum, ...] = param(default=(), doc="sub-populations (shares add up to 1)")
    turnover: float | Distribution = param(
        _TURNOVER, default=0.0, uncertain=True,
        doc="share of the places whose holder is replaced per period, in [0, 1] (joiners "
            "unserved unless newcomer_uptake); counts without frailty only")
    newcomer_uptake: float | Distribution = param(
        _UPTAKE, default=0.0, uncertain=True,
        doc="probability that a newcomer joining while the wave's service runs takes it up, "
            "in [0, 1] (with turnover)")

    def validate(self) -> None:
        own = [isinstance(s, Stratum) and s.own_entry for s in self.strata]
        if any(own) and not all(own):
            name = getattr(self.strata[own.index(False)], "name", "?")
            raise v.fail(f"Stratum[{name}].entry", None, "the stratum's own entry, as the "
                         "other strata give theirs (every stratum gives entry, or none does)")
        if self.entry is None and own and all(own):  # the strata's waves added up
            n = max(s.start + len(s.entry) for s in self.strata)  # type: ignore[arg-type]
            self._set("entry", tuple(sum(col) for col in zip(
                *(s.entry_waves(n) for s in self.strata), strict=True)))
        if self.size is None and self.entry is None:
            raise v.fail("Cohort", {"size": self.size, "entry": self.entry},
                         "size (an integer) or entry (people entering per period)")
        if self.entry is not None:
            entry = self.entry
            if sum(entry) == 0 or sum(entry) > v.MAX_PEOPLE:
                raise v.fail("Cohort.entry", self.entry, "at least one wave with people in it "
                             f"and at most {v.MAX_PEOPLE:,} people in all")
            if self.size is not None and self.size != sum(entry):
                raise v.fail("Cohort.size", self.size,
                             f"the sum of the entry waves ({sum(entry)}) when both are given")
            self._set("size", sum(entry))
        else:
            self._set("entry", (self.size,))
        strata = tuple(self.strata)
        for s in strata:
            if not isinstance(s, Stratum):
                raise TypeError(f"Cohort.strata: got {s!r}; allowed: Stratum objects")
        if any(s.own_entry for s in strata):
            self._own_entry(strata)
            return
        if strata:
            total = sum(s.share for s in strata)
            if abs(total - 1.0) > 1e-9:
                raise v.fail("Cohort.strata[*].share", [s.share for s in strata],
                             "shares adding up to 1 within 1e-9")
            v.unique("Cohort.strata[*].name", [s.name for s in strata], "names")
        self._set("strata", strata)

    def _own_entry(self, strata: tuple[Stratum, ...]) -> None:
        """Strata with their own entry waves: all of them, adding up to the cohort's."""
        n = max(s.start + len(s.entry) for s in strata)  # type: ignore[arg-type]
        entry = tuple(self.entry)  # type: ignore[arg-type]
        if n > len(entry):
            raise v.fail("Cohort.entry", entry, f"entry waves as long as the strata's ({n} "
                         "periods: their start plus their entry)")
        waves = [s.entry_waves(len(entry)) for s in strata]
        total = tuple(sum(col) for col in zip(*waves, strict=True))
        if total != entry:
            raise v.fail("Cohort.entry", entry, f"the sum of the strata's own entry waves "
                         f"{list(total)} (or leave size and entry out)")
        v.unique("Cohort.strata[*].name", [s.name for s in strata], "names")
        self._set("strata", strata)

    @property
    def strata_own_entry(self) -> bool:
        """The strata give their own entry waves (they enter at different times)."""
        return bool(self.strata) and self.strata[0].own_entry

    def stratum_people(self) -> tuple[tuple[int, ...], ...]:
        """People per ``[wave][stratum]`` of the treated cohort.

        >>> c = Cohort(strata=(Stratum("a", entry=(5,)), Stratum("b", entry=(3,), start=1)))
        >>> c.entry, c.stratum_people()
        ((5, 3), ((5, 0), (0, 3)))
        """
        if self.strata_own_entry:
            waves = [s.entry_waves(self.n_waves) for s in self.strata]
            return tuple(zip(*waves, strict=True))
        shares = self.stratum_shares
        return tuple(split_by_shares(n, shares) if n else (0,) * len(shares)
                     for n in self.entry)  # type: ignore[union-attr]

    @classmethod
    def from_toml(cls, sec: Section, *, outcome: type[Outcome] | Outcome = Outcome,
                  start_year: int | None = None, periods_per_year: int = 1,
                  start_period: int = 0, **context: Any) -> Cohort:
        """Read a ``[cohort]`` table with its ``[[cohort.strata]]``.

        ``outcome`` (an outcome kind, class or object) reads the strata's baselines;
        ``start_year``, ``periods_per_year`` and ``start_period`` their calendar start (see
        :meth:`Stratum.from_toml`).
        """
        raw = sec.get("strata", [])
        if not isinstance(raw, list):
            raise KeyProblem(sec.path("strata"), "expected an array of tables [[cohort.strata]]")
        strata = tuple(Stratum.from_toml(Section(f"{sec.path('strata')}[{i}]", item),
                                         outcome=outcome, start_year=start_year,
                                         periods_per_year=periods_per_year,
                                         start_period=start_period)
                       for i, item in enumerate(raw))
        given = {key: sec.get(key, uncertain=True) for key in ("turnover", "newcomer_uptake")
                 if key in sec.data}  # absent: the fields' declared defaults
        out = build(sec.key, cls, size=sec.get("size"), entry=toml_value(sec.get("entry")),
                    strata=strata, **given)
        sec.finish()
        return out

    @property
    def has_turnover(self) -> bool:
        """Some of the cohort's places change hands (``turnover``, or a stratum's own, other
        than a fixed 0)."""
        return any(t != Fixed(0.0) for t in self.turnover_by_stratum().values())

    def turnover_by_stratum(self) -> dict[str, Distribution]:
        """Each stratum's turnover (its own, else the cohort's); ``{"all": turnover}`` without
        strata.

        >>> Cohort(size=10, turnover=0.1, strata=(Stratum("a", 0.5, turnover=0.3),
        ...                                       Stratum("b", 0.5))).turnover_by_stratum()
        {'a': Fixed(value=0.3), 'b': Fixed(value=0.1)}
        """
        return self._values_by_stratum("turnover")

    def _values_by_stratum(self, field: str) -> dict[str, Distribution]:
        """Each stratum's own value of ``field`` (a field of both :class:`Stratum` and the
        cohort), else the cohort's; ``{"all": value}`` without strata."""
        mine = getattr(self, field)
        if not self.strata:
            return {"all": mine}
        return {s.name: mine if getattr(s, field) is None else getattr(s, field)
                for s in self.strata}

    @property
    def has_newcomer_uptake(self) -> bool:
        """Some newcomers may take up the service (``newcomer_uptake``, or a stratum's own,
        other than a fixed 0)."""
        return any(u != Fixed(0.0) for u in self.uptake_by_stratum().values())

    def uptake_by_stratum(self) -> dict[str, Distribution]:
        """Each stratum's newcomer uptake (its own, else the cohort's); ``{"all": uptake}``
        without strata.

        >>> Cohort(size=10, turnover=0.1, newcomer_uptake=0.5,
        ...        strata=(Stratum("a", 0.5, newcomer_uptake=0.9),
        ...                Stratum("b", 0.5))).uptake_by_stratum()
        {'a': Fixed(value=0.9), 'b': Fixed(value=0.5)}
        """
        return self._values_by_stratum("newcomer_uptake")

    def parameters(self) -> dict[str, Distribution]:
        """Uncertain inputs, by parameter name: ``cohort.turnover`` when there is turnover (none
        for a fixed panel, whose results are those of a cohort without the field), and
        ``cohort.turnover[<stratum>]`` for a stratum giving its own; likewise
        ``cohort.newcomer_uptake`` (and ``cohort.newcomer_uptake[<stratum>]``) when some
        newcomer may take up the service.

        >>> Cohort(size=10, strata=(Stratum("a", 0.5, turnover=0.3),
        ...                         Stratum("b", 0.5))).parameters()
        {'cohort.turnover[a]': Fixed(value=0.3)}
        """
        if not self.has_turnover:
            return {}
        out = self._by_stratum("turnover")
        if self.has_newcomer_uptake:
            out.update(self._by_stratum("newcomer_uptake"))
        return out

    def _by_stratum(self, field: str) -> dict[str, Distribution]:
        """``cohort.<field>`` (when a stratum takes the cohort's figure and it is not a fixed
        0) and ``cohort.<field>[<stratum>]`` for each stratum giving its own."""
        own = {f"cohort.{field}[{s.name}]": getattr(s, field) for s in self.strata
               if getattr(s, field) is not None}
        cohort = getattr(self, field)
        shared = ({f"cohort.{field}": cohort}
                  if len(own) < max(1, len(self.strata)) and cohort != Fixed(0.0) else {})
        return {**shared, **own}

    @property
    def n_waves(self) -> int:
        return len(self.entry)  # type: ignore[arg-type]

    @property
    def stratum_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.strata) or ("all",)

    @property
    def stratum_shares(self) -> tuple[float, ...]:
        """Each stratum's share of the cohort (with own entry waves: its people over all)."""
        if self.strata_own_entry:
            return tuple(sum(s.entry) / self.size for s in self.strata)  # type: ignore[arg-type,operator]
        return tuple(s.share for s in self.strata) or (1.0,)  # type: ignore[misc]


@dataclass(frozen=True)
class ComparisonGroup(Spec):
    """A concurrent comparison group (an RCT control arm or a matched comparison group).

    Give its total ``size`` or a ``ratio`` of comparison individuals per participant (e.g. 10 for
    Peterborough's up-to-10:1 matching). It follows the cohort's entry waves and strata in
    proportion. A scenario without a comparison group (``comparison=None``) models a design with a
    historical baseline.

    >>> ComparisonGroup(ratio=10).sizes(Cohort(entry=(100, 50)))
    (1000, 500)
    """

    size: int | None = param(v.optional(v.integer(1, v.MAX_PEOPLE)), default=None,
                             doc="people in the comparison group, in all")
    ratio: float | None = param(v.optional(v.interval(0.0, 1e4, low_open=True)), default=None,
                                doc="comparison individuals per participant, in (0, 10000]")

    def validate(self) -> None:
        if (self.size is None) == (self.ratio is None):
            raise v.fail("ComparisonGroup", {"size": self.size, "ratio": self.ratio},
                         "exactly one of size (an integer) or ratio (per participant)")

    def sizes(self, cohort: Cohort) -> tuple[int, ...]:
        """Comparison-group size per entry wave."""
        entry = cohort.entry or ()
        if self.size is not None:
            return split_by_shares(self.size, entry)
        return tuple(round(n * self.ratio) for n in entry)  # type: ignore[operator]


@dataclass(frozen=True)
class Frailty(Spec):
    """Unobserved individual heterogeneity: a gamma multiplier with mean 1 on each person's hazard.

    ``variance`` is the frailty variance (1e-4 <= variance <= 10; below 1e-4 frailty makes no
    measurable difference: leave it out; above 10 almost everyone has near-zero risk and the
    expected-value engine's quadrature loses accuracy). A person with frailty ``z`` has
    per-period event probability ``1 - (1 - p) ** z`` (binary and Markov exits) or event rate
    ``z * rate`` (counts). Frailty makes individuals non-exchangeable, so the individual-level
    engine is used.

    With several outcome processes (``Scenario.other_processes``), ``shared=True`` gives each
    person one frailty for all of their processes (a person at high risk of one outcome is at
    high risk of the others: positive correlation between the processes); ``shared=False``
    draws an independent frailty per process. It has no effect on a single process.

    >>> Frailty(0.5).variance
    0.5
    """

    variance: float = param(v.interval(1e-4, 10.0),
                            doc="variance of the gamma frailty (mean 1), in [1e-4, 10]")
    shared: bool = param(v.flag, default=False,
                         doc="one frailty per person for all outcome processes")
