"""Tick labels that stay distinct: as many decimals as the ticks need."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib import ticker

__all__ = ["StepFormatter"]


class StepFormatter(ticker.Formatter):
    """Tick labels with as many decimals as the ticks need to differ, in the report's
    language: ticks 0.05 apart get two (``0,05 0,10 0,15``), 0.2 apart one, 1 apart none;
    never fewer than ``least``. ``label(value, digits)`` writes one label (e.g.
    :meth:`Formatter.axis`); ``scale`` multiplies the values first (100 for percentages).

    >>> fmt = StepFormatter(lambda v, d: f"{v:.{d}f}")
    >>> fmt.format_ticks([0.0, 0.05, 0.1, 0.15])
    ['0.00', '0.05', '0.10', '0.15']
    """

    def __init__(self, label: Callable[[float, int], str], scale: float = 1.0,
                 least: int = 0) -> None:
        self.label, self.scale, self.least = label, float(scale), int(least)
        self.digits = self.least

    def set_locs(self, locs: object) -> None:
        super().set_locs(locs)
        x = np.asarray(locs, dtype=float) * self.scale
        x = x[np.isfinite(x)]
        self.digits = self.least
        while self.digits < 6 and not np.allclose(x * 10.0**self.digits,
                                                  np.round(x * 10.0**self.digits),
                                                  rtol=0.0, atol=1e-6):
            self.digits += 1

    def __call__(self, x: float, pos: int | None = None) -> str:
        return self.label(x, self.digits)
