"""Evaluation results known after the horizon are paid as the contract's ``overflow`` says, and
said: a warning from ``analyse``, a line in the summary and on the command line.

The lifecycle once treated a deal that runs its course as stopped at the horizon, so a result
known after it paid nothing, whatever ``overflow`` said: the elderly-care template with a
report lag of 3 years instead of 1 lost its second cohort's payment (EUR 385k of payments on
average became EUR 202k) without a word."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import sibsim
from sibsim.cli import main
from sibsim.money.evaluation import evaluate
from sibsim.money.sib import money_flows
from sibsim.report import BeyondHorizonWarning, analyse, beyond_horizon_text, describe
from sibsim.templates import template_text

pytestmark = pytest.mark.usefixtures("warm_kernels")


def _deal(tmp_path: Path, lag: int, overflow: str | None = None) -> Path:
    text = template_text("elderly-care")
    text, n = re.subn(r"(?m)^report_lag = \d+", f"report_lag = {lag}", text)
    assert n == 1
    if overflow is not None:
        text, n = re.subn(r"(?m)^\[contract\]$", f'[contract]\noverflow = "{overflow}"', text)
        assert n == 1
    path = tmp_path / f"care_{lag}_{overflow}.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("horizon")
    out = {}
    for lag, overflow in ((1, None), (3, None), (3, "drop")):
        deal = sibsim.load_scenario(_deal(tmp, lag, overflow))
        ds = sibsim.simulate(deal, draws=200, seed=1, progress=False)
        out[lag, overflow] = deal, ds, money_flows(deal, ds)
    return out


def test_the_second_cohorts_result_is_known_after_the_horizon(runs):
    deal, _, money = runs[3, None]
    assert deal.scenario.horizon == 7
    assert money["trigger_period"].values.tolist() == [6, 7]  # 7: after the horizon


def test_a_result_after_the_horizon_is_paid_in_its_last_period(runs):
    deal, ds, money = runs[3, None]
    table = evaluate(ds, deal.evaluations, 1)
    direct = deal.contract.outcome_payments(table, 7)  # the contract's own rule
    paid = money["outcome_payments"].values
    np.testing.assert_allclose(paid, direct.total, rtol=0, atol=1e-9)
    assert np.all(paid[:, :6] == 0.0)
    # both cohorts are paid: as much as with the results known inside the horizon
    _, _, inside = runs[1, None]
    np.testing.assert_allclose(paid.sum(1), inside["outcome_payments"].values.sum(1), rtol=1e-12)


def test_overflow_drop_leaves_it_out(runs):
    _, _, kept = runs[3, None]
    deal, ds, money = runs[3, "drop"]
    table = evaluate(ds, deal.evaluations, 1)
    direct = deal.contract.outcome_payments(table, 7)
    np.testing.assert_allclose(money["outcome_payments"].values, direct.total, atol=1e-9)
    assert 0 < money["outcome_payments"].values.sum() < kept["outcome_payments"].values.sum()
    # what is left out is the second cohort's due, which "last" paid
    np.testing.assert_allclose(direct.beyond_horizon.sum(),
                               kept["outcome_payments"].values.sum()
                               - money["outcome_payments"].values.sum(), rtol=1e-12)


def test_the_text_says_how_many_and_what_happens(runs):
    assert beyond_horizon_text(runs[1, None][2], runs[1, None][0]) is None
    deal, _, money = runs[3, None]
    text = beyond_horizon_text(money, deal)
    assert "1 of the 2 evaluation results (evaluation 'care_years') falls due" in text
    assert "ends with 2033" in text and 'overflow = "last"' in text
    deal, _, money = runs[3, "drop"]
    assert 'left out (contract overflow = "drop")' in beyond_horizon_text(money, deal)


def test_analyse_warns_and_the_summary_says_it(tmp_path):
    deal = sibsim.load_scenario(_deal(tmp_path, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = analyse(deal, draws=100, seed=1, progress=False, with_breakeven=False)
    said = [w for w in caught if issubclass(w.category, BeyondHorizonWarning)]
    assert len(said) == 1
    assert "Results after the horizon" in describe(res, deal)
    inside = sibsim.load_scenario(_deal(tmp_path, 1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = analyse(inside, draws=100, seed=1, progress=False, with_breakeven=False)
    assert not [w for w in caught if issubclass(w.category, BeyondHorizonWarning)]
    assert "after the horizon" not in describe(res, inside)


def test_the_command_line_prints_the_warning(tmp_path, capsys):
    path = _deal(tmp_path, 3)
    assert main(["run", str(path), "--draws", "60", "--seed", "1", "--out",
                 str(tmp_path / "r.nc")]) == 0
    err = capsys.readouterr().err
    assert "sibsim: warning: Results after the horizon: 1 of the 2" in err


@pytest.mark.parametrize(("lang", "words"), [
    ("fi", "Osa arvioinnin tuloksista valmistuu vasta vuoden 2033 jälkeen"),
    ("sv", "En del av utvärderingens resultat blir klara först efter 2033"),
    ("en", "Some results of the evaluation are known only after 2033"),
])
def test_the_council_report_says_it_under_the_yearly_table(tmp_path, lang, words):
    from sibsim.council import council_report

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        late = sibsim.load_scenario(_deal(tmp_path, 3))
        res = analyse(late, draws=60, seed=1, progress=False, with_breakeven=False)
        inside = sibsim.load_scenario(_deal(tmp_path, 1))
        res_in = analyse(inside, draws=60, seed=1, progress=False, with_breakeven=False)
    html = council_report(res, late, lang=lang)
    assert words in html
    assert html.index(words) > html.index('id="summary"')
    assert words not in council_report(res_in, inside, lang=lang)
    dropped = sibsim.load_scenario(_deal(tmp_path, 3, "drop"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res_drop = analyse(dropped, draws=60, seed=1, progress=False, with_breakeven=False)
    text = council_report(res_drop, dropped, lang=lang)
    assert words in text and text != html
