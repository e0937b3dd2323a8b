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
# # Utah High Quality Preschool: a tiered savings share against a predicted counterfactual
#
# With no control group, payments rest on a *predicted* number of special-education years. If the
# prediction overstates what would have happened, the commissioner pays for "avoided" years that
# were never going to happen. We vary the predicted counterfactual and watch the commissioner's
# probability of paying more than it saves.
#
#     python examples/utah_preschool.py [--draws 3000]

# %%
import argparse
import dataclasses
import os

from sibsim.money.evaluation import Historical
from sibsim.report import analyse
from sibsim.scenario_file import load_scenario
from sibsim.spec import Gamma

parser = argparse.ArgumentParser()
# SIBSIM_EXAMPLE_DRAWS: fewer draws (the test suite runs every notebook quickly)
parser.add_argument("--draws", type=int,
                    default=int(os.environ.get("SIBSIM_EXAMPLE_DRAWS", 3_000)))
parser.add_argument("--seed", type=int, default=1)
args, _ = parser.parse_known_args()

deal = load_scenario("utah-preschool")
ev = deal.evaluations[0]

# %%
for predicted in (2.1, 2.5, 2.8, 3.2):
    ev2 = dataclasses.replace(ev, design=Historical(Gamma.from_mean_sd(predicted, 0.1)))
    res = analyse(deal.replace(evaluations=(ev2,)), draws=args.draws, seed=args.seed,
                  with_breakeven=False)
    print(f"predicted special-education years per child {predicted:.1f}: "
          f"P(commissioner net loss) = {float(res.municipality['net_loss'].mean()):.1%}, "
          f"P(investor loss) = {float(res.investors['loss'].sel(investor='all').mean()):.1%}, "
          "mean outcome payments = USD "
          f"{float(res.money['outcome_payments'].sum('period').mean()) / 1e6:.2f}M")
