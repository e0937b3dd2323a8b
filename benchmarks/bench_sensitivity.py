"""Time the one-way tornado: 20 uncertain inputs over 10,000 draws (issue 8, section 8 key
``tornado_20_inputs_1e4_draws_s``, target <= 5 s on the 2-core machine).

The deal is Koto-SIB (a 4-state Markov employment scenario, 3 payers) with 19 money
assumptions given distributions (each payer's saving per event, its savings and wider value
per person-period in training and in job seeking, its own costs, and the service's cost per
participant) and its
uncertain effect: 20 inputs, 40 ends. Money inputs re-use the outcome draws; the effect
re-runs the outcomes. Writes ``benchmarks/results/sensitivity.json``.

    PYTHONPATH=src python benchmarks/bench_sensitivity.py [--draws 10000]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from dataclasses import replace
from pathlib import Path

import sibsim

OUT = Path(__file__).resolve().parent / "results" / "sensitivity.json"


def deal_with_20_inputs() -> sibsim.Deal:
    deal = sibsim.load_scenario("koto-sib")
    gamma = sibsim.Gamma.from_mean_sd
    payers = []
    for p in deal.payers:
        save = {s: gamma(max(x, 100.0), 0.15 * max(x, 100.0))
                for s, x in p.saving_per_person_period.items()}
        wider = {s: gamma(300.0, 60.0) for s in ("training", "jobseeking")}
        payers.append(replace(p, saving_per_person_period=save,
                              saving_per_event=gamma(1_000.0, 200.0),
                              wider_value_per_person_period=wider,
                              other_costs_per_period=sibsim.Uniform(0.0, 2_000.0)))
    return deal.replace(payers=tuple(payers), service_costs=replace(
        deal.service_costs, per_participant=sibsim.Triangular(400.0, 500.0, 700.0)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=10_000)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    deal = deal_with_20_inputs()
    inputs = list(deal.uncertain_inputs())
    sibsim.tornado(deal, draws=50, seed=1, inputs=inputs[:2])  # compile outside the timing
    start = time.perf_counter()
    t = sibsim.tornado(deal, output="investor_mean_irr", draws=args.draws, seed=1)
    seconds = time.perf_counter() - start
    out = {"tornado_inputs": int(t.sizes["input"]), "draws": args.draws,
           f"tornado_{t.sizes['input']}_inputs_{args.draws:.0e}_draws_s".replace("+0", ""):
           round(seconds, 2)}
    print(json.dumps(out, indent=2))
    OUT.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
