"""The sampling arithmetic of benchmarks/bench_mutation.py (``--sample``): the draw of mutants,
the Wilson interval of a module's killed share, and the stratified estimate over modules,
checked against closed forms. (The mutation runs themselves are too slow for the suite.)"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_mutation.py"
_spec = importlib.util.spec_from_file_location("bench_mutation", _PATH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval, written out (Wilson 1927; Agresti & Coull 1998)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize(("k", "n"), [(40, 40), (36, 40), (0, 10), (7, 9), (500, 1000)])
def test_wilson_interval_is_the_closed_form(k, n):
    low, high = bench.wilson_interval(k, n)
    expected = _wilson(k, n)
    assert low == pytest.approx(expected[0], abs=1e-4)
    assert high == pytest.approx(expected[1], abs=1e-4)
    assert bench.wilson_interval(0, 0) is None


def test_the_sample_is_the_same_for_the_same_seed_and_a_subset_of_the_mutants():
    names = [f"m{i}" for i in range(200)]
    a = bench.draw_sample(names, 40, 1)
    assert a == bench.draw_sample(list(reversed(names)), 40, 1)  # the names' order is no matter
    assert len(set(a)) == 40 and set(a) <= set(names)
    assert a != bench.draw_sample(names, 40, 2)
    assert bench.draw_sample(names[:5], 40, 1) == sorted(names[:5])


def test_the_sample_is_uniform():
    # each of 10 names is drawn with probability 3/10: over 2,000 seeds, 600 draws each
    names = [str(i) for i in range(10)]
    counts = dict.fromkeys(names, 0)
    for seed in range(2000):
        for n in bench.draw_sample(names, 3, seed):
            counts[n] += 1
    sd = math.sqrt(2000 * 0.3 * 0.7)  # binomial standard error of one name's count
    assert all(abs(c - 600) < 4.5 * sd for c in counts.values()), counts


def _row(mutants, checked, killed, sampled=True):
    return {"module": f"src/sibsim/m{mutants}.py", "mutants": mutants, "checked": checked,
            "counts": {"killed": killed, "survived": checked - killed}, "survivors": [],
            **({"sampled": True} if sampled else {})}


def test_stratified_estimate_weights_each_module_by_its_mutants():
    share, (low, high) = bench.stratified_share([_row(400, 40, 36), _row(100, 40, 40)])
    assert share == pytest.approx(0.8 * 0.9 + 0.2 * 1.0)
    assert low < share < high <= 1.0
    # a module checked in full has no sampling error
    whole, (lo, hi) = bench.stratified_share([_row(30, 30, 27)])
    assert whole == lo == hi == pytest.approx(0.9)


def test_results_file_keeps_the_full_runs_and_the_samples_apart(tmp_path):
    out = tmp_path / "mutation.json"
    rows = {"a": bench._shares(_row(100, 100, 95, sampled=False)),
            "b": bench._shares(_row(400, 40, 36))}
    bench._write(out, rows)
    report = json.loads(out.read_text())
    assert report["exhaustive"]["checked"] == 100 and report["exhaustive"]["killed"] == 95
    assert report["sampled"]["modules"] == 1 and report["sampled"]["mutants"] == 400
    assert report["sampled"]["killed_share"] == 0.9
    assert report["sampled"]["killed_share_ci95"] == bench.wilson_interval(36, 40)
    assert report["checked"] == 140 and report["killed"] == 131
    sampled = next(r for r in report["modules"] if r.get("sampled"))
    assert sampled["killed_share_ci95"] == bench.wilson_interval(36, 40)


def test_a_sample_of_every_mutant_is_a_full_run():
    row = bench._shares({**_row(27, 27, 20), "sample_size": 27, "sample_seed": 1})
    assert "sampled" not in row and "killed_share_ci95" not in row
    assert row["killed_share"] == round(20 / 27, 4)
    assert bench._shares({**_row(28, 27, 20), "sample_size": 27})["sampled"] is True


def test_the_estimate_leaves_out_samples_cut_short_by_their_budget(tmp_path):
    out = tmp_path / "mutation.json"
    cut = {**_row(300, 8, 4), "budget_ran_out": True}
    bench._write(out, {"a": _row(400, 40, 36), "b": cut})
    sampled = json.loads(out.read_text())["sampled"]
    assert sampled["estimated_killed_share_of_all_their_mutants"] == pytest.approx(0.9)
    assert sampled["estimate_over"] == {"modules": 1, "mutants": 400}
    assert sampled["estimate_leaves_out"] == [cut["module"]]
    assert sampled["checked"] == 48  # the pooled figures keep every sample


def test_a_recheck_finds_a_renumbered_survivor_by_its_diff():
    """An edit earlier in a function renumbers its mutants: the survivor is found again by its
    diff; one whose line was edited away is reported as no longer generated."""
    recorded = {"m.x_f__mutmut_21": "-a < b\n+a <= b", "m.x_f__mutmut_3": "-x = 1\n+x = 2",
                "m.x_g__mutmut_1": "-y\n+z"}
    now = {"m.x_f__mutmut_3": "-x = 1\n+x = 2", "m.x_f__mutmut_20": "-a < b\n+a <= b",
           "m.x_f__mutmut_21": "-a < b\n+a == b", "m.x_g__mutmut_1": "-w\n+z",
           "m.x_h__mutmut_20": "-a < b\n+a <= b"}  # the same diff in another function
    run, renamed, gone = bench.match_by_diff(list(recorded), recorded, now)
    assert run == ["m.x_f__mutmut_20", "m.x_f__mutmut_3"]
    assert renamed == {"m.x_f__mutmut_21": "m.x_f__mutmut_20"} and gone == ["m.x_g__mutmut_1"]


def test_a_recheck_keeps_the_first_runs_figures(tmp_path):
    """3 survivors of a sample of 40: one killed on recheck (renumbered), one still surviving,
    one no longer generated (keeps its verdict); the first run's figures stay in the file."""
    survivors = [{"mutant": f"m.x_f__mutmut_{i}", "status": "survived", "diff": ""}
                 for i in (1, 2, 3)]
    before = bench._shares({**_row(400, 40, 37), "survivors": survivors})
    again = {"counts": {"killed": 1, "survived": 1}, "tests": [], "wall_s": 1.0,
             "budget_ran_out": False, "survivors": [survivors[1]], "not_reached": [],
             "renamed": {"m.x_f__mutmut_1": "m.x_f__mutmut_9"}, "gone": ["m.x_f__mutmut_3"]}
    row = bench.merge_recheck(before, again)
    assert row["counts"] == {"killed": 38, "survived": 2} and row["checked"] == 40
    assert [s["mutant"] for s in row["survivors"]] == ["m.x_f__mutmut_2", "m.x_f__mutmut_3"]
    assert row["rechecked"]["killed"] == ["m.x_f__mutmut_1"]
    assert row["rechecked"]["no_longer_generated"] == ["m.x_f__mutmut_3"]
    assert row["first_run"]["counts"] == before["counts"]
    out = tmp_path / "mutation.json"
    bench._write(out, {"a": row})
    sampled = json.loads(out.read_text())["sampled"]
    assert sampled["killed"] == 38 and sampled["before_recheck"]["killed"] == 37
    assert sampled["before_recheck"]["killed_share_ci95"] == bench.wilson_interval(37, 40)
    # a second recheck keeps the figures of the first run, not of the first recheck
    assert bench.merge_recheck(row, {**again, "renamed": {}, "gone": [],
                                     "counts": {"survived": 2}, "survivors": row["survivors"]}
                               )["first_run"]["counts"] == before["counts"]


def test_a_row_left_out_of_the_estimate_stays_in_the_pooled_figures(tmp_path):
    out = tmp_path / "mutation.json"
    odd = {**_row(300, 30, 30), "left_out_of_estimate": "timeouts under load"}
    bench._write(out, {"a": _row(400, 40, 36), "b": odd})
    sampled = json.loads(out.read_text())["sampled"]
    assert sampled["estimate_leaves_out"] == [odd["module"]]
    assert sampled["estimated_killed_share_of_all_their_mutants"] == pytest.approx(0.9)
    assert sampled["checked"] == 70 and sampled["killed"] == 66


def test_a_run_records_the_commit_and_changes_of_the_tree_it_copies(tmp_path):
    """A module's row names the commit checked out when its copy was made, and whether the
    copied files held uncommitted changes (a run takes minutes; HEAD may move meanwhile)."""
    import shutil
    import subprocess

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
    (tmp_path / "notes.txt").write_text("not copied")  # outside what a run copies
    assert bench.checkout_state(tmp_path)["uncommitted_changes"] is False
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_new.py").write_text("")  # a new test file is measured too
    assert bench.checkout_state(tmp_path)["uncommitted_changes"] is True
