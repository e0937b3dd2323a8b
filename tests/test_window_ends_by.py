"""Evaluation windows from entry cut at the contract's end (``[[evaluation]] window_ends_by``):
Essex's 30 months from engagement, to March 2019 at the latest."""

from __future__ import annotations

import copy
import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from sibsim.money.evaluation import Evaluation, _window_mask, evaluate, evaluation_fixed
from sibsim.scenario_file import builtin_scenarios, parse_scenario
from test_evaluation import SIZES, rounded, two_wave_ds

# two_wave_ds: entry [0, 2], 6 periods; treated events wave 0 [3, 2, 90, ...], wave 1
# [50, 50, 4, 4, 70, 70]; comparison wave 0 [8, 6, 90, ...], wave 1 [50, 50, 10, 10, 70, 70];
# 10 and 20 treated, 20 and 40 comparison people.


def test_rct_windows_cut_at_the_end_by_hand():
    """window 2, cut at period 2: wave 0 measured in periods 0-1, wave 1 in period 2 only."""
    ev = Evaluation("m", design="rct", window=2, report_lag=1, window_ends_by=2)
    table = evaluate(two_wave_ds(), (ev,), seed=0)
    assert table.period == (2, 3, 3)  # known at the (cut) end of the window + 1
    assert table.participants == (10, 20, 30)
    # wave 1: treated 4 / 20 = 0.2, comparison 10 / 40 = 0.25; pooled 9 / 30 vs 24 / 60
    effect = [1 - 0.5 / 0.7, 1 - 0.2 / 0.25, 1 - 0.3 / 0.4]
    units = [(0.7 - 0.5) * 10, (0.25 - 0.2) * 20, (0.4 - 0.3) * 30]
    np.testing.assert_allclose(table.measured_effect[0], rounded(effect), rtol=1e-12)
    np.testing.assert_allclose(table.units[0], units, rtol=1e-12)
    # an end after every window changes nothing, bit for bit
    whole = evaluate(two_wave_ds(), (Evaluation("m", design="rct", window=2, report_lag=1),), 0)
    late = evaluate(two_wave_ds(), (Evaluation("m", design="rct", window=2, report_lag=1,
                                               window_ends_by=5),), 0)
    assert whole.period == late.period
    assert np.array_equal(whole.units, late.units)
    assert np.array_equal(whole.measured_effect, late.measured_effect)


def test_historical_results_to_date_count_the_periods_measured_by_hand():
    """Essex's form: a historical rate per period, results to date. With 0.5 a period the
    counterfactual to period p is 0.5 x the person-periods measured up to p."""
    ev = Evaluation("m", design="historical", historical_rate=0.5, window=2, per_period=True,
                    to_date=True, pooled=False, window_ends_by=2, precision=None)
    ds = two_wave_ds()
    table = evaluate(ds, (ev,), seed=0)
    assert table.period == (0, 1, 2)
    # person-periods to date: 10, 20, 20 + 20 x 1 (wave 1's window cut to period 2) = 40
    fixed = evaluation_fixed(ds, (ev,), 0)
    assert [t.person_periods for t in fixed.parts[0].triggers] == [10.0, 20.0, 40.0]
    # treated to date: 3, 5, 5 + 4 = 9 -> units 0.5 x 10 - 3, 0.5 x 20 - 5, 0.5 x 40 - 9
    np.testing.assert_allclose(table.units[0], [2.0, 5.0, 11.0], rtol=1e-12)
    np.testing.assert_allclose(table.measured_effect[0], [1 - 3 / 5, 1 - 5 / 10, 1 - 9 / 20],
                               rtol=1e-12)
    # an absolute target per person-period is judged on those 40 person-periods
    target = Evaluation("m", design="historical", historical_rate=0.5, window=2,
                        per_period=True, to_date=True, pooled=False, window_ends_by=2,
                        target_per_person_period=11 / 40)
    gate = evaluate(ds, (target,), seed=0).gate[0]
    assert gate.tolist() == [False, False, True]  # 2/10, 5/20, 11/40 per person-period


@settings(max_examples=40, deadline=None)
@given(entry=st.lists(st.integers(0, 6), min_size=1, max_size=5),
       window=st.integers(1, 5), start=st.integers(0, 2), end=st.integers(0, 11),
       people=st.integers(1, 50))
def test_windows_are_whole_windows_cut_at_the_end(entry, window, start, end, people):
    """Property: each wave measures min(window, end - its first period + 1) periods from its
    first window period, never after the end; a wave whose window would start after the end
    is refused."""
    entry = np.array(sorted(entry))
    n_t = np.full(len(entry), people)
    ev = Evaluation("m", window=window, window_start=start, window_ends_by=end)
    if (entry + start > end).any():
        with pytest.raises(ValueError, match=r"window_ends_by: got .*enters in period"):
            _window_mask(ev, entry, 12, n_t)
        return
    mask = _window_mask(ev, entry, 12, n_t)
    for w, e in enumerate(entry):
        periods = np.flatnonzero(mask[w])
        assert periods[0] == e + start and periods[-1] <= end
        assert len(periods) == min(window, end - (e + start) + 1)
        assert np.all(np.diff(periods) == 1)


@pytest.mark.parametrize(("kw", "message"), [
    ({"clock": "calendar", "calendar_window": [0, 3], "window_ends_by": 3},
     r"Evaluation\.window_ends_by: got 3; allowed: None with clock = 'calendar'"),
    ({"design": "historical", "historical_rate": 1.0, "window": 3, "window_ends_by": 3},
     r"Evaluation\.window_ends_by: got 3; allowed: None with a historical design unless "
     r"per_period"),
    ({"window_ends_by": -1}, r"Evaluation\.window_ends_by: got -1"),
])
def test_bad_ends_are_refused(kw, message):
    with pytest.raises(ValueError, match=message):
        Evaluation("m", **kw)


def test_an_end_beyond_the_horizon_or_before_an_entry_is_refused():
    with pytest.raises(ValueError, match=r"Evaluation\[m\]\.window_ends_by: got 6; allowed: "
                                         r"a period within the horizon of 6 periods"):
        evaluate(two_wave_ds(), (Evaluation("m", window=2, window_ends_by=6),), seed=0)
    with pytest.raises(ValueError, match=r"window_ends_by: got 1.*wave 1 enters in period 2"):
        evaluate(two_wave_ds(), (Evaluation("m", window=2, window_ends_by=1),), seed=0)
    assert SIZES["treatment"] == [10, 20]


def test_essex_runs_to_the_contract_end():
    deal = sibsim.load_scenario("essex-mst")
    (ev,) = deal.evaluations
    assert deal.scenario.horizon == 25 and ev.window_ends_by == 23 and ev.window == 10
    text = builtin_scenarios()["essex-mst"].read_text(encoding="utf-8")
    assert "window_ends_by = 23" in text and "Here the horizon is extended" not in text
    money = sibsim.analyse(deal, draws=20, seed=1, progress=False, with_breakeven=False).money
    # the last result to date is known in period 24 (Mar 2019 + report_lag), the last entrants
    # (period 21) measured over 3 quarters
    assert int(money["trigger_period"].max()) == 24
    assert float(money["unfunded_costs"].max()) == 0.0


def test_toml_round_trip():
    from test_roundtrip import roundtrip_problems

    doc = tomllib.loads(builtin_scenarios()["essex-mst"].read_text(encoding="utf-8"))
    assert roundtrip_problems(doc) == []
    doc = copy.deepcopy(doc)
    doc["evaluation"][0]["window_ends_by"] = 21
    assert roundtrip_problems(doc) == []
    assert parse_scenario(doc).evaluations[0].window_ends_by == 21


def test_cli_bad_end_exits_2_with_one_line(tmp_path, capsys):
    from sibsim.cli import main

    text = builtin_scenarios()["essex-mst"].read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("window_ends_by = 23 ", "window_ends_by = 30 "),
                   encoding="utf-8")
    assert main(["run", str(bad), "--draws", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "window_ends_by" in err[0] and "30" in err[0], err
    bad.write_text(text.replace("window_ends_by = 23 ", "window_ends_by = \"2019\" "),
                   encoding="utf-8")
    assert main(["run", str(bad), "--draws", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "window_ends_by" in err[0], err
