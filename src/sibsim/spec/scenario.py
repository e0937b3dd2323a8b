"""A complete simulation scenario: who, what happens to them, what the service changes."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sibsim.spec import _validate as v
from sibsim.spec.cohort import Cohort, ComparisonGroup, Frailty, Stratum
from sibsim.spec.distributions import Distribution
from sibsim.spec.effect import Effect
from sibsim.spec.outcomes import OUTCOME_KINDS, Outcome

__all__ = ["PERIODS_PER_YEAR", "Scenario"]

#: Period labels and how many of them make a year (used to annualise rates).
PERIODS_PER_YEAR = {"year": 1, "half-year": 2, "quarter": 4, "month": 12}


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

    def _check_effect(self) -> None:
        if self.effect is not None:
            self.outcome.check_effect(self.effect)

    # ------------------------------------------------------------------ derived structure
    @property
    def arms(self) -> tuple[str, ...]:
        return ("treatment", "comparison") if self.comparison is not None else ("treatment",)

    @property
    def periods_per_year(self) -> int:
        return PERIODS_PER_YEAR[self.period]

    def group_sizes(self) -> list[list[list[int]]]:
        """People per ``[arm][wave][stratum]``."""
        from sibsim.spec.cohort import split_by_shares

        shares = self.cohort.stratum_shares
        waves = [list(self.cohort.entry)]  # type: ignore[arg-type]
        if self.comparison is not None:
            waves.append(list(self.comparison.sizes(self.cohort)))
        return [[list(split_by_shares(n, shares)) if n else [0] * len(shares) for n in arm]
                for arm in waves]

    def baseline_of(self, stratum: Stratum | None) -> object:
        """The baseline parameter (probability, rate or transitions) of a stratum."""
        if stratum is not None and stratum.baseline is not None:
            return stratum.baseline
        return self.outcome.baseline

    def parameters(self) -> dict[str, Distribution]:
        """Every uncertain input, by name, in a fixed order."""
        out: dict[str, Distribution] = dict(self.outcome.parameters("baseline"))
        for s in self.cohort.strata:
            if s.baseline is not None:
                tmp = self.outcome.with_baseline(s.baseline)
                out.update(tmp.parameters(f"baseline[{s.name}]"))
        if self.effect is not None:
            out.update(self.effect.parameters())
        return out

    def with_effect(self, effect: Effect | None) -> Scenario:
        return replace(self, effect=effect)

