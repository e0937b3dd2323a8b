"""Per-draw parameter values supplied instead of sampling (``simulate(overrides=...)``).

An override replaces the draws of one uncertain input of the scenario (``effect.value``,
``effect.engagement``, ``baseline.probability``, ``baseline[<stratum>].rate``, a Dirichlet row
``baseline.transition[m].<state>``, ...). It is checked against the same range as the
specification field it replaces (a probability in [0, 1], a rate in [0, 1e6], a ratio effect
>= 0, a negative-binomial shape >= 0.001, a transition row of probabilities summing to 1), and
it must hold one finite value per draw (or, for a Dirichlet row, one row per draw).

Examples
--------
>>> import numpy as np
>>> from sibsim import BinaryOutcome, Cohort, Effect, Scenario
>>> sc = Scenario(cohort=Cohort(size=100), outcome=BinaryOutcome(0.3), horizon=2,
...               effect=Effect("rr", 0.8))
>>> check_overrides(sc, {"effect.engagement": np.array([0.5, 1.0])}, draws=2)
{'effect.engagement': array([0.5, 1. ])}
>>> check_overrides(sc, {"effect.engagement": np.array([0.5, 2.0])}, draws=2)
Traceback (most recent call last):
...
ValueError: overrides[effect.engagement]: got 2.0 in draw 1; allowed: a probability in [0, 1]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from sibsim.spec import _validate as v
from sibsim.spec.cohort import Cohort
from sibsim.spec.distributions import Distribution
from sibsim.spec.scenario import Scenario

__all__ = ["check_overrides"]


def _owner(scenario: Scenario, name: str) -> tuple[Any, str] | None:
    """The specification object and field a parameter name stands for, e.g.
    ``"effect.value" -> (scenario.effect, "value")``; None when the name has no plain field."""
    owner, _, field = name.rpartition(".")
    for proc in scenario.other_processes:  # "<process>.effect", "<process>.baseline"
        prefix = f"{proc.outcome.name}."
        if owner.startswith(prefix):
            rest = owner[len(prefix):]
            obj = {"effect": proc.effect, "baseline": proc.outcome}.get(rest)
            if obj is None:
                return None
            names = {f.name for f in dataclasses.fields(obj)}
            return (obj, field) if field in names else None
    if owner == "cohort":  # cohort.turnover, cohort.newcomer_uptake[<stratum>], ...
        field, _, stratum = field.partition("[")
        obj: Any = scenario.cohort
        if stratum:
            obj = {s.name: s for s in scenario.cohort.strata}.get(stratum[:-1])
            if obj is None:
                return None
    elif owner == "effect":
        obj = scenario.effect
    elif owner == "baseline":
        obj = scenario.outcome
    elif owner.startswith("baseline[") and owner.endswith("]"):
        strata = {s.name: s for s in scenario.cohort.strata}
        stratum = strata.get(owner[len("baseline["):-1])
        if stratum is None or stratum.baseline is None:
            return None
        obj = scenario.outcome.with_baseline(stratum.baseline)
    else:
        return None
    names = {f.name for f in dataclasses.fields(obj)} if dataclasses.is_dataclass(obj) else set()
    return (obj, field) if field in names else None


def _allowed(message: str) -> str:
    """The "allowed: ..." part of a validation message."""
    _, sep, tail = message.partition("allowed: ")
    # a per-draw value is not a percentage typed by hand: no "write 0.02 for 2%" hint
    return (tail if sep else message).split(" (this one ranges over")[0].split(
        ", a fraction: write")[0]


def _check_values(scenario: Scenario, name: str, arr: np.ndarray) -> None:
    """Refuse values outside the range of the field the parameter stands for."""
    found = _owner(scenario, name)
    if found is None:
        return
    obj, field = found
    # the cohort's own fields by their range alone: a draw with no turnover is allowed where
    # the file's newcomer uptake needs some (the check across fields is the scenario's)
    check = ({f.name: f for f in dataclasses.fields(obj)}[field].metadata.get("check")
             if isinstance(obj, Cohort) else None)
    # every field's range is an interval: its smallest and largest values decide
    for d in (int(np.argmin(arr)), int(np.argmax(arr))):
        try:
            if check is not None:
                check(f"Cohort.{field}", float(arr[d]))
            else:
                dataclasses.replace(obj, **{field: float(arr[d])})
        except (ValueError, TypeError) as err:
            raise ValueError(f"overrides[{name}]: got {float(arr[d])!r} in draw {d}; allowed: "
                             f"{_allowed(str(err))}") from None


def _check_rows(name: str, arr: np.ndarray) -> None:
    """Dirichlet rows: probabilities in [0, 1] summing to 1 (within 1e-9) in every draw."""
    bad = (arr < 0).any(1) | (arr > 1).any(1) | (np.abs(arr.sum(1) - 1.0) > 1e-9)
    if bad.any():
        d = int(np.argmax(bad))
        raise v.fail(f"overrides[{name}]", arr[d].tolist(),
                     "a row of probabilities in [0, 1] summing to 1 within 1e-9 in every draw "
                     f"(draw {d} is not)")


def check_overrides(scenario: Scenario, overrides: Mapping[str, Any] | None,
                    draws: int) -> dict[str, np.ndarray]:
    """Check per-draw parameter values and return them as float arrays.

    Parameters
    ----------
    scenario : Scenario
        The scenario whose parameters (:meth:`sibsim.Scenario.parameters`) are overridden.
    overrides : mapping of str to array-like, or None
        Parameter name -> values for all draws: shape ``(draws,)``, or ``(draws, size)`` for a
        Dirichlet row of ``size`` states.
    draws : int
        Number of draws of the run.

    Raises
    ------
    ValueError
        An unknown name, a wrong shape, a non-finite value, or a value outside the range of
        the specification field it replaces; the message names the parameter.
    """
    if not overrides:
        return {}
    if not isinstance(overrides, Mapping):
        raise TypeError(f"overrides: got {type(overrides).__name__}; allowed: a mapping of "
                        "parameter name -> values per draw")
    params: dict[str, Distribution] = scenario.parameters()
    out = {}
    for name, val in overrides.items():
        if name not in params:
            raise v.fail("overrides", name, "names of the scenario's parameters: "
                         + ", ".join(params))
        size = params[name].size
        shape = (draws,) if size == 1 else (draws, size)
        try:
            arr = np.asarray(val, dtype=float)
        except (TypeError, ValueError):
            raise v.fail(f"overrides[{name}]", val,
                         f"numbers, shape {shape} (one value per draw)") from None
        if arr.shape != shape:
            raise v.fail(f"overrides[{name}]", f"an array of shape {arr.shape}",
                         f"shape {shape} (one {'value' if size == 1 else 'row'} per draw, "
                         f"{draws} draws)")
        if not np.all(np.isfinite(arr)):
            d = int(np.argmax(~np.isfinite(arr.reshape(draws, -1)).all(1)))
            raise v.fail(f"overrides[{name}]", arr[d].tolist() if size > 1 else float(arr[d]),
                         f"finite values (draw {d} is not)")
        if size == 1:
            _check_values(scenario, name, arr)
        else:
            _check_rows(name, arr)
        out[name] = arr
    return out
