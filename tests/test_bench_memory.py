"""The memory benchmark records what it measured: the commit checked out when the run starts,
and whether the library held uncommitted changes (benchmarks/results/memory.json once carried a
figure without its commit, found only through git log)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_memory.py"
_spec = importlib.util.spec_from_file_location("bench_memory", _PATH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_the_run_records_the_commit_and_changes_of_the_library(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")

    def git(*args):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                              cwd=tmp_path, capture_output=True, text=True,
                              check=True).stdout.strip()

    git("init", "-q")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "m.py").write_text("x = 1\n")
    git("add", ".")
    git("commit", "-qm", "one")
    head = git("rev-parse", "--short", "HEAD")
    assert bench.checkout_state(tmp_path) == {"measured_commit": head,
                                              "uncommitted_changes": False}
    (tmp_path / "notes.txt").write_text("not the library")
    assert bench.checkout_state(tmp_path)["uncommitted_changes"] is False
    (tmp_path / "src" / "m.py").write_text("x = 2\n")
    assert bench.checkout_state(tmp_path) == {"measured_commit": head,
                                              "uncommitted_changes": True}


def test_the_checkout_is_this_repository():
    if shutil.which("git") is None or not (bench.ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    assert (bench.ROOT / "src" / "sibsim").is_dir()
    assert bench.checkout_state(bench.ROOT)["measured_commit"]
