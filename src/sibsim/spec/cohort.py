"""Who is simulated: the cohort (entry waves, strata), the comparison group and frailty."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sibsim.spec import _validate as v

__all__ = ["Cohort", "ComparisonGroup", "Frailty", "Stratum", "split_by_shares"]


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
class Stratum:
    """A sub-population with its own share of the cohort and, optionally, its own baseline.

    Parameters
    ----------
    name : str
        Label used in the output's ``stratum`` coordinate.
    share : float
        Share of every entry wave (and of the comparison group) in this stratum, in (0, 1].
        Shares of all strata must add up to 1.
    baseline : optional
        Replaces the outcome's baseline for this stratum: a probability (or distribution) for a
        binary outcome, a rate for a count outcome, or a transition matrix for a Markov outcome.
        ``None`` keeps the outcome's own baseline.
    """

    name: str
    share: float
    baseline: object = None

    def __post_init__(self) -> None:
        v.name("Stratum.name", self.name)
        object.__setattr__(self, "share", v.real(f"Stratum[{self.name}].share", self.share,
                                                 low=0.0, high=1.0, low_open=True))


@dataclass(frozen=True)
class Cohort:
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

    Examples
    --------
    >>> Cohort(entry=(1000, 1000, 1000)).size
    3000
    """

    size: int | None = None
    entry: tuple[int, ...] | None = None
    strata: tuple[Stratum, ...] = ()

    def __post_init__(self) -> None:
        if self.size is None and self.entry is None:
            raise v.fail("Cohort", {"size": self.size, "entry": self.entry},
                         "size (an integer) or entry (people entering per period)")
        if self.entry is not None:
            if isinstance(self.entry, (str, bytes)) or not isinstance(self.entry, Sequence):
                raise TypeError(f"Cohort.entry: got {self.entry!r}; allowed: a sequence of "
                                "non-negative integers (people entering in each period)")
            entry = tuple(v.positive_int(f"Cohort.entry[{i}]", n, minimum=0,
                                         maximum=v.MAX_PEOPLE)
                          for i, n in enumerate(self.entry))
            if not entry or sum(entry) == 0 or sum(entry) > v.MAX_PEOPLE:
                raise v.fail("Cohort.entry", self.entry, "at least one wave with people in it "
                             f"and at most {v.MAX_PEOPLE:,} people in all")
            if self.size is not None and self.size != sum(entry):
                raise v.fail("Cohort.size", self.size,
                             f"the sum of the entry waves ({sum(entry)}) when both are given")
            object.__setattr__(self, "entry", entry)
            object.__setattr__(self, "size", sum(entry))
        else:
            size = v.positive_int("Cohort.size", self.size, maximum=v.MAX_PEOPLE)
            object.__setattr__(self, "size", size)
            object.__setattr__(self, "entry", (size,))
        strata = tuple(self.strata)
        for s in strata:
            if not isinstance(s, Stratum):
                raise TypeError(f"Cohort.strata: got {s!r}; allowed: Stratum objects")
        if strata:
            total = sum(s.share for s in strata)
            if abs(total - 1.0) > 1e-9:
                raise v.fail("Cohort.strata[*].share", [s.share for s in strata],
                             "shares adding up to 1 within 1e-9")
            names = [s.name for s in strata]
            if len(set(names)) != len(names):
                raise v.fail("Cohort.strata[*].name", names, "distinct names")
        object.__setattr__(self, "strata", strata)

    @property
    def n_waves(self) -> int:
        return len(self.entry)  # type: ignore[arg-type]

    @property
    def stratum_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.strata) or ("all",)

    @property
    def stratum_shares(self) -> tuple[float, ...]:
        return tuple(s.share for s in self.strata) or (1.0,)


@dataclass(frozen=True)
class ComparisonGroup:
    """A concurrent comparison group (an RCT control arm or a matched comparison group).

    Give its total ``size`` or a ``ratio`` of comparison individuals per participant (e.g. 10 for
    Peterborough's up-to-10:1 matching). It follows the cohort's entry waves and strata in
    proportion. A scenario without a comparison group (``comparison=None``) models a design with a
    historical baseline.

    >>> ComparisonGroup(ratio=10).sizes(Cohort(entry=(100, 50)))
    (1000, 500)
    """

    size: int | None = None
    ratio: float | None = None

    def __post_init__(self) -> None:
        if (self.size is None) == (self.ratio is None):
            raise v.fail("ComparisonGroup", {"size": self.size, "ratio": self.ratio},
                         "exactly one of size (an integer) or ratio (per participant)")
        if self.size is not None:
            object.__setattr__(self, "size", v.positive_int("ComparisonGroup.size", self.size,
                                                            maximum=v.MAX_PEOPLE))
        else:
            object.__setattr__(self, "ratio", v.real("ComparisonGroup.ratio", self.ratio,
                                                     low=0.0, high=1e4, low_open=True))

    def sizes(self, cohort: Cohort) -> tuple[int, ...]:
        """Comparison-group size per entry wave."""
        entry = cohort.entry or ()
        if self.size is not None:
            return split_by_shares(self.size, entry)
        return tuple(round(n * self.ratio) for n in entry)  # type: ignore[operator]


@dataclass(frozen=True)
class Frailty:
    """Unobserved individual heterogeneity: a gamma multiplier with mean 1 on each person's hazard.

    ``variance`` is the frailty variance (1e-4 <= variance <= 10; below 1e-4 frailty makes no
    measurable difference: leave it out; above 10 almost everyone has near-zero risk and the
    expected-value engine's quadrature loses accuracy). A person with frailty ``z`` has
    per-period event probability ``1 - (1 - p) ** z`` (binary and Markov exits) or event rate
    ``z * rate`` (counts). Frailty makes individuals non-exchangeable, so the individual-level
    engine is used.
    """

    variance: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "variance", v.real("Frailty.variance", self.variance,
                                                    low=1e-4, high=10.0))
