"""Market data on both stores: the worker's candles land in the `candles` time series (a minute
still open is rewritten, not duplicated), each symbol's last close becomes its mark price in the
read database and in Redis, and mark prices drive the risk rules."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select

from application import commands as c
from application.errors import OrderDenied
from domain.risk import ReasonCode
from domain.values import Symbol
from infrastructure.mark_prices import MarkPrices
from infrastructure.settings import Settings
from interfaces.market_data import MarketDataWorker, build_market_data_worker
from projections.candles import CandleStore
from tests.support.clock import ManualClock
from tests.support.read_side import ReadSide, read_side_on
from tests.support.world import ACTOR, LIMITS

BTC = Symbol("BTC", "USDT")


@pytest.fixture
def market(read_settings: Settings) -> Iterator[tuple[ReadSide, MarketDataWorker, ManualClock]]:
    clock = ManualClock()
    with read_side_on(read_settings, clock) as read_side:
        yield read_side, build_market_data_worker(read_side.container), clock


def test_candles_and_marks_follow_the_ticks(market: tuple[ReadSide, MarketDataWorker, ManualClock]) -> None:
    read_side, worker, clock = market
    ticks = []
    for _ in range(6):  # 20 s apart: two minutes
        ticks.append({c.symbol: c for c in worker.step()})
        clock.advance(seconds=20)
    store = CandleStore(read_side.container.read_engine())
    with store.engine.connect() as conn:
        rows = conn.execute(select(store.table).order_by(store.table.c.symbol, store.table.c.opened_at)).all()
    assert [(r.symbol, r.opened_at) for r in rows if r.symbol == "BTC/USDT"] == [
        ("BTC/USDT", ticks[0][BTC].opened_at),
        ("BTC/USDT", ticks[3][BTC].opened_at),
    ]
    last_minute = [r for r in rows if r.symbol == "BTC/USDT"][-1]
    assert (last_minute.open, last_minute.close) == (ticks[3][BTC].open, ticks[5][BTC].close)
    assert last_minute.high == max(t[BTC].close for t in ticks[3:])

    marks = read_side.container.mark_price_store().read()
    assert marks[BTC][0] == ticks[5][BTC].close
    prices: MarkPrices = read_side.container.prices()
    assert prices.reference_price(BTC) == ticks[5][BTC].close
    assert prices.reference_price(Symbol("ETH", "BTC")) is None  # neither marked nor configured
    if read_side.container.settings().redis_url is not None:  # Redis holds the same marks
        assert read_side.container.mark_price_store().client.hgetall(
            f"tbot:{read_side.container.settings().postgres_schema}:prices"
        )


def test_the_price_band_is_checked_against_the_mark(
    market: tuple[ReadSide, MarketDataWorker, ManualClock],
) -> None:
    read_side, worker, _ = market
    worker.step()
    mark = read_side.container.prices().reference_price(BTC)
    bus = read_side.container.bus()
    bot = bus.dispatch(
        c.CreateBot(actor=ACTOR, name="b", strategy="grid", allowed_symbols=["BTC/USDT"], limits=LIMITS)
    )
    bus.dispatch(c.StartBot(actor=ACTOR, bot_id=bot.aggregate_id))
    far = (mark * Decimal("0.9")).quantize(Decimal("0.01"))
    with pytest.raises(OrderDenied) as denied:
        bus.dispatch(
            c.PlaceOrder(
                actor=ACTOR,
                bot_id=bot.aggregate_id,
                symbol="BTC/USDT",
                side="buy",
                order_type="limit",
                quantity="0.01",
                price=far,
            )
        )
    assert denied.value.reason_codes == [ReasonCode.PRICE_BAND]
