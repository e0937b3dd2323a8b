"""The decision tools' shortcuts give the same numbers, to the last bit, as the work they skip.

* an outcome model's tables from their effect-free parts (built once) and the effect equal
  :meth:`OutcomeModel.tables`;
* the break-even search's expected trace of the treated arm alone equals the treated arm of the
  expected engine's trace (with frailty too), whether or not the effect-free tables are kept;
* the break-even search's vectorised NPV equals :func:`sibsim.money.irr.npv`.

Small runs (few draws) keep this quick.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from sibsim.analysis import breakeven as be
from sibsim.analysis.threads import numba_threads
from sibsim.engine.outcome_models import model_of
from sibsim.engine.parameters import sample_parameters
from sibsim.money.irr import npv
from sibsim.spec.cohort import Frailty

pytestmark = pytest.mark.usefixtures("warm_kernels")


@pytest.mark.parametrize("name", ["utah-preschool", "peterborough", "koto-sib"])
def test_tables_from_effect_free_parts_equal_tables(name):
    sc = sibsim.load_scenario(name).scenario
    model, D = model_of(sc), 9
    params = sample_parameters(sc.parameters(), 4, 0, D)
    free = model.effect_free_tables(params, D)
    for effect in (np.full(D, 0.7), np.linspace(0.4, 1.3, D), params["effect.value"]):
        whole = model.tables({**params, "effect.value": effect}, D)
        part = model.tables_at_effect(free, {"effect.value": effect}, D)
        for field in dataclasses.fields(whole):
            a, b = getattr(whole, field.name), getattr(part, field.name)
            if a is None:
                assert b is None
            else:
                np.testing.assert_array_equal(a, b, err_msg=f"{name}: {field.name}")
    # the effect moves the treated tables (a comparison of constants would prove little)
    field = "rate" if model.kind == "counts" else "trans"
    weak, strong = (getattr(model.tables_at_effect(free, {"effect.value": np.full(D, x)}, D),
                            field) for x in (0.9, 0.5))
    assert not np.array_equal(weak, strong)


@pytest.mark.parametrize("name", ["peterborough", "utah-preschool", "koto-sib"])
@pytest.mark.parametrize("frailty", [False, True])
def test_treated_trace_equals_the_expected_engine(name, frailty, monkeypatch):
    deal = sibsim.load_scenario(name)
    if frailty:
        deal = deal.replace(scenario=dataclasses.replace(deal.scenario, frailty=Frailty(0.5)))
    ds = sibsim.simulate(deal, draws=7, seed=2, progress=False, first_draw=4)
    effect = np.linspace(0.5, 1.1, 7)
    general = be._Pipeline(deal, ds, fast=False)._expected(effect)
    kept = be._Pipeline(deal, ds)
    assert kept._free  # the effect-free tables are kept...
    monkeypatch.setattr(be, "_FREE_TABLES_BYTES", 0)
    monkeypatch.setattr(be, "_SERIAL_TRACE_CELLS", 0)  # and the trace on every thread
    rebuilt = be._Pipeline(deal, ds)
    assert not rebuilt._free  # ...or built again at each effect when too large
    for fast in (kept, rebuilt):
        got = fast._expected(effect)
        assert got.keys() == general.keys()
        for k in got:
            np.testing.assert_array_equal(got[k], general[k], err_msg=f"{name}: {k}")
    assert np.ptp(general["events"].sum((1, 2, 3, 4))) > 0


def test_threads_are_restored():
    import numba

    before = numba.get_num_threads()
    with numba_threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with pytest.raises(RuntimeError), numba_threads(1):
        raise RuntimeError
    assert numba.get_num_threads() == before


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(1, 12), st.floats(-0.5, 2.0), st.integers(0, 2**32 - 1))
def test_breakeven_npv_equals_money_npv(rows, periods, rate, seed):
    flows = np.random.default_rng(seed).normal(0.0, 1e6, (rows, periods))
    np.testing.assert_array_equal(be._npv(rate, flows), npv(rate, flows))


def test_breakeven_npv_refuses_flows_that_are_not_finite():
    with pytest.raises(ValueError, match="not finite"):
        be._npv(0.05, np.array([[-1.0, np.nan]]))


@pytest.mark.parametrize("name", ["chicago-cpc", "koto-sib"])
def test_sensitivity_output_from_arrays_equals_output_from_the_money_dataset(name):
    from sibsim.analysis.sensitivity._common import OUTPUTS, Chain, output_values

    deal = sibsim.load_scenario(name)
    cost = 500.0  # per participant and period, on top of the deal's own costs
    deal = deal.replace(service_costs=dataclasses.replace(
        deal.service_costs, per_participant=sibsim.Triangular(0.5 * cost, cost, 2.0 * cost)))
    assert len(deal.capital.tranches) >= (2 if name == "chicago-cpc" else 1)
    chain = Chain(deal, 40, 3)
    for values in ({"service_costs.per_participant": np.full(40, 0.6 * cost)},
                   {"service_costs.per_participant": np.full(40, 1.8 * cost)},
                   {"effect.value": np.full(40, float(np.median(
                       chain.ds["parameter_value"].sel(parameter="effect.value"))))}):
        expected = output_values(chain.evaluate(values))
        for output in OUTPUTS:
            got = chain.output(values, output)
            assert got == expected[output] or (np.isnan(got) and np.isnan(expected[output])), (
                name, values.keys(), output)
    # the inputs move the outputs (a comparison of constants would prove little)
    low = chain.output({"service_costs.per_participant": np.full(40, 0.6 * cost)},
                       "commissioner_npv_mean")
    assert low != chain.output({"service_costs.per_participant": np.full(40, 1.8 * cost)},
                               "commissioner_npv_mean")


def test_design_irr_in_batches_equals_one_irr_per_variant(monkeypatch):
    from sibsim.analysis import design
    from sibsim.analysis.metrics import investor_metrics
    from sibsim.money.sib import counterfactual, money_flows

    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal, draws=30, seed=6, progress=False)
    cf = counterfactual(deal, 30, 6)
    _, _, variants = design.variant_grid(deal, {"contract.terms[0].rule.price": [3e3, 9e3, 2e4],
                                                "contract.caps.total": [4e6, 13e6]})
    whole = design.evaluate_variants(deal, ds, cf, variants, keep_draws=True)
    monkeypatch.setattr(design, "_IRR_BATCH_BYTES", 0)  # one IRR call per variant
    one_by_one = design.evaluate_variants(deal, ds, cf, variants, keep_draws=True)
    for var in whole.data_vars:
        np.testing.assert_array_equal(whole[var].values, one_by_one[var].values, err_msg=var)
    # each variant's IRRs are its own money's (investor_metrics on its money dataset, which
    # annualises as (1 + r) ** ppy - 1 rather than expm1(ppy log1p(r)): equal to rounding)
    for i, var in enumerate(variants):
        ref = investor_metrics(money_flows(var, ds, cf)).sel(investor="all")["irr_annual"]
        np.testing.assert_allclose(whole["investor_irr_draws"].values[i], ref.values,
                                   rtol=1e-12, atol=1e-15)
    assert np.ptp(np.nan_to_num(whole["investor_mean_irr"].values)) > 0
