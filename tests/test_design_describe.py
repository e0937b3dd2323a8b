"""The plain-language texts of contract design and compare, line by line, against small results
built by hand (no simulation): every figure, label and sentence of ``describe_design`` and
``describe_comparison``, their number formats at their signs and boundaries, and each branch of
the text (no constraint, no feasible variant, a frontier longer than ``max_rows``, more than 30
other feasible variants, a constraint no variant can be measured on)."""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import numpy as np
import xarray as xr

from sibsim.analysis.design import (
    Constraints,
    DesignResult,
    describe_comparison,
    describe_design,
)

NAN = math.nan
PARAMS = ["contract.terms[0].rule.price", "contract.caps.total"]

#: Six variants worked by hand. Constraints: expected-flows IRR >= 1.5% (#3 has none: NaN),
#: investors' P(loss) <= 50% (#2, #3 fail), yearly budget <= 420k (#2 fails; #5 sits exactly on
#: the bound and passes). Feasible: #0, #1, #4, #5. Frontier of (commissioner_npv,
#: investor_irr_of_expected_flows) among them: #0 (best NPV), #1, #5 (best IRR); #4 (200k, 3%)
#: is dominated by #1 (250k, 5%).
SIX = {
    "value": [[6_000, 400_000], [10_000, NAN], [14_000, 1_200_000], [0.25, 1_200_000],
              [8_000, 800_000], [12_000, 800_000]],
    "commissioner_npv": [1.5e6, 250_000, -12_345, 5_000, 200_000, -2e6],
    "commissioner_npv_se": [12_000, 9_000.4, 8_000, 100, 5_000, 15_000],
    "commissioner_loss_probability": [0.1, 0.25, 0.6, 0.3, 0.3, 0.7],
    "investor_irr_of_expected_flows": [0.02, 0.05, 0.09, NAN, 0.03, 0.07],
    "investor_mean_irr": [0.01, 0.04, 0.085, -0.2, 0.02, 0.06],
    "investor_loss_probability": [0.2, 0.3, 0.55, 0.9, 0.25, 0.4],
    "yearly_budget": [300_000, 410_000, 500_000, 9_999, 350_000, 420_000],
}
SIX_CONSTRAINTS = Constraints(investor_expected_irr_min=0.015, investor_loss_probability_max=0.5,
                              yearly_budget_max=420_000)
SIX_FEASIBLE = {"investor_expected_irr_min": [1, 1, 1, 0, 1, 1],
                "investor_loss_probability_max": [1, 1, 0, 0, 1, 1],
                "yearly_budget_max": [1, 1, 0, 1, 1, 1]}
SIX_FRONTIER = [1, 1, 0, 0, 0, 1]


def _result(metrics: dict, constraints: Constraints, feasible_by: dict, frontier: list, *,
            draws: int = 1_200, seed: int = 7, confidence: float = 0.95,
            frontier_return: str = "investor_irr_of_expected_flows",
            name: str = "hand-sib", currency: str = "EUR") -> DesignResult:
    """A DesignResult with the variables describe_design reads, set by hand."""
    values = np.array(metrics["value"], dtype=float)
    data = {k: ("variant", np.array(x, dtype=float)) for k, x in metrics.items()
            if k != "value"}
    data["value"] = (("variant", "parameter"), values)
    feasible = np.ones(values.shape[0], dtype=bool)
    for k, ok in feasible_by.items():
        data[f"feasible_{k}"] = ("variant", np.array(ok, dtype=bool))
        feasible &= np.array(ok, dtype=bool)
    data["feasible"] = ("variant", feasible)
    data["on_frontier"] = ("variant", np.array(frontier, dtype=bool))
    ds = xr.Dataset(data, coords={"variant": np.arange(values.shape[0]),
                                  "parameter": PARAMS[:values.shape[1]]},
                    attrs={"draws": draws, "seed": seed, "confidence": confidence,
                           "frontier_return": frontier_return})
    deal = SimpleNamespace(name=name, currency=currency)
    return DesignResult(data=ds, deal=deal, variants=(), constraints=constraints)


HEAD_SIX = [
    "Contract design for hand-sib: 6 variant(s) of contract.terms[0].rule.price, "
    "contract.caps.total, each on the same 1,200 outcome draws (seed 7).",
    "Constraints (on each variant's Monte Carlo estimate):",
    "  investor_expected_irr_min = 1.5%: met by 5 of 6 (best variant: 9.0%)",
    "  investor_loss_probability_max = 50.0%: met by 4 of 6 (best variant: 20.0%)",
    "  yearly_budget_max = EUR 420k: met by 5 of 6 (best variant: EUR 9,999)",
    "4 of 6 variant(s) meet every constraint.",
    "The best trade-offs (Pareto frontier, 3 variant(s), from the commissioner's best to the "
    "investors' best): no other feasible variant is better for one party without being worse "
    "for the other (commissioner: expected net savings NPV; investors: IRR of the expected cash "
    "flows).",
]
VARIANT_0 = [
    "  #0: contract.terms[0].rule.price = 6,000, contract.caps.total = 400,000",
    "      commissioner: expected net savings NPV EUR 1.50M (+/- EUR 12k), pays more than it "
    "saves in 10.0% of draws",
    "      investors: IRR of expected flows 2.0%, mean IRR 1.0%, lose money in 20.0% of draws",
    "      yearly gross budget at 95%: EUR 300k in the worst year",
]
VARIANT_1 = [  # no cap (None): "none"; a standard error under 10k in whole units
    "  #1: contract.terms[0].rule.price = 10,000, contract.caps.total = none",
    "      commissioner: expected net savings NPV EUR 250k (+/- EUR 9,000), pays more than it "
    "saves in 25.0% of draws",
    "      investors: IRR of expected flows 5.0%, mean IRR 4.0%, lose money in 30.0% of draws",
    "      yearly gross budget at 95%: EUR 410k in the worst year",
]
VARIANT_5 = [  # a loss to the commissioner: the sign before the currency
    "  #5: contract.terms[0].rule.price = 12,000, contract.caps.total = 800,000",
    "      commissioner: expected net savings NPV -EUR 2.00M (+/- EUR 15k), pays more than it "
    "saves in 70.0% of draws",
    "      investors: IRR of expected flows 7.0%, mean IRR 6.0%, lose money in 40.0% of draws",
    "      yearly gross budget at 95%: EUR 420k in the worst year",
]
OTHERS_SIX = ("Other feasible variants (1), each bettered for one party by a frontier variant "
              "that is no worse for the other: #4")
PAIRED = ("Differences between variants are paired (the same draws): they are much more precise "
          "than the +/- of each value.")


def test_describe_design_every_line_of_a_hand_made_design():
    res = _result(SIX, SIX_CONSTRAINTS, SIX_FEASIBLE, SIX_FRONTIER)
    assert describe_design(res).splitlines() == [
        *HEAD_SIX, *VARIANT_0, *VARIANT_1, *VARIANT_5, OTHERS_SIX, PAIRED]
    # the method gives the same text
    assert res.describe() == describe_design(res)


def test_describe_design_cuts_the_frontier_at_max_rows():
    res = _result(SIX, SIX_CONSTRAINTS, SIX_FEASIBLE, SIX_FRONTIER)
    assert describe_design(res, max_rows=2).splitlines() == [
        *HEAD_SIX, *VARIANT_0, *VARIANT_1,
        "  ... and 1 more (see the CSV or netCDF file)", OTHERS_SIX, PAIRED]
    assert res.describe(max_rows=3) == describe_design(res)  # exactly max_rows: no "more" line
    assert res.describe(max_rows=1).splitlines()[len(HEAD_SIX) + 4] == (
        "  ... and 2 more (see the CSV or netCDF file)")


def test_describe_design_names_the_mean_of_draws_return_and_its_figures():
    """With the mean of per-draw IRRs on the frontier, the text names that measure; each
    variant line still gives both IRRs."""
    res = _result(SIX, SIX_CONSTRAINTS, SIX_FEASIBLE, SIX_FRONTIER,
                  frontier_return="investor_mean_irr", confidence=0.9)
    lines = describe_design(res).splitlines()
    assert lines[len(HEAD_SIX) - 1].endswith(
        "(commissioner: expected net savings NPV; investors: mean of per-draw IRRs).")
    assert lines[len(HEAD_SIX) + 3] == ("      yearly gross budget at 90%: EUR 300k in the "
                                        "worst year")


def test_describe_design_without_constraints():
    metrics = {k: x[:2] for k, x in SIX.items()}
    res = _result(metrics, Constraints(), {}, [1, 1], name="open-sib", draws=40, seed=0)
    assert describe_design(res).splitlines() == [
        "Contract design for open-sib: 2 variant(s) of contract.terms[0].rule.price, "
        "contract.caps.total, each on the same 40 outcome draws (seed 0).",
        "Constraints: none.",
        "2 of 2 variant(s) meet every constraint.",
        HEAD_SIX[-1].replace("3 variant(s)", "2 variant(s)"),
        *VARIANT_0, *VARIANT_1,
        PAIRED]


def test_describe_design_when_no_variant_is_feasible():
    """Every bound too tight: the text says so, with each constraint's best variant, and stops
    (no frontier, no variant lines). A commissioner's P(loss) bound is a percentage; a
    constraint no variant can be measured on has no best variant (n/a)."""
    metrics = {"value": [[5_000], [7_000]], "commissioner_npv": [1.0, 2.0],
               "commissioner_npv_se": [0.1, 0.1], "commissioner_loss_probability": [0.3, 0.25],
               "investor_irr_of_expected_flows": [NAN, NAN], "investor_mean_irr": [0.1, 0.2],
               "investor_loss_probability": [0.5, 0.5], "yearly_budget": [1e6, 2e6]}
    cons = Constraints(investor_expected_irr_min=0.05, commissioner_loss_probability_max=0.2)
    res = _result(metrics, cons, {"investor_expected_irr_min": [0, 0],
                                  "commissioner_loss_probability_max": [0, 0]}, [0, 0],
                  name="tight-sib", draws=300, seed=11)
    with warnings.catch_warnings():  # numpy's nanmax of all-NaN warns
        warnings.simplefilter("ignore", RuntimeWarning)
        text = describe_design(res)
    assert text.splitlines() == [
        "Contract design for tight-sib: 2 variant(s) of contract.terms[0].rule.price, each on "
        "the same 300 outcome draws (seed 11).",
        "Constraints (on each variant's Monte Carlo estimate):",
        "  investor_expected_irr_min = 5.0%: met by 0 of 2 (best variant: n/a)",
        "  commissioner_loss_probability_max = 20.0%: met by 0 of 2 (best variant: 25.0%)",
        "0 of 2 variant(s) meet every constraint.",
        "No variant meets every constraint: widen the grid or relax a constraint."]


def test_describe_design_lists_at_most_30_other_feasible_variants():
    """Variant #0 beats every other variant for both parties: 33 other feasible variants, the
    first 30 listed by number, then an ellipsis; with 30 others, no ellipsis."""
    for n_other, tail in ((33, " ..."), (30, "")):
        n = n_other + 1
        metrics = {"value": [[1_000.0 + k] for k in range(n)],
                   "commissioner_npv": [1e5] + [1e3 - k for k in range(n_other)],
                   "commissioner_npv_se": [1.0] * n,
                   "commissioner_loss_probability": [0.0] * n,
                   "investor_irr_of_expected_flows": [0.1] + [0.01] * n_other,
                   "investor_mean_irr": [0.1] * n, "investor_loss_probability": [0.0] * n,
                   "yearly_budget": [1.0] * n}
        res = _result(metrics, Constraints(), {}, [1] + [0] * n_other)
        last = describe_design(res).splitlines()[-2]
        assert last == (f"Other feasible variants ({n_other}), each bettered for one party by "
                        "a frontier variant that is no worse for the other: "
                        + ", ".join(f"#{k}" for k in range(1, 31)) + tail)


# --------------------------------------------------------------------------- compare
def _comparison(columns: dict, names: list[str], *, draws: int = 1_500, seed: int = 9,
                currency: str = "GBP") -> xr.Dataset:
    """compare()'s variables that describe_comparison reads: for each quantity its values,
    paired differences and their standard errors, by option."""
    data = {}
    for name, (value, diff, se) in columns.items():
        data[name] = ("option", np.array(value, dtype=float))
        data[f"{name}_diff"] = ("option", np.array(diff, dtype=float))
        data[f"{name}_diff_se"] = ("option", np.array(se, dtype=float))
    return xr.Dataset(data, coords={"option": names},
                      attrs={"currency": currency, "draws": draws, "seed": seed,
                             "reference": names[0]})


def _table(rows: list[list[str]]) -> list[str]:
    """Columns as wide as their widest cell: the first left-aligned, the others right-aligned,
    two spaces apart."""
    widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    return [r[0].ljust(widths[0]) + "".join("  " + c.rjust(w) for c, w in
                                            zip(r[1:], widths[1:], strict=True)) for r in rows]


INTRO = ("Options compared on the same 1,500 outcome draws (seed 9); differences from 'as is' "
         "are paired draw by draw, +/- one Monte Carlo standard error (pp: percentage points).")
NO_SE = ("The IRR of the expected cash flows has no standard error here (it is not a mean over "
         "draws).")


def test_describe_comparison_every_cell_of_two_options():
    """Money as money (a signed difference, its standard error unsigned); probabilities and
    rates as percentages, their differences in percentage points; a zero difference is +0.0;
    NaN is n/a, with no +/- where the standard error is NaN."""
    res = _comparison({
        "commissioner_npv": ([1.5e6, 1.2e6], [0.0, -3e5], [0.0, 2.5e4]),
        "commissioner_loss_probability": ([0.1, 0.125], [0.0, 0.025], [0.0, 0.005]),
        "investor_irr_of_expected_flows": ([0.05, NAN], [0.0, NAN], [NAN, NAN]),
        "investor_mean_irr": ([0.04, 0.04], [0.0, 0.0], [0.0, 0.0]),
        "investor_loss_probability": ([0.2, 0.35], [0.0, 0.15], [0.0, 0.02]),
        "total_outcome_payments": ([2.5e6, 2.6e6], [0.0, 1e5], [0.0, 5_000]),
    }, ["as is", "cap 5M"])
    assert describe_comparison(res).splitlines() == [INTRO, *_table([
        ["", "as is", "cap 5M", "cap 5M - as is"],
        ["Commissioner: expected net savings NPV", "GBP 1.50M", "GBP 1.20M",
         "-GBP 300k +/- GBP 25k"],
        ["Commissioner: P(pays more than it saves)", "10.0%", "12.5%", "+2.5 pp +/- 0.5 pp"],
        ["Investors: IRR of expected cash flows", "5.0%", "n/a", "n/a"],
        ["Investors: mean of per-draw IRRs", "4.0%", "4.0%", "+0.0 pp +/- 0.0 pp"],
        ["Investors: P(loss)", "20.0%", "35.0%", "+15.0 pp +/- 2.0 pp"],
        ["Total outcome payments (expected)", "GBP 2.50M", "GBP 2.60M",
         "+GBP 100k +/- GBP 5,000"],
    ]), NO_SE]


def test_describe_comparison_of_three_options_has_two_difference_columns():
    res = _comparison({
        "commissioner_npv": ([1e6, 2e6, -5e3], [0.0, 1e6, -1.005e6], [0.0, 1e4, 2e4]),
        "commissioner_loss_probability": ([0.5, 0.25, 0.75], [0.0, -0.25, 0.25],
                                          [0.0, 0.01, 0.02]),
        "investor_irr_of_expected_flows": ([0.1, 0.05, 0.0], [0.0, -0.05, -0.1],
                                           [NAN, NAN, NAN]),
        "investor_mean_irr": ([-1.0, 0.5, 0.25], [0.0, 1.5, 1.25], [0.0, NAN, 0.1]),
        "investor_loss_probability": ([1.0, 0.0, 0.5], [0.0, -1.0, -0.5], [0.0, 0.0, 0.05]),
        "total_outcome_payments": ([9_999.0, 10_000.0, 0.0], [0.0, 1.0, -9_999.0],
                                   [0.0, 0.5, 100.0]),
    }, ["as is", "dearer", "cheaper"], draws=20, seed=123, currency="EUR")
    lines = describe_comparison(res).splitlines()
    assert lines[0] == ("Options compared on the same 20 outcome draws (seed 123); differences "
                        "from 'as is' are paired draw by draw, +/- one Monte Carlo standard "
                        "error (pp: percentage points).")
    assert lines[1:] == [*_table([
        ["", "as is", "dearer", "dearer - as is", "cheaper", "cheaper - as is"],
        ["Commissioner: expected net savings NPV", "EUR 1.00M", "EUR 2.00M",
         "+EUR 1.00M +/- EUR 10k", "-EUR 5,000", "-EUR 1.00M +/- EUR 20k"],
        ["Commissioner: P(pays more than it saves)", "50.0%", "25.0%", "-25.0 pp +/- 1.0 pp",
         "75.0%", "+25.0 pp +/- 2.0 pp"],
        ["Investors: IRR of expected cash flows", "10.0%", "5.0%", "-5.0 pp", "0.0%",
         "-10.0 pp"],
        ["Investors: mean of per-draw IRRs", "-100.0%", "50.0%", "+150.0 pp", "25.0%",
         "+125.0 pp +/- 10.0 pp"],
        ["Investors: P(loss)", "100.0%", "0.0%", "-100.0 pp +/- 0.0 pp", "50.0%",
         "-50.0 pp +/- 5.0 pp"],
        ["Total outcome payments (expected)", "EUR 9,999", "EUR 10k", "+EUR 1 +/- EUR 0",
         "EUR 0", "-EUR 9,999 +/- EUR 100"],
    ]), NO_SE]


# --------------------------------------------------------------------------- table and files
def _with_years(res: DesignResult) -> DesignResult:
    """The hand-made result with a yearly budget for each of two calendar years."""
    n = res.data.sizes["variant"]
    by_year = np.stack([np.arange(n) * 10.0, np.arange(n) * 10.0 + 5.0], axis=1)
    data = res.data.assign(yearly_budget_by_year=(("variant", "year"), by_year)).assign_coords(
        year=[2027, 2028])
    return DesignResult(data=data, deal=res.deal, variants=(), constraints=res.constraints)


def test_design_table_has_one_row_per_variant_and_a_column_per_figure(tmp_path):
    res = _with_years(_result(SIX, SIX_CONSTRAINTS, SIX_FEASIBLE, SIX_FRONTIER))
    assert res.paths == tuple(PARAMS)
    table = res.table()
    flags = [f"feasible_{k}" for k in SIX_FEASIBLE]
    metrics = [k for k in SIX if k != "value"]
    assert list(table.columns) == [*PARAMS, *metrics, *flags, "feasible", "on_frontier",
                                   "yearly_budget_2027", "yearly_budget_2028"]
    assert table.index.name == "variant" and table.index.tolist() == list(range(6))
    values = np.array(SIX["value"], dtype=float)
    np.testing.assert_array_equal(table[PARAMS[0]].to_numpy(), values[:, 0])
    np.testing.assert_array_equal(table[PARAMS[1]].to_numpy(), values[:, 1])
    for k in metrics:
        np.testing.assert_array_equal(table[k].to_numpy(), np.array(SIX[k], dtype=float))
    assert table["on_frontier"].tolist() == [bool(x) for x in SIX_FRONTIER]
    assert table["feasible"].tolist() == [True, True, False, False, True, True]
    assert table["yearly_budget_2027"].tolist() == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    assert table["yearly_budget_2028"].tolist() == [5.0, 15.0, 25.0, 35.0, 45.0, 55.0]
    # the CSV file is that table; the netCDF file is the dataset
    import pandas as pd

    from sibsim.dataset.io import open_dataset

    assert res.to_csv(tmp_path / "d.csv") == tmp_path / "d.csv"
    back = pd.read_csv(tmp_path / "d.csv", index_col="variant")
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    assert res.to_netcdf(tmp_path / "d.nc") == tmp_path / "d.nc"
    again = open_dataset(tmp_path / "d.nc")
    assert set(again.data_vars) == set(res.data.data_vars)
    np.testing.assert_array_equal(again["value"].values, res.data["value"].values)
    assert again.attrs["frontier_return"] == res.data.attrs["frontier_return"]
