"""What contract design and compare return, label by label and value by value, on a small deal
and few draws: every variable's dimensions, units and description, the result's attributes,
the feasibility flags and frontier recomputed from the metrics, compare's paired and unpaired
standard errors from the per-draw values, the progress reported after each chunk of variants,
each variant's figures against the analysis chain where variants differ in what they would
otherwise share (service periods, tranches, a grant, rate cards of engaged participants'
events, termination rules), and every refusal's full message (design, evaluate_variants,
compare, variant_grid and the [design] table: the field or key, and what is allowed)."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest

import sibsim
import test_design
from sibsim import resources
from sibsim.analysis import design as dm
from sibsim.analysis.design import compare, design, evaluate_variants
from sibsim.money.sib import counterfactual
from sibsim.resources import RunTooLargeError
from sibsim.scenario_file import parse_scenario

pytestmark = pytest.mark.usefixtures("warm_kernels")

DRAWS = 20
PRICE = "contract.terms[0].rule.price"
CAP = "contract.caps.total"


def _deal(text: str = test_design.DEAL):
    return parse_scenario(tomllib.loads(text), "tiny-sib.toml")


@pytest.fixture(scope="module")
def deal():
    return _deal()


@pytest.fixture(scope="module")
def shared(deal):
    ds = sibsim.simulate(deal.scenario, draws=DRAWS, seed=3, progress=False)
    return ds, counterfactual(deal, DRAWS, 3)


def _summary_labels(currency: str) -> dict:
    """The documented units (in the deal's currency) and description of each summary."""
    return {name: {"units": units.format(cur=currency), "description": desc}
            for name, (units, desc) in dm._SUMMARY_META.items()}


YEAR = "calendar year (Deal.calendar_years; numbered from 1 when the deal has no start_year)"


def _front(x: np.ndarray, y: np.ndarray) -> list[bool]:
    """Points no other finite point dominates (both maximised), by brute force."""
    ok = np.isfinite(x) & np.isfinite(y)
    return [bool(ok[i] and not np.any(ok & (x >= x[i]) & (y >= y[i]) & ((x > x[i]) | (y > y[i]))))
            for i in range(len(x))]


# --------------------------------------------------------------------------- design
def test_design_labels_every_variable_and_attribute(deal):
    cons = {"investor_expected_irr_min": 0.03, "investor_loss_probability_max": 0.5,
            "commissioner_loss_probability_max": 0.25, "yearly_budget_max": 420_000,
            "budget_payer": "commissioner"}
    grid = {PRICE: [6_000, 10_000, 14_000], CAP: [400_000.0, None]}
    res = design(deal, grid, cons, draws=DRAWS, seed=3, confidence=0.8, progress=False)
    d = res.data
    assert d.attrs == {
        "currency": "EUR", "draws": DRAWS, "seed": 3, "confidence": 0.8,
        "budget_payer": "commissioner", "deal": "tiny-sib",
        "frontier_return": "investor_irr_of_expected_flows",
        "constraints": "investor_expected_irr_min = 0.03; investor_loss_probability_max = 0.5; "
                       "commissioner_loss_probability_max = 0.25; yearly_budget_max = 420000",
        "investor_irr_measure": "expected_flows"}
    assert dict(d.sizes) == {"variant": 6, "year": 4, "parameter": 2}
    assert d["variant"].values.tolist() == list(range(6))
    assert d["parameter"].values.tolist() == [PRICE, CAP]
    assert d["year"].values.tolist() == [2027, 2028, 2029, 2030]
    assert d["year"].attrs == {"description": YEAR}
    # the free parameters: values of each variant (None: NaN) and the deal's own values
    assert d["value"].dims == ("variant", "parameter")
    assert d["value"].attrs == {"description": "value of each free parameter (NaN: None, e.g. "
                                               "no cap)"}
    np.testing.assert_array_equal(d["value"].values, [
        [6_000, 400_000], [6_000, np.nan], [10_000, 400_000], [10_000, np.nan],
        [14_000, 400_000], [14_000, np.nan]])
    assert d["base_value"].dims == ("parameter",)
    assert d["base_value"].attrs == {"description": "the parameter's value in the deal as given "
                                                    "(NaN: none, or different values under [*])"}
    assert d["base_value"].values.tolist() == [10_000.0, 800_000.0]
    # every summary, over variant (and year)
    labels = _summary_labels("EUR")
    for name, attrs in labels.items():
        assert d[name].attrs == attrs, name
        assert d[name].dims == (("variant", "year") if name == "yearly_budget_by_year"
                                else ("variant",)), name
    # the feasibility of each constraint, recomputed from its metric
    checks = {"investor_expected_irr_min": ("investor_irr_of_expected_flows", ">=", 0.03),
              "investor_loss_probability_max": ("investor_loss_probability", "<=", 0.5),
              "commissioner_loss_probability_max": ("commissioner_loss_probability", "<=",
                                                    0.25),
              "yearly_budget_max": ("yearly_budget", "<=", 420_000)}
    every = np.ones(6, dtype=bool)
    for name, (metric, op, bound) in checks.items():
        flag = d[f"feasible_{name}"]
        assert flag.dims == ("variant",) and flag.dtype == bool
        assert flag.attrs == {"description": f"{metric} {op} {bound:g}"}
        m = d[metric].values
        want = np.isfinite(m) & ((m >= bound) if op == ">=" else (m <= bound))
        assert flag.values.tolist() == want.tolist(), name
        every &= want
    assert d["feasible"].dims == ("variant",)
    assert d["feasible"].attrs == {"description": "every constraint satisfied (point estimates)"}
    assert d["feasible"].values.tolist() == every.tolist()
    assert set(d.data_vars) == {*labels, "value", "base_value", "feasible", "on_frontier",
                                *(f"feasible_{k}" for k in checks)}
    assert d["on_frontier"].dims == ("variant",)
    assert d["on_frontier"].attrs == {"description": (
        "on the Pareto frontier of the feasible variants (commissioner_npv and "
        "investor_irr_of_expected_flows both maximised)")}
    x = np.where(every, d["commissioner_npv"].values, np.nan)
    assert d["on_frontier"].values.tolist() == _front(
        x, d["investor_irr_of_expected_flows"].values)


def test_design_on_the_mean_of_draws_names_that_measure(deal):
    """The IRR constraint and the frontier both read the mean of per-draw IRRs when asked; a
    design without constraints says "none" and flags every variant feasible."""
    res = design(deal, {PRICE: [6_000, 14_000]},
                 {"investor_expected_irr_min": 0.03, "investor_irr_measure": "mean_of_draws"},
                 draws=DRAWS, seed=3, frontier_return="mean_of_draws", progress=False)
    d = res.data
    assert d.attrs["frontier_return"] == "investor_mean_irr"
    assert d.attrs["investor_irr_measure"] == "mean_of_draws"
    assert d.attrs["constraints"] == "investor_expected_irr_min = 0.03"
    assert d.attrs["budget_payer"] == "all payers" and d.attrs["confidence"] == 0.9
    assert d["feasible_investor_expected_irr_min"].attrs["description"] == (
        "investor_mean_irr >= 0.03")
    m = d["investor_mean_irr"].values
    assert d["feasible"].values.tolist() == (np.isfinite(m) & (m >= 0.03)).tolist()
    assert d["on_frontier"].attrs["description"].endswith(
        "(commissioner_npv and investor_mean_irr both maximised)")
    x = np.where(d["feasible"].values, d["commissioner_npv"].values, np.nan)
    assert d["on_frontier"].values.tolist() == _front(x, m)
    free = design(deal, {PRICE: [6_000, 14_000]}, draws=DRAWS, seed=3, progress=False)
    assert free.data.attrs["constraints"] == "none"
    assert free.data["feasible"].values.tolist() == [True, True]
    assert not any(str(k).startswith("feasible_") for k in free.data.data_vars)


def test_design_refuses_a_budget_payer_that_is_not_a_payer_before_the_run(deal, monkeypatch):
    monkeypatch.setattr(dm, "simulate", lambda *a, **k: pytest.fail("simulated"))
    with pytest.raises(ValueError) as info:
        design(deal, {PRICE: [6_000, 14_000]}, {"budget_payer": "state"}, draws=DRAWS)
    assert str(info.value) == ("Constraints.budget_payer: got 'state'; allowed: one of "
                               "'commissioner'")


# --------------------------------------------------------------------------- evaluate_variants
def test_evaluate_variants_labels_and_the_draws_it_keeps(deal, shared):
    ds, cf = shared
    variants = [deal.with_values({PRICE: p}) for p in (6_000.0, 12_000.0)]
    out = evaluate_variants(deal, ds, cf, variants, confidence=0.75, keep_draws=True,
                            budget_payer="commissioner")
    assert out.attrs == {"currency": "EUR", "draws": DRAWS, "seed": 3, "confidence": 0.75,
                         "budget_payer": "commissioner"}
    assert out["year"].attrs == {"description": YEAR}
    assert out["draw"].values.tolist() == ds["draw"].values.tolist()
    assert out["variant"].values.tolist() == [0, 1]
    for name, attrs in _summary_labels("EUR").items():
        assert out[name].attrs == attrs, name
    draws = {"commissioner_npv_draws": ("EUR", "Net savings NPV of each draw."),
             "investor_irr_draws": ("per year", "Investors' annualised IRR of each draw "
                                                "(total loss -1; NaN: none)."),
             "investor_loss_draws": ("1", "1 if investors lose money in the draw."),
             "total_outcome_payments_draws": ("EUR", "Outcome payments of each draw.")}
    for name, (units, desc) in draws.items():
        assert out[name].dims == ("variant", "draw"), name
        assert out[name].attrs == {"units": units, "description": desc}, name
    # each summary is its per-draw values' mean
    for name in ("commissioner_npv", "total_outcome_payments"):
        np.testing.assert_allclose(out[name].values, out[f"{name}_draws"].values.mean(1),
                                   rtol=1e-12)
    np.testing.assert_array_equal(out["investor_loss_probability"].values,
                                  out["investor_loss_draws"].values.mean(1))
    without = evaluate_variants(deal, ds, cf, variants)
    assert "draw" not in without.dims and without.attrs["budget_payer"] == "all payers"
    assert not any(str(k).endswith("_draws") for k in without.data_vars)


def test_evaluate_variants_reports_progress_after_each_chunk(deal, shared):
    """The count of variants done, after each chunk of CHUNK_VARIANTS: increasing, and all of
    them at the end."""
    ds, cf = shared
    n = dm.CHUNK_VARIANTS + 6
    variants = [deal.with_values({PRICE: 5_000.0 + 100.0 * k}) for k in range(n)]
    calls: list[int] = []
    out = evaluate_variants(deal, ds, cf, variants, progress=calls.append)
    assert calls == [dm.CHUNK_VARIANTS, n]
    assert out.sizes["variant"] == n
    # the variants of the second chunk get their own numbers: payments rise with the price
    pay = out["total_outcome_payments"].values
    assert pay[-1] > pay[dm.CHUNK_VARIANTS - 1] > pay[0] > 0
    calls.clear()
    evaluate_variants(deal, ds, cf, variants[:3], progress=calls.append)
    assert calls == [3]


def test_evaluate_variants_refusals_name_the_field_and_what_is_allowed(deal, shared):
    ds, cf = shared
    other = _deal(test_design.DEAL.replace("mean = 0.7", "mean = 0.75")
                  .replace("tiny-sib", "other-sib"))
    cases = [
        (dict(variants=[]), "evaluate_variants.variants: got []; allowed: at least one deal"),
        (dict(variants=[deal], budget_payer="state"),
         "Constraints.budget_payer: got 'state'; allowed: one of 'commissioner'"),
        (dict(variants=[deal, "a deal"]), "variants[1]: got 'str'; allowed: a priced Deal"),
        (dict(variants=[deal, deal, other]),
         "variants[2]: got 'other-sib'; allowed: a deal with the same outcome scenario"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError) as info:
            evaluate_variants(deal, ds, cf, **kwargs)
        assert str(info.value) == message
    for bad in (0.0, 1.0):
        with pytest.raises(ValueError, match=rf"^confidence: got {bad}"):
            evaluate_variants(deal, ds, cf, [deal], confidence=bad)


# --------------------------------------------------------------------------- compare
def test_compare_labels_and_its_standard_errors_from_the_draws(deal, shared):
    ds, cf = shared
    dearer = deal.with_values({PRICE: 14_000.0})
    capped = deal.with_values({CAP: 300_000.0})
    res = compare([deal, dearer, capped], ["as is", "dearer", "capped"], draws=DRAWS, seed=3,
                  progress=False)
    assert res.attrs == {"currency": "EUR", "draws": DRAWS, "seed": 3, "reference": "as is"}
    assert res["option"].values.tolist() == ["as is", "dearer", "capped"]
    # the same draws, evaluated here with every draw kept
    ref = evaluate_variants(deal, ds, cf, [deal, dearer, capped], keep_draws=True)
    per_draw = {"commissioner_npv": ref["commissioner_npv_draws"].values,
                "commissioner_loss_probability":
                    (ref["commissioner_npv_draws"].values < 0).astype(float),
                "investor_mean_irr": ref["investor_irr_draws"].values,
                "investor_loss_probability": ref["investor_loss_draws"].values,
                "total_outcome_payments": ref["total_outcome_payments_draws"].values,
                "investor_irr_of_expected_flows": None}
    assert set(per_draw) == set(dm.COMPARED)
    names = set()
    for name, x in per_draw.items():
        units = ref[name].attrs["units"]
        names |= {name, f"{name}_se", f"{name}_diff", f"{name}_diff_se",
                  f"{name}_diff_se_unpaired"}
        for suffix in ("", "_se", "_diff", "_diff_se", "_diff_se_unpaired"):
            assert res[name + suffix].dims == ("option",), name + suffix
        assert res[name].attrs == ref[name].attrs
        np.testing.assert_allclose(res[name].values, ref[name].values, rtol=1e-12)
        assert res[f"{name}_se"].attrs == {
            "units": units, "description": f"Monte Carlo standard error of {name}"}
        assert res[f"{name}_diff"].attrs == {
            "units": units,
            "description": f"{name} minus that of the first option (paired: same draws)"}
        assert res[f"{name}_diff_se"].attrs == {
            "units": units,
            "description": "standard error of the paired difference: sd of the per-draw "
                           "differences / sqrt(draws) (NaN: no per-draw values)"}
        assert res[f"{name}_diff_se_unpaired"].attrs == {
            "units": units,
            "description": "standard error the difference would have with independent draws "
                           "(sqrt(se_a^2 + se_b^2)), for reference"}
        se = (ref[f"{name}_se"].values if f"{name}_se" in ref else np.full(3, np.nan))
        np.testing.assert_allclose(res[f"{name}_se"].values, se, rtol=1e-12)
        value = ref[name].values
        if x is None:  # no per-draw values: plain differences, no standard errors
            np.testing.assert_allclose(res[f"{name}_diff"].values, value - value[0])
            assert np.isnan(res[f"{name}_diff_se"].values).all()
            assert np.isnan(res[f"{name}_diff_se_unpaired"].values).all()
            continue
        assert res[f"{name}_diff"].values[0] == 0.0
        assert res[f"{name}_diff_se"].values[0] == res[f"{name}_diff_se_unpaired"].values[0] == 0
        for k in (1, 2):
            both = np.isfinite(x[k]) & np.isfinite(x[0])
            dk = x[k][both] - x[0][both]
            assert res[f"{name}_diff_se"].values[k] == pytest.approx(
                dk.std(ddof=1) / math.sqrt(both.sum()), rel=1e-12, abs=1e-15), (name, k)
            want = dk.mean() if name == "investor_mean_irr" else value[k] - value[0]
            assert res[f"{name}_diff"].values[k] == pytest.approx(want, rel=1e-12,
                                                                  abs=1e-12), (name, k)
            assert res[f"{name}_diff_se_unpaired"].values[k] == pytest.approx(
                math.sqrt(se[k] ** 2 + se[0] ** 2), rel=1e-12), (name, k)
    assert set(res.data_vars) == names
    # the dearer price pays more on every draw that pays: a paired difference, known in sign
    assert res["total_outcome_payments_diff"].values[1] > 0


def test_compare_names_its_options(deal):
    res = compare([deal, deal.with_values({PRICE: 14_000.0})], draws=2, seed=1, progress=False)
    assert res["option"].values.tolist() == ["1: tiny-sib", "2: tiny-sib"]
    assert res.attrs["reference"] == "1: tiny-sib"
    other = _deal(test_design.DEAL.replace("tiny-sib", "priced-sib"))
    res = compare([deal, other], draws=2, seed=1, progress=False)
    assert res["option"].values.tolist() == ["tiny-sib", "priced-sib"]
    with pytest.raises(ValueError) as info:
        compare([deal, other], ["only one"], draws=2)
    assert str(info.value) == ("compare.names: got ['only one']; allowed: 2 names, one per "
                               "deal")
    with pytest.raises(ValueError, match=r"^compare\.names"):
        compare([deal, other], ["same", "same"], draws=2)
    with pytest.raises(ValueError) as info:
        compare([deal, deal.scenario], draws=2)
    assert str(info.value) == "compare.deals[1]: got 'Scenario'; allowed: a priced Deal"
    with pytest.raises(ValueError, match=r"^compare\.deals: got .*; allowed: two or more deals"):
        compare(deal, draws=2)
    with pytest.raises(ValueError, match=r"^draws: got 1"):
        compare([deal, other], draws=1)


def test_compare_counts_every_options_results_against_memory(deal, monkeypatch):
    """Three options hold three sets of results: memory for one is not enough, and compare
    refuses before it simulates."""
    draws = resources.CHECK_DRAWS_FROM
    est = resources.estimate_run(deal, draws, with_breakeven=False, block_draws=draws,
                                 keep_outcomes=True)
    one = est.kept_per_draw * draws + est.work_per_draw * draws
    monkeypatch.setattr(resources, "available_memory", lambda: int(one / resources.SAFETY) + 1)
    resources.check_draws_fit(deal, draws)  # one copy fits
    monkeypatch.setattr(dm, "simulate", lambda *a, **k: pytest.fail("simulated"))
    options = [deal, deal.with_values({PRICE: 14_000.0}), deal.with_values({CAP: 3e5})]
    with pytest.raises(RunTooLargeError):
        compare(options, ["a", "b", "c"], draws=draws)


def _chain(var, ds, cf) -> dict[str, float]:
    """A variant's figures from the analysis chain (money_flows, then the metrics)."""
    from sibsim.analysis.metrics import investor_metrics, municipality_metrics
    from sibsim.money.sib import money_flows

    money = money_flows(var, ds, cf)
    npv = municipality_metrics(money)["npv_net_savings"].values
    inv = investor_metrics(money).sel(investor="all")
    loans = [str(t) for t, k in zip(money["tranche"].values, money["tranche_kind"].values,
                                    strict=True) if k == "loan"]
    flows = money["flow"].sel(party=loans).sum("party").values
    ppy = int(ds.attrs["periods_per_year"])
    return {"commissioner_npv": npv.mean(),
            "commissioner_loss_probability": (npv < 0).mean(),
            "investor_loss_probability": inv["loss"].values.mean(),
            "investor_mean_irr": np.nanmean(inv["irr_annual"].values),
            "investor_irr_of_expected_flows": (1 + sibsim.irr(flows.mean(0))) ** ppy - 1,
            "total_outcome_payments": money["outcome_payments"].sum("period").values.mean()}


def _matches_the_chain(res, ds, cf) -> None:
    for i, var in enumerate(res.variants):
        for name, value in _chain(var, ds, cf).items():
            assert float(res.data[name][i]) == pytest.approx(value, rel=1e-9, abs=1e-12), (
                i, name)


def test_variants_that_differ_in_what_they_share_get_their_own_numbers():
    """Two tranches (the investors are their sum) and a cost per participant served: variants
    of the service periods change what the variants would otherwise share. Each variant's
    figures are those of the analysis chain for that deal alone."""
    text = test_design.DEAL.replace(
        "fixed_per_period = [150_000, 150_000, 0, 0]",
        "fixed_per_period = [150_000, 150_000, 0, 0]\nper_participant = 100").replace(
        "\n[municipality]", '\n[[capital.tranches]]\nname = "junior"\ncommitment = 300_000\n'
        "\n[municipality]")
    two = _deal(text)
    assert len(two.capital.tranches) == 2
    res = design(two, {"service_periods": [1, 2, 4]}, draws=DRAWS, seed=6, progress=False)
    ds = sibsim.simulate(two.scenario, draws=DRAWS, seed=6, progress=False)
    assert [v.service_periods for v in res.variants] == [1, 2, 4]
    _matches_the_chain(res, ds, counterfactual(two, DRAWS, 6))
    # the service periods matter here
    assert len({round(float(x), 12) for x in res.data["investor_mean_irr"].values}) == 3


def test_a_grant_beside_the_loan_is_not_the_investors():
    """One loan and a grant: the investors' figures are the loan's alone."""
    text = test_design.DEAL.replace(
        "\n[municipality]", '\n[[capital.tranches]]\nkind = "grant"\nname = "grants"\n'
        "commitment = 200_000\n\n[municipality]")
    granted = _deal(text)
    res = design(granted, {PRICE: [6_000, 14_000]}, draws=DRAWS, seed=2, progress=False)
    ds = sibsim.simulate(granted.scenario, draws=DRAWS, seed=2, progress=False)
    _matches_the_chain(res, ds, counterfactual(granted, DRAWS, 2))


def test_a_rate_card_of_engaged_participants_events_is_paid_in_a_design():
    """Koto-SIB pays per completed training of the engaged participants: the design simulates
    those events, and each variant pays them as the analysis chain does."""
    koto = sibsim.load_scenario("koto-sib")
    assert koto.needs_engaged_events
    res = design(koto, {"contract.rate_cards[0].price[0][1]": [1_500, 3_000]}, draws=3, seed=1,
                 progress=False)
    ds = sibsim.simulate(koto.scenario, draws=3, seed=1, progress=False, engaged_events=True)
    _matches_the_chain(res, ds, counterfactual(koto, 3, 1))
    pay = res.data["total_outcome_payments"].values
    assert pay[1] > pay[0]
    # compare simulates them too: the same options on the same draws pay the same
    both = compare(list(res.variants), ["as is", "dearer"], draws=3, seed=1, progress=False)
    np.testing.assert_allclose(both["total_outcome_payments"].values, pay, rtol=1e-12)


# --------------------------------------------------------------------------- [design] table
@pytest.mark.parametrize(("text", "key", "problem"), [
    ("[design]\nconfidence = 0.8", "design.grid",
     'this table is required: the terms to vary, e.g. "contract.terms[0].rule.price" = '
     "[500, 1000, 1500]"),
    ("[design]\n[design.grid]", "design.grid", "at least one path to vary"),
    ('[design]\nconfidence = 1.0\n[design.grid]\n"contract.caps.total" = [1e5]',
     "design.confidence", "design.confidence: got 1.0; allowed: a finite number in (0, 1)"),
    ('[design.grid]\n"contract.caps.total" = []', 'design.grid."contract.caps.total"',
     "grid['contract.caps.total']: got []; allowed: at least one value"),
    ('[design.grid]\n"contract.caps.total" = {low = 1, high = 2, n = 1}',
     'design.grid."contract.caps.total"', "Range.n: got 1; allowed: an integer in [2, 10000]"),
    ('[design.grid]\n"contract.lag" = {low = 0, high = 1, n = 3}', 'design.grid."contract.lag"',
     "grid['contract.lag']: got Range(low=0.0, high=1.0, n=3); allowed: whole numbers: "
     "contract.lag is an integer (choose low, high and n so that the steps are whole)"),
])
def test_read_design_refusals_name_the_key_and_the_problem(deal, text, key, problem):
    from sibsim.analysis.design import read_design
    from sibsim.spec.toml import KeyProblem

    with pytest.raises(KeyProblem) as info:
        read_design(tomllib.loads(text)["design"], deal)
    assert (info.value.key, info.value.problem) == (key, problem)


def test_read_design_of_a_grid_alone_takes_every_default(deal):
    from sibsim.analysis.design import Constraints, read_design

    kw = read_design(tomllib.loads('[design.grid]\n"contract.caps.total" = [1e5, 2e5]')
                     ["design"], deal)
    assert kw == {"grid": {"contract.caps.total": [1e5, 2e5]}, "constraints": Constraints()}


# --------------------------------------------------------------------------- the grid
SHARED = ("a money term (contract, capital, payers, municipality, investors, service costs, "
          "evaluations...): the outcome scenario and the calendar are shared by every variant")


def test_variant_grid_refusals_say_what_is_allowed(deal):
    from sibsim.analysis.design import variant_grid

    cases = [
        ((deal.scenario, {PRICE: [1.0]}), ValueError,
         "design.deal: got 'Scenario'; allowed: a Deal with money terms (evaluations, a contract "
         "and a capital structure)"),
        ((deal, {}), ValueError,
         "design.grid: got {}; allowed: a non-empty mapping {path: values}"),
        ((deal, {"contract.terms[0].rule": [1.0]}), ValueError,
         "grid['contract.terms[0].rule']: got PricePerUnit(price=10000.0, threshold=0.05, "
         "ceiling=None); allowed: a path to one number (a price, a threshold, a cap, a "
         "share...); this path names PricePerUnit"),
        ((deal, {"scenario.horizon": [5]}), ValueError,
         f"grid['scenario.horizon']: got 'scenario'; allowed: {SHARED}"),
        ((deal, {"start_year": [2030]}), ValueError,
         f"grid['start_year']: got 'start_year'; allowed: {SHARED}"),
        ((deal, {CAP: list(range(1, 1002)), PRICE: list(range(1, 101))}), ValueError,
         "design.grid: got '100,100 variants'; allowed: at most 100,000 variants"),
        # an invalid variant names its values, and keeps the error's type
        ((deal, {CAP: [1e5], PRICE: [5.0, -1.0]}), ValueError,
         "the variant with contract.caps.total = 100000.0, contract.terms[0].rule.price = -1.0 "
         "is not a valid deal: PricePerUnit.price: got -1.0; allowed: a finite number in "
         "[0, inf] [at Deal.contract.terms[0].rule]"),
        ((deal, {"contract.lag": [1, 1.5]}), TypeError,
         "the variant with contract.lag = 1.5 is not a valid deal: Contract.lag: got 1.5 of "
         "type float; allowed: an integer >= 0 [at Deal.contract]"),
    ]
    for args, kind, message in cases:
        with pytest.raises(kind) as info:
            variant_grid(*args)
        assert type(info.value) is kind and str(info.value) == message


def test_variant_grid_takes_up_to_the_most_variants(deal, monkeypatch):
    from sibsim.analysis.design import variant_grid

    monkeypatch.setattr(dm, "MAX_VARIANTS", 6)
    paths, combos, deals = variant_grid(deal, {PRICE: [1e3, 2e3, 3e3], CAP: [1e5, 2e5]})
    assert len(deals) == len(combos) == 6 and paths == (PRICE, CAP)
    with pytest.raises(ValueError, match=r"^design\.grid: got '7 variants'; allowed: at most 6 "
                                         r"variants$"):
        variant_grid(deal, {PRICE: [1e3, 2e3, 3e3, 4e3, 5e3, 6e3, 7e3]})


def test_compare_options_that_differ_in_their_termination_rules():
    """The deal ended when its first measured effect falls below 0.9 (nearly always here),
    against the same deal without that rule: each option runs its own rules, in either order,
    and gets the analysis chain's figures."""
    rule = ('\n[[termination]]\nkind = "effect_below"\nmetric = "placements"\n'
            'threshold = 0.9\nresults = "first"\nnotice = 0\n')
    ended = _deal(test_design.DEAL + rule)
    kept = ended.replace(termination=())
    ds = sibsim.simulate(ended.scenario, draws=6, seed=2, progress=False)
    cf = counterfactual(ended, 6, 2)
    for options in ([kept, ended], [ended, kept]):
        res = compare(options, ["a", "b"], draws=6, seed=2, progress=False)
        for i, option in enumerate(options):
            for name, value in _chain(option, ds, cf).items():
                assert float(res[name][i]) == pytest.approx(value, rel=1e-9, abs=1e-12), (
                    i, name)
    # the rule bites: the ended deal pays less
    pay = res["total_outcome_payments"].values
    assert pay[0] < pay[1]


# --------------------------------------------------------------------------- frontier
def test_pareto_front_reads_whole_numbers_and_missing_values():
    """Integers are numbers like any other; a missing value (None) is NaN: never on the
    frontier, in either coordinate."""
    assert dm.pareto_front([3, 1, 2], [1, 3, 0]).tolist() == [True, True, False]
    assert dm.pareto_front([1.0, 2.0, None], [None, 1.0, 5.0]).tolist() == [False, True, False]
    assert dm.pareto_front([None], [None]).tolist() == [False]


def test_options_whose_scenarios_differ_only_in_name_and_description_are_compared(deal):
    """The outcome scenario's name and description are labels: options that differ only in
    them share the draws; any other difference is refused."""
    import dataclasses

    sc = deal.scenario
    relabelled = deal.replace(scenario=dataclasses.replace(sc, name="renamed",
                                                            description="other words"))
    worded = deal.replace(scenario=dataclasses.replace(sc, description="other words"))
    res = compare([deal, relabelled, worded], ["a", "b", "c"], draws=2, seed=1, progress=False)
    np.testing.assert_array_equal(res["commissioner_npv_diff"].values, [0.0, 0.0, 0.0])
    stronger = _deal(test_design.DEAL.replace("mean = 0.7", "mean = 0.75"))
    with pytest.raises(ValueError, match=r"^compare\.deals\[1\]"):
        compare([deal, stronger], draws=2)
