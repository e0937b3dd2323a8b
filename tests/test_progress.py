"""One progress bar (tqdm) for a whole run: simulation, money and break-even together."""

from __future__ import annotations

import pytest

import sibsim
from sibsim.engine import progress as pg

pytestmark = pytest.mark.usefixtures("warm_kernels")


def _lines(err: str) -> list[str]:
    return [x.strip() for x in err.replace("\r", "\n").splitlines() if x.strip()]


def test_off_by_default_outside_a_terminal(capsys):
    assert not pg.interactive()  # pytest captures standard error: not a terminal
    sibsim.analyse(sibsim.load_scenario("peterborough"), draws=40, seed=1, with_breakeven=False)
    assert capsys.readouterr().err == ""


def test_a_kernel_is_a_notebook_but_an_imported_ipykernel_is_not(monkeypatch):
    """Starting kernels (nbclient, in the notebook tests) imports ipykernel in this process: not
    a notebook. A running kernel's shell has a ``kernel``."""
    import sys
    import types

    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    assert not pg.interactive()
    shell = types.SimpleNamespace(kernel=object())
    monkeypatch.setitem(sys.modules, "IPython",
                        types.SimpleNamespace(get_ipython=lambda: shell))
    assert pg.interactive()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: None))
    assert not pg.interactive()


@pytest.mark.parametrize("block_draws", [None, 16])
def test_one_bar_covers_the_whole_run(capsys, block_draws):
    deal = sibsim.load_scenario("peterborough")
    sibsim.analyse(deal, draws=40, seed=1, progress=True, block_draws=block_draws)
    err = capsys.readouterr().err
    # one bar: one line ended (the final state), every state of it counted in the run's draws
    assert err.count("\n") == 1 and err.endswith("\n")
    states = _lines(err)
    assert all(s.startswith("draws ") and "/40 |" in s for s in states)
    assert states[-1].startswith("draws 40/40") and "100%" in states[-1]
    stage = "break-even" if block_draws is None else "block 3 of 3"
    assert stage in states[-1]


def test_stages_share_the_bar():
    with pg.progress(100, enabled=False) as bar:
        bar.stage("simulation", weight=0.25)
        with pg.share(10) as part:
            part.update(5)
            assert bar.done == pytest.approx(12.5)
        assert bar.done == pytest.approx(25.0)  # a closed part has done its stage
        bar.stage("break-even", weight=0.75)
        seen = []
        for _ in pg.steps(range(3)):
            seen.append(bar.done)
        assert seen == pytest.approx([25.0, 50.0, 75.0]) and bar.done == pytest.approx(100)
        bar.update(50)  # never beyond the total
        assert bar.done == 100


def test_a_nested_run_is_a_step_of_the_outer_bar(capsys):
    """What a design search does: each variant's analysis advances the search's bar."""
    deal = sibsim.load_scenario("peterborough")
    with pg.progress(3, enabled=True, label="variants") as bar:
        bar.stage("search")
        done = []
        for _ in pg.steps(range(3)):
            sibsim.analyse(deal, draws=10, seed=1, progress=None, with_breakeven=False)
            done.append(bar.done)
        # each analysis fills its own step: 1/3 of the bar, not the whole stage
        assert done == pytest.approx([1, 2, 3])
    states = _lines(capsys.readouterr().err)
    assert all(s.startswith("variants ") for s in states)  # no bar of the inner runs
    assert states[-1].startswith("variants 3/3")


def test_a_disabled_inner_run_does_not_move_the_bar():
    with pg.progress(10, enabled=False) as bar:
        bar.stage("a", weight=0.5)
        sibsim.simulate(sibsim.load_scenario("peterborough"), draws=5, seed=1, progress=False)
        assert bar.done == 0


def test_end_line_closes_an_open_bar(capsys):
    bar = pg.Progress(10, enabled=True)
    bar.update(3)
    pg.end_line()
    err = capsys.readouterr().err
    assert err.endswith("\n") and "draws 3/10" in err and pg._open == []
