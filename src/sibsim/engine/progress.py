"""One progress bar for a whole run (tqdm; a widget in a notebook).

Shown on standard error when it is a terminal, or inside a Jupyter kernel; silent otherwise
(tests, logs, pipes), or when turned off (``progress=False`` / ``--no-progress``) and shown
anyway with ``progress=True`` / ``--progress``.

A run opens **one** bar with :func:`progress` and names its stages with
:meth:`Progress.stage`; the steps inside it (the simulation's chunks, the break-even grid, a
design search's variants, a report's figures) report through :func:`share` or :func:`steps`,
which advance the bar that is open, each within the share of the bar its stage was given, or
open their own bar when none is::

    with progress(draws, enabled=None) as bar:       # the run's bar, counted in draws
        bar.stage("simulation", weight=0.25)         # the next quarter of the bar
        simulate(...)                                # its chunks advance that quarter
        bar.stage("break-even", weight=0.75)
        for x in steps(grid): ...                    # each grid point a step of the rest

Examples
--------
>>> with progress(10, enabled=False) as bar:
...     bar.stage("simulation", weight=0.5)
...     with share(4) as part:
...         part.update(1)
...     done_in_stage = bar.done        # 1 of 4 steps, then the part closed: its stage is done
...     bar.stage("break-even", weight=0.5)
...     for x in steps(range(10)):
...         pass
...     done_in_stage, bar.done
(5.0, 10.0)
"""

from __future__ import annotations

import contextvars
import sys
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = ["Progress", "end_line", "interactive", "progress", "share", "steps"]

T = TypeVar("T")

_current: contextvars.ContextVar[Progress | None] = contextvars.ContextVar(
    "sibsim_progress", default=None)
_open: list[Progress] = []  # bars shown and not yet closed (end_line closes them)

BAR_FORMAT = ("{desc} {n:,.0f}/{total:,.0f} |{bar}| {percentage:3.0f}% "
              "[{elapsed}<{remaining}{postfix}]")


def _in_notebook() -> bool:
    """True inside a running Jupyter kernel (ipykernel merely imported, e.g. by a tool that
    starts kernels, is not one)."""
    if "IPython" not in sys.modules:
        return False
    shell = sys.modules["IPython"].get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def interactive() -> bool:
    """True in a terminal or a notebook."""
    if _in_notebook():
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _tqdm_class() -> type:
    """``tqdm.auto.tqdm``: the notebook widget in Jupyter (with ipywidgets), else the text
    bar; tqdm's warnings about that choice are not shown."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm
    return tqdm


def end_line() -> None:
    """Close every open bar (before printing a message after an interruption), so that the
    message starts on a line of its own."""
    while _open:
        _open[-1].close()


class Progress:
    """A tqdm bar over ``total`` units (``label``, e.g. draws); ``enabled=None`` decides
    automatically (:func:`interactive`).

    ``update(n)`` adds ``n`` units (fractions allowed); ``stage(name, weight)`` starts a stage
    that fills the next ``weight x total`` units (parts opened inside it by :func:`progress`,
    :func:`share` or :func:`steps` fill that much of the bar); ``close()`` completes the bar
    (when every unit was done) and ends its line. With ``parent`` (another bar's stage), it
    shows nothing itself and advances the parent by ``scale`` units for each of its own.
    """

    def __init__(self, total: float, enabled: bool | None = None, label: str = "draws",
                 min_interval: float = 0.5, *, parent: Progress | None = None,
                 scale: float = 1.0) -> None:
        self.total = max(float(total), 0.0)
        self.parent, self.scale = parent, float(scale)
        self.enabled = (parent.enabled if parent is not None
                        else interactive() if enabled is None else bool(enabled))
        self.label = label
        self.done = 0.0
        self._stage_start, self._stage_units, self._staged = 0.0, self.total, False
        self._bar: Any = None
        if self.enabled and parent is None:
            self._bar = _tqdm_class()(
                total=self.total, desc=label, file=sys.stderr, mininterval=min_interval,
                bar_format=BAR_FORMAT, dynamic_ncols=True, leave=True)
            _open.append(self)

    def update(self, n: float) -> None:
        """Add ``n`` units done (kept within the bar's total)."""
        n = max(0.0, min(float(n), self.total - self.done))
        if not n:
            return
        self.done += n
        if self.parent is not None:
            self.parent.update(n * self.scale)
        elif self._bar is not None:
            self._bar.update(n)

    def stage(self, name: str | None, weight: float = 1.0) -> None:
        """Start a stage: the previous stage counts as done, and the next ``weight x total``
        units belong to ``name`` (shown beside the bar; None keeps the name shown)."""
        if self._staged:
            self.update(self._stage_start + self._stage_units - self.done)
        self._staged = True
        self._stage_start = self.done
        self._stage_units = min(max(0.0, float(weight)) * self.total, self.total - self.done)
        if self._bar is not None and name is not None:
            self._bar.set_postfix_str(name, refresh=False)

    def part(self, total: float) -> Progress:
        """A counter of ``total`` steps filling what is left of the current stage."""
        left = self._stage_start + self._stage_units - self.done
        return Progress(total, parent=self, scale=left / max(float(total), 1e-300))

    def close(self) -> None:
        """End the bar. A part counts its rest as done; a bar whose units are all done
        (within rounding) shows its total."""
        if self.parent is not None:
            self.update(self.total - self.done)
            return
        if self._bar is not None:
            if self.total - self.done < 1e-6 * max(self.total, 1.0):
                self._bar.n = self.total
            self._bar.close()
            self._bar = None
        if self in _open:
            _open.remove(self)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def progress(total: float, enabled: bool | None = None, label: str = "draws"
             ) -> Iterator[Progress]:
    """The run's bar over ``total`` units, the current bar until the block ends; inside
    another open bar, a part of its current stage instead.

    ``enabled``: None shows it in a terminal or a notebook, True always, False never (and a
    disabled run inside an open bar does not advance it)."""
    outer = _current.get()
    if outer is not None and enabled is not False:
        bar = outer.part(total)
    else:
        bar = Progress(total, enabled, label)
    token = _current.set(bar)
    try:
        yield bar
    finally:
        _current.reset(token)
        bar.close()


def share(total: float, enabled: bool | None = None, label: str = "draws") -> Progress:
    """A counter for ``total`` steps: a part of the open bar's current stage, or (with no bar
    open) a bar of its own. The caller closes it. ``enabled=False``: a silent counter."""
    outer = _current.get()
    if outer is not None and enabled is not False:
        return outer.part(total)
    return Progress(total, enabled, label)


def steps(items: Iterable[T], enabled: bool | None = None) -> Iterator[T]:
    """Iterate over ``items``, each an equal step of the open bar's current stage (nothing is
    shown when no bar is open and ``enabled`` is not True). While an item is processed, a run
    opened inside the loop (e.g. :func:`sibsim.analyse` for one contract variant) fills that
    item's step of the bar."""
    items = list(items)
    outer = _current.get()
    if outer is None and not enabled:
        yield from items
        return
    counter = share(len(items), enabled)
    token = _current.set(counter)
    try:
        for item in items:
            counter.stage(None, weight=1.0 / len(items))
            yield item
    finally:
        try:
            _current.reset(token)
        except ValueError:  # closed from another context (garbage collection)
            pass
        counter.close()
