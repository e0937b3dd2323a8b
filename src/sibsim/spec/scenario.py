"""A complete simulation scenario: who, what happens to them, what the service changes."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

from sibsim.spec import _validate as v
from sibsim.spec.cohort import Cohort, ComparisonGroup, Frailty, Stratum
from sibsim.spec.distributions import Distribution, Fixed, as_distribution
from sibsim.spec.effect import Effect
from sibsim.spec.outcomes import OUTCOME_KINDS, Outcome
from sibsim.spec.state_counts import check_followers

__all__ = ["PERIODS_PER_YEAR", "Process", "Scenario"]

#: Period labels and how many of them make a year (used to annualise rates).
PERIODS_PER_YEAR = {"year": 1, "half-year": 2, "quarter": 4, "month": 12}


@dataclass(frozen=True)
class Process:
    """One outcome process of the participants, with the service's effect on it.

    A scenario has one process (its ``outcome`` and ``effect``) and optionally more
    (``Scenario.other_processes``): e.g. housing states (Markov) and jail days (counts) of the same
    people. A process is named by its outcome's ``name`` (names are unique within a scenario).

    Parameters
    ----------
    outcome : BinaryOutcome | CountOutcome | MarkovOutcome
        The process at baseline (no service).
    effect : Effect, optional
        The service's effect on this process; ``None``: the service does not change it.

    Examples
    --------
    >>> from sibsim.spec.outcomes import CountOutcome
    >>> Process(CountOutcome(rate=40.0, name="jail_days"), Effect("rr", 0.9)).name
    'jail_days'
    """

    outcome: Outcome
    effect: Effect | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.outcome, OUTCOME_KINDS.classes()):
            raise TypeError(f"Process.outcome: got {type(self.outcome).__name__}; allowed: "
                            + " or ".join(c.__name__ for c in OUTCOME_KINDS.classes()))
        if not isinstance(self.effect, (Effect, type(None))):
            raise TypeError(f"Process.effect: got {type(self.effect).__name__}; allowed: "
                            "Effect or None")
        if self.effect is not None:
            self.outcome.check_effect(self.effect)

    @property
    def name(self) -> str:
        return self.outcome.name


#: Effect fields that belong to the service (the person), not to one process: every process's
#: effect must agree on them (or leave them at their defaults).
SERVICE_FIELDS = (("engagement", 1.0), ("dropout", 0.0))
#: Parameters of the person, shared by every process: the service's engagement and drop-out,
#: the cohort's turnover (a person who leaves leaves every process) and newcomer uptake (a
#: newcomer who takes up the service is engaged in every process).
SERVICE_PARAMETERS = ("effect.engagement", "effect.dropout", "cohort.turnover",
                      "cohort.newcomer_uptake")


def is_service_parameter(name: str) -> bool:
    """One of :data:`SERVICE_PARAMETERS`, or a stratum's own turnover or newcomer uptake
    (``cohort.turnover[<stratum>]``, ``cohort.newcomer_uptake[<stratum>]``).

    >>> is_service_parameter("cohort.turnover[hospital]"), is_service_parameter("effect.value")
    (True, False)
    >>> is_service_parameter("cohort.newcomer_uptake[hospital]")
    True
    """
    return name in SERVICE_PARAMETERS or name.startswith(("cohort.turnover[",
                                                          "cohort.newcomer_uptake["))
#: Names a process cannot take when there are several (its parameters are prefixed with it).
RESERVED_NAMES = ("baseline", "effect", "evaluation")


@dataclass(frozen=True)
class Scenario:
    """Everything the engine needs to simulate a treated cohort and its comparison group.

    Parameters
    ----------
    cohort : Cohort
        The participants (size or entry waves, strata).
    outcome : BinaryOutcome | CountOutcome | MarkovOutcome
        The outcome process at baseline (no service): one of the registered kinds
        (:data:`sibsim.spec.outcomes.OUTCOME_KINDS`).
    horizon : int
        Number of periods simulated, counted from the first entry period (period 0).
    effect : Effect, optional
        The service's effect on the treated arm; ``None`` simulates no effect.
    comparison : ComparisonGroup, optional
        A concurrent comparison group; ``None`` for designs with a historical baseline.
    frailty : Frailty, optional
        Gamma frailty with mean 1 (forces the individual-level engine).
    period : {"year", "half-year", "quarter", "month"}
        What one period is. All rates in the scenario are per period.
    name, description : str
        Labels stored in the output's attrs.
    other_processes : sequence of Process
        Further outcome processes of the same people, each with its own effect (e.g. jail days
        beside housing states); ``outcome`` and ``effect`` are the first process. Process names
        (the outcomes' ``name``) must be distinct. The effects must agree on ``engagement`` and
        ``dropout`` (they are the person's: one engaged person is engaged in every process; an
        effect that leaves them at their defaults takes the others'). Strata baselines replace
        the first process's baseline only. With ``frailty.shared`` the processes of one person
        share one frailty draw (individual engine).

    Examples
    --------
    >>> from sibsim.spec.outcomes import BinaryOutcome
    >>> s = Scenario(cohort=Cohort(size=1000), outcome=BinaryOutcome(0.3), horizon=5,
    ...              effect=Effect("rr", 0.8), comparison=ComparisonGroup(ratio=1))
    >>> s.arms
    ('treatment', 'comparison')
    """

    cohort: Cohort
    outcome: Outcome
    horizon: int
    effect: Effect | None = None
    comparison: ComparisonGroup | None = None
    frailty: Frailty | None = None
    period: str = "year"
    name: str = "scenario"
    description: str = ""
    other_processes: tuple[Process, ...] = ()

    def __post_init__(self) -> None:
        for fname, cls in (("cohort", Cohort), ("effect", (Effect, type(None))),
                           ("comparison", (ComparisonGroup, type(None))),
                           ("frailty", (Frailty, type(None))),
                           ("outcome", OUTCOME_KINDS.classes())):
            val = getattr(self, fname)
            if not isinstance(val, cls):
                raise TypeError(f"Scenario.{fname}: got {type(val).__name__}; allowed: "
                                + (cls.__name__ if isinstance(cls, type)
                                   else " or ".join(c.__name__ for c in cls)))
        object.__setattr__(self, "horizon", v.positive_int("Scenario.horizon", self.horizon))
        if self.horizon > 10_000:
            raise v.fail("Scenario.horizon", self.horizon, "at most 10000 periods")
        if self.cohort.n_waves > self.horizon:
            raise v.fail("Cohort.entry", self.cohort.entry,
                         f"no more entry waves than the horizon ({self.horizon} periods)")
        v.choice("Scenario.period", self.period, tuple(PERIODS_PER_YEAR))
        v.file_name("Scenario.name", self.name)
        strata = tuple(
            s if s.baseline is None else replace(
                s, baseline=self.outcome.check_baseline(f"Stratum[{s.name}].baseline", s.baseline))
            for s in self.cohort.strata)
        object.__setattr__(self, "cohort", replace(self.cohort, strata=strata))
        self._check_effect()
        self._check_processes()
        self._check_turnover()
        if self.comparison is not None and sum(self.comparison.sizes(self.cohort)) > v.MAX_PEOPLE:
            raise v.fail("ComparisonGroup", self.comparison,
                         f"at most {v.MAX_PEOPLE:,} people in the comparison group")
        self._check_groups()

    def _check_groups(self) -> None:
        """Refuse groups that round to nobody: a comparison group of 0 people, a stratum
        without a participant (they would measure, or pay on, nobody)."""
        if self.comparison is not None and sum(self.comparison.sizes(self.cohort)) == 0:
            c = self.comparison
            raise v.fail("ComparisonGroup.ratio", c.ratio,
                         f"a ratio that gives at least one comparison person ({c.ratio:g} x "
                         f"{self.cohort.size:,} participants rounds to 0 people)")
        treated = self.group_sizes()[0]  # [wave][stratum]
        for k, s in enumerate(self.cohort.strata):
            if sum(wave[k] for wave in treated) == 0:
                raise v.fail(f"Stratum[{s.name}].share", s.share,
                             f"a share that gives at least one participant ({s.share:g} of "
                             f"{self.cohort.size:,} participants rounds to 0 people)")

    def _check_turnover(self) -> None:
        """Refuse turnover where a newcomer would differ from the leaver other than in being
        unserved (the engine keeps the place's state and frailty): outcomes with states (a
        newcomer starts in the initial state), counts that follow a state, a profile by time
        since entry (a newcomer's own clock) and frailty (a newcomer's own frailty)."""
        c = self.cohort
        if not c.has_turnover:
            return
        why = None
        for p in self.processes:
            o = p.outcome
            if o.states or o.followed() is not None:
                why = (f"outcome {o.name!r} has states {list(o.states)} or follows one (a "
                       "newcomer would start in the initial state)")
            elif getattr(o, "profile", None) is not None and o.clock == "entry":
                why = (f"outcome {o.name!r} has a profile by time since entry (a newcomer "
                       "would have a clock of their own); use clock = \"calendar\"")
            if why is not None:
                break  # the first process that cannot take it
        if why is None and self.frailty is not None:
            why = "the scenario has frailty (a newcomer would have a frailty of their own)"
        if why is not None:
            shown = (c.turnover.value if isinstance(c.turnover, Fixed)
                     else c.turnover.describe())  # type: ignore[union-attr]
            raise v.fail("Cohort.turnover", shown,
                         "0 (no turnover) unless every outcome is a count without states, a "
                         "profile by time since entry or frailty: here " + why)
        windows = {(p.effect.onset, p.effect.duration, p.effect.ends_by_stratum)
                   for p in self.processes if p.effect is not None}
        if c.has_newcomer_uptake and len(windows) > 1:
            raise v.fail("Cohort.newcomer_uptake", "uptake with several service periods",
                         "one service period for every process's effect (the same onset, "
                         "duration and ends_by_stratum): a newcomer takes up the service, "
                         "which runs for all of a person's outcomes alike")

    def _check_effect(self) -> None:
        if self.effect is not None:
            self.outcome.check_effect(self.effect)
        for p in (self.effect, *(q.effect for q in self.other_processes)):
            if p is not None and len(p.by_wave) > self.cohort.n_waves:
                raise v.fail("Effect.by_wave", p.by_wave,
                             f"at most one multiplier per entry wave ({self.cohort.n_waves})")
            if p is not None:
                p.check_strata(self.cohort.strata, self.horizon)

    def _check_processes(self) -> None:
        others = self.other_processes
        if isinstance(others, Process) or not isinstance(others, (tuple, list)):
            raise TypeError(f"Scenario.other_processes: got {others!r}; allowed: a sequence of "
                            "Process")
        for p in others:
            if not isinstance(p, Process):
                raise TypeError(f"Scenario.other_processes: got {p!r}; allowed: Process objects")
        object.__setattr__(self, "other_processes", tuple(others))
        if any(p.outcome.followed() is not None for p in self.processes):
            # counts by state: what they follow resolved, rates in its state order
            checked = check_followers(self.processes)
            object.__setattr__(self, "outcome", checked[0].outcome)
            object.__setattr__(self, "other_processes", checked[1:])
            others = self.other_processes
        if not others:
            return
        names = [p.name for p in self.processes]
        v.unique("Scenario processes (outcome names)", names, "names: one per process")
        for n in names:
            if n in RESERVED_NAMES:
                raise v.fail("Scenario process name (outcome name)", n,
                             "a name other than " + ", ".join(RESERVED_NAMES)
                             + " (parameter names start with it)")
        effects = [p.effect for p in self.processes if p.effect is not None]
        for fname, default in SERVICE_FIELDS:
            given = [getattr(e, fname) for e in effects
                     if getattr(e, fname) != as_distribution(fname, default)]
            if any(g != given[0] for g in given[1:]):
                raise v.fail(f"Effect.{fname}", [g.describe() for g in given],
                             f"the same {fname} in every process's effect (it is the person's "
                             "engagement with the service), or the default in all but one")

    # ------------------------------------------------------------------ processes
    @property
    def processes(self) -> tuple[Process, ...]:
        """Every outcome process: ``(outcome, effect)`` first, then ``other_processes``."""
        return (Process(self.outcome, self.effect), *self.other_processes)

    @property
    def process_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.processes)

    @property
    def service_effect(self) -> Effect | None:
        """The effect that carries the service's engagement and dropout (the first one that
        sets them, else the first effect); ``None`` if no process has an effect."""
        effects = [p.effect for p in self.processes if p.effect is not None]
        for e in effects:
            if any(getattr(e, f) != as_distribution(f, d) for f, d in SERVICE_FIELDS):
                return e
        return effects[0] if effects else None

    def process_scenario(self, index: int) -> Scenario:
        """Process ``index`` as a single-process scenario (the engine simulates each process
        with it). Strata keep their baselines for the first process only; the service's
        engagement and dropout are those of :attr:`service_effect`."""
        if not self.other_processes:
            return self
        p = self.processes[index]
        cohort = self.cohort
        if index > 0:
            cohort = replace(cohort, strata=tuple(replace(s, baseline=None)
                                                  for s in cohort.strata))
        effect = p.effect
        service = self.service_effect
        if effect is not None and service is not None:
            effect = replace(effect, engagement=service.engagement, dropout=service.dropout)
        if p.outcome.followed() is not None:
            # a count by state alone: its rates were checked against the process it follows
            # when this scenario was built, which its part no longer holds
            return self._part(cohort=cohort, outcome=p.outcome, effect=effect,
                              other_processes=())
        return replace(self, cohort=cohort, outcome=p.outcome, effect=effect, other_processes=())

    def _part(self, **changes: object) -> Scenario:
        """A copy with ``changes``, without the checks across processes: a part of this
        validated scenario (:meth:`process_scenario` of a count by state, whose effect and
        cohort were checked here)."""
        part = copy.copy(self)
        for name, value in changes.items():
            object.__setattr__(part, name, value)
        return part

    # ------------------------------------------------------------------ derived structure
    @property
    def arms(self) -> tuple[str, ...]:
        return ("treatment", "comparison") if self.comparison is not None else ("treatment",)

    @property
    def periods_per_year(self) -> int:
        return PERIODS_PER_YEAR[self.period]

    def group_sizes(self) -> list[list[list[int]]]:
        """People per ``[arm][wave][stratum]``.

        The treated cohort's strata are shares of every wave, or their own entry waves
        (:meth:`Cohort.stratum_people`); the comparison group of a wave is split among the
        strata as that wave's participants are."""
        from sibsim.spec.cohort import split_by_shares

        treated = [list(w) for w in self.cohort.stratum_people()]
        out = [treated]
        if self.comparison is not None:
            if self.cohort.strata_own_entry:
                out.append([list(split_by_shares(n, t)) if n and sum(t) else [0] * len(t)
                            for n, t in zip(self.comparison.sizes(self.cohort), treated,
                                            strict=True)])
            else:
                shares = self.cohort.stratum_shares
                out.append([list(split_by_shares(n, shares)) if n else [0] * len(shares)
                            for n in self.comparison.sizes(self.cohort)])
        return out

    def baseline_of(self, stratum: Stratum | None) -> object:
        """The baseline parameter (probability, rate or transitions) of a stratum."""
        if stratum is not None and stratum.baseline is not None:
            return stratum.baseline
        return self.outcome.baseline

    def parameters(self) -> dict[str, Distribution]:
        """Every uncertain input, by name, in a fixed order.

        The first process's inputs are named ``baseline.*`` and ``effect.*``; those of a further
        process ``<name>.baseline.*`` and ``<name>.effect.value`` (engagement and dropout are
        the service's, named ``effect.engagement`` and ``effect.dropout``).
        """
        if self.other_processes:
            return self._all_parameters()
        out: dict[str, Distribution] = dict(self.outcome.parameters("baseline"))
        for s in self.cohort.strata:
            if s.baseline is not None:
                tmp = self.outcome.with_baseline(s.baseline)
                out.update(tmp.parameters(f"baseline[{s.name}]"))
        if self.effect is not None:
            out.update(self.effect.parameters())
        out.update(self.cohort.parameters())
        return out

    def _all_parameters(self) -> dict[str, Distribution]:
        out = self.process_scenario(0).parameters()
        service = self.service_effect
        if service is not None:
            out.setdefault("effect.engagement", service.engagement)  # type: ignore[arg-type]
            out.setdefault("effect.dropout", service.dropout)  # type: ignore[arg-type]
        for i, p in enumerate(self.processes[1:], start=1):
            for key, dist in self.process_scenario(i).parameters().items():
                if not is_service_parameter(key):
                    out[f"{p.name}.{key}"] = dist
        return out

    def process_parameters(self, index: int, sampled: dict) -> dict:
        """The sampled parameters of process ``index`` under the names its own single-process
        scenario uses (:meth:`process_scenario`); ``sampled`` is keyed as :meth:`parameters`."""
        if not self.other_processes:
            return sampled
        if index == 0:
            others = tuple(f"{p.name}." for p in self.other_processes)
            out = {k: x for k, x in sampled.items() if not k.startswith(others)}
        else:
            prefix = f"{self.processes[index].name}."
            out = {k[len(prefix):]: x for k, x in sampled.items() if k.startswith(prefix)}
        for k, x in sampled.items():
            if is_service_parameter(k):
                out[k] = x
        return out

    def with_effect(self, effect: Effect | None) -> Scenario:
        """A copy with another effect on the first process; ``None`` removes the service from
        every process (no effect anywhere: the counterfactual)."""
        if effect is None and self.other_processes:
            return replace(self, effect=None, other_processes=tuple(
                replace(p, effect=None) for p in self.other_processes))
        return replace(self, effect=effect)

