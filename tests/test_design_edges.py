"""Edges of contract design and compare that the mutation sample found untested: the base value
of a parameter, the text of describe_design / describe_comparison, compare's reference option
and the [design] table's refusal of an unknown frontier return."""

from __future__ import annotations

import math
import re
import textwrap
import tomllib

import numpy as np
import pytest

import test_design
from sibsim.analysis.design import (
    compare,
    describe_comparison,
    describe_design,
    design,
    read_design,
)
from sibsim.cli import main
from sibsim.scenario_file import parse_scenario
from sibsim.spec.toml import KeyProblem

pytestmark = pytest.mark.usefixtures("warm_kernels")

#: test_design's small priced deal (two cohorts of 150, four yearly periods), named apart.
DEAL = test_design.DEAL.replace('name = "tiny-sib"', 'name = "edge-sib"')

DRAWS = 40
PRICES = [4_000, 8_000, 12_000, 16_000]


def _deal(text: str = DEAL):
    return parse_scenario(tomllib.loads(text), "edge-sib.toml")


@pytest.fixture(scope="module")
def deal():
    return _deal()


@pytest.fixture(scope="module")
def priced(deal):
    """Four prices, no constraint: a dearer price moves money from the commissioner to the
    investors, so the variants trade off and several lie on the frontier."""
    return design(deal, {"contract.terms[0].rule.price": PRICES}, None, draws=DRAWS, seed=5,
                  confidence=0.8, frontier_return="mean_of_draws", progress=False)


# --------------------------------------------------------------------------- base value
def test_base_value_is_nan_without_a_value():
    """No total cap in the deal (None): the parameter's base value is NaN, not an error."""
    capless = _deal(DEAL.replace("total = 800_000", "per_period = 500_000"))
    assert capless.contract.caps.total is None
    res = design(capless, {"contract.caps.total": [4e5, 8e5]}, None, draws=10, seed=1,
                 progress=False)
    assert math.isnan(float(res.data["base_value"].sel(parameter="contract.caps.total")))


def test_base_value_is_nan_where_star_names_different_values():
    """Two tranches committing 400,000 and 100,000 under [*]: no one base value (NaN); with
    equal commitments, that commitment."""
    second = """
[[capital.tranches]]
name = "junior"
commitment = 100_000
"""
    two = _deal(DEAL.replace("\n[municipality]", second + "\n[municipality]"))
    assert [t.commitment for t in two.capital.tranches] == [400_000, 100_000]
    grid = {"capital.tranches[*].commitment": [300_000, 350_000]}
    res = design(two, grid, None, draws=10, seed=1, progress=False)
    assert math.isnan(float(res.data["base_value"][0]))
    same = two.with_values({"capital.tranches[*].commitment": 250_000})
    res = design(same, grid, None, draws=10, seed=1, progress=False)
    assert float(res.data["base_value"][0]) == 250_000.0


# --------------------------------------------------------------------------- describe_design
def test_describe_design_states_the_budget_confidence_in_percent(priced):
    text = describe_design(priced)
    lines = [ln for ln in text.splitlines() if "yearly gross budget" in ln]
    assert lines, text
    for ln in lines:
        assert re.fullmatch(r"      yearly gross budget at 80%: EUR \S+ in the worst year", ln), ln


def test_describe_design_lists_the_frontier_from_the_commissioners_best(priced):
    d = priced.data
    front = np.flatnonzero(d["on_frontier"].values)
    assert front.size >= 3  # the prices trade off: the order is worth checking
    text = describe_design(priced)
    shown = [int(i) for i in re.findall(r"^  #(\d+): ", text, flags=re.M)]
    npv = d["commissioner_npv"].values
    expected = sorted(front.tolist(), key=lambda i: -npv[i])
    assert shown == expected
    assert np.all(np.diff(npv[shown]) < 0)
    # a dearer price costs the commissioner: its best is the cheapest price
    assert d["value"].values[shown[0], 0] == min(d["value"].values[front, 0])


def test_describe_design_names_the_mean_of_per_draw_irrs(priced):
    assert priced.data.attrs["frontier_return"] == "investor_mean_irr"
    text = describe_design(priced)
    assert "(commissioner: expected net savings NPV; investors: mean of per-draw IRRs)." in text


# --------------------------------------------------------------------------- compare
def test_compare_checks_every_option_against_the_first(deal):
    other = _deal(DEAL.replace("mean = 0.7", "mean = 0.75").replace("edge-sib", "other-sib"))
    with pytest.raises(ValueError) as info:
        compare([deal, other], draws=10, seed=1, progress=False)
    assert str(info.value).startswith("compare.deals[1]: got 'other-sib'; allowed: a deal with "
                                      "the same outcome scenario as 'edge-sib'")
    copy = deal.with_values({"contract.terms[0].rule.price": 11_000.0})
    with pytest.raises(ValueError) as info:
        compare([deal, copy, other], ["a", "b", "c"], draws=10, seed=1, progress=False)
    assert str(info.value).startswith("compare.deals[2]: got 'other-sib'")
    assert "as 'edge-sib'" in str(info.value)


def _money(x: float) -> str:
    """The money format of the plain-language texts, written out independently."""
    a = abs(x)
    if a >= 1e6:
        body = f"{a / 1e6:,.2f}M"
    elif a >= 1e4:
        body = f"{round(a / 1e3):,d}k"
    else:
        body = f"{round(a):,d}"
    return ("-" if x < 0 else "") + "EUR " + body


def test_describe_comparison_writes_money_rows_as_money(deal):
    dearer = deal.with_values({"contract.terms[0].rule.price": 12_000.0})
    res = compare([deal, dearer], ["as offered", "dearer"], draws=DRAWS, seed=3,
                  progress=False)
    text = describe_comparison(res)
    rows = {ln.split("  ")[0]: ln for ln in text.splitlines()}
    for label, name in (("Commissioner: expected net savings NPV", "commissioner_npv"),
                        ("Total outcome payments (expected)", "total_outcome_payments")):
        row = rows[label]
        cells = [c.strip() for c in re.split(r"\s{2,}", row)]
        v0, v1 = float(res[name][0]), float(res[name][1])
        diff, se = float(res[f"{name}_diff"][1]), float(res[f"{name}_diff_se"][1])
        assert cells == [label, _money(v0), _money(v1),
                         ("+" if diff >= 0 else "") + _money(diff) + " +/- " + _money(se)], row
        assert "%" not in row and " pp" not in row
    # the probabilities stay percentages, their differences percentage points
    p_row = rows["Investors: P(loss)"]
    p = float(res["investor_loss_probability"][0])
    assert f"{100 * p:.1f}%" in p_row and " pp" in p_row


# --------------------------------------------------------------------------- [design] table
DESIGN = """
[design]
frontier_return = "median_of_draws"
[design.grid]
"contract.terms[0].rule.price" = [6_000, 10_000]
"""


def test_read_design_refuses_an_unknown_frontier_return(deal):
    with pytest.raises(KeyProblem) as info:
        read_design(tomllib.loads(DESIGN)["design"], deal)
    assert info.value.key == "design.frontier_return"
    assert info.value.problem == ("got 'median_of_draws'; allowed: 'expected_flows', "
                                  "'mean_of_draws'")


def test_cli_design_names_the_allowed_frontier_returns(tmp_path, capsys):
    path = tmp_path / "deal.toml"
    path.write_text(textwrap.dedent(DEAL + DESIGN), encoding="utf-8")
    assert main(["design", str(path), "--draws", "10", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "design.frontier_return" in err
    assert "got 'median_of_draws'; allowed: 'expected_flows', 'mean_of_draws'" in err
