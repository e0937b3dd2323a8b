"""The one validation message form, ``"<field>: got <value>; allowed: <allowed>"``: a call
that leaves out the field or what is allowed is a programming error, caught where it is made."""

from __future__ import annotations

import numpy as np
import pytest

from sibsim.spec import _validate as v


def test_the_message_names_the_field_the_value_and_what_is_allowed():
    err = v.fail("Contract.lag", -1, "a whole number >= 0")
    assert isinstance(err, ValueError)
    assert str(err) == "Contract.lag: got -1; allowed: a whole number >= 0"
    assert str(v.fail("Deal.name", None, "text")) == "Deal.name: got None; allowed: text"


@pytest.mark.parametrize(("field", "allowed"), [(None, "text"), ("", "text"), ("x", None),
                                                ("x", ""), (3, "text"), ("x", 3)])
def test_a_message_without_its_field_or_what_is_allowed_is_refused(field, allowed):
    with pytest.raises(TypeError, match="non-empty text"):
        v.fail(field, 1, allowed)


@pytest.mark.parametrize(("value", "shown"), [
    (np.float64(0.5), "got 0.5;"), (np.int64(3), "got 3;"), (np.float64("nan"), "got nan;"),
    ([np.float64(0.25), 2], "got [0.25, 2];"), ((np.int32(1),), "got (1,);"),
    ({"rate": np.float64(12.0)}, "got {'rate': 12.0};"),
    (np.array([1.5]), "got array([1.5]);"),  # arrays keep numpy's form (shape and values)
])
def test_numpy_scalars_are_shown_as_plain_numbers(value, shown):
    """Values sampled or computed by numpy are shown as a user wrote them (0.5), not as
    numpy's repr (np.float64(0.5)), also inside lists, tuples and tables."""
    assert shown in str(v.fail("Effect.value", value, "a number"))
