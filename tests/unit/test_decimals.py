"""How decimals are written in responses: plain notation without trailing zeros, zero as "0",
computed values rounded half-even to eight places; the response models use those forms."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infrastructure.columns import Money
from interfaces.decimals import COMPUTED_PLACES, PATTERN, plain, rounded
from interfaces.http.read_models import COMPUTED, Bot, Order, Position
from projections.queries import VIEWS

finite = st.decimals(allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0.00", "0"),
        ("-0.00", "0"),
        ("0E-8", "0"),
        ("50000.0", "50000"),
        ("5E+4", "50000"),
        ("0.50000", "0.5"),
        ("1E-7", "0.0000001"),
        ("-19.83133999999999999999999989", "-19.83133999999999999999999989"),
        ("60618.22980392156862745098039", "60618.22980392156862745098039"),
    ],
)
def test_recorded_values_keep_every_digit_without_trailing_zeros(value: str, text: str) -> None:
    assert plain(Decimal(value)) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("60618.22980392156862745098039", "60618.22980392"),
        ("-19.83133999999999999999999989", "-19.83134"),
        ("0.000000025", "0.00000002"),  # half-even: the tie goes to the even digit
        ("0.000000035", "0.00000004"),
        ("-0.000000001", "0"),
        ("0.00", "0"),
        ("123456789012345678901234567890.123456789", "123456789012345678901234567890.12345679"),
    ],
)
def test_computed_values_are_rounded_half_even_to_eight_places(value: str, text: str) -> None:
    assert rounded(Decimal(value)) == text


@given(finite)
def test_the_plain_form_is_the_same_number_in_one_spelling(value: Decimal) -> None:
    text = plain(value)
    assert re.match(PATTERN, text) and Decimal(text) == value


@given(finite)
def test_the_rounded_form_is_within_half_a_unit_of_the_eighth_place(value: Decimal) -> None:
    text = rounded(value)
    assert re.match(PATTERN, text)
    assert abs(Decimal(text) - value) <= Decimal("0.5E-8")
    assert len(text.partition(".")[2]) <= COMPUTED_PLACES


def test_every_computed_name_is_a_decimal_column_of_a_view() -> None:
    decimal_columns = {
        column.name for view in VIEWS.values() for column in view.columns if isinstance(column.type, Money)
    }
    assert COMPUTED - {"unrealized_pnl"} <= decimal_columns


def _dump(model: Any, **row: Any) -> dict[str, Any]:
    return dict(model.model_validate(row).model_dump(mode="json"))


def test_a_flat_position_reads_0_and_its_computed_values_are_rounded() -> None:
    shown = _dump(
        Position,
        position_id="00000000-0000-0000-0000-000000000001",
        bot_id="00000000-0000-0000-0000-000000000002",
        symbol="BTC/USDT",
        quantity=Decimal("0.00"),
        average_price=Decimal("60618.22980392156862745098039"),
        realized_pnl=Decimal("-19.83133999999999999999999989"),
        fees_paid=Decimal("0.0303091149019607843137254902"),
        fills=3,
        opened_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-01T00:00:00Z",
        version=3,
        event_position=9,
        mark_price=Decimal("60000.00"),
        unrealized_pnl=Decimal("-0E-28"),
    )
    assert (shown["quantity"], shown["average_price"], shown["realized_pnl"]) == (
        "0",
        "60618.22980392",
        "-19.83134",
    )
    assert (shown["fees_paid"], shown["mark_price"], shown["unrealized_pnl"]) == ("0.03030911", "60000", "0")


def test_an_order_shows_what_was_asked_as_recorded_and_its_average_fill_rounded() -> None:
    shown = _dump(
        Order,
        order_id="00000000-0000-0000-0000-000000000001",
        bot_id="00000000-0000-0000-0000-000000000002",
        client_order_id="o-1",
        symbol="BTC/USDT",
        side="buy",
        order_type="limit",
        time_in_force="GTC",
        quantity=Decimal("0.50000"),
        price=Decimal("60000.015"),  # off the tick: as a refused order recorded it
        stop_price=None,
        status="filled",
        is_open=False,
        filled_quantity=Decimal("0.50000"),
        average_fill_price=Decimal("59999.99666666666666666666667"),
        fees_quote=Decimal("30.000000000000000"),
        fills=3,
        placed_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-01T00:00:00Z",
        version=5,
        event_position=12,
    )
    assert (shown["quantity"], shown["price"], shown["stop_price"]) == ("0.5", "60000.015", None)
    assert (shown["filled_quantity"], shown["average_fill_price"], shown["fees_quote"]) == (
        "0.5",
        "59999.99666667",
        "30",
    )


def test_a_bots_limits_are_written_like_every_other_decimal_and_counts_stay_numbers() -> None:
    limits = {"max_order_notional": "15000.00", "price_band_pct": "0.050", "max_open_orders": 10}
    shown = _dump(
        Bot,
        bot_id="00000000-0000-0000-0000-000000000002",
        owner="alice",
        name="grid",
        strategy="manual",
        params={"spacing": "0.50"},  # free-form: as given
        exchange_account="paper",
        allowed_symbols=["BTC/USDT"],
        limits={**limits, "stop_loss_fraction": None},
        status="running",
        kill_switch=False,
        orders_admitted=1,
        orders_denied=0,
        fills=0,
        realized_pnl=Decimal("0E-28"),
        created_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-01T00:00:00Z",
        version=2,
        event_position=2,
    )
    assert shown["limits"] == {
        "max_order_notional": "15000",
        "price_band_pct": "0.05",
        "max_open_orders": 10,
        "stop_loss_fraction": None,
    }
    assert (shown["params"], shown["realized_pnl"]) == ({"spacing": "0.50"}, "0")
