"""Tests of sibsim.money.payers: several outcome payers, each with its shares of each metric's
payments, its own savings, costs and caps, and its own budget line in the results."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import sibsim
from sibsim import Beta, Cohort, ComparisonGroup, CountOutcome, Effect, Gamma, LogNormal, Scenario
from sibsim.analysis.metrics import municipality_metrics
from sibsim.money import Caps, Contract, MetricTerms, PricePerUnit
from sibsim.money.capital import CapitalStructure, ServiceCosts, Tranche
from sibsim.money.deal import Deal, Investors
from sibsim.money.evaluation import Evaluation
from sibsim.money.municipality import Municipality
from sibsim.money.payers import Payer, check_payers, split_by_payer
from sibsim.money.results import PaymentResult
from sibsim.money.sib import counterfactual, money_flows
from sibsim.report import analyse, describe
from sibsim.scenario_file import ScenarioFileError, parse_scenario

SEED = 20250301
DRAWS = 150


def scenario() -> Scenario:
    return Scenario(
        cohort=Cohort(entry=(150, 150)),
        outcome=CountOutcome(Gamma.from_mean_sd(1.2, 0.1), dispersion=2.0),
        horizon=5,
        effect=Effect("rr", LogNormal.from_mean_sd(0.8, 0.08),
                      engagement=Beta.from_mean_sd(0.9, 0.03)),
        comparison=ComparisonGroup(ratio=2))


def deal(*, payers=(), municipality=None, commitment=400_000.0) -> Deal:
    """Two metrics on the same events ("short": one-period window; "long": two periods)."""
    return Deal(
        scenario=scenario(),
        evaluations=(Evaluation("short", window=1, report_lag=0),
                     Evaluation("long", window=2, report_lag=0, per_wave=False)),
        contract=Contract((MetricTerms("short", PricePerUnit(4_000.0, threshold=0.02)),
                           MetricTerms("long", PricePerUnit(2_000.0, threshold=0.02))),
                          caps=Caps(total=3e6), currency="GBP"),
        service_costs=ServiceCosts(fixed_per_period=(50_000.0, 50_000.0, 0.0, 0.0, 0.0),
                                   per_participant=300.0),
        capital=CapitalStructure((Tranche("senior", commitment, 1, target_return=0.05),),
                                 currency="GBP"),
        municipality=municipality if municipality is not None else Municipality(
            saving_per_event=2_500.0, wider_value_per_event=1_000.0,
            other_costs_per_period=3_000.0, discount_rate=0.035),
        payers=payers, service_periods=1, investors=Investors(discount_rate=0.08),
        currency="GBP")


STATE = Payer("state", shares={"short": 1.0, "long": 0.5}, saving_per_event=1_500.0,
              wider_value_per_event=1_000.0, other_costs_per_period=2_000.0)
CITY = Payer("city", shares={"long": 0.5}, saving_per_event=1_000.0,
             other_costs_per_period=1_000.0)
TWO = (STATE, CITY)
RATE_ONLY = Municipality(discount_rate=0.035)


@pytest.fixture(scope="module")
def run():
    one = deal()
    ds = sibsim.simulate(one.scenario, draws=DRAWS, seed=SEED, engine="aggregate",
                         progress=False)
    cf = counterfactual(one, DRAWS, SEED)
    two = deal(payers=TWO, municipality=RATE_ONLY)
    return ds, cf, money_flows(one, ds, cf=cf), money_flows(two, ds, cf=cf)


# ------------------------------------------------------------------------ specification
def test_a_payer_takes_a_share_per_metric_or_one_for_every_metric():
    assert STATE.share_of("long") == 0.5 and CITY.share_of("short") == 0.0
    fund = Payer("top-up fund", shares=0.25)
    assert fund.share_vector(("a", "b")).tolist() == [0.25, 0.25]
    assert Payer("p", 1).shares == 1.0


@pytest.mark.parametrize(("kwargs", "key"), [
    ({"shares": 10}, r"Payer\.shares: got 10; .*write 0\.1 for 10%"),
    ({"shares": {"m": 1.5}}, r"Payer\.shares\[m\]"),
    ({"shares": {}}, r"Payer\.shares"),
    ({"shares": "all"}, r"Payer\.shares"),
    ({"shares": (0.5, 0.5)}, r"Payer\.shares"),
    ({"shares": 1.0, "saving_per_event": -1.0}, r"Payer\.saving_per_event"),
    ({"shares": 1.0, "saving_per_person_period": {"care": -5.0}},
     r"Payer\.saving_per_person_period\[care\]"),
    ({"shares": 1.0, "wider_value_per_person_period": [("care", 1.0)]},
     r"Payer\.wider_value_per_person_period"),
    ({"shares": 1.0, "cap_total": -1.0}, r"Payer\.cap_total"),
    ({"shares": 1.0, "cap_per_period": (1.0, -2.0)}, r"Payer\.cap_per_period\[1\]"),
    ({"shares": 1.0, "contract_periods": 0}, r"Payer\.contract_periods"),
    ({"shares": 1.0, "name": ""}, r"Payer\.name"),
])
def test_payer_errors_name_the_field(kwargs, key):
    kwargs = {"name": "p", **kwargs}
    with pytest.raises((ValueError, TypeError), match=key):
        Payer(**kwargs)


def test_shares_of_each_metric_must_sum_to_one():
    with pytest.raises(ValueError, match=r"Deal\.payers\.shares\[long\]: got 0\.9; allowed: "
                                         r"shares of metric 'long' summing to 1 .*state 0\.5, "
                                         r"city 0\.4"):
        deal(payers=(STATE, Payer("city", {"long": 0.4})), municipality=RATE_ONLY)
    with pytest.raises(ValueError, match=r"Deal\.payers\.shares\[short\]: got 2\.0"):
        deal(payers=(STATE, Payer("fund", 1.0)), municipality=RATE_ONLY)
    # within 1e-9 of 1 is accepted: thirds
    third = [Payer(n, 1 / 3) for n in "abc"]
    assert len(deal(payers=third, municipality=RATE_ONLY).payers) == 3


def test_payer_names_unique_and_metrics_known():
    with pytest.raises(ValueError, match=r"Deal\.payers: .*unique payer names \(repeated: "
                                         r"state\)"):
        deal(payers=(STATE, Payer("state", {"long": 0.5})), municipality=RATE_ONLY)
    with pytest.raises(ValueError, match=r"Deal\.payers\[1\]\.shares: got \['lng'\]; allowed: "
                                         r"metrics of the contract"):
        deal(payers=(STATE, Payer("city", {"long": 0.5, "lng": 0.5})), municipality=RATE_ONLY)
    with pytest.raises(TypeError, match=r"Deal\.payers\[0\]"):
        deal(payers=("state",), municipality=RATE_ONLY)


def test_municipality_holds_only_the_discount_rate_alongside_payers():
    with pytest.raises(ValueError, match=r"Deal\.municipality: .*only discount_rate when "
                                         r"payers are given"):
        deal(payers=TWO)  # the default municipality has savings: they would count twice
    assert deal(payers=TWO, municipality=Municipality(discount_rate=0.05)).payers == TWO


def test_payers_need_a_priced_deal():
    with pytest.raises(ValueError, match=r"Deal\.payers: .*payers only in a priced deal"):
        Deal(scenario=scenario(), payers=(Payer("p", 1.0),))


def test_default_payer_is_the_commissioner_from_the_municipality():
    d = deal()
    (only,) = d.effective_payers
    assert only.name == "commissioner" and only.shares == 1.0
    assert only.saving_per_event == 2_500.0 and only.other_costs_per_period == 3_000.0
    assert deal(payers=TWO, municipality=RATE_ONLY).effective_payers == TWO


# ------------------------------------------------------------------------ the split
def payment_result(by_metric: np.ndarray, metrics: tuple[str, ...]) -> PaymentResult:
    d, m, _ = by_metric.shape
    return PaymentResult(total=by_metric.sum(axis=1), by_metric=by_metric,
                         by_trigger=np.zeros((d, 1)), beyond_horizon=np.zeros((d, m)),
                         metrics=metrics, currency="EUR", overflow="last")


amounts = hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.just(2), st.integers(1, 5)),
                     elements=st.floats(0.0, 1e6, allow_subnormal=False))
cap = st.one_of(st.none(), st.floats(0.0, 2e6, allow_subnormal=False))
# a payer's total cap of 0 is refused (tests/test_caps_positive.py); a period's may be 0
total_cap = st.one_of(st.none(), st.floats(0.0, 2e6, exclude_min=True, allow_subnormal=False))


@settings(max_examples=60)
@given(by_metric=amounts, raw=st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)),
                                       min_size=1, max_size=4),
       caps=st.lists(st.tuples(total_cap, cap), min_size=4, max_size=4))
def test_split_conserves_money_and_respects_payer_caps(by_metric, raw, caps):
    """Payments by payer sum to the total entering the waterfall; no payer pays above its
    caps or above its share; without payer caps the total is the contract's, bit for bit."""
    metrics = ("a", "b")
    w = np.array(raw) + 1e-3
    w = w / w.sum(axis=0)  # shares of each metric sum to 1 over the payers
    payers = [Payer(f"p{i}", {"a": float(w[i, 0]), "b": float(w[i, 1])},
                    cap_total=caps[i][0], cap_per_period=caps[i][1]) for i in range(len(raw))]
    pay = payment_result(by_metric, metrics)
    s = split_by_payer(payers, pay)
    scale = max(float(by_metric.sum()), 1.0)
    assert np.all(s.total >= 0.0) and np.all(s.paid >= 0.0)
    np.testing.assert_allclose(s.paid.sum(axis=1), s.total, rtol=0, atol=1e-9 * scale)
    assert np.all(s.paid <= s.due * (1 + 1e-12) + 1e-12)
    np.testing.assert_allclose(s.paid + s.unpaid, s.due)
    for i, p in enumerate(payers):
        if p.cap_total is not None:
            assert np.all(s.paid[:, i, :].sum(-1) <= p.cap_total * (1 + 1e-12) + 1e-9)
        if p.cap_per_period is not None:
            assert np.all(s.paid[:, i, :] <= p.cap_per_period)
    uncapped = [Payer(p.name, p.shares) for p in payers]
    free = split_by_payer(uncapped, pay)
    np.testing.assert_array_equal(free.total, pay.total)
    np.testing.assert_allclose(free.paid.sum(axis=1), pay.total, rtol=0, atol=1e-9 * scale)


def test_a_capped_payer_stops_paying_and_nobody_makes_it_up():
    pay = payment_result(np.array([[[60.0, 60.0, 60.0], [0.0, 0.0, 0.0]]]), ("a", "b"))
    s = split_by_payer([Payer("state", 0.5, cap_total=70.0, cap_per_period=40.0),
                        Payer("city", 0.5)], pay)
    assert s.paid[0, 0].tolist() == [30.0, 30.0, 10.0]  # per period 40 never binds; total 70
    assert s.paid[0, 1].tolist() == [30.0, 30.0, 30.0]
    assert s.total.tolist() == [[60.0, 60.0, 40.0]]
    assert s.unpaid[0, 0].tolist() == [0.0, 0.0, 20.0]
    s = split_by_payer([Payer("state", 1.0, cap_per_period=(50.0, 10.0, 100.0))], pay)
    assert s.paid[0, 0].tolist() == [50.0, 10.0, 60.0]  # a cut amount is not carried forward


# ------------------------------------------------------------------------ money and metrics
def test_one_payer_by_default_and_its_lines_are_the_totals(run):
    *_, one, _ = run
    assert one["payer"].values.tolist() == ["commissioner"]
    for total, by in (("outcome_payments", "payments_by_payer"),
                      ("cashable_savings", "cashable_savings_by_payer"),
                      ("wider_value", "wider_value_by_payer"),
                      ("net_savings", "net_savings_by_payer")):
        np.testing.assert_array_equal(one[by].sel(payer="commissioner").values,
                                      one[total].values)
    assert not one["unpaid_by_payer"].values.any()


def test_two_payers_without_caps_leave_the_totals_unchanged(run):
    """The state (all of "short", half of "long") and the city (half of "long") with savings
    adding up to the commissioner's: every total is the single commissioner's."""
    *_, one, two = run
    assert two["payer"].values.tolist() == ["state", "city"]
    for var in ("outcome_payments", "flow", "drawdown", "investor_received",
                "payments_by_metric", "avoided_events"):
        np.testing.assert_array_equal(two[var].values, one[var].values, err_msg=var)
    for var in ("cashable_savings", "wider_value", "commissioner_other_costs", "net_savings"):
        np.testing.assert_allclose(two[var].values, one[var].values, rtol=1e-12, atol=1e-6,
                                   err_msg=var)
    # the split follows the shares, metric by metric
    by_metric = two["payments_by_metric"]
    np.testing.assert_allclose(two["payments_by_payer"].sel(payer="state").values,
                               by_metric.sel(metric="short").values
                               + 0.5 * by_metric.sel(metric="long").values, atol=1e-6)
    np.testing.assert_allclose(two["payments_by_payer"].sel(payer="city").values,
                               0.5 * by_metric.sel(metric="long").values, atol=1e-6)
    # both metrics pay in some draws
    assert (by_metric.sum(("draw", "period")).values > 0).all()


def test_each_payer_saves_by_its_own_rates(run):
    *_, two = run
    avoided = two["avoided_events"].values
    cash = two["cashable_savings_by_payer"]
    np.testing.assert_allclose(cash.sel(payer="state").values, 1_500.0 * avoided)
    np.testing.assert_allclose(cash.sel(payer="city").values, 1_000.0 * avoided)
    np.testing.assert_allclose(two["wider_value_by_payer"].sel(payer="city").values, 0.0)
    assert two["other_costs_by_payer"].sel(payer="city").values.tolist() == [1_000.0] * 5
    for p in ("state", "city"):
        # net = own savings - own costs + its waterfall flow: between -its payments and 0
        paid = two["payments_by_payer"].sel(payer=p).values
        flow = (two["net_savings_by_payer"].sel(payer=p).values - cash.sel(payer=p).values
                + two["other_costs_by_payer"].sel(payer=p).values)
        assert np.all(flow <= 1e-6) and np.all(flow >= -paid - 1e-6)
    np.testing.assert_allclose(two["net_savings_by_payer"].sum("payer").values,
                               two["net_savings"].values, rtol=1e-12, atol=1e-6)


def test_a_binding_payer_cap_cuts_what_the_investors_receive(run):
    ds, cf, one, _ = run
    capped = (Payer("state", {"short": 1.0, "long": 0.5}, saving_per_event=1_500.0,
                    cap_total=50_000.0), CITY)
    money = money_flows(deal(payers=capped, municipality=RATE_ONLY), ds, cf=cf)
    paid = money["payments_by_payer"].sel(payer="state").sum("period").values
    assert paid.max() <= 50_000.0 * (1 + 1e-12)
    unpaid = money["unpaid_by_payer"].sum(("payer", "period")).values
    assert (unpaid > 0).any()
    # money conserved: what the payers pay is what enters the waterfall
    np.testing.assert_allclose(money["payments_by_payer"].sum("payer").values,
                               money["outcome_payments"].values, atol=1e-6)
    np.testing.assert_allclose(money["outcome_payments"].sum("period").values,
                               one["outcome_payments"].sum("period").values - unpaid, atol=1e-6)
    # less to share: the investors receive less on average (not in every draw: a claim left
    # unpaid keeps earning its target return and may be paid later, from payments that would
    # otherwise have come back to the public side as excess)
    got = money["investor_received"].sum(("tranche", "period")).values
    before = one["investor_received"].sum(("tranche", "period")).values
    assert got.mean() < before.mean() and (got < before - 1).any()
    flow = money["flow"].values
    assert np.all(np.abs(flow.sum(axis=1)) <= 1e-6 * np.maximum(np.abs(flow).sum(axis=1), 1))


def test_excess_returned_is_shared_in_proportion_to_payments(run):
    """A small capital commitment whose claim is met early: outcome payments beyond it come
    back to the public side, shared among the payers by what each paid in the period."""
    ds, cf, *_ = run
    money = money_flows(deal(payers=TWO, municipality=RATE_ONLY, commitment=100_000.0), ds,
                        cf=cf)
    com = money["flow"].sel(party="commissioner").values
    pay = money["outcome_payments"].values
    assert ((com + pay) > 1.0).any()  # some excess is returned
    by = money["payments_by_payer"].values
    flows = (money["net_savings_by_payer"] - money["cashable_savings_by_payer"]
             + money["other_costs_by_payer"]).values
    np.testing.assert_allclose(flows.sum(axis=1), com, atol=1e-6)
    with np.errstate(invalid="ignore", divide="ignore"):
        want = np.where(pay[:, None, :] > 0, com[:, None, :] * by / pay[:, None, :], 0.0)
    np.testing.assert_allclose(flows, want, atol=1e-6)


def test_metrics_give_each_payer_its_budget_line(run):
    *_, one, two = run
    m1, m2 = municipality_metrics(one), municipality_metrics(two)
    np.testing.assert_array_equal(m1["npv_net_savings_by_payer"].sel(payer="commissioner"),
                                  m1["npv_net_savings"])
    np.testing.assert_array_equal(m1["net_loss_by_payer"].sel(payer="commissioner"),
                                  m1["net_loss"])
    for peak in ("peak_annual_net_budget_need", "peak_annual_gross_payments"):
        np.testing.assert_array_equal(m1[f"{peak}_by_payer"].sel(payer="commissioner"),
                                      m1[peak])
    assert m2["npv_net_savings_by_payer"].dims == ("draw", "payer")
    np.testing.assert_allclose(m2["npv_net_savings_by_payer"].sum("payer"),
                               m2["npv_net_savings"], rtol=1e-9, atol=1e-3)
    np.testing.assert_allclose(m2["payments_by_payer"].sum("payer"),
                               two["outcome_payments"].sum("period"), atol=1e-6)
    net = two["net_savings_by_payer"].sum("period")
    np.testing.assert_array_equal(m2["net_loss_by_payer"].values,
                                  (net.values < 0).astype(np.int8))
    # the city saves 1,000 per event and pays half of "long": it loses in some draws only
    assert 0 < float(m2["net_loss_by_payer"].sel(payer="city").mean()) < 1
    assert (m2["peak_annual_net_budget_need_by_payer"].values >= 0).all()
    # gross peaks: no payer's largest year exceeds the largest year of all payers together
    assert (m2["peak_annual_gross_payments_by_payer"].max("payer")
            <= m2["peak_annual_gross_payments"] * (1 + 1e-12)).all()


def test_report_has_one_line_per_payer():
    two = deal(payers=TWO, municipality=RATE_ONLY)
    res = analyse(two, draws=60, seed=SEED, progress=False, with_breakeven=False)
    text = describe(res, two)
    assert "\nPayers\n" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("  state: pays mean"))
    assert "saves mean" in line and "pays more than it saves in" in line
    assert "  city: pays mean" in text
    one = deal()
    assert "\nPayers\n" not in describe(analyse(one, draws=60, seed=SEED, progress=False,
                                                with_breakeven=False), one)


# ------------------------------------------------------------------------ TOML
TOML = """
horizon = 5
currency = "GBP"
[cohort]
entry = [150, 150]
[outcome]
kind = "counts"
rate = 1.2
[effect]
measure = "rr"
value = 0.8
[comparison]
ratio = 2
[[evaluation]]
metric = "short"
[[evaluation]]
metric = "long"
window = 2
per_wave = false
[contract]
[[contract.terms]]
metric = "short"
rule = {kind = "price_per_unit", price = 4_000}
[[contract.terms]]
metric = "long"
rule = {kind = "price_per_unit", price = 2_000}
[capital]
[[capital.tranches]]
name = "senior"
commitment = 400_000
[municipality]
discount_rate = 0.05
[[payers]]
name = "state"
shares = {short = 1.0, long = 0.5}
saving_per_event = 1_500
cap_per_period = [100, 200, 300, 400, 500]
[[payers]]
name = "city"
shares = {long = 0.5}
saving_per_person_period = {}
cap_total = 1_000_000
"""


def test_payers_from_toml_equal_the_python_payers():
    d = parse_scenario(tomllib.loads(TOML), "p.toml")
    assert d.payers == (
        Payer("state", {"short": 1.0, "long": 0.5}, saving_per_event=1_500.0,
              cap_per_period=(100.0, 200.0, 300.0, 400.0, 500.0)),
        Payer("city", {"long": 0.5}, cap_total=1e6))
    assert d.municipality == Municipality(discount_rate=0.05)
    no_payers = TOML[:TOML.index("[municipality]")]
    assert parse_scenario(tomllib.loads(no_payers), "p.toml").payers == ()


@pytest.mark.parametrize(("change", "key", "problem"), [
    (("shares = {long = 0.5}", "shares = {long = 0.4}"), "payers",
     r"Deal\.payers\.shares\[long\]: got 0\.9"),
    (('name = "city"', 'name = "state"'), "payers", "repeated: state"),
    (("shares = {long = 0.5}", "shares = {long = 0.5, lng = 0}"), "payers",
     r"Deal\.payers\[1\]\.shares"),
    (("cap_total = 1_000_000", "cap_totl = 1"), r"payers\[1\]\.cap_totl", "unknown key"),
    (("shares = {long = 0.5}", "shares = 50"), r"payers\[1\]", "write 0.5 for 50%"),
    (("shares = {long = 0.5}\n", ""), r"payers\[1\]\.shares", "required"),
    (("discount_rate = 0.05", "discount_rate = 0.05\nsaving_per_event = 9"),
     r"municipality\.saving_per_event", r"holds only discount_rate"),
])
def test_toml_errors_name_the_key(change, key, problem):
    text = TOML.replace(*change)
    assert text != TOML
    with pytest.raises(ScenarioFileError, match=rf"p\.toml: key '{key}': .*{problem}"):
        parse_scenario(tomllib.loads(text), "p.toml")


def test_toml_payers_must_be_tables():
    text = "payers = []\n" + TOML[:TOML.index("[[payers]]")]
    with pytest.raises(ScenarioFileError, match=r"key 'payers': expected one or more"):
        parse_scenario(tomllib.loads(text), "p.toml")


def test_check_payers_alone():
    check_payers([Payer("a", 0.25), Payer("b", 0.75)], ["x", "y"], Municipality())


def test_a_scenario_file_payer_may_pay_the_rate_cards():
    """[[payers]] shares name rate cards as well as metrics (the file reader checks them
    against every payment label, as Deal does): Chicago's City pays the two rate cards,
    the schools the special-education metric."""
    import sibsim

    deal = sibsim.load_scenario("chicago-cpc")
    schools, city = deal.payers
    assert deal.contract.rate_card_names == ("kindergarten_ready", "third_grade_literacy")
    assert city.share_of("kindergarten_ready") == city.share_of("third_grade_literacy") == 1.0
    assert city.share_of("special_education") == 0.0
    assert schools.share_of("special_education") == 1.0
    res = sibsim.analyse(deal, draws=20, seed=1, progress=False, with_breakeven=False)
    by = res.money["payments_by_metric"].sum(("draw", "period"))
    paid = res.money["payments_by_payer"].sum(("draw", "period"))
    cards = float(by.sel(metric=["kindergarten_ready", "third_grade_literacy"]).sum())
    assert cards > 0
    assert float(paid.sel(payer="City of Chicago")) == pytest.approx(cards)


def test_the_single_payer_of_a_municipality_carries_every_saving_and_cost():
    m = Municipality(saving_per_event=2_500.0, wider_value_per_event=700.0,
                     saving_per_person_period={"care": 900.0},
                     wider_value_per_person_period={"care": 50.0},
                     other_costs_per_period=1_000.0, contract_periods=3)
    payer = Payer.from_municipality(m, name="city")
    assert (payer.name, payer.shares) == ("city", 1.0)
    assert payer.saving_per_event == 2_500.0 and payer.wider_value_per_event == 700.0
    assert payer.saving_per_person_period == {"care": 900.0}
    assert payer.wider_value_per_person_period == {"care": 50.0}
    assert payer.other_costs_per_period == 1_000.0 and payer.contract_periods == 3


def test_each_payers_flow_is_its_part_of_what_was_paid_in_the_period():
    from sibsim.money.payers import PayerSplit

    paid = np.array([[[30.0, 0.0, 5.0, 0.2], [10.0, 0.0, 15.0, 0.6]]])  # (D=1, Y=2, P=4)
    split = PayerSplit(("state", "city"), due=paid, paid=paid, total=paid.sum(1))
    flows = split.flows(np.array([[-40.0, 8.0, -20.0, -0.8]]))
    # period 1: nothing paid, so no part of the returned excess; others: pro rata to paid
    np.testing.assert_allclose(flows, [[[-30.0, 0.0, -5.0, -0.2], [-10.0, 0.0, -15.0, -0.6]]],
                               rtol=1e-12)


def test_payer_savings_value_each_payers_avoided_outcomes_at_its_own_rates():
    from sibsim.money.payers import payer_savings
    from sibsim.money.uncertain import per_draw

    state = Payer("state", 0.7, saving_per_event=100.0, wider_value_per_event=10.0,
                  other_costs_per_period=5.0)
    city = Payer("city", 0.3, saving_per_event=40.0, saving_per_person_period={"care": 3.0},
                 other_costs_per_period=2.0, contract_periods=1)
    avoided = np.array([[1.0, 2.0], [3.0, 0.0]])  # (D=2, P=2)
    care = {"care": np.array([[10.0, 0.0], [0.0, 20.0]])}
    cash, wider, other = payer_savings((state, city), avoided, care, 2)
    np.testing.assert_allclose(cash[:, 0], [[100.0, 200.0], [300.0, 0.0]])
    np.testing.assert_allclose(cash[:, 1], [[70.0, 80.0], [120.0, 60.0]])
    np.testing.assert_allclose(wider[:, 0], [[10.0, 20.0], [30.0, 0.0]])
    np.testing.assert_allclose(wider[:, 1], 0.0)
    assert cash.shape == wider.shape == (2, 2, 2) and other.shape == (2, 2)  # (D, Y, P), (Y, P)
    np.testing.assert_array_equal(other, [[5.0, 5.0], [2.0, 0.0]])
    # several outcome processes: avoided events by process, valued at each payer's amounts
    by_process = Payer("state", 1.0, saving_per_event={"crime": 100.0, "care": 1.0})
    cash, _, _ = payer_savings((by_process,), {"crime": avoided, "care": 2 * avoided}, {}, 2)
    np.testing.assert_allclose(cash[:, 0], 102.0 * avoided)
    # a payer's own costs uncertain (resolved per draw): costs per draw, payer and period
    city_uncertain = Payer("city", 0.3, other_costs_per_period=per_draw([2.0, 4.0]))
    *_, other = payer_savings((state, city_uncertain), avoided, {}, 2)
    np.testing.assert_array_equal(other, [[[5.0, 5.0], [2.0, 2.0]], [[5.0, 5.0], [4.0, 4.0]]])
