"""Faults a user can cause: unreadable inputs, unsafe outputs, disk errors, signals and a
read-only installation. Each ends with a message and a documented exit status, never a
traceback, and keeps any previous output."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import xarray as xr

import sibsim
from sibsim.cli import EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE, main
from sibsim.dataset.io import atomic_output
from sibsim.scenario_file import MAX_SCENARIO_BYTES, ScenarioFileError, load_scenario

ROOT = Path(__file__).resolve().parents[1]

SMALL = """
name = "small"
horizon = 3
[cohort]
size = 50
[outcome]
kind = "binary"
probability = 0.3
"""


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else textwrap.dedent(data).encode())
    return path


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------ unreadable inputs
@pytest.mark.parametrize(("data", "words"), [
    (b"\xef\xbb\xbf" + SMALL.encode(), "byte-order mark"),
    (b"\xff\xfe" + SMALL.encode("utf-16-le"), "byte-order mark"),
    ('name = "caf\xe9"\n'.encode("latin-1") + SMALL.encode(), "not UTF-8"),
    (b"horizon = 3\n" + b"# " + b"x" * MAX_SCENARIO_BYTES + b"\n", "at most"),
])
def test_unreadable_scenario_files_are_refused_with_a_message(tmp_path, capsys, data, words):
    path = write(tmp_path / "bad.toml", data)
    with pytest.raises(ScenarioFileError, match=words):
        load_scenario(path)
    code, _, err = run_cli(capsys, "run", str(path), "--out", str(tmp_path / "r.nc"))
    assert code == EXIT_USAGE and err.startswith("sibsim: error:") and words in err
    assert "Traceback" not in err and not (tmp_path / "r.nc").exists()


@pytest.mark.parametrize("kind", ["fifo", "folder", "device"])
def test_non_regular_inputs_are_refused_without_blocking(tmp_path, capsys, kind):
    if kind == "fifo":
        path = tmp_path / "pipe.toml"
        os.mkfifo(path)  # opening it for reading would block forever
    elif kind == "folder":
        path = tmp_path / "dir.toml"
        path.mkdir()
    else:
        path = Path("/dev/zero")  # endless: an unbounded read would never return
    code, _, err = run_cli(capsys, "run", str(path), "--out", str(tmp_path / "r.nc"))
    assert code == EXIT_USAGE and "not a regular file" in err


# ------------------------------------------------------------------ unsafe outputs
@pytest.mark.parametrize("name", ["../escape", "/abs/path", "a/b", ".hidden", "tab\there",
                                  "x" * 101, "nul\x00"])
def test_a_scenario_name_cannot_steer_the_output_path(tmp_path, name):
    with pytest.raises(ValueError, match=r"Scenario\.name.*names the output files"):
        sibsim.Scenario(cohort=sibsim.Cohort(size=5), outcome=sibsim.BinaryOutcome(0.1),
                        horizon=2, name=name)
    toml = SMALL.replace('name = "small"', f"name = {json.dumps(name)}")  # a TOML string
    path = write(tmp_path / "s.toml", toml)
    with pytest.raises(ScenarioFileError, match="names the output files"):
        load_scenario(path)


def test_unicode_names_are_fine():
    sc = sibsim.Scenario(cohort=sibsim.Cohort(size=5), outcome=sibsim.BinaryOutcome(0.1),
                         horizon=2, name="Työllisyys-SIB (Hämeenlinna)")
    assert sc.name == "Työllisyys-SIB (Hämeenlinna)"


def test_outputs_are_checked_before_the_run(tmp_path, capsys):
    src = write(tmp_path / "s.toml", SMALL)
    before = src.read_bytes()
    (tmp_path / "folder.nc").mkdir()
    cases = [
        (["--out", str(src)], "ending in .nc"),
        (["--out", str(tmp_path / "folder.nc")], "not a regular file"),
        (["--out", str(tmp_path / "a.nc"), "--figure", str(tmp_path / "a.nc")], "ending in"),
        (["--out", str(tmp_path / "a.nc"), "--figure", str(tmp_path / "fig.doc")], "ending in"),
    ]
    for extra, words in cases:
        t0 = time.perf_counter()
        code, _, err = run_cli(capsys, "run", str(src), "--draws", "10", *extra)
        assert code == EXIT_USAGE and words in err, (extra, err)
        assert time.perf_counter() - t0 < 5  # refused before simulating
    assert src.read_bytes() == before
    assert not (tmp_path / "a.nc").exists()


@pytest.mark.parametrize("option", ["--out", "--figure", "--budget", "--report"])
def test_an_output_whose_folder_cannot_be_written_is_refused_before_the_run(tmp_path, capsys,
                                                                           monkeypatch,
                                                                           option):
    """A folder that is a file, or one where no file can be created (/proc), was found only
    when the results were written, after the whole run."""
    import sibsim.report

    def no_run(*args, **kwargs):
        raise AssertionError("the run started")

    monkeypatch.setattr(sibsim.report, "run_and_report", no_run)
    src = write(tmp_path / "s.toml", SMALL)
    suffix = {"--out": ".nc", "--figure": ".png", "--budget": ".csv", "--report": ".html"}
    other = [] if option == "--out" else ["--out", str(tmp_path / "r.nc")]
    for target, words in [(src / f"x{suffix[option]}", "s.toml is a file, not a folder"),
                          (src / "deeper" / f"x{suffix[option]}", "is a file, not a folder"),
                          (Path("/proc") / "sibsim" / f"x{suffix[option]}",
                           "cannot create a file in /proc: ")]:
        code, _, err = run_cli(capsys, "run", "peterborough", "--draws", "10", *other, option,
                               str(target))
        assert code == EXIT_USAGE and err.count("\n") == 1, err
        assert err.startswith(f"sibsim: error: {option}: cannot write {target}: ") and \
            words in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]  # no probe file left


def test_the_folder_check_leaves_nothing_behind(tmp_path):
    from sibsim.cli import check_outputs

    out = tmp_path / "new" / "deeper" / "r.nc"
    assert check_outputs("s.toml", {"--out": (out, (".nc",))}) is None
    assert list(tmp_path.iterdir()) == []  # no folder created, no probe file left


def test_two_outputs_on_one_path_are_refused(tmp_path, capsys):
    from sibsim.cli import check_outputs

    src = write(tmp_path / "s.toml", SMALL)
    same = tmp_path / "x.png"
    problem = check_outputs(src, {"--out": (same, (".png",)), "--figure": (same, (".png",))})
    assert problem is not None and "also the --out file" in problem
    # a figure without a suffix is written as PNG: that is the same file too
    problem = check_outputs(src, {"--out": (tmp_path / "f.png", (".png",)),
                                  "--figure": (tmp_path / "f", ("", ".png"))})
    assert problem is not None and "also the --out file" in problem
    # the scenario file itself, under another name (a hard link)
    link = tmp_path / "link.nc"
    os.link(src, link)
    problem = check_outputs(src, {"--out": (link, (".nc",))})
    assert problem is not None and "is the scenario file" in problem


# ------------------------------------------------------------------ disk full and I/O errors
def test_disk_full_while_writing_keeps_the_previous_file(tmp_path, capsys, monkeypatch):
    out = tmp_path / "r.nc"
    out.write_bytes(b"previous results")

    def full(self, path, *args, **kwargs):
        Path(path).write_bytes(b"half")  # a partial write, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(xr.DataTree, "to_netcdf", full)
    code, _, err = run_cli(capsys, "run", "peterborough", "--draws", "20", "--out", str(out),
                           "--no-progress")
    assert code == EXIT_USAGE and "No space left on device" in err and "Traceback" not in err
    assert out.read_bytes() == b"previous results"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]  # no temporary file left


def test_the_netcdf_library_s_failed_write_is_an_os_error(tmp_path, monkeypatch):
    """netCDF4 reports a write that fails part-way (a full disk) as ``RuntimeError("NetCDF:
    HDF error")``, not as an OSError (seen on a full 120 KiB tmpfs)."""
    import sibsim.dataset.io as nio

    def hdf_error(self, path, *args, **kwargs):
        Path(path).write_bytes(b"half")
        raise RuntimeError("NetCDF: HDF error")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", hdf_error)
    ds = xr.Dataset({"a": ("x", [1.0])})
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(nio.shutil, "disk_usage", lambda p: usage._replace(free=4096))
    with pytest.raises(OSError) as info:
        nio.to_netcdf(ds, tmp_path / "r.nc")
    assert info.value.errno == errno.ENOSPC
    assert str(info.value) == ("[Errno 28] No space left on device (4,096 bytes free; the netCDF "
                               "library said: NetCDF: HDF error)")
    monkeypatch.setattr(nio.shutil, "disk_usage", lambda p: usage._replace(free=10**10))
    with pytest.raises(OSError) as info:
        nio.to_netcdf(ds, tmp_path / "r.nc")
    assert info.value.errno == errno.EIO and "NetCDF: HDF error" in str(info.value)
    assert list(tmp_path.iterdir()) == []  # no partial or temporary file

    def other(self, path, *args, **kwargs):
        raise RuntimeError("a bug, not an I/O error")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", other)
    with pytest.raises(RuntimeError, match="a bug"):  # not disguised as an I/O error
        nio.to_netcdf(ds, tmp_path / "r.nc")


def test_the_netcdf_library_s_failed_write_is_one_line_from_the_cli(tmp_path, capsys,
                                                                     monkeypatch):
    out = tmp_path / "r.nc"
    out.write_bytes(b"previous results")

    def hdf_error(self, path, *args, **kwargs):
        Path(path).write_bytes(b"half")
        raise RuntimeError("NetCDF: HDF error")

    monkeypatch.setattr(xr.DataTree, "to_netcdf", hdf_error)
    code, _, err = run_cli(capsys, "run", "peterborough", "--draws", "20", "--out", str(out),
                           "--no-progress")
    assert code == EXIT_USAGE and err.count("\n") == 1, err
    assert err.startswith("sibsim: error: cannot write the results: ") and "HDF error" in err
    assert out.read_bytes() == b"previous results"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]


FULL_DISK_SCRIPT = """
mount -t tmpfs -o size=64k tmpfs {full} && head -c 45056 /dev/zero > {full}/filler &&
for f in o.nc f.png r.html b.xlsx; do printf previous > {full}/$f; done &&
i=0; for opts in "--out {full}/o.nc" "--figure {full}/f.png" "--report {full}/r.html" \
                 "--budget {full}/b.xlsx"; do
  i=$((i + 1))
  ({python} -m sibsim run peterborough --draws 20 --no-progress --out {elsewhere}/ok$i.nc \
    $opts > /dev/null 2> {elsewhere}/err$i; echo $? > {elsewhere}/rc$i) &
done
wait
for i in 1 2 3 4; do echo "$(cat {elsewhere}/rc$i) $(base64 -w0 < {elsewhere}/err$i)"; done
echo $(ls -A {full}) && cat {full}/o.nc {full}/f.png {full}/r.html {full}/b.xlsx
"""


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0,
                    reason="needs unshare and root for a private tmpfs")
def test_a_really_full_disk_is_one_line_for_every_output(tmp_path):
    """A 64 KiB tmpfs with one 4 KiB page free: each output (results, figure, report, Excel budget
    table) fails part-way with the library's own error; each ends with one line and status 2,
    keeps the previous file and leaves no temporary file (the Excel writer's zip archive once
    printed a traceback at exit after the line). The four commands run at once, each in its own
    process; their lines are read in order."""
    import base64

    full, elsewhere = tmp_path / "full", tmp_path / "elsewhere"
    full.mkdir()
    elsewhere.mkdir()
    script = FULL_DISK_SCRIPT.format(full=full, elsewhere=elsewhere, python=sys.executable)
    res = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, timeout=600)
    lines = res.stdout.splitlines()
    assert res.returncode == 0 and len(lines) == 6, (res.stdout, res.stderr)
    for line in lines[:4]:
        code, err = line.split()
        err = base64.b64decode(err).decode()
        assert code == str(EXIT_USAGE) and err.count("\n") == 1, err
        assert err.startswith("sibsim: error: cannot write the results: [Errno 28] No space "
                              "left on device"), err
    assert lines[4] == "b.xlsx f.png filler o.nc r.html"  # no temporary file left
    assert lines[5] == "previous" * 4  # every previous file intact


def test_an_interrupt_inside_a_write_leaves_no_temporary_file(tmp_path):
    out = tmp_path / "r.nc"
    out.write_bytes(b"previous")
    with pytest.raises(KeyboardInterrupt), atomic_output(out) as tmp:
        Path(tmp).write_bytes(b"partial")
        raise KeyboardInterrupt
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]


# ------------------------------------------------------------------ several outputs together
def _run_all_outputs(capsys, folder: Path) -> tuple[int, str, str]:
    return run_cli(capsys, "run", "peterborough", "--draws", "20", "--no-progress",
                   "--out", str(folder / "o.nc"), "--figure", str(folder / "o.png"),
                   "--budget", str(folder / "o.csv"), "--report", str(folder / "o.html"))


@pytest.mark.parametrize("fault", ["interrupt", "terminate", "disk full"])
def test_a_command_stopped_between_its_files_writes_none_of_them(tmp_path, capsys,
                                                                  monkeypatch, fault):
    """The results file, the figure and the budget table are written before the council
    report: a stop while writing the report leaves every earlier file as it was, not a mix of
    new and old files."""
    import sibsim.cli
    import sibsim.council

    (tmp_path / "o.nc").write_bytes(b"previous results")
    (tmp_path / "o.csv").write_bytes(b"previous budget")
    errors = {"interrupt": KeyboardInterrupt, "terminate": sibsim.cli._Terminated,
              "disk full": lambda: OSError(errno.ENOSPC, "No space left on device")}

    def stopped(*args, **kwargs):
        raise errors[fault]()

    monkeypatch.setattr(sibsim.council, "write_council_report", stopped)
    code, _, err = _run_all_outputs(capsys, tmp_path)
    assert code == {"interrupt": EXIT_INTERRUPTED, "terminate": EXIT_TERMINATED,
                    "disk full": EXIT_USAGE}[fault]
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    if fault != "disk full":
        assert err.strip().endswith("nothing was written")
    assert (tmp_path / "o.nc").read_bytes() == b"previous results"
    assert (tmp_path / "o.csv").read_bytes() == b"previous budget"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.csv", "o.nc"]  # no temporary file


def test_a_command_that_finishes_puts_every_file_in_place(tmp_path, capsys):
    (tmp_path / "o.nc").write_bytes(b"previous results")
    code, _, err = _run_all_outputs(capsys, tmp_path)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.csv", "o.html", "o.nc", "o.png"]
    assert sibsim.open_results(tmp_path / "o.nc").money.sizes["draw"] == 20
    assert (tmp_path / "o.png").read_bytes()[:4] == b"\x89PNG"


@pytest.fixture
def ctrl_c_as_in_a_terminal():
    """SIGINT at Python's default (KeyboardInterrupt) for one test, as in a terminal, then
    back to what it was: a test runner started with SIGINT ignored (``cmd &`` in a script
    without job control, a background CI step) inherits "ignore", and a SIGINT sent to this
    process would then do nothing (see :func:`_as_in_a_terminal` for the subprocesses)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _sigint_at_the_first_rename(monkeypatch) -> list:
    """Send this process SIGINT while the first output is renamed into place; the list of
    destinations renamed fills as the renames happen (use with ``ctrl_c_as_in_a_terminal``)."""
    from sibsim.dataset import io

    replace, calls = os.replace, []

    def replace_and_signal(src, dst):
        calls.append(dst)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)
        replace(src, dst)

    monkeypatch.setattr(io.os, "replace", replace_and_signal)
    return calls


def test_a_signal_while_the_files_are_put_in_place_waits_until_all_are(tmp_path, monkeypatch,
                                                                      ctrl_c_as_in_a_terminal):
    """SIGINT arriving during the renames is held back until every file is in place, then
    raised: the files are all new, and the set says so."""
    from sibsim.dataset import io

    calls = _sigint_at_the_first_rename(monkeypatch)
    outputs = io.OutputSet()
    with pytest.raises(KeyboardInterrupt):
        with outputs.deferring():
            for name in ("a.txt", "b.txt", "c.txt"):
                with atomic_output(tmp_path / name) as tmp:
                    Path(tmp).write_text(name)
            assert not list(tmp_path.glob("[abc].txt"))  # nothing in place before the end
        time.sleep(0.1)  # the held-back signal is handled at the next bytecode
    assert outputs.committed and len(calls) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt", "c.txt"]
    assert [(tmp_path / n).read_text() for n in ("a.txt", "b.txt", "c.txt")] == [
        "a.txt", "b.txt", "c.txt"]


def test_ctrl_c_while_the_files_are_put_in_place_says_they_were_written(
        tmp_path, capsys, monkeypatch, ctrl_c_as_in_a_terminal):
    calls = _sigint_at_the_first_rename(monkeypatch)
    code, _, err = _run_all_outputs(capsys, tmp_path)
    assert code == EXIT_INTERRUPTED and len(calls) == 4
    assert err.strip().splitlines()[-1] == (
        "sibsim: interrupted (Ctrl-C); it came after every output was written")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.csv", "o.html", "o.nc", "o.png"]


def test_an_output_that_cannot_be_put_in_place_removes_the_others(tmp_path, monkeypatch):
    from sibsim.dataset import io

    replace = os.replace

    def fails_second(src, dst):
        if Path(dst).name == "b.txt":
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        replace(src, dst)

    monkeypatch.setattr(io.os, "replace", fails_second)
    outputs = io.OutputSet()
    with pytest.raises(io.OutputPlacementError, match=r"b\.txt"), outputs.deferring():
        for name in ("a.txt", "b.txt", "c.txt"):
            with atomic_output(tmp_path / name) as tmp:
                Path(tmp).write_text(name)
    assert not outputs.committed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]  # no temporary file left


# ------------------------------------------------------------------ signals
def _as_in_a_terminal() -> None:
    """Start the child with Ctrl-C at its default disposition, as a command typed in a terminal
    is. A process started with SIGINT ignored (``nohup``, or ``cmd &`` in a script without job
    control) inherits that, and Python then leaves SIGINT ignored: by Unix convention the
    command keeps ignoring it. Without this reset the signal tests would pass or fail with how
    the test runner itself was started (a background CI step ignores SIGINT)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run_cli(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sibsim", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=cwd, preexec_fn=_as_in_a_terminal)


def test_a_command_started_with_ctrl_c_ignored_keeps_ignoring_it():
    """The convention the reset above relies on: an inherited 'ignore SIGINT' survives into
    Python, and a default one becomes KeyboardInterrupt."""
    probe = "import signal; print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)"

    def ignoring() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    def run(pre) -> str:
        return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              preexec_fn=pre, check=True).stdout.strip()

    assert run(ignoring) == "True"
    assert run(_as_in_a_terminal) == "False"


def _wait_until_simulating(proc: subprocess.Popen) -> str:
    """Read standard error until the progress bar reports draws done ("draws N/" with N > 0):
    the simulation is under way (kernels compiled or loaded from the cache), so the signal
    arrives during the run, not during the imports or the bar's first drawing."""
    seen = b""
    while re.search(rb"draws [1-9][\d,]*/", seen) is None:
        byte = proc.stderr.read(1)
        if not byte:
            raise AssertionError(f"the run ended before reporting progress: {seen!r}")
        seen += byte
    return seen.decode()


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code", "words"), [
    (signal.SIGINT, EXIT_INTERRUPTED, "interrupted"),
    (signal.SIGTERM, EXIT_TERMINATED, "terminated"),
])
def test_a_signal_stops_the_run_with_one_line_and_keeps_the_previous_file(tmp_path, sig, code,
                                                                          words):
    out = tmp_path / "r.nc"
    out.write_bytes(b"previous results")
    proc = _run_cli(["run", "peterborough", "--draws", "2000000", "--out", str(out),
                     "--progress"], tmp_path)
    first = _wait_until_simulating(proc)
    t0 = time.perf_counter()
    proc.send_signal(sig)
    try:
        _, rest = proc.communicate(timeout=120)
    finally:
        proc.kill()
    err = first + rest.decode()
    assert proc.returncode == code, err
    assert time.perf_counter() - t0 < 30  # stops promptly, not at the end of the run
    lines = [ln for ln in err.replace("\r", "\n").splitlines()
             if ln.strip() and not ln.strip().startswith("draws")]  # progress reports
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in err, repr(err)
    assert out.read_bytes() == b"previous results"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]


BIG_COHORT = """
name = "big"
horizon = 10
[cohort]
size = 2000000
[comparison]
ratio = 1
[outcome]
kind = "binary"
probability = 0.2
[effect]
measure = "rr"
value = 0.9
"""


def test_individual_engine_kernel_calls_are_short():
    """The individual engine works in slices of at most ~1e8 person-periods per kernel call
    (one draw at least), whatever the cohort, so a signal is seen between slices."""
    import tomllib

    from sibsim.engine.run import _SLICE_PERSON_PERIODS, interrupt_chunk
    from sibsim.scenario_file import parse_scenario

    sc = parse_scenario(tomllib.loads(BIG_COHORT)).scenario
    people_periods = 2 * 2_000_000 * 10
    chunk = interrupt_chunk(sc, "individual")
    assert chunk == _SLICE_PERSON_PERIODS // people_periods
    assert chunk * people_periods <= _SLICE_PERSON_PERIODS
    assert interrupt_chunk(sc, "aggregate") == 65536  # its work does not grow with the cohort
    huge = dataclasses.replace(sc, cohort=dataclasses.replace(sc.cohort, size=10**9, entry=None))
    assert interrupt_chunk(huge, "individual") == 1


@pytest.mark.slow
def test_ctrl_c_stops_a_long_individual_run_within_about_a_second(tmp_path):
    """Without slicing, these 200 draws of 4 million people are one kernel call of ~10 s or
    more; Ctrl-C must stop it within about a second (a few on a loaded 2-core CI machine)."""
    src = tmp_path / "big.toml"
    src.write_text(BIG_COHORT)
    out = tmp_path / "r.nc"
    proc = _run_cli(["run", str(src), "--draws", "200", "--engine", "individual", "--out",
                     str(out), "--progress"], tmp_path)
    first = _wait_until_simulating(proc)
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    try:
        _, rest = proc.communicate(timeout=120)
    finally:
        proc.kill()
    latency = time.perf_counter() - t0
    err = first + rest.decode()
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert latency < 4.0, f"stopped {latency:.1f} s after Ctrl-C"
    assert "Traceback" not in err and not out.exists()


# ------------------------------------------------------------------ read-only installation
def test_numba_cache_falls_back_when_nothing_is_writable(monkeypatch):
    import numba
    from numba.core import dispatcher

    import sibsim._numba_cache as nc

    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    monkeypatch.setattr(nc, "writable", lambda folder: False)
    monkeypatch.setattr(dispatcher.Dispatcher, "enable_caching",
                        dispatcher.Dispatcher.enable_caching)
    assert nc.configure() == "none"
    monkeypatch.setattr(nc, "writable", lambda folder: "sibsim-numba-cache" in str(folder))
    monkeypatch.setenv("NUMBA_CACHE_DIR", "")
    assert nc.configure() == "temporary"
    assert "sibsim-numba-cache" in numba.config.CACHE_DIR


@pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0,
                    reason="needs unshare and root for a private read-only mount")
def test_import_works_from_a_read_only_installation_and_home(tmp_path):
    pkg, home = tmp_path / "site", tmp_path / "home"
    home.mkdir()
    shutil.copytree(ROOT / "src" / "sibsim", pkg / "sibsim",
                    ignore=shutil.ignore_patterns("__pycache__"))
    script = (f"mount --bind -o ro {pkg} {pkg} && mount --bind -o ro {home} {home} && "
              f"{sys.executable} -c 'import sibsim, sibsim._numba_cache as c; "
              "import sibsim._mpl_config as m, matplotlib.pyplot as plt; "
              "print(c.CHOICE, m.CHOICE, float(sibsim.npv(0.1, [[-100.0, 110.0]])[0]))'")
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(pkg)}
    for name in ("NUMBA_CACHE_DIR", "MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        env.pop(name, None)
    res = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                         env=env, timeout=600)
    assert res.returncode == 0, res.stderr
    # a numba kernel (the NPV's, quick to compile) compiled into the temporary cache and ran
    choice, mpl_choice, value = res.stdout.split()
    assert choice == "temporary" and abs(float(value)) < 1e-12
    # matplotlib too: no "mkdir -p failed" / "created a temporary cache directory" lines
    assert mpl_choice == "temporary" and res.stderr == "", res.stderr


def test_matplotlib_s_folder_is_left_alone_when_the_home_is_writable(tmp_path, monkeypatch):
    import sibsim._mpl_config as m

    monkeypatch.delenv("MPLCONFIGDIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert m.configure() == "home" and "MPLCONFIGDIR" not in os.environ
    assert list(tmp_path.iterdir()) == []  # judged without creating anything
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mine"))
    assert m.configure() == "user" and os.environ["MPLCONFIGDIR"] == str(tmp_path / "mine")
    monkeypatch.delenv("MPLCONFIGDIR")
    (tmp_path / "config").write_text("a file where the folder should be")
    assert m.configure() == "temporary"
    assert os.environ["MPLCONFIGDIR"].endswith(f"sibsim-matplotlib-{os.getuid()}")
