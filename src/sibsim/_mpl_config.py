"""Where matplotlib keeps its settings and font cache, so that a read-only home stays quiet.

matplotlib (imported only when a figure or report is drawn) keeps its configuration and font
cache in ``~/.config/matplotlib`` and ``~/.cache/matplotlib`` (Linux). With a read-only home it
falls back to a new temporary folder on every start and prints two lines of warning ("mkdir -p
failed", "Matplotlib created a temporary cache directory") after sibsim's own output. Before
matplotlib is imported, :func:`configure` checks those folders the way
:mod:`sibsim._numba_cache` checks numba's and, if either cannot be written, points
``MPLCONFIGDIR`` at a private folder in the temporary directory, kept between runs. A user's
own ``MPLCONFIGDIR`` is never changed.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from sibsim._numba_cache import writable

__all__ = ["configure"]


def _could_write(folder: Path) -> bool:
    """True if ``folder`` could be made and written, judged without creating anything: the
    nearest folder that exists must be writable (``os.access`` also says no on a read-only
    file system, for root too)."""
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def _xdg(variable: str, default: str) -> Path:
    value = os.environ.get(variable)
    return Path(value) if value else Path.home() / default


def configure() -> str:
    """Choose matplotlib's folder; return what was chosen (for tests).

    ``"user"`` (``MPLCONFIGDIR`` was set), ``"home"`` (its usual folders can be written, or
    not on Linux), ``"temporary"`` (a private folder in the temporary directory) or ``"none"``
    (nothing writable: matplotlib's own fallback and warning).
    """
    if os.environ.get("MPLCONFIGDIR"):
        return "user"
    if not sys.platform.startswith(("linux", "freebsd")):
        return "home"
    try:
        usual = (_xdg("XDG_CONFIG_HOME", ".config") / "matplotlib",
                 _xdg("XDG_CACHE_HOME", ".cache") / "matplotlib")
    except RuntimeError:  # no home at all
        usual = ()
    if usual and all(_could_write(folder) for folder in usual):
        return "home"
    uid = os.getuid() if hasattr(os, "getuid") else 0
    folder = Path(tempfile.gettempdir()) / f"sibsim-matplotlib-{uid}"
    if writable(folder):
        os.environ["MPLCONFIGDIR"] = str(folder)
        return "temporary"
    return "none"


#: Where matplotlib keeps its files in this process (see :func:`configure`).
CHOICE = configure() if "matplotlib" not in sys.modules else "already imported"
