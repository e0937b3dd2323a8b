"""Every refusal of sibsim.money.evaluation, checked in full: the exception's type and whole
message (field, value shown and what is allowed), over a table of bad inputs: specifications
(designs, blends, flat keys, precision, clock), TOML design lists, scenario checks, and the
checks that need an outcome dataset (windows against the horizon, processes and states).

A refusal whose field, value or text is wrong still refuses, so only a check of the whole
message tells the user's key from a wrong one (mutation testing found such checks missing).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from sibsim.money.evaluation import (
    RCT,
    Blend,
    ComparisonArm,
    Evaluation,
    Historical,
    Matched,
    Measured,
    check_evaluations,
    evaluate,
    evaluation_fixed,
)
from sibsim.money.money_metric import MoneyValue
from sibsim.spec.toml import KeyProblem
from test_evaluation import from_toml, two_wave_ds

PRECISION = ("a fraction in (0, 0.01] (0.001 = 0.1 percentage point), or 0 or None for no "
             "rounding")
PER_WAVE = ("one value per entry wave of the scenario (3, empty waves included), or a single "
            "value for all waves")

#: (bad input, exception type, the whole message)
SPECIFICATIONS = {
    "a per-wave bias without values": (
        lambda: Matched(bias=[]), ValueError,
        "Matched.bias: got []; allowed: at least one value (one per entry wave)"),
    "a blend of one design": (
        lambda: Blend(designs=(RCT(),), weights=(1.0,)), ValueError,
        "Blend.designs: got (RCT(),); allowed: two or more designs"),
    "a blend of a blend": (
        lambda: Blend(designs=(RCT(), Blend(designs=(RCT(), RCT()), weights=(0.5, 0.5))),
                      weights=(0.5, 0.5)), ValueError,
        "Blend.designs: got (RCT(), Blend(designs=(RCT(), RCT()), weights=(0.5, 0.5))); "
        "allowed: designs that are not blends"),
    "a blend with fewer weights than designs": (
        lambda: Blend(designs=(RCT(), RCT()), weights=(1.0,)), ValueError,
        "Blend.weights: got (1.0,); allowed: one weight per design (2 values)"),
    "a blend whose weights add up to 0.9": (
        lambda: Blend(designs=(RCT(), RCT()), weights=(0.5, 0.4)), ValueError,
        "Blend.weights: got (0.5, 0.4); allowed: weights that add up to 1 (they add up to "
        "0.9)"),
    "an unknown design name": (
        lambda: Evaluation("m", design="quasi"), ValueError,
        "Evaluation.design: got 'quasi'; allowed: a design object or one of 'rct', 'matched', "
        "'historical', 'predicted', 'before_after', 'blend'"),
    "a flat bias for a historical design": (
        lambda: Evaluation("m", design="historical", bias=0.1, historical_rate=0.5), ValueError,
        "Evaluation.bias: got 0.1; allowed: no bias for design 'historical' (designs with a "
        "bias: 'matched', 'before_after')"),
    "a flat historical rate for an RCT": (
        lambda: Evaluation("m", design="rct", historical_rate=0.5), ValueError,
        "Evaluation.historical_rate: got 0.5; allowed: no historical_rate for design 'rct' "
        "(designs with a historical_rate: 'historical', 'predicted')"),
    "a flat bias beside a design object": (
        lambda: Evaluation("m", design=Matched(), bias=0.1), ValueError,
        "Evaluation.bias: got 0.1; allowed: None with a design object: give it in the design, "
        "design=Matched(bias=...)"),
    "a flat historical rate below 0 (named as the evaluation's key)": (
        lambda: Evaluation("m", design="historical", historical_rate=-1.0), ValueError,
        "Evaluation.historical_rate: got 'fixed(value=-1.0)'; allowed: a rate (>= 0): a "
        "distribution whose values lie in [0, inf] (this one ranges over [-1, -1])"),
    "a flat bias that is not a number (named as the evaluation's key)": (
        lambda: Evaluation("m", design="matched", bias="x"), TypeError,
        "Evaluation.bias: got 'x' of type str; allowed: a real number"),
    "a precision of True": (
        lambda: Evaluation("m", precision=True), TypeError,
        f"Evaluation.precision: got True; allowed: {PRECISION}"),
    "a precision given as text": (
        lambda: Evaluation("m", precision="0.1"), TypeError,
        f"Evaluation.precision: got '0.1'; allowed: {PRECISION}"),
    "a precision of 0.5 percentage points written as 0.5": (
        lambda: Evaluation("m", precision=0.5), ValueError,
        f"Evaluation.precision: got 0.5; allowed: {PRECISION}: write 0.005 for 0.5 percentage "
        "point(s)"),
    "a precision of 100 percentage points (the largest that gets a hint)": (
        lambda: Evaluation("m", precision=100), ValueError,
        f"Evaluation.precision: got 100; allowed: {PRECISION}: write 1 for 100 percentage "
        "point(s)"),
    "a precision above 100 (no hint)": (
        lambda: Evaluation("m", precision=200.0), ValueError,
        f"Evaluation.precision: got 200.0; allowed: {PRECISION}"),
    "a negative precision (no hint)": (
        lambda: Evaluation("m", precision=-0.001), ValueError,
        f"Evaluation.precision: got -0.001; allowed: {PRECISION}"),
    "a precision of NaN (no hint)": (
        lambda: Evaluation("m", precision=float("nan")), ValueError,
        f"Evaluation.precision: got nan; allowed: {PRECISION}"),
    "occupancy without a state": (
        lambda: Evaluation("m", outcome="occupancy"), TypeError,
        "Evaluation.state: got None; allowed: a non-empty string"),
    "neither per wave nor pooled": (
        lambda: Evaluation("m", per_wave=False, pooled=False), ValueError,
        "Evaluation.per_wave/pooled: got (False, False); allowed: at least one of per_wave or "
        "pooled"),
    "per period without per wave": (
        lambda: Evaluation("m", per_wave=False, per_period=True), ValueError,
        "Evaluation.per_period: got True; allowed: per_period only with per_wave = true (it "
        "splits each wave's result by period; a pooled-only evaluation has one result)"),
    "to date without per period": (
        lambda: Evaluation("m", to_date=True), ValueError,
        "Evaluation.to_date: got True; allowed: to_date only with per_period = true (it nets "
        "the per-period results to date)"),
    "a value per unit beside money": (
        lambda: Evaluation("m", money=MoneyValue(per_unit=2.0), value_per_unit=3.0), ValueError,
        "Evaluation.value_per_unit: got 3.0; allowed: 0 (left out) with money: the units are "
        "then money and the avoided cost is that money; give the value of a unit as "
        "money.per_unit"),
    "a calendar window that ends before it starts": (
        lambda: Evaluation("m", clock="calendar", calendar_window=(3, 2)), ValueError,
        "Evaluation.calendar_window: got (3, 2); allowed: [first, last]: two periods with "
        "first <= last"),
    "a calendar window of three periods": (
        lambda: Evaluation("m", clock="calendar", calendar_window=(1, 2, 3)), ValueError,
        "Evaluation.calendar_window: got (1, 2, 3); allowed: [first, last]: two periods with "
        "first <= last"),
    "a window start with a calendar clock": (
        lambda: Evaluation("m", clock="calendar", calendar_window=(1, 2), window_start=1),
        ValueError,
        "Evaluation.window_start: got 1; allowed: 0 with clock = 'calendar' (the window is "
        "calendar_window)"),
    "a window end with a calendar clock": (
        lambda: Evaluation("m", clock="calendar", calendar_window=(1, 2), window_ends_by=3),
        ValueError,
        "Evaluation.window_ends_by: got 3; allowed: None with clock = 'calendar' (the last "
        "period of calendar_window ends every window)"),
    "a window that is not the calendar window's length": (
        lambda: Evaluation("m", clock="calendar", calendar_window=(1, 3), window=2), ValueError,
        "Evaluation.window: got 2; allowed: 1 (left out) or 3, the length of calendar_window, "
        "with clock = 'calendar'"),
    "a window end that cuts a historical rate's window": (
        lambda: Evaluation("m", design=Historical(historical_rate=0.5), window_ends_by=3),
        ValueError,
        "Evaluation.window_ends_by: got 3; allowed: None with a historical design unless "
        "per_period = true (its historical_rate covers a whole window, which the end would "
        "cut)"),
    "evaluations that are not a sequence": (
        lambda: check_evaluations(3), ValueError,
        "evaluations: got 3; allowed: one or more Evaluation"),
    "no evaluation": (
        lambda: check_evaluations([], "Deal.evaluations"), ValueError,
        "Deal.evaluations: got []; allowed: one or more Evaluation"),
    "evaluations that are not Evaluation": (
        lambda: check_evaluations(["a"]), ValueError,
        "evaluations: got ['a']; allowed: one or more Evaluation"),
    "two evaluations of one metric": (
        lambda: check_evaluations([Evaluation("a"), Evaluation("b"), Evaluation("a")]),
        ValueError,
        "evaluations: got ['a', 'b', 'a']; allowed: unique metrics: one evaluation per metric "
        "(repeated: a)"),
    "a stratum the scenario lacks (the first one missing is named)": (
        lambda: Evaluation("m", stratum=("a", "c", "d")).check_scenario(("a", "b"), 1),
        ValueError,
        "Evaluation[m].stratum: got 'c'; allowed: strata of the scenario: 'a', 'b'"),
    "a per-wave bias for two waves of three": (
        lambda: Evaluation("m", design=Matched(bias=(0.1, 0.2))).check_scenario(("a",), 3),
        ValueError,
        "Evaluation[m].design.bias: got (Fixed(value=0.1), Fixed(value=0.2)); allowed: "
        + PER_WAVE),
    "a per-wave bias of a blend's second design, for two waves of three": (
        lambda: Evaluation("m", design=Blend(designs=(RCT(), Matched(bias=(0.1, 0.2))),
                                             weights=(0.5, 0.5))).check_scenario(("a",), 3),
        ValueError,
        "Evaluation[m].design.designs[1].bias: got (Fixed(value=0.1), Fixed(value=0.2)); "
        "allowed: " + PER_WAVE),
    "a comparison rate of a wave without comparison people": (
        lambda: RCT().counterfactual("m", {}, ComparisonArm(np.zeros((2, 2)), np.array([5, 0])),
                                     Measured([1], np.array([3]), np.array([1]))),
        ValueError,
        "comparison arm: got 0 people in entry waves [1]; allowed: at least one person in each "
        "group the design compares"),
}


@pytest.mark.parametrize("case", list(SPECIFICATIONS))
def test_every_specification_refusal_in_full(case):
    make, kind, message = SPECIFICATIONS[case]
    with pytest.raises(kind) as info:
        make()
    assert type(info.value) is kind
    assert str(info.value) == message


#: (design table of evaluation[0], the key named, the problem)
DESIGN_TABLES = {
    "designs that are not a list": (
        {"kind": "blend", "designs": "rct", "weights": [1.0]}, "evaluation[0].design.designs",
        "expected a list of design tables {kind = ..., ...}"),
    "an empty list of designs": (
        {"kind": "blend", "designs": [], "weights": []}, "evaluation[0].design.designs",
        "expected a list of design tables {kind = ..., ...}"),
    "a design that is neither a table nor a kind": (
        {"kind": "blend", "designs": ["rct", 3], "weights": [0.5, 0.5]},
        "evaluation[0].design.designs[1]",
        "expected a design table {kind = ..., ...} or a kind name"),
}


@pytest.mark.parametrize("case", list(DESIGN_TABLES))
def test_every_design_list_refusal_names_its_key(case):
    design, key, problem = DESIGN_TABLES[case]
    with pytest.raises(KeyProblem) as info:
        from_toml({"metric": "m", "design": design})
    assert (info.value.key, info.value.problem) == (key, problem)


def test_a_design_list_of_tables_and_kind_names_is_read():
    ev = from_toml({"metric": "m", "design": {
        "kind": "blend", "designs": ["rct", {"kind": "historical", "historical_rate": [0.4, 0.5]}],
        "weights": [0.75, 0.25]}})
    assert ev.design == Blend(designs=(RCT(), Historical(historical_rate=(0.4, 0.5))),
                              weights=(0.75, 0.25))


# ------------------------------------------------------------------------ with an outcome dataset
# two_wave_ds: 6 periods (0 to 5), waves entering in periods 0 and 2 (10 and 20 treated)
HORIZON = "within the horizon of 6 periods"

ON_A_DATASET = {
    "a calendar window past the horizon": (
        Evaluation("m", clock="calendar", calendar_window=(2, 6)),
        f"Evaluation[m].calendar_window: got (2, 6); allowed: calendar periods {HORIZON} "
        "(0 to 5)"),
    "a calendar window that ends before a wave enters": (
        Evaluation("m", clock="calendar", calendar_window=(0, 1)),
        "Evaluation[m].calendar_window: got (0, 1); allowed: a calendar window that ends at or "
        "after the entry of every wave with people (wave 1 enters in period 2)"),
    "a window end past the horizon": (
        Evaluation("m", window=2, window_ends_by=6, per_period=True),
        f"Evaluation[m].window_ends_by: got 6; allowed: a period {HORIZON} (0 to 5)"),
    "a window end before a wave's window starts": (
        Evaluation("m", window=2, window_start=1, window_ends_by=2),
        "Evaluation[m].window_ends_by: got 2; allowed: a last period at or after the start of "
        "every window of a wave with people (wave 1 enters in period 2)"),
    "a window past the horizon": (
        Evaluation("m", window=5),
        "Evaluation[m].window: got 5; allowed: a follow-up window that ends within the horizon "
        "of 6 periods for every entry wave (wave 1 enters in period 2)"),
    "a window that starts later and ends past the horizon": (
        Evaluation("m", window=3, window_start=2),
        "Evaluation[m].window: got 3; allowed: a follow-up window 2 period(s) after entry that "
        "ends within the horizon of 6 periods for every entry wave (wave 1 enters in period "
        "2)"),
    "a state the outcome lacks": (
        Evaluation("m", outcome="occupancy", state="housed"),
        "Evaluation.state: got 'housed'; allowed: a state of the scenario's Markov/binary "
        "outcome"),
}


@pytest.mark.parametrize("case", list(ON_A_DATASET))
def test_every_refusal_on_an_outcome_dataset_in_full(case):
    ev, message = ON_A_DATASET[case]
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        evaluate(two_wave_ds(), (ev,), 0)


def test_a_window_end_at_the_last_period_and_a_window_to_it_are_accepted():
    """The boundaries of the two horizon checks: a window end at the last period (5), and a
    window whose last period is the last period of the horizon."""
    ds = two_wave_ds()
    evaluate(ds, (Evaluation("m", window=2, window_ends_by=5, per_period=True),), 0)
    evaluate(ds, (Evaluation("m", window=4),), 0)  # wave 1: periods 2 to 5
    evaluate(ds, (Evaluation("m", clock="calendar", calendar_window=(2, 5)),), 0)


def test_fixed_parts_of_other_evaluations_or_draws_are_refused_in_full():
    ds = two_wave_ds()
    fixed = evaluation_fixed(ds, (Evaluation("m", window=2),), 0)
    message = ("^" + re.escape("evaluate.fixed: got 'the parts of other evaluations or draws'; "
                               "allowed: evaluation_fixed(ds, evaluations, seed) of these "
                               "evaluations and draws") + "$")
    with pytest.raises(ValueError, match=message):
        evaluate(ds, (Evaluation("n", window=2),), 0, fixed=fixed)
    with pytest.raises(ValueError, match=message):
        evaluate(ds.isel(draw=[0]), (Evaluation("m", window=2),), 0, fixed=fixed)


def test_the_processes_and_states_of_a_two_process_scenario_in_full():
    import sibsim
    from test_multi_process import two_processes

    ds = sibsim.simulate(two_processes(n=10), draws=1, seed=1, engine="expected",
                         progress=False)
    several = "allowed: one of 'housing', 'jail_days' (the scenario has several outcome processes)"
    cases = [(Evaluation("m"), f"Evaluation[m].process: got None; {several}"),
             (Evaluation("m", process="nope"), f"Evaluation[m].process: got 'nope'; {several}"),
             (Evaluation("m", process="jail_days", outcome="occupancy", state="housed"),
              "Evaluation.state: got 'housed'; allowed: a state of process 'jail_days'"),
             (Evaluation("m", process="housing", outcome="occupancy", state="jailed"),
              "Evaluation.state: got 'jailed'; allowed: a state of the scenario's Markov/binary "
              "outcome")]
    for ev, message in cases:
        with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
            evaluate(ds, (ev,), 0)
    # the process's own state is measured
    evaluate(ds, (Evaluation("m", process="housing", outcome="occupancy", state="housed",
                             window=2),), 0)
