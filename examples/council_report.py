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
# # A council report in Finnish, Swedish and English
#
# One self-contained HTML file per language (figures embedded, no network): what the
# municipality pays each year, what it saves, the chance it pays more than it saves, what
# investors get and the break-even in outcome terms, then the assumptions with their sources
# and the method notes. The command line does the same:
# `sibsim report lapset-sib-1 --lang fi --out raportti.html`.
#
# `SIBSIM_EXAMPLE_DRAWS` sets fewer draws (the test suite runs every notebook quickly).

# %%
import os
import tempfile
from pathlib import Path

import sibsim
from sibsim.council import council_facts, write_council_report
from sibsim.scenario_file import builtin_scenarios

DRAWS = int(os.environ.get("SIBSIM_EXAMPLE_DRAWS", 2000))
deal = sibsim.load_scenario("lapset-sib-1")
res = sibsim.analyse(deal, draws=DRAWS, seed=1, progress=False)

# %% [markdown]
# ## The figures behind the summary, computed once for every language

# %%
facts = council_facts(res, deal, 0.9)
print(f"chance of paying more than saving: {facts.p_net_loss:.0%}")

# %% [markdown]
# ## Write the report in each language

# %%
folder = Path(tempfile.mkdtemp())
for lang in ("fi", "sv", "en"):
    path = write_council_report(res, deal, folder / f"report-{lang}.html", lang=lang,
                                source=builtin_scenarios()["lapset-sib-1"])
    print(path, f"{path.stat().st_size / 1e3:.0f} kB")

# %% [markdown]
# In a notebook the report can be shown inline:
# `from IPython.display import HTML; HTML((folder / "report-fi.html").read_text())`.
