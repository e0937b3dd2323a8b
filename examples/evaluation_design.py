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
# # Is the evaluation good enough to tell a real effect from noise?
#
# A SIB pays on a *measured* effect. With small groups the measurement is noisy: the contract
# may pay for an effect that is not there, or fail to pay for one that is. For a template deal
# (wellbeing at work: sick-leave days against the year before), this notebook shows how the
# number of people changes:
#
# - the standard error of the measured effect;
# - the probability that the contract pays at the assumed effect (`power`);
# - the probability that a 5% test tells the assumed effect from no effect (`detection`);
#
# and what the plain-language summary says about it.
#
#     python examples/evaluation_design.py

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

import sibsim
from sibsim.analysis.power import detection_lines, detection_power, evaluation_power
from sibsim.templates import write_template

folder = Path(tempfile.mkdtemp())
base = write_template("wellbeing-at-work", folder / "work.toml").read_text(encoding="utf-8")

# %%
sizes = [5, 10, 20, 50, 100, 300, 1000]
rows = []
for n in sizes:
    path = folder / f"work-{n}.toml"
    path.write_text(base.replace("entry = [1000]", f"entry = [{n}]"), encoding="utf-8")
    deal = sibsim.load_scenario(path)
    pw = evaluation_power(deal)
    rows.append((n, float(pw["effect_sd"][0]), float(pw["power"][0]),
                 float(detection_power(pw)[0]), len(detection_lines(deal, pw))))
    print(f"{n:>5} employees: standard error {rows[-1][1]:.3f}, P(pays) {rows[-1][2]:.0%}, "
          f"P(detects the effect) {rows[-1][3]:.0%}, summary warns: {bool(rows[-1][4])}")

# %% The probability of detecting the assumed effect against the group size
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogx(sizes, [r[3] for r in rows], "o-", label="detects the effect (5% test)")
ax.semilogx(sizes, [r[2] for r in rows], "s--", label="contract pays")
ax.axhline(0.5, color="grey", lw=0.8)
ax.set(xlabel="employees in the service", ylabel="probability", ylim=(0, 1.02),
       title="Wellbeing at work: evaluation power at the assumed effect")
ax.legend()
fig.tight_layout()

# %% [markdown]
# The standard errors are Poisson ones: over-dispersed counts such as sick-leave days are
# noisier than this, so read the curve as the best case.
