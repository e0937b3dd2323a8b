"""Specification classes with declared constraints, a generic TOML reader and variant registries.

Every specification object of sibsim (outcome kinds, evaluation designs, pricing rules, guarantee
types, termination rules, and the plain tables around them) is a frozen dataclass deriving from
:class:`Spec`. Each field declares its constraint once, with :func:`param`; :class:`Spec` checks
them all in one place at construction and runs the class's cross-field :meth:`Spec.validate`.
The same declaration drives the TOML reader (:meth:`Spec.from_toml`), so defaults are never
written twice.

A *variant* is a :class:`Spec` with a ``kind`` class attribute, registered in a :class:`Registry`
by that kind. A TOML table names its variant with ``kind = "..."``; adding a variant is one class
and one ``@REGISTRY.register`` line (see ``docs/extending.md``).

Examples
--------
>>> from dataclasses import dataclass
>>> from sibsim.spec import _validate as v
>>> SHAPES = Registry("shape")
>>> @SHAPES.register
... @dataclass(frozen=True)
... class Square(Spec):
...     kind = "square"
...     side: float = param(v.interval(0, 10), default=1.0)
>>> SHAPES["square"](side=2.0).side
2.0
>>> SHAPES.names()
('square',)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from sibsim.spec import _validate as v
from sibsim.spec.toml import FIXED_KEY, KeyProblem, Section, build

__all__ = ["Registry", "Spec", "param", "toml_value"]

T = TypeVar("T")


def param(check: v.Constraint | None = None, *, default: Any = dataclasses.MISSING,
          default_factory: Any = dataclasses.MISSING, uncertain: bool = False,
          reader: Callable[[Section, str], Any] | None = None, doc: str = "") -> Any:
    """Declare a specification field with its constraint (checked by :class:`Spec`).

    Parameters
    ----------
    check : Constraint, optional
        The field's constraint (from :mod:`sibsim.spec._validate`); it may normalise the value
        (lists to tuples, ints to floats).
    default, default_factory
        As for :func:`dataclasses.field`. A field without a default is required in TOML.
    uncertain : bool
        The TOML value may be a distribution table (``{dist = ..., ...}``).
    reader : callable(section, key) -> value, optional
        A custom TOML reader for this field (nested tables, registries).
    doc : str
        One line on the field (units), shown by ``docs/gen_api.py``.
    """
    meta = {"check": check, "uncertain": uncertain, "reader": reader, "doc": doc}
    return dataclasses.field(default=default, default_factory=default_factory, metadata=meta)


def toml_value(value: Any) -> Any:
    """TOML arrays become tuples (recursively), so that specs stay hashable and immutable."""
    if isinstance(value, list):
        return tuple(toml_value(x) for x in value)
    return value


def _is_distribution_table(raw: Any) -> bool:
    return isinstance(raw, Mapping) and "dist" in raw


class Spec:
    """Base of the frozen specification dataclasses: declared constraints, checked in one place.

    Subclasses declare fields with :func:`param` and may override :meth:`validate` for checks
    across fields. Errors name the field, the value and what is allowed.
    """

    kind: ClassVar[str] = ""

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            check = f.metadata.get("check")
            if check is not None:
                object.__setattr__(self, f.name, check(f"{owner}.{f.name}",
                                                       getattr(self, f.name)))
        self.validate()

    def validate(self) -> None:
        """Checks that involve several fields (override; raise with ``_validate.fail``)."""

    def _set(self, name: str, value: Any) -> None:
        """Normalise a field during :meth:`validate` (the object is frozen)."""
        object.__setattr__(self, name, value)

    @classmethod
    def toml_fields(cls) -> tuple[dataclasses.Field, ...]:
        """The fields read from TOML (every init field)."""
        return tuple(f for f in dataclasses.fields(cls) if f.init)  # type: ignore[arg-type]

    @classmethod
    def from_toml(cls: type[T], sec: Section, **context: Any) -> T:
        """Build from a TOML table: one key per field, constraints checked by the constructor.

        ``context`` gives values that are not in the table (e.g. the scenario's currency); a
        key absent from both the table and ``context`` takes the field's declared default.
        """
        if cls.kind:  # type: ignore[attr-defined]  # a variant's table names it; others have no kind
            sec.used.add("kind")
        kwargs: dict[str, Any] = {}
        for f in cls.toml_fields():  # type: ignore[attr-defined]
            reader = f.metadata.get("reader")
            required = (f.default is dataclasses.MISSING
                        and f.default_factory is dataclasses.MISSING)
            if f.name not in sec.data:
                sec.used.add(f.name)
                if f.name in context:
                    kwargs[f.name] = context[f.name]
                elif required:
                    raise KeyProblem(sec.path(f.name), "this key is required")
                continue
            if reader is not None:
                kwargs[f.name] = reader(sec, f.name)
            elif not f.metadata.get("uncertain", False) and _is_distribution_table(
                    sec.data[f.name]):
                raise KeyProblem(sec.path(f.name), FIXED_KEY)
            else:
                kwargs[f.name] = toml_value(sec.get(f.name,
                                                    uncertain=f.metadata.get("uncertain", False)))
        out = build(sec.key, cls, **kwargs)
        sec.finish()
        return out


class Registry:
    """Variant classes of one family, looked up by their ``kind``.

    Parameters
    ----------
    what : str
        What the family is, for messages ("pricing rule", "guarantee").
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self._classes: dict[str, type] = {}

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, kinds={self.names()!r})"

    def register(self, cls: type[T]) -> type[T]:
        """Class decorator: register ``cls`` under ``cls.kind``."""
        kind = getattr(cls, "kind", "")
        if not kind or kind in self._classes:
            raise ValueError(f"{self.what} registry: kind {kind!r} of {cls.__name__} is empty "
                             "or already registered")
        self._classes[kind] = cls
        return cls

    def names(self) -> tuple[str, ...]:
        """Registered kinds, in registration order."""
        return tuple(self._classes)

    def classes(self) -> tuple[type, ...]:
        return tuple(self._classes.values())

    def __contains__(self, kind: object) -> bool:
        return kind in self._classes

    def __getitem__(self, kind: str) -> type:
        try:
            return self._classes[kind]
        except (KeyError, TypeError):
            raise v.fail(f"{self.what} kind", kind,
                         "one of " + ", ".join(repr(k) for k in self._classes)) from None

    def lookup(self, key: str, kind: Any) -> type:
        """The class for ``kind``, or a :class:`KeyProblem` at ``key``."""
        if not isinstance(kind, str) or kind not in self._classes:
            raise KeyProblem(key, f"got {kind!r}; allowed: "
                             + ", ".join(repr(k) for k in self._classes))
        return self._classes[kind]

    def from_toml(self, sec: Section, **context: Any) -> Any:
        """Read a ``{kind = ..., ...}`` table as the registered variant."""
        cls = self.lookup(sec.path("kind"), sec.require("kind"))
        return cls.from_toml(sec, **context)

    def read(self, parent: Section, key: str, **context: Any) -> Any:
        """Read the variant at ``parent[key]`` (a table; a bare string is its ``kind``)."""
        raw = parent.data[key]
        parent.used.add(key)
        if isinstance(raw, str):
            raw = {"kind": raw}
        if not isinstance(raw, Mapping):
            raise KeyProblem(parent.path(key), f"expected a {self.what} table "
                             "{kind = ..., ...} or a kind name")
        return self.from_toml(Section(parent.path(key), raw), **context)
