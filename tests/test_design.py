"""Contract design: paths to a deal's terms, the search on shared draws, constraints, the Pareto
frontier, compare, the [design] table and the CLI."""

from __future__ import annotations

import doctest
import math
import textwrap
import tomllib
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sibsim
from sibsim.analysis import design as design_mod
from sibsim.analysis.design import (
    Constraints,
    compare,
    design,
    evaluate_variants,
    expected_irr,
    pareto_front,
    read_design,
    variant_grid,
)
from sibsim.analysis.metrics import IRR_ROUNDING, investor_metrics, municipality_metrics
from sibsim.cli import main
from sibsim.money.sib import counterfactual, money_flows
from sibsim.scenario_file import ScenarioFileError, parse_scenario
from sibsim.spec import paths
from sibsim.spec.toml import KeyProblem

matplotlib.use("Agg")
pytestmark = pytest.mark.usefixtures("warm_kernels")

DEAL = """
name = "tiny-sib"
horizon = 4
start_year = 2027
currency = "EUR"

[cohort]
entry = [150, 150]

[comparison]
ratio = 1

[outcome]
kind = "binary"
probability = {dist = "beta", mean = 0.3, sd = 0.03}

[effect]
value = {dist = "lognormal", mean = 0.7, sd = 0.1}

[[evaluation]]
metric = "placements"
design = {kind = "rct"}
window = 2
report_lag = 0

[contract]
[contract.caps]
total = 800_000
[[contract.terms]]
metric = "placements"
rule = {kind = "price_per_unit", price = 10_000, threshold = 0.05}

[service_costs]
fixed_per_period = [150_000, 150_000, 0, 0]

[capital]
excess_to = "investors"
[[capital.tranches]]
name = "fund"
commitment = 400_000

[municipality]
saving_per_event = 20_000
discount_rate = 0.03
"""

DESIGN = """
[design]
confidence = 0.9
[design.grid]
"contract.terms[0].rule.price" = [6_000, 10_000, 14_000]
"contract.caps.total" = {low = 400_000, high = 1_200_000, n = 2}

[design.constraints]
investor_expected_irr_min = 0.03
investor_loss_probability_max = 0.5
commissioner_loss_probability_max = 0.5
yearly_budget_max = 420_000
"""

DRAWS = 120


@pytest.fixture(scope="module")
def deal():
    return parse_scenario(tomllib.loads(DEAL), "tiny-sib.toml")


@pytest.fixture(scope="module")
def shared(deal):
    """The outcome draws and counterfactual that every variant shares."""
    ds = sibsim.simulate(deal.scenario, draws=DRAWS, seed=4, progress=False)
    return ds, counterfactual(deal, DRAWS, 4)


def write(tmp_path: Path, text: str, name: str = "deal.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- paths
def test_paths_get_and_set_several_values_and_leave_the_original(deal):
    new = deal.with_values({"contract.terms[0].rule.price": 12_000,
                            "contract.terms[0].rule.threshold": 0.08,
                            "contract.caps.total": None,
                            "capital.tranches[0].commitment": 500_000})
    assert new.contract.terms[0].rule.price == 12_000.0
    assert new.contract.terms[0].rule.threshold == 0.08
    assert new.contract.caps.total is None
    assert new.capital.tranches[0].commitment == 500_000
    assert paths.get_value(new, "contract.terms[0].rule.price") == 12_000.0
    assert deal.contract.terms[0].rule.price == 10_000.0  # unchanged
    assert deal.contract.caps.total == 800_000
    assert deal.with_values({}) is deal


def test_paths_reach_step_payments_and_payer_shares():
    nyc = sibsim.load_scenario("nyc-able")
    new = nyc.with_values({"contract.terms[0].rule.payments[2]": 9_900_000})
    assert new.contract.terms[0].rule.payments[2] == 9_900_000
    assert new.contract.terms[0].rule.payments[:2] == nyc.contract.terms[0].rule.payments[:2]
    pb = sibsim.load_scenario("peterborough")
    assert paths.get_value(pb, "payers[1].cap_total") == pb.payers[1].cap_total
    lap = sibsim.load_scenario("lapset-sib-1")
    moved = lap.with_values({"payers[0].saving_per_person_period.care": 20_000.0})
    assert moved.payers[0].saving_per_person_period["care"] == 20_000.0


def test_paths_set_together_so_values_may_cross():
    """Two step thresholds moved past each other in one call: each intermediate state would be
    refused (thresholds must increase), the final one is valid."""
    nyc = sibsim.load_scenario("nyc-able")
    t = nyc.contract.terms[0].rule.thresholds
    new = nyc.with_values({"contract.terms[0].rule.thresholds[0]": t[1] + 0.001,
                           "contract.terms[0].rule.thresholds[1]": t[1] + 0.002})
    assert new.contract.terms[0].rule.thresholds[:2] == (t[1] + 0.001, t[1] + 0.002)
    with pytest.raises(ValueError, match="thresholds"):
        nyc.with_values({"contract.terms[0].rule.thresholds[0]": t[1] + 0.001})


@pytest.mark.parametrize(("path", "words"), [
    ("contract.terms[0].price", ["Deal.contract.terms[0]: got 'price'", "'rule'",
                                 "did you mean 'contract.terms[0].rule.price'"]),
    ("contract.caps.totl", ["Deal.contract.caps: got 'totl'", "'total'", "'per_period'"]),
    ("contract.terms[3].rule.price", ["Deal.contract.terms: got '[3]'", "[0, 0]"]),
    ("contrat.caps.total", ["Deal: got 'contrat'", "'contract'", "'payers'"]),
    ("contract.caps.total.x", ["Deal.contract.caps.total: got 'x'", "no parts"]),
    ("contract..caps", ["path: got 'contract..caps'"]),
])
def test_paths_unknown_names_list_what_is_allowed(deal, path, words):
    with pytest.raises(ValueError) as info:
        deal.with_values({path: 1.0})
    for w in words:
        assert w in str(info.value), (w, str(info.value))


@pytest.mark.parametrize(("path", "value", "words"), [
    ("contract.terms[0].rule.price", -5.0, ["PricePerUnit.price", "[at Deal.contract.terms[0]"
                                            ".rule]"]),
    ("contract.terms[0].rule.threshold", 10, ["write 0.1 for 10%"]),
    ("contract.lag", 1.5, ["Contract.lag", "integer"]),
    ("contract.caps.total", "much", ["Caps.total"]),
])
def test_paths_revalidate_every_changed_object(deal, path, value, words):
    with pytest.raises((ValueError, TypeError)) as info:
        deal.with_values({path: value})
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_paths_refuse_a_value_and_a_part_of_it(deal):
    with pytest.raises(ValueError, match="one path may not lie inside another"):
        deal.with_values({"contract.caps": None, "contract.caps.total": 1.0})


# --------------------------------------------------------------------------- the grid
def test_grid_is_the_product_of_lists_and_ranges(deal):
    p, combos, deals = variant_grid(deal, {"contract.terms[0].rule.price": [1e4, 2e4],
                                           "contract.caps.total": {"low": 1e5, "high": 3e5,
                                                                   "n": 3},
                                           "contract.lag": (0, 2, 3)})
    assert p == ("contract.terms[0].rule.price", "contract.caps.total", "contract.lag")
    assert len(deals) == 2 * 3 * 3 == len(combos)
    assert combos[0] == (1e4, 1e5, 0) and combos[-1] == (2e4, 3e5, 2)
    assert all(isinstance(c[2], int) for c in combos)  # an integer field gets integers
    assert [d.contract.lag for d in deals[:3]] == [0, 1, 2]


@pytest.mark.parametrize(("grid", "words"), [
    ({"contract.lag": (0, 1, 3)}, ["whole numbers"]),
    ({"contract.terms[0].rule": [1.0]}, ["one number", "PricePerUnit"]),
    ({"contract.caps.total": [1.0, 1.0]}, ["differ"]),
    ({"contract.caps.total": []}, ["at least one value"]),
    ({"contract.caps.total": ["a"]}, ["numbers"]),
    ({"contract.terms[0].rule.price": [-1.0, 5.0]}, ["the variant with", "price = -1.0"]),
    ({}, ["non-empty"]),
    ({"scenario.horizon": [5]}, ["a money term", "shared by every variant"]),
])
def test_grid_refuses_bad_axes(deal, grid, words):
    with pytest.raises((ValueError, TypeError)) as info:
        variant_grid(deal, grid)
    for w in words:
        assert w in str(info.value), (w, str(info.value))


# --------------------------------------------------------------------------- evaluation
def test_common_random_numbers_payments_proportional_to_price(deal, shared):
    """Variants that differ only in the price (no cap binding) pay exactly in proportion to it,
    draw by draw: they are evaluated on the same outcome draws."""
    ds, cf = shared
    base = deal.with_values({"contract.caps.total": None})
    prices = [5_000.0, 10_000.0, 20_000.0]
    variants = [base.with_values({"contract.terms[0].rule.price": p}) for p in prices]
    out = evaluate_variants(base, ds, cf, variants, keep_draws=True)
    pay = out["total_outcome_payments_draws"].values
    assert pay[0].sum() > 0
    np.testing.assert_allclose(pay[1], 2 * pay[0], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(pay[2], 4 * pay[0], rtol=1e-12, atol=1e-9)
    # the commissioner's NPV differs by the (discounted) extra payments only: savings shared
    npv = out["commissioner_npv_draws"].values
    assert np.all(np.diff(npv, axis=0) <= 1e-6)


def test_variant_metrics_match_the_analysis_chain(deal):
    """The base variant's numbers are those of sibsim.analyse with the same seed."""
    res = design(deal, {"contract.caps.total": [deal.contract.caps.total]}, draws=DRAWS,
                 seed=7, progress=False)
    ref = sibsim.analyse(deal, draws=DRAWS, seed=7, progress=False, with_breakeven=False)
    d = res.data.isel(variant=0)
    inv = ref.investors.sel(investor="all")
    npv = ref.municipality["npv_net_savings"].values
    assert float(d["commissioner_npv"]) == pytest.approx(npv.mean(), rel=1e-12)
    assert float(d["commissioner_loss_probability"]) == pytest.approx((npv < 0).mean())
    assert float(d["investor_loss_probability"]) == pytest.approx(float(inv["loss"].mean()))
    assert float(d["investor_mean_irr"]) == pytest.approx(float(inv["irr_annual"].mean()),
                                                          rel=1e-12)
    total = ref.money["outcome_payments"].sum("period").values
    assert float(d["total_outcome_payments"]) == pytest.approx(total.mean(), rel=1e-12)
    assert float(d["total_outcome_payments_se"]) == pytest.approx(
        total.std(ddof=1) / math.sqrt(DRAWS), rel=1e-9)


def test_constraints_against_direct_numpy(deal, shared):
    """Every constraint's value and feasibility, recomputed from each variant's money dataset
    with plain numpy."""
    ds, cf = shared
    grid = {"contract.terms[0].rule.price": [6_000.0, 10_000.0, 14_000.0],
            "contract.caps.total": [400_000.0, 1_200_000.0]}
    cons = {"investor_expected_irr_min": 0.03, "investor_loss_probability_max": 0.3,
            "commissioner_loss_probability_max": 0.02, "yearly_budget_max": 420_000.0}
    res = design(deal, grid, cons, draws=DRAWS, seed=4, confidence=0.8, progress=False)
    d = res.data
    years = deal.calendar_years()
    assert list(d["year"].values) == sorted(set(years.tolist())) == [2027, 2028, 2029, 2030]
    feasible_any = False
    for i, var in enumerate(res.variants):
        money = money_flows(var, ds, cf)
        npv = municipality_metrics(money)["npv_net_savings"].values
        inv = investor_metrics(money).sel(investor="all")
        flows = money["flow"].sel(party=list(money["tranche"].values)).sum("party").values
        irr_exp = (1 + sibsim.irr(flows.mean(0))) ** 1 - 1
        paid = money["outcome_payments"].values
        by_year = np.stack([paid[:, years == y].sum(1) for y in np.unique(years)], axis=1)
        budget = np.quantile(by_year, 0.8, axis=0).max()
        p_com = (npv < 0).mean()
        p_inv = inv["loss"].values.mean()
        assert float(d["yearly_budget"][i]) == pytest.approx(budget, rel=1e-12)
        assert float(d["commissioner_loss_probability"][i]) == p_com
        assert float(d["investor_loss_probability"][i]) == p_inv
        assert float(d["investor_irr_of_expected_flows"][i]) == pytest.approx(irr_exp,
                                                                               abs=1e-9)
        ok = {"investor_expected_irr_min": irr_exp >= 0.03,
              "investor_loss_probability_max": p_inv <= 0.3,
              "commissioner_loss_probability_max": p_com <= 0.02,
              "yearly_budget_max": budget <= 420_000.0}
        for name, want in ok.items():
            assert bool(d[f"feasible_{name}"][i]) == want, (i, name)
        assert bool(d["feasible"][i]) == all(ok.values())
        feasible_any |= all(ok.values())
    assert feasible_any and not d["feasible"].all()  # the constraints bite, but not everywhere
    # the frontier: feasible, and no feasible variant better for both
    x, y = d["commissioner_npv"].values, d["investor_irr_of_expected_flows"].values
    f = d["feasible"].values
    for i in np.flatnonzero(d["on_frontier"].values):
        assert f[i]
        assert not np.any(f & (x >= x[i]) & (y >= y[i]) & ((x > x[i]) | (y > y[i])))


def test_minimum_irr_within_rounding_is_met(deal, shared):
    """An expected IRR that misses its minimum by less than IRR_ROUNDING meets it (the root
    search gives a claim that grows at exactly the minimum as a few 1e-12 either side); one
    that misses it by more does not."""
    grid = {"contract.terms[0].rule.price": [6_000.0, 10_000.0]}
    first = design(deal, grid, {}, draws=DRAWS, seed=4, progress=False).data
    irr = first["investor_irr_of_expected_flows"].values
    for bound, met in ((irr[1] + 0.5 * IRR_ROUNDING, True), (irr[1] + 5 * IRR_ROUNDING, False),
                       (irr[1] - 0.5 * IRR_ROUNDING, True)):
        d = design(deal, grid, {"investor_expected_irr_min": float(bound)}, draws=DRAWS,
                   seed=4, progress=False).data
        assert bool(d["feasible_investor_expected_irr_min"][1]) is met, bound
        assert not d["feasible_investor_expected_irr_min"][0]  # the cheaper price: far below


def test_expected_irr_definitions_on_hand_made_flows():
    flows = np.array([[-100.0, 50.0, 70.0],     # an ordinary draw
                      [-100.0, 0.0, 0.0],       # total loss: -100%
                      [0.0, 0.0, 0.0],          # nothing invested: no IRR, left out
                      [-100.0, 0.0, 130.0],
                      [-50.0, 20.0, 20.0]])
    out = expected_irr(flows)
    per_draw = [sibsim.irr(f) for f in flows[[0, 1, 3, 4]]]
    assert per_draw[1] == -1.0
    assert out["investor_mean_irr"] == pytest.approx(np.mean(per_draw), abs=1e-12)
    assert out["investor_irr_undefined_share"] == pytest.approx(1 / 5)
    assert out["investor_mean_irr_se"] == pytest.approx(np.std(per_draw, ddof=1) / 2, abs=1e-12)
    assert out["investor_irr_of_expected_flows"] == pytest.approx(
        sibsim.irr(flows.mean(0)), abs=1e-12)
    # quarterly flows: both annualised by compounding
    q = expected_irr(flows, periods_per_year=4)
    assert q["investor_irr_of_expected_flows"] == pytest.approx(
        (1 + sibsim.irr(flows.mean(0))) ** 4 - 1, abs=1e-12)
    assert q["investor_mean_irr"] == pytest.approx(
        np.mean([(1 + r) ** 4 - 1 for r in per_draw]), abs=1e-12)


# --------------------------------------------------------------------------- Pareto
def _brute_front(x, y):
    n = len(x)
    out = []
    for i in range(n):
        if not (np.isfinite(x[i]) and np.isfinite(y[i])):
            out.append(False)
            continue
        dominated = any(np.isfinite(x[j]) and np.isfinite(y[j]) and x[j] >= x[i]
                        and y[j] >= y[i] and (x[j] > x[i] or y[j] > y[i]) for j in range(n))
        out.append(not dominated)
    return out


@given(st.lists(st.tuples(st.sampled_from([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0, math.nan]),
                          st.sampled_from([-1.0, 0.0, 0.1, 0.2, 2.0, math.nan])),
                min_size=0, max_size=25))
def test_pareto_front_matches_brute_force(points):
    x = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    assert pareto_front(x, y).tolist() == _brute_front(x, y)


@given(st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(-1, 1)), min_size=1, max_size=40))
def test_pareto_front_continuous_values(points):
    x = np.array([p[0] for p in points])
    y = np.array([p[1] for p in points])
    front = pareto_front(x, y)
    assert front.tolist() == _brute_front(x, y)
    assert front.any()  # finite points always have a frontier


# --------------------------------------------------------------------------- compare
def test_compare_pairs_options_and_paired_se_is_smaller(deal):
    dearer = deal.with_values({"contract.terms[0].rule.price": 12_000.0})
    res = compare([deal, dearer], ["as offered", "dearer"], draws=DRAWS, seed=3,
                  progress=False)
    assert list(res["option"].values) == ["as offered", "dearer"]
    for name in ("commissioner_npv", "total_outcome_payments", "investor_mean_irr"):
        paired = float(res[f"{name}_diff_se"].sel(option="dearer"))
        unpaired = float(res[f"{name}_diff_se_unpaired"].sel(option="dearer"))
        assert 0 < paired < unpaired / 3, name
    diff = float(res["total_outcome_payments_diff"].sel(option="dearer"))
    assert diff == pytest.approx(float(res["total_outcome_payments"][1]
                                       - res["total_outcome_payments"][0]))
    assert diff > 0
    assert math.isnan(float(res["investor_irr_of_expected_flows_diff_se"][1]))
    text = design_mod.describe_comparison(res)
    assert "dearer - as offered" in text and "+/-" in text


def test_compare_refuses_a_different_outcome_scenario(deal):
    other = parse_scenario(tomllib.loads(DEAL.replace("mean = 0.7", "mean = 0.75")), "b.toml")
    with pytest.raises(ValueError, match="same outcome scenario"):
        compare([deal, other], draws=10, seed=1)
    with pytest.raises(ValueError, match="two or more"):
        compare([deal], draws=10, seed=1)


# --------------------------------------------------------------------------- TOML and CLI
def test_read_design_table(deal):
    kw = read_design(tomllib.loads(DESIGN)["design"], deal)
    assert kw["confidence"] == 0.9
    assert kw["grid"]["contract.terms[0].rule.price"] == [6_000, 10_000, 14_000]
    assert kw["constraints"] == Constraints(investor_expected_irr_min=0.03,
                                            investor_loss_probability_max=0.5,
                                            commissioner_loss_probability_max=0.5,
                                            yearly_budget_max=420_000)


@pytest.mark.parametrize(("old", "new", "key", "word"), [
    ("investor_expected_irr_min = 0.03", "investor_expected_irr_min = 5",
     "design.constraints", "write 0.05 for 5%"),
    ("commissioner_loss_probability_max = 0.5", "commissioner_loss_probability_max = 30",
     "design.constraints", "write 0.3 for 30%"),
    ("yearly_budget_max", "yearly_budget_maximum", "design.constraints.yearly_budget_maximum",
     "unknown key"),
    ('"contract.terms[0].rule.price"', '"contract.terms[0].price"',
     'design.grid."contract.terms[0].price"', "did you mean"),
    ("n = 2", "n = 1", 'design.grid."contract.caps.total"', "Range.n"),
    ("confidence = 0.9", "confidence = 90", "design.confidence", "write 0.9 for 90%"),
    ("confidence = 0.9", "confidence = 0.9\nseeds = 3", "design.seeds", "unknown key"),
])
def test_read_design_errors_name_the_key(deal, old, new, key, word):
    text = DESIGN.replace(old, new, 1)
    assert text != DESIGN
    with pytest.raises(KeyProblem) as info:
        read_design(tomllib.loads(text)["design"], deal)
    assert info.value.key.startswith(key), info.value.key
    assert word in info.value.problem


def test_run_ignores_the_design_table(tmp_path):
    path = write(tmp_path, DEAL + DESIGN)
    assert sibsim.load_scenario(path).contract.terms[0].rule.price == 10_000


def test_cli_design_writes_outputs_and_prints_the_frontier(tmp_path, capsys):
    path = write(tmp_path, DEAL + DESIGN)
    out, fig, csv = tmp_path / "d.nc", tmp_path / "d.png", tmp_path / "d.csv"
    assert main(["design", str(path), "--draws", "80", "--seed", "2", "--out", str(out),
                 "--figure", str(fig), "--csv", str(csv), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "6 variant(s)" in text and "meet every constraint" in text
    assert "Pareto frontier" in text
    assert out.exists() and fig.stat().st_size > 10_000
    rows = csv.read_text().splitlines()
    assert len(rows) == 7 and "contract.terms[0].rule.price" in rows[0]
    data = sibsim.open_dataset(out)
    assert data.sizes["variant"] == 6 and "on_frontier" in data


def test_cli_design_with_a_design_file_for_a_builtin(tmp_path, capsys):
    dfile = write(tmp_path, """
        [design.grid]
        "contract.caps.total" = [5e6, 1e7]
        [design.constraints]
        commissioner_loss_probability_max = 0.5
        """, "grid.toml")
    assert main(["design", "lapset-sib-1", "--design", str(dfile), "--draws", "40",
                 "--no-progress"]) == 0
    assert "2 variant(s)" in capsys.readouterr().out


@pytest.mark.parametrize(("text", "extra", "words"), [
    (DEAL + DESIGN.replace("= 0.03", "= 3"), [], ["design.constraints", "write 0.03 for 3%"]),
    (DEAL, [], ["no [design] table"]),
    (DEAL + DESIGN.replace("[design.grid]", "[design.grids]"), [], ["design.grid"]),
    (DEAL + DESIGN, ["--draws", "0"], ["--draws"]),
    (DEAL + DESIGN, ["--csv", "x.txt"], ["--csv"]),
])
def test_cli_design_bad_input_exits_2(tmp_path, capsys, text, extra, words):
    path = write(tmp_path, text)
    assert main(["design", str(path), "--no-progress", "--draws", "20", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sibsim: error:") and "Traceback" not in err
    for w in words:
        assert w in err, (w, err)


def test_cli_design_file_with_other_tables_is_refused(tmp_path, capsys):
    dfile = write(tmp_path, DEAL + DESIGN, "both.toml")
    assert main(["design", "lapset-sib-1", "--design", str(dfile), "--draws", "10"]) == 2
    assert "only a [design] table" in capsys.readouterr().err


def test_cli_compare(tmp_path, capsys):
    a = write(tmp_path, DEAL, "a.toml")
    b = write(tmp_path, DEAL.replace("price = 10_000", "price = 12_000"), "b.toml")
    out = tmp_path / "cmp.nc"
    assert main(["compare", str(a), str(b), "--draws", "60", "--out", str(out),
                 "--no-progress"]) == 0
    text = capsys.readouterr().out
    for w in ("b - a", "expected net savings NPV", "P(pays more than it saves)",
              "IRR of expected cash flows", "mean of per-draw IRRs", "P(loss)",
              "Total outcome payments"):
        assert w in text, w
    assert sibsim.open_dataset(out).sizes["option"] == 2


def test_cli_compare_refuses_different_outcomes(tmp_path, capsys):
    a = write(tmp_path, DEAL, "a.toml")
    b = write(tmp_path, DEAL.replace("mean = 0.7", "mean = 0.75"), "b.toml")
    assert main(["compare", str(a), str(b), "--draws", "10"]) == 2
    err = capsys.readouterr().err
    assert "outcome scenario" in err and str(b) in err
    assert main(["compare", str(a), "--draws", "10"]) == 2
    assert "two or more" in capsys.readouterr().err


def test_load_design_of_an_outcome_only_or_missing_file(tmp_path):
    from sibsim.design_file import load_design

    with pytest.raises(ScenarioFileError, match="no such"):
        load_design("lapset-sib-1", tmp_path / "none.toml")


def test_plot_design_labels_and_marks(deal):
    res = design(deal, {"contract.terms[0].rule.price": [6_000.0, 14_000.0]},
                 {"investor_expected_irr_min": 0.03}, draws=40, seed=1, progress=False)
    ax = res.plot()
    assert "NPV (EUR" in ax.get_xlabel() and "% a year" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("Pareto frontier" in t for t in labels)
    assert any("minimum (3% a year)" in t for t in labels)


def test_module_doctests():
    from sibsim import design_file
    from sibsim.plots import design as plots_design

    for mod in (paths, design_mod, design_file, plots_design):
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0, mod.__name__


def test_paths_star_sets_every_item():
    lap = sibsim.load_scenario("lapset-sib-1")
    new = lap.with_values({"contract.terms[*].rule.tiers[0][0]": 0.4})
    assert [t.rule.tiers[0][0] for t in new.contract.terms] == [0.4] * 5
    assert paths.get_value(new, "contract.terms[*].rule.tiers[0][0]") == 0.4
    assert len(paths.expand_path(lap, "contract.terms[*].metric")) == 5
    with pytest.raises(ValueError, match="they differ"):
        paths.get_value(lap, "contract.terms[*].metric")
    with pytest.raises(ValueError, match=r"non-empty sequence for \[\*\]"):
        paths.expand_path(lap, "contract.caps[*]")
    _, _, deals = variant_grid(lap, {"contract.terms[*].rule.tiers[0][0]": [0.2, 0.3]})
    assert [d.contract.terms[4].rule.tiers[0][0] for d in deals] == [0.2, 0.3]


def test_docs_examples_run_and_the_toml_block_reads(tmp_path, monkeypatch):
    """docs/design.md: every Python block runs; the [design] block reads for its deal."""
    import re

    monkeypatch.chdir(tmp_path)
    text = (Path(__file__).resolve().parents[1] / "docs" / "design.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 3
    for i, block in enumerate(blocks):
        exec(compile(block, f"design.md[{i}]", "exec"), {})
    (toml_block,) = re.findall(r"```toml\n(.*?)```", text, re.S)
    kw = read_design(tomllib.loads(toml_block)["design"], sibsim.load_scenario("lapset-sib-1"))
    assert len(kw["grid"]) == 2 and kw["constraints"].yearly_budget_max == 8e6


def test_yearly_budget_of_one_payer():
    lap = sibsim.load_scenario("lapset-sib-1")
    res = design(lap, {"contract.caps.total": [10e6]}, {"budget_payer": "Helsinki",
                                                        "yearly_budget_max": 1e6},
                 draws=60, seed=5, confidence=0.95, progress=False)
    ds = sibsim.simulate(lap.scenario, draws=60, seed=5, progress=False)
    money = money_flows(res.variants[0], ds, counterfactual(lap, 60, 5))
    paid = money["payments_by_payer"].sel(payer="Helsinki").values
    years = lap.calendar_years()
    by_year = np.stack([paid[:, years == y].sum(1) for y in np.unique(years)], axis=1)
    want = np.quantile(by_year, 0.95, axis=0)
    np.testing.assert_allclose(res.data["yearly_budget_by_year"].values[0], want, rtol=1e-12)
    assert float(res.data["yearly_budget"][0]) == pytest.approx(want.max())
    assert res.data.attrs["budget_payer"] == "Helsinki"
    with pytest.raises(ValueError, match="budget_payer"):
        design(lap, {"contract.caps.total": [10e6]}, {"budget_payer": "Espoo"}, draws=5,
               progress=False)


def test_every_field_of_the_design_table_is_read():
    """Each TOML field of the [design] table's classes is set by a document and read back
    (the deal's round-trip test, tests/test_roundtrip.py, leaves these classes to this one)."""
    import dataclasses

    from sibsim.analysis.design import Range

    lap = sibsim.load_scenario("lapset-sib-1")
    doc = tomllib.loads("""
        [design]
        confidence = 0.8
        frontier_return = "mean_of_draws"
        [design.grid]
        "contract.caps.total" = {low = 5e6, high = 9e6, n = 3}
        [design.constraints]
        investor_expected_irr_min = 0.04
        investor_irr_measure = "mean_of_draws"
        investor_loss_probability_max = 0.3
        commissioner_loss_probability_max = 0.25
        yearly_budget_max = 3e6
        budget_payer = "Vantaa"
        """)
    kw = read_design(doc["design"], lap)
    assert kw["confidence"] == 0.8 and kw["frontier_return"] == "mean_of_draws"
    assert kw["grid"]["contract.caps.total"] == Range(5e6, 9e6, 3)
    want = Constraints(investor_expected_irr_min=0.04, investor_irr_measure="mean_of_draws",
                       investor_loss_probability_max=0.3,
                       commissioner_loss_probability_max=0.25, yearly_budget_max=3e6,
                       budget_payer="Vantaa")
    assert kw["constraints"] == want
    table = doc["design"]["constraints"]
    assert {f.name for f in dataclasses.fields(Constraints)} == set(table)
    assert {f.name for f in dataclasses.fields(Range)} == set(
        doc["design"]["grid"]["contract.caps.total"])


def test_yearly_budget_agrees_with_the_budget_table(deal, shared):
    """The design's yearly gross budget is the appropriation of sibsim.analysis.budget for all
    payers together (same calendar years, same quantile)."""
    from sibsim.analysis.budget import yearly_budget

    ds, cf = shared
    out = evaluate_variants(deal, ds, cf, [deal], confidence=0.9)
    table = yearly_budget(money_flows(deal, ds, cf), deal, confidence=0.9)
    want = table["appropriation"].sel(payer="all payers")
    assert list(want["year"].values) == list(out["year"].values)
    np.testing.assert_allclose(out["yearly_budget_by_year"].values[0], want.values, rtol=1e-12)
