"""Naming and setting the free parameters of a specification by path.

A *path* names one value inside a nested specification object, the way it is written in Python:
attribute names joined by dots, with ``[i]`` for an item of a sequence and ``.key`` (or
``["key"]``) for an entry of a mapping::

    contract.terms[0].rule.price             # the price of the first metric's pricing rule
    contract.terms[0].rule.threshold
    contract.terms[1].rule.payments[2]       # the third step payment of a step schedule
    contract.caps.total
    payers[0].shares.reconviction            # a payer's share of one metric
    contract.terms[*].rule.threshold         # [*]: every item (all metrics' thresholds at once)

:func:`with_values` returns a copy with several values changed at once. Every object on the way
is rebuilt with :func:`dataclasses.replace`, so each one is validated again (a price below 0, a
threshold of 10 meant as 10%, step thresholds out of order are refused as at construction). A
path that names nothing gives the library's usual message, listing the names allowed at that
level (and, when the name belongs one level down, the path that was probably meant).

Examples
--------
>>> import sibsim
>>> deal = sibsim.load_scenario("peterborough")
>>> get_value(deal, "contract.terms[0].rule.price")
12500.0
>>> cheaper = with_values(deal, {"contract.terms[0].rule.price": 10_000,
...                              "contract.caps.total": 8e6})
>>> cheaper.contract.terms[0].rule.price, cheaper.contract.caps.total
(10000.0, 8000000.0)
>>> with_values(deal, {"contract.terms[0].price": 10_000})
Traceback (most recent call last):
...
ValueError: Deal.contract.terms[0]: got 'price'; allowed: one of 'metric', 'rule', \
'pooled_rule', 'cap', 'per_person_cap' (did you mean 'contract.terms[0].rule.price'?)
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from sibsim.spec import _validate as v

__all__ = ["ALL", "expand_path", "get_value", "parse_path", "with_values"]

_TOKEN = re.compile(r"""\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+|\*)\]|\[["']([^"'\]]+)["']\]""")
#: The step ``[*]``: every item of a sequence (see :func:`expand_path`).
ALL = "[*]"


def parse_path(path: str) -> tuple[str | int, ...]:
    """The steps of a path: names (str) and sequence indices (int).

    >>> parse_path("contract.terms[1].rule.payments[2]")
    ('contract', 'terms', 1, 'rule', 'payments', 2)
    >>> parse_path('payers[0].shares["reconviction"]')
    ('payers', 0, 'shares', 'reconviction')
    """
    if not isinstance(path, str) or not path or path.startswith((".", "[")):
        raise v.fail("path", path, "a path such as 'contract.terms[0].rule.price'")
    steps: list[str | int] = []
    pos = 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if m is None or (pos > 0 and m.group(1) is not None and path[pos] != "."):
            raise v.fail("path", path, "names joined by '.', with [i] for the i-th item of a "
                         "sequence (e.g. 'contract.terms[0].rule.price')")
        name, index, key = m.groups()
        if index == "*":
            steps.append(ALL)
        else:
            steps.append(int(index) if index is not None else (name if name is not None
                                                                  else key))
        pos = m.end()
    return tuple(steps)


def _show_path(owner: str, steps: tuple[str | int, ...]) -> str:
    out = owner
    for s in steps:
        out += f"[{s}]" if isinstance(s, int) else (s if s == ALL else f".{s}")
    return out


def expand_path(obj: object, path: str) -> tuple[str, ...]:
    """The concrete paths that ``path`` names: ``[*]`` stands for every item of a sequence.

    >>> import sibsim
    >>> expand_path(sibsim.load_scenario("lapset-sib-1"), "contract.terms[*].rule.threshold")[:2]
    ('contract.terms[0].rule.threshold', 'contract.terms[1].rule.threshold')
    """
    steps = parse_path(path)
    owner = type(obj).__name__
    found: list[tuple[str | int, ...]] = []

    def walk(node: object, done: tuple[str | int, ...]) -> None:
        if len(done) == len(steps):
            found.append(done)
            return
        step = steps[len(done)]
        if step == ALL:
            if not isinstance(node, (tuple, list)) or not node:
                raise v.fail(_show_path(owner, done), "[*]", "a non-empty sequence for [*]")
            for i in range(len(node)):
                walk(node[i], (*done, i))
            return
        walk(_step(node, step, owner, done), (*done, step))

    walk(obj, ())
    return tuple(_show_path("", p).lstrip(".") for p in found)


def _fields(obj: object) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(obj) if f.init)  # type: ignore[arg-type]


def _hint(obj: object, name: str, done: tuple[str | int, ...]) -> str:
    """`` (did you mean '...'?)`` when ``name`` is a field one level down."""
    if not dataclasses.is_dataclass(obj):
        return ""
    for field in _fields(obj):
        child = getattr(obj, field)
        if dataclasses.is_dataclass(child) and name in _fields(child):
            return f" (did you mean '{_show_path('', (*done, field, name)).lstrip('.')}'?)"
    return ""


def _step(obj: object, step: str | int, owner: str, done: tuple[str | int, ...]) -> object:
    """The value one step down from ``obj``, or the usual validation error."""
    where = _show_path(owner, done)
    if isinstance(step, int):
        if isinstance(obj, (tuple, list)):
            if step < len(obj):
                return obj[step]
            raise v.fail(where, f"[{step}]", f"an index in [0, {len(obj) - 1}]" if obj
                         else "no index: the sequence is empty")
        raise v.fail(where, f"[{step}]", "a name (" + _allowed(obj) + "); this is not a "
                     "sequence")
    if isinstance(obj, Mapping):
        if step in obj:
            return obj[step]
        raise v.fail(where, step, _allowed(obj))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        if step in _fields(obj):
            return getattr(obj, step)
        raise v.fail(where, step, _allowed(obj) + _hint(obj, step, done))
    raise v.fail(where, step, f"nothing: {type(obj).__name__} {obj!r} has no parts")


def _allowed(obj: object) -> str:
    if isinstance(obj, Mapping):
        return ("one of " + ", ".join(repr(k) for k in obj)) if obj else "nothing (empty table)"
    if isinstance(obj, (tuple, list)):
        return f"an index [0]..[{len(obj) - 1}]" if obj else "nothing (empty sequence)"
    if dataclasses.is_dataclass(obj):
        return "one of " + ", ".join(repr(n) for n in _fields(obj))
    return "nothing"


def get_value(obj: object, path: str) -> Any:
    """The value at ``path`` inside ``obj`` (see :func:`parse_path`).

    >>> import sibsim
    >>> get_value(sibsim.load_scenario("lapset-sib-1"), "contract.caps.total")
    10000000.0
    """
    concrete = expand_path(obj, path)
    values = []
    for one in concrete:
        steps = parse_path(one)
        node = obj
        for i, step in enumerate(steps):
            node = _step(node, step, type(obj).__name__, steps[:i])
        values.append(node)
    if any(x != values[0] for x in values[1:]):
        raise v.fail(path, values, "one value at every item of [*] (they differ here)")
    return values[0]


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as Python numbers and tuples (what the specs expect)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return tuple(_plain(x) for x in value.tolist())
    return value


def _apply(obj: object, changes: list[tuple[tuple[str | int, ...], Any]], owner: str,
           done: tuple[str | int, ...]) -> object:
    """``obj`` with every change (path below ``obj``, value) applied, rebuilt once."""
    leaf = [value for steps, value in changes if not steps]
    if leaf:
        if len(changes) > 1:
            raise v.fail(_show_path(owner, done), "a value and a part of it",
                         "each value set once (one path may not lie inside another)")
        return _plain(leaf[0])
    groups: dict[str | int, list[tuple[tuple[str | int, ...], Any]]] = {}
    for steps, value in changes:
        groups.setdefault(steps[0], []).append((steps[1:], value))
    new = {}
    for step, sub in groups.items():
        child = _step(obj, step, owner, done)
        new[step] = _apply(child, sub, owner, (*done, step))
    where = _show_path(owner, done)
    if isinstance(obj, (tuple, list)):
        items = list(obj)
        for i, value in new.items():
            items[i] = value  # type: ignore[index]
        return type(obj)(items)
    if isinstance(obj, Mapping):
        return {**obj, **new}
    try:
        return dataclasses.replace(obj, **new)  # type: ignore[type-var]
    except (TypeError, ValueError) as err:
        # the object's own message names its field; add where it sits in the deal
        raise type(err)(f"{err} [at {where}]") from None


def with_values(obj: Any, values: Mapping[str, Any]) -> Any:
    """A copy of ``obj`` with the value at each path of ``values`` replaced, validated again.

    Parameters
    ----------
    obj : Spec
        A frozen specification object (a :class:`~sibsim.Deal`, a contract, ...).
    values : mapping of path to value
        The values to set; all are applied together (so, e.g., two step thresholds can move
        past each other in one call).

    Returns
    -------
    Spec
        A new object; ``obj`` is unchanged. Every object on the way from ``obj`` to each value
        is rebuilt with :func:`dataclasses.replace` and checked again.

    Raises
    ------
    ValueError, TypeError
        A path that names nothing (the message lists the names allowed at that level), or a
        value the field refuses.

    Examples
    --------
    >>> import sibsim
    >>> deal = sibsim.load_scenario("peterborough")
    >>> with_values(deal, {"contract.terms[0].rule.threshold": 0.12}).contract.terms[0].rule
    PricePerUnit(price=12500.0, threshold=0.12, ceiling=None)
    """
    if not isinstance(values, Mapping):
        raise v.fail("values", type(values).__name__, "a mapping {path: value}")
    if not values:
        return obj
    changes = [(parse_path(one), val) for p, val in values.items()
               for one in expand_path(obj, p)]
    return _apply(obj, changes, type(obj).__name__, ())
