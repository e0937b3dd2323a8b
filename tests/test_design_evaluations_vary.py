"""A design grid whose variants differ in their evaluations: each set of evaluations is
measured on its own (the grid's shared tables are keyed by the evaluations), so every variant's
summaries are those of a grid of that variant alone, on the same draws."""

from __future__ import annotations

import numpy as np

import sibsim

SUMMARIES = ("commissioner_npv", "total_outcome_payments", "investor_loss_probability",
             "investor_mean_irr", "yearly_budget")


def test_each_set_of_evaluations_is_measured_on_its_own():
    deal = sibsim.load_scenario("peterborough")
    # the report lag moves when results are paid (the same totals, other NPVs); a variant
    # measured with another variant's table would get that variant's timing
    grid = {"evaluations[0].report_lag": [1, 2], "contract.caps.total": [9e6, 13e6]}
    res = sibsim.design(deal, grid, draws=40, seed=3, progress=False)
    npvs = res.data["commissioner_npv"].values
    assert len(set(np.round(npvs, 6))) > 1  # the lag changes the answer: the check can fail
    for i, var in enumerate(res.variants):
        lag = var.evaluations[0].report_lag
        alone = sibsim.design(var, {"evaluations[0].report_lag": [lag]}, draws=40, seed=3,
                              progress=False)
        for name in SUMMARIES:
            np.testing.assert_array_equal(res.data[name].values[i], alone.data[name].values[0],
                                          err_msg=f"variant {i}: {name}")
