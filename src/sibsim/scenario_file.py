"""Scenario files: a documented TOML format for everything a scenario holds.

A scenario file is a TOML document; see ``docs/scenario-format.md`` for every key. Numbers that
are uncertain are written as inline tables with a ``dist`` key, e.g.
``value = {dist = "lognormal", mean = 0.9, sd = 0.05}``.

Errors raise :class:`ScenarioFileError` (a ``ValueError``) naming the file, the key and the
problem. Unknown keys are errors too, so a typo never passes silently.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from sibsim.money import scenario_sections
from sibsim.money.deal import Deal
from sibsim.spec.cohort import Cohort, ComparisonGroup, Frailty, Stratum
from sibsim.spec.effect import Effect
from sibsim.spec.outcomes import BinaryOutcome, CountOutcome, MarkovOutcome
from sibsim.spec.scenario import Scenario
from sibsim.spec.toml import KeyProblem as _KeyProblem
from sibsim.spec.toml import Section, build, parse_distribution

__all__ = ["ScenarioFileError", "builtin_scenarios", "load_scenario", "parse_scenario"]


class ScenarioFileError(ValueError):
    """A scenario file could not be read; the message names the file, the key and the problem."""


def _pairs(key: str, value: Any) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _KeyProblem(key, "expected a list of [from, to] pairs")
    return tuple(tuple(p) if isinstance(p, list) else p for p in value)


def _transitions(key: str, value: Any) -> Any:
    def row(k: str, r: Any) -> Any:
        return parse_distribution(k, r) if isinstance(r, Mapping) else r

    if not isinstance(value, list) or not value:
        raise _KeyProblem(key, "expected a matrix (list of rows) or a list of matrices")
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
        raise _KeyProblem(sec.path("strata"), "expected an array of tables [[cohort.strata]]")
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
        out = build(sec.key, MarkovOutcome, states=sec.require("states"),
                    transitions=_transitions(sec.path("transitions"),
                                             sec.require("transitions")),
                    initial=sec.get("initial"), events=_pairs(sec.path("events"),
                                                              sec.get("events")),
                    name=sec.get("name", "event"), **common)
    else:
        raise _KeyProblem(sec.path("kind"), f"got {kind!r}; allowed: 'binary', 'counts', 'markov'")
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


def parse_scenario(data: Mapping[str, Any], source: str = "<scenario>") -> Deal:
    """Build a :class:`~sibsim.Deal` (outcome scenario and money terms) from parsed TOML data."""

    try:
        top = Section("", data)
        osec = top.sub("outcome")
        if osec is None:
            raise _KeyProblem("outcome", "this table is required")
        outcome = _outcome(osec)
        csec = top.sub("cohort")
        if csec is None:
            raise _KeyProblem("cohort", "this table is required")
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
        currency = top.get("currency", "EUR")
        money = scenario_sections.parse_money(top, currency)
        top.finish()
        scenario = build("(scenario)", Scenario, **kwargs)
        return build("(deal)", Deal, scenario=scenario, currency=currency, **money)
    except _KeyProblem as err:
        raise ScenarioFileError(f"{source}: key '{err.key}': {err.problem}") from None


def builtin_scenarios() -> dict[str, Path]:
    """Names and paths of the scenarios shipped with sibsim."""
    root = resources.files("sibsim") / "scenarios"
    return {Path(str(p)).stem: Path(str(p)) for p in root.iterdir() if str(p).endswith(".toml")}


def load_scenario(source: str | Path) -> Deal:
    """Load a deal from a TOML scenario file, or a built-in scenario by name.

    Returns a :class:`~sibsim.Deal`: the outcome scenario (``deal.scenario``) and, when the file
    has money tables, the evaluation, contract, costs, capital and payers."""
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
