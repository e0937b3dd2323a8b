"""The first and second call of a tornado and a break-even search, with and without numpy's
huge-page advice inside :func:`sibsim.analysis.heap.kept_heap` (issue 8, section 8).

numpy advises the kernel to back arrays of 4 MiB and more with transparent huge pages
(``madvise(MADV_HUGEPAGE)``). With the kernel's ``defrag`` setting at ``madvise`` the first
touch of such memory may compact memory first; on a virtual machine whose memory is fragmented
this costs more than the work. ``kept_heap`` turns the advice off while evaluations repeat,
unless ``NUMPY_MADVISE_HUGEPAGE`` is set in the environment. This script runs each case in a
fresh process (the first call in a process is what a command-line run pays), alternating:

* ``advised``: ``NUMPY_MADVISE_HUGEPAGE=1`` (numpy's default advice, kept throughout);
* ``not advised``: the variable unset (``kept_heap`` turns the advice off in its loops).

Each process prints the wall time, system CPU time and minor page faults of two calls, after a
small warm-up call (compilation). Usage::

    python benchmarks/bench_hugepages.py                 # tornado and break-even, 3 rounds
    python benchmarks/bench_hugepages.py --rounds 2 --only tornado

Writes ``benchmarks/results/hugepages.json`` (every round, and the best of each case).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

_WORKER = r"""
import json, resource, sys, time, warnings
sys.path.insert(0, sys.argv[2])
import sibsim
warnings.simplefilter("ignore")
if sys.argv[1] == "tornado":
    from bench_sensitivity import deal_with_20_inputs
    deal = deal_with_20_inputs()
    def call(draws):
        return sibsim.tornado(deal, output="commissioner_npv_mean", draws=draws, seed=1)
    small, big = 50, 10_000
else:
    from sibsim.analysis.breakeven import breakeven
    from sibsim.money.sib import counterfactual
    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal, draws=100_000, seed=1, progress=False)
    cf = counterfactual(deal, 100_000, 1)
    def call(draws):
        return breakeven(deal, ds.isel(draw=slice(0, draws)), cf=cf.isel(draw=slice(0, draws)))
    small, big = 50, 100_000
call(small)
out = []
for _ in range(2):
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    call(big)
    r1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    out.append({"wall_s": t1 - t0, "sys_s": r1.ru_stime - r0.ru_stime,
                "user_s": r1.ru_utime - r0.ru_utime, "minor_faults": r1.ru_minflt - r0.ru_minflt})
print(json.dumps(out))
"""

CASES = {"advised": {"NUMPY_MADVISE_HUGEPAGE": "1"}, "not advised": {}}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", choices=("tornado", "breakeven"), nargs="+",
                    default=["tornado", "breakeven"])
    args = ap.parse_args(argv)
    given = " ".join(sys.argv[1:] if argv is None else argv)
    res: dict = {"command": f"python benchmarks/bench_hugepages.py {given}".strip(),
                 "load_average_at_start": list(os.getloadavg())}
    try:
        thp = Path("/sys/kernel/mm/transparent_hugepage")
        res["thp_enabled"] = (thp / "enabled").read_text().strip()
        res["thp_defrag"] = (thp / "defrag").read_text().strip()
    except OSError:
        pass
    for what in args.only:
        rounds = {case: [] for case in CASES}
        for r in range(args.rounds):
            for case, extra in CASES.items():
                env = {k: x for k, x in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
                env.update(extra)
                done = subprocess.run([sys.executable, "-c", _WORKER, what, str(HERE)], env=env,
                                      capture_output=True, text=True, check=True)
                calls = json.loads(done.stdout.strip().splitlines()[-1])
                rounds[case].append(calls)
                print(f"{what:9s} round {r + 1} {case:12s} " + "  ".join(
                    f"call {i + 1}: {c['wall_s']:.2f} s (sys {c['sys_s']:.2f}, "
                    f"{c['minor_faults']:,} faults)" for i, c in enumerate(calls)), flush=True)
        res[what] = {"rounds": rounds, "best_first_call_s": {
            case: min(c[0]["wall_s"] for c in rs) for case, rs in rounds.items()},
            "best_second_call_s": {
            case: min(c[1]["wall_s"] for c in rs) for case, rs in rounds.items()}}
    res["load_average_at_end"] = list(os.getloadavg())
    path = HERE / "results" / "hugepages.json"
    path.write_text(json.dumps(res, indent=2) + "\n")
    print(f"written {path}")


if __name__ == "__main__":
    main()
