"""The fast money chain gives the same numbers, to the last bit, as the general one.

``money_arrays(..., fixed=effect_free(...))`` (the break-even search's and the design grid's
path: effect-free parts cached, the evaluation's comparison arm measured once, service costs
computed once) against ``money_arrays`` without ``fixed`` and ``money_flows``, on every built-in
scenario; and each small kernel of ``sibsim.money.kernels.chain`` against the numpy
expression it replaces (written out here as the reference).
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import sibsim
from sibsim.money.evaluation import _treated_units as treated_units
from sibsim.money.evaluation import evaluate, evaluation_fixed, outcome_units
from sibsim.money.kernels.chain import apply_payer_caps, payer_flows, sum_strata, sum_waves_strata
from sibsim.money.sib import MoneyArrays, counterfactual, effect_free, money_arrays, money_flows

SCENARIOS = sorted(p.stem for p in
                   (pathlib.Path(sibsim.__file__).parent / "scenarios").glob("*.toml"))
DRAWS = 40


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal shapes, dtypes and values, NaN where NaN, and the same sign of every zero."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind != "f":
        return bool(np.array_equal(a, b))
    return bool(np.array_equal(a, b, equal_nan=True)
                and np.array_equal(np.signbit(a), np.signbit(b)))


def _perturbed(ds, factor):
    """``ds`` with the treated arm's events and occupancy scaled (what break-even changes)."""
    out = ds.copy()
    for k in ("events", "occupancy"):
        if k in out:
            full = out[k].values.copy()
            full[:, :1] *= factor
            out[k] = (out[k].dims, full, out[k].attrs)
    return out


@pytest.fixture(scope="module", params=SCENARIOS)
def run(request):
    deal = sibsim.load_scenario(request.param)
    ds = sibsim.simulate(deal, draws=DRAWS, seed=5, progress=False)
    return deal, ds, counterfactual(deal, DRAWS, 5)


def test_fast_path_equals_general_path_on_every_scenario(run):
    deal, ds, cf = run
    fixed = effect_free(deal, ds, cf)
    money_arrays(deal, ds, cf=cf, fixed=fixed)  # fills the caches from ds ...
    assert fixed.costs and fixed.evaluations
    for factor in (0.9, 1.07):  # ... reused for other treated outcomes
        other = _perturbed(ds, factor)
        fast, fast_coords = money_arrays(deal, other, cf=cf, fixed=fixed)
        plain, plain_coords = money_arrays(deal, other, cf=cf)
        labelled = money_flows(deal, other, cf=cf)
        assert list(fast) == list(plain)
        assert set(fast) == set(labelled.data_vars)
        for name in plain:
            assert same_bits(fast[name], plain[name]), name
            assert same_bits(fast[name], labelled[name].values), name
        assert {k: str(x) for k, x in fast_coords.items()} == \
            {k: str(x) for k, x in plain_coords.items()}


def test_cached_evaluation_equals_a_fresh_one(run):
    deal, ds, _ = run
    seed = int(ds.attrs["seed"])
    fixed = evaluation_fixed(ds, deal.evaluations, seed)
    other = _perturbed(ds, 0.8)
    a, b = evaluate(other, deal.evaluations, seed, fixed), evaluate(other, deal.evaluations, seed)
    for name in ("measured_effect", "units", "avoided_cost", "gate"):
        assert same_bits(getattr(a, name), getattr(b, name)), name
    assert (a.metric, a.period, a.cumulative, a.participants) == \
        (b.metric, b.period, b.cumulative, b.participants)
    for ev in deal.evaluations:  # the treated arm alone, summed over strata by the kernel
        full = outcome_units(other, ev).values[:, list(other["arm"].values).index("treatment")]
        assert same_bits(treated_units(other, ev), full)


def test_evaluate_refuses_the_fixed_parts_of_other_draws():
    deal = sibsim.load_scenario("peterborough")
    ds = sibsim.simulate(deal, draws=6, seed=1, progress=False)
    fixed = evaluation_fixed(ds.isel(draw=slice(0, 3)), deal.evaluations, 1)
    with pytest.raises(ValueError, match=r"evaluate\.fixed"):
        evaluate(ds, deal.evaluations, 1, fixed)


def test_money_arrays_mapping_computes_late_arrays_once():
    calls = []
    m = MoneyArrays({"a": np.zeros(2)})
    from sibsim.money.sib import _Later
    m["b"] = _Later(lambda: calls.append(1) or np.ones(2))
    assert list(m) == ["a", "b"] and len(m) == 2 and not calls
    assert m["b"].tolist() == [1.0, 1.0] and m["b"] is m["b"] and calls == [1]
    assert dict(m).keys() == {"a", "b"}


# ----------------------------------------------------------------- kernels vs numpy
_amounts = st.floats(0.0, 1e7, allow_nan=False, allow_infinity=False)


def _payer_flows_numpy(paid, total, flow):
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(total[:, None, :] > 0,
                        paid / np.where(total > 0, total, 1.0)[:, None, :], 0.0)
    return flow[:, None, :] * part


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (5, 3, 4), elements=_amounts),
       arrays(np.float64, (5, 4), elements=st.floats(-1e7, 1e7, allow_nan=False)))
def test_payer_flows_kernel_is_the_numpy_expression(paid, flow):
    paid[0, :, 0] = 0.0  # a period without payments
    total = paid.sum(1)
    out = np.empty_like(paid)
    payer_flows(paid, total, flow, out)
    assert same_bits(out, _payer_flows_numpy(paid, total, flow))


def _payer_caps_numpy(due, capped, per, cap_total, contract_total):
    """The loop that ``split_by_payer`` ran before its kernel."""
    paid = due.copy()
    for c, i in enumerate(capped):
        room_total = np.full(due.shape[0], cap_total[c])
        for t in range(due.shape[2]):
            x = np.minimum(np.minimum(due[:, i, t], per[c, t]), np.maximum(room_total, 0.0))
            paid[:, i, t] = x
            room_total = room_total - x
    shortfall = (due - paid).sum(axis=1)
    total = np.where(shortfall > 0, np.maximum(contract_total - shortfall, 0.0), contract_total)
    return paid, total


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (6, 3, 5), elements=_amounts),
       st.lists(st.one_of(st.just(np.inf), _amounts), min_size=5, max_size=5),
       st.one_of(st.just(np.inf), _amounts))
def test_payer_caps_kernel_is_the_numpy_loop(due, per_period, cap_total):
    capped = np.array([0, 2], dtype=np.int64)
    per = np.array([per_period, [np.inf] * 5])
    caps = np.array([cap_total, 2e6])
    contract_total = due.sum(1)
    paid, total = np.empty_like(due), np.empty_like(contract_total)
    apply_payer_caps(due, capped, per, caps, contract_total, paid, total)
    want_paid, want_total = _payer_caps_numpy(due, capped, per, caps, contract_total)
    assert same_bits(paid, want_paid) and same_bits(total, want_total)
    assert np.all(paid <= due)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (4, 3, 2, 9), elements=st.floats(-1e6, 1e6, allow_nan=False)),
       arrays(np.bool_, (4, 3)), st.booleans())
def test_wave_stratum_sum_kernel_is_numpy_sum(x, started, mask):
    out = np.empty((4, 9))
    sum_waves_strata(x, started, mask, out)
    want = (x * started[:, :, None, None]).sum(axis=(1, 2)) if mask else x.sum(axis=(1, 2))
    assert same_bits(out, want)
    view = np.zeros((4, 2, 3, 2, 9, 2))[:, 0, :, :, :, 1]  # a strided view, as a selection
    view[...] = x
    sum_waves_strata(view, started, mask, out)
    assert same_bits(out, want)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (3, 2, 4, 9), elements=st.floats(0.0, 1e6, allow_nan=False)),
       st.permutations(range(4)), st.integers(1, 4))
def test_strata_sum_kernel_is_numpy_sum(x, order, k):
    strata = np.array(order[:k], dtype=np.int64)
    out = np.empty((3, 2, 9))
    sum_strata(x, strata, out)
    assert same_bits(out, x[:, :, strata].sum(axis=2))


def _variants_on_fixed_outcomes(deal):
    """Variants that change, in turn, each thing kept between calls on the same outcomes: the
    contract alone (everything kept is reused), the payers' savings (the savings are not), the
    termination rules (the cancellation's table is not), then the deal itself again."""
    out = [deal]
    if deal.contract.caps.total is not None:
        out.append(deal.with_values({"contract.caps.total": deal.contract.caps.total / 2}))
    owner = "payers[0]" if deal.payers else "municipality"
    saving = (deal.payers[0] if deal.payers else deal.municipality).saving_per_event
    if not isinstance(saving, dict) and len(deal.scenario.process_names) > 1:
        saving = dict.fromkeys(deal.scenario.process_names, saving)  # one amount per process
    out.append(deal.with_values({f"{owner}.saving_per_event": (
        {k: x * 0.5 + 1.0 for k, x in saving.items()} if isinstance(saving, dict)
        else saving * 0.5 + 1.0)}))
    if deal.termination:
        from sibsim.analysis.replay import without_policy
        out.append(without_policy(deal))
    return [*out, deal]


def test_outcomes_kept_between_variants_give_the_same_bits(run):
    """``effect_free(..., same_outcomes=True)`` (the design grid's and sensitivity's path)
    keeps what depends on the outcomes alone between calls; every variant's arrays are still
    those of a fresh call, whichever variant came before."""
    deal, ds, cf = run
    fixed = effect_free(deal, ds, cf, same_outcomes=True)
    table = evaluate(ds, deal.evaluations, int(ds.attrs["seed"]))
    variants = _variants_on_fixed_outcomes(deal)
    for var in variants:
        kept, kept_coords = money_arrays(var, ds, cf=cf, table=table, fixed=fixed)
        plain, plain_coords = money_arrays(var, ds, cf=cf)
        assert list(kept) == list(plain)
        for name in plain:
            assert same_bits(kept[name], plain[name]), (var.name, name)
        assert {k: str(x) for k, x in kept_coords.items()} == \
            {k: str(x) for k, x in plain_coords.items()}
    assert fixed.outcomes  # something was kept
    # what is kept cannot be changed in place by a caller
    kept, _ = money_arrays(deal, ds, cf=cf, table=table, fixed=fixed)
    with pytest.raises(ValueError, match="read-only"):
        kept["cashable_savings_by_payer"][...] = 0.0


def test_outcomes_are_not_kept_when_they_change(run):
    """Without ``same_outcomes`` (the break-even search) nothing that depends on the treated
    arm is kept: a call on other outcomes gives that call's numbers."""
    deal, ds, cf = run
    fixed = effect_free(deal, ds, cf)
    assert fixed.outcomes is None
    money_arrays(deal, ds, cf=cf, fixed=fixed)
    other = _perturbed(ds, 0.8)
    fast, _ = money_arrays(deal, other, cf=cf, fixed=fixed)
    plain, _ = money_arrays(deal, other, cf=cf)
    for name in plain:
        assert same_bits(fast[name], plain[name]), name


def test_uncertain_money_sampled_once_per_set_of_draws():
    """The uncertain money assumptions are sampled once per set of draws (``money_samples``):
    the variants that set one of them to fixed values, in turn, get a fresh call's numbers."""
    deal = sibsim.load_scenario("koto-sib")
    payer = deal.payers[0]
    deal = deal.replace(payers=(dataclasses.replace(
        payer, saving_per_event=sibsim.Gamma.from_mean_sd(1_000.0, 200.0)), *deal.payers[1:]),
        service_costs=dataclasses.replace(deal.service_costs,
                                          per_participant=sibsim.Triangular(400.0, 500.0, 700.0)))
    ds = sibsim.simulate(deal, draws=DRAWS, seed=3, progress=False)
    cf = counterfactual(deal, DRAWS, 3)
    fixed = effect_free(deal, ds, cf, same_outcomes=True)
    fixed_cost = deal.with_values({"service_costs.per_participant": 450.0})
    other_cost = deal.with_values({"service_costs.per_participant":
                                   sibsim.Triangular(400.0, 500.0, 800.0)})
    for var in (deal, fixed_cost, other_cost, deal):
        kept, _ = money_arrays(var, ds, cf=cf, fixed=fixed)
        plain, _ = money_arrays(var, ds, cf=cf)
        for name in plain:
            assert same_bits(kept[name], plain[name]), name
    assert len(fixed.money_samples) == 3  # each distribution's values, sampled once


def test_what_is_kept_stays_within_its_byte_budget():
    """The caches kept between calls hold at most their budget of bytes: the oldest entries
    go first, a value larger than the whole budget is not kept, and a kept value comes back
    as the same read-only arrays."""
    from sibsim.money.sib import _kept, _nbytes

    memo: dict = {}
    made = []

    def make(n):
        def f():
            made.append(n)
            return np.zeros(n), np.ones(n)  # 16 n bytes
        return f

    a = _kept(memo, "a", make(10), budget=400)  # 160 bytes
    assert _kept(memo, "a", make(10), budget=400) is a and made == [10]
    assert not a[0].flags.writeable
    _kept(memo, "b", make(10), budget=400)
    _kept(memo, "c", make(10), budget=400)  # 480 > 400: "a" goes
    assert list(memo) == ["b", "c"]
    assert sum(_nbytes(e[1]) for e in memo.values()) <= 400
    big = _kept(memo, "d", make(40), budget=400)  # 640 bytes: never kept
    assert "d" not in memo and big[0].flags.writeable
    assert _kept(None, "a", make(3))[0].shape == (3,)  # no memo: computed afresh
    assert _kept(memo, ("x", [1]), make(2), budget=400)[0].shape == (2,)  # unhashable key
    assert made == [10, 10, 10, 40, 3, 2]
