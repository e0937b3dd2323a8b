"""Tests of sibsim.money.capital and sibsim.money.cashflows: worked waterfalls by hand, property
tests, the guarantee registry and reading from TOML."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sibsim.money.capital import (
    GUARANTEES,
    CapitalStructure,
    Fees,
    FirstLossGuarantee,
    Guarantee,
    ProRataGuarantee,
    ServiceCosts,
    Tranche,
)
from sibsim.money.cashflows import CashFlows, waterfall
from sibsim.money.kernels.waterfall import ExcessTo, GuaranteeMode
from sibsim.spec.toml import KeyProblem, Section


def two_tranches(guarantee: Guarantee | None = None, **kw) -> CapitalStructure:
    """Senior 600 at 5% per period, junior 400 at 10% per period."""
    return CapitalStructure(
        (Tranche("senior", 600.0, 1, 0.05), Tranche("junior", 400.0, 2, 0.10)),
        guarantee=guarantee,
        **kw,
    )


COSTS = [500.0, 300.0, 0.0]
# Worked by hand:
# t0: draw 500 -> senior 300, junior 200.       claims S 300, J 200
# t1: accrue -> S 315, J 220; draw 300 -> S +180, J +120.   claims S 495, J 340
# t2: accrue -> S 519.75, J 374; drawn: S 480, J 320.


def test_two_tranches_outcome_payments_repay_senior_then_junior():
    cf = waterfall(two_tranches(), COSTS, [0.0, 0.0, 700.0])
    # t2: senior claim 519.75 paid in full; junior gets the remaining 180.25
    s, j = cf.party("senior")[0], cf.party("junior")[0]
    np.testing.assert_allclose(s, [-300.0, -180.0, 519.75])
    np.testing.assert_allclose(j, [-200.0, -120.0, 180.25])
    np.testing.assert_allclose(cf.party("commissioner")[0], [0.0, 0.0, -700.0])
    np.testing.assert_allclose(cf.party("provider")[0], [500.0, 300.0, 0.0])
    np.testing.assert_allclose(cf.outstanding[0, :, 2], [0.0, 374.0 - 180.25])
    np.testing.assert_allclose(cf.guarantee_paid, [[0.0, 0.0]])


def test_two_tranches_with_first_loss_guarantee_of_the_senior():
    # 300 of outcome payments: senior receives 300 of 480 drawn, loss 180. The guarantee
    # covers senior losses up to 50% of 480 = 240: pays 180. Junior loses its 320.
    g = FirstLossGuarantee("Foundation", 0.5, covers=("senior",))
    cf = waterfall(two_tranches(g), COSTS, [0.0, 0.0, 300.0])
    expected = np.array(
        [
            [0.0, 0.0, -300.0],  # commissioner
            [-300.0, -180.0, 300.0 + 180.0],  # senior
            [-200.0, -120.0, 0.0],  # junior
            [0.0, 0.0, -180.0],  # guarantor
            [500.0, 300.0, 0.0],  # provider
            [0.0, 0.0, 0.0],  # intermediary
        ]
    )
    np.testing.assert_allclose(cf.flows[0], expected)
    np.testing.assert_allclose(cf.guarantee_paid[0], [180.0, 0.0])
    np.testing.assert_allclose(cf.investor()[0], expected[1] + expected[2])


def test_guarantee_limit_and_pro_rata_and_whole_structure_first_loss():
    pay = [0.0, 0.0, 300.0]  # losses: senior 180, junior 320
    limited = waterfall(two_tranches(FirstLossGuarantee("F", 0.25, covers=("senior",))), COSTS,
                        pay)
    np.testing.assert_allclose(limited.guarantee_paid[0], [120.0, 0.0])  # 25% of 480
    pro_rata = waterfall(
        two_tranches(ProRataGuarantee("F", 0.5, covers=("senior",))), COSTS, pay
    )
    np.testing.assert_allclose(pro_rata.guarantee_paid[0], [90.0, 0.0])  # 50% of 180
    # first loss over both tranches: limit min(25% of 800, 190) = 190, senior losses first
    whole = waterfall(
        two_tranches(FirstLossGuarantee("F", 0.25, covers="first_loss", cap=190.0)), COSTS, pay
    )
    np.testing.assert_allclose(whole.guarantee_paid[0], [180.0, 10.0])
    np.testing.assert_allclose(whole.party("guarantor")[0], [0.0, 0.0, -190.0])


def test_nyc_able_guarantee_when_no_outcome_payment():
    # USD 9.6M senior loan, USD 7.2M first-loss guarantee (75%); no outcome payment:
    # the guarantor pays 7.2M and the lender loses 2.4M.
    cs = CapitalStructure(
        (Tranche("senior", 9.6e6),),
        guarantee=FirstLossGuarantee("Bloomberg Philanthropies", 0.75, covers=("senior",)),
        currency="USD",
    )
    cf = waterfall(cs, [3.2e6, 3.2e6, 3.2e6, 0.0], [0.0, 0.0, 0.0, 0.0])
    assert cf.investor("senior")[0].sum() == pytest.approx(-2.4e6)
    assert cf.party("guarantor")[0, -1] == pytest.approx(-7.2e6)
    breakeven = waterfall(cs, [3.2e6, 3.2e6, 3.2e6, 0.0], [0.0, 0.0, 0.0, 9.6e6])
    assert breakeven.investor()[0].sum() == pytest.approx(0.0)
    assert breakeven.guarantee_paid.sum() == 0.0


def test_equal_seniority_shares_pro_rata_to_claims():
    cs = CapitalStructure((Tranche("a", 50.0, 1, 0.0), Tranche("b", 50.0, 1, 0.10)))
    cf = waterfall(cs, [100.0, 0.0], [0.0, 21.0])  # claims 50 and 55 at t1
    np.testing.assert_allclose(cf.distribution[0, :, 1], [10.0, 11.0])


def test_return_cap_and_excess_rules():
    costs, pay = [100.0, 0.0], [0.0, 200.0]
    tranche = Tranche("impact_fund", 100.0, 1, 0.0, return_cap=1.5)
    to_investors = waterfall(CapitalStructure((tranche,), excess_to="investors"), costs, pay)
    # claim 100 repaid, excess 100: the return cap lets the fund take 50 more
    np.testing.assert_allclose(to_investors.party("impact_fund")[0], [-100.0, 150.0])
    np.testing.assert_allclose(to_investors.party("commissioner")[0], [0.0, -150.0])
    to_provider = waterfall(CapitalStructure((tranche,), excess_to="provider"), costs, pay)
    np.testing.assert_allclose(to_provider.party("provider")[0], [100.0, 100.0])
    np.testing.assert_allclose(to_provider.party("commissioner")[0], [0.0, -200.0])
    to_commissioner = waterfall(CapitalStructure((tranche,)), costs, pay)
    np.testing.assert_allclose(to_commissioner.party("commissioner")[0], [0.0, -100.0])


def test_return_cap_limits_the_claim_itself():
    cs = CapitalStructure((Tranche("s", 100.0, 1, 0.5, return_cap=1.2), Tranche("j", 100.0, 2)))
    cf = waterfall(cs, [200.0, 0.0], [0.0, 1000.0])
    # senior claim 150 but capped at 120; junior 100; 780 back to the commissioner
    np.testing.assert_allclose(cf.distribution[0, :, 1], [120.0, 100.0])
    np.testing.assert_allclose(cf.outstanding[0, :, 1], [30.0, 0.0])
    np.testing.assert_allclose(cf.party("commissioner")[0], [0.0, -220.0])


def test_fees_and_costs_beyond_the_commitment_are_unfunded():
    cs = CapitalStructure((Tranche("s", 100.0),), fees=Fees(10.0, 0.01))
    cf = waterfall(cs, [80.0, 50.0], [0.0, 0.0])
    # t0: fee 10, need 90, drawn 90. t1: fee 10 + 1% of 90 = 10.9, need 60.9, room 10:
    # 10 funds service costs first; 50.9 unfunded.
    np.testing.assert_allclose(cf.drawdown_total[0], [90.0, 10.0])
    np.testing.assert_allclose(cf.party("provider")[0], [80.0, 10.0])
    np.testing.assert_allclose(cf.party("intermediary")[0], [10.0, 0.0])
    np.testing.assert_allclose(cf.unfunded[0], [0.0, 50.9])


def test_drawdowns_are_pro_rata_to_commitments():
    cs = CapitalStructure((Tranche("senior", 4.6e6, 1), Tranche("junior", 2.4e6, 2)))
    cf = waterfall(cs, [[1e6, 2e6]], [[0.0, 0.0]])
    np.testing.assert_allclose(cf.drawdown[0, :, 1], [2e6 * 4.6 / 7, 2e6 * 2.4 / 7])


def test_service_costs():
    costs = ServiceCosts(fixed_per_period=(100.0, 50.0, 0.0), per_participant=10.0)
    np.testing.assert_allclose(costs.cost([[1, 2, 3], [0, 0, 0]]), [[110, 70, 30], [100, 50, 0]])
    np.testing.assert_allclose(ServiceCosts(5.0).cost([0, 0]), [[5.0, 5.0]])
    with pytest.raises(ValueError, match="fixed_per_period"):
        costs.cost([[1, 2]])
    with pytest.raises(ValueError, match="participants_served"):
        costs.cost([[1, -2, 3]])


def test_accepts_a_payment_result_and_broadcasts_1d_costs():
    class Result:  # what Contract.outcome_payments returns, as far as waterfall cares
        total = np.array([[0.0, 150.0], [0.0, 50.0]])

    cf = waterfall(CapitalStructure((Tranche("s", 100.0),)), [100.0, 0.0], Result())
    np.testing.assert_allclose(cf.investor(), [[-100.0, 100.0], [-100.0, 50.0]])


def test_dataset_and_accessors():
    cf = waterfall(two_tranches(FirstLossGuarantee("F", 0.5)), COSTS, [[0.0, 0.0, 300.0]] * 2)
    ds = cf.to_dataset()
    assert ds["flow"].dims == ("draw", "party", "period")
    assert list(ds["party"].values) == list(cf.parties)
    assert cf.parties == (
        "commissioner",
        "senior",
        "junior",
        "guarantor",
        "provider",
        "intermediary",
    )
    for name in ds.data_vars:
        assert ds[name].attrs["units"] == "EUR"
        assert ds[name].attrs["description"]
    np.testing.assert_allclose(ds["flow"].sum("party"), 0.0, atol=1e-9)
    with pytest.raises(ValueError, match=r"CashFlows\.investor\.tranche"):
        cf.investor("mezzanine")
    with pytest.raises(ValueError, match=r"CashFlows\.party\.name"):
        cf.party("investor")
    with pytest.raises(ValueError):
        cf.flows[0, 0, 0] = 1.0  # read-only


@pytest.mark.parametrize(
    ("build", "exc", "fragments"),
    [
        (lambda: Tranche("s", 0.0), ValueError, ["Tranche.commitment", "0.0", "(0, inf]"]),
        (lambda: Tranche("s", 1.0, seniority=0), ValueError, ["Tranche.seniority", "0"]),
        (lambda: Tranche("s", 1.0, seniority=1.5), TypeError, ["Tranche.seniority", "1.5"]),
        (lambda: Tranche("s", 1.0, return_cap=0.9), ValueError, ["Tranche.return_cap", "[1, inf]"]),
        (lambda: Tranche("provider", 1.0), ValueError, ["Tranche.name", "provider"]),
        (
            lambda: FirstLossGuarantee("F", 1.5),
            ValueError,
            ["Guarantee.share_of_principal", "1.5"],
        ),
        (lambda: ProRataGuarantee("F", 0.5, covers=()), ValueError, ["Guarantee.covers"]),
        (lambda: Fees(-1.0), ValueError, ["Fees.intermediary_per_period", "-1.0"]),
        (lambda: ServiceCosts(per_participant=-5.0), ValueError, ["ServiceCosts.per_participant"]),
        (lambda: CapitalStructure(()), TypeError, ["CapitalStructure.tranches"]),
        (
            lambda: CapitalStructure((Tranche("a", 1.0), Tranche("a", 2.0))),
            ValueError,
            ["CapitalStructure.tranches", "unique"],
        ),
        (
            lambda: CapitalStructure((Tranche("a", 1.0),), guarantee=FirstLossGuarantee("F", 0.5)),
            ValueError,
            ["CapitalStructure.guarantee.covers", "senior"],
        ),
        (
            lambda: CapitalStructure((Tranche("a", 1.0),), excess_to="charity"),
            ValueError,
            ["CapitalStructure.excess_to", "charity"],
        ),
    ],
)
def test_invalid_specifications_name_field_value_and_allowed(build, exc, fragments):
    with pytest.raises(exc) as info:
        build()
    for fragment in fragments:
        assert fragment in str(info.value)


def test_invalid_waterfall_inputs():
    cs = CapitalStructure((Tranche("s", 1.0),))
    # the one message form: the field, the value (as an array of draws by periods), what is
    # allowed, with the shapes' letters as the docstring writes them
    allowed = (r"; allowed: finite amounts >= 0 shaped \(D, P\) or \(P,\), D >= 1 and "
               r"P >= 1$")
    with pytest.raises(ValueError, match=r"^waterfall\.outcome_payments: got array\(\[\[-1\., "
                                         r" 0\.\]\]\)" + allowed):
        waterfall(cs, [1.0, 1.0], [-1.0, 0.0])
    with pytest.raises(ValueError, match=r"^waterfall\.service_costs: got array\(\[\[nan,  "
                                         r"1\.\]\]\)" + allowed):
        waterfall(cs, [np.nan, 1.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="service_costs"):
        waterfall(cs, [1.0, 1.0, 1.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="outcome_payments"):
        waterfall(cs, np.zeros((2, 3)), np.zeros((2, 0)))
    with pytest.raises(TypeError, match="structure"):
        waterfall("senior", [1.0], [1.0])


def test_large_run_conserves_money():
    """(Its speed is measured in benchmarks/bench_end_to_end.py, not here.)"""
    rng = np.random.default_rng(1)
    d, p = 100_000, 10
    cs = CapitalStructure(
        (Tranche("senior", 6e6, 1, 0.05, 1.6), Tranche("junior", 2e6, 2, 0.10)),
        guarantee=FirstLossGuarantee("F", 0.5, covers="first_loss"),
        fees=Fees(5e4, 0.01),
        excess_to="investors",
    )
    costs, pay = rng.uniform(0, 1.2e6, (d, p)), rng.gamma(2.0, 5e5, (d, p))
    cf = waterfall(cs, costs, pay)
    assert np.abs(cf.flows.sum(axis=1)).max() < 1e-6
    assert (cf.flows != 0).any()


# --------------------------------------------------------------------------------------
# guarantee kinds, lowering to the kernel, reading from TOML
# --------------------------------------------------------------------------------------


def read_capital(text: str, currency: str = "GBP") -> CapitalStructure:
    return CapitalStructure.from_toml(Section("capital", tomllib.loads(text)), currency=currency)


TRANCHES_TOML = """
excess_to = "investors"
[[tranches]]
name = "senior"
commitment = 600
target_return = 0.05
[[tranches]]
name = "junior"
commitment = 400
seniority = 2
return_cap = 1.5
"""


def test_guarantee_registry_and_lowering():
    assert GUARANTEES.names() == ("first_loss", "pro_rata")
    assert GUARANTEES["first_loss"] is FirstLossGuarantee
    assert GUARANTEES["pro_rata"] is ProRataGuarantee
    with pytest.raises(ValueError, match=r"guarantee kind: got 'partial'; allowed: one of 'first"):
        GUARANTEES["partial"]
    with pytest.raises(TypeError, match=r"Guarantee is not a guarantee kind.*FirstLossGuarantee"):
        Guarantee("F", 0.5)
    names = ("senior", "junior")
    first = FirstLossGuarantee("F", 0.5, covers="first_loss").lower(names)
    assert first.mode == GuaranteeMode.FIRST_LOSS
    assert first.covered.tolist() == [True, True]
    assert (first.share, first.cap) == (0.5, math.inf)
    pro = ProRataGuarantee("F", 0.25, covers="junior", cap=10.0).lower(names)
    assert pro.mode == GuaranteeMode.PRO_RATA
    assert pro.covered.tolist() == [False, True]
    assert (pro.share, pro.cap) == (0.25, 10.0)
    arrays = two_tranches(excess_to="provider").lower(n_periods=3)
    assert arrays.guarantee.mode == GuaranteeMode.NONE
    assert arrays.excess_to == ExcessTo.PROVIDER
    assert arrays.fees.fixed.tolist() == [0.0, 0.0, 0.0]


def test_capital_structure_from_toml_matches_the_constructor():
    cs = read_capital(TRANCHES_TOML + """
[guarantee]
kind = "pro_rata"
funder = "Foundation"
share_of_principal = 0.5
covers = ["senior", "junior"]
cap = 100
[fees]
intermediary_per_period = [10, 10, 0]
management_rate_on_drawn = 0.01
""")
    assert cs == CapitalStructure(
        (Tranche("senior", 600.0, target_return=0.05),
         Tranche("junior", 400.0, seniority=2, return_cap=1.5)),
        guarantee=ProRataGuarantee("Foundation", 0.5, covers=("senior", "junior"), cap=100.0),
        fees=Fees((10.0, 10.0, 0.0), 0.01),
        excess_to="investors",
        currency="GBP",
    )
    minimal = read_capital('[[tranches]]\nname = "s"\ncommitment = 1\n', currency="USD")
    assert minimal == CapitalStructure((Tranche("s", 1.0),), currency="USD")


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('kind = "first_loss"', FirstLossGuarantee),
        ('kind = "pro_rata"', ProRataGuarantee),
        ("", FirstLossGuarantee),  # the default kind
    ],
)
def test_each_guarantee_kind_reads_from_toml(table, expected):
    cs = read_capital(TRANCHES_TOML + f"""
[guarantee]
{table}
funder = "F"
share_of_principal = 0.75
""")
    assert type(cs.guarantee) is expected
    assert cs.guarantee == expected("F", 0.75, covers=("senior",))


@pytest.mark.parametrize(("flag", "expected"), [("true", ProRataGuarantee),
                                               ("false", FirstLossGuarantee)])
def test_deprecated_pro_rata_key_is_still_read(flag, expected):
    text = TRANCHES_TOML + f'[guarantee]\nfunder = "F"\nshare_of_principal = 0.5\npro_rata = {flag}'
    with pytest.warns(FutureWarning, match=r"capital\.guarantee\.pro_rata is deprecated"):
        cs = read_capital(text)
    assert type(cs.guarantee) is expected


@pytest.mark.parametrize(
    ("extra", "key", "fragments"),
    [
        ('[guarantee]\nkind = "partial"\nfunder = "F"\nshare_of_principal = 0.5',
         "capital.guarantee.kind", ["'partial'", "'first_loss', 'pro_rata'"]),
        ('[guarantee]\nkind = "pro_rata"\npro_rata = true\nfunder = "F"\n'
         "share_of_principal = 0.5", "capital.guarantee.pro_rata", ["deprecated", "kind"]),
        ('[guarantee]\npro_rata = 1\nfunder = "F"\nshare_of_principal = 0.5',
         "capital.guarantee.pro_rata", ["true or false"]),
        ('[guarantee]\nfunder = "F"\nshare_of_principal = 0.5\ncovers = ["mezzanine"]',
         "capital", ["CapitalStructure.guarantee.covers", "mezzanine"]),
        ('[guarantee]\nfunder = "F"\nshare_of_principal = 0.5\nshare = 1',
         "capital.guarantee.share", ["unknown key"]),
        ("[fees]\nmanagement_rate_on_drawn = 5", "capital.fees",
         ["Fees.management_rate_on_drawn", "0.05"]),
    ],
)
def test_toml_problems_name_the_key(extra, key, fragments):
    with pytest.raises(KeyProblem) as info:
        read_capital(TRANCHES_TOML + extra)
    assert info.value.key == key
    for fragment in fragments:
        assert fragment in info.value.problem


def test_currency_comes_from_the_scenario():
    assert read_capital(TRANCHES_TOML, currency="USD").currency == "USD"
    with pytest.raises(KeyProblem) as info:
        read_capital('currency = "USD"\n' + TRANCHES_TOML)
    assert info.value.key == "capital.currency"
    assert "top-level 'currency'" in info.value.problem


def test_tranche_toml_problems_name_the_tranche():
    with pytest.raises(KeyProblem) as info:
        read_capital('[[tranches]]\nname = "s"\ncommitment = 1\ntarget_return = 13\n')
    assert info.value.key == "capital.tranches[0]"
    assert "Tranche.target_return: got 13" in info.value.problem
    assert "write 0.13 for 13%" in info.value.problem
    with pytest.raises(KeyProblem) as info:
        read_capital('[[tranches]]\nname = "s"\ncommitment = 1\nsenority = 2\n')
    assert info.value.key == "capital.tranches[0].senority"
    assert info.value.problem == ("unknown key (allowed here: commitment, name, return_cap, "
                                  "seniority, target_return)")
    with pytest.raises(KeyProblem, match="unknown key"):  # a tranche is not a variant
        read_capital('[[tranches]]\nkind = "senior"\nname = "s"\ncommitment = 1\n')
    with pytest.raises(KeyProblem) as info:
        read_capital('[[tranches]]\nname = "s"\n')
    assert info.value.key == "capital.tranches[0].commitment"
    with pytest.raises(KeyProblem) as info:
        read_capital('excess_to = "provider"\n')
    assert info.value.key == "capital.tranches"
    with pytest.raises(KeyProblem) as info:
        read_capital("tranches = []\n")
    assert "[[capital.tranches]]" in info.value.problem


@pytest.mark.parametrize(
    ("build", "field", "suggestion"),
    [
        (lambda: Tranche("s", 1.0, target_return=13), "Tranche.target_return", "0.13"),
        (lambda: Fees(management_rate_on_drawn=2), "Fees.management_rate_on_drawn", "0.02"),
        (lambda: ProRataGuarantee("F", 75), "ProRataGuarantee.share_of_principal", "0.75"),
    ],
)
def test_percent_written_for_a_fraction_is_refused_with_the_fraction(build, field, suggestion):
    with pytest.raises(ValueError, match=rf"{field}: got .*; allowed: .*write {suggestion} for"):
        build()


# --------------------------------------------------------------------------------------
# an independent scalar reference implementation of the documented rules
# --------------------------------------------------------------------------------------


def headroom(tranche: Tranche, drawn: float, received: float) -> float:
    """Return-cap headroom of one tranche."""
    if tranche.return_cap is None:
        return math.inf
    return tranche.return_cap * drawn - received


def reference_flows(cs: CapitalStructure, costs: np.ndarray, pay: np.ndarray) -> np.ndarray:
    """Plain-Python waterfall, one draw at a time, from the rules in docs/money.md."""
    tr = cs.tranches
    total_commit = sum(t.commitment for t in tr)
    fees = cs.fees or Fees()
    ranks = sorted({t.seniority for t in tr})
    out = np.zeros((pay.shape[0], len(cs.parties), pay.shape[1]))
    for d in range(pay.shape[0]):
        drawn = [0.0] * len(tr)
        claim = [0.0] * len(tr)
        got = [0.0] * len(tr)
        for t in range(pay.shape[1]):
            claim = [c * (1 + x.target_return) for c, x in zip(claim, tr, strict=True)]
            fixed = fees.intermediary_per_period
            fee = fixed[t] if isinstance(fixed, tuple) else fixed
            fee += fees.management_rate_on_drawn * sum(drawn)
            draw = min(costs[d, t] + fee, max(total_commit - sum(drawn), 0.0))
            out[d, -2, t] = min(costs[d, t], draw)
            out[d, -1, t] = draw - out[d, -2, t]
            for i, x in enumerate(tr):
                part = draw * x.commitment / total_commit
                drawn[i] += part
                claim[i] += part
                out[d, 1 + i, t] -= part

            left = pay[d, t]
            for r in ranks:
                grp = [i for i, x in enumerate(tr) if x.seniority == r]
                due = {i: max(min(claim[i], headroom(tr[i], drawn[i], got[i])), 0.0) for i in grp}
                total = sum(due.values())
                frac = min(left, total) / total if total > 0 else 0.0
                for i in grp:
                    claim[i] -= due[i] * frac
                    got[i] += due[i] * frac
                    out[d, 1 + i, t] += due[i] * frac
                left -= min(left, total)
            if cs.excess_to == "investors":
                base = left
                for i, x in enumerate(tr):
                    head = headroom(x, drawn[i], got[i])
                    bonus = min(base * x.commitment / total_commit, max(head, 0.0))
                    got[i] += bonus
                    out[d, 1 + i, t] += bonus
                    left -= bonus
            out[d, 0, t] = -pay[d, t] + (0.0 if cs.excess_to == "provider" else left)
            if cs.excess_to == "provider":
                out[d, -2, t] += left
        g = cs.guarantee
        if g is not None:
            cov = [g.covers == "first_loss" or x.name in g.covers for x in tr]
            loss = [
                max(dr - gt, 0.0) if c else 0.0 for dr, gt, c in zip(drawn, got, cov, strict=True)
            ]
            cap = math.inf if g.cap is None else g.cap
            if isinstance(g, ProRataGuarantee):
                paid = [g.share_of_principal * x for x in loss]
                if sum(paid) > cap:
                    paid = [x * cap / sum(paid) for x in paid]
            else:
                limit = min(
                    g.share_of_principal * sum(dr for dr, c in zip(drawn, cov, strict=True) if c),
                    cap,
                )
                paid = [0.0] * len(tr)
                for r in ranks:
                    grp = [i for i, x in enumerate(tr) if x.seniority == r]
                    total = sum(loss[i] for i in grp)
                    frac = min(limit, total) / total if total > 0 else 0.0
                    for i in grp:
                        paid[i] = loss[i] * frac
                    limit -= min(limit, total)
            for i in range(len(tr)):
                out[d, 1 + i, -1] += paid[i]
            out[d, 1 + len(tr), -1] = -sum(paid)
    return out


# --------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------


@st.composite
def structures(draw):
    n = draw(st.integers(1, 3))
    tranches = tuple(
        Tranche(
            f"t{i}",
            draw(st.floats(10.0, 1000.0)),
            seniority=draw(st.integers(1, 3)),
            target_return=draw(st.floats(0.0, 0.3)),
            return_cap=draw(st.one_of(st.none(), st.floats(1.0, 3.0))),
        )
        for i in range(n)
    )
    guarantee = draw(
        st.one_of(
            st.none(),
            st.sampled_from(GUARANTEES.names()).flatmap(lambda kind: st.builds(
                GUARANTEES[kind],
                st.just("F"),
                st.floats(0.05, 1.0),
                covers=st.one_of(
                    st.just("first_loss"),
                    st.lists(
                        st.sampled_from([t.name for t in tranches]), min_size=1, unique=True
                    ).map(tuple),
                ),
                cap=st.one_of(st.none(), st.floats(0.0, 500.0)),
            )),
        )
    )
    fees = draw(st.one_of(st.none(), st.builds(Fees, st.floats(0.0, 50.0), st.floats(0.0, 0.05))))
    excess_to = draw(st.sampled_from(["commissioner", "provider", "investors"]))
    return CapitalStructure(tranches, guarantee=guarantee, fees=fees, excess_to=excess_to)


@st.composite
def cases(draw):
    cs = draw(structures())
    d, p = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    money = st.lists(st.floats(0.0, 800.0), min_size=d * p, max_size=d * p)
    costs = np.array(draw(money)).reshape(d, p)
    pay = np.array(draw(money)).reshape(d, p) * draw(st.sampled_from([0.0, 1.0, 3.0]))
    return cs, costs, pay


@settings(max_examples=150, deadline=None)
@given(cases())
def test_money_is_conserved_and_matches_the_reference(case):
    cs, costs, pay = case
    cf = waterfall(cs, costs, pay)
    assert isinstance(cf, CashFlows)
    assert cf.flows.shape == (pay.shape[0], len(cs.parties), pay.shape[1])
    np.testing.assert_allclose(cf.flows.sum(axis=1), 0.0, atol=1e-9)
    np.testing.assert_allclose(cf.flows, reference_flows(cs, costs, pay), atol=1e-8)
    # commissioner never receives more than it paid; provider, intermediary only receive
    assert np.all(cf.party("commissioner") <= 1e-9)
    assert np.all(cf.party("provider") >= 0.0)
    assert np.all(cf.party("intermediary") >= 0.0)
    assert np.all(cf.party("guarantor") <= 0.0)
    assert np.all(cf.distribution >= -1e-9)
    assert np.all(cf.outstanding >= -1e-9)


@settings(max_examples=150, deadline=None)
@given(cases())
def test_guarantee_never_exceeds_its_limits_or_the_covered_losses(case):
    cs, costs, pay = case
    g = cs.guarantee
    if g is None:
        return
    cf = waterfall(cs, costs, pay)
    covered = np.array([g.covers == "first_loss" or t in g.covers for t in cf.tranches])
    paid = cf.guarantee_paid
    assert np.all(paid[:, ~covered] == 0.0)
    drawn = cf.drawdown.sum(axis=2)
    loss = np.maximum(drawn - cf.distribution.sum(axis=2), 0.0)
    assert np.all(paid <= loss + 1e-9)
    if g.cap is not None:
        assert np.all(paid.sum(axis=1) <= g.cap + 1e-9)
    assert np.all(paid.sum(axis=1) <= g.share_of_principal * drawn[:, covered].sum(axis=1) + 1e-9)


@settings(max_examples=150, deadline=None)
@given(cases())
def test_senior_is_repaid_before_junior(case):
    cs, costs, pay = case
    cf = waterfall(cs, costs, pay)
    tr = cs.tranches
    for i, senior in enumerate(tr):
        for j, junior in enumerate(tr):
            if senior.seniority >= junior.seniority:
                continue
            # whenever a junior tranche receives an outcome payment from its claim, every more
            # senior tranche has nothing left it could be paid (claim met or return cap hit)
            cap = np.inf if senior.return_cap is None else senior.return_cap
            drawn = np.cumsum(cf.drawdown[:, i, :], axis=1)
            received = np.cumsum(cf.distribution[:, i, :], axis=1)
            payable = np.minimum(
                cf.outstanding[:, i, :], np.where(np.isinf(cap), np.inf, cap * drawn - received)
            )
            junior_paid = cf.distribution[:, j, :] > 1e-9
            assert np.all(payable[junior_paid] <= 1e-6)


def npv(flows: np.ndarray, rate: float) -> np.ndarray:
    return flows @ (1.0 + rate) ** -np.arange(flows.shape[-1])


@settings(max_examples=150, deadline=None)
@given(cases(), st.data())
def test_investor_payoff_is_monotone_in_outcome_payments(case, data):
    cs, costs, pay = case
    extra = np.array(
        data.draw(st.lists(st.floats(0.0, 500.0), min_size=pay.size, max_size=pay.size))
    ).reshape(pay.shape)
    base = waterfall(cs, costs, pay)
    more = waterfall(cs, costs, pay + extra)
    for t in cs.tranches:
        # valued at the tranche's own target return, more outcome payments never hurt
        assert np.all(
            npv(more.investor(t.name), t.target_return)
            >= npv(base.investor(t.name), t.target_return) - 1e-6
        )
    # and, with no target return, more money never means less money back
    flat = CapitalStructure(
        tuple(Tranche(t.name, t.commitment, t.seniority, 0.0, t.return_cap) for t in cs.tranches),
        guarantee=cs.guarantee,
        fees=cs.fees,
        excess_to=cs.excess_to,
    )
    a, b = waterfall(flat, costs, pay), waterfall(flat, costs, pay + extra)
    assert np.all(b.investor().sum(axis=1) >= a.investor().sum(axis=1) - 1e-6)


# --------------------------------------------------------------------------------------
# service costs by value (mutation testing found ServiceCosts.cost unguarded here)
# --------------------------------------------------------------------------------------


def test_service_costs_fixed_plus_per_participant_worked_example():
    costs = ServiceCosts(fixed_per_period=(50_000.0, 20_000.0), per_participant=1_500.0)
    out = costs.cost([[100, 40], [0, 3]])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[200_000.0, 80_000.0], [50_000.0, 24_500.0]])
    # one draw given as a 1-D array comes back (1, P)
    np.testing.assert_array_equal(costs.cost([100, 40]), [[200_000.0, 80_000.0]])
    # integer counts are costed in floats: 3 x 0.5 is 1.5, not 1
    np.testing.assert_array_equal(ServiceCosts(per_participant=0.5).cost(np.array([[3]])), [[1.5]])


def test_uncertain_costs_resolved_per_draw_are_repeated_over_the_periods():
    from sibsim.money.uncertain import per_draw

    costs = ServiceCosts(fixed_per_period=per_draw([10.0, 20.0]),
                         per_participant=per_draw([1.0, 2.0]))
    np.testing.assert_array_equal(costs.cost([[1, 2, 3], [4, 5, 6]]),
                                  [[11.0, 12.0, 13.0], [28.0, 30.0, 32.0]])


@pytest.mark.parametrize("served", [[[1.0, -1.0]], [[1.0, np.nan]], [[1.0, np.inf]],
                                    [[[1.0]]]], ids=["negative", "nan", "inf", "3-d"])
def test_service_costs_refuse_bad_counts_served(served):
    with pytest.raises(ValueError, match=r"^ServiceCosts\.cost\.participants_served: got array"
                                         r"\(.*; "
                                         r"allowed: finite counts >= 0, shaped \(D, P\) "
                                         r"or \(P,\)$"):
        ServiceCosts(per_participant=1.0).cost(served)


def test_fixed_costs_per_period_of_the_wrong_length_name_the_field():
    with pytest.raises(ValueError, match=r"^ServiceCosts\.fixed_per_period: got \(1\.0, 2\.0\)"):
        ServiceCosts(fixed_per_period=(1.0, 2.0)).cost([[1.0, 1.0, 1.0]])


def test_costs_per_state_replace_the_per_participant_cost_there():
    costs = ServiceCosts(fixed_per_period=5.0, per_participant=1_000.0,
                         per_state={"shelter": 2_000.0, "housed": 400.0})
    served = [[100.0, 40.0]]
    by_state = {"shelter": np.array([[60.0, 10.0]]), "housed": np.array([[20.0, 40.0]])}
    # 5 + 2,000 x 60 + 400 x 20 + 1,000 x 20 ; 5 + 2,000 x 10 + 400 x 40 + 1,000 x 0 (clipped: -10)
    np.testing.assert_array_equal(costs.cost(served, by_state),
                                  [[148_005.0, 36_005.0]])


@pytest.mark.parametrize("by_state", [None, {"shelter": np.array([[1.0]])}],
                         ids=["none", "one-missing"])
def test_costs_per_state_need_the_participants_served_in_each_state(by_state):
    costs = ServiceCosts(per_state={"shelter": 2_000.0, "housed": 400.0})
    with pytest.raises(ValueError, match=r"^ServiceCosts\.cost\.served_by_state: got .*; "
                                         r"allowed: participants served in each state of "
                                         r"per_state: shelter, housed$"):
        costs.cost([[1.0]], by_state)


def test_costs_per_state_must_be_a_mapping():
    with pytest.raises(TypeError, match=r"^ServiceCosts\.per_state: got 3; allowed: a mapping "
                                        r"state -> cost$"):
        ServiceCosts(per_state=3)


def test_service_costs_hash_by_value_including_the_costs_per_state():
    assert hash(ServiceCosts(per_state={"a": 1.0, "b": 2.0})) == \
        hash(ServiceCosts(per_state={"b": 2.0, "a": 1.0}))
    assert ServiceCosts(per_state={"a": 1.0}) != ServiceCosts(per_state={"a": 2.0})
    assert len({ServiceCosts(per_state={"a": 1.0}), ServiceCosts(per_state={"a": 2.0}),
                ServiceCosts(per_state={"a": 1.0})}) == 2
    assert hash(ServiceCosts(per_state={"a": 1.0})) != hash(ServiceCosts(per_state={"a": 2.0}))


@pytest.mark.parametrize(
    "line, expected",
    [("fixed_per_period = [1, 2]", (1.0, 2.0)), ("fixed_per_period = 7", 7.0)],
    ids=["per-period", "number"])
def test_fixed_costs_read_from_toml(line, expected):
    costs = ServiceCosts.from_toml(Section("service_costs", tomllib.loads(line)))
    assert costs.fixed_per_period == expected


def test_fixed_costs_read_from_toml_as_a_distribution():
    from sibsim.spec.distributions import Distribution

    costs = ServiceCosts.from_toml(Section("service_costs", tomllib.loads(
        'fixed_per_period = {dist = "lognormal", mean = 5, sd = 1}')))
    assert isinstance(costs.fixed_per_period, Distribution)
    with pytest.raises(KeyProblem) as info:
        ServiceCosts.from_toml(Section("service_costs", tomllib.loads(
            'fixed_per_period = {dist = "normal", mean = 5}')))
    assert info.value.key == "service_costs.fixed_per_period"
    assert "takes {mean, sd}" in info.value.problem


def test_deprecated_pro_rata_key_messages_in_full():
    with pytest.raises(KeyProblem) as info:
        read_capital(TRANCHES_TOML + '[guarantee]\nkind = "pro_rata"\npro_rata = true\n'
                     'funder = "F"\nshare_of_principal = 0.5')
    assert info.value.problem == "deprecated, and 'kind' is given: remove 'pro_rata'"
    with pytest.raises(KeyProblem) as info:
        read_capital(TRANCHES_TOML + '[guarantee]\npro_rata = 1\nfunder = "F"\n'
                     'share_of_principal = 0.5')
    assert info.value.problem == ("got 1; allowed: true or false (deprecated: write kind = "
                                  '"pro_rata" or "first_loss")')


def test_costs_per_state_are_checked_and_kept_as_floats():
    costs = ServiceCosts(per_state={"a": 2})
    assert costs.per_state == {"a": 2.0} and type(costs.per_state["a"]) is float
    with pytest.raises(TypeError, match=r"^ServiceCosts\.per_state key: got ''"):
        ServiceCosts(per_state={"": 1.0})
    with pytest.raises(ValueError, match=r"^ServiceCosts\.per_state\[a\]: got -1\.0"):
        ServiceCosts(per_state={"a": -1.0})


def test_fixed_costs_are_checked_as_numbers_per_period_or_distributions():
    from sibsim.spec.distributions import LogNormal, Normal

    assert ServiceCosts(fixed_per_period=LogNormal(1.0, 0.2)).fixed_per_period == \
        LogNormal(1.0, 0.2)
    with pytest.raises(ValueError, match=r"^ServiceCosts\.fixed_per_period: got 'normal"):
        ServiceCosts(fixed_per_period=Normal(5.0, 1.0))
    with pytest.raises(ValueError, match=r"^ServiceCosts\.fixed_per_period: got -1\.0"):
        ServiceCosts(fixed_per_period=-1.0)
    with pytest.raises(ValueError, match=r"^ServiceCosts\.fixed_per_period\[1\]: got -1\.0"):
        ServiceCosts(fixed_per_period=(1.0, -1.0))


def test_no_tranches_is_reported_at_the_tranches_key():
    with pytest.raises(KeyProblem) as info:
        read_capital('excess_to = "investors"\ntranches = []\n')
    assert info.value.key == "capital.tranches"
    assert info.value.problem == "expected one or more [[capital.tranches]]"


def test_what_a_guarantee_covers_is_a_boolean_array_even_for_no_tranches():
    g = FirstLossGuarantee("F", 0.5, covers=("senior",))
    assert g.covered(("senior", "junior")).tolist() == [True, False]
    assert g.covered(()).dtype == np.bool_


#: What a results file says about each cash-flow variable (dims and description).
CASH_FLOW_VARIABLES = {
    "flow": (("draw", "party", "period"),
             "net cash flow per party: + received, - paid; sums to 0 over party"),
    "drawdown": (("draw", "tranche", "period"),
                 "capital drawn from each tranche to fund service costs and fees"),
    "distribution": (("draw", "tranche", "period"),
                     "outcome payments distributed to each tranche"),
    "guarantee_paid": (("draw", "tranche"),
                       "paid by the guarantor to each tranche in the settlement period"),
    "outstanding": (("draw", "tranche", "period"),
                    "claim (principal plus unpaid target return) after the period's distribution"),
    "unfunded": (("draw", "period"), "service costs and fees beyond the total commitment, "
                                     "unfunded"),
}


def test_the_cash_flow_dataset_holds_each_array_with_its_dims_units_and_description():
    structure = two_tranches(FirstLossGuarantee("F", 0.5), currency="GBP")
    cf = waterfall(structure, [[500.0, 300.0, 0.0], [500.0, 300.0, 2_000.0]],
                   [[0.0, 0.0, 300.0], [0.0, 0.0, 0.0]])
    ds = cf.to_dataset()
    assert set(ds.data_vars) == set(CASH_FLOW_VARIABLES)
    assert ds.attrs == {"currency": "GBP", "sign_convention": "+ received, - paid"}
    assert set(ds.coords) == {"draw", "party", "tranche", "period"}
    assert ds["draw"].values.tolist() == [0, 1] and ds["period"].values.tolist() == [0, 1, 2]
    assert ds["party"].values.tolist() == list(cf.parties)
    assert ds["tranche"].values.tolist() == ["senior", "junior"]
    for name, (dims, text) in CASH_FLOW_VARIABLES.items():
        assert ds[name].dims == dims, name
        assert ds[name].attrs == {"units": "GBP", "description": text}, name
        attribute = "flows" if name == "flow" else name
        np.testing.assert_array_equal(ds[name].values, getattr(cf, attribute), err_msg=name)
    assert ds["unfunded"].values[1, 2] > 0 and ds["guarantee_paid"].values[1].sum() > 0


# --------------------------------------------------------------------------------------
# the lifecycle inputs of the waterfall at their boundaries
# --------------------------------------------------------------------------------------


def _life(stop, settle_at, claim=None):
    from sibsim.money.kernels.waterfall import ClaimShareArrays, LifecycleArrays

    return LifecycleArrays(np.asarray(stop, np.int64), np.asarray(settle_at, np.int64), np.inf,
                           claim or ClaimShareArrays.none())


def test_lifecycle_stops_and_settlements_at_their_extreme_periods_are_accepted():
    structure = two_tranches(FirstLossGuarantee("F", 0.5))
    # stop at 0 (no service at all) and at P = 3 (not stopped); settle in 0 or P - 1 = 2
    cf = waterfall(structure, [[500.0, 300.0, 0.0]] * 2, [[0.0, 0.0, 0.0]] * 2,
                   _life([0, 3], [0, 2, 2, 2]))
    assert cf.stop_period.tolist() == [0, 3]
    assert cf.settlement.tolist() == [0, 2]
    np.testing.assert_array_equal(cf.drawdown_total[0], 0.0)  # stopped before any service
    np.testing.assert_array_equal(cf.drawdown_total[1], [500.0, 300.0, 0.0])


@pytest.mark.parametrize(
    "stop, settle_at, words",
    [([0, 4], [0, 2, 2, 2], r"^waterfall\.life\.stop: got array\(\[0, 4\]\); allowed: \(D=2,\) "
                            r"periods in "
                            r"\[0, 3\]$"),
     ([-1, 3], [0, 2, 2, 2], r"^waterfall\.life\.stop: "),
     ([3], [0, 2, 2, 2], r"^waterfall\.life\.stop: "),
     ([3, 3], [0, 3, 2, 2], r"^waterfall\.life\.settle_at: got array\(\[0, 3, 2, 2\]\); "
                            r"allowed: \(4,\) periods in "
                            r"\[0, 2\]$"),
     ([3, 3], [-1, 2, 2, 2], r"^waterfall\.life\.settle_at: "),
     ([3, 3], [2, 2, 2], r"^waterfall\.life\.settle_at: ")],
    ids=["stop-after-P", "stop-negative", "stop-shape", "settle-at-P", "settle-negative",
         "settle-shape"])
def test_lifecycle_inputs_outside_the_horizon_are_refused(stop, settle_at, words):
    with pytest.raises(ValueError, match=words):
        waterfall(two_tranches(), [[500.0, 300.0, 0.0]] * 2, [[0.0, 0.0, 0.0]] * 2,
                  _life(stop, settle_at))


def test_a_claim_share_needs_avoided_costs_per_draw_and_period():
    from sibsim.money.kernels.waterfall import ClaimShareArrays

    ok = ClaimShareArrays(np.full((2, 3), 100.0), 0.5, 0.1, 0.0, np.inf, True)
    cf = waterfall(two_tranches(), [[500.0, 300.0, 0.0]] * 2, [[0.0, 0.0, 0.0]] * 2,
                   _life([3, 3], [2, 2, 2, 2], ok))
    assert cf.claim_share_paid.shape == (2, 3)
    claim = ClaimShareArrays(np.zeros((2, 2)), 0.5, 0.1, 0.0, np.inf, True)
    with pytest.raises(ValueError, match=r"^waterfall\.life\.claim\.avoided: got \(2, 2\); "
                                         r"allowed: shape \(D=2, P=3\)$"):
        waterfall(two_tranches(), [[500.0, 300.0, 0.0]] * 2, [[0.0, 0.0, 0.0]] * 2,
                  _life([3, 3], [2, 2, 2, 2], claim))


def test_the_investors_flows_are_the_sum_of_the_tranches_flows():
    cf = waterfall(two_tranches(), COSTS, [[0.0, 0.0, 700.0]])
    np.testing.assert_array_equal(cf.investor(), cf.party("senior") + cf.party("junior"))
    np.testing.assert_array_equal(cf.investor("junior"), cf.flows[:, 2, :])
    with pytest.raises(ValueError, match=r"^CashFlows\.investor\.tranche: got 'guarantor'; "
                                         r"allowed: one of senior, junior$"):
        cf.investor("guarantor")


def test_costs_per_state_with_integer_counts_and_periods_nobody_is_served():
    costs = ServiceCosts(fixed_per_period=5.0, per_participant=1_000.0,
                         per_state={"shelter": 2_000.0})
    # integer counts, as a simulation counts people; nobody served in period 1
    out = costs.cost(np.array([[3, 0]]), {"shelter": np.array([[1, 0]])})
    np.testing.assert_array_equal(out, [[4_005.0, 5.0]])
    with pytest.raises(ValueError, match=r"^ServiceCosts\.cost\.served_by_state: got "
                                         r"\{'shelter'"):
        ServiceCosts(per_state={"shelter": 2_000.0, "housed": 1.0}).cost(
            [[1.0]], {"shelter": np.array([[1.0]])})


def test_an_unknown_party_is_refused_with_the_parties_listed():
    cf = waterfall(two_tranches(), COSTS, [[0.0, 0.0, 700.0]])
    with pytest.raises(ValueError, match=r"^CashFlows\.party\.name: got 'investor'; allowed: one "
                                         r"of commissioner, senior, junior, guarantor, provider, "
                                         r"intermediary$"):
        cf.party("investor")
