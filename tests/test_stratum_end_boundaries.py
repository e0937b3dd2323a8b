"""One sub-project's end (money/stratum_end.py) at its boundaries: the first and last periods an
end may start from (after the stratum's last entry wave *with people*, before the horizon, at or
before the maturity), exactly there and one period either side; how many strata may end; which
evaluations and other rules may stand beside it; the people unserved and the results that pay
nothing, by hand, at the end period and one period before; the summary line in full."""

from __future__ import annotations

import re
import tomllib

import numpy as np
import pytest
import xarray as xr

import sibsim
from sibsim.money.evaluation import evaluate
from sibsim.money.results import EvaluationTable
from sibsim.money.stratum_end import (
    StratumEnds,
    end_results,
    stratum_end_text,
    stratum_ends,
    unserved_mask,
)
from sibsim.money.termination import EffectBelow, EndStratum
from sibsim.scenario_file import parse_scenario

HORIZON = 6


def _stratum(name: str, entry: str, evaluated: str | None = None) -> tuple[str, str]:
    """A stratum of the cohort and, unless ``evaluated`` names strata, its own evaluation and
    price (10 per event avoided) and payer."""
    cohort = f'\n[[cohort.strata]]\nname = "{name}"\nentry = {entry}\n'
    strata = f'"{name}"' if evaluated is None else evaluated
    money = f"""
[[evaluation]]
metric = "m_{name}"
stratum = {strata}
design = {{kind = "historical", historical_rate = 2.0}}
window = 1
report_lag = 1
pooled = false
precision = 0
[[contract.terms]]
metric = "m_{name}"
rule = {{kind = "price_per_unit", price = 10}}
[[payers]]
name = "payer {name}"
shares = {{m_{name} = 1.0}}
"""
    return cohort, money


def deal_text(strata: dict[str, str], rules: str = "", deal_keys: str = "",
              evaluated: dict[str, str] | None = None) -> str:
    """Strata by name -> entry array; ``evaluated``: the strata an evaluation reads (a TOML
    array), by its stratum's name."""
    parts = [_stratum(n, e, (evaluated or {}).get(n)) for n, e in strata.items()]
    cohort = "".join(c for c, _ in parts)
    money = "".join(m for _, m in parts)
    first, rest = money.split("[[contract.terms]]", 1)
    return f"""
name = "tiny-strata"
description = "sub-projects"
horizon = {HORIZON}
{deal_keys}
[cohort]
{cohort}
[outcome]
kind = "counts"
name = "event"
rate = 2.0
[effect]
measure = "rr"
value = 0.8
{first}
[contract]
[[contract.terms]]{rest}
[service_costs]
per_participant = 7
service_periods = 4
[capital]
[[capital.tranches]]
name = "investors"
commitment = 1_000_000
{rules}
"""


def make(strata=None, rules="", **kw):
    strata = strata or {"a": "[100]", "b": "[100, 100]"}
    return parse_scenario(tomllib.loads(deal_text(strata, rules, **kw)))


def end(stratum="b", from_period=2, probability="1"):
    return (f'\n[[termination]]\nkind = "end_stratum"\nstratum = "{stratum}"\n'
            f"from_period = {from_period}\nprobability = {probability}\n")


def _refused(message: str, **kw) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        make(**kw)


# --------------------------------------------------------------------------- from_period
@pytest.mark.parametrize(("b_entry", "last"), [("[100, 100]", 1), ("[100, 0, 0]", 0),
                                               ("[0, 0, 100]", 2), ("[100, 0, 100]", 2)])
def test_the_end_lies_after_the_last_entry_wave_with_people_and_before_the_horizon(b_entry,
                                                                                   last):
    strata = {"a": "[100]", "b": b_entry}
    for c in (last + 1, HORIZON - 1):
        assert make(strata, end(from_period=c)).termination[0].from_period == c
    for c in (last, HORIZON):
        if c < 1:
            continue  # from_period >= 1 is the rule's own check
        _refused(f"Deal.termination[0].from_period: got {c}; allowed: a period after the "
                 f"stratum's last entry wave with people (period {last}) and before the "
                 f"horizon ({HORIZON}): everyone in it has started the service (people never "
                 "served would keep the service's effect in their simulated outcomes)",
                 strata=strata, rules=end(from_period=c))


def test_the_end_may_fall_at_the_maturity_and_not_after_it():
    assert make(rules=end(from_period=3), deal_keys="maturity = 3").maturity == 3
    _refused("Deal.termination[0].from_period: got 4; allowed: a period at or before the "
             "deal's maturity (3)", rules=end(from_period=4), deal_keys="maturity = 3")


def test_an_unknown_stratum_is_named_with_the_cohorts_strata():
    _refused("Deal.termination[0].stratum: got 'c'; allowed: a stratum of the cohort: 'a', 'b'",
             rules=end(stratum="c"))


# --------------------------------------------------------------------------- how many end
THREE = {"a": "[100]", "b": "[100, 100]", "c": "[50, 50]"}


def test_every_stratum_but_one_may_end_and_not_every_one():
    both = make(THREE, end("b", 2) + end("c", 3))
    assert [r.stratum for r in both.termination] == ["b", "c"]
    _refused("Deal.termination[0].stratum: got 'a'; allowed: a stratum while others continue "
             "(to end every stratum, stop the deal: an effect_below or stop_loss rule, or a "
             "maturity)", strata=THREE, rules=end("a", 2) + end("b", 2) + end("c", 3))
    _refused("a stratum while others continue", rules=end("a", 2) + end("b", 3))


def test_the_refused_rule_is_named_by_its_place():
    """The second rule's end falls before its stratum's last entry wave with people."""
    _refused("Deal.termination[1].from_period: got 1; allowed: a period after the stratum's "
             "last entry wave with people (period 1)", strata=THREE,
             rules=end("b", 2) + end("c", 1))


def test_two_ends_of_one_stratum_are_refused_and_of_two_strata_are_not():
    _refused("Deal.termination[0].stratum: got 'b'; allowed: a stratum no other end_stratum "
             "rule ends", strata=THREE, rules=end("b", 2) + end("b", 3))


# --------------------------------------------------------------------------- what stands beside
def test_an_evaluation_of_strata_without_the_ended_one_stands_beside_it():
    """c's evaluation reads a and c together: b may end; a may not (it is not alone there)."""
    evaluated = {"c": '["a", "c"]'}
    assert make(THREE, end("b", 2), evaluated=evaluated).termination[0].stratum == "b"
    _refused("Evaluation[m_c].stratum: got ('a', 'c'); allowed: 'a' alone, or strata without "
             "it, with an end_stratum rule for 'a' (a result over several strata cannot drop "
             "one stratum's share)", strata=THREE, rules=end("a", 2), evaluated=evaluated)


def test_a_stop_on_another_strata_results_stands_beside_it():
    deal = make()
    ok = deal.replace(termination=(EndStratum("b", 2), EffectBelow("m_a", 0.05)))
    assert len(ok.termination) == 2
    with pytest.raises(ValueError, match=re.escape(
            "Deal.termination[0].stratum: got 'b'; allowed: a stratum whose results no "
            "effect_below rule reads")):
        deal.replace(termination=(EndStratum("b", 2), EffectBelow("m_b", 0.05)))


# --------------------------------------------------------------------------- by hand
def test_unserved_from_the_end_period_on_by_hand():
    """Rule 0 ends stratum 2 in period 1 (draw 0), never (draw 1: end = 3 periods); rule 1
    ends stratum 0 in period 2 (draw 0) and 0 (draw 1)."""
    ends = StratumEnds((None, None), (2, 0), np.array([[1, 3], [2, 0]]),
                       (frozenset(), frozenset()))
    got = unserved_mask(ends, 3, 3).astype(int)
    assert got.shape == (2, 3, 3)
    assert got[0].tolist() == [[0, 0, 1], [0, 0, 0], [0, 1, 1]]
    assert got[1].tolist() == [[1, 1, 1], [0, 0, 0], [0, 0, 0]]


def test_results_known_at_the_end_pay_nothing_and_one_period_before_pay():
    """Results of m_b known in periods 1, 2, 3 and of m_a in 2; m_b ends in period 2 in draw 0
    and not at all in draw 1 (end = 4 periods): only draw 0's m_b results of 2 and 3 close."""
    table = EvaluationTable(("m_b", "m_b", "m_b", "m_a"), (1, 2, 3, 2), (False,) * 4,
                            (10,) * 4, measured_effect=np.full((2, 4), 0.2),
                            units=np.ones((2, 4)), gate=np.ones((2, 4), bool))
    ends = StratumEnds((None,), (1,), np.array([[2, 4]]), (frozenset({"m_b"}),))
    out = end_results(ends, table)
    assert out.gate.astype(int).tolist() == [[1, 0, 0, 1], [1, 1, 1, 1]]
    np.testing.assert_array_equal(out.measured_effect, table.measured_effect)
    later = StratumEnds((None,), (1,), np.array([[4, 4]]), (frozenset({"m_b"}),))
    assert end_results(later, table) is table  # nothing affected: the same table


def test_the_ended_strata_people_leave_the_people_served_from_the_end_on():
    """Stratum b of waves in periods 0 and 1, service 4 periods, ends from period 3: its
    people count in periods 0-2 and not from 3; stratum a is served as planned."""
    plain, ended = make(), make(rules=end(from_period=3))
    ds = sibsim.simulate(plain.scenario, draws=2, seed=4, progress=False)
    from sibsim.money.sib import money_flows

    base, got = money_flows(plain, ds), money_flows(ended, ds)
    eng = ds["engaged"].sel(arm="treatment").values  # (D, W, S, P)
    t = np.arange(HORIZON)
    window = (t[None, :] >= np.arange(2)[:, None]) & (t[None, :] < np.arange(2)[:, None] + 4)
    a, b = (eng[:, :, 0] * window).sum(1), (eng[:, :, 1] * window).sum(1)
    np.testing.assert_allclose(base["participants_served"].values, a + b)
    np.testing.assert_allclose(got["participants_served"].values, a + np.where(t >= 3, 0, b))
    # results of b's waves are known in periods 1 and 2 (< 3): both still paid
    np.testing.assert_array_equal(got["gate_passed"].values, base["gate_passed"].values)
    units = evaluate(ds, plain.evaluations, 4).units
    assert units.shape == (2, 3)


# --------------------------------------------------------------------------- the summary
@pytest.mark.parametrize(("probability", "words"), [("1", "probability 1)"),
                                                     ("0.5", "probability 0.5, an assumption)")])
def test_the_summary_line_in_full(probability, words):
    deal = make(rules=end(from_period=2, probability=probability))
    draws = np.arange(40)
    happened = deal.termination[0].end_period(7, draws, HORIZON) < HORIZON
    money = xr.Dataset(coords={"draw": draws, "period": np.arange(HORIZON)}, attrs={"seed": 7})
    assert stratum_end_text(money, deal) == (
        f"Sub-project 'b' ended from period 2 on in {100 * happened.mean():.1f}% of draws "
        f"({words}; the other sub-projects (strata) continue: its people are not served and "
        "its results known from then on pay nothing.")
    if probability == "0.5":
        assert 0 < happened.mean() < 1
    assert stratum_end_text(money, make()) is None


def test_two_ends_give_two_lines_and_inert_rules_none():
    deal = make(THREE, end("b", 2) + end("c", 3, "0"))
    money = xr.Dataset(coords={"draw": np.arange(3), "period": np.arange(HORIZON)},
                       attrs={"seed": 1})
    lines = stratum_end_text(money, deal).split("\n")
    assert len(lines) == 1 and lines[0].startswith("Sub-project 'b' ended from period 2 on in "
                                                   "100.0% of draws")
    ds = sibsim.simulate(deal.scenario, draws=3, seed=1, progress=False)
    ends = stratum_ends(deal, ds, 1)
    assert ends is not None and ends.strata == (1,) and ends.end.tolist() == [[2, 2, 2]]
    assert ends.metrics == (frozenset({"m_b"}),)
    both = make(THREE, end("b", 2) + end("c", 3))
    tail = ("; the other sub-projects (strata) continue: its people are not served and its "
            "results known from then on pay nothing.")
    assert stratum_end_text(money, both) == (
        f"Sub-project 'b' ended from period 2 on in 100.0% of draws (probability 1){tail}\n"
        f"Sub-project 'c' ended from period 3 on in 100.0% of draws (probability 1){tail}")
    assert stratum_ends(both, ds, 1).strata == (1, 2)
