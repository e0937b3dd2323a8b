"""Writing and reading datasets as netCDF-4 files (through netCDF4), losslessly.

Writes go to a temporary file in the same folder that is renamed into place, so a failed or
interrupted write never leaves a partial file behind. A command that writes several files
(results, figure, budget table, report) writes them as one :class:`OutputSet`: every file is
written to its temporary name first and all are renamed into place together at the end, so an
interrupted or failed command leaves every previous file as it was, never a mix of new and old.
"""

from __future__ import annotations

import contextvars
import errno
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import xarray as xr

ENGINE = "netcdf4"

#: The output set that :func:`atomic_output` adds its finished files to (None: replace at once).
_CURRENT: contextvars.ContextVar[OutputSet | None] = contextvars.ContextVar(
    "sibsim_output_set", default=None)


class OutputPlacementError(OSError):
    """A finished output file could not be renamed into place."""


class OutputSet:
    """The files one command writes, put in place together.

    Inside :meth:`deferring`, each :func:`atomic_output` that finishes leaves its complete
    temporary file beside its destination; when the block ends without an error the files are
    renamed into place one after the other with SIGINT and SIGTERM held back (a few renames in
    one folder each), and :attr:`committed` becomes True. If the block ends with an error or an
    interrupt, every temporary file is removed and every destination keeps its previous content.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> outputs = OutputSet()
    >>> with outputs.deferring():
    ...     with atomic_output(folder / "a.txt") as tmp:
    ...         _ = pathlib.Path(tmp).write_text("a")
    ...     (folder / "a.txt").exists()
    False
    >>> (folder / "a.txt").read_text(), outputs.committed
    ('a', True)
    """

    def __init__(self) -> None:
        self.pending: list[tuple[str, Path]] = []
        self.committed = False

    @contextmanager
    def deferring(self) -> Iterator[OutputSet]:
        token = _CURRENT.set(self)
        try:
            yield self
        except BaseException:
            self.discard()
            raise
        finally:
            _CURRENT.reset(token)
        self.commit()

    def commit(self) -> None:
        """Rename every finished temporary file into place. SIGINT and SIGTERM that come
        meanwhile (in the main thread, where handlers can be set) are held back and raised
        again once the files are in place."""
        held: list[int] = []
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, lambda signum, frame: held.append(signum))
        try:
            while self.pending:
                tmp, path = self.pending[0]
                try:
                    os.replace(tmp, path)
                except OSError as err:
                    raise OutputPlacementError(f"cannot put {path} in place: {err}") from err
                self.pending.pop(0)
            self.committed = True
        except BaseException:
            self.discard()
            raise
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if held:  # handled now, as it would have been, after the files are in place
                signal.raise_signal(held[0])

    def discard(self) -> None:
        """Remove the temporary files not yet put in place."""
        for tmp, _ in self.pending:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self.pending.clear()


def folder_problem(path: str | os.PathLike) -> str | None:
    """Why :func:`atomic_output` could not write ``path``'s temporary file, found now, before
    any work (``None``: it can).

    :func:`atomic_output` creates the missing folders above ``path`` and a temporary file in
    its folder. Checked here: the nearest folder that exists is a folder (not a file), and a
    file can be created in it (tried, then removed). Nothing is left behind.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> folder_problem(folder / "new" / "r.nc") is None
    True
    >>> (folder / "f.toml").write_text("")
    0
    >>> folder_problem(folder / "f.toml" / "r.nc")  # doctest: +ELLIPSIS
    '.../f.toml is a file, not a folder'
    """
    probe = Path(path).parent
    while not probe.exists() and probe.parent != probe:  # folders atomic_output would create
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is a file, not a folder"
    try:
        fd, tmp = tempfile.mkstemp(prefix=".sibsim-check.", suffix=".tmp", dir=probe)
    except OSError as err:
        return f"cannot create a file in {probe}: {err.strerror}"
    os.close(fd)
    os.unlink(tmp)
    return None


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary file name beside ``path``; on success it replaces ``path``.

    On any error the temporary file is removed and ``path`` is left as it was, so no partial
    output file ever appears. Parent folders are created. Inside
    :meth:`OutputSet.deferring`, the finished file replaces ``path`` only when the whole set
    is written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    outputs = _CURRENT.get()
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp makes the file private; give it ordinary permissions
        if outputs is None:
            os.replace(tmp, path)
        else:
            outputs.pending.append((tmp, path))
    finally:
        if os.path.exists(tmp) and (outputs is None
                                    or (tmp, path) not in outputs.pending):
            os.unlink(tmp)


#: Free bytes below which a failed netCDF write is reported as a full disk.
_FULL_BELOW = 1 << 20


def write_netcdf(data: xr.Dataset | xr.DataTree, tmp: str | os.PathLike) -> None:
    """Write ``data`` (a dataset, or a tree of groups) to the file ``tmp`` as netCDF-4.

    Every netCDF file sibsim writes goes through here. The netCDF library reports a write that
    fails part-way (a full disk, another I/O error while HDF5 writes its blocks) as
    ``RuntimeError("NetCDF: HDF error")``, not as an :class:`OSError`, and a file it cannot
    create on a full disk as "Permission denied". Both are raised here as an :class:`OSError`
    (``ENOSPC``, saying so, when under 1 MiB is left on the device; else ``EIO``, or the
    library's own error), as every other writer's I/O error is, so that callers (the commands'
    one-line ``sibsim: error:`` message) handle one kind.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "x.nc"
    >>> write_netcdf(xr.Dataset({"a": ("x", [1.0, 2.0])}), f)
    >>> xr.open_dataset(f, engine=ENGINE)["a"].values.tolist()
    [1.0, 2.0]
    """
    try:
        data.to_netcdf(tmp, engine=ENGINE)
    except (RuntimeError, OSError) as err:
        if isinstance(err, RuntimeError) and not str(err).startswith("NetCDF:"):
            raise  # not the library's report of a failed write
        try:
            free: int | None = shutil.disk_usage(Path(tmp).parent).free
        except OSError:
            free = None
        if free is not None and free < _FULL_BELOW:  # the library may say "Permission denied"
            raise OSError(errno.ENOSPC, f"No space left on device ({free:,} bytes free; the "
                          f"netCDF library said: {err})") from err
        if isinstance(err, OSError):
            raise
        raise OSError(errno.EIO, f"Input/output error while writing netCDF (the netCDF "
                      f"library said: {err})") from err


def to_netcdf(ds: xr.Dataset | xr.DataTree, path: str | os.PathLike) -> Path:
    """Write ``ds`` (a dataset, or a tree of groups) to ``path`` atomically
    (:func:`write_netcdf` into :func:`atomic_output`) and return the path."""
    with atomic_output(path) as tmp:
        write_netcdf(ds, tmp)
    return Path(path)


def open_dataset(path: str | os.PathLike) -> xr.Dataset:
    """Read a dataset written by :func:`to_netcdf` fully into memory."""
    with xr.open_dataset(path, engine=ENGINE) as ds:
        ds = ds.load()
    summary_only = ds.attrs.get("sibsim_content") == "results summary"
    if (not ds.data_vars and not ds.attrs) or summary_only:
        raise ValueError(f"{path}: no outcome dataset at the file's root; a file written by "
                         "'sibsim run' for a scenario with money tables holds one group per "
                         "step: read it with sibsim.open_results")
    return ds
