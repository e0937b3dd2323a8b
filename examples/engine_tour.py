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
# # A tour of the outcome engine
#
# Three outcome processes, three engines, one seed. Shows the labelled output, the engine choice
# recorded in the attrs, and that the stochastic engines agree with the expected trace.
#
#     python examples/engine_tour.py

# %%
import os

import numpy as np

import sibsim

# SIBSIM_EXAMPLE_DRAWS: fewer draws (the test suite runs every notebook quickly)
DRAWS = int(os.environ.get("SIBSIM_EXAMPLE_DRAWS", 2000))

# %% A first-event-only binary outcome with staggered entry and two strata
binary = sibsim.Scenario(
    cohort=sibsim.Cohort(entry=(500, 500, 500),
                         strata=(sibsim.Stratum("high risk", 0.3, baseline=0.4),
                                 sibsim.Stratum("low risk", 0.7))),
    outcome=sibsim.BinaryOutcome(sibsim.Beta.from_mean_sd(0.2, 0.03), recurrent=False),
    horizon=6,
    effect=sibsim.Effect("hr", sibsim.LogNormal.from_mean_sd(0.8, 0.1), duration=2, decay=0.5,
                         engagement=0.8, dropout=0.1),
    comparison=sibsim.ComparisonGroup(ratio=2), name="binary-demo")
ds = sibsim.simulate(binary, draws=DRAWS, seed=42)
print(ds)
print("engine:", ds.attrs["engine"], "-", ds.attrs["engine_reason"])

# %% A Markov model of care placements with uncertain transition rows (Dirichlet)
markov = sibsim.Scenario(
    cohort=sibsim.Cohort(size=400),
    outcome=sibsim.MarkovOutcome(
        states=("home", "care", "left"),
        transitions=[sibsim.Dirichlet.from_mean((0.85, 0.12, 0.03), 300),
                     sibsim.Dirichlet.from_mean((0.25, 0.70, 0.05), 300),
                     (0.0, 0.0, 1.0)],
        events=[("home", "care")]),
    horizon=10,
    effect=sibsim.Effect("rr", 0.7, targets=[("home", "care")], duration=3),
    comparison=sibsim.ComparisonGroup(ratio=1), name="care-demo")
for engine in ("individual", "aggregate", "expected"):
    d = sibsim.simulate(markov, draws=DRAWS // 2, seed=7, engine=engine)
    days = d["occupancy"].sel(state="care").sum(("wave", "stratum", "period")).mean("draw")
    print(f"{engine:>10}: mean person-years in care by arm", np.round(days.values, 1))

# %% Counts with over-dispersion and frailty (the individual engine is chosen automatically)
counts = sibsim.Scenario(
    cohort=sibsim.Cohort(size=1000),
    outcome=sibsim.CountOutcome(rate=1.5, dispersion=2.0), horizon=3,
    effect=sibsim.Effect("rr", 0.9), comparison=sibsim.ComparisonGroup(ratio=3),
    frailty=sibsim.Frailty(0.5), name="counts-demo")
d = sibsim.simulate(counts, draws=DRAWS // 4, seed=3)
print(d.attrs["engine"], "-", d.attrs["engine_reason"])
print(d["events"].sum(("wave", "stratum", "period")).mean("draw").to_pandas())
