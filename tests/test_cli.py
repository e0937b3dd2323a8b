"""The ``sibsim`` command line, in process and as ``python -m sibsim``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import xarray as xr

import sibsim
from sibsim.cli import main
from sibsim.scenario_file import load_scenario

pytestmark = pytest.mark.usefixtures("warm_kernels")

GOOD = """
    name = "tiny"
    horizon = 3
    [cohort]
    size = 20
    [comparison]
    ratio = 1
    [outcome]
    kind = "binary"
    probability = 0.3
    [effect]
    value = 0.8
"""


def write(tmp_path: Path, text: str, name: str = "scen.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_help_explains_the_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: sibsim" in out and "Monte Carlo" in out
    assert "run" in out and "scenarios" in out and "run --help" in out


def test_run_help_explains_the_options(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for word in ("SCENARIO", "--draws", "--seed", "--out", "--engine", "--no-progress",
                 "netCDF", "built-in"):
        assert word in out, word


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: sibsim" in capsys.readouterr().out


def test_scenarios_lists_builtins(capsys):
    assert main(["scenarios"]) == 0
    assert "peterborough" in capsys.readouterr().out


def outcomes(path: Path) -> xr.Dataset:
    """The outcome dataset of a results file: the root, or its 'outcomes' group when the
    scenario has money terms and the file holds one group per part of the analysis."""
    tree = xr.open_datatree(path, engine="netcdf4")
    try:
        node = tree["outcomes"] if "outcomes" in tree.children else tree
        return node.to_dataset().load()
    finally:
        tree.close()


def test_run_peterborough_writes_netcdf_and_summary(tmp_path, capsys, strip_created):
    out = tmp_path / "deep" / "pb.nc"
    code = main(["run", "peterborough", "--draws", "20", "--seed", "3", "--out", str(out),
                 "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert out.exists()
    text = captured.out
    assert "peterborough" in text and "20 draws" in text and "seed 3" in text
    assert f"Results written to {out}" in text
    ds = outcomes(out)
    assert ds.attrs["seed"] == 3 and ds.attrs["draws"] == 20 and ds.sizes["draw"] == 20
    assert ds.attrs["engine"] == "aggregate" and ds.attrs["scenario"] == "peterborough"
    same = sibsim.simulate(load_scenario("peterborough"), draws=20, seed=3, progress=False)
    xr.testing.assert_identical(strip_created(ds), strip_created(same))


def test_run_a_file_with_engine_and_default_output(tmp_path, monkeypatch, capsys):
    path = write(tmp_path, GOOD)
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(path), "--draws", "4", "--engine", "expected", "--no-progress"]) == 0
    ds = sibsim.open_dataset(tmp_path / "results" / "tiny.nc")
    assert ds.attrs["engine"] == "expected" and ds.attrs["seed"] == 0
    text = capsys.readouterr().out
    assert "Scenario 'tiny': 4 draws" in text
    assert "treatment" in text and "comparison" in text and "events per 100 people" in text
    assert "observed reduction" in text


BAD_FILES = [
    # (file text or None for a missing file, words the message must contain)
    (GOOD.replace("horizon = 3", "horizon = 3\nhorizn = 4"), ["'horizn'", "unknown key"]),
    (GOOD.replace("probability = 0.3", "probability = 1.5"),
     ["'outcome'", "BinaryOutcome.probability", "1.5"]),
    (GOOD.replace("value = 0.8", 'value = {dist = "weibull"}'), ["'effect.value.dist'"]),
    (GOOD.replace("size = 20", 'size = "twenty"'), ["'cohort'", "Cohort.size"]),
    ("horizon = \n[cohort", ["not valid TOML"]),
    (None, ["no such file"]),
]


@pytest.mark.parametrize(("text", "words"), BAD_FILES,
                         ids=["unknown-key", "bad-value", "bad-dist", "wrong-type",
                              "invalid-toml", "missing"])
def test_bad_scenario_file_exits_2_and_writes_nothing(tmp_path, capsys, text, words):
    path = tmp_path / "bad.toml"
    if text is not None:
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    out = tmp_path / "out.nc"
    code = main(["run", str(path), "--draws", "3", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("sibsim: error: ") and str(path) in err
    for word in words:
        assert word in err, (word, err)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["bad.toml"] if text else [])


@pytest.mark.parametrize(("flag", "value"), [("--draws", "0"), ("--seed", "-1")])
def test_bad_numbers_exit_2(tmp_path, capsys, flag, value):
    out = tmp_path / "out.nc"
    assert main(["run", "peterborough", flag, value, "--out", str(out)]) == 2
    assert flag in capsys.readouterr().err
    assert not out.exists()


def test_unknown_engine_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "peterborough", "--engine", "fast"])
    assert info.value.code == 2
    assert "--engine" in capsys.readouterr().err


def test_unwritable_output_is_a_clean_error(tmp_path, capsys):
    """Bug: an --out that cannot be written (here: an existing folder) escapes as a traceback
    (IsADirectoryError, exit status 1) instead of 'sibsim: error: ...' with status 2."""
    folder = tmp_path / "a_folder"
    folder.mkdir()
    code = main(["run", str(write(tmp_path, GOOD)), "--draws", "2", "--out", str(folder),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("sibsim: error: ") and str(folder) in err
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_no_progress_silences_the_progress_report(tmp_path, monkeypatch, capsys):
    path = write(tmp_path, GOOD)
    # pretend standard error is a terminal, where progress is shown by default
    monkeypatch.setattr("sibsim.engine.progress.interactive", lambda: True)
    assert main(["run", str(path), "--draws", "5", "--out", str(tmp_path / "a.nc")]) == 0
    shown = capsys.readouterr().err
    assert "draws 5/5" in shown
    assert main(["run", str(path), "--draws", "5", "--out", str(tmp_path / "b.nc"),
                 "--no-progress"]) == 0
    assert capsys.readouterr().err == ""


def _env() -> dict:
    env = dict(os.environ)
    src = str(Path(sibsim.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    return env


def test_python_dash_m_sibsim(tmp_path):
    out = tmp_path / "pb.nc"
    res = subprocess.run([sys.executable, "-m", "sibsim", "run", "peterborough", "--draws", "5",
                          "--seed", "1", "--out", str(out), "--no-progress"],
                         capture_output=True, text=True, env=_env(), timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    assert "peterborough" in res.stdout and "5 draws" in res.stdout
    assert outcomes(out).attrs["seed"] == 1
    bad = write(tmp_path, GOOD.replace("horizon = 3", "horizon = 3\nhorizn = 4"))
    res = subprocess.run([sys.executable, "-m", "sibsim", "run", str(bad), "--out",
                          str(tmp_path / "no.nc")],
                         capture_output=True, text=True, env=_env(), timeout=300, check=False)
    assert res.returncode == 2
    assert "'horizn'" in res.stderr and str(bad) in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "no.nc").exists()


def test_version_is_printed(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"sibsim {sibsim.__version__}"


def test_scenarios_lists_names_and_descriptions_in_columns(capsys):
    import tomllib

    from sibsim.scenario_file import builtin_scenarios

    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    builtins = builtin_scenarios()
    assert [line.split()[0] for line in lines] == sorted(builtins)
    starts = set()
    for line, name in zip(lines, sorted(builtins), strict=True):
        desc = tomllib.loads(builtins[name].read_text(encoding="utf-8"))["description"]
        assert line.endswith(desc) and str(builtins[name]) not in line
        starts.add(line.index(desc))
    assert len(starts) == 1  # descriptions start in one column


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly():
    """``sibsim scenarios | head -1``: the reader closes the pipe before the list is written;
    the command ends with status 141 (128 + SIGPIPE) and no traceback."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "sibsim", "scenarios"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before anything is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
