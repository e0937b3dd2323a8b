"""Scenario files: a documented TOML format for everything a scenario holds.

A scenario file is a TOML document; see ``docs/scenario-format.md`` for every key. Numbers that
are uncertain are written as inline tables with a ``dist`` key, e.g.
``value = {dist = "lognormal", mean = 0.9, sd = 0.05}``.

Errors raise :class:`ScenarioFileError` (a ``ValueError``) naming the file, the key and the
problem. Unknown keys are errors too, so a typo never passes silently.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from sibsim.money import scenario_sections
from sibsim.money.deal import Deal
from sibsim.spec import _validate as v
from sibsim.spec.cohort import Cohort, ComparisonGroup, Frailty
from sibsim.spec.correlation import Correlation
from sibsim.spec.effect import Effect
from sibsim.spec.outcomes import OUTCOME_KINDS, Outcome
from sibsim.spec.scenario import Process, Scenario
from sibsim.spec.toml import KeyProblem as _KeyProblem
from sibsim.spec.toml import Section, build

__all__ = ["ScenarioFileError", "builtin_scenarios", "load_scenario", "parse_scenario"]


class ScenarioFileError(ValueError):
    """A scenario file could not be read; the message names the file, the key and the problem."""


# --------------------------------------------------------------------------- sections
def _calendar(top: Section | None) -> dict[str, Any]:
    """The file's calendar, for keys written in calendar years (a stratum's ``start_year``,
    the effect's ``ends_by_stratum``): ``start_year``, ``periods_per_year``, ``start_period``
    and ``horizon`` (None where not given as a whole number; bad values are refused where
    they are read, with their key)."""
    from sibsim.spec.scenario import PERIODS_PER_YEAR

    data = top.data if top is not None else {}
    start_year = data.get("start_year")
    period = data.get("period", "year")
    # a period that is not a name is refused where it is read, with its key
    ppy = PERIODS_PER_YEAR.get(period, 1) if isinstance(period, str) else 1
    # a start_period that is not a period of the year is refused by the Deal, with its key
    sp = data.get("start_period", 0)
    sp = sp if isinstance(sp, int) and not isinstance(sp, bool) and 0 <= sp < ppy else 0
    horizon = data.get("horizon")

    def whole(x: Any) -> int | None:
        return x if isinstance(x, int) and not isinstance(x, bool) else None

    return {"start_year": whole(start_year), "periods_per_year": ppy, "start_period": sp,
            "horizon": whole(horizon)}


def _cohort(sec: Section, outcome_kind: str, top: Section | None = None) -> Cohort:
    """``[cohort]``; the outcome kind reads the strata's baselines in its own form, and the
    file's ``start_year``, ``start_period`` and ``period`` place a stratum's ``start_year``."""
    cal = _calendar(top)
    return Cohort.from_toml(sec, outcome=OUTCOME_KINDS[outcome_kind],
                            start_year=cal["start_year"], periods_per_year=cal["periods_per_year"],
                            start_period=cal["start_period"])


def _outcome(sec: Section) -> Outcome:
    """``[outcome]``: the registered kind named by ``kind`` reads the rest of the table."""
    return OUTCOME_KINDS.from_toml(sec)


def _effect(sec: Section, top: Section | None = None) -> Effect:
    """``[effect]`` or ``[outcome.effect]``; the file's calendar turns ``ends_by_stratum``'s
    calendar years into periods."""
    return Effect.from_toml(sec, **_calendar(top))


#: The scenario file's key of each specification class whose fields the whole scenario checks
#: (``Scenario`` itself: its fields are top-level keys).
_TABLE_OF = {"Scenario": "", "Effect": "effect", "Cohort": "cohort",
             "ComparisonGroup": "comparison", "Frailty": "frailty"}


def _field(problem: str) -> tuple[str, str]:
    """(class, field) that a validation message names: ``"Effect.targets to-state: got ..."``
    -> ``("Effect", "targets")``; ``"Effect.ends_by_stratum[b]: ..."`` -> ``("Effect",
    "ends_by_stratum")``."""
    cls, _, name = problem.split(":", 1)[0].split(" ", 1)[0].split("[", 1)[0].partition(".")
    return cls, name


def _scenario_key(problem: str, several: bool) -> str:
    """The key a refusal of the whole scenario concerns, from the field its message names
    (``Effect.targets to-state: ...`` -> ``effect.targets``; ``Scenario.horizon`` ->
    ``horizon``); ``(scenario)`` when the message names none, or an effect of several
    ``[[outcome]]`` tables (which one is not known here: :func:`_check_process_strata` names
    those first)."""
    cls, name = _field(problem)
    if cls not in _TABLE_OF or not name.isidentifier() or (several and cls == "Effect"):
        return "(scenario)"
    return f"{_TABLE_OF[cls]}.{name}" if _TABLE_OF[cls] else name


def _check_process_strata(processes: list[Process], cohort: Cohort, horizon: Any) -> None:
    """With several ``[[outcome]]`` tables: each process's effect against the cohort's strata
    (:meth:`Effect.check_strata`, which the whole scenario checks again), refused at that
    effect's own key (``outcome[1].effect.ends_by_stratum``). A horizon that is not a whole
    number is left to the scenario's own refusal."""
    if isinstance(horizon, bool) or not isinstance(horizon, int):
        return
    for i, p in enumerate(processes):
        if p.effect is None or not p.effect.varies_by_stratum:
            continue
        try:
            p.effect.check_strata(cohort.strata, horizon)
        except ValueError as err:
            raise _KeyProblem(f"outcome[{i}].effect.{_field(str(err))[1]}", str(err)) from None


def _processes(top: Section) -> list[Process]:
    """``[[outcome]]`` tables: one outcome process each, with its own ``[outcome.effect]``."""
    raw = top.data["outcome"]
    top.used.add("outcome")
    if not raw:
        raise _KeyProblem("outcome", "expected one or more [[outcome]] tables")
    if "effect" in top.data:
        raise _KeyProblem("effect", "with several [[outcome]] tables give each process's effect "
                          "as [outcome.effect] under its [[outcome]]")
    out = []
    for i, item in enumerate(raw):
        key = f"outcome[{i}]"
        if not isinstance(item, Mapping):
            raise _KeyProblem(key, "expected a table")
        rest = {k: x for k, x in item.items() if k != "effect"}
        outcome = _outcome(Section(key, rest))
        effect = (_effect(Section(f"{key}.effect", item["effect"]), top) if "effect" in item
                  else None)
        out.append(build(key, Process, outcome=outcome, effect=effect))
    for i, p in enumerate(out):  # a count by state: what it follows, named at its own table
        if p.outcome.followed() is not None:
            build(f"outcome[{i}]", p.outcome.check_follows, processes=out)
    return out


def _comparison(sec: Section) -> ComparisonGroup | None:
    """``[comparison]``; ``none = true`` means no concurrent comparison group."""
    if sec.get("none", False) is True:
        sec.finish()
        return None
    return ComparisonGroup.from_toml(sec)


def _frailty(sec: Section) -> Frailty:
    return Frailty.from_toml(sec)


def _name_from(source: str) -> str:
    """The default scenario name: the file's stem when it can name output files."""
    stem = Path(source).stem
    try:
        return v.file_name("name", stem)
    except (TypeError, ValueError):
        return "scenario"


def parse_scenario(data: Mapping[str, Any], source: str = "<scenario>") -> Deal:
    """Build a :class:`~sibsim.Deal` (outcome scenario and money terms) from parsed TOML data."""

    try:
        top = Section("", data)
        others: tuple[Process, ...] = ()
        if isinstance(data.get("outcome"), list):  # [[outcome]]: several processes
            processes = _processes(top)
            outcome, effect = processes[0].outcome, processes[0].effect
            others = tuple(processes[1:])
        else:
            osec = top.sub("outcome")
            if osec is None:
                raise _KeyProblem("outcome", "this table is required")
            outcome = _outcome(osec)
            esec = top.sub("effect")
            effect = _effect(esec, top) if esec is not None else None
        csec = top.sub("cohort")
        if csec is None:
            raise _KeyProblem("cohort", "this table is required")
        cohort = _cohort(csec, outcome.kind, top)
        if isinstance(data.get("outcome"), list):
            _check_process_strata(processes, cohort, top.data.get("horizon"))
        cmp_sec = top.sub("comparison")
        comparison = _comparison(cmp_sec) if cmp_sec is not None else None
        fsec = top.sub("frailty")
        frailty = _frailty(fsec) if fsec is not None else None
        kwargs = {"cohort": cohort, "outcome": outcome, "effect": effect,
                  "comparison": comparison, "frailty": frailty,
                  "horizon": top.require("horizon"), "period": top.get("period", "year"),
                  "name": top.get("name", _name_from(source)),
                  "description": top.get("description", ""), "other_processes": others}
        currency = top.get("currency", "EUR")
        money = scenario_sections.parse_money(top, currency)
        if "start_year" in top.data:
            money["start_year"] = top.get("start_year")
        if "start_period" in top.data:  # the period of start_year in which period 0 begins
            money["start_period"] = top.get("start_period")
        corr_sec = top.sub("correlation")  # [correlation]: rank correlations of inputs
        if corr_sec is not None:
            money["correlation"] = Correlation.from_toml(corr_sec)
        top.used.add("design")  # [design]: read by `sibsim design` (sibsim.design_file)
        top.finish()
        try:
            scenario = build("(scenario)", Scenario, **kwargs)
        except _KeyProblem as err:  # a check across tables: named at the table it concerns
            raise _KeyProblem(_scenario_key(err.problem, isinstance(data.get("outcome"), list)),
                              err.problem) from None
        return build("(deal)", Deal, scenario=scenario, currency=currency, **money)
    except _KeyProblem as err:
        raise ScenarioFileError(f"{source}: key '{err.key}': {err.problem}") from None


def builtin_files(folder: str) -> dict[str, Path]:
    """Names and paths of the TOML files shipped in sibsim's ``folder`` (``"scenarios"``,
    ``"portfolios"``)."""
    root = resources.files("sibsim") / folder
    return {Path(str(p)).stem: Path(str(p)) for p in root.iterdir() if str(p).endswith(".toml")}


def builtin_scenarios() -> dict[str, Path]:
    """Names and paths of the scenarios shipped with sibsim."""
    return builtin_files("scenarios")


def read_toml_source(source: str | os.PathLike, builtins: dict[str, Path], what: str,
                     max_bytes: int, error: type[Exception]) -> tuple[Path, dict]:
    """The path and table of a TOML file, or of the built-in file named ``source``.

    Every problem is one ``error`` whose message starts with the source or path: no such file
    and no such built-in (naming the built-ins), a file :func:`read_text_file` refuses, or
    invalid TOML. ``what`` names the kind of file ("scenario", "portfolio")."""
    path = Path(source)
    if not path.exists() and str(source) in builtins:
        path = builtins[str(source)]
    if not path.exists():
        raise error(f"{source}: no such file, and not a built-in {what} "
                    f"(built-in: {', '.join(sorted(builtins)) or 'none'})")
    try:
        return path, tomllib.loads(read_text_file(path, f"{what} file", max_bytes))
    except tomllib.TOMLDecodeError as err:
        raise error(f"{path}: not valid TOML: {err}") from None
    except (OSError, ValueError) as err:
        raise error(f"{path}: {err}") from None


def load_scenario(source: str | Path) -> Deal:
    """Load a deal from a TOML scenario file, or a built-in scenario by name.

    Returns a :class:`~sibsim.Deal`: the outcome scenario (``deal.scenario``) and, when the file
    has money tables, the evaluation, contract, costs, capital and payers."""
    path, data = read_toml_source(source, builtin_scenarios(), "scenario", MAX_SCENARIO_BYTES,
                                  ScenarioFileError)
    return parse_scenario(data, str(path))


#: Largest scenario file read (bytes); real scenario files are a few kilobytes.
MAX_SCENARIO_BYTES = 1_000_000


def read_text_file(path: Path, what: str, max_bytes: int) -> str:
    """Read a UTF-8 text file of at most ``max_bytes``, refusing anything else.

    Refused with a ``ValueError`` (a message for the user): a path that is not a regular file
    (a folder, a device or a FIFO, which would block), a file larger than ``max_bytes``, a file
    that starts with a byte-order mark or is not UTF-8. The read itself is bounded.
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"cannot read: not a regular file (a {what} must be a file)")
    if st.st_size > max_bytes:
        raise ValueError(f"cannot read: {st.st_size:,} bytes; a {what} has at most "
                         f"{max_bytes:,} bytes")
    with open(path, "rb") as fh:
        raw = fh.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ValueError(f"cannot read: more than {max_bytes:,} bytes; a {what} has at most "
                         f"{max_bytes:,} bytes")
    if raw.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        raise ValueError("starts with a byte-order mark; save it as UTF-8 without BOM")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"not UTF-8 text (byte {err.start}): save it as UTF-8") from None
