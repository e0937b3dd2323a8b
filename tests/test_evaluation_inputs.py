"""The evaluations' uncertain inputs (a comparison's bias, a historical rate, a money metric's
value) as sensitivity inputs: named, set to numbers, and varied by the tornado."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

import sibsim
from sibsim.analysis.sensitivity._common import output_values
from sibsim.analysis.sensitivity.tornado import tornado
from sibsim.cli import main
from sibsim.money.evaluation import Blend, Evaluation, Historical, Matched
from sibsim.money.evaluation_inputs import evaluation_inputs, with_evaluation_values
from sibsim.report import open_results
from sibsim.spec.distributions import Fixed, Gamma, Normal

BIAS = "evaluation.reconviction.bias"


def test_builtin_scenarios_name_their_evaluation_inputs():
    assert list(evaluation_inputs(sibsim.load_scenario("peterborough").evaluations)) == [BIAS]
    roca = evaluation_inputs(sibsim.load_scenario("massachusetts-roca").evaluations)
    assert "evaluation.employment.designs[1].bias" in roca
    tyo = evaluation_inputs(sibsim.load_scenario("tyollisyys-sib").evaluations)
    assert "evaluation.wages_easier.money.per_unit" in tyo


def test_setting_one_input_leaves_the_others_and_checks_the_value():
    waves = Evaluation("m", design=Matched(bias=(Normal(0.0, 0.02), Normal(0.0, 0.03))),
                       window=1)
    blend = Evaluation("b", design=Blend(designs=(Matched(bias=Normal(0.0, 0.01)),
                                                  Historical(historical_rate=Gamma.from_mean_sd(
                                                      0.5, 0.05))), weights=(0.5, 0.5)),
                       window=1)
    evals = (waves, blend)
    assert list(evaluation_inputs(evals)) == [
        "evaluation.m.bias[0]", "evaluation.m.bias[1]", "evaluation.b.designs[0].bias",
        "evaluation.b.designs[1].historical_rate"]
    new = with_evaluation_values(evals, {"evaluation.m.bias[1]": 0.05,
                                         "evaluation.b.designs[1].historical_rate": 0.6})
    assert new[0].design.bias[0] is waves.design.bias[0]
    assert new[0].design.bias[1] == Fixed(0.05)
    assert new[1].design.designs[0] is blend.design.designs[0]
    assert new[1].design.designs[1].historical_rate == Fixed(0.6)
    assert list(evaluation_inputs(new)) == ["evaluation.m.bias[0]",
                                            "evaluation.b.designs[0].bias"]
    with pytest.raises(ValueError, match=r"evaluation\.m\.bias.*uncertain input"):
        with_evaluation_values(evals, {"evaluation.m.bias": 0.0})  # per wave: needs [w]
    with pytest.raises(ValueError, match="historical_rate"):  # checked as at construction
        with_evaluation_values(evals, {"evaluation.b.designs[1].historical_rate": -1.0})


@pytest.fixture(scope="module")
def peterborough_tornado():
    return tornado(sibsim.load_scenario("peterborough"), output="commissioner_npv_mean",
                   draws=60, seed=4, inputs=[BIAS, "effect.value"])


def test_tornado_varies_an_evaluation_input_at_its_percentiles(peterborough_tornado):
    t = peterborough_tornado
    assert t["source"].sel(input=BIAS) == "evaluation"
    assert t["source"].sel(input="effect.value") == "outcome"
    np.testing.assert_allclose(t["input_value"].sel(input=BIAS).values,
                               stats.norm.ppf([0.1, 0.9], 0.0, 0.02), rtol=1e-12)
    # a comparison rate measured too high shows a larger effect: more is paid for the same
    # outcomes, and the commissioner's NPV falls
    low, high = t["value"].sel(input=BIAS).values
    assert high < low


@pytest.mark.parametrize("end", ["low", "high"])
def test_tornado_end_of_an_evaluation_input_equals_a_run_with_it_fixed(peterborough_tornado,
                                                                      end):
    """The end re-measures the same outcome draws with the bias a number; a whole run of the
    deal with that number gives the same output (every other stream keeps its draws)."""
    x = float(peterborough_tornado["input_value"].sel(input=BIAS, end=end))
    deal = sibsim.load_scenario("peterborough")
    e = deal.evaluations[0]
    deal = deal.replace(evaluations=(replace(e, design=replace(e.design, bias=x)),))
    res = sibsim.analyse(deal, draws=60, seed=4, progress=False, with_breakeven=False)
    assert float(peterborough_tornado["value"].sel(input=BIAS, end=end)) == pytest.approx(
        output_values(res.money)["commissioner_npv_mean"], rel=1e-12)


def test_tornado_default_inputs_include_the_evaluations():
    t = tornado(sibsim.load_scenario("lapset-sib-2"), draws=40, seed=1)
    names = set(t["input"].values)
    assert {"evaluation.absence_days_tampere.historical_rate",
            "evaluation.absence_days_jyvaskyla.historical_rate"} <= names
    with pytest.raises(ValueError, match=r"evaluation\.absence_days_tampere\.historical_rate"):
        tornado(sibsim.load_scenario("lapset-sib-2"), draws=40, seed=1, inputs=["nothing"])


def test_cli_tornado_of_a_template_shows_its_historical_prediction(tmp_path, capsys):
    path = tmp_path / "cw.toml"
    assert main(["new", "--template", "child-welfare", str(path)]) == 0
    capsys.readouterr()
    assert main(["sensitivity", str(path), "--draws", "200", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "evaluation.care_years.historical_rate" in out and "effect.value" in out


def test_results_keep_the_values_the_evaluations_measured_with():
    """The money dataset's evaluation_parameter_value is what each evaluation compared with:
    a historical design's counterfactual rate, recovered from the measured effect and units
    (rel = diff / rate, units = diff x participants, no rounding), is the stored rate."""
    deal = sibsim.load_scenario("lapset-sib-2")
    deal = deal.replace(evaluations=tuple(replace(e, precision=None) for e in deal.evaluations))
    m = sibsim.analyse(deal, draws=50, seed=1, progress=False, with_breakeven=False).money
    assert list(m["evaluation_parameter"].values) == [
        "evaluation.absence_days_tampere.historical_rate",
        "evaluation.absence_days_jyvaskyla.historical_rate"]
    assert list(m["trigger_metric"].values) == ["absence_days_tampere", "absence_days_jyvaskyla"]
    rate = m["trigger_units"].values / (m["trigger_participants"].values
                                        * m["measured_effect"].values)
    np.testing.assert_allclose(rate, m["evaluation_parameter_value"].values, rtol=1e-12)
    assert set(m["evaluation_parameter_units"].values) == {"outcome units per participant"}


def test_given_data_indices_include_an_evaluation_input():
    from sibsim.analysis.sensitivity.given_data import given_data

    res = sibsim.analyse(sibsim.load_scenario("peterborough"), draws=300, seed=1,
                         progress=False, with_breakeven=False)
    first = given_data(res, outputs=["commissioner_npv"], bootstrap=20)["first_order"]
    assert BIAS in first["input"].values
    # the bias moves what is paid: a share of the commissioner's NPV's variance, beyond noise
    assert float(first.sel(output="commissioner_npv", input=BIAS)) > 0.01


def test_the_results_file_keeps_them(tmp_path):
    res = sibsim.analyse(sibsim.load_scenario("peterborough"), draws=40, seed=1,
                         progress=False, with_breakeven=False)
    path = tmp_path / "r.nc"
    res.to_netcdf(path)
    again = open_results(path)
    np.testing.assert_array_equal(again.money["evaluation_parameter_value"].values,
                                  res.money["evaluation_parameter_value"].values)
    assert list(again.money["evaluation_parameter"].values) == [BIAS]
    assert list(again.money["evaluation_parameter_units"].values) == ["fraction"]


def test_sobol_indices_take_an_evaluation_input():
    """Sobol's points set the bias as the tornado's ends do; its indices are the bias's share
    of the commissioner's NPV's variance over its prior, beside a money assumption's."""
    from sibsim.analysis.sensitivity.sobol import sobol

    deal = sibsim.load_scenario("peterborough")
    moj, fund = deal.payers
    deal = deal.replace(payers=(replace(moj, saving_per_event=Gamma.from_mean_sd(4_000.0,
                                                                                 800.0)), fund))
    s = sobol(deal, output="commissioner_npv_mean", draws=40, n=8, seed=1)
    names = list(s["input"].values)
    assert names == ["payers[Ministry of Justice].saving_per_event", BIAS]
    assert np.all(np.isfinite(s["total_order"].values))
    assert float(s["total_order"].sel(input=BIAS)) > 0.05
    with pytest.raises(ValueError, match="evaluation inputs"):
        sobol(deal, draws=10, n=8, inputs=["effect.value"])


def test_correlating_an_evaluation_input_is_refused_with_the_reason():
    deal = sibsim.load_scenario("peterborough")
    with pytest.raises(ValueError, match=r"correlation\.inputs\[1\].*sampled on its own"):
        deal.replace(correlation=sibsim.Correlation(("effect.value", BIAS),
                                                    ((1.0, 0.5), (0.5, 1.0))))
    with pytest.raises(ValueError, match="names of uncertain inputs"):  # any other name
        deal.replace(correlation=sibsim.Correlation(("effect.value", "x"),
                                                    ((1.0, 0.5), (0.5, 1.0))))


def test_tornado_takes_a_range_for_an_evaluation_input():
    t = tornado(sibsim.load_scenario("peterborough"), output="commissioner_npv_mean",
                draws=30, seed=1, inputs=[BIAS], ranges={BIAS: (-0.05, 0.05)})
    assert t["input_value"].sel(input=BIAS).values.tolist() == [-0.05, 0.05]
    assert t.attrs["ends"] == "user range"


@pytest.mark.parametrize("name", ["evaluation.public_finance.money.per_unit",
                                  "evaluation.public_finance.money.effect"])
def test_tornado_end_of_a_money_metric_input_equals_a_run_with_it_fixed(name):
    """Koto-SIB's money evaluation: its value per unit and its effect on the engaged (which the
    payers' savings read too) set at an end equal a whole run of the deal with that number."""
    deal = sibsim.load_scenario("koto-sib")
    t = tornado(deal, output="commissioner_npv_mean", draws=40, seed=2, inputs=[name])
    x = float(t["input_value"].sel(input=name, end="high"))
    fixed = deal.replace(evaluations=with_evaluation_values(deal.evaluations, {name: x}))
    res = sibsim.analyse(fixed, draws=40, seed=2, progress=False, with_breakeven=False)
    assert float(t["value"].sel(input=name, end="high")) == pytest.approx(
        output_values(res.money)["commissioner_npv_mean"], rel=1e-12)


@pytest.mark.parametrize("name", ["peterborough", "tyhy-sib", "massachusetts-roca",
                                  "tyollisyys-sib", "lapset-sib-1", "koto-sib", "chicago-cpc",
                                  "nyc-able", "lapset-sib-2"])
def test_an_evaluation_input_set_gives_the_money_datasets_outputs(name):
    """Chain.output with an evaluation's input set (the run's outcome draws measured again,
    reusing their effect-free parts) equals the outputs of the whole money dataset, every
    output, bit for bit, on every built-in scenario with such an input."""
    from sibsim.analysis.sensitivity._common import OUTPUTS, Chain

    deal = sibsim.load_scenario(name)
    known = evaluation_inputs(deal.evaluations)
    chain = Chain(deal, 30, 3)
    for input_name in list(known)[:2]:
        for q in (0.2, 0.8):
            x = float(np.quantile(chain.money["evaluation_parameter_value"].sel(
                evaluation_parameter=input_name).values, q))
            values = {input_name: np.full(30, x)}
            expected = output_values(chain.evaluate(values))
            for output in OUTPUTS:
                got = chain.output(values, output)
                assert got == expected[output] or (np.isnan(got) and np.isnan(expected[output])
                                                   ), (input_name, q, output)
