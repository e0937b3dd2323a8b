"""Deals that start part-way through a calendar year: ``Deal.start_period`` (the 0-based
period of ``start_year`` in which period 0 begins) places every calendar mapping: the
calendar years of the periods, a stratum's ``start_year``, payers' years and the yearly
budget. Worked examples by hand."""

from __future__ import annotations

import copy
import tomllib

import numpy as np
import pytest

import sibsim
from sibsim.analysis.budget import yearly_budget
from sibsim.money.payers import Payer
from sibsim.scenario_file import ScenarioFileError, builtin_scenarios, parse_scenario
from sibsim.spec.cohort import Stratum, stratum_start
from sibsim.spec.toml import KeyProblem, Section


def _doc(name: str) -> dict:
    return tomllib.loads(builtin_scenarios()[name].read_text(encoding="utf-8"))


def test_quarters_from_april_worked_example():
    """Essex: period 0 = Apr-Jun 2013, so 2013 has 3 quarters, then 4 a year; the last of
    its 25 quarters (Apr-Jun 2019) is in 2019."""
    deal = sibsim.load_scenario("essex-mst")
    assert (deal.start_year, deal.start_period, deal.scenario.periods_per_year) == (2013, 1, 4)
    years = deal.calendar_years()
    assert years[:8].tolist() == [2013, 2013, 2013, 2014, 2014, 2014, 2014, 2015]
    assert years[-1] == 2019 and (years == 2019).sum() == 2  # Jan-Mar and Apr-Jun 2019
    # counted from January instead, the last quarter would fall in 2019 Q1 (one quarter off)
    assert deal.replace(start_period=0).calendar_years()[:4].tolist() == [2013] * 4


@pytest.mark.parametrize("start_period, first_year_periods", [(0, 12), (3, 9), (11, 1)])
def test_months_worked_example(start_period, first_year_periods):
    """Monthly, from January / April / December 2010: the first calendar year has 12, 9 or
    1 months of the deal, then 12 a year."""
    scenario = sibsim.load_scenario("peterborough").scenario
    deal = sibsim.Deal(scenario=scenario, start_year=2010).with_scenario(
        period="month", horizon=30).replace(start_period=start_period)
    years = deal.calendar_years()
    assert (years == 2010).sum() == first_year_periods
    assert (years == 2011).sum() == 12
    assert years[first_year_periods] == 2011 and years[first_year_periods - 1] == 2010


def test_refusals():
    deal = sibsim.load_scenario("koto-sib")  # quarters from 2017
    with pytest.raises(ValueError, match=r"^Deal\.start_period: got 4; allowed: 0 to 3 "):
        deal.replace(start_period=4)
    with pytest.raises(ValueError, match=r"^Deal\.start_period: got -1; allowed"):
        deal.replace(start_period=-1)
    with pytest.raises(ValueError, match=r"^Deal\.start_period: got 2; allowed: 0 without "
                                         r"start_year"):
        deal.replace(start_year=None, start_period=2)
    yearly = sibsim.load_scenario("peterborough")
    with pytest.raises(ValueError, match=r"^Deal\.start_period: got 1; allowed: 0 \(a yearly"):
        yearly.replace(start_period=1)
    assert yearly.replace(start_period=0).start_period == 0
    # an outcome-only deal is checked too
    with pytest.raises(ValueError, match=r"Deal\.start_period: got 5"):
        sibsim.Deal(scenario=deal.scenario, start_year=2017, start_period=5)


def test_file_refusal_names_the_key():
    doc = _doc("essex-mst")
    doc["start_period"] = 4
    with pytest.raises(ScenarioFileError, match=r"Deal\.start_period: got 4; allowed: 0 to 3"):
        parse_scenario(doc, "x.toml")
    doc = _doc("essex-mst")
    del doc["start_year"]
    with pytest.raises(ScenarioFileError, match=r"Deal\.start_period: got 1; allowed: 0 "
                                                r"without start_year"):
        parse_scenario(doc, "x.toml")


def test_toml_round_trip_and_default():
    """start_period is read beside start_year; left out, it is 0 (January)."""
    doc = _doc("essex-mst")
    assert doc["start_period"] == 1 and parse_scenario(copy.deepcopy(doc)).start_period == 1
    doc["start_period"] = 3
    assert parse_scenario(copy.deepcopy(doc)).calendar_years()[:2].tolist() == [2013, 2014]
    del doc["start_period"]
    assert parse_scenario(doc).start_period == 0


@pytest.mark.parametrize("year, start_period, want", [
    (2013, 1, 0),   # the start year itself: period 0 (its January-March is before the deal)
    (2014, 1, 3),   # Jan-Mar 2014 is the 4th quarter of a deal from April 2013
    (2015, 1, 7),
    (2014, 0, 4),   # from January: whole years
    (2014, 3, 1),   # from October 2013: one quarter in 2013
])
def test_stratum_start_year_is_the_first_period_of_that_year(year, start_period, want):
    sec = Section("cohort.strata[0]", {"name": "late", "start_year": year, "share": 1.0})
    assert stratum_start(sec, 2013, 4, start_period) == want
    stratum = Stratum.from_toml(Section("cohort.strata[0]", {"name": "late", "start_year": year,
                                                             "entry": [10]}),
                                start_year=2013, periods_per_year=4, start_period=start_period)
    assert stratum.start == want


def test_stratum_start_year_before_the_deal_is_still_refused():
    sec = Section("cohort.strata[0]", {"name": "early", "start_year": 2012})
    with pytest.raises(KeyProblem, match="from the file's start_year"):
        stratum_start(sec, 2013, 4, 1)


def test_stratum_start_year_from_a_file():
    """A quarterly file from July 2015 (start_period = 2) whose later strata enter in
    2016: they start at period 2 (January 2016), their entry counted from there."""
    doc = _doc("tyhy-sib")  # yearly from 2015, strata with start_year = 2016
    doc["period"] = "quarter"
    doc["start_period"] = 2
    deal = parse_scenario(doc)
    late = [s for s, raw in zip(deal.scenario.cohort.strata, doc["cohort"]["strata"],
                                strict=True) if raw.get("start_year") == 2016]
    assert late and all(s.start == 2 for s in late)


def test_payer_years_follow_the_start_period():
    """Quarterly from October 2020 (start_period = 3): period 0 is the city's only quarter
    in 2020; the county pays from 2021, i.e. from period 1."""
    deal = sibsim.load_scenario("koto-sib").replace(start_year=2020, start_period=3)
    metrics = deal.contract.payment_labels
    payers = (Payer("city", {m: 1.0 for m in metrics}, last_year=2020),
              Payer("county", {m: 1.0 for m in metrics}, first_year=2021))
    scoped = deal.replace(payers=payers)
    here = scoped.payer_presence()
    assert here[0].tolist() == [True] + [False] * (deal.scenario.horizon - 1)
    assert here[1].tolist() == [False] + [True] * (deal.scenario.horizon - 1)
    # from January the city would have the first four quarters
    assert scoped.replace(start_period=0).payer_presence()[0, :5].tolist() == [True] * 4 + [False]


def test_essex_budget_table_years():
    """The yearly budget of Essex: 2013 sums 3 quarters (Apr-Dec), 2019 two, the years
    between four; each year's gross payments are the sum over its quarters."""
    deal = sibsim.load_scenario("essex-mst")
    res = sibsim.analyse(deal, draws=20, seed=3, progress=False, with_breakeven=False)
    b = yearly_budget(res.money, deal)
    assert b["year"].values.tolist() == list(range(2013, 2020))
    assert b["periods_in_year"].values.tolist() == [3, 4, 4, 4, 4, 4, 2]
    pay = res.money["payments_by_payer"].sum("payer").values  # (draw, period)
    for y, cols in ((2013, slice(0, 3)), (2014, slice(3, 7))):
        want = pay[:, cols].sum(-1).mean()
        got = float(b["gross_payments_mean"].sel(year=y).isel(payer=-1))
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-6)
