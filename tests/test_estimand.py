"""The evaluation's estimand (sibsim.money.estimand): intention to treat, or the effect on the
treated (enrolled) by Bloom's no-show adjustment; and the rate card's count of the engaged only
(RateCard.count)."""

from __future__ import annotations

import dataclasses
import textwrap

import numpy as np
import pytest

import sibsim
from sibsim.cli import main
from sibsim.money import Evaluation, RateCard
from sibsim.money.estimand import enrolled, enrolled_share, on_the_treated
from sibsim.money.evaluation import evaluate
from sibsim.scenario_file import load_scenario

pytestmark = pytest.mark.usefixtures("warm_kernels")

ITT = Evaluation("m", precision=None)
TOT = Evaluation("m", precision=None, estimand="treated")


def binary(size=100, ratio=1.0, engagement=0.5, rr=0.7, waves=None):
    cohort = sibsim.Cohort(entry=waves) if waves else sibsim.Cohort(size=size)
    return sibsim.Scenario(cohort=cohort, outcome=sibsim.BinaryOutcome(0.3), horizon=3,
                           effect=sibsim.Effect("rr", rr, engagement=engagement),
                           comparison=sibsim.ComparisonGroup(ratio=ratio))


def table(ds, *evs, seed=1):
    return evaluate(ds, tuple(evs), seed)


# ------------------------------------------------------------------ Bloom's estimator by hand
def test_treated_effect_is_the_itt_contrast_over_the_enrolled_share_by_hand():
    """100 assigned, 60 enrolled, 34 events against the comparison group's 40 (per 100): the
    ITT reduction is 15%, the effect on the enrolled 15% / 0.6 = 25%; 6 events avoided
    either way; the gate is the ITT's."""
    ds = sibsim.simulate(binary(), draws=1, seed=1).copy(deep=True)
    ds["events"].loc[{"arm": "treatment", "period": 0}] = 34.0
    ds["events"].loc[{"arm": "comparison", "period": 0}] = 40.0
    ds["engaged"].loc[{"arm": "treatment", "period": 0}] = 60.0
    itt = table(ds, dataclasses.replace(ITT, alpha=0.2, pooled=False))
    tot = table(ds, dataclasses.replace(TOT, alpha=0.2, pooled=False))
    assert itt.measured_effect[0, 0] == pytest.approx(0.15, abs=1e-12)
    assert tot.measured_effect[0, 0] == pytest.approx(0.25, abs=1e-12)
    assert tot.units[0, 0] == itt.units[0, 0] == pytest.approx(6.0, abs=1e-12)
    # z = 0.06 / sqrt(0.34/100 + 0.40/100) = 0.697 > z_0.8 = 0.842? no: closed in both
    assert not itt.gate[0, 0] and not tot.gate[0, 0]
    opened = dataclasses.replace(TOT, alpha=0.25, pooled=False)  # z_0.75 = 0.674 < 0.697
    assert table(ds, opened).gate[0, 0]
    # the contract's rounding applies to the effect on the treated
    rounded = table(ds, dataclasses.replace(TOT, precision=0.001, pooled=False))
    assert rounded.measured_effect[0, 0] == 0.25


def test_a_pooled_share_weights_the_waves_by_their_assigned_people():
    n_t = np.array([100.0, 300.0])
    took = np.array([[50.0, 240.0], [0.0, 0.0]])
    np.testing.assert_allclose(enrolled_share(took, n_t, [0, 1]), [290 / 400, 0.0])
    np.testing.assert_allclose(enrolled_share(took, n_t, [1]), [0.8, 0.0])


def test_no_one_enrolled_measures_nothing_and_pays_nothing():
    rel, units, gate = on_the_treated(np.array([0.1, -0.2]), np.array([5.0, -3.0]),
                                      np.array([True, True]), np.array([0.0, 0.0]))
    assert rel.tolist() == [0.0, 0.0] and units.tolist() == [0.0, 0.0]
    assert not gate.any()
    ds = sibsim.simulate(binary(engagement=0.0), draws=3, seed=2)
    tot = table(ds, TOT)
    assert np.all(tot.measured_effect == 0.0) and np.all(tot.units == 0.0)
    assert not tot.gate.any() and np.all(np.isfinite(tot.avoided_cost))


def test_enrolled_are_the_engaged_at_entry_in_the_strata_before_dropout():
    s = sibsim.Scenario(
        cohort=sibsim.Cohort(entry=(40, 0, 60)), outcome=sibsim.BinaryOutcome(0.3), horizon=6,
        effect=sibsim.Effect("rr", 0.8, engagement=0.5, dropout=0.3),
        comparison=sibsim.ComparisonGroup(ratio=1))
    ds = sibsim.simulate(s, draws=4, seed=3)
    got = enrolled(ds, TOT)
    eng = ds["engaged"].sel(arm="treatment").sum("stratum").values
    np.testing.assert_array_equal(got, np.stack([eng[:, 0, 0], eng[:, 1, 1] * 0,
                                                 eng[:, 2, 2]], 1))
    assert np.all(got[:, 0] <= 40) and np.all(got[:, 2] <= 60)
    # drop-out lowers the engaged later on, not the enrolled
    assert np.all(eng[:, 0, -1] <= got[:, 0])


# ------------------------------------------------------------------ engagement 1: ITT to the bit
def test_engagement_one_gives_the_itt_results_to_the_bit():
    ds = sibsim.simulate(binary(size=300, engagement=1.0, waves=(150, 0, 150)), draws=30,
                         seed=4)
    for ev in (dataclasses.replace(ITT, precision=0.001, alpha=0.1),
               dataclasses.replace(ITT, per_period=True, target_per_person_period=0.01)):
        a = table(ds, ev)
        b = table(ds, dataclasses.replace(ev, estimand="treated"))
        for f in ("measured_effect", "units", "gate", "avoided_cost"):
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


def test_roca_at_engagement_one_evaluates_as_its_itt_to_the_bit():
    """Several processes (enrolled from the measured process's engaged people by state)."""
    deal = load_scenario("massachusetts-roca")
    effect = dataclasses.replace(deal.scenario.effect, engagement=1.0)
    deal = deal.with_scenario(effect=effect)
    assert {e.estimand for e in deal.evaluations} == {"treated"}
    ds = sibsim.simulate(deal, draws=8, seed=1, progress=False)
    itt = tuple(dataclasses.replace(e, estimand="intention_to_treat") for e in deal.evaluations)
    a, b = evaluate(ds, itt, 1), evaluate(ds, deal.evaluations, 1)
    for f in ("measured_effect", "units", "gate", "avoided_cost"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


# ------------------------------------------------------------------ statistics
def test_the_mean_measured_treated_effect_is_the_true_effect_on_the_engaged():
    """RR 0.7 on a 30% risk among the engaged half: a true 30% reduction among the enrolled,
    15% intention to treat. The ToT's mean over draws is within 4 Monte Carlo standard errors
    of 0.30 (the ratio estimator's bias is O(1/n), far smaller); the ITT's is not."""
    ds = sibsim.simulate(binary(size=2000, engagement=0.5), draws=300, seed=5,
                         engine="aggregate")
    tot = table(ds, dataclasses.replace(TOT, pooled=False)).measured_effect[:, 0]
    itt = table(ds, dataclasses.replace(ITT, pooled=False)).measured_effect[:, 0]
    se = tot.std(ddof=1) / np.sqrt(tot.size)
    assert abs(tot.mean() - 0.30) < 4 * se, (tot.mean(), se)
    assert abs(itt.mean() - 0.15) < 4 * itt.std(ddof=1) / np.sqrt(itt.size)
    assert abs(itt.mean() - 0.30) > 10 * se


def test_expected_engine_gives_the_true_effect_on_the_engaged_exactly():
    ds = sibsim.simulate(binary(size=1000, engagement=0.37), draws=2, seed=1, engine="expected")
    tot = table(ds, TOT).measured_effect
    np.testing.assert_allclose(tot, 0.30, rtol=1e-12)


# ------------------------------------------------------------------ files, refusals, CLI
PRICED = """
name = "tot"
horizon = 3
[cohort]
size = 200
[comparison]
ratio = 1
[outcome]
kind = "binary"
probability = 0.3
[effect]
measure = "rr"
value = 0.7
engagement = 0.6
[[evaluation]]
metric = "m"
estimand = "treated"
[contract]
[[contract.terms]]
metric = "m"
rule = {kind = "steps", thresholds = [0.2], payments = [100000]}
[service_costs]
fixed_per_period = 10000
[capital]
[[capital.tranches]]
name = "investors"
commitment = 30000
"""


def write(tmp_path, text):
    path = tmp_path / "deal.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_estimand_is_read_from_toml_and_runs(tmp_path):
    deal = load_scenario(write(tmp_path, PRICED))
    assert deal.evaluations[0].estimand == "treated"
    itt = load_scenario(write(tmp_path, PRICED.replace('estimand = "treated"\n', "")))
    assert itt.evaluations[0].estimand == "intention_to_treat"
    res = sibsim.analyse(deal, draws=20, seed=1, progress=False, with_breakeven=False)
    assert np.isfinite(res.money["outcome_payments"].values).all()


@pytest.mark.parametrize(("old", "new", "words"), [
    ('estimand = "treated"', 'estimand = "on_treated"', ["estimand", "'on_treated'",
                                                          "intention_to_treat"]),
    ('[effect]\nmeasure = "rr"\nvalue = 0.7\nengagement = 0.6\n', "",
     ["Evaluation[m].estimand", "no effect"]),
], ids=["unknown-estimand", "no-effect"])
def test_a_bad_estimand_exits_2_naming_the_key(tmp_path, capsys, old, new, words):
    text = textwrap.dedent(PRICED)
    assert old in text
    out = tmp_path / "out.nc"
    code = main(["run", str(write(tmp_path, text.replace(old, new))), "--draws", "3",
                 "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    for word in words:
        assert word in err, (word, err)
    assert not out.exists()


def test_evaluation_refuses_an_unknown_estimand():
    with pytest.raises(ValueError, match=r"Evaluation.estimand: got 'tot'; allowed: "):
        Evaluation("m", estimand="tot")


# ------------------------------------------------------------------ rate cards: the engaged only
def markov(engagement):
    return sibsim.Scenario(
        cohort=sibsim.Cohort(size=500),
        outcome=sibsim.MarkovOutcome(states=("out", "in"), initial="out",
                                     transitions=((0.7, 0.3), (0.2, 0.8))),
        effect=sibsim.Effect("rr", 1.0, targets=(("out", "in"),), engagement=engagement,
                             dropout=0.1), horizon=4)


def test_a_rate_card_counts_the_engaged_person_periods_only():
    ds = sibsim.simulate(markov(0.6), draws=5, seed=6)
    card = RateCard("in", price=10.0, measure="occupancy", state="in", count="engaged")
    everyone = dataclasses.replace(card, count="all")
    want = ds["engaged_occupancy"].sel(arm="treatment", state="in").sum("wave")
    np.testing.assert_array_equal(card.counts(ds),
                                  want.transpose("draw", "stratum", "period").values)
    assert np.all(card.counts(ds) <= everyone.counts(ds))
    assert card.counts(ds).sum() < everyone.counts(ds).sum()
    # everyone engages: the two counts agree until the first drop-out (the second period)
    full = sibsim.simulate(markov(1.0), draws=5, seed=6)
    np.testing.assert_array_equal(card.counts(full)[..., 0], everyone.counts(full)[..., 0])


def test_a_rate_card_counts_engaged_events_from_a_dataset_that_has_them():
    """Once refused (the engines tallied no engaged events); now counted from the outcome
    dataset's engaged_events, and refused by name for a dataset without them."""
    card = RateCard("done", price=1.0, count="engaged")
    assert card.measure == "events"
    ds = sibsim.simulate(markov(0.6), draws=3, seed=6, engaged_events=True)
    want = ds["engaged_events"].sel(arm="treatment").sum("wave")
    np.testing.assert_array_equal(card.counts(ds),
                                  want.transpose("draw", "stratum", "period").values)
    with pytest.raises(ValueError, match=r"RateCard\[done\].count: got 'engaged'; allowed: "
                                         r"'all' for an outcome dataset without engaged_events"):
        card.counts(sibsim.simulate(markov(0.6), draws=3, seed=6))


def test_a_replayed_effect_on_the_treated_implies_the_enrolled_units(tmp_path):
    """A realised effect among the enrolled of 20% stands for 20% x the enrolled share of the
    counterfactual units: the ITT replay's units times the share, draw by draw."""
    from sibsim.analysis.replay import replay

    tot = load_scenario(write(tmp_path, PRICED))
    itt = load_scenario(write(tmp_path, PRICED.replace('estimand = "treated"\n', "")))
    a = replay(tot, measured={"m": 0.2}, draws=6, seed=4)
    b = replay(itt, measured={"m": 0.2}, draws=6, seed=4)
    ds = sibsim.simulate(tot, draws=6, seed=4, progress=False)
    share = enrolled(ds, tot.evaluations[0])[:, 0] / 200.0
    assert 0.3 < share.mean() < 0.9
    for k in range(a.sizes["trigger"]):
        np.testing.assert_allclose(a["trigger_units"].values[:, k],
                                   b["trigger_units"].values[:, k] * share, rtol=1e-12)


def test_the_power_of_a_treated_trigger_is_the_itt_power_at_the_threshold_times_the_share(
        tmp_path):
    """60% enrolled: a 20% step on the effect among the enrolled pays when the ITT effect
    reaches 12%, so its power is that of an ITT evaluation with a 12% step; the expected
    effect reported is the effect on the enrolled (the ITT's / 0.6)."""
    from sibsim.analysis.power import evaluation_power

    text = PRICED.replace('estimand = "treated"\n', 'estimand = "treated"\nprecision = 0\n')
    tot = evaluation_power(load_scenario(write(tmp_path, text)))
    itt = evaluation_power(load_scenario(write(tmp_path, text.replace(
        'estimand = "treated"\n', "").replace("thresholds = [0.2]", "thresholds = [0.12]"))))
    np.testing.assert_allclose(tot["power"].values, itt["power"].values, rtol=1e-9)
    assert 0.05 < tot["power"].values[0] < 0.95
    np.testing.assert_allclose(tot["expected_effect"].values,
                               itt["expected_effect"].values / 0.6, rtol=1e-9)
    np.testing.assert_allclose(tot["expected_effect"].values, 0.30, rtol=1e-9)
