"""Evaluations at their edges: contract rounding with precisions that are not exact decimals,
the exact messages of the design, clock and group checks, and groups of exactly one person.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py) found unguarded.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from sibsim.money.evaluation import Evaluation, Historical, contract_round


def full(message: str) -> str:
    """A pattern matching exactly ``message``."""
    return "^" + re.escape(message) + "$"


# ------------------------------------------------------------------------ contract rounding
def test_rounding_to_a_decimal_gives_the_decimal_the_report_prints():
    # k * 0.001 is not the float k / 1000 for these k (0.009000000000000001, ...): the rounded
    # effect must be the decimal itself, so that it compares equal to a threshold written so
    ks = np.array([9, 13, 18, 26, 36, 43])
    got = contract_round(ks / 1000 + 1e-12, 0.001)
    assert got.tolist() == [float(f"0.{k:03d}") for k in ks]


def test_a_precision_within_float_error_of_a_decimal_rounds_to_that_decimal():
    # 1 / (0.001 + 1e-13) is 999.9999999, within 1e-9 of 1000: the grid is k / 1000, and a
    # half-way value (0.1005 -> 100.5 thousandths) still goes away from zero
    assert contract_round(np.array([0.1, 0.1005]), 0.001 + 1e-13).tolist() == [0.1, 0.101]
    # the same for a precision just below 1: whole numbers stay whole
    assert contract_round(np.array([3.0, -2.0]), 1 - 1e-10).tolist() == [3.0, -2.0]


def test_rounding_returns_floats_even_for_integer_effects():
    assert contract_round([1, 2], None).dtype == np.float64
    assert contract_round([0, 1], 0.5).tolist() == [0.0, 1.0]


# ------------------------------------------------------------------------ design and clock
def test_a_design_named_without_its_required_value_says_what_is_required():
    with pytest.raises(ValueError, match=r"^Evaluation\.historical_rate: got None; allowed: "
                                         r"counterfactual outcome units per participant .* "
                                         r"\(required by design 'historical'\)$"):
        Evaluation("m", design="historical")


def test_a_flat_key_next_to_a_design_object_is_named_with_its_value():
    with pytest.raises(ValueError, match=full(
            "Evaluation.historical_rate: got 0.1; allowed: None with a design object: give it "
            "in the design, design=Historical(historical_rate=...)")):
        Evaluation("m", design=Historical(historical_rate=0.5), historical_rate=0.1)


def test_calendar_window_messages():
    with pytest.raises(ValueError, match=full(
            "Evaluation.calendar_window: got (1, 2); allowed: None with clock = 'entry' (set "
            "clock = 'calendar' to measure every wave over the same calendar periods)")):
        Evaluation("m", calendar_window=(1, 2))
    with pytest.raises(ValueError, match=full(
            "Evaluation.calendar_window: got None; allowed: [first, last] calendar periods "
            "(required with clock = 'calendar')")):
        Evaluation("m", clock="calendar")


# ------------------------------------------------------------------------ groups
# sizes: (arm, wave, stratum); strata ("a", "b"); wave 0 holds stratum a, wave 1 stratum b
SIZES = np.array([[[100, 0], [0, 50]], [[100, 0], [0, 50]]])


def test_no_treated_participant_in_the_evaluated_strata_is_refused():
    sizes = np.array([[[100, 0]], [[100, 0]]])
    with pytest.raises(ValueError, match=full(
            "Evaluation[m].stratum: got ('b',); allowed: strata with treated participants in "
            "at least one entry wave")):
        Evaluation("m", stratum="b").check_groups(sizes, ("a", "b"))


def test_a_wave_with_people_but_none_in_the_strata_is_named_with_its_people():
    with pytest.raises(ValueError, match=full(
            "Evaluation[m].stratum: got ('a',); allowed: strata with at least one participant "
            "in every entry wave with people (wave 1 has 50 participants, none in strata "
            "['a']); measure pooled only, or widen the strata or their shares")):
        Evaluation("m", stratum="a").check_groups(SIZES, ("a", "b"))
    # strata entering at their own times: such a wave is not measured, not refused
    Evaluation("m", stratum="a").check_groups(SIZES, ("a", "b"), own_entry=True)


def test_one_person_in_each_group_is_enough():
    one = np.array([[[1, 0], [0, 1]], [[1, 0], [0, 1]]])
    Evaluation("m").check_groups(one, ("a", "b"))
    Evaluation("m", stratum="a", per_wave=False).check_groups(one, ("a", "b"))


def test_an_empty_comparison_group_is_refused_with_the_treated_count():
    pooled = np.array([[[7, 0], [0, 5]], [[0, 0], [0, 0]]])
    with pytest.raises(ValueError, match=full(
            "Evaluation[m] comparison group in strata ['a']: got 0 people (7 treated); "
            "allowed: at least one person in each group the design compares (raise "
            "ComparisonGroup.ratio or size, or the strata's shares)")):
        Evaluation("m", stratum="a", per_wave=False).check_groups(pooled, ("a", "b"))
    by_wave = np.array([[[7, 0], [0, 5]], [[3, 0], [0, 0]]])
    with pytest.raises(ValueError, match=full(
            "Evaluation[m] comparison group of entry wave 1: got 0 people (5 treated); "
            "allowed: at least one person in each group the design compares (raise "
            "ComparisonGroup.ratio or size, or the strata's shares)")):
        Evaluation("m").check_groups(by_wave, ("a", "b"))


def test_a_design_needing_a_comparison_arm_without_one_names_the_designs_that_do_not():
    with pytest.raises(ValueError, match=r"^Evaluation\[m\]\.design: got 'rct'; allowed: a "
                                         r"design without a concurrent comparison group "
                                         r"\('historical'.*\) when the scenario has no "
                                         r"comparison group$"):
        Evaluation("m").check_groups(np.array([[[10]]]), ("all",))


# ------------------------------------------------------------------------ reuse
@pytest.mark.parametrize("name", ["peterborough", "massachusetts-roca"])
def test_measuring_with_fixed_parts_gives_the_same_table_in_any_layout(name):
    """evaluate(fixed=...) reads the treated arm's events its own fast way when they are float64
    in the usual layout, and the labelled way otherwise: the same numbers either way."""
    import sibsim
    from sibsim.money.evaluation import evaluate, evaluation_fixed

    deal = sibsim.load_scenario(name)
    ds = sibsim.simulate(deal, draws=4, seed=2, progress=False)
    evs = deal.evaluations
    fixed = evaluation_fixed(ds, evs, 2)
    plain = evaluate(ds, evs, 2)
    layouts = {"usual": ds, "float32": ds.assign(events=ds["events"].astype(np.float32)),
               "transposed": ds.transpose("period", ...)}
    for layout, data in layouts.items():
        table = evaluate(data, evs, 2, fixed=fixed)
        expected = plain if layout != "float32" else evaluate(data, evs, 2)
        np.testing.assert_array_equal(table.measured_effect, expected.measured_effect,
                                      err_msg=layout)
        np.testing.assert_array_equal(table.units, expected.units, err_msg=layout)


@pytest.mark.parametrize("name", ["peterborough", "koto-sib"])
def test_the_money_chain_reads_a_transposed_outcome_dataset_as_the_usual_one(name):
    """A user's ``transpose`` of the outcome dataset (or its counterfactual) changes nothing:
    the money layer and the break-even search put the schema's dimension order back first
    (before, evaluate failed with a broadcast error)."""
    import sibsim
    from sibsim.analysis.breakeven import breakeven
    from sibsim.money.sib import counterfactual, money_flows

    deal = sibsim.load_scenario(name)
    ds = sibsim.simulate(deal, draws=6, seed=3, progress=False)
    cf = counterfactual(deal, 6, 3)
    odd, odd_cf = ds.transpose("period", ...), cf.transpose(*reversed(list(cf.dims)))
    assert odd["events"].dims != ds["events"].dims
    a, b = money_flows(deal, ds, cf), money_flows(deal, odd, odd_cf)
    for k in a.data_vars:
        np.testing.assert_array_equal(a[k].values, b[k].transpose(*a[k].dims).values,
                                      err_msg=k)
    be_a = breakeven(deal, ds, cf=cf, grid=5)
    be_b = breakeven(deal, odd, cf=odd_cf, grid=5)
    np.testing.assert_array_equal(be_a["breakeven_effect"].values,
                                  be_b["breakeven_effect"].values)


def test_measuring_with_fixed_parts_with_more_strata_than_waves():
    """One entry wave, three strata (the fast way's output is per wave, not per stratum): the
    table measured with fixed parts is the plain one, for an evaluation of every stratum and
    one of a single stratum."""
    import sibsim
    from sibsim import Cohort, ComparisonGroup, CountOutcome, Effect, Scenario, Stratum
    from sibsim.money.evaluation import evaluate, evaluation_fixed

    sc = Scenario(cohort=Cohort(size=300, strata=(Stratum("a", 0.2), Stratum("b", 0.3),
                                                  Stratum("c", 0.5))),
                  outcome=CountOutcome(1.0, dispersion=2.0), horizon=3,
                  effect=Effect("rr", 0.7), comparison=ComparisonGroup(ratio=1))
    ds = sibsim.simulate(sc, draws=3, seed=2, progress=False)
    assert ds.sizes["wave"] < ds.sizes["stratum"]
    evs = (Evaluation("all", window=2, report_lag=0),
           Evaluation("b", window=2, report_lag=0, stratum=("b",)))
    plain = evaluate(ds, evs, 2)
    table = evaluate(ds, evs, 2, fixed=evaluation_fixed(ds, evs, 2))
    np.testing.assert_array_equal(table.measured_effect, plain.measured_effect)
    np.testing.assert_array_equal(table.units, plain.units)
    metric = list(plain.metric)
    assert not np.array_equal(plain.units[:, metric.index("all")],
                              plain.units[:, metric.index("b")])


@pytest.mark.parametrize("engine", ["aggregate", "expected"])
def test_measuring_with_fixed_parts_reads_the_treated_arm_wherever_it_is(engine):
    """The treated arm found by its label, not its position: arms listed comparison first,
    events stored as float32 (read the labelled way) or float64 (the fast way), whole or
    fractional (expected) counts: the same table as the plain measurement."""
    import sibsim
    from sibsim.money.evaluation import evaluate, evaluation_fixed

    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal, draws=3, seed=2, engine=engine, progress=False)
    evs = deal.evaluations
    plain = evaluate(ds, evs, 2)
    flipped = ds.isel(arm=[1, 0])
    assert list(flipped["arm"].values) == ["comparison", "treatment"]
    for data in (flipped, flipped.assign(events=flipped["events"].astype(np.float32))):
        expected = evaluate(data, evs, 2)
        table = evaluate(data, evs, 2, fixed=evaluation_fixed(data, evs, 2))
        np.testing.assert_array_equal(table.measured_effect, expected.measured_effect)
        np.testing.assert_array_equal(table.units, expected.units)
    np.testing.assert_array_equal(evaluate(flipped, evs, 2).units, plain.units)
