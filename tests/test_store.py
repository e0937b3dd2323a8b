"""Results streamed to a zarr store block by block: the in-memory results to the last bit, an
interrupted store never taken for complete, and resume computing the missing blocks only."""

from __future__ import annotations

import pytest
import xarray as xr

from results_equal import assert_same_results, coarse_peterborough
from sibsim.cli import main
from sibsim.report import analyse

zarr = pytest.importorskip("zarr", reason="zarr is not installed (pip install sibsim[dask])")
pytest.importorskip("dask", reason="dask is not installed (pip install sibsim[dask])")

from sibsim import store  # noqa: E402

DRAWS, SEED = 250, 5


_deal = coarse_peterborough
_same = assert_same_results


@pytest.fixture(scope="module")
def in_memory():
    return analyse(_deal(), draws=DRAWS, seed=SEED, progress=False, block_draws=DRAWS)


@pytest.mark.parametrize("block", [60, 250])
def test_the_store_holds_the_in_memory_results(tmp_path, in_memory, block):
    path = store.analyse_to_zarr(_deal(), tmp_path / "r.zarr", draws=DRAWS, seed=SEED,
                                 block_draws=block, progress=False)
    back = store.open_store(path, deal=_deal())
    _same(back, in_memory)
    # the summaries (means, quantiles, P(loss)) from the store: exactly those in memory
    xr.testing.assert_identical(back.headline(), in_memory.headline())
    status = store.store_status(path)
    assert status["complete"] and sorted(status["blocks_done"]) == list(range(0, DRAWS, block))


def test_an_interrupted_store_is_incomplete_and_resume_finishes_it(tmp_path, in_memory,
                                                                   monkeypatch):
    path = tmp_path / "r.zarr"
    real, calls = store.run_block, []

    def stop_at_150(deal, first, n, *args, **kwargs):
        if first == 150:
            raise KeyboardInterrupt
        calls.append(first)
        return real(deal, first, n, *args, **kwargs)

    monkeypatch.setattr(store, "run_block", stop_at_150)
    with pytest.raises(KeyboardInterrupt):
        store.analyse_to_zarr(_deal(), path, draws=DRAWS, seed=SEED, block_draws=50,
                              progress=False)
    assert calls == [0, 50, 100]
    status = store.store_status(path)
    assert not status["complete"] and status["blocks_done"] == [0, 50, 100]
    with pytest.raises(store.IncompleteStoreError, match="interrupted"):
        store.open_store(path, deal=_deal())
    # another run's options are refused, naming what differs
    with pytest.raises(store.StoreMismatchError, match="seed"):
        store.analyse_to_zarr(_deal(), path, draws=DRAWS, seed=SEED + 1, block_draws=50,
                              resume=True, progress=False)
    calls.clear()
    monkeypatch.setattr(store, "run_block", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    store.analyse_to_zarr(_deal(), path, draws=DRAWS, seed=SEED, block_draws=50, resume=True,
                          progress=False)
    assert calls == [150, 200]  # the missing blocks only
    _same(store.open_store(path, deal=_deal()), in_memory)
    calls.clear()  # a complete store is left as it is
    store.analyse_to_zarr(_deal(), path, draws=DRAWS, seed=SEED, block_draws=50, resume=True,
                          progress=False)
    assert calls == []


def test_cli_streams_to_a_store_and_resumes(tmp_path, capsys):
    path = tmp_path / "r.zarr"
    args = ["run", "peterborough", "--draws", "60", "--seed", "3", "--block-draws", "25",
            "--no-progress", "--out", str(path)]
    assert main([*args, "--resume"]) == 2  # nothing to resume
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--resume" in err[0] and "does not exist" in err[0]
    assert main(args) == 0
    assert "zarr store" in capsys.readouterr().out
    assert store.store_status(path)["complete"]
    assert main([*args, "--resume"]) == 0
    assert main(["run", "peterborough", "--draws", "10", "--out", str(tmp_path / "x.nc"),
                 "--resume"]) == 2
    assert "--resume" in capsys.readouterr().err


def _synthetic_block(first: int, n: int):
    import numpy as np

    rng = np.random.default_rng(first)
    draw = np.arange(first, first + n)
    ds = xr.Dataset(
        {"flow": (("draw", "period"), rng.normal(size=(n, 3))),
         "late": (("period", "draw"), rng.normal(size=(3, n))),  # draws not first: via xarray
         "count": (("draw",), rng.integers(0, 9, n).astype(np.int8)),
         "fixed": (("period",), np.arange(3.0))},
        coords={"draw": draw, "period": [0, 1, 2]})
    return {"first": first, "n": n, "money": ds}


def test_blocks_are_written_straight_into_their_arrays_or_through_xarray(tmp_path):
    """A block's variables are written into the store's arrays directly (opened once a run)
    or, when the store does not hold them as they are (draws not first), by xarray; a store
    replaced at the same path by another run is opened afresh, not through the arrays kept."""
    for run, (draws, block) in enumerate([(10, 4), (12, 5)]):
        path = tmp_path / "s.zarr"
        blocks = [_synthetic_block(lo, min(block, draws - lo)) for lo in range(0, draws, block)]
        store._initialise(path, blocks[0], draws, block, {"sibsim_draws": draws})
        for b in blocks:
            store._write_region(path, b, run=f"run-{run}")
        back = xr.open_zarr(str(path), group="money", consolidated=False).load()
        whole = xr.concat([b["money"] for b in blocks], dim="draw", data_vars="minimal",
                          coords="minimal", compat="override")
        for name in ("flow", "late", "count"):
            assert back[name].dtype == whole[name].dtype
            xr.testing.assert_equal(back[name].transpose(*whole[name].dims).reset_coords(drop=True),
                                    whole[name].reset_coords(drop=True))
        xr.testing.assert_equal(back["fixed"], blocks[0]["money"]["fixed"])
