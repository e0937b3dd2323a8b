"""The evaluations' uncertain inputs, and the evaluations with some of them set to numbers.

An evaluation design may hold distributions: a matched comparison's residual ``bias``, a
historical prediction's ``historical_rate`` (either one per entry wave), a money metric's
``money.per_unit`` or ``money.effect``, and those of each design of a blend. Each is sampled
per draw on its own keyed stream, named as :meth:`sibsim.money.evaluation.Evaluation.parameters`
names it (``evaluation.<metric>.bias``, ``evaluation.<metric>.historical_rate[1]``,
``evaluation.<metric>.designs[0].bias``, ``evaluation.<metric>.money.per_unit``).

A one-way sensitivity analysis (:func:`sibsim.analysis.sensitivity.tornado.tornado`) sets one
input to a number at a time, the others keeping their draws. For an evaluation's input that is
the evaluation with that field set to the number (:func:`with_evaluation_values`): its stream
is then not read, and every other stream keeps its values, since each is keyed by its own name.

Examples
--------
>>> import sibsim
>>> deal = sibsim.load_scenario("peterborough")
>>> list(evaluation_inputs(deal.evaluations))
['evaluation.reconviction.bias']
>>> e = with_evaluation_values(deal.evaluations, {"evaluation.reconviction.bias": 0.03})
>>> e[0].design.bias, list(evaluation_inputs(e))
(Fixed(value=0.03), [])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from sibsim.spec import _validate as v
from sibsim.spec.distributions import Distribution, Fixed

__all__ = ["COMPARISON_FIELDS", "evaluation_inputs", "input_field", "input_units",
           "with_evaluation_values"]

#: The design fields that say what an evaluation compares with: a comparison group's bias
#: and a historical level (the council report names them among the assumptions).
COMPARISON_FIELDS = ("bias", "historical_rate")


def evaluation_inputs(evaluations: Sequence[Any]) -> dict[str, Distribution]:
    """The uncertain one-dimensional inputs of ``evaluations`` (a deal's), by parameter name,
    in the evaluations' order: the distributions that are not fixed numbers."""
    out: dict[str, Distribution] = {}
    for e in evaluations:
        for name, dist in e.parameters().items():
            if not isinstance(dist, Fixed) and dist.size == 1:
                out[name] = dist
    return out


def input_field(name: str) -> str:
    """The design or money field an input's name names, without its wave index.

    >>> input_field("evaluation.m.designs[1].historical_rate[0]"), input_field(
    ...     "evaluation.m.money.per_unit")
    ('historical_rate', 'per_unit')
    """
    return name.rsplit(".", 1)[-1].split("[", 1)[0]


def input_units(name: str, currency: str) -> str:
    """The units of an evaluation's input, from its name (``currency``: the deal's).

    >>> input_units("evaluation.m.designs[1].historical_rate[0]", "EUR")
    'outcome units per participant'
    >>> input_units("evaluation.m.money.per_unit", "EUR")
    'EUR per outcome unit'
    """
    field = input_field(name)
    if name.endswith(".money.per_unit"):
        return f"{currency} per outcome unit"
    return {"bias": "fraction", "historical_rate": "outcome units per participant",
            "effect": "ratio"}.get(field, "as the design's field")


def with_evaluation_values(evaluations: Sequence[Any], values: Mapping[str, float]
                           ) -> tuple[Any, ...]:
    """``evaluations`` with the inputs named in ``values`` set to those numbers (each
    evaluation built again, so checked as at construction). A name that is not an uncertain
    input of the evaluations is refused."""
    known = evaluation_inputs(evaluations)
    for name in values:
        if name not in known:
            raise v.fail("evaluation input", name, "an uncertain input of the deal's "
                         "evaluations: " + (", ".join(known) or "none"))
    out = []
    for e in evaluations:
        mine = {n: float(x) for n, x in values.items() if n in e.parameters()}
        if mine:
            money = e.money
            if money is not None:
                fields = {f: mine[n] for f in ("per_unit", "effect")
                          if (n := f"evaluation.{e.metric}.money.{f}") in mine}
                money = dataclasses.replace(money, **fields) if fields else money
            e = dataclasses.replace(e, design=_design_with(e.design, e.metric, mine),
                                    money=money)
        out.append(e)
    return tuple(out)


def _design_with(design: Any, prefix: str, values: Mapping[str, float]) -> Any:
    """The design with its fields named in ``values`` set: ``evaluation.<prefix>.<field>``,
    ``...<field>[w]`` for one entry wave's value, and the designs of a blend
    (``evaluation.<prefix>.designs[i].<field>``) in turn."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(design):
        value = getattr(design, f.name)
        name = f"evaluation.{prefix}.{f.name}"
        if isinstance(value, tuple) and value and all(
                hasattr(x, "parameters") and dataclasses.is_dataclass(x) for x in value):
            parts = tuple(_design_with(d, f"{prefix}.{f.name}[{i}]", values)
                          for i, d in enumerate(value))
            if any(a is not b for a, b in zip(parts, value, strict=True)):
                changes[f.name] = parts
        elif isinstance(value, tuple):
            items = [values.get(f"{name}[{w}]", x) for w, x in enumerate(value)]
            if any(f"{name}[{w}]" in values for w in range(len(value))):
                changes[f.name] = tuple(items)
        elif name in values:
            changes[f.name] = values[name]
    return dataclasses.replace(design, **changes) if changes else design
