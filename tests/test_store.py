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
