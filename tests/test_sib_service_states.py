"""The people served and costs per state of money/sib.py (``_served``) checked by value: each
refusal of ``per_state`` in full (no states, an unknown state of one process or of the process
the costs follow, an absorbing state under ``basis = "in_service"``), and the people served
in service counted by hand from the engaged occupancy of the non-absorbing states."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

import sibsim
from sibsim.money.sib import money_flows

DRAWS = 2


def _run(name, **costs):
    deal = sibsim.load_scenario(name)
    deal = deal.replace(service_costs=dataclasses.replace(deal.service_costs, **costs))
    ds = sibsim.simulate(deal.scenario, draws=DRAWS, seed=3, progress=False)
    return deal, ds


@pytest.mark.parametrize(("name", "costs", "message"), [
    ("peterborough", {"per_state": {"shelter": 10.0}},
     "ServiceCosts.per_state: got ['shelter']; allowed: no states: the scenario's outcome has "
     "none"),
    ("essex-mst", {"per_state": {"jail": 10.0}},
     "ServiceCosts.per_state: got 'jail'; allowed: a state of the scenario's outcome"),
    ("denver-housing", {"per_state": {"jail": 10.0}},
     "ServiceCosts.per_state: got 'jail'; allowed: a state of the outcome process 'housing'"),
    ("lapset-sib-2", {"per_state": {"studying": 10.0}},  # a state of another process
     "ServiceCosts.per_state: got 'studying'; allowed: a state of the outcome process "
     "'activity'"),
    ("lapset-sib-2", {"per_state": {"active_at_25": 10.0}, "basis": "in_service"},
     "ServiceCosts.per_state: got 'active_at_25'; allowed: a state that is not absorbing with "
     "basis = 'in_service' (nobody is served in an absorbing state)"),
])
def test_costs_per_state_that_cannot_apply_are_refused_in_full(name, costs, message):
    deal, ds = _run(name, **costs)
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        money_flows(deal, ds)


def test_people_in_service_are_the_engaged_in_non_absorbing_states_by_hand():
    """Lapset-SIB II, basis in_service: the people served are the engaged people of the
    'activity' process in its states that are not absorbing (active, neet), in each wave's
    service window, summed over waves and strata; per_state prices the neet ones."""
    deal, ds = _run("lapset-sib-2", basis="in_service", per_state={"neet": 5.0})
    money = money_flows(deal, ds)
    eocc = ds["engaged_occupancy"].sel(arm="treatment", process="activity")
    entry = ds["entry_period"].values
    t = np.arange(ds.sizes["period"])
    window = (t[None, :] >= entry[:, None]) & (t[None, :] < entry[:, None]
                                               + deal.service_periods)
    by_state = {s: (eocc.sel(state=s).sum("stratum").transpose("draw", "wave", "period")
                    .values * window[None]).sum(1) for s in ("active", "neet")}
    served = by_state["active"] + by_state["neet"]
    np.testing.assert_allclose(money["participants_served"].values, served, rtol=1e-12)
    assert (served > 0).any()
    engaged = deal.replace(service_costs=dataclasses.replace(deal.service_costs,
                                                             basis="engaged", per_state={}))
    plain = money_flows(engaged, ds)
    assert (plain["participants_served"].values >= served - 1e-9).all()
    # the costs: per participant on those served, the neet ones at 5 instead
    sc = deal.service_costs
    want = sc.cost(served, {"neet": by_state["neet"]})
    np.testing.assert_allclose(money["service_costs"].values, want, rtol=1e-12)
