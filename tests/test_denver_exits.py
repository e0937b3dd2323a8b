"""Exits from eligibility in ``denver-housing``: an absorbing "exited" state of the housing
process (deaths and exits from housing end a person's paid days for good).

Independent checks:

* the expected engine's people in each housing state, entry wave by wave, against the closed
  form of the three-state absorbing chain (street -> housed -> exited, street -> exited),
  written out below from the drawn parameters, to 1e-12: the engaged (a hazard ratio on
  finding housing) and the others (no effect), at the sampled effect and at any effect;
* the aggregate engine: nobody leaves "exited" (its people never fall, wave by wave), and the
  engaged share still eligible after eight quarters agrees with the closed form within its
  Monte Carlo standard error;
* the housing payment (a rate card counting the engaged: the contract pays the participants'
  days housed): its units are the engaged treated participants' person-quarters in "housed",
  summed by hand from ``engaged_occupancy`` (no exited quarter, no quarter of a treated person
  housed on their own: both exist in the runs, so counting them would show), paid on the five
  instalment dates (each quarter a quarter later, on the next date) at the price per quarter;
  one more housed quarter of a non-engaged treated person changes no payment, one of a
  participant adds the price on the next instalment.

The chain, per quarter, for a person on the street: housed with ``h`` (``h' = 1 - (1 - h) **
HR`` for the engaged), dead with ``m``, still on the street otherwise (``a = 1 - h' - m``); a
housed person exits with ``q`` (``b = 1 - q``). From the street at entry, after ``k`` quarters:

    street  S_k = a ** k
    housed  H_k = h' x sum_{j<k} a ** j x b ** (k - 1 - j) = h' x (a ** k - b ** k) / (a - b)
    exited  E_k = 1 - S_k - H_k

(shares of the wave's people). ``q = 0.0316`` is the file's fixed row (0.9684 ** 12 = 0.68 still
housed after three years, the final evaluation's figure quoted there).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sibsim
from sibsim.money.sib import money_flows

Q_EXIT = 0.0316          # housed -> exited, the file's fixed row
LAG = 1                  # [contract] lag: a quarter housed falls due a quarter later
DATES = (5, 9, 13, 17, 20)   # [contract] payment_periods: the five housing instalments
PRICE = 1_518            # USD per person-quarter housed of a participant (the rate card)
PAID_TO = 19             # the last quarter with a price (2020 Q4): none from quarter 20 on
CAP = 11_420_000         # [contract.caps] total


@pytest.fixture(scope="module")
def deal():
    return sibsim.load_scenario("denver-housing")


def _param(ds, name):
    names = [str(x) for x in ds["parameter"].values]
    return ds["parameter_value"].values[:, names.index(name)]


def closed_form(h, m, hr, k):
    """Shares (street, housed, exited) after ``k`` quarters from the street: arrays over draws."""
    hp = 1.0 - (1.0 - h) ** hr
    a, b = 1.0 - hp - m, 1.0 - Q_EXIT
    s = a ** k
    housed = hp * (a ** k - b ** k) / (a - b)
    return s, housed, 1.0 - s - housed


def _by_time_since_entry(x, waves, horizon):
    """``x[draw, wave, period, state]`` -> ``[draw, wave, k, state]`` for k = 0 .. horizon - 1 -
    wave (the wave's quarters from its entry)."""
    return {w: x[:, w, w:horizon, :] for w in waves}


def _check_against_closed_form(ds, hr):
    h = _param(ds, "baseline.transition[0].street->housed")
    m = _param(ds, "baseline.transition[0].street->exited")
    occ = ds["occupancy"].sel(process="housing", arm="treatment").isel(stratum=0).values
    eng = ds["engaged_occupancy"].sel(process="housing", arm="treatment").isel(stratum=0).values
    horizon = occ.shape[2]
    n_eng = eng[:, :, :, :].sum(axis=3)        # engaged people of the wave, each period
    n_all = occ.sum(axis=3)
    checked = 0
    for w in range(occ.shape[1]):
        for k in range(horizon - w):
            t = w + k
            want_e = np.stack(closed_form(h, m, hr, k), axis=1) * n_eng[:, w, t][:, None]
            np.testing.assert_allclose(eng[:, w, t, :], want_e, rtol=1e-12, atol=1e-12)
            # the others (never engaged: no effect, the same chain with hr = 1)
            n_oth = n_all[:, w, t] - n_eng[:, w, t]
            want_o = np.stack(closed_form(h, m, 1.0, k), axis=1) * n_oth[:, None]
            np.testing.assert_allclose(occ[:, w, t, :] - eng[:, w, t, :], want_o,
                                       rtol=1e-12, atol=1e-10)
            checked += 1
    assert checked == sum(horizon - w for w in range(occ.shape[1]))


def test_expected_engine_is_the_absorbing_chain(deal):
    ds = sibsim.simulate(deal, draws=6, seed=4, engine="expected", progress=False)
    _check_against_closed_form(ds, _param(ds, "effect.value"))
    # the states are the file's, and only "exited" is absorbing
    absorbing = ds["absorbing"].sel(process="housing").values.tolist()
    assert list(ds["state"].values) == ["street", "housed", "exited"]
    assert absorbing == [False, False, True]


@settings(max_examples=8, deadline=None)
@given(hr=st.floats(min_value=1.0, max_value=30.0))
def test_closed_form_holds_at_any_searched_effect(deal, hr):
    """The break-even search moves the hazard ratio from 1 to 30 ([breakeven] effect_range)."""
    ds = sibsim.simulate(deal, draws=2, seed=5, engine="expected", progress=False,
                         overrides={"effect.value": np.full(2, hr)})
    _check_against_closed_form(ds, np.full(2, hr))


def test_share_still_eligible_by_hand():
    """One draw by hand: h = 0.04, m = 0.012 (the file's means), HR = 15. The closed form
    against the chain stepped forward quarter by quarter (each quarter's flows: m of the street
    and q of the housed exit, h' of the street are housed), and (a^4 - b^4) / (a - b) factored
    as (a + b)(a^2 + b^2)."""
    h, m, hr = 0.04, 0.012, 15.0
    hp = 1 - (1 - h) ** hr                   # 0.4579...
    a, b = 1 - hp - m, 1 - Q_EXIT
    street, housed, exited = 1.0, 0.0, 0.0
    for _ in range(4):
        street, housed, exited = (street * a, housed * b + street * hp,
                                  exited + street * m + housed * Q_EXIT)
    s, hs, ex = closed_form(np.array([h]), np.array([m]), hr, 4)
    assert s[0] == pytest.approx(street, rel=1e-13)
    assert s[0] == pytest.approx(a ** 4, rel=1e-13)
    assert hs[0] == pytest.approx(housed, rel=1e-13)
    assert hs[0] == pytest.approx(hp * (a + b) * (a * a + b * b), rel=1e-13)
    assert ex[0] == pytest.approx(exited, rel=1e-12)
    # a year after entry 8.5% of the engaged have left for good: 2.3 points of deaths on the
    # street (0.012 x (1 + a + a^2 + a^3)) and 6.1 of exits from housing
    assert ex[0] == pytest.approx(0.012 * (1 + a + a * a + a ** 3) + Q_EXIT * (
        hp + hp * (a + b) + hp * (a * a + a * b + b * b)), rel=1e-12)
    assert 0.08 < ex[0] < 0.09


@pytest.fixture(scope="module")
def aggregate(deal):
    return sibsim.simulate(deal, draws=200, seed=11, progress=False)


def test_nobody_leaves_exited(aggregate):
    # (draw, arm, wave, stratum, period): both arms, every wave, the engaged and all
    for var in ("occupancy", "engaged_occupancy"):
        ex = aggregate[var].sel(process="housing", state="exited").values
        assert (np.diff(ex, axis=-1) >= 0).all(), var
    # ... and people do exit, in both arms: the check is not vacuous
    ex = aggregate["occupancy"].sel(process="housing", state="exited").values
    assert (ex[:, :, :, :, -1].sum(axis=(2, 3)) > 0).all()


def test_aggregate_engine_agrees_with_the_closed_form(aggregate):
    """The engaged share still eligible (not exited) k = 8 quarters after entry, waves 0-9
    pooled: per draw, the simulated count minus its closed-form mean has mean 0; tolerance 4
    Monte Carlo standard errors over the 200 draws."""
    ds = aggregate
    k = 8
    h = _param(ds, "baseline.transition[0].street->housed")
    m = _param(ds, "baseline.transition[0].street->exited")
    hr = _param(ds, "effect.value")
    eng = ds["engaged_occupancy"].sel(process="housing", arm="treatment").isel(stratum=0)
    s, housed, _ = closed_form(h, m, hr, k)
    diff = np.zeros(ds.sizes["draw"])
    for w in range(ds.sizes["wave"]):
        n = eng.isel(wave=w, period=w + k).sum("state").values
        sim = eng.isel(wave=w, period=w + k).sel(state=["street", "housed"]).sum("state").values
        diff += sim - n * (s + housed)
    se = diff.std(ddof=1) / np.sqrt(diff.size)
    assert se > 0
    assert abs(diff.mean()) <= 4 * se, (diff.mean(), se)


def _engaged_housed_by_period(ds):
    """The engaged treated participants' person-quarters in "housed", (draw, period), summed
    over entry waves and strata by hand from ``engaged_occupancy``."""
    eng = ds["engaged_occupancy"].sel(process="housing", arm="treatment", state="housed")
    return eng.transpose("draw", "wave", "stratum", "period").values.sum(axis=(1, 2))


def _paid_on_dates(quarters):
    """Housing quarters (draw, period) -> amounts paid on each period: the quarter ``p`` falls
    due in ``p + LAG`` and is paid on the first instalment date at or after it (a quarter due
    after the last date, in the horizon's last period: ``overflow = "last"``); no price from
    ``PAID_TO + 1`` on (the five years of service delivery)."""
    horizon = quarters.shape[1]
    out = np.zeros_like(quarters)
    for p in range(min(PAID_TO + 1, horizon)):
        due = p + LAG
        date = next((d for d in DATES if d >= due), horizon - 1)
        out[:, date] += PRICE * quarters[:, p]
    return out


def test_the_housing_payment_counts_the_participants_housed_quarters(deal, aggregate):
    """The housing rate card counts the engaged treated participants' person-quarters in
    "housed" (the participants housed by the programme, not everyone randomised to treatment),
    every quarter, and pays them on the instalment dates at the price per quarter."""
    ds = aggregate
    want = _engaged_housed_by_period(ds)
    got = deal.contract.achievements(ds)
    card = list(got.cards).index("housing")
    np.testing.assert_allclose(got.counts[:, card].sum(axis=1), want, rtol=1e-12, atol=0)
    # neither the exited nor the non-engaged treated housed on their own count, and both exist
    occ = ds["occupancy"].sel(process="housing", arm="treatment")
    eng = ds["engaged_occupancy"].sel(process="housing", arm="treatment")
    exited = eng.sel(state="exited").sum(("wave", "stratum", "period")).values
    own = (occ - eng).sel(state="housed").sum(("wave", "stratum", "period")).values
    assert (exited > 0).all() and (own > 0).all()
    all_housed = occ.sel(state="housed").sum(("wave", "stratum", "period")).values
    np.testing.assert_allclose(want.sum(axis=1), all_housed - own, rtol=1e-12)
    # paid on the five instalment dates only, each date the quarters fallen due since the last
    money = money_flows(deal, ds)
    paid = money["payments_by_metric"].sel(metric="housing").transpose("draw", "period").values
    uncapped = money["outcome_payments"].sum("period").values < CAP - 1
    assert uncapped.mean() > 0.5
    np.testing.assert_allclose(paid[uncapped], _paid_on_dates(want)[uncapped], rtol=1e-12)
    assert (paid[:, [p for p in range(paid.shape[1]) if p not in DATES]] == 0).all()
    assert (paid.sum(axis=1) <= PRICE * want[:, :PAID_TO + 1].sum(axis=1) + 1e-6).all()


def test_a_treated_person_housed_on_their_own_is_not_paid(deal, aggregate):
    """One more person-quarter housed in the treated arm (wave 0, quarter 3, moved from the
    street): a non-engaged person's (occupancy only) changes no payment; an engaged
    participant's (occupancy and engaged_occupancy) adds the price, paid on the 2017 Q2
    instalment (quarter 3 falls due in quarter 4, the next date is 5)."""
    ds = aggregate.isel(draw=slice(0, 20))
    at = {"process": "housing", "arm": "treatment", "wave": 0, "period": 3}
    base = money_flows(deal, ds)["payments_by_metric"].sel(metric="housing")

    def moved(variables):
        out = ds.copy(deep=True)
        for var in variables:
            out[var].loc[{**at, "state": "street"}] -= 1.0
            out[var].loc[{**at, "state": "housed"}] += 1.0
        return money_flows(deal, out)["payments_by_metric"].sel(metric="housing")

    own = moved(["occupancy"])
    np.testing.assert_array_equal(own.values, base.values)
    engaged = moved(["occupancy", "engaged_occupancy"])
    grown = (engaged - base).sum("draw")
    uncapped = money_flows(deal, ds)["outcome_payments"].sum("period").values < CAP - PRICE
    n = int(uncapped.sum())
    assert n > 10
    extra = (engaged - base).isel(draw=np.flatnonzero(uncapped))
    np.testing.assert_allclose(extra.sel(period=5).values, PRICE, rtol=1e-12)
    assert float(abs(extra.drop_sel(period=5)).max()) == 0.0
    assert float(grown.sum()) > 0
