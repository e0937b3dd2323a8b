"""Small validators shared by the specification objects.

Every check raises :class:`ValueError` or :class:`TypeError` with a message that names the field,
the offending value and what is allowed, so that bad input never reaches a numba kernel.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def fail(field: str, value: object, allowed: str) -> ValueError:
    """Build the library's standard validation error."""
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


def name(field: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"{field}: got {_show(value)}; allowed: a non-empty string")
    return value


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
