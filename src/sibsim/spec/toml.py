"""Reading specification tables from parsed TOML: sections, distributions, error locations.

Shared by the scenario-file loader and the money layer's tables. Problems are raised as
:class:`KeyProblem` (the key and what is wrong); the loader turns them into a
``ScenarioFileError`` naming the file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sibsim.spec import distributions as dist

__all__ = ["KeyProblem", "Section", "build", "calendar_period", "parse_distribution",
           "read_pairs"]


class KeyProblem(Exception):
    """A problem at a key of a specification table."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key
        self.problem = problem


# --------------------------------------------------------------------------- distributions
_DIST_FORMS: dict[str, list[tuple[tuple[str, ...], Callable[..., dist.Distribution]]]] = {
    "fixed": [(("value",), lambda value: dist.Fixed(value))],
    "normal": [(("mean", "sd"), lambda mean, sd: dist.Normal(mean, sd))],
    "lognormal": [(("meanlog", "sdlog"), dist.LogNormal),
                  (("mean", "sd"), dist.LogNormal.from_mean_sd)],
    "beta": [(("a", "b"), dist.Beta), (("mean", "sd"), dist.Beta.from_mean_sd)],
    "gamma": [(("shape", "scale"), dist.Gamma), (("mean", "sd"), dist.Gamma.from_mean_sd)],
    "uniform": [(("low", "high"), dist.Uniform)],
    "triangular": [(("low", "mode", "high"), dist.Triangular)],
    "dirichlet": [(("alpha",), lambda alpha: dist.Dirichlet(tuple(alpha))),
                  (("mean", "concentration"),
                   lambda mean, concentration: dist.Dirichlet.from_mean(tuple(mean),
                                                                        concentration))],
}


def parse_distribution(key: str, value: Any) -> Any:
    """A number stays a number; ``{dist = ..., ...}`` becomes a Distribution."""
    if not isinstance(value, Mapping):
        return value
    if "dist" not in value:
        raise KeyProblem(key, "an uncertain value needs a 'dist' key, one of "
                        + ", ".join(_DIST_FORMS))
    kind = value["dist"]
    if not isinstance(kind, str) or kind not in _DIST_FORMS:
        raise KeyProblem(f"{key}.dist", f"unknown distribution {kind!r}; allowed: "
                        + ", ".join(_DIST_FORMS))
    given = set(value) - {"dist"}
    for fields, factory in _DIST_FORMS[kind]:
        if given == set(fields):
            try:
                return factory(**{f: value[f] for f in fields})
            except (ValueError, TypeError) as err:
                raise KeyProblem(key, str(err)) from None
    forms = " or ".join("{" + ", ".join(f) + "}" for f, _ in _DIST_FORMS[kind])
    raise KeyProblem(key, f"a {kind} distribution takes {forms}; got {sorted(given)}")


# --------------------------------------------------------------------------- helpers
class Section:
    """A TOML table read key by key; leftover keys are reported as unknown."""

    def __init__(self, key: str, data: Any) -> None:
        if not isinstance(data, Mapping):
            raise KeyProblem(key, f"expected a table, got {type(data).__name__}")
        self.key = key
        self.data = dict(data)
        self.used: set[str] = set()

    def path(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def get(self, name: str, default: Any = None, *, uncertain: bool = False) -> Any:
        self.used.add(name)
        if name not in self.data:
            return default
        val = self.data[name]
        return parse_distribution(self.path(name), val) if uncertain else val

    def require(self, name: str, *, uncertain: bool = False) -> Any:
        if name not in self.data:
            raise KeyProblem(self.path(name), "this key is required")
        return self.get(name, uncertain=uncertain)

    def sub(self, name: str) -> Section | None:
        self.used.add(name)
        if name not in self.data:
            return None
        return Section(self.path(name), self.data[name])

    def finish(self) -> None:
        extra = sorted(set(self.data) - self.used)
        if extra:
            raise KeyProblem(self.path(extra[0]), "unknown key (allowed here: "
                            + ", ".join(sorted(self.used)) + ")")


def build(key: str, factory: Callable[..., Any], **kwargs: Any) -> Any:
    """Call a spec constructor, turning its validation errors into errors at ``key``."""
    try:
        return factory(**kwargs)
    except (ValueError, TypeError) as err:
        tables = [k for k, x in kwargs.items() if isinstance(x, Mapping) and "dist" in x]
        if tables:  # a distribution where the spec takes a number: a decision, not an assumption
            raise KeyProblem(f"{key}.{tables[0]}", f"{err}. {FIXED_KEY}") from None
        raise KeyProblem(key, str(err)) from None


#: Why a key refuses a ``{dist = ...}`` table.
FIXED_KEY = ("This key takes a number, not a distribution: it is a decision of the deal (a "
             "contract term such as a price, threshold, cap or share; the capital structure; "
             "a setting), not an uncertain assumption. The uncertain money assumptions are the "
             "savings per avoided outcome, the service costs and other costs (see "
             "docs/sensitivity.md); compare decisions with sibsim design")




def read_pairs(sec: Section, key: str) -> tuple:
    """Field reader for a list of ``[from, to]`` pairs (Markov events, effect targets).

    Each pair becomes a tuple; the spec's constraint checks the names.
    """
    value = sec.get(key)
    if not isinstance(value, list):
        raise KeyProblem(sec.path(key), "expected a list of [from, to] pairs")
    return tuple(tuple(p) if isinstance(p, list) else p for p in value)


def calendar_period(key: str, year: object, start_year: int | None, periods_per_year: int,
                    start_period: int = 0, last: int | None = None) -> int:
    """The deal's first period in the calendar year ``year`` of a scenario file:
    ``(year - start_year) * periods_per_year - start_period``, where ``start_period`` is the
    period of the file's ``start_year`` in which period 0 begins; 0 for the start year itself
    (its periods before the deal began are not in it). Refused (a :class:`KeyProblem` at
    ``key``): a file without ``start_year``, a year before it, and one after ``last``.

    >>> calendar_period("s.start_year", 2014, 2013, 4, start_period=1)
    3
    >>> calendar_period("s.start_year", 2013, 2013, 4, start_period=1)
    0
    """
    if start_year is None:
        raise KeyProblem(key, "needs the file's top-level start_year (the calendar year of "
                         "period 0) to count periods from")
    allowed = f"a calendar year from the file's start_year ({start_year})" + (
        " on" if last is None else f" to {last} (the horizon ends in or at the start of that "
        "year)")
    if isinstance(year, bool) or not isinstance(year, int) or year < start_year or (
            last is not None and year > last):
        raise KeyProblem(key, f"got {year!r}; allowed: {allowed}")
    return max(0, (year - start_year) * periods_per_year - start_period)
