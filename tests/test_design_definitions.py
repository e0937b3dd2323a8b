"""The pure parts of contract design (sibsim.analysis.design) by value: grid ranges and axes,
constraints and the variables they read, the NaN-aware means and standard deviations against
numpy's, the two expected IRRs worked by hand, the per-variant summaries by their definitions,
the Pareto frontier against a brute-force dominance check, and the number formats of the
description at their thresholds and one step either side."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import sibsim
from sibsim.analysis import design as dm
from sibsim.analysis.design import Constraints, Range, expected_irr, pareto_front
from sibsim.spec.paths import get_value


# ------------------------------------------------------------------------------ Range
def test_range_values_and_checks():
    assert Range(500, 1500, 3).values() == (500.0, 1000.0, 1500.0)
    assert Range(1.0, 0.0, 2).values() == (1.0, 0.0)
    assert all(type(x) is float for x in Range(1, 2, 2).values())
    with pytest.raises(ValueError, match=r"^Range\.high: got 5\.0; allowed: a value different "
                                         r"from low$"):
        Range(5.0, 5.0, 3)
    with pytest.raises(ValueError, match=r"Range\.n"):
        Range(0.0, 1.0, 1)
    assert len(Range(0.0, 1.0, 10_000).values()) == 10_000
    with pytest.raises(ValueError, match=r"Range\.n"):
        Range(0.0, 1.0, 10_001)


# -------------------------------------------------------------------------- constraints
def test_constraints_active_and_the_variable_each_reads():
    c = Constraints(investor_expected_irr_min=0.05, yearly_budget_max=1e6)
    assert c.active() == {"investor_expected_irr_min": 0.05, "yearly_budget_max": 1e6}
    assert Constraints().active() == {}
    assert c.metric("investor_expected_irr_min") == "investor_irr_of_expected_flows"
    mean = Constraints(investor_expected_irr_min=0.05, investor_irr_measure="mean_of_draws")
    assert mean.metric("investor_expected_irr_min") == "investor_mean_irr"
    assert c.metric("investor_loss_probability_max") == "investor_loss_probability"
    assert c.metric("commissioner_loss_probability_max") == "commissioner_loss_probability"
    assert c.metric("yearly_budget_max") == "yearly_budget"
    assert dm.RETURN_MEASURES == {"expected_flows": "investor_irr_of_expected_flows",
                                  "mean_of_draws": "investor_mean_irr"}
    # zero bounds are set bounds
    assert Constraints(investor_loss_probability_max=0.0).active() == {
        "investor_loss_probability_max": 0.0}


def test_as_constraints_of_each_form():
    assert dm._as_constraints(None) == Constraints()
    c = Constraints(investor_loss_probability_max=0.2)
    assert dm._as_constraints(c) is c
    assert dm._as_constraints({"investor_loss_probability_max": 0.2}) == c
    with pytest.raises(ValueError, match=r"^design\.constraints: got 'irr_min'; allowed: one "
                                         r"of 'budget_payer', 'commissioner_loss_probability_max'"
                                         r", 'investor_expected_irr_min', "):
        dm._as_constraints({"zz": 1, "irr_min": 0.1})
    with pytest.raises(ValueError, match=r"^design\.constraints: got 'list'; allowed: a "
                                         r"Constraints, a mapping of constraint names to bounds,"
                                         r" or None$"):
        dm._as_constraints([0.1])


# ------------------------------------------------------------------------------ grid axes
def test_grid_values_of_each_form():
    assert dm._grid_values("p", 1.0, [1.0, 2.0]) == (1.0, 2.0)
    assert dm._grid_values("p", 1.0, np.array([1.0, 2.0])) == (1.0, 2.0)
    assert all(type(x) is float for x in dm._grid_values("p", 1.0, np.array([1.0, 2.0])))
    assert dm._grid_values("p", 1.0, {"low": 0, "high": 1, "n": 3}) == (0.0, 0.5, 1.0)
    assert dm._grid_values("p", 1.0, (0, 1, 3)) == (0.0, 0.5, 1.0)
    assert dm._grid_values("p", 1.0, Range(0, 1, 3)) == (0.0, 0.5, 1.0)
    assert dm._grid_values("p", 1.0, (0, 1)) == (0, 1)  # a 2-tuple is a list of values
    ints = dm._grid_values("n", 3, {"low": 2, "high": 6, "n": 3})
    assert ints == (2, 4, 6) and all(type(x) is int for x in ints)
    assert dm._grid_values("cap", None, [None, 5.0]) == (None, 5.0)


@pytest.mark.parametrize(("current", "spec", "message"), [
    (1.0, {"low": 0, "high": 1}, r"^grid\['p'\]: got \{'low': 0, 'high': 1\}; allowed: a list "
                                 r"of values or \{low, high, n\}$"),
    (3, {"low": 2, "high": 5, "n": 3}, r"^grid\['p'\]: got .*; allowed: whole numbers: p is an "
                                       r"integer"),
    (1.0, "abc", r"^grid\['p'\]: got 'abc'; allowed: a list of values or \{low, high, n\}$"),
    (1.0, 5.0, r"^grid\['p'\]: got 5\.0; allowed: a list of values"),
    (1.0, [], r"^grid\['p'\]: got \[\]; allowed: at least one value$"),
    (1.0, [1.0, True], r"^grid\['p'\]: got True; allowed: numbers \(or None for 'no cap'"),
    (1.0, [1.0, "2"], r"^grid\['p'\]: got '2'; allowed: numbers"),
    (1.0, [1.0, 2.0, 1.0], r"^grid\['p'\]: got \[1\.0, 2\.0, 1\.0\]; allowed: values that "
                           r"differ from each other$"),
])
def test_grid_values_refused(current, spec, message):
    with pytest.raises(ValueError, match=message):
        dm._grid_values("p", current, spec)


def test_grid_values_of_a_bool_current_are_not_whole_numbers():
    # a bool is not an integer field: its range stays floats
    assert dm._grid_values("b", True, {"low": 0, "high": 1, "n": 3}) == (0.0, 0.5, 1.0)


def test_current_and_base_value_of_paths():
    lap = sibsim.load_scenario("lapset-sib-1")
    path = "contract.terms[*].rule.tiers[0][0]"
    first = lap.contract.terms[0].rule.tiers[0][0]
    assert dm._current(lap, path) == first
    same = lap.with_values({path: 0.4})
    assert dm._base_value(same, path) == 0.4
    with pytest.raises(ValueError, match=r"^grid\['contract\.terms\[0\]\.rule'\]: got .*; "
                                         r"allowed: a path to one number .*this path names "):
        dm._current(lap, "contract.terms[0].rule")
    pb = sibsim.load_scenario("peterborough")
    assert dm._base_value(pb, "contract.terms[0].rule.price") == float(
        pb.contract.terms[0].rule.price)
    # None: NaN
    none_path = next(p for p in ("contract.caps.total", "contract.caps.per_period")
                     if get_value(pb, p) is None)
    assert math.isnan(dm._base_value(pb, none_path))


def test_base_value_of_differing_values_under_a_star_is_nan():
    lap = sibsim.load_scenario("lapset-sib-1")
    path = "contract.terms[*].rule.tiers[0][0]"
    values = [t.rule.tiers[0][0] for t in lap.contract.terms]
    if len(set(values)) > 1:
        assert math.isnan(dm._base_value(lap, path))
    else:
        new = lap.with_values({"contract.terms[0].rule.tiers[0][0]": values[0] / 2})
        assert math.isnan(dm._base_value(new, path))


# ------------------------------------------------------------------------ NaN statistics
@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(math.nan)), min_size=4,
                         max_size=4), min_size=1, max_size=5))
@example([[1.0, math.nan, math.nan, math.nan]])
@example([[math.nan] * 4])
@example([[1.0, 2.0, math.nan, 4.0], [0.0, 0.0, 0.0, 0.0]])
def test_nanmean_and_nanstd_are_numpys(rows):
    x = np.array(rows)
    n = np.isfinite(x).sum(1)
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning) if (n < 2).any() else \
            _nothing():
        want_m = np.nanmean(x, axis=1)
        want_s = np.nanstd(x, axis=1, ddof=1)
    np.testing.assert_allclose(dm._nanmean(x, 1), want_m, rtol=1e-12, atol=1e-9)
    got_s = dm._nanstd(x, 1)
    want_s = np.where(n > 1, want_s, np.nan)
    np.testing.assert_allclose(got_s, want_s, rtol=1e-9, atol=1e-6)
    # over the other axis too
    np.testing.assert_allclose(dm._nanmean(x.T, 0), want_m, rtol=1e-12, atol=1e-9)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


# ------------------------------------------------------------------------- expected IRRs
def test_expected_irr_by_hand():
    flows = np.array([[-100.0, 121.0, 0.0], [-100.0, 0.0, 0.0], [0.0, 0.0, 0.0],
                      [-100.0, 0.0, 144.0]])
    out = expected_irr(flows)
    # per draw: 21%, total loss -100%, none, 20%: mean of (0.21, -1, 0.2) over 3 draws
    assert out["investor_mean_irr"] == pytest.approx((0.21 - 1 + 0.2) / 3, rel=1e-9)
    assert out["investor_irr_undefined_share"] == pytest.approx(0.25)
    sd = np.std([0.21, -1.0, 0.2], ddof=1)
    assert out["investor_mean_irr_se"] == pytest.approx(sd / math.sqrt(3), rel=1e-9)
    # mean flows -75, 30.25, 36: the IRR solves -75 + 30.25/(1+r) + 36/(1+r)^2 = 0
    r = out["investor_irr_of_expected_flows"]
    assert -75 + 30.25 / (1 + r) + 36 / (1 + r) ** 2 == pytest.approx(0.0, abs=1e-7)
    # two periods a year: each rate compounds to a year
    half = expected_irr(flows[:1], periods_per_year=2)
    assert half["investor_mean_irr"] == pytest.approx(1.21 ** 2 - 1, rel=1e-9)
    assert half["investor_irr_of_expected_flows"] == pytest.approx(1.21 ** 2 - 1, rel=1e-9)
    assert math.isnan(half["investor_mean_irr_se"])  # one draw with an IRR
    assert half["investor_irr_undefined_share"] == 0.0


def test_expected_irr_with_no_irr_anywhere():
    out = expected_irr(np.zeros((3, 2)))
    assert math.isnan(out["investor_irr_of_expected_flows"])
    assert math.isnan(out["investor_mean_irr"]) and math.isnan(out["investor_mean_irr_se"])
    assert out["investor_irr_undefined_share"] == 1.0
    # a total loss of the expected flows is -100%
    loss = expected_irr(np.array([[-100.0, 0.0], [-50.0, 0.0]]))
    assert loss["investor_irr_of_expected_flows"] == -1.0 and loss["investor_mean_irr"] == -1.0


@pytest.mark.parametrize("shape", [(3,), (0, 2), (3, 1), (2, 2, 2)])
def test_expected_irr_refuses_other_shapes(shape):
    with pytest.raises(ValueError, match=r"^expected_irr\.flows: got .*; allowed: an array "
                                         r"\(draws, periods\), with at least two periods$"):
        expected_irr(np.zeros(shape))


def test_expected_irr_refuses_a_bad_period_count():
    with pytest.raises(ValueError, match=r"expected_irr\.periods_per_year"):
        expected_irr(np.array([[-1.0, 2.0]]), periods_per_year=0)


def test_summarise_by_its_definitions():
    rng = np.random.default_rng(1)
    V, D, Y = 2, 5, 3
    d = {"npv": rng.normal(size=(V, D)), "loss": (rng.uniform(size=(V, D)) < 0.4).astype(float),
         "irr_annual": rng.normal(0.05, 0.02, (V, D)), "mean_flow": np.array(
             [[-100.0, 110.0], [-100.0, 90.0]]), "ppy": np.array([1, 1]),
         "payments": rng.uniform(0, 10, (V, D)), "yearly": rng.uniform(0, 5, (V, Y, D))}
    d["npv"][0, :2] = [-1.0, -2.0]
    s = dm._summarise(d, 0.9)
    np.testing.assert_allclose(s["commissioner_npv"], d["npv"].mean(1))
    np.testing.assert_allclose(s["commissioner_npv_se"], d["npv"].std(1, ddof=1) / math.sqrt(D))
    p = (d["npv"] < 0).mean(1)
    np.testing.assert_allclose(s["commissioner_loss_probability"], p)
    np.testing.assert_allclose(s["commissioner_loss_probability_se"], np.sqrt(p * (1 - p) / D))
    q = d["loss"].mean(1)
    np.testing.assert_allclose(s["investor_loss_probability"], q)
    np.testing.assert_allclose(s["investor_loss_probability_se"], np.sqrt(q * (1 - q) / D))
    np.testing.assert_allclose(s["total_outcome_payments"], d["payments"].mean(1))
    np.testing.assert_allclose(s["total_outcome_payments_se"],
                               d["payments"].std(1, ddof=1) / math.sqrt(D))
    by_year = np.quantile(d["yearly"], 0.9, axis=2)  # (variant, year, draw): draws last
    np.testing.assert_allclose(s["yearly_budget_by_year"], by_year)
    np.testing.assert_allclose(s["yearly_budget"], by_year.max(1))
    np.testing.assert_allclose(s["investor_irr_of_expected_flows"], [0.1, -0.1], rtol=1e-9)
    np.testing.assert_allclose(s["investor_mean_irr"], d["irr_annual"].mean(1))
    np.testing.assert_allclose(s["investor_irr_undefined_share"], 0.0)
    one = {k: (x[..., :1] if k == "yearly" else x[:, :1] if k not in ("mean_flow", "ppy")
               else x) for k, x in d.items()}
    s1 = dm._summarise(one, 0.9)
    assert np.isnan(s1["commissioner_npv_se"]).all()
    assert np.isnan(s1["total_outcome_payments_se"]).all()
    assert set(s) == set(dm._SUMMARY_META)


def test_summary_units_and_descriptions():
    units = {k: u for k, (u, _) in dm._SUMMARY_META.items()}
    assert units == {
        "commissioner_npv": "{cur}", "commissioner_npv_se": "{cur}",
        "commissioner_loss_probability": "1", "commissioner_loss_probability_se": "1",
        "investor_irr_of_expected_flows": "per year", "investor_mean_irr": "per year",
        "investor_mean_irr_se": "per year", "investor_irr_undefined_share": "1",
        "investor_loss_probability": "1", "investor_loss_probability_se": "1",
        "total_outcome_payments": "{cur}", "total_outcome_payments_se": "{cur}",
        "yearly_budget_by_year": "{cur}", "yearly_budget": "{cur}"}
    assert {k: (s, u) for k, (s, u, _) in dm._DRAW_VARS.items()} == {
        "commissioner_npv_draws": ("npv", "{cur}"),
        "investor_irr_draws": ("irr_annual", "per year"),
        "investor_loss_draws": ("loss", "1"),
        "total_outcome_payments_draws": ("payments", "{cur}")}


def test_add_irr_replaces_each_rows_flows_by_its_own_irr():
    a = {"flow": np.array([[-100.0, 110.0], [-100.0, 0.0]]), "npv": np.zeros(2),
         "ppy": np.array(1)}
    done = {"irr_annual": np.array([0.5]), "npv": np.zeros(1)}
    b = {"flow": np.array([[-100.0, 121.0], [0.0, 0.0]]), "npv": np.zeros(2), "ppy": np.array(1)}
    dm._add_irr([a, done, b])
    assert "flow" not in a and "flow" not in b
    np.testing.assert_allclose(a["irr_annual"], [0.1, -1.0], rtol=1e-9)
    np.testing.assert_allclose(b["irr_annual"][0], 0.21, rtol=1e-9)
    assert np.isnan(b["irr_annual"][1])
    assert done["irr_annual"].tolist() == [0.5]
    dm._add_irr([done])  # nothing to do
    twice = {"flow": np.array([[-100.0, 0.0, 0.0], [-100.0, 0.0, 121.0]]), "npv": np.zeros(2),
             "ppy": np.array(2)}
    dm._add_irr([twice])
    np.testing.assert_allclose(twice["irr_annual"], [-1.0, 1.1 ** 2 - 1], rtol=1e-9)  # 10% a period


# ------------------------------------------------------------------------ Pareto frontier
def dominated(x, y, i):
    return any(x[j] >= x[i] and y[j] >= y[i] and (x[j] > x[i] or y[j] > y[i])
               for j in range(len(x)) if np.isfinite(x[j]) and np.isfinite(y[j]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 1.0, 2.0, 3.0, math.nan]),
                          st.sampled_from([0.0, 1.0, 2.0, math.nan])), min_size=0, max_size=9))
@example([(1.0, 3.0), (2.0, 1.0), (2.0, 0.5), (0.5, 3.0)])
@example([(1.0, 1.0), (1.0, 1.0)])
@example([(2.0, 1.0), (1.0, 1.0)])
@example([(1.0, 2.0), (1.0, 1.0)])
def test_pareto_front_is_the_undominated_points(points):
    x = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    got = pareto_front(x, y)
    assert got.dtype == bool and got.shape == x.shape
    for i in range(len(x)):
        want = bool(np.isfinite(x[i]) and np.isfinite(y[i]) and not dominated(x, y, i))
        assert got[i] == want, (points, i)


# --------------------------------------------------------------------------- text formats
@pytest.mark.parametrize(("x", "text"), [
    (math.nan, "n/a"), (math.inf, "n/a"), (0.0, "EUR 0"), (9_999.0, "EUR 9,999"),
    (10_000.0, "EUR 10k"), (999_999.0, "EUR 1,000k"), (1_000_000.0, "EUR 1.00M"),
    (-2_345_678.0, "-EUR 2.35M"), (-12_345.0, "-EUR 12k"), (-5.0, "-EUR 5"),
])
def test_money_format_at_its_thresholds(x, text):
    assert dm._money(x, "EUR") == text


@pytest.mark.parametrize(("x", "text"), [(math.nan, "n/a"), (-math.inf, "n/a"),
                                         (0.1234, "12.3%"), (-1.0, "-100.0%"), (0.0, "0.0%")])
def test_pct_format(x, text):
    assert dm._pct(x) == text


@pytest.mark.parametrize(("x", "text"), [(math.nan, "none"), (math.inf, "none"),
                                         (99.5, "99.5"), (100.0, "100"), (-100.0, "-100"),
                                         (-99.0, "-99"), (12_345.6, "12,346"), (0.05, "0.05")])
def test_num_format(x, text):
    assert dm._num(x) == text
