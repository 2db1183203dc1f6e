"""grid on hand-made candles and open orders: 3 levels 1% apart around 100, one unit each, so
buys at 99, 98, 97 and sells at 101, 102, 103."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.strategies.builtin.grid import Grid
from domain.errors import InvalidInput
from domain.strategy import BotView, Cancel, Intent, OrderView, Place
from domain.values import OrderType, Side
from tests.unit.strategies.market import BTC, ETH, candles, limit, view

STRATEGY = Grid()
PARAMS = STRATEGY.parse({"levels": 3, "spacing": "0.01", "reference": "100", "quantity": "1"})


def buy(price: object, quantity: object = 1) -> Place:
    return Place(BTC, Side.BUY, Decimal(str(quantity)), OrderType.LIMIT, Decimal(str(price)))


def sell(price: object, quantity: object = 1) -> Place:
    return Place(BTC, Side.SELL, Decimal(str(quantity)), OrderType.LIMIT, Decimal(str(price)))


def decide(close: object, bot: BotView, params: object = PARAMS) -> list[Intent]:
    assert isinstance(params, type(PARAMS))
    return STRATEGY.decide(params, {BTC: candles(BTC, [close])}, bot)


def resting(*orders: Place) -> list[OrderView]:
    """The open orders that carrying out ``orders`` leaves."""
    return [limit(o.side, o.price, o.quantity) for o in orders]


def test_a_flat_bot_gets_the_buys_below_the_reference_and_no_sells() -> None:
    assert decide(100, view()) == [buy(99), buy(98), buy(97)]


def test_sells_are_offered_only_against_what_the_bot_holds_nearest_first() -> None:
    assert decide(100, view(positions={BTC: ("2.5", "98")})) == [sell(101), sell(102)]


def test_it_holds_and_bids_for_one_quantity_per_buy_level_at_most() -> None:
    assert decide(100, view(positions={BTC: ("1", "98")})) == [buy(99), buy(98), sell(101)]
    assert decide(100, view(positions={BTC: ("3", "98")})) == [sell(101), sell(102), sell(103)]


def test_resting_levels_are_kept_and_nothing_is_placed_twice() -> None:
    grid = resting(buy(99), buy(98), buy(97), sell(101))
    assert decide(100, view(positions={BTC: ("1", "99")}, orders=grid)) == []
    assert decide("100.2", view(positions={BTC: ("1", "99")}, orders=grid)) == []


def test_a_filled_buy_level_is_offered_above_and_bought_again_once_the_price_is_back_above_it() -> None:
    after_fill = resting(buy(98), buy(97))
    # the close is still under 99: buying there again would fill at once, so only the sell is placed
    assert decide("98.5", view(positions={BTC: ("1", "99")}, orders=after_fill)) == [sell(101)]
    # back above 99, but what it bought there is still to sell: the inventory is full
    offered = [*after_fill, *resting(sell(101))]
    assert decide("99.5", view(positions={BTC: ("1", "99")}, orders=offered)) == []
    # the sell filled: 99 is bid for again
    assert decide("100.5", view(orders=after_fill)) == [buy(99)]


def test_a_filled_sell_level_is_offered_again_once_the_price_is_back_below_it_and_the_bot_holds_enough() -> (
    None
):
    grid = resting(buy(99), buy(98), buy(97))
    assert decide("101.5", view(positions={BTC: ("1", "99")}, orders=grid)) == [sell(102)]
    assert decide("100.5", view(positions={BTC: ("1", "99")}, orders=grid)) == [sell(101)]


def test_its_own_orders_that_are_no_level_or_a_second_on_one_level_are_cancelled() -> None:
    stray, first, second = limit(Side.BUY, "95.5"), limit(Side.BUY, 99), limit(Side.BUY, 99)
    grid = [stray, first, second, *resting(buy(98), buy(97))]
    assert decide(100, view(orders=grid)) == [Cancel(stray.client_order_id), Cancel(second.client_order_id)]


def test_orders_placed_by_hand_are_neither_touched_nor_taken_for_levels() -> None:
    by_hand = [limit(Side.BUY, 99, own=False), limit(Side.BUY, "95.5", own=False)]
    assert decide(100, view(orders=by_hand)) == [buy(99), buy(98), buy(97)]


def test_more_sells_resting_than_the_bot_holds_cancels_the_outermost() -> None:
    sells = resting(sell(101), sell(102), sell(103))
    grid = [*resting(buy(99), buy(98), buy(97)), *sells]
    decided = decide(100, view(positions={BTC: ("1", "99")}, orders=grid))
    assert decided == [Cancel(sells[2].client_order_id), Cancel(sells[1].client_order_id)]


def test_without_a_reference_it_centres_on_its_first_close_and_reads_the_centre_back_from_its_orders() -> (
    None
):
    params = STRATEGY.parse({"levels": 3, "spacing": "0.01", "quantity": "1"})
    first = decide(200, view(), params)
    assert first == [buy(198), buy(196), buy(194)]
    # 198 filled and the price went on down: the centre is still 200, so the sell goes to 202
    after_fill = resting(buy(196), buy(194))
    assert decide(197, view(positions={BTC: ("1", "198")}, orders=after_fill), params) == [sell(202)]
    # the sell at 202 filled: 198 again, and nothing else moves
    assert decide(201, view(orders=after_fill), params) == [buy(198)]


def test_a_lone_resting_order_is_taken_for_the_outermost_level() -> None:
    params = STRATEGY.parse({"levels": 3, "spacing": "0.01", "quantity": "1"})
    lone = resting(buy(97))
    decided = decide("97.5", view(positions={BTC: ("2", "98.5")}, orders=lone), params)
    assert decided == [sell(101), sell(102)]


def test_once_nothing_of_it_rests_it_centres_again_on_the_close() -> None:
    params = STRATEGY.parse({"levels": 2, "spacing": "0.01", "quantity": "1"})
    assert decide("150.0", view(), params) == [buy("148.5"), buy(147)]
    assert decide("150.0", view(positions={BTC: ("1", "140")}), params) == [buy("148.5"), sell("151.5")]


def test_level_prices_are_rounded_to_the_tick_or_the_references_places() -> None:
    ticked = STRATEGY.parse(
        {"levels": 2, "spacing": "0.015", "reference": "100", "quantity": "1", "tick": "1"}
    )
    assert decide(100, view(), ticked) == [buy(98), buy(97)]
    assert decide(100, view(positions={BTC: ("2", "90")}), ticked) == [sell(102), sell(103)]
    fine = STRATEGY.parse({"levels": 1, "spacing": "0.003", "quantity": "1"})
    assert decide("50123.45", view(), fine) == [buy("49973.07")]
    assert decide("50123.45", view(positions={BTC: ("1", "1")}), fine) == [sell("50273.83")]


@pytest.mark.parametrize(
    ("params", "close", "placed"),
    [
        # 148.5 rounds down to the close's whole units: the order rests at 148 and stays level 1
        ({"levels": 2, "spacing": "0.01"}, "150", [buy(148), buy(147)]),
        # 149.55 and 149.1 both round to 149: one order there, the second level is dropped
        ({"levels": 3, "spacing": "0.003", "tick": "1"}, "150", [buy(149), buy(148)]),
    ],
)
def test_levels_rounded_onto_other_prices_are_kept_without_churn(
    params: dict[str, object], close: str, placed: list[Place]
) -> None:
    grid = STRATEGY.parse({"quantity": "1", **params})
    assert decide(close, view(), grid) == placed
    assert decide(close, view(orders=resting(*placed)), grid) == []
    for filled in range(len(placed)):  # and once one filled, the others alone churn nothing either
        left = view(orders=resting(*placed[:filled], *placed[filled + 1 :]))
        assert all(isinstance(intent, Place) for intent in decide("160", left, grid))


def test_a_level_rounded_off_its_exact_price_is_read_back_from_the_others() -> None:
    grid = STRATEGY.parse({"quantity": "1", "levels": 2, "spacing": "0.01"})
    # 148.5 was rounded down to 148: the centre 150 still makes both resting orders levels
    assert decide("149.9", view(orders=resting(buy(148), buy(147))), grid) == []
    assert decide("150", view(orders=resting(buy(147))), grid) == [buy(148)]


def test_a_grid_read_back_from_rounded_prices_keeps_its_orders() -> None:
    params = STRATEGY.parse({"levels": 4, "spacing": "0.003", "quantity": "0.1", "tick": "0.01"})
    placed = decide("50123.45", view(), params)
    assert len(placed) == 4
    assert isinstance(placed[0], Place) and isinstance(placed[-1], Place)
    # the first buy filled; the close wandered: the others are recognised, the sell is added
    grid = resting(*[p for p in placed[1:] if isinstance(p, Place)])
    decided = decide("49950.5", view(positions={BTC: ("0.1", "49973")}, orders=grid), params)
    assert [type(i) for i in decided] == [Place]
    assert isinstance(decided[0], Place) and decided[0].side is Side.SELL
    assert abs(decided[0].price - Decimal("50273.82")) <= Decimal("0.02")  # type: ignore[operator]


def test_it_trades_one_symbol() -> None:
    assert STRATEGY.symbols(PARAMS, [ETH, BTC]) == [ETH]
    chosen = STRATEGY.parse({"levels": 1, "spacing": "0.01", "quantity": "1", "symbol": "BTC/USDT"})
    assert STRATEGY.symbols(chosen, [ETH, BTC]) == [BTC]
    assert STRATEGY.symbols(chosen, [ETH]) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"levels": 10, "spacing": "0.1", "quantity": "1"}, "params.spacing"),
        ({"levels": 0, "spacing": "0.01", "quantity": "1"}, "params.levels"),
        ({"levels": 3, "spacing": "0", "quantity": "1"}, "params.spacing"),
        ({"levels": 3, "spacing": "0.01"}, "params.quantity"),
        ({"levels": 3, "spacing": "0.01", "quantity": "1", "reference": "-5"}, "params.reference"),
        ({"levels": 3, "spacing": "0.01", "quantity": "1", "symbol": "btc"}, "params.symbol"),
    ],
)
def test_its_parameters(params: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        STRATEGY.parse(params)
    assert refused.value.field == field
