"""Scenario files: a documented TOML format for everything a scenario holds.

A scenario file is a TOML document; see ``docs/scenario-format.md`` for every key. Numbers that
are uncertain are written as inline tables with a ``dist`` key, e.g.
``value = {dist = "lognormal", mean = 0.9, sd = 0.05}``.

Errors raise :class:`ScenarioFileError` (a ``ValueError``) naming the file, the key and the
problem. Unknown keys are errors too, so a typo never passes silently.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from sibsim.spec import distributions as dist
from sibsim.spec.cohort import Cohort, ComparisonGroup, Frailty, Stratum
from sibsim.spec.effect import Effect
from sibsim.spec.outcomes import BinaryOutcome, CountOutcome, MarkovOutcome
from sibsim.spec.scenario import Scenario

__all__ = ["ScenarioFileError", "builtin_scenarios", "load_scenario", "parse_scenario",
           "register_section"]


class ScenarioFileError(ValueError):
    """A scenario file could not be read; the message names the file, the key and the problem."""


class _KeyError(Exception):
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
        raise _KeyError(key, "an uncertain value needs a 'dist' key, one of "
                        + ", ".join(_DIST_FORMS))
    kind = value["dist"]
    if kind not in _DIST_FORMS:
        raise _KeyError(f"{key}.dist", f"unknown distribution {kind!r}; allowed: "
                        + ", ".join(_DIST_FORMS))
    given = set(value) - {"dist"}
    for fields, factory in _DIST_FORMS[kind]:
        if given == set(fields):
            try:
                return factory(**{f: value[f] for f in fields})
            except (ValueError, TypeError) as err:
                raise _KeyError(key, str(err)) from None
    forms = " or ".join("{" + ", ".join(f) + "}" for f, _ in _DIST_FORMS[kind])
    raise _KeyError(key, f"a {kind} distribution takes {forms}; got {sorted(given)}")


# --------------------------------------------------------------------------- helpers
class Section:
    """A TOML table read key by key; leftover keys are reported as unknown."""

    def __init__(self, key: str, data: Any) -> None:
        if not isinstance(data, Mapping):
            raise _KeyError(key, f"expected a table, got {type(data).__name__}")
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
            raise _KeyError(self.path(name), "this key is required")
        return self.get(name, uncertain=uncertain)

    def sub(self, name: str) -> Section | None:
        self.used.add(name)
        if name not in self.data:
            return None
        return Section(self.path(name), self.data[name])

    def finish(self) -> None:
        extra = sorted(set(self.data) - self.used)
        if extra:
            raise _KeyError(self.path(extra[0]), "unknown key (allowed here: "
                            + ", ".join(sorted(self.used)) + ")")


def build(key: str, factory: Callable[..., Any], **kwargs: Any) -> Any:
    """Call a spec constructor, turning its validation errors into errors at ``key``."""
    try:
        return factory(**kwargs)
    except (ValueError, TypeError) as err:
        raise _KeyError(key, str(err)) from None


def _pairs(key: str, value: Any) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _KeyError(key, "expected a list of [from, to] pairs")
    return tuple(tuple(p) if isinstance(p, list) else p for p in value)


def _transitions(key: str, value: Any) -> Any:
    def row(k: str, r: Any) -> Any:
        return parse_distribution(k, r) if isinstance(r, Mapping) else r

    if not isinstance(value, list) or not value:
        raise _KeyError(key, "expected a matrix (list of rows) or a list of matrices")
    first = value[0]
    if isinstance(first, list) and first and isinstance(first[0], (list, Mapping)):
        return [[row(f"{key}[{m}][{i}]", r) for i, r in enumerate(mat)]
                for m, mat in enumerate(value)]
    return [row(f"{key}[{i}]", r) for i, r in enumerate(value)]


# --------------------------------------------------------------------------- sections
def _cohort(sec: Section, outcome_kind: str) -> Cohort:
    strata = []
    raw = sec.get("strata", [])
    if not isinstance(raw, list):
        raise _KeyError(sec.path("strata"), "expected an array of tables [[cohort.strata]]")
    for i, item in enumerate(raw):
        s = Section(f"{sec.path('strata')}[{i}]", item)
        baseline = s.get("baseline")
        if isinstance(baseline, list) and outcome_kind == "markov":
            baseline = _transitions(s.path("baseline"), baseline)
        elif baseline is not None:
            baseline = parse_distribution(s.path("baseline"), baseline)
        strata.append(build(s.key, Stratum, name=s.require("name"), share=s.require("share"),
                            baseline=baseline))
        s.finish()
    entry = sec.get("entry")
    out = build(sec.key, Cohort, size=sec.get("size"),
                entry=tuple(entry) if isinstance(entry, list) else entry, strata=tuple(strata))
    sec.finish()
    return out


def _outcome(sec: Section) -> Any:
    kind = sec.require("kind")
    common = {"clock": sec.get("clock", "entry")}
    if kind == "binary":
        prof = sec.get("profile")
        out = build(sec.key, BinaryOutcome, probability=sec.require("probability", uncertain=True),
                    recurrent=sec.get("recurrent", True), name=sec.get("name", "event"),
                    profile=tuple(prof) if isinstance(prof, list) else prof, **common)
    elif kind == "counts":
        prof = sec.get("profile")
        out = build(sec.key, CountOutcome, rate=sec.require("rate", uncertain=True),
                    dispersion=sec.get("dispersion", uncertain=True),
                    name=sec.get("name", "event"),
                    profile=tuple(prof) if isinstance(prof, list) else prof, **common)
    elif kind == "markov":
        out = build(sec.key, MarkovOutcome, states=tuple(sec.require("states")),
                    transitions=_transitions(sec.path("transitions"),
                                             sec.require("transitions")),
                    initial=sec.get("initial"), events=_pairs(sec.path("events"),
                                                              sec.get("events")),
                    name=sec.get("name", "event"), **common)
    else:
        raise _KeyError(sec.path("kind"), f"got {kind!r}; allowed: 'binary', 'counts', 'markov'")
    sec.finish()
    return out


def _effect(sec: Section) -> Effect:
    out = build(sec.key, Effect, measure=sec.get("measure", "rr"),
                value=sec.require("value", uncertain=True),
                targets=_pairs(sec.path("targets"), sec.get("targets")),
                onset=sec.get("onset", 0), duration=sec.get("duration"),
                decay=sec.get("decay", 1.0), engagement=sec.get("engagement", 1.0, uncertain=True),
                dropout=sec.get("dropout", 0.0, uncertain=True))
    sec.finish()
    return out


def _comparison(sec: Section) -> ComparisonGroup | None:
    if sec.get("none", False) is True:
        sec.finish()
        return None
    out = build(sec.key, ComparisonGroup, size=sec.get("size"), ratio=sec.get("ratio"))
    sec.finish()
    return out


#: Extra top-level sections (e.g. the money layer's contract) register a parser here.
_SECTIONS: dict[str, Callable[[Section, dict[str, Any]], Any]] = {}


def register_section(name: str, parser: Callable[[Section, dict[str, Any]], Any]) -> None:
    """Let a later layer read its own top-level table into ``Scenario.extras[name]``."""
    _SECTIONS[name] = parser


def parse_scenario(data: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    """Build a :class:`~sibsim.Scenario` from parsed TOML data."""
    _load_money_sections()
    try:
        top = Section("", data)
        osec = top.sub("outcome")
        if osec is None:
            raise _KeyError("outcome", "this table is required")
        outcome = _outcome(osec)
        csec = top.sub("cohort")
        if csec is None:
            raise _KeyError("cohort", "this table is required")
        cohort = _cohort(csec, outcome.kind)
        esec = top.sub("effect")
        effect = _effect(esec) if esec is not None else None
        cmp_sec = top.sub("comparison")
        comparison = _comparison(cmp_sec) if cmp_sec is not None else None
        fsec = top.sub("frailty")
        frailty = None
        if fsec is not None:
            frailty = build(fsec.key, Frailty, variance=fsec.require("variance"))
            fsec.finish()
        kwargs = {"cohort": cohort, "outcome": outcome, "effect": effect,
                  "comparison": comparison, "frailty": frailty,
                  "horizon": top.require("horizon"), "period": top.get("period", "year"),
                  "name": top.get("name", Path(source).stem),
                  "description": top.get("description", "")}
        extras: dict[str, Any] = {}
        for name, parser in _SECTIONS.items():
            sub = top.sub(name)
            if sub is not None:
                extras[name] = parser(sub, kwargs)
        top.get("currency")
        if "currency" in data:
            extras["currency"] = data["currency"]
        top.finish()
        return build("(scenario)", Scenario, extras=extras, **kwargs)
    except _KeyError as err:
        raise ScenarioFileError(f"{source}: key '{err.key}': {err.problem}") from None


def _load_money_sections() -> None:
    """Import the money layer's section parsers, if present (they register themselves)."""
    try:
        import sibsim.money.scenario_sections  # noqa: F401
    except ImportError:  # pragma: no cover - money layer absent
        pass


def builtin_scenarios() -> dict[str, Path]:
    """Names and paths of the scenarios shipped with sibsim."""
    root = resources.files("sibsim") / "scenarios"
    return {Path(str(p)).stem: Path(str(p)) for p in root.iterdir() if str(p).endswith(".toml")}


def load_scenario(source: str | Path) -> Scenario:
    """Load a scenario from a TOML file, or a built-in scenario by name."""
    builtins = builtin_scenarios()
    path = Path(source)
    if not path.exists() and str(source) in builtins:
        path = builtins[str(source)]
    if not path.exists():
        raise ScenarioFileError(f"{source}: no such file, and not a built-in scenario "
                                f"(built-in: {', '.join(sorted(builtins)) or 'none'})")
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioFileError(f"{path}: not valid TOML: {err}") from None
    except OSError as err:
        raise ScenarioFileError(f"{path}: cannot read: {err}") from None
    return parse_scenario(data, str(path))
