"""Writing and reading datasets as netCDF-4 files (through netCDF4), losslessly.

Writes go to a temporary file in the same folder that is renamed into place, so a failed or
interrupted write never leaves a partial file behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import xarray as xr

ENGINE = "netcdf4"


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary file name beside ``path``; on success it replaces ``path``.

    On any error the temporary file is removed and ``path`` is left as it was, so no partial
    output file ever appears. Parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp makes the file private; give it ordinary permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def to_netcdf(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` to ``path`` atomically and return the path."""
    with atomic_output(path) as tmp:
        ds.to_netcdf(tmp, engine=ENGINE)
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
