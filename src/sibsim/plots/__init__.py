"""Figures of SIB results (reading :mod:`sibsim.analysis` and :mod:`sibsim.money` outputs only).

>>> from sibsim.plots import sib_summary_figure, save_figure  # doctest: +SKIP
"""

from sibsim.plots.figures import (
    COMMISSIONER_COLOR,
    INVESTOR_COLOR,
    plot_breakeven_distribution,
    plot_cumulative_net_cash,
    plot_irr_distribution,
    plot_loss_curve,
    plot_npv_distribution,
    save_figure,
    sib_summary_figure,
)

__all__ = [
    "COMMISSIONER_COLOR",
    "INVESTOR_COLOR",
    "plot_breakeven_distribution",
    "plot_cumulative_net_cash",
    "plot_irr_distribution",
    "plot_loss_curve",
    "plot_npv_distribution",
    "save_figure",
    "sib_summary_figure",
]
