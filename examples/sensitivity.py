"""Which assumption matters most? Sensitivity of Koto-SIB to its uncertain inputs.

Writes the figures of docs/sensitivity.md:

    PYTHONPATH=src python examples/sensitivity.py
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import sibsim
from sibsim.analysis.sensitivity.given_data import given_data
from sibsim.plots.sensitivity import plot_indices

OUT = Path(__file__).resolve().parents[1] / "docs" / "figures"


def uncertain_koto() -> sibsim.Deal:
    """Koto-SIB with its money assumptions uncertain: the cost per participant and what
    Kela and the municipalities save per quarter of work gained, with the two savings
    correlated (both follow the wage level)."""
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
                                                         "jobseeking": 1_970.0})))
    return deal.replace(correlation=sibsim.Correlation(
        ("payers[Kela].saving_per_person_period[training]",
         "payers[municipalities].saving_per_person_period[training]"),
        ((1.0, 0.6), (0.6, 1.0))))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    deal = uncertain_koto()
    warnings.simplefilter("ignore")
    t = sibsim.tornado(deal, output="commissioner_npv_mean", draws=1000, seed=1)
    print(t["value"].to_pandas())
    sibsim.plot_tornado(t).figure.savefig(OUT / "sensitivity-tornado.png", dpi=110,
                                          bbox_inches="tight")
    plt.close("all")
    res = sibsim.analyse(deal, draws=2000, seed=1, progress=False, with_breakeven=False)
    s = given_data(res)
    print(s["first_order"].to_pandas().T.round(3))
    plot_indices(s, output="commissioner_npv").figure.savefig(
        OUT / "sensitivity-given-data.png", dpi=110, bbox_inches="tight")
    for v in sibsim.where_parties_lose(res).values():
        print(v["statement"])


if __name__ == "__main__":
    main()
