"""Every labelled result the decision tools return names its dimensions from one vocabulary and
describes each variable: a run's outputs are read by people and by code through their labels,
so a renamed dimension or a variable without a description is a wrong result too."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import sibsim
from sibsim.analysis.evaluation_design import payment_curves
from sibsim.analysis.power import evaluation_power
from sibsim.analysis.voi import evpi, evppi, evsi, value_of_information

#: The dimensions of sibsim's results (datasets of the outcome, money, analysis and decision
#: tools); a dimension outside it is a typo in a label.
DIMS = {"draw", "period", "arm", "wave", "stratum", "state", "process", "party", "tranche",
        "payer", "metric", "trigger", "year", "effect", "variant", "parameter", "input", "end",
        "pilot_size", "option", "design", "comparison_size", "threshold", "alpha", "quantile",
        "deal", "tranche_kind", "node", "group", "rule", "strategy", "investor",
        "money_parameter", "evaluation_parameter"}


def _labels_ok(ds: xr.Dataset, where: str) -> None:
    unknown = set(ds.dims) - DIMS
    assert not unknown, f"{where}: dimensions {sorted(unknown)} outside the vocabulary"
    for name, var in ds.data_vars.items():
        text = var.attrs.get("description") or var.attrs.get("long_name")
        assert isinstance(text, str) and text.strip(), f"{where}.{name}: no description"


@pytest.fixture(scope="module")
def deal():
    return sibsim.load_scenario("peterborough")


def test_design_result(deal):
    res = sibsim.design(deal, {"contract.caps.total": [9e6, 13e6]},
                        {"investor_loss_probability_max": 0.5}, draws=30, seed=1,
                        progress=False)
    _labels_ok(res.data, "design")
    assert res.data["value"].dims == ("variant", "parameter")
    assert res.data["feasible_investor_loss_probability_max"].dims == ("variant",)


def test_value_of_information(deal):
    rng = np.random.default_rng(1)
    nb = rng.normal(size=(200, 2))
    phi = rng.normal(size=200)
    for name, ds in (("evpi", evpi(nb)), ("evppi", evppi(nb, phi)),
                     ("evsi", evsi(nb, phi, [10.0, 50.0], 20.0))):
        _labels_ok(ds, name)
    assert evsi(nb, phi, [10.0, 50.0], 20.0)["evsi_se"].dims == ("pilot_size",)
    _labels_ok(value_of_information(deal, draws=200, seed=1, pilot_sizes=(50, 100)), "voi")


def test_evaluation_design_and_power(deal):
    _labels_ok(payment_curves(deal, effects=[1.0, 0.9], draws=20, seed=1), "payment_curves")
    _labels_ok(evaluation_power(deal), "evaluation_power")


def test_tornado_budget_and_breakeven(deal):
    _labels_ok(sibsim.tornado(deal, "commissioner_npv_mean", draws=20, seed=1), "tornado")
    res = sibsim.analyse(deal, draws=30, seed=1, progress=False)
    _labels_ok(sibsim.yearly_budget(res.money, deal), "yearly_budget")
    _labels_ok(res.breakeven, "breakeven")
    for part in ("outcomes", "money", "investors", "municipality"):
        _labels_ok(getattr(res, part), part)
