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
# # What will the municipality pay each year?
#
# Lapset-SIB I (child welfare, Finland, 2019-2030): five municipalities pay on the placement
# years avoided in their own area. For each payer and calendar year, the yearly budget gives
# the gross outcome payments (mean, median, 90th and 95th percentile), the appropriation to
# reserve at a chosen confidence, and the cashable and net savings. The same table goes into
# the plain-language summary, the results file (`budget` group) and CSV/Excel.
#
# `SIBSIM_EXAMPLE_DRAWS` sets fewer draws (the test suite runs every notebook quickly).

# %%
import os
import tempfile
from pathlib import Path

import sibsim
from sibsim.analysis.budget import write_budget_table

DRAWS = int(os.environ.get("SIBSIM_EXAMPLE_DRAWS", 2000))
deal = sibsim.load_scenario("lapset-sib-1")
res = sibsim.analyse(deal, draws=DRAWS, seed=1, progress=False, with_breakeven=False,
                     confidence=0.9)

# %% [markdown]
# ## All payers together, by calendar year

# %%
budget = res.budget
total = budget.sel(payer="all payers")
total[["gross_payments_mean", "gross_payments_p90", "appropriation",
       "net_savings_mean", "p_net_loss"]].to_dataframe().round(0)

# %% [markdown]
# ## One payer's appropriation, at 90% and 95% confidence
# The appropriation is the quantile of that payer's gross payments in the year: at 90%
# confidence, one year in ten needs more.

# %%
payer = str(budget["payer"].values[0])
b95 = sibsim.yearly_budget(res.money, deal, confidence=0.95)
print(payer)
print((budget["appropriation"].sel(payer=payer).to_series().round(0)).to_string())
print((b95["appropriation"].sel(payer=payer).to_series().round(0)).to_string())

# %% [markdown]
# ## The table for a council memo: Finnish CSV (semicolons, decimal commas) or Excel

# %%
folder = Path(tempfile.mkdtemp())
write_budget_table(budget, folder / "talousarvio.csv", lang="fi")
write_budget_table(budget, folder / "budget.xlsx", lang="en")
print((folder / "talousarvio.csv").read_text(encoding="utf-8-sig").splitlines()[:3])
