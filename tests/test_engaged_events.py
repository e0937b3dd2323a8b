"""The engaged participants' events (``engaged_events``): tallied by every engine only when asked
for, equal across engines in mean, never more than all events, and what a rate card with
``count = "engaged"`` and ``measure = "events"`` pays for (Koto-SIB's completed trainings of
those who took part)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from engine_scenarios import KINDS, T, one_process
from sibsim import Scenario
from sibsim.money.ratecard import RateCard
from sibsim.money.sib import money_flows

Z = 4.5
def scenario(kind: str, engagement: float = 0.6, dropout: float = 0.2,
             frailty: float | None = None) -> Scenario:
    return one_process(kind, frailty, engagement=engagement, dropout=dropout)


def run(sc, engine: str, draws: int, seed: int = 20240101, **kw):
    return sibsim.simulate(sc, draws=draws, seed=seed, engine=engine, progress=False, **kw)


def assert_cell_means(sim: np.ndarray, target: np.ndarray, what: str) -> None:
    """Per-cell means over draws (axis 0) against ``target`` within Z sample standard errors;
    a cell that never varies must equal its target."""
    mean = sim.mean(axis=0)
    se = sim.std(axis=0, ddof=1) / math.sqrt(sim.shape[0])
    bad = np.abs(mean - target) > Z * se + 1e-9
    assert not bad.any(), (what, np.argwhere(bad)[0], mean[bad][0], target[bad][0], se[bad][0])


# ------------------------------------------------------------------ engines agree
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("engine", ["aggregate", "individual"])
def test_stochastic_engaged_events_match_the_expected_trace(kind, engine):
    """Mean engaged events of each (arm, wave, stratum, period) cell = the expected engine's,
    within Monte Carlo standard errors (engagement 0.6, drop-out 0.2)."""
    sc = scenario(kind)
    sim = run(sc, engine, 800, seed=3, engaged_events=True)
    exp = run(sc, "expected", 1, engaged_events=True)
    assert_cell_means(sim["engaged_events"].values, exp["engaged_events"].values[0],
                      f"{engine} {kind}")
    # engaged events are a real part: neither nothing nor everything in the treated arm
    treated = exp.sel(arm="treatment")
    assert 0 < float(treated["engaged_events"].sum()) < float(treated["events"].sum())


@pytest.mark.parametrize("kind", KINDS)
def test_individual_engaged_events_with_frailty_match_the_quadrature_trace(kind):
    sc = scenario(kind, frailty=0.8)
    sim = run(sc, "individual", 600, seed=9, engaged_events=True)
    exp = run(sc, "expected", 1, engaged_events=True)
    assert_cell_means(sim["engaged_events"].values, exp["engaged_events"].values[0], kind)


def test_the_expected_trace_gives_the_closed_form_of_the_engaged_sub_cohort():
    """Markov, engagement e, drop-out d: the engaged occupancy of "well" times the treated
    probability of well -> sick, period by period (independent of the kernel's loop)."""
    e, d = 0.6, 0.2
    ds = run(scenario("markov", e, d), "expected", 1, engaged_events=True)
    T1 = T.copy()
    T1[0, 1], T1[0, 0] = 0.6 * T[0, 1], T[0, 0] + 0.4 * T[0, 1]
    v1 = np.zeros(3)
    v1[0] = 40 * e
    for t in range(5):
        if t > 0:
            v1 = (v1 @ T1) * (1 - d)
        got = float(ds["engaged_events"].values[0, 0, 0, 0, t])
        assert got == pytest.approx(v1[0] * T1[0, 1], rel=1e-9)


# ------------------------------------------------------------------ properties
BUILT_IN = ["koto-sib", "peterborough", "massachusetts-roca", "lapset-sib-1"]


@pytest.mark.parametrize("name", BUILT_IN)
@pytest.mark.parametrize("engine", ["aggregate", "individual", "expected"])
def test_engaged_events_never_exceed_events_and_are_nil_in_the_comparison_arm(name, engine):
    deal = sibsim.load_scenario(name)
    ds = run(deal.scenario, engine, 3, seed=5, engaged_events=True)
    ev, evj = ds["events"].values, ds["engaged_events"].values
    assert evj.shape == ev.shape
    assert np.all(evj >= 0)
    assert np.all(evj <= ev + 1e-9 * np.maximum(ev, 1.0))
    if "comparison" in ds["arm"].values:
        assert not ds["engaged_events"].sel(arm="comparison").any()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("engine", ["aggregate", "individual", "expected"])
def test_everyone_engaged_makes_engaged_events_the_events_bit_for_bit(kind, engine):
    ds = run(scenario(kind, engagement=1.0, dropout=0.0), engine, 4, seed=2,
             engaged_events=True)
    treated = ds.sel(arm="treatment")
    np.testing.assert_array_equal(treated["engaged_events"].values, treated["events"].values)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("engine", ["aggregate", "individual", "expected"])
def test_asking_for_engaged_events_changes_no_other_output(kind, engine):
    sc = scenario(kind)
    plain = run(sc, engine, 6, seed=4)
    more = run(sc, engine, 6, seed=4, engaged_events=True)
    assert "engaged_events" not in plain and "engaged_events" in more
    for name in plain.data_vars:
        np.testing.assert_array_equal(plain[name].values, more[name].values, err_msg=name)
    assert more["engaged_events"].attrs["units"] == "events"
    sibsim.dataset.schema.check(more)
    sibsim.dataset.schema.check(plain)


def test_several_processes_get_engaged_events_per_process():
    deal = sibsim.load_scenario("massachusetts-roca")
    ds = run(deal.scenario, "aggregate", 2, seed=1, engaged_events=True)
    assert ds["engaged_events"].dims == ds["events"].dims
    assert "process" in ds["engaged_events"].dims


# ------------------------------------------------------------------ rate cards
def test_a_rate_card_counts_the_engaged_participants_events():
    ds = run(scenario("markov"), "aggregate", 5, seed=6, engaged_events=True)
    card = RateCard("sick", price=10.0, count="engaged")
    everyone = dataclasses.replace(card, count="all")
    want = ds["engaged_events"].sel(arm="treatment").sum("wave")
    np.testing.assert_array_equal(card.counts(ds), want.transpose("draw", "stratum",
                                                                  "period").values)
    assert np.all(card.counts(ds) <= everyone.counts(ds))
    assert card.counts(ds).sum() < everyone.counts(ds).sum()


def test_a_rate_card_on_engaged_events_refuses_a_dataset_without_them():
    ds = run(scenario("markov"), "aggregate", 2, seed=6)
    card = RateCard("sick", price=10.0, count="engaged")
    with pytest.raises(ValueError, match=r"RateCard\[sick\].count: got 'engaged'; allowed: "
                                         r"'all' for an outcome dataset without engaged_events"):
        card.counts(ds)


def test_only_a_deal_whose_rate_card_counts_engaged_events_grows_its_dataset():
    koto = sibsim.load_scenario("koto-sib")
    peterborough = sibsim.load_scenario("peterborough")
    assert koto.needs_engaged_events and not peterborough.needs_engaged_events
    assert "engaged_events" in run(koto, "expected", 2)
    assert "engaged_events" not in run(peterborough, "expected", 2)
    assert "engaged_events" not in run(koto.scenario, "expected", 2)  # a scenario: asked for


def test_koto_pays_its_rate_card_for_the_participants_trainings_only():
    """EUR 1,500 per completed training of the engaged (84%) participants: the payments are the
    price times the engaged events (the cap of one training per person never binds here),
    and fewer than with every person drawn counted."""
    koto = sibsim.load_scenario("koto-sib")
    (card,) = koto.contract.rate_cards
    assert (card.count, card.measure) == ("engaged", "events")
    ds = run(koto, "expected", 2)
    paid = money_flows(koto, ds)["payments_by_metric"].sel(metric=card.name)
    engaged = ds["engaged_events"].sel(arm="treatment").sum(("wave", "stratum")).values
    assert float(paid.sum()) == pytest.approx(1_500 * engaged.sum(), rel=1e-9)
    everyone = koto.replace(contract=dataclasses.replace(
        koto.contract, rate_cards=(dataclasses.replace(card, count="all"),)))
    paid_all = money_flows(everyone, ds)["payments_by_metric"].sel(metric=card.name)
    # the engaged are 84% of those drawn and complete training a little sooner than the rest
    assert 0.8 < float(paid.sum()) / float(paid_all.sum()) < 0.9


# ------------------------------------------------------------------ property
@settings(max_examples=15, deadline=None)
@given(kind=st.sampled_from(["counts", "markov", "absorbing"]),
       engine=st.sampled_from(["aggregate", "individual"]),
       engagement=st.floats(0.0, 1.0), dropout=st.floats(0.0, 0.9),
       seed=st.integers(0, 2**31))
def test_engaged_events_are_a_part_of_the_events_in_every_cell(kind, engine, engagement,
                                                                 dropout, seed):
    ds = run(scenario(kind, engagement, dropout), engine, 2, seed=seed, engaged_events=True)
    ev, evj = ds["events"].values, ds["engaged_events"].values
    assert np.all((0 <= evj) & (evj <= ev))
    assert not ds["engaged_events"].sel(arm="comparison").any()
    if engagement == 0.0:
        assert not evj.any()
