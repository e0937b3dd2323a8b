"""Reading results files: the outcome reader explains what to do with a grouped SIB file."""

from __future__ import annotations

import pytest

import sibsim
from sibsim.report import analyse


def test_open_dataset_on_a_grouped_results_file_points_to_open_results(tmp_path):
    scenario = sibsim.load_scenario("peterborough")
    res = analyse(scenario, draws=50, seed=3, progress=False,
                  with_breakeven=False)
    path = res.to_netcdf(tmp_path / "pb.nc")
    with pytest.raises(ValueError, match="open_results"):
        sibsim.open_dataset(path)
    back = sibsim.open_results(path)
    assert back.money.sizes["draw"] == 50
    assert back.breakeven is None
