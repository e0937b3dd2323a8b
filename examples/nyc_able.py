# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
# ---

# %% [markdown]
# # NYC ABLE (Rikers Island): a step schedule and a first-loss guarantee
#
# The lender (USD 9.6M) is paid by a step schedule on the measured reduction in jail days;
# Bloomberg Philanthropies guarantees USD 7.2M of its principal. How much does the guarantee
# change the lender's risk? We run the built-in scenario twice, with and without the guarantee,
# on the same seed (common random numbers), so the difference is the guarantee alone.
#
#     python examples/nyc_able.py [--draws 5000]

# %%
import argparse
import dataclasses
import os

from sibsim.report import analyse
from sibsim.scenario_file import load_scenario

parser = argparse.ArgumentParser()
# SIBSIM_EXAMPLE_DRAWS: fewer draws (the test suite runs every notebook quickly)
parser.add_argument("--draws", type=int,
                    default=int(os.environ.get("SIBSIM_EXAMPLE_DRAWS", 5_000)))
parser.add_argument("--seed", type=int, default=1)
args, _ = parser.parse_known_args()

deal = load_scenario("nyc-able")
no_guarantee = deal.replace(
    capital=dataclasses.replace(deal.capital, guarantee=None))

# %%
for label, d in (("with the guarantee", deal), ("without it", no_guarantee)):
    res = analyse(d, draws=args.draws, seed=args.seed, with_breakeven=False)
    inv = res.investors.sel(investor="senior")
    print(f"Lender {label}: P(loss) = {float(inv['loss'].mean()):.1%}, "
          f"mean money multiple = {float(inv['moic'].mean()):.2f}, "
          f"worst money multiple = {float(inv['moic'].min()):.2f}")
