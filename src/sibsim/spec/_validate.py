"""Small validators shared by the specification objects.

Every check raises :class:`ValueError` or :class:`TypeError` with a message that names the field,
the offending value and what is allowed, so that bad input never reaches a numba kernel.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np


def _plain(value: object) -> object:
    """``value`` with numpy scalars as Python numbers (also inside lists, tuples and dicts), so
    that a message shows ``0.5``, not numpy's ``np.float64(0.5)``; arrays are left as they are."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(x) for x in value)
    if isinstance(value, dict):
        return {_plain(k): _plain(x) for k, x in value.items()}
    return value


def _show(value: object) -> str:
    """The value as a message shows it: its repr (numpy scalars as Python numbers), cut at 80
    characters.

    >>> _show(np.float64(0.5)), _show([np.int64(3), 1.5]), _show({"a": np.float64(2.0)})
    ('0.5', '[3, 1.5]', "{'a': 2.0}")
    """
    try:
        text = repr(_plain(value))
    except TypeError:  # a tuple subclass that cannot be rebuilt from an iterable
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def fail(field: str, value: object, allowed: str) -> ValueError:
    """Build the library's standard validation error, ``"<field>: got <value>; allowed:
    <allowed>"``. ``field`` and ``allowed`` must be non-empty text: a message without them
    tells the user nothing (a TypeError says so, to whoever wrote the call).

    >>> str(fail("Contract.lag", -1, "a whole number >= 0"))
    'Contract.lag: got -1; allowed: a whole number >= 0'
    """
    if not (isinstance(field, str) and field and isinstance(allowed, str) and allowed):
        raise TypeError(f"fail: the field and what is allowed must be non-empty text; got "
                        f"{field!r} and {allowed!r}")
    return ValueError(f"{field}: got {_show(value)}; allowed: {allowed}")


def real(field: str, value: object, *, low: float = -math.inf, high: float = math.inf,
         low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a finite float inside the given interval, or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{field}: got {_show(value)} of type {type(value).__name__}; "
                        "allowed: a real number")
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    interval = f"a finite number in {lo}{low:g}, {high:g}{hi}"
    try:
        x = float(value)
    except OverflowError:
        raise fail(field, value, interval) from None
    if not math.isfinite(x):
        raise fail(field, value, interval)
    if x < low or x > high or (low_open and x == low) or (high_open and x == high):
        raise fail(field, value, interval)
    return x


def probability(field: str, value: object) -> float:
    return real(field, value, low=0.0, high=1.0)


#: Largest group of people the engines accept (keeps every count far below 2**63).
MAX_PEOPLE = 10**12


def positive_int(field: str, value: object, *, minimum: int = 1,
                 maximum: int | None = None) -> int:
    """Return ``value`` as an int in ``[minimum, maximum]`` (bools and floats are refused)."""
    allowed = f"an integer >= {minimum}" if maximum is None else \
        f"an integer in [{minimum}, {maximum}]"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{field}: got {_show(value)} of type {type(value).__name__}; "
                        f"allowed: {allowed}")
    if int(value) < minimum or (maximum is not None and int(value) > maximum):
        raise fail(field, value, allowed)
    return int(value)


def _non_empty(field: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"{field}: got {_show(value)}; allowed: a non-empty string")
    return value


def name(field: str, value: object) -> str:
    value = _non_empty(field, value)
    if has_control_characters(value):  # they break tables, reports and spreadsheets
        raise fail(field, value, "a non-empty string without control characters (tabs, "
                                 "line breaks...)")
    return value


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a control character (Unicode category Cc: tab, line break, NUL,
    escape...), which no name, label or table cell should."""
    import unicodedata

    return any(unicodedata.category(c) == "Cc" for c in text)


def file_name(field: str, value: object) -> str:
    """A name that can name output files: it stays inside the output folder.

    Letters, digits, spaces and ``-_.,()+`` only (any language's letters), at most 100
    characters, not starting with a dot: no path separators, ``..``, control characters or
    absolute paths.

    >>> file_name("Scenario.name", "lapset-sib-2")
    'lapset-sib-2'
    """
    text = _non_empty(field, value)  # control characters: refused below, as for a file
    allowed = ("a name of letters, digits, spaces and - _ . , ( ) + (at most 100 characters, "
               "not starting with a dot): it names the output files")
    if (len(text) > 100 or text.startswith(".") or text != text.strip()
            or not all(c.isalnum() or c in " -_.,()+" for c in text)):
        raise fail(field, value, allowed)
    return text


def choice(field: str, value: object, options: Sequence[str]) -> str:
    if value not in options:
        raise fail(field, value, "one of " + ", ".join(repr(o) for o in options))
    return str(value)


def real_vector(field: str, value: object, *, low: float = -math.inf,
                high: float = math.inf) -> tuple[float, ...]:
    """Return a non-empty tuple of finite floats in [low, high]."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"{field}: got {_show(value)}; allowed: a sequence of numbers")
    out = tuple(real(f"{field}[{i}]", v, low=low, high=high) for i, v in enumerate(value))
    if not out:
        raise fail(field, value, "a non-empty sequence")
    return out


# --------------------------------------------------------------------------- declared constraints
# Each constraint is a callable ``check(field, value) -> value`` that returns the (normalised)
# value or raises with :func:`fail`'s message form. Specification classes declare one per field
# (see :func:`sibsim.spec.variant.param`) and :class:`sibsim.spec.variant.Spec` checks them all
# in one place, numpyro-style.

class Constraint:
    """A declared constraint on a specification field."""

    description = "a value"

    def __call__(self, field: str, value: object) -> object:  # pragma: no cover - interface
        raise TypeError(f"{type(self).__name__} is abstract")

    def __repr__(self) -> str:
        return f"<constraint: {self.description}>"


class _Interval(Constraint):
    def __init__(self, low: float = -math.inf, high: float = math.inf, *, low_open: bool = False,
                 high_open: bool = False, percent_hint: bool = False) -> None:
        self.low, self.high, self.low_open, self.high_open = low, high, low_open, high_open
        self.percent_hint = percent_hint
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        self.description = f"a finite number in {lo}{low:g}, {high:g}{hi}"

    def __call__(self, field: str, value: object) -> float:
        try:
            return real(field, value, low=self.low, high=self.high, low_open=self.low_open,
                        high_open=self.high_open)
        except ValueError:
            if (self.percent_hint and isinstance(value, numbers.Real)
                    and 1.0 < abs(float(value)) <= 100.0):
                raise fail(field, value, f"{self.description}, a fraction: write "
                           f"{float(value) / 100:g} for {float(value):g}%") from None
            raise


def interval(low: float = -math.inf, high: float = math.inf, *, low_open: bool = False,
             high_open: bool = False) -> Constraint:
    """A finite real number in an interval."""
    return _Interval(low, high, low_open=low_open, high_open=high_open)


class _Cap(_Interval):
    def __init__(self) -> None:
        super().__init__(0.0, math.inf, low_open=True)
        self.description = ("a positive amount (leave the cap out for no cap: a cap of 0 lets "
                            "nothing be paid)")

    def __call__(self, field: str, value: object) -> float:
        try:
            return super().__call__(field, value)
        except ValueError:
            raise fail(field, value, self.description) from None


def cap() -> Constraint:
    """A cap on payments, in currency: a positive number. ``0`` is refused with a message
    that says to leave the cap out for no cap (a form's "0 = no limit" would otherwise void the
    contract without a word).

    >>> cap()("Caps.total", 0)
    Traceback (most recent call last):
    ...
    ValueError: Caps.total: got 0; allowed: a positive amount (leave the cap out for no cap: a \
cap of 0 lets nothing be paid)
    """
    return _Cap()


def fraction(low: float = -1.0, high: float = 1.0, *, low_open: bool = False,
             high_open: bool = False) -> Constraint:
    """A number that is a fraction by convention (0.10 = 10%): thresholds, shares, rates.

    Values that only make sense as percentages (``10`` meant as 10%) are refused with a message
    that suggests the fraction.
    """
    return _Interval(low, high, low_open=low_open, high_open=high_open, percent_hint=True)


class _Integer(Constraint):
    def __init__(self, minimum: int, maximum: int | None) -> None:
        self.minimum, self.maximum = minimum, maximum
        self.description = (f"an integer >= {minimum}" if maximum is None
                            else f"an integer in [{minimum}, {maximum}]")

    def __call__(self, field: str, value: object) -> int:
        return positive_int(field, value, minimum=self.minimum, maximum=self.maximum)


def integer(minimum: int = 0, maximum: int | None = None) -> Constraint:
    """An integer in ``[minimum, maximum]`` (bools and floats refused)."""
    return _Integer(minimum, maximum)


class _Name(Constraint):
    description = "a non-empty string"

    def __call__(self, field: str, value: object) -> str:
        return name(field, value)


#: A non-empty string (labels, metric and party names).
label = _Name()


class _StateSet(Constraint):
    """A state name (kept as a string), or a list of distinct state names counted together
    (stored as a tuple): what a rate card or an evaluation counts the person-periods of."""

    description = ("a state name, or a list of distinct state names whose person-periods are "
                   "counted together")

    def __call__(self, field: str, value: object) -> str | tuple[str, ...]:
        if isinstance(value, str):
            return name(field, value)
        if not isinstance(value, (Sequence, np.ndarray)) or isinstance(value, bytes):
            raise TypeError(str(fail(field, value, self.description)))
        out = tuple(name(f"{field}[{i}]", x) for i, x in enumerate(value))
        if not out:
            raise fail(field, value, "at least one state name")
        unique(field, out, "states")
        return out


#: A state, or a set of states counted together (``state = ["special", "literate_special"]``).
state_set = _StateSet()


def states_of(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """The states of a :data:`state_set` value as a tuple (``()`` for ``None``).

    >>> states_of("special"), states_of(("special", "literate_special")), states_of(None)
    (('special',), ('special', 'literate_special'), ())
    """
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


class _Choice(Constraint):
    def __init__(self, options: Sequence[str]) -> None:
        self.options = tuple(options)
        self.description = "one of " + ", ".join(repr(o) for o in self.options)

    def __call__(self, field: str, value: object) -> str:
        return choice(field, value, self.options)


def one_of(*options: str) -> Constraint:
    """One of a fixed set of strings."""
    return _Choice(options)


class _Flag(Constraint):
    description = "true or false"

    def __call__(self, field: str, value: object) -> bool:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{field}: got {_show(value)}; allowed: true or false")
        return bool(value)


#: A boolean.
flag = _Flag()


class _Optional(Constraint):
    def __init__(self, inner: Constraint) -> None:
        self.inner = inner
        self.description = f"{inner.description}, or None"

    def __call__(self, field: str, value: object) -> object:
        return None if value is None else self.inner(field, value)


def optional(inner: Constraint) -> Constraint:
    """``None`` or a value satisfying ``inner``."""
    return _Optional(inner)


class _Vector(Constraint):
    def __init__(self, inner: Constraint, scalar_ok: bool, min_len: int) -> None:
        self.inner, self.scalar_ok, self.min_len = inner, scalar_ok, min_len
        self.description = (("a value or " if scalar_ok else "")
                            + f"a sequence of {inner.description}")

    def __call__(self, field: str, value: object) -> object:
        if isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes)):
            out = tuple(self.inner(f"{field}[{i}]", x) for i, x in enumerate(value))
            if len(out) < self.min_len:
                raise fail(field, value, f"at least {self.min_len} value(s)")
            return out
        if self.scalar_ok:
            return self.inner(field, value)
        raise TypeError(f"{field}: got {_show(value)}; allowed: {self.description}")


def vector(inner: Constraint, *, min_len: int = 1) -> Constraint:
    """A sequence (stored as a tuple) whose items satisfy ``inner``."""
    return _Vector(inner, False, min_len)


def scalar_or_vector(inner: Constraint) -> Constraint:
    """A value, or a per-period sequence of values, each satisfying ``inner``."""
    return _Vector(inner, True, 1)


class _InstanceOf(Constraint):
    def __init__(self, *classes: type) -> None:
        self.classes = classes
        self.description = " or ".join(c.__name__ for c in classes)

    def __call__(self, field: str, value: object) -> object:
        if not isinstance(value, self.classes):
            raise TypeError(f"{field}: got {type(value).__name__}; allowed: {self.description}")
        return value


def instance_of(*classes: type) -> Constraint:
    """An instance of one of ``classes``."""
    return _InstanceOf(*classes)


def unique(field: str, names: Sequence[str], what: str = "names") -> None:
    """Refuse repeated names (duplicate evaluations, terms, tranches, payers...)."""
    seen: set[str] = set()
    dupes = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if dupes:
        raise fail(field, list(names), f"unique {what} (repeated: {', '.join(map(str, dupes))})")
