"""A small progress report for long runs: draws done, rate and time left.

Shown on standard error when it is a terminal or inside a Jupyter kernel; silent otherwise, or
when turned off (``progress=False`` / ``--no-progress``).
"""

from __future__ import annotations

import sys
import time

_line_open = False  # a progress line without its newline is on standard error


def end_line() -> None:
    """Finish an open progress line (before printing a message after an interruption)."""
    global _line_open
    if _line_open:
        sys.stderr.write("\n")
        sys.stderr.flush()
        _line_open = False


def interactive() -> bool:
    """True in a terminal or a notebook."""
    if "ipykernel" in sys.modules:
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Report ``done / total`` draws with their rate; ``enabled=None`` decides automatically."""

    def __init__(self, total: int, enabled: bool | None = None, label: str = "draws",
                 min_interval: float = 0.5) -> None:
        self.total = total
        self.enabled = interactive() if enabled is None else bool(enabled)
        self.label = label
        self.done = 0
        self.start = time.perf_counter()
        self._last = -1.0
        self._min = min_interval
        self._shown = False

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last < self._min and self.done < self.total:
            return
        self._last = now
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        global _line_open
        _line_open = True  # before writing: a signal may interrupt the write itself
        self._shown = True
        sys.stderr.write(f"\r  {self.label} {self.done:,}/{self.total:,}  "
                         f"{rate:,.0f}/s  ~{left:,.0f} s left   ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self._shown:
            elapsed = time.perf_counter() - self.start
            sys.stderr.write(f"\r  {self.label} {self.done:,}/{self.total:,} in {elapsed:,.1f} s"
                             + " " * 20 + "\n")
            sys.stderr.flush()
            global _line_open
            _line_open = False
