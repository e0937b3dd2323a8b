"""money/sib.py where mutation testing found it unguarded, checked by class:

* what an ``effect_free(..., same_outcomes=True)`` memo keeps is keyed by every term it depends
  on: variants of a deal run one after the other on one memo (other evaluations, rules,
  contract, costs, savings, calendar) each get the very numbers of a run without the memo,
  and the lifecycle is shared by variants that differ in savings only;
* people served in states stop being served with their sub-project (a stratum's end), and a
  deal of one period serves its people in service, by hand;
* every refusal of the money chain in full; the module's docstring examples;
* the true effect of each draw, read in the test that computes it;
* the counterfactual, an inner run, never shows a progress bar;
* the bytes a memo entry counts, by hand.

Each value is computed inside the test that checks it (no module-scoped fixture): mutmut
runs, for a mutant, only the tests during which the mutated function ran, and a fixture's
work is counted for the first test that used it alone.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import sibsim
from sibsim.money.sib import counterfactual, effect_free, money_arrays, money_flows

DRAWS = 3


def _deal():
    """Peterborough (a cancellation, a matched design, two payers) with a third payer that
    pays nothing and saves 1,000 per reconviction avoided until 2013 (savings that depend on
    the calendar)."""
    from sibsim.money.payers import Payer

    deal = sibsim.load_scenario("peterborough")
    council = Payer("Council", {"reconviction": 0.0}, saving_per_event=1_000.0, last_year=2013)
    return deal.replace(payers=(*deal.payers, council))


def _variants(deal):
    """Variants of ``deal`` that each change one group of terms a memo entry is keyed on."""
    (ev,) = deal.evaluations
    first, *rest = deal.payers
    return {
        "base": deal,
        "a coarser precision": deal.replace(evaluations=(dataclasses.replace(ev, precision=0.01),)),
        "a significance gate": deal.replace(evaluations=(dataclasses.replace(ev, alpha=0.3),)),
        "no cancellation": deal.replace(termination=()),
        "a payment lag": deal.replace(contract=dataclasses.replace(deal.contract, lag=1)),
        "dearer service": deal.replace(service_costs=dataclasses.replace(
            deal.service_costs, per_participant=900.0)),
        "other savings": deal.replace(payers=(dataclasses.replace(
            first, saving_per_event=5_000.0), *rest)),
        "a later start": deal.replace(start_year=deal.start_year + 2),
        "base again": deal,
    }


def _plain(coord):
    """A coordinate of money_arrays (values, or (dim, values)) as plain lists."""
    if isinstance(coord, tuple):
        return coord[0], np.asarray(coord[1]).tolist()
    return np.asarray(coord).tolist()


def _koto_variants(deal):
    """Koto-SIB (a rate card of trainings completed by the engaged) and a variant whose card
    counts every participant's trainings."""
    (card,) = deal.contract.rate_cards
    every = dataclasses.replace(card, count="all")
    return {"base": deal,
            "a card counting everyone": deal.replace(
                contract=dataclasses.replace(deal.contract, rate_cards=(every,))),
            "base again": deal}


def _lapset_variants(deal):
    """Lapset-SIB I (Vantaa's sub-project ends from period 4: the people served and their
    costs are kept per stratum end) and variants of its service."""
    costs = deal.service_costs
    return {"base": deal,
            "dearer service": deal.replace(service_costs=dataclasses.replace(
                costs, per_participant=3_500.0)),
            "a longer service": deal.replace(service_periods=5),
            "costs per child in care": deal.replace(service_costs=dataclasses.replace(
                costs, basis="in_service", per_state={"care": 700.0})),
            "base again": deal}


VARIANTS = {"peterborough": (_deal, _variants),
            "koto-sib": (lambda: sibsim.load_scenario("koto-sib"), _koto_variants),
            "lapset-sib-1": (lambda: sibsim.load_scenario("lapset-sib-1"), _lapset_variants)}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variants_run_on_one_memo_get_their_own_numbers(name):
    """Variants run one after the other on one set of effect-free parts (with or without the
    memo of the same outcomes) each get the numbers of a run of their own."""
    make, vary = VARIANTS[name]
    deal = make()
    variants = vary(deal)
    ds = sibsim.simulate(deal, draws=DRAWS, seed=4, progress=False)  # engaged events too
    cf = counterfactual(deal, DRAWS, 4)
    memo = effect_free(deal, ds, cf, same_outcomes=True)  # a design grid's
    searching = effect_free(deal, ds, cf)  # the break-even search's: effect-free parts only
    differs = set()
    plain_base, _ = money_arrays(deal, ds, cf)
    for label, variant in variants.items():
        plain, coords = money_arrays(variant, ds, cf)
        for fixed in (memo, searching):
            kept, kept_coords = money_arrays(variant, ds, cf, fixed=fixed)
            assert set(kept) == set(plain), label
            for key in plain:
                np.testing.assert_array_equal(kept[key], plain[key], err_msg=f"{label}: {key}")
            assert {k: _plain(c) for k, c in kept_coords.items()} == {
                k: _plain(c) for k, c in coords.items()}, label
        if any(not np.array_equal(plain[k], plain_base[k]) for k in plain):
            differs.add(label)
    # every variant but the base changes some number: the check can fail
    assert differs == set(variants) - {"base", "base again"}


def test_the_lifecycle_is_shared_by_variants_that_differ_in_savings_only():
    deal = _deal()
    ds = sibsim.simulate(deal.scenario, draws=DRAWS, seed=4, progress=False)
    cf = counterfactual(deal, DRAWS, 4)
    fixed = effect_free(deal, ds, cf, same_outcomes=True)
    variants = _variants(deal)
    base, _ = money_arrays(deal, ds, cf, fixed=fixed)
    savings, _ = money_arrays(variants["other savings"], ds, cf, fixed=fixed)
    # the very arrays of the base's lifecycle: nothing paid or served is computed again
    for key in ("stop_period", "flow", "participants_served", "service_costs"):
        assert savings[key] is base[key], key
    for key in ("stop_period", "participants_served", "service_costs"):  # shared: read-only
        assert not base[key].flags.writeable, key
    assert not np.array_equal(savings["cashable_savings"], base["cashable_savings"])
    lag, _ = money_arrays(variants["a payment lag"], ds, cf, fixed=fixed)
    assert lag["flow"] is not base["flow"]  # the contract changed: a lifecycle of its own
    assert not np.array_equal(lag["flow"], base["flow"])


def test_people_served_in_states_stop_with_their_sub_project():
    """Lapset-SIB I: Vantaa's sub-project ends from period 4. Costs follow the children in
    service (basis in_service) with a price per child in care: Vantaa's children count
    nothing from period 4 on, the other strata's all through their service window."""
    deal = sibsim.load_scenario("lapset-sib-1")
    (rule,) = deal.termination
    assert (rule.stratum, rule.from_period, rule.probability) == ("vantaa", 4, 1.0)
    costs = dataclasses.replace(deal.service_costs, basis="in_service", per_state={"care": 700.0})
    deal = deal.replace(service_costs=costs, service_periods=6)
    ds = sibsim.simulate(deal.scenario, draws=2, seed=5, progress=False)
    money = money_flows(deal, ds)
    eocc = ds["engaged_occupancy"].sel(arm="treatment").transpose(
        "draw", "wave", "stratum", "period", "state").values.copy()
    strata = [str(s) for s in ds["stratum"].values]
    assert eocc[:, :, strata.index("vantaa"), 4:].sum() > 0  # the end takes people out
    eocc[:, :, strata.index("vantaa"), 4:] = 0.0
    entry = ds["entry_period"].values
    t = np.arange(ds.sizes["period"])
    window = (t[None, :] >= entry[:, None]) & (t[None, :] < entry[:, None] + 6)
    by_state = (eocc.sum(2) * window[None, :, :, None]).sum(1)  # (draw, period, state)
    states = [str(s) for s in ds["state"].values]
    alive = [i for i, s in enumerate(states) if not bool(ds["absorbing"].values[i])]
    served = by_state[..., alive].sum(-1)
    np.testing.assert_allclose(money["participants_served"].values, served, rtol=1e-12)
    want = costs.cost(served, {"care": by_state[..., states.index("care")]})
    np.testing.assert_allclose(money["service_costs"].values, want, rtol=1e-12)


def test_the_true_effect_is_each_draws_sampled_effect():
    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal.scenario, draws=DRAWS, seed=6, progress=False)
    money = money_flows(deal, ds)
    names = [str(n) for n in ds["parameter"].values]
    want = ds["parameter_value"].values[:, names.index("effect.value")]
    assert np.unique(want).size == DRAWS  # an uncertain effect: one value per draw
    np.testing.assert_array_equal(money["true_effect"].values, want)
    # a scenario without an effect has no true effect
    none = deal.with_scenario(effect=None)
    money = money_flows(none, sibsim.simulate(none, draws=2, seed=6, progress=False))
    assert np.isnan(money["true_effect"].values).all() and money.sizes["draw"] == 2


def test_the_counterfactual_shows_no_progress_bar_even_in_a_terminal(monkeypatch, capsys):
    from sibsim.engine import progress

    deal = sibsim.load_scenario("peterborough")
    monkeypatch.setattr(progress, "interactive", lambda: True)  # as in a terminal
    sibsim.simulate(deal.scenario, draws=2, seed=1)
    assert "draws" in capsys.readouterr().err  # a plain run shows its bar there
    counterfactual(deal, 2, 1)
    assert capsys.readouterr().err == ""


def test_bytes_of_a_lifecycle_entry_by_hand():
    from typing import NamedTuple

    from sibsim.money.sib import _deep_nbytes

    class Pair(NamedTuple):
        a: np.ndarray
        b: object

    @dataclasses.dataclass
    class Box:
        a: np.ndarray
        inner: object

    class Plain:
        def __init__(self, x):
            self.a, self.b = x, "text"

    x = np.zeros(5)  # 40 bytes
    assert _deep_nbytes(x) == 40
    assert _deep_nbytes(Pair(x, Pair(x, 3))) == 80
    assert _deep_nbytes(Box(x, [x, (x, None)])) == 120
    assert _deep_nbytes(Plain(x)) == 40
    assert _deep_nbytes((x, "text", 3, 2.5, None)) == 40
    # three levels down, not four
    assert _deep_nbytes([[[x]]]) == 40 and _deep_nbytes([[[[x]]]]) == 0
    assert _deep_nbytes(Pair(x, x), depth=0) == 0


@pytest.mark.parametrize("pick", [[0, 1, 2], [1, 2], [0, 2]])
def test_money_of_some_draws_is_those_draws_of_the_whole_run(pick):
    """The counterfactual of a selection of draws (contiguous, a later block, with a gap) is
    that of the whole run: the money of the selected draws is the whole run's."""
    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal.scenario, draws=DRAWS, seed=7, progress=False)
    whole = money_flows(deal, ds)
    part = money_flows(deal, ds.isel(draw=pick))
    for key in ("avoided_events", "outcome_payments", "net_savings", "flow"):
        np.testing.assert_array_equal(part[key].values, whole[key].isel(draw=pick).values,
                                      err_msg=key)


def test_the_modules_examples():
    import doctest

    import sibsim.money.sib as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 2


def test_every_refusal_of_the_money_chain_in_full():
    import re

    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal.scenario, draws=2, seed=1, progress=False)
    cf = counterfactual(deal, 2, 1)
    not_priced = "allowed: a Deal with evaluations, a contract and a capital structure"
    same = ("allowed: the same draws as the outcome dataset (2, same draw coordinate); compute "
            "it with counterfactual_of(deal, ds)")
    cases = [((deal.scenario, ds), f"money_flows.deal: got 'Scenario'; {not_priced}"),
             ((sibsim.Deal(scenario=deal.scenario), ds),
              f"money_flows.deal: got 'Deal'; {not_priced}"),
             ((deal, ds, cf.isel(draw=[])), f"money_flows.cf: got 'no draws'; {same}"),
             ((deal, ds, cf.isel(draw=[1])), f"money_flows.cf: got 'draws 1..1 (1)'; {same}"),
             ((deal, ds, counterfactual(deal, 3, 1)),
              f"money_flows.cf: got 'draws 0..2 (3)'; {same}")]
    for args, message in cases:
        with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
            money_flows(*args)
    # on a memo of the same outcomes too, however often it is asked
    fixed = effect_free(deal, ds, cf, same_outcomes=True)
    money_arrays(deal, ds, cf, fixed=fixed)
    for _ in range(2):
        with pytest.raises(ValueError, match=re.escape("money_flows.cf: got 'draws 1..1 (1)'")):
            money_arrays(deal, ds, cf.isel(draw=[1]), fixed=fixed)


def test_a_deal_of_one_period_serves_and_costs_the_people_in_service():
    """A horizon of one period and a run of one draw: the 100 people enter homeless (not
    absorbing), all in service, each priced at the homeless rate (30) instead of the price
    per participant."""
    from sibsim import Cohort, ComparisonGroup, Effect, Scenario
    from sibsim.money.capital import ServiceCosts
    from sibsim.money.evaluation import Evaluation
    from test_costs_follow_people import LIFE, _deal

    sc = Scenario(cohort=Cohort(size=100), comparison=ComparisonGroup(ratio=1), horizon=1,
                  outcome=LIFE, effect=Effect("rr", 0.8, targets=[("housed", "homeless")]))
    costs = ServiceCosts(per_participant=100.0, basis="in_service", per_state={"homeless": 30.0})
    deal = _deal(sc, costs, service_periods=1).replace(
        evaluations=(Evaluation("homeless", outcome="occupancy", state="homeless"),))
    money = money_flows(deal, sibsim.simulate(deal, draws=1, seed=1, engine="expected",
                                              progress=False))
    assert money["participants_served"].values.tolist() == [[100.0]]
    assert money["service_costs"].values.tolist() == [[3_000.0]]
