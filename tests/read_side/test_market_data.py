"""Market data on both stores: the worker's candles land in the `candles` time series (a minute
still open is rewritten, not duplicated), each symbol's last close becomes its mark price in the
read database and in Redis, and mark prices drive the risk rules."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import typer
from pydantic import SecretStr
from sqlalchemy import select

from application import commands as c
from application.errors import OrderDenied
from domain.risk import ReasonCode
from domain.values import Symbol
from infrastructure.candles import CandleStore
from infrastructure.credentials import CredentialStore, ExchangeCredentials, new_key
from infrastructure.mark_prices import MarkPrices
from infrastructure.settings import Settings
from interfaces.tables import install_worker_tables
from interfaces.workers.market_data import MarketDataJob, build_market_data_worker, market_data_job
from tests.support.clock import ManualClock
from tests.support.fake_binance import API_KEY, SECRET, FakeBinance
from tests.support.processes import wait_for
from tests.support.read_side import ReadSide, read_side_on
from tests.support.settings import changed
from tests.support.world import ACTOR, LIMITS

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")


@pytest.fixture
def market(read_settings: Settings) -> Iterator[tuple[ReadSide, MarketDataJob, ManualClock]]:
    clock = ManualClock()
    with read_side_on(read_settings, clock) as read_side:
        yield read_side, market_data_job(read_side.container), clock


def test_candles_and_marks_follow_the_ticks(market: tuple[ReadSide, MarketDataJob, ManualClock]) -> None:
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
    if read_side.container.settings().redis.url is not None:  # Redis holds the same marks
        assert read_side.container.mark_price_store().client.hgetall(
            f"tbot:{read_side.container.settings().store.postgres_schema}:prices"
        )


def test_the_price_band_is_checked_against_the_mark(
    market: tuple[ReadSide, MarketDataJob, ManualClock],
) -> None:
    read_side, worker, _ = market
    worker.step()
    mark = read_side.container.prices().reference_price(BTC)
    bus = read_side.container.bus()
    bot = bus.dispatch(
        c.CreateBot(actor=ACTOR, name="b", strategy="manual", allowed_symbols=["BTC/USDT"], limits=LIMITS)
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


def _exchange_settings(settings: Settings, key: str, **marketdata: Any) -> Settings:
    """Market data from the exchange of account binance-md; ``marketdata``: more of its fields."""
    return changed(
        settings,
        marketdata={
            "source": "ccxt",
            "account": "binance-md",
            "symbols": ["BTC/USDT", "ETH/USDT"],
            **marketdata,
        },
        exchange={"credentials_key": SecretStr(key)},
    )


def test_candles_and_marks_come_from_the_exchange_through_ccxt(
    read_settings: Settings, fake: FakeBinance
) -> None:
    key = new_key()
    clock = ManualClock(datetime.now(UTC))  # the exchange's klines run on its own (real) time
    with read_side_on(_exchange_settings(read_settings, key), clock) as read_side:
        engine = read_side.container.read_engine()
        install_worker_tables(engine)
        credentials = ExchangeCredentials("binance-md", "binance", False, fake.url, API_KEY, SECRET)
        CredentialStore(engine, key, clock.now).save(credentials)
        worker = market_data_job(read_side.container)
        try:
            backfilled = worker.step()
            fake.set_price("BTCUSDT", Decimal("51000.5"))
            updated = worker.step()
        finally:
            worker.source.close()
        store = CandleStore(engine)
        with engine.connect() as conn:
            rows = conn.execute(select(store.table).where(store.table.c.symbol == "BTC/USDT")).all()
        marks = read_side.container.mark_price_store().read()
    btc = [c for c in backfilled if c.symbol == BTC]
    assert len(btc) == 61 and {c.close for c in btc} == {Decimal(50000)}  # an hour back, and this minute
    assert [(c.symbol, c.close) for c in updated if c.symbol == BTC] == [(BTC, Decimal("51000.5"))]
    assert len(rows) == 61  # the minute in progress was rewritten, not added again
    assert marks[BTC][0] == Decimal("51000.5") and marks[Symbol("ETH", "USDT")][0] == Decimal(3000)


def test_marks_come_from_the_ticker_stream_as_the_exchange_pushes_them(
    read_settings: Settings, fake: FakeBinance
) -> None:
    """With candles polled only every 30 s, a new price is marked within moments: ccxt's
    watch_ticker over the exchange's market stream."""
    key = new_key()
    settings = _exchange_settings(read_settings, key, interval_seconds=30.0)
    with read_side_on(settings, ManualClock(datetime.now(UTC))) as read_side:
        engine = read_side.container.read_engine()
        install_worker_tables(engine)
        credentials = ExchangeCredentials("binance-md", "binance", False, fake.url, API_KEY, SECRET)
        CredentialStore(engine, key, datetime.now).save(credentials)
        marks = read_side.container.mark_price_store()
        worker = build_market_data_worker(read_side.container)
        running = threading.Thread(target=worker.run)
        running.start()
        try:
            wait_for(lambda: BTC in marks.read(), 15, "the first marks")
            fake.set_price("BTCUSDT", Decimal("51234.56"))
            wait_for(lambda: marks.read()[BTC][0] == Decimal("51234.56"), 5, "the pushed price as the mark")
            fake.set_price("ETHUSDT", Decimal("3100.01"))
            wait_for(lambda: marks.read()[ETH][0] == Decimal("3100.01"), 5, "ETH's pushed price")
        finally:
            worker.stop()
            running.join(timeout=30)
        assert not running.is_alive()
    subscribed = [r for r in fake.stream_requests if r.get("method") == "SUBSCRIBE"]
    assert sorted(name for r in subscribed for name in r["params"]) == [
        "btcusdt@miniTicker",
        "ethusdt@miniTicker",
    ]
    assert fake.requests["GET /api/v3/klines"] == 2  # one tick of candles (a symbol each) in all


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"account": None}, "marketdata_account: required"),
        ({"account": "nobody"}, "no exchange account 'nobody'"),
        ({"symbols": ["BTC/USDT", "SOL/USDT"]}, "lists no spot market SOL/USDT"),
    ],
)
def test_a_bad_exchange_source_exits_2_naming_the_setting(
    sqlite_settings: Settings,
    fake: FakeBinance,
    changes: dict[str, Any],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = new_key()
    with read_side_on(_exchange_settings(sqlite_settings, key, **changes)) as read_side:
        engine = read_side.container.read_engine()
        install_worker_tables(engine)
        credentials = ExchangeCredentials("binance-md", "binance", False, fake.url, API_KEY, SECRET)
        CredentialStore(engine, key, datetime.now).save(credentials)
        with pytest.raises(typer.Exit) as exited:
            market_data_job(read_side.container)
    assert exited.value.exit_code == 2
    assert message in " ".join(capsys.readouterr().err.split())
