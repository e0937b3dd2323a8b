"""How long ``sibsim run`` takes to stop after Ctrl-C (issue 7, §3: "within about a second").

Starts ``python -m sibsim run DEAL --draws N`` from the tree's ``src`` (``PYTHONPATH``), sends
SIGINT after ``--after`` seconds, and prints the seconds until its one-line message and until
the process has ended (the parent waits for it, so the process is reaped: a shell loop over
``kill -0`` also counts the time an unreaped process stays a zombie), its exit status, and the
files left in the output folder (none expected)::

    python benchmarks/ctrl_c_exit_time.py [--tree .] [--after 7] [--draws 60000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def once(tree: Path, deal: str, draws: int, after: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    with tempfile.TemporaryDirectory() as out:
        p = subprocess.Popen(
            [sys.executable, "-m", "sibsim", "run", deal, "--draws", str(draws), "--seed", "1",
             "--out", str(Path(out) / "x.nc")], env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
            # Ctrl-C as in a terminal (a process started from a script may inherit it ignored)
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        time.sleep(after)
        t0 = time.perf_counter()
        p.send_signal(signal.SIGINT)
        line = p.stderr.readline().strip() if p.stderr else ""
        t1 = time.perf_counter()
        status = p.wait()
        t2 = time.perf_counter()
        return {"status": status, "line_s": round(t1 - t0, 3), "exit_s": round(t2 - t0, 3),
                "line": line, "files_left": sorted(os.listdir(out))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    ap.add_argument("--deal", default="peterborough")
    ap.add_argument("--draws", type=int, default=60_000)
    ap.add_argument("--after", type=float, default=7.0, help="seconds before SIGINT")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    for _ in range(args.rounds):
        print(once(args.tree.resolve(), args.deal, args.draws, args.after), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
