"""Strata of two kinds at once (site x age band): a rate card counting a list of strata
(``RateCard.stratum``), and Lapset-SIB II's sites each paying on its own young people."""

from __future__ import annotations

import numpy as np
import pytest

import sibsim
from sibsim.cli import main
from sibsim.money import RateCard
from sibsim.money.sib import counterfactual, money_flows
from sibsim.scenario_file import builtin_scenarios

SITES = ("tampere", "jyvaskyla")
AGES = (15, 16, 17, 18)


def _strata(site: str) -> list[str]:
    return [f"{site}_{age}" for age in AGES]


# ------------------------------------------------------------------ RateCard.stratum


def test_rate_card_stratum_is_a_tuple_of_distinct_names():
    assert RateCard("m", price=1.0, stratum="a").stratum == ("a",)
    assert RateCard("m", price=1.0, stratum=["a", "b"]).stratum == ("a", "b")
    assert RateCard("m", price=1.0).stratum is None
    with pytest.raises(ValueError, match=r"RateCard\[m\]\.stratum"):
        RateCard("m", price=1.0, stratum=["a", "a"])
    with pytest.raises((TypeError, ValueError), match=r"RateCard\.stratum"):
        RateCard("m", price=1.0, stratum=3)


def test_rate_card_counts_only_its_strata():
    """Counts of the other strata are not the card's: amounts equal the card's strata alone."""
    counts = np.array([[[2.0, 1.0], [5.0, 3.0], [7.0, 0.0]]])     # (draw, stratum, period)
    strata = ("a", "b", "c")
    card = RateCard("m", price=10.0, stratum=["a", "c"])
    every = RateCard("m", price=10.0)
    kept = card.restrict(counts, strata)
    assert kept[0, 1].tolist() == [0.0, 0.0]
    assert card.amounts(kept, strata, np.ones(3) * 10).tolist() == [[90.0, 10.0]]
    assert every.amounts(every.restrict(counts, strata), strata,
                         np.ones(3) * 10).tolist() == [[140.0, 40.0]]


def test_rate_card_refuses_a_stratum_the_scenario_lacks():
    card = RateCard("m", price=1.0, stratum=["a", "zz"])
    with pytest.raises(ValueError, match=r"RateCard\[m\]\.stratum: got 'zz'; allowed: strata "
                                         r"of the scenario: 'a', 'b'"):
        card.check_outcome(("a", "b"), ())


# ------------------------------------------------------------------ lapset-sib-2


def test_lapset_sib_2_sites_are_strata_each_paying_its_own_metrics():
    deal = sibsim.load_scenario("lapset-sib-2")
    cohort = deal.scenario.cohort
    assert cohort.stratum_names == tuple(_strata("tampere") + _strata("jyvaskyla"))
    assert cohort.entry == (60, 150)
    people = {s.name: s.entry_waves(2) for s in cohort.strata}
    assert sum(people[s][0] for s in _strata("tampere")) == 60          # 2021
    assert sum(people[s][1] for s in _strata("jyvaskyla")) == 150       # 2022
    own = {p.name: p for p in deal.payers}
    for site, payer in (("tampere", "Tampere"), ("jyvaskyla", "Jyväskylä")):
        labels = [m for m in deal.contract.payment_labels if m.endswith("_" + site)]
        assert len(labels) == 3   # absence days, in work or study at 25, degree
        assert {m: own[payer].share_of(m) for m in deal.contract.payment_labels} == {
            m: float(m.endswith("_" + site)) for m in deal.contract.payment_labels}
        assert own[payer].savings_strata == tuple(_strata(site))
    for card in deal.contract.rate_cards:
        site = card.name.rsplit("_", 1)[1]
        assert card.stratum == tuple(_strata(site))
    for ev in deal.evaluations:
        assert ev.stratum == tuple(_strata(ev.metric.rsplit("_", 1)[1]))


def _scaled(ds, site: str, factor: float):
    """``ds`` with the treated young people of ``site`` achieving ``factor`` times as much."""
    out = ds.copy(deep=True)
    pick = {"arm": "treatment", "stratum": _strata(site)}
    for var in ("events", "occupancy"):
        out[var].loc[pick] = out[var].loc[pick] * factor
    return out


@pytest.mark.parametrize("site", SITES)
def test_lapset_sib_2_a_sites_payer_pays_on_its_own_young_people_only(site):
    """Scaling one site's outcomes changes its payer's payments and savings, and leaves the
    other site's payer's payments and savings exactly as they were."""
    deal = sibsim.load_scenario("lapset-sib-2")
    ds = sibsim.simulate(deal.scenario, draws=4, seed=3, engine="expected", progress=False)
    cf = counterfactual(deal, 4, 3)
    base = money_flows(deal, ds, cf)
    moved = money_flows(deal, _scaled(ds, site, 0.5), cf)
    payer = {"tampere": "Tampere", "jyvaskyla": "Jyväskylä"}[site]
    other = {"tampere": "Jyväskylä", "jyvaskyla": "Tampere"}[site]
    for var in ("payments_by_payer", "cashable_savings_by_payer"):
        np.testing.assert_array_equal(moved[var].sel(payer=other).values,
                                      base[var].sel(payer=other).values)
        assert not np.array_equal(moved[var].sel(payer=payer).values,
                                  base[var].sel(payer=payer).values), var


def test_cli_refuses_a_rate_card_stratum_the_cohort_lacks(tmp_path, capsys):
    text = builtin_scenarios()["lapset-sib-2"].read_text(encoding="utf-8")
    bad = text.replace('stratum = ["tampere_15", "tampere_16", "tampere_17", "tampere_18"]\n'
                       'price = 8_000',
                       'stratum = ["tampere_15", "tampere_61", "tampere_17", "tampere_18"]\n'
                       'price = 8_000', 1)
    assert bad != text
    path = tmp_path / "bad.toml"
    path.write_text(bad, encoding="utf-8")
    out = tmp_path / "out.nc"
    code = main(["run", str(path), "--draws", "3", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "RateCard[in_work_or_study_at_25_tampere].stratum: got 'tampere_61'" in err, err
    assert "tampere_15" in err and "jyvaskyla_18" in err
    assert not out.exists()
