"""The two-stage estimate of benchmarks/mutation_pps.py: modules drawn with probability
proportional to their mutants, the Hansen-Hurwitz mean and its t interval, and the combined
figure with and without equivalent survivors. (The mutation runs are too slow for the suite.)"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
from scipy import stats

_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(_DIR))  # mutation_pps imports bench_mutation beside it
_spec = importlib.util.spec_from_file_location("mutation_pps", _DIR / "mutation_pps.py")
pps = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pps)


def test_modules_are_drawn_in_proportion_to_their_mutants():
    draws = pps.pps_draws({"a.py": 100, "b.py": 300, "c.py": 0}, 20_000, seed=3)
    share = draws.count("b.py") / len(draws)
    se = math.sqrt(0.75 * 0.25 / len(draws))
    assert abs(share - 0.75) < 4 * se and "c.py" not in draws
    # the same draw whatever the order the sizes are listed in
    assert (pps.pps_draws({"a.py": 1, "b.py": 2}, 5, 7)
            == pps.pps_draws({"b.py": 2, "a.py": 1}, 5, 7))


def test_estimate_is_the_mean_with_a_t_interval():
    ys = [0.8, 0.9, 1.0, 0.7]
    e = pps.estimate(ys)
    mean = sum(ys) / 4
    se = math.sqrt(sum((y - mean) ** 2 for y in ys) / 3) / 2
    t = stats.t.ppf(0.975, 3)
    assert e["killed_share"] == pytest.approx(mean)
    assert e["standard_error"] == pytest.approx(se)
    assert e["ci95"] == pytest.approx([mean - t * se, min(1.0, mean + t * se)])
    assert pps.estimate([0.5])["ci95"] is None


def _row(module, checked, survivors):
    return {"module": f"src/sibsim/{module}", "checked": checked,
            "survivors": [{"mutant": m, "equivalent": eq} for m, eq in survivors]}


def test_combine_weights_each_draw_and_leaves_out_equivalents(tmp_path):
    chosen = ["a.py", "b.py", "a.py"]
    common = {"seed": 1, "draws": 3, "per_draw": 10, "commit": "x", "sizes_commit": "x",
              "sizes": {"a.py": 50, "b.py": 25}, "chosen": chosen}
    # a.py drawn twice: one sample of 20 with 2 survivors (one equivalent), b.py 10 with 5
    parts = [dict(common, rows=[_row("a.py", 20, [("m1", None), ("m2", "same codec")])]),
             dict(common, rows=[_row("b.py", 10, [(f"n{i}", None) for i in range(5)])])]
    paths = []
    for i, p in enumerate(parts):
        paths.append(tmp_path / f"p{i}.json")
        paths[-1].write_text(json.dumps(p))
    out = tmp_path / "out.json"
    assert pps.main(["combine", *map(str, paths), "--out", str(out)]) == 0
    got = json.loads(out.read_text())
    assert got["all_survivors"]["killed_share"] == pytest.approx((0.9 + 0.5 + 0.9) / 3)
    assert got["without_equivalent"]["killed_share"] == pytest.approx(
        (18 / 19 + 0.5 + 18 / 19) / 3)
    assert got["mutants_in_all_modules"] == 75 and got["modules"] == 2


def test_combine_refuses_a_missing_part(tmp_path):
    part = {"seed": 1, "draws": 2, "per_draw": 5, "commit": "x", "sizes_commit": "x",
            "sizes": {"a.py": 1, "b.py": 1}, "chosen": ["a.py", "b.py"],
            "rows": [_row("a.py", 5, [])]}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(part))
    with pytest.raises(SystemExit):
        pps.main(["combine", str(path), "--out", str(tmp_path / "o.json")])
