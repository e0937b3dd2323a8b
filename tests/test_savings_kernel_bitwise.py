"""The payers' savings kernel (money/kernels/savings.valued_amounts, used by payer_savings)
gives the numbers of the numpy arithmetic of Municipality.savings, payer by payer, to the last
bit, for fixed and per-draw amounts and any subset of valued states."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sibsim.money.payers import Payer, payer_savings
from sibsim.money.uncertain import per_draw

STATES = ("care", "work", "school")


@st.composite
def cases(draw):
    D, P = draw(st.integers(1, 6)), draw(st.integers(1, 7))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    avoided = rng.normal(0.0, 50.0, (D, P))
    pp = {s: rng.normal(0.0, 5.0, (D, P)) for s in STATES}

    def amount():
        if draw(st.booleans()):
            return float(draw(st.floats(0.0, 1e5, allow_nan=False)))
        return per_draw(rng.gamma(2.0, 500.0, D))  # an uncertain amount, resolved per draw

    payers = []
    for i in range(draw(st.integers(1, 4))):
        cash_states = draw(st.lists(st.sampled_from(STATES), unique=True, max_size=3))
        wider_states = draw(st.lists(st.sampled_from(STATES), unique=True, max_size=3))
        # the resolved amounts a run hands the arithmetic (floats or per-draw columns)
        payers.append(Payer(f"p{i}", 0.0, saving_per_event=amount(),
                            wider_value_per_event=amount(),
                            saving_per_person_period={s: amount() for s in cash_states},
                            wider_value_per_person_period={s: amount() for s in wider_states}))
    return payers, avoided, pp, P


@settings(max_examples=200, deadline=None)
@given(cases())
def test_kernel_equals_the_numpy_arithmetic(case):
    payers, avoided, pp, P = case
    cash, wider, _ = payer_savings(payers, avoided, pp, P)
    for y, p in enumerate(payers):
        c, w = p.savings_terms.savings(avoided, {s: pp[s] for s in p.states_valued()})
        assert np.array_equal(cash[:, y], np.broadcast_to(c, avoided.shape))
        assert np.array_equal(wider[:, y], np.broadcast_to(w, avoided.shape))


def test_per_process_amounts_take_the_numpy_path():
    """Amounts per outcome process (several processes' events) are not the kernel's: the
    numpy arithmetic runs, with the same numbers as payer by payer."""
    avoided = {"a": np.ones((2, 3)), "b": np.full((2, 3), 2.0)}
    p = Payer("p", 0.0, saving_per_event={"a": 10.0, "b": 1.0})
    cash, _, _ = payer_savings([p], avoided, {}, 3)
    assert cash[:, 0].tolist() == [[12.0] * 3] * 2


def test_valued_states_take_the_kernel(monkeypatch):
    """A payer valuing states with per-draw amounts goes through the kernel (the property
    above then compares the kernel, not the numpy path, with the arithmetic)."""
    import sibsim.money.payers as payers_module

    calls = []
    real = payers_module.valued_amounts
    monkeypatch.setattr(payers_module, "valued_amounts",
                        lambda *a: (calls.append(1), real(*a))[1])
    p = Payer("p", 0.0, saving_per_event=per_draw([1.0, 2.0]),
              saving_per_person_period={"care": 3.0})
    pp = {"care": np.array([[1.0, 2.0], [3.0, 4.0]])}
    cash, wider, _ = payer_savings([p], np.ones((2, 2)), pp, 2)
    assert len(calls) == 2  # cash and wider
    assert cash[:, 0].tolist() == [[1.0 + 3.0, 1.0 + 6.0], [2.0 + 9.0, 2.0 + 12.0]]
    assert wider[:, 0].tolist() == [[0.0, 0.0], [0.0, 0.0]]
