"""Where numba keeps sibsim's compiled kernels, so that ``import sibsim`` works everywhere.

sibsim's kernels are compiled with ``cache=True``. numba caches next to the source
(``__pycache__``) or in the user's cache folder; on a read-only installation with a read-only
home neither is writable and numba refuses to import the kernels. Before any kernel is defined,
:func:`configure` checks those places the way numba does and, if neither is writable, points
numba at a private folder in the temporary directory; if even that fails, kernels are compiled
in memory on each start (with a one-line notice on standard error).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numba

__all__ = ["configure", "writable"]


def writable(folder: Path) -> bool:
    """True if a file can be created in ``folder`` (created if missing), as numba checks."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def _user_cache() -> Path:
    from numba.misc.appdirs import AppDirs

    return Path(AppDirs(appname="numba", appauthor=False).user_cache_dir)


def configure(package_dir: Path | None = None) -> str:
    """Choose numba's cache location for sibsim; return what was chosen (for tests).

    Returns ``"user"`` (``NUMBA_CACHE_DIR`` was set), ``"in-tree"``, ``"user-wide"``,
    ``"temporary"`` (a private folder in the temporary directory) or ``"none"`` (no caching).
    """
    if numba.config.CACHE_DIR:
        return "user"
    package_dir = package_dir or Path(__file__).resolve().parent
    if writable(package_dir / "__pycache__"):
        return "in-tree"
    if writable(_user_cache()):
        return "user-wide"
    uid = os.getuid() if hasattr(os, "getuid") else 0
    folder = Path(tempfile.gettempdir()) / f"sibsim-numba-cache-{uid}"
    if writable(folder):
        numba.config.CACHE_DIR = str(folder)
        os.environ.setdefault("NUMBA_CACHE_DIR", str(folder))  # worker processes too
        return "temporary"
    from numba.core import dispatcher

    dispatcher.Dispatcher.enable_caching = lambda self: None  # compile in memory only
    print("sibsim: notice: no writable folder for numba's cache; kernels are compiled on "
          "each start (set NUMBA_CACHE_DIR to a writable folder to avoid this)",
          file=sys.stderr)
    return "none"


#: Where this process caches compiled kernels (see :func:`configure`).
CHOICE = configure()
