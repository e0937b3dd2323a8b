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
# # From a template to a decision
#
# A council officer is asked whether to commission a child-welfare SIB. This notebook does what
# `sibsim new --template child-welfare deal.toml` and `sibsim run deal.toml` do on the command
# line, step by step, and shows where each of the council's questions is answered:
#
# 1. write the commented template and change a number;
# 2. run the analysis;
# 3. read the plain-language summary: what the municipality pays and saves, the chance it pays
#    more than it saves, what investors get, and the break-even effect;
# 4. check whether the evaluation can tell the effect from noise;
# 5. compare two prices on the same draws.
#
#     python examples/template_to_decision.py

# %%
import dataclasses
import os
import tempfile
from pathlib import Path

import numpy as np

import sibsim
from sibsim.analysis.power import detection_lines, evaluation_power
from sibsim.report import describe
from sibsim.templates import describe_templates, write_template

# SIBSIM_EXAMPLE_DRAWS: fewer draws (the test suite runs every notebook quickly)
DRAWS = int(os.environ.get("SIBSIM_EXAMPLE_DRAWS", 2000))
print(describe_templates())

# %% [markdown]
# ## 1. The template
# Every number in the file has a comment above it: what it means, and its source (Sitra's 2017
# estimate of EUR 130,000 a year for a child placed in care, the built-in Lapset-SIB scenario)
# or "Assumption". Here the municipality expects 50 children a year instead of 40: a number
# changed, the structure kept.

# %%
folder = Path(tempfile.mkdtemp())
path = write_template("child-welfare", folder / "our-deal.toml")
text = path.read_text(encoding="utf-8")
print("\n".join(text.splitlines()[30:40]))
path.write_text(text.replace("entry = [40, 40]", "entry = [50, 50]"), encoding="utf-8")
deal = sibsim.load_scenario(path)
print(deal.name, deal.start_year, deal.calendar_years())

# %% [markdown]
# ## 2-3. Run it and read the summary

# %%
res = sibsim.analyse(deal, draws=DRAWS, seed=1)
print(describe(res, deal))

# %% [markdown]
# ## 4. Can the evaluation tell the effect from noise?
# `evaluation_power` gives, for each cohort's result, the effect expected at the prior mean,
# its standard error and the probability that the contract pays. The summary above says it in
# words when the groups are too small.

# %%
print(evaluation_power(deal)[["expected_effect", "effect_sd", "power"]].to_dataframe())
print(detection_lines(deal) or "The groups are large enough to tell the assumed effect from noise.")

# %% [markdown]
# ## 5. Two prices on the same draws
# The same seed gives the same outcome draws, so the difference between two contracts is the
# contract alone (common random numbers).

# %%
for share in (0.20, 0.30, 0.40):
    term = deal.contract.terms[0]
    rule = dataclasses.replace(term.rule, tiers=((share, float("inf")),))
    contract = dataclasses.replace(deal.contract, terms=(dataclasses.replace(term, rule=rule),))
    variant = deal.replace(contract=contract)
    r = sibsim.analyse(variant, draws=DRAWS, seed=1, with_breakeven=False, progress=False)
    net_loss = float(r.municipality["net_loss"].mean())
    print(f"share of avoided costs paid {share:.0%}: "
          f"P(municipality pays more than it saves) {net_loss:.1%}, "
          f"P(investors lose) {float(r.investors['loss'].sel(investor='all').mean()):.1%}, "
          f"median IRR {np.nanmedian(r.investors['irr_annual'].sel(investor='all')):.1%}")
