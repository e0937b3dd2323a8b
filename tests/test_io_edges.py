"""Writing and reading outcome datasets at their edges: the atomic write (folders, permissions,
a failed write), and what the reader accepts.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py) found unguarded.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sibsim.dataset.io import atomic_output, open_dataset, to_netcdf


def _ds() -> xr.Dataset:
    return xr.Dataset({"events": (("draw",), np.array([1.0, 2.5, 3.0]))},
                      attrs={"seed": 4, "scenario": "a"})


def test_to_netcdf_writes_into_new_folders_and_reads_back_the_same(tmp_path):
    path = tmp_path / "a" / "b" / "out.nc"
    written = to_netcdf(_ds(), str(path))
    assert written == path and isinstance(written, Path)
    back = open_dataset(path)
    xr.testing.assert_identical(back, _ds())
    assert os.listdir(path.parent) == ["out.nc"]  # no temporary file left
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "out.nc"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="interrupted"):
        with atomic_output(path) as tmp:
            assert Path(tmp).parent == tmp_path and Path(tmp).name.startswith(".out.nc.")
            Path(tmp).write_text("partial")
            raise RuntimeError("interrupted")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.nc"]


def test_atomic_output_replaces_the_file_on_success(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    with atomic_output(path) as tmp:
        Path(tmp).write_text("new")
    assert path.read_text() == "new"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_open_dataset_accepts_a_dataset_with_variables_or_attributes_alone(tmp_path):
    variables = xr.Dataset({"x": (("draw",), np.arange(2.0))})
    to_netcdf(variables, tmp_path / "v.nc")
    xr.testing.assert_identical(open_dataset(tmp_path / "v.nc"), variables)
    attributes = xr.Dataset(attrs={"note": "attributes only"})
    to_netcdf(attributes, tmp_path / "a.nc")
    assert open_dataset(tmp_path / "a.nc").attrs["note"] == "attributes only"


def test_open_dataset_refuses_an_empty_file_and_a_results_summary(tmp_path):
    to_netcdf(xr.Dataset(), tmp_path / "empty.nc")
    with pytest.raises(ValueError) as err:
        open_dataset(tmp_path / "empty.nc")
    assert str(err.value) == (
        f"{tmp_path / 'empty.nc'}: no outcome dataset at the file's root; a file written by "
        "'sibsim run' for a scenario with money tables holds one group per step: read it with "
        "sibsim.open_results")
    summary = _ds().assign_attrs(sibsim_content="results summary")
    to_netcdf(summary, tmp_path / "s.nc")
    with pytest.raises(ValueError, match="no outcome dataset"):
        open_dataset(tmp_path / "s.nc")
    other = _ds().assign_attrs(sibsim_content="something else")
    to_netcdf(other, tmp_path / "o.nc")
    assert open_dataset(tmp_path / "o.nc").attrs["sibsim_content"] == "something else"
