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
# # Which price, threshold and cap should the commissioner offer?
#
# `sibsim.design` searches a contract's free terms on one set of outcome draws (common random
# numbers, so variants differ only through their terms), checks each variant against the
# constraints, and returns the feasible set and the Pareto frontier of the commissioner's
# expected net savings against the investors' expected return. `sibsim.compare` sets two
# options side by side with paired differences and their Monte Carlo standard errors.
#
# `SIBSIM_EXAMPLE_DRAWS` sets fewer draws (the test suite runs every notebook quickly).

# %%
import os

import sibsim
from sibsim.analysis.design import describe_comparison

DRAWS = int(os.environ.get("SIBSIM_EXAMPLE_DRAWS", 2000))
deal = sibsim.load_scenario("peterborough")

# %% [markdown]
# ## The search: prices per reconviction event avoided, and the total cap
# Peterborough pays each cohort on its own (`rule`) and, at the end, on all cohorts pooled
# (`pooled_rule`, which pays what the pooled result is worth minus what was already paid): a
# lower cohort price alone is largely made up by the pooled payment, so both prices vary.

# %%
res = sibsim.design(
    deal,
    grid={"contract.terms[0].rule.price": [7_500.0, 10_000.0, 12_500.0],
          "contract.terms[0].pooled_rule.price": [7_500.0, 10_000.0, 12_500.0],
          "contract.caps.total": [8e6, 13e6]},
    constraints={"investor_loss_probability_max": 0.5,
                 "commissioner_loss_probability_max": 0.6},
    draws=DRAWS, seed=1)
print(res.describe())

# %%
ax = res.plot()

# %% [markdown]
# ## Two options compared on the same draws

# %%
cheaper = deal.with_values({"contract.terms[0].rule.price": 10_000.0,
                            "contract.terms[0].pooled_rule.price": 10_000.0})
cmp = sibsim.compare([deal, cheaper], names=["GBP 12,500 an event (as assumed)", "GBP 10,000"],
                     draws=DRAWS, seed=1, progress=False)
print(describe_comparison(cmp))
