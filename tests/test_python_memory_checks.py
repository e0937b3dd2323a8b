"""The tools that hold every draw at once refuse, from Python as on the command line, a number
of draws that cannot fit in memory: before any simulation, with the estimate and the draws that
fit (issue 7, section 3)."""

from __future__ import annotations

import pytest

import sibsim
from sibsim import resources
from sibsim.analysis import design as design_module
from sibsim.analysis.evaluation_design import payment_curves
from sibsim.analysis.voi import value_of_information
from sibsim.resources import RunTooLargeError, check_draws_fit

DRAWS = 10**9  # about 10 TB of results for Peterborough


@pytest.fixture(scope="module")
def deal():
    return sibsim.load_scenario("peterborough")


@pytest.fixture
def no_simulation(monkeypatch):
    """Any simulation beyond the estimate's small pilot fails the test."""
    from sibsim.dataset import build

    real = build.simulate

    def guarded(scenario, draws=1000, *args, **kwargs):
        assert draws <= resources.PILOT_DRAWS, f"simulated {draws} draws before refusing"
        return real(scenario, draws, *args, **kwargs)

    monkeypatch.setattr(build, "simulate", guarded)
    for module in ("sibsim.analysis.design", "sibsim.analysis.voi",
                   "sibsim.analysis.evaluation_design", "sibsim.analysis.sensitivity._common"):
        mod = __import__(module, fromlist=["simulate"])
        monkeypatch.setattr(mod, "simulate", guarded, raising=False)
    monkeypatch.setattr(resources, "available_memory", lambda: 8 * 10**9)


@pytest.mark.parametrize("tool", ["design", "compare", "payment_curves", "voi", "tornado",
                                  "sensitivity"])
def test_each_tool_refuses_draws_that_cannot_fit(deal, no_simulation, tool):
    calls = {
        "design": lambda: sibsim.design(deal, {"contract.caps.total": [8e6, 13e6]},
                                        draws=DRAWS),
        "compare": lambda: design_module.compare([deal, deal], names=["a", "b"], draws=DRAWS),
        "payment_curves": lambda: payment_curves(deal, effects=[0.9], draws=DRAWS),
        "voi": lambda: value_of_information(deal, draws=DRAWS),
        "tornado": lambda: sibsim.tornado(deal, draws=DRAWS),
        "sensitivity": lambda: sibsim.sensitivity(deal, method="tornado", draws=DRAWS),
    }
    with pytest.raises(RunTooLargeError, match=r"about [\d,]+ fit"):
        calls[tool]()


def test_the_limit_is_the_estimate(deal, monkeypatch):
    """Just under and just over the draws that fit: the estimate of one unblocked analysis,
    its results held once per copy, within 85% of the memory."""
    est = resources.estimate_run(deal, 100_000, with_breakeven=False, block_draws=100_000,
                                 keep_outcomes=True)
    per = est.kept_per_draw + est.work_per_draw
    avail = int(per * 100_000 / resources.SAFETY) + 1
    monkeypatch.setattr(resources, "available_memory", lambda: avail)
    check_draws_fit(deal, 100_000)                      # fits
    with pytest.raises(RunTooLargeError):
        check_draws_fit(deal, 100_000, copies=2)        # twice the results do not
    with pytest.raises(RunTooLargeError):
        check_draws_fit(deal, 101_000)
    # below the threshold nothing is estimated (no pilot simulation at all)
    monkeypatch.setattr(resources, "estimate_run", lambda *a, **k: pytest.fail("estimated"))
    check_draws_fit(deal, resources.CHECK_DRAWS_FROM - 1)


def test_the_command_line_says_it_in_one_line(capsys, monkeypatch):
    monkeypatch.setattr(resources, "available_memory", lambda: 8 * 10**9)
    from sibsim.cli import main

    assert main(["voi", "peterborough", "--draws", str(DRAWS)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--draws" in err and "fit" in err
