"""dask.distributed runs (sibsim.analyse(client=), sibsim run --workers): the results of one
process, bitwise, for any block size, also when a worker dies in the middle of a run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import sibsim
from results_equal import assert_same_results, coarse_peterborough
from sibsim import distributed as sd
from sibsim.cli import main
from sibsim.report import GROUPS, analyse, open_results

DRAWS, SEED = 300, 11


_deal = coarse_peterborough
_same = assert_same_results


# ------------------------------------------------------------------- without dask installed
def test_the_default_path_needs_no_dask(tmp_path):
    """With dask hidden (as if not installed) analyse and the CLI run as before; with it
    installed, analyse never imports dask.distributed (xarray itself imports dask.array to
    recognise its arrays, and looks for a dask scheduler when it writes netCDF: not sibsim's
    doing)."""
    src = str(Path(sibsim.__file__).parents[1])
    code = ("import sys\n"
            "if sys.argv[1] == 'hide':\n"
            "    sys.modules.update(dask=None, distributed=None)\n"
            "import sibsim\n"
            "from sibsim.cli import main\n"
            "sibsim.analyse(sibsim.load_scenario('peterborough'), draws=20, seed=1, "
            "progress=False, with_breakeven=False, block_draws=8)\n"
            "assert sys.modules.get('distributed') is None\n"
            "if sys.argv[1] == 'hide':\n"
            "    assert main(['run', 'peterborough', '--draws', '10', '--no-progress', "
            "'--out', sys.argv[2]]) == 0\n")
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for mode in ("hide", "installed"):
        subprocess.run([sys.executable, "-c", code, mode, str(tmp_path / f"{mode}.nc")],
                       check=True, env=env, timeout=300)


@pytest.mark.parametrize("option", [["--workers", "2"], ["--scheduler", "tcp://127.0.0.1:1"]])
def test_cli_refuses_cleanly_without_dask(monkeypatch, tmp_path, capsys, option):
    monkeypatch.setattr(sd, "dask_available", lambda: False)
    out = tmp_path / "x.nc"
    rc = main(["run", "peterborough", "--draws", "10", "--out", str(out), "--no-progress",
               *option])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and not out.exists()
    assert err[0].startswith(f"sibsim: error: {option[0]}:") and sd.INSTALL_HINT in err[0]


def test_cli_checks_the_worker_count(tmp_path, capsys):
    assert main(["run", "peterborough", "--draws", "10", "--workers", "0",
                 "--out", str(tmp_path / "x.nc")]) == 2
    assert "--workers: got 0" in capsys.readouterr().err


def test_default_block_gives_every_worker_thread_blocks():
    assert sd.default_block_draws(100_000, 2, 65_536) == 12_500
    assert sd.default_block_draws(100_000, 2, 4096) == 4096  # the memory bound wins
    assert sd.default_block_draws(3000, 8, 65_536) == sd.MIN_BLOCK
    assert sd.default_block_draws(500, 8, 65_536) == 500
    # a worker's budget: the block's work and its waiting results fit WORKER_BLOCK_BYTES
    work, kept = 4_000, 3_000
    b = sd.default_block_draws(10_000_000, 2, 65_536, per_draw=(work, kept))
    assert b * (work + sd.WINDOW_PER_THREAD * kept) <= sd.WORKER_BLOCK_BYTES
    assert (b + 1) * (work + sd.WINDOW_PER_THREAD * kept) > sd.WORKER_BLOCK_BYTES
    assert sd.default_block_draws(10_000, 2, 65_536, per_draw=(work, kept)) == 1_250  # aim
    assert sd.default_block_draws(10**7, 2, 65_536, per_draw=(10**9, 0)) == sd.MIN_BLOCK


# ------------------------------------------------------------------------ on a LocalCluster
distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (pip install sibsim[dask])")


@pytest.fixture(scope="module")
def client():
    with sd.cluster_client(workers=2) as c:
        c.wait_for_workers(2, timeout=120)
        yield c


@pytest.fixture(scope="module")
def one_process():
    return analyse(_deal(), draws=DRAWS, seed=SEED, progress=False, block_draws=DRAWS)


def _worker_env() -> dict:
    import os

    return {"trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
            "numba_env": os.environ.get("NUMBA_NUM_THREADS")}


def _block_threads(threads) -> int:
    """The numba threads a block runs with on this worker (numba's count is per thread)."""
    import numba

    from sibsim.report import run_block

    run_block(_deal(), 0, 4, SEED, "aggregate", None, threads=sd.worker_threads(threads))
    return numba.get_num_threads()


def test_local_workers_keep_the_default_allocator_and_their_share_of_the_cores(client):
    """dask's nanny would set MALLOC_TRIM_THRESHOLD_ (every large numpy temporary a fresh,
    zeroed mmap: ~1.6 times slower blocks); sibsim's local cluster leaves it unset. A block
    runs on the worker's share of the cores; NUMBA_NUM_THREADS is left alone (numba refuses to
    see it change once its threads run: test_a_script_importing_sibsim_compiles_on_workers)."""
    envs = list(client.run(_worker_env).values())
    assert len(envs) == 2
    assert all(e["trim"] is None for e in envs), envs
    assert all(e["numba_env"] == os.environ.get("NUMBA_NUM_THREADS") for e in envs), envs
    share = max(1, sd._cores() // 2)
    futures = [client.submit(_block_threads, sd.numba_threads_by_host(client), pure=False,
                             workers=[w]) for w in client.nthreads()]
    assert [f.result() for f in futures] == [share, share]
    import dask

    assert dask.config.get("distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_") \
        == 65536  # dask's config is changed only while the workers are made


def test_worker_threads_are_capped_by_the_local_clusters_share(monkeypatch):
    monkeypatch.delenv(sd.WORKER_THREADS_ENV, raising=False)
    assert sd.worker_threads(None) is None and sd.worker_threads(3) == 3
    monkeypatch.setenv(sd.WORKER_THREADS_ENV, "1")
    assert sd.worker_threads(None) == 1 and sd.worker_threads(3) == 1
    monkeypatch.setenv(sd.WORKER_THREADS_ENV, "4")
    assert sd.worker_threads(2) == 2
    for junk in ("", "0", "-1", "two"):
        monkeypatch.setenv(sd.WORKER_THREADS_ENV, junk)
        assert sd.worker_threads(2) == 2


_SCRIPT = """\
import sibsim  # at the script's top, as users write it: the workers import it first
from sibsim.distributed import cluster_client


def compile_on_worker():
    import numba

    from sibsim.distributed import worker_threads

    numba.set_num_threads(worker_threads(2))  # starts numba's threads, as a block does

    @numba.njit
    def total(n):  # a new function: numba compiles it here, and reads its variables again
        s = 0
        for i in range(n):
            s += i
        return s

    return total(10), numba.get_num_threads()


if __name__ == "__main__":
    with cluster_client(workers=1, numba_threads=1) as client:
        print(*client.submit(compile_on_worker, pure=False).result())
"""


def test_a_script_importing_sibsim_compiles_on_workers(tmp_path):
    """A script that imports sibsim at its top, on sibsim's local cluster, with kernels not yet
    compiled (a cold numba cache): every block failed with "Cannot set NUMBA_NUM_THREADS to a
    different value once the threads have been launched" while the cluster told its workers
    their threads through NUMBA_NUM_THREADS (dask's nanny sets it after the worker has imported
    the script, and numba with it)."""
    script = tmp_path / "script.py"
    script.write_text(_SCRIPT)
    src = str(Path(sibsim.__file__).parents[1])
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("NUMBA_NUM_THREADS", None)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["45", "1"]  # 0 + ... + 9, on the cluster's 1 thread


@pytest.mark.parametrize("block", [64, 300])
def test_two_worker_processes_give_the_results_of_one_process(client, one_process, block):
    assert len(client.nthreads()) == 2
    res = analyse(_deal(), draws=DRAWS, seed=SEED, progress=False, block_draws=block,
                  client=client)
    _same(res, one_process)
    # workers x numba threads = cores
    threads = sd.numba_threads_by_host(client)
    assert list(threads.values()) == [max(1, sd._cores() // 2)]


class KillOnce(distributed.WorkerPlugin):
    """Kills its worker process (SIGKILL) when a block after the first starts, once."""

    name = "sibsim-kill-once"

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def transition(self, key, start, finish, **kwargs):
        key = str(key)
        if (finish == "executing" and key.startswith("sibsim-block-")
                and not key.endswith("-0") and not os.path.exists(self.marker)):
            Path(self.marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_in_the_middle_of_a_run_changes_nothing(client, one_process,
                                                                 tmp_path):
    marker = tmp_path / "killed"
    before = set(client.run(os.getpid).values())
    client.register_plugin(KillOnce(str(marker)))
    try:
        res = analyse(_deal(), draws=DRAWS, seed=SEED, progress=False, block_draws=50,
                      client=client)
    finally:
        client.unregister_worker_plugin(KillOnce.name)
    assert marker.exists() and int(marker.read_text()) in before  # a worker did die
    _same(res, one_process)
    client.wait_for_workers(2, timeout=120)


def test_cli_workers_writes_the_file_of_one_process(tmp_path):
    a, b = tmp_path / "a.nc", tmp_path / "b.nc"
    args = ["run", "peterborough", "--draws", "80", "--seed", "3", "--no-progress"]
    assert main([*args, "--out", str(a)]) == 0
    assert main([*args, "--out", str(b), "--block-draws", "30", "--workers", "2"]) == 0
    _same(open_results(a), open_results(b))


def _store_run(client, path, monkeypatch, **kwargs):
    """analyse_to_zarr on the cluster, counting the blocks the client writes itself and the
    blocks it initialises the store's groups from."""
    from sibsim import store

    written, real = [], store._write_region
    initialised, real_init = [], store._initialise_groups
    monkeypatch.setattr(store, "_write_region", lambda p, block, *a: (
        written.append(int(block["first"])) or real(p, block, *a)))
    monkeypatch.setattr(store, "_initialise_groups", lambda p, block, *a: (
        initialised.append(int(block["first"])) or real_init(p, block, *a)))
    store.analyse_to_zarr(_deal(), path, draws=DRAWS, seed=SEED, client=client,
                          progress=False, **kwargs)
    monkeypatch.undo()
    return written + [f"initialised from {b}" for b in initialised]


def test_the_workers_write_their_blocks_into_the_store(client, one_process, tmp_path,
                                                       monkeypatch):
    """The client makes the store; the worker that computes the first block initialises the
    store's groups from it, and every block is written by the worker that computed it (the
    client only lists them); the store holds the results of one process."""
    pytest.importorskip("zarr", reason="zarr is not installed (pip install sibsim[dask])")
    from sibsim.store import WRITER_TOKEN, open_store, store_status

    path = tmp_path / "w.zarr"
    assert _store_run(client, path, monkeypatch, block_draws=50) == []
    status = store_status(path)
    assert status["complete"] and status["blocks_done"] == list(range(0, DRAWS, 50))
    assert not (path / WRITER_TOKEN).exists()  # no writer is left allowed in
    back = open_store(path, deal=_deal())
    for g in GROUPS:
        getattr(back, g).load()
    _same(back, one_process)


def test_workers_that_do_not_see_the_store_send_their_blocks_to_the_client(
        client, one_process, tmp_path, monkeypatch):
    """A worker on another machine does not see the client's store (here: the run's token
    is not the one in the store): it sends its block, and the client writes it."""
    pytest.importorskip("zarr", reason="zarr is not installed (pip install sibsim[dask])")
    from sibsim import store

    real = store._set_writer_token
    monkeypatch.setattr(store, "_set_writer_token",
                        lambda p, token: real(p, None if token is None else "another run"))
    path = tmp_path / "c.zarr"
    written, r2 = [], store._write_region
    initialised, r3 = [], store._initialise_groups
    monkeypatch.setattr(store, "_write_region", lambda p, block, *a: (
        written.append(int(block["first"])) or r2(p, block, *a)))
    monkeypatch.setattr(store, "_initialise_groups", lambda p, block, *a: (
        initialised.append(int(block["first"])) or r3(p, block, *a)))
    store.analyse_to_zarr(_deal(), path, draws=DRAWS, seed=SEED, client=client,
                          block_draws=100, progress=False)
    assert written == [0, 100, 200]  # every block, by the client
    assert initialised == [0]  # from the first block, which its worker sent
    back = store.open_store(path, deal=_deal())
    for g in GROUPS:
        getattr(back, g).load()
    _same(back, one_process)


def test_a_store_resumed_on_the_cluster_is_finished_by_the_workers(client, one_process,
                                                                  tmp_path, monkeypatch):
    pytest.importorskip("zarr", reason="zarr is not installed (pip install sibsim[dask])")
    from sibsim import store

    path = tmp_path / "r.zarr"
    real = store.run_block

    def stop_at_150(deal, first, n, *args, **kwargs):
        if first == 150:
            raise KeyboardInterrupt
        return real(deal, first, n, *args, **kwargs)

    monkeypatch.setattr(store, "run_block", stop_at_150)  # this process, no cluster
    with pytest.raises(KeyboardInterrupt):
        store.analyse_to_zarr(_deal(), path, draws=DRAWS, seed=SEED, block_draws=50,
                              progress=False)
    monkeypatch.undo()
    assert store.store_status(path)["blocks_done"] == [0, 50, 100]
    # the missing blocks, written by the workers: the client writes none
    assert _store_run(client, path, monkeypatch, block_draws=50, resume=True) == []
    assert store.store_status(path)["blocks_done"] == list(range(0, DRAWS, 50))
    back = store.open_store(path, deal=_deal())
    for g in GROUPS:
        getattr(back, g).load()
    _same(back, one_process)


def test_a_worker_killed_while_streaming_changes_nothing(client, one_process, tmp_path):
    pytest.importorskip("zarr", reason="zarr is not installed (pip install sibsim[dask])")
    from sibsim.store import open_store

    marker = tmp_path / "killed"
    before = set(client.run(os.getpid).values())
    client.register_plugin(KillOnce(str(marker)))
    try:
        from sibsim.store import analyse_to_zarr

        path = analyse_to_zarr(_deal(), tmp_path / "k.zarr", draws=DRAWS, seed=SEED,
                               block_draws=50, client=client, progress=False)
    finally:
        client.unregister_worker_plugin(KillOnce.name)
    assert marker.exists() and int(marker.read_text()) in before  # a worker did die
    back = open_store(path, deal=_deal())
    for g in GROUPS:
        getattr(back, g).load()
    _same(back, one_process)
    client.wait_for_workers(2, timeout=120)


def test_two_worker_processes_give_the_same_programme(client, tmp_path):
    """A programme (sibsim.programme) run on the cluster, one task a deal: identical to the
    run in one process."""
    import xarray as xr

    from sibsim.programme import Programme, run_programme
    from sibsim.templates import write_template

    template = sibsim.load_scenario(write_template("child-welfare", tmp_path / "cw.toml"))
    prog = Programme(template, names=("a", "b", "c"),
                     columns=("start_year", "scenario.cohort.entry[0]"),
                     values=((2027, 12), (2029, 5), (2028, 30)))
    here = run_programme(prog, draws=80, seed=3, progress=False)
    there = run_programme(prog, draws=80, seed=3, progress=False, client=client)
    xr.testing.assert_identical(there, here)
