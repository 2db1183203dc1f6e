"""Money, quantities and integer limits are read from text by one strict grammar (ASCII digits, an
optional sign, one decimal point, a bounded exponent), and ratios are fractions: every caller
(API, CLI, CSV market data, the handlers) gets the same rules from the domain."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application import commands as c
from application.errors import InvalidInput
from domain.risk import parse_risk_limits
from domain.values import decimal_field, integer_field
from tests.support.world import ACTOR, LIMITS, World

# What Python's Decimal() and int() take beyond the grammar.
ARABIC_INDIC_ONE, FULLWIDTH_ONE = "\u0661", "\uff11"
LOOSE = [ARABIC_INDIC_ONE, FULLWIDTH_ONE, "1_000", " 1", "1\n", "1 ", "\t1", "+-1", "1..0", "1e", "1e100"]
LOOSE += [
    "1e+123",
    "",
    ".",
    "e5",
    "NaN",
    "Infinity",
    "-inf",
    "0x10",
    "1,5",
    "\u0661\u0662\u0663.\u0664",
    "\u00b2",
]


@pytest.mark.parametrize("text", LOOSE)
def test_text_outside_the_grammar_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        decimal_field(text, "quantity")
    assert refused.value.field == "quantity" and "ASCII digits" in refused.value.rule


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.01", "0.01"), ("-12.5", "-12.5"), ("+3", "3"), (".5", "0.5"), ("5.", "5"), ("1e-8", "1E-8")],
)
def test_text_in_the_grammar_is_read_exactly(text: str, value: str) -> None:
    assert decimal_field(text, "price") == Decimal(value)


def test_floats_and_other_types_are_refused_and_ints_and_decimals_taken() -> None:
    for value in (0.5, True, None, [1], {"v": 1}):
        with pytest.raises(InvalidInput):
            decimal_field(value, "price")
    assert decimal_field(7, "price") == 7 and decimal_field(Decimal("0.1"), "price") == Decimal("0.1")
    with pytest.raises(InvalidInput):
        decimal_field(Decimal("NaN"), "price")


@given(st.decimals(allow_nan=False, allow_infinity=False, places=8, min_value=-(10**12), max_value=10**12))
def test_every_plainly_written_decimal_reads_back_as_itself(number: Decimal) -> None:
    assert decimal_field(format(number, "f"), "price") == number


@given(st.text(max_size=12))
def test_text_is_taken_only_when_every_character_is_an_ascii_digit_sign_point_or_exponent(text: str) -> None:
    try:
        decimal_field(text, "price")
    except InvalidInput:
        return
    assert set(text) <= set("0123456789+-.eE") and text.strip() == text


@pytest.mark.parametrize("text", ["\u0661\u0660", "\uff11\uff10", "1_0", " 10", "10\n", "1.0", ""])
def test_integer_text_outside_ascii_digits_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        integer_field(text, "limits.max_open_orders")
    assert refused.value.field == "limits.max_open_orders"
    assert integer_field("10", "limits.max_open_orders") == 10


def test_risk_limits_read_integers_by_the_grammar_too() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_risk_limits({**LIMITS, "max_open_orders": "\u0661\u0660"})
    assert refused.value.field == "limits.max_open_orders"


@pytest.mark.parametrize("band", ["5", "1.0001", "100"])
def test_a_price_band_over_1_is_refused_as_a_fraction(world: World, band: str) -> None:
    """0.05 is 5%: a band over 1 (100% from the reference price) can only be a percentage by mistake."""
    command = c.CreateBot(
        actor=ACTOR,
        name="bot",
        strategy="manual",
        allowed_symbols=["BTC/USDT"],
        limits={**LIMITS, "price_band_pct": band},
    )
    with pytest.raises(InvalidInput) as refused:
        world.bus.dispatch(command)
    assert refused.value.field == "limits.price_band_pct" and "0.05 is 5%" in refused.value.rule
    assert world.store.last_position() == 0


def test_a_price_band_of_exactly_1_is_taken() -> None:
    assert parse_risk_limits({**LIMITS, "price_band_pct": "1"}).price_band_pct == 1
