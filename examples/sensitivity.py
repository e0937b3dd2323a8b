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
# # Which assumption matters most? Sensitivity of Koto-SIB to its uncertain inputs
#
# Koto-SIB (employment of immigrants, Finland) with three money assumptions made uncertain:
# the service cost per participant, and what Kela and the municipalities save per quarter of
# work gained (the two savings correlated 0.6: both follow the wage level). The scenario's
# evaluation has two uncertain inputs of its own (the money metric's value per unit of the
# public-finance gain, and its effect on the engaged participants): they are inputs too. Then:
#
# 1. a one-way tornado of the commissioner's expected net savings NPV;
# 2. variance-based indices from the draws already made (no new runs);
# 3. where each party loses, in plain words.
#
# `SIBSIM_EXAMPLE_DRAWS` sets fewer draws (the test suite runs every notebook quickly);
# `SIBSIM_WRITE_FIGURES=1` also writes the figures of docs/sensitivity.md.

# %%
import os
import warnings
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt

import sibsim
from sibsim.analysis.sensitivity.given_data import given_data
from sibsim.plots.sensitivity import plot_indices

DRAWS = int(os.environ.get("SIBSIM_EXAMPLE_DRAWS", 2000))
WRITE = os.environ.get("SIBSIM_WRITE_FIGURES") == "1"
OUT = Path("docs") / "figures"
warnings.simplefilter("ignore")

# %% [markdown]
# ## The deal, with uncertain money assumptions
# Every numeric money assumption accepts a distribution; a `Correlation` ties inputs together
# through a Gaussian copula on their ranks.

# %%
deal = sibsim.load_scenario("koto-sib")
state, kela, towns = deal.payers
kela_rate = sibsim.Gamma.from_mean_sd(2_481.0, 400.0)
town_rate = sibsim.Gamma.from_mean_sd(1_970.0, 400.0)
deal = deal.replace(
    service_costs=replace(deal.service_costs,
                          per_participant=sibsim.Triangular(400.0, 500.0, 700.0)),
    payers=(state,
            replace(kela, saving_per_person_period={"training": kela_rate,
                                                    "jobseeking": 2_481.0}),
            replace(towns, saving_per_person_period={"training": town_rate,
                                                     "jobseeking": 1_970.0})),
    correlation=sibsim.Correlation(
        ("payers[Kela].saving_per_person_period[training]",
         "payers[municipalities].saving_per_person_period[training]"),
        ((1.0, 0.6), (0.6, 1.0))))

# %% [markdown]
# ## One-way tornado
# Each input at its 10th and 90th percentile while the others keep their draws.

# %%
t = sibsim.tornado(deal, output="commissioner_npv_mean", draws=max(DRAWS // 2, 50), seed=1)
print(t["value"].to_pandas())
ax = sibsim.plot_tornado(t)
if WRITE:
    ax.figure.savefig(OUT / "sensitivity-tornado.png", dpi=110, bbox_inches="tight")

# %% [markdown]
# ## Variance-based indices from the draws already made

# %%
res = sibsim.analyse(deal, draws=DRAWS, seed=1, progress=False, with_breakeven=False)
s = given_data(res)
print(s["first_order"].to_pandas().T.round(3))
ax = plot_indices(s, output="commissioner_npv")
if WRITE:
    ax.figure.savefig(OUT / "sensitivity-given-data.png", dpi=110, bbox_inches="tight")
plt.close("all")

# %% [markdown]
# ## Where each party loses

# %%
for v in sibsim.where_parties_lose(res).values():
    print(v["statement"])
