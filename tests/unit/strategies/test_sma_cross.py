"""sma_cross on hand-made candles: fast 2, slow 4, so it reads the last 5 closes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.strategies.builtin.sma_cross import SmaCross
from domain.errors import InvalidInput
from domain.strategy import Close, Place
from domain.values import OrderType, Side
from tests.unit.strategies.market import BTC, ETH, candles, limit, view

STRATEGY = SmaCross()
PARAMS = STRATEGY.parse({"fast": 2, "slow": 4, "quantity": "0.5"})
UP = [10, 10, 10, 10, 12]  # fast 10 <= slow 10, then fast 11 > slow 10.5
DOWN = [10, 10, 10, 10, 8]  # fast 10 >= slow 10, then fast 9 < slow 9.5


def test_it_buys_when_the_fast_average_crosses_above_the_slow_one_and_the_bot_is_flat() -> None:
    assert STRATEGY.decide(PARAMS, {BTC: candles(BTC, UP)}, view()) == [Place(BTC, Side.BUY, Decimal("0.5"))]


def test_it_buys_nothing_more_while_it_holds_or_has_an_order_open() -> None:
    window = {BTC: candles(BTC, UP)}
    assert STRATEGY.decide(PARAMS, window, view(positions={BTC: ("0.5", "12")})) == []
    assert STRATEGY.decide(PARAMS, window, view(orders=[limit(Side.BUY, "11")])) == []


def test_it_closes_the_whole_position_when_the_fast_average_crosses_below() -> None:
    window = {BTC: candles(BTC, DOWN)}
    assert STRATEGY.decide(PARAMS, window, view(positions={BTC: ("0.5", "10")})) == [Close(BTC)]
    assert STRATEGY.decide(PARAMS, window, view()) == []


@pytest.mark.parametrize(
    "closes",
    [
        [1, 2, 3, 4, 5],  # fast above slow on both candles: no crossing
        [5, 4, 3, 2, 1],  # below on both
        [10, 10, 10, 10, 10],  # equal on both
        [10, 10, 12],  # too few closes for the slow average a candle before
    ],
)
def test_without_a_crossing_it_does_nothing(closes: list[int]) -> None:
    assert STRATEGY.decide(PARAMS, {BTC: candles(BTC, closes)}, view(positions={BTC: ("1", "5")})) == []
    assert STRATEGY.decide(PARAMS, {BTC: candles(BTC, closes)}, view()) == []


def test_it_reads_only_the_last_warmup_closes() -> None:
    assert STRATEGY.warmup(PARAMS) == 5
    longer = candles(BTC, [50, 40, 30, *UP])
    assert STRATEGY.decide(PARAMS, {BTC: longer}, view()) == [Place(BTC, Side.BUY, Decimal("0.5"))]


def test_a_fraction_of_the_equity_buys_that_share_at_the_close() -> None:
    params = STRATEGY.parse({"fast": 2, "slow": 4, "fraction": "0.5", "capital": "1200"})
    decided = STRATEGY.decide(params, {BTC: candles(BTC, UP)}, view())
    assert decided == [Place(BTC, Side.BUY, Decimal(50))]  # 0.5 x 1200 / 12
    # the equity counts the other symbols' gains: 1200 + 2 x (110 - 50) = 1320
    rich = view(positions={ETH: ("2", "50")}, marks={ETH: "110"})
    decided = STRATEGY.decide(params, {BTC: candles(BTC, UP)}, rich)
    assert decided == [Place(BTC, Side.BUY, Decimal(55))]


def test_each_symbol_is_decided_on_its_own_in_symbol_order() -> None:
    window = {ETH: candles(ETH, UP), BTC: candles(BTC, DOWN)}
    decided = STRATEGY.decide(PARAMS, window, view(positions={BTC: ("1", "10")}))
    assert decided == [Close(BTC), Place(ETH, Side.BUY, Decimal("0.5"), OrderType.MARKET)]


def test_its_parameters() -> None:
    assert STRATEGY.timeframe(PARAMS).name == "1m"
    assert (
        STRATEGY.timeframe(STRATEGY.parse({"fast": 2, "slow": 4, "quantity": 1, "timeframe": "4h"})).minutes
        == 240
    )
    refusals: list[tuple[dict[str, object], str]] = [
        ({"fast": 4, "slow": 4, "quantity": "1"}, "params.fast"),
        ({"fast": 2, "slow": 4}, "params.quantity"),
        ({"fast": 2, "slow": 4, "quantity": "1", "fraction": "0.5", "capital": "1"}, "params.quantity"),
        ({"fast": 2, "slow": 4, "fraction": "0.5"}, "params.capital"),
        ({"fast": 2, "slow": 4, "fraction": "1.5", "capital": "100"}, "params.fraction"),
        ({"fast": 2, "slow": 4, "quantity": "1", "capital": "100"}, "params.capital"),
        ({"fast": 2, "slow": 4, "quantity": 0.5}, "params.quantity"),
        ({"fast": 2, "slow": 4, "quantity": "1", "timeframe": "2m"}, "params.timeframe"),
        ({"fast": 2.0, "slow": 4, "quantity": "1"}, "params.fast"),
    ]
    for params, field in refusals:
        with pytest.raises(InvalidInput) as refused:
            STRATEGY.parse(params)
        assert refused.value.field == field, params
