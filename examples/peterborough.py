# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: title,-all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
# ---

# %% [markdown]
# # The Peterborough prison SIB, end to end
#
# The built-in `peterborough` scenario is calibrated from the public terms of the first Social
# Impact Bond (see `src/sibsim/scenarios/peterborough.toml` for sources and assumptions).
# This script (also runnable cell by cell in a notebook) runs the same analysis as the README's
# main job through the Python API: outcomes -> money -> metrics -> break-even -> figure.
#
#     python examples/peterborough.py [--draws 10000] [--seed 1]

# %%
import argparse
import os
from pathlib import Path

import sibsim
from sibsim.analysis.summary import summarise
from sibsim.plots import save_figure, sib_summary_figure
from sibsim.report import analyse, describe
from sibsim.scenario_file import load_scenario

parser = argparse.ArgumentParser(description="Peterborough SIB analysis")
# SIBSIM_EXAMPLE_DRAWS: fewer draws (the test suite runs every notebook quickly)
parser.add_argument("--draws", type=int,
                    default=int(os.environ.get("SIBSIM_EXAMPLE_DRAWS", 10_000)))
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--out", type=Path, default=Path("results/examples"))
args, _ = parser.parse_known_args()

# %% The scenario: a specification object, validated at construction
deal = load_scenario("peterborough")           # a sibsim.Deal: outcome scenario + money terms
scenario = deal.scenario
print(scenario.cohort, scenario.outcome, scenario.effect, deal.contract, sep="\n")

# %% Simulate and analyse (the seed alone fixes every number below)
res = analyse(deal, draws=args.draws, seed=args.seed)
print(describe(res, deal))

# %% Labelled results: every dataset has a draw dimension
print(summarise(res.investors[["irr_annual", "moic", "loss"]]).sel(investor="all").to_pandas())
print(summarise(res.municipality[["npv_net_savings", "bcr", "net_loss"]]).to_pandas())

# %% Files: one netCDF file with a group per step, and the summary figure
args.out.mkdir(parents=True, exist_ok=True)
res.to_netcdf(args.out / "peterborough.nc")
fig = sib_summary_figure(res.money, res.investors, res.municipality, be=res.breakeven,
                         curve=res.breakeven, title="Peterborough prison SIB")
save_figure(fig, args.out / "peterborough.png")
print("written", args.out / "peterborough.nc", args.out / "peterborough.png",
      "with sibsim", sibsim.__version__)
