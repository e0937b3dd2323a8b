"""The money tables of a scenario file at their edges: each table's absence, a single table where
a list of tables is usual, every [municipality] key read into its field, defaults, and the exact
message naming the key.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py) may find
unguarded.
"""

from __future__ import annotations

import copy
import re
import tomllib

import pytest

from sibsim.money.deal import Investors
from sibsim.money.municipality import Municipality
from sibsim.scenario_file import ScenarioFileError, parse_scenario

BASE = tomllib.loads("""
name = "t"
horizon = 3
currency = "EUR"
[cohort]
entry = [40]
[comparison]
ratio = 1
[outcome]
kind = "counts"
rate = 1.0
dispersion = 2.0
[effect]
measure = "rr"
value = 0.8
[[evaluation]]
metric = "m"
window = 1
report_lag = 0
[contract]
terms = [{metric = "m", rule = {kind = "price_per_unit", price = 100.0}}]
[service_costs]
fixed_per_period = 1000.0
service_periods = 2
[capital]
tranches = [{name = "senior", commitment = 10000.0, seniority = 1}]
""")
PAYER = {"name": "p", "shares": 1.0}


def load(**changes):
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    return parse_scenario(data)


def test_the_money_tables_are_read_with_their_defaults():
    deal = load()
    assert deal.service_periods == 2 and deal.maturity is None and deal.payers == ()
    assert deal.municipality == Municipality() and deal.investors == Investors()
    assert [e.metric for e in deal.evaluations] == ["m"]
    assert load(service_costs=None).service_periods == 1
    assert load(maturity=2).maturity == 2


def test_a_single_table_is_read_as_a_list_of_one():
    assert [e.metric for e in load(evaluation=BASE["evaluation"][0]).evaluations] == ["m"]
    assert [p.name for p in load(payers=PAYER).payers] == ["p"]


def test_every_municipality_key_is_read_into_its_field():
    table = {"saving_per_event": 5.0, "wider_value_per_event": 6.0,
             "saving_per_person_period": {"care": 7.0},
             "wider_value_per_person_period": {"care": 8.0}, "discount_rate": 0.01,
             "other_costs_per_period": 9.0, "contract_periods": 2}
    assert load(municipality=table).municipality == Municipality(**table)
    # left out: the defaults
    assert load(municipality={"saving_per_event": 5.0}).municipality == Municipality(
        saving_per_event=5.0)


def test_payers_keep_the_municipalitys_discount_rate():
    deal = load(payers=[PAYER], municipality={"discount_rate": 0.01})
    assert deal.municipality.discount_rate == 0.01 and deal.payers[0].name == "p"


@pytest.mark.parametrize(("changes", "message"), [
    ({"evaluation": []}, "key 'evaluation': expected one or more [[evaluation]] tables"),
    ({"evaluation": None}, "key 'evaluation': expected one or more [[evaluation]] tables"),
    ({"contract": None}, "key 'contract': this table is required with an [[evaluation]]"),
    ({"capital": None}, "key 'capital': this table is required with a [contract]"),
    ({"payers": []}, "key 'payers': expected one or more [[payers]] tables"),
    ({"payers": [PAYER, {"name": "q", "shares": 2.0}]},
     "key 'payers[1]': Payer.shares: got 2.0; allowed: a finite number in [0, 1], a fraction: "
     "write 0.02 for 2%"),
    ({"payers": [PAYER], "municipality": {"discount_rate": 0.01, "saving_per_event": 5.0}},
     "key 'municipality.saving_per_event': with [[payers]], [municipality] holds only "
     "discount_rate: put each payer's savings and costs in its [[payers]] table"),
    ({"contract": {"terms": [{"metric": "m", "rule": {"kind": "price_per_unit", "price": 1.0}},
                             {"metric": "x", "rule": {"kind": "price_per_unit", "price": 1.0}}]}},
     "key 'contract.terms[1].metric': got 'x'; allowed: a metric that an [[evaluation]] "
     "measures (m)"),
])
def test_each_refusal_names_the_key(changes, message):
    with pytest.raises(ScenarioFileError, match="^<scenario>: " + re.escape(message) + "$"):
        load(**changes)
