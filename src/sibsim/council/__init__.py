"""The council report: a self-contained HTML report in Finnish, Swedish or English.

>>> from sibsim.council import council_report, write_council_report  # doctest: +SKIP
"""

from sibsim.council.facts import council_facts, yearly_table
from sibsim.council.figures import plot_budget_fan, plot_investor_outcome, plot_net_loss_chance
from sibsim.council.report import SECTIONS, council_report, write_council_report

__all__ = ["SECTIONS", "council_facts", "council_report", "plot_budget_fan",
           "plot_investor_outcome", "plot_net_loss_chance", "write_council_report",
           "yearly_table"]
