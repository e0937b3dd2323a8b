"""A cap of 0 is refused, with the hint to leave the cap out for no cap.

On many forms 0 means "no limit"; in a contract a cap of 0 lets nothing be paid. A council
officer who wrote ``total = 0`` under ``[contract.caps]`` got a run in which investors lost
everything in every draw, without a word."""

from __future__ import annotations

import re

import pytest

from sibsim.cli import main
from sibsim.money import MetricTerms, PricePerUnit
from sibsim.money.contract import Caps
from sibsim.money.payers import Payer
from sibsim.money.ratecard import RateCard
from sibsim.templates import template_text

HINT = "leave the cap out for no cap"


@pytest.mark.parametrize(("make", "field"), [
    (lambda: Caps(total=0), "Caps.total"),
    (lambda: Caps(per_person=0.0), "Caps.per_person"),
    (lambda: MetricTerms("m", PricePerUnit(1.0), cap=0), "MetricTerms.cap"),
    (lambda: MetricTerms("m", PricePerUnit(1.0), per_person_cap=0), "MetricTerms.per_person_cap"),
    (lambda: Payer("state", shares=1.0, cap_total=0), "Payer.cap_total"),
    (lambda: RateCard("done", price=1.0, cap=0), "RateCard.cap"),
    (lambda: RateCard("done", price=1.0, per_person_cap=0), "RateCard.per_person_cap"),
])
def test_a_zero_cap_is_refused_naming_the_field(make, field):
    with pytest.raises(ValueError, match=re.escape(field) + ".*got 0.*" + HINT):
        make()


def test_positive_caps_and_no_cap_are_accepted():
    assert Caps(total=1.0).total == 1.0 and Caps().total is None
    # a period's budget line of 0 stays allowed: nothing paid in that period
    assert Caps(per_period=(0.0, 5.0)).per_period_array(2).tolist() == [0.0, 5.0]


def test_the_command_line_refuses_a_template_with_total_cap_0(tmp_path, capsys):
    text, n = re.subn(r"(?m)^total = [\d_]+$", "total = 0", template_text("elderly-care"))
    assert n == 1
    path = tmp_path / "care.toml"
    path.write_text(text)
    assert main(["run", str(path), "--draws", "20", "--out", str(tmp_path / "r.nc")]) == 2
    err = capsys.readouterr().err
    assert "Caps.total: got 0" in err and HINT in err
    assert not (tmp_path / "r.nc").exists()
