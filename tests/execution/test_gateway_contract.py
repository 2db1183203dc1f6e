"""One contract for the exchange gateway port, run against the paper gateway and the ccxt gateway
on the local fake Binance server: what each method answers, for orders that fill (in several
trades), rest, are cancelled, refused, sent twice or never sent, and which error says what."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from application.gateway import (
    ExchangeGateway,
    ExchangeOrder,
    ExchangeStatus,
    ExchangeUnavailable,
    OrderRefused,
    OrderUnknown,
    OutcomeUnknown,
)
from domain.ids import ClientOrderId
from domain.orders import OrderRequest
from domain.values import OrderType, Side, Symbol, TimeInForce
from infrastructure.adapters import PAPER_MARKETS, PriceBook
from infrastructure.ccxt_exchanges import open_exchange
from infrastructure.ccxt_gateway import CcxtGateway, RetryPolicy
from infrastructure.credentials import ExchangeCredentials
from infrastructure.paper_exchange import PaperSettings
from infrastructure.paper_gateway import PaperAccount, PaperGateway, PaperJournal
from tests.support.fake_binance import API_KEY, SECRET, FakeBinance

BTC = Symbol("BTC", "USDT")
PRICE = Decimal(50000)
BALANCES = {"USDT": Decimal(1_000_000), "BTC": Decimal(10)}
TIMEOUT = 1.0  # seconds the ccxt client waits for an answer


@dataclass
class Venue:
    """A gateway and the exchange behind it, as far as a test needs to move or break it."""

    name: str
    gateway: ExchangeGateway
    move: Callable[[Decimal], Awaitable[None]]  # sets the BTC/USDT price (fills what it reaches)
    orders_made: Callable[[], int]  # orders the exchange has taken in, in all
    lose_next_answer: Callable[[], Callable[[], None]]  # returns what puts things right again
    refuse_requests: Callable[[int], None] | None  # the next n requests are not carried out

    def run(self, scenario: Callable[[Venue], Awaitable[None]]) -> None:
        async def body() -> None:
            try:
                await scenario(self)
            finally:
                await self.gateway.close()

        asyncio.run(body())


def _paper(tmp_path: Path) -> Venue:
    engine = create_engine(f"sqlite:///{tmp_path / 'paper.sqlite3'}")
    journal = PaperJournal(engine)
    journal.install()
    prices = PriceBook({BTC: PRICE})
    settings = PaperSettings(partial_fills=True, seed=3)
    account = PaperAccount(
        "paper", journal, BALANCES, PAPER_MARKETS, settings, lambda: datetime.now(UTC), prices
    )
    gateway = PaperGateway(account)

    async def move(price: Decimal) -> None:
        prices.set(BTC, price)
        await gateway.follow_prices()

    def submits() -> int:
        return sum(1 for entry in journal.entries("paper") if entry.kind == "submit")

    def lose_next_answer() -> Callable[[], None]:
        journal.engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'paper.sqlite3'}")

        def restore() -> None:
            journal.engine = engine

        return restore

    return Venue("paper", gateway, move, submits, lose_next_answer, None)


def _ccxt(fake: FakeBinance) -> Venue:
    fake.fill_parts = 3
    credentials = ExchangeCredentials("binance-test", "binance", False, fake.url, API_KEY, SECRET)
    gateway = CcxtGateway(
        "binance-test", open_exchange(credentials, TIMEOUT), RetryPolicy(attempts=3, first_delay=0.01)
    )

    async def move(price: Decimal) -> None:
        fake.set_price("BTCUSDT", price)

    def lose_next_answer() -> Callable[[], None]:
        fake.faults.answer_late, fake.faults.late_seconds = 1, TIMEOUT + 0.5
        return lambda: None

    def refuse_requests(count: int) -> None:
        fake.faults.throttle = count

    return Venue("ccxt", gateway, move, fake.count_orders, lose_next_answer, refuse_requests)


@pytest.fixture(params=["paper", "ccxt"])
def venue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Venue]:
    if request.param == "paper":
        yield _paper(tmp_path)
    else:
        yield _ccxt(request.getfixturevalue("fake"))


def order(
    coid: str, kind: OrderType = OrderType.MARKET, quantity: str = "0.003", price: str | None = None
) -> OrderRequest:
    return OrderRequest(
        ClientOrderId(coid),
        BTC,
        Side.BUY,
        kind,
        Decimal(quantity),
        Decimal(price) if price is not None else None,
        None,
        TimeInForce.GTC,
    )


def resting(coid: str) -> OrderRequest:
    return order(coid, OrderType.LIMIT, "0.01", "40000")


async def consistent_trades(venue: Venue, answer: ExchangeOrder) -> None:
    """The order's trades: each once, oldest first, its own, and adding up to what it filled."""
    trades = await venue.gateway.order_trades(answer)
    assert len({t.trade_id for t in trades}) == len(trades)
    assert [t.at for t in trades] == sorted(t.at for t in trades)
    assert {(t.client_order_id, t.exchange_order_id) for t in trades} <= {
        (answer.client_order_id, answer.exchange_order_id)
    }
    assert sum((t.quantity for t in trades), Decimal(0)) == answer.filled


def test_a_market_order_fills_in_trades_listed_once_each_oldest_first(venue: Venue) -> None:
    async def scenario(v: Venue) -> None:
        answer = await v.gateway.submit(order("m1"))
        assert (answer.client_order_id, answer.symbol, answer.side) == ("m1", BTC, Side.BUY)
        assert (answer.status, answer.quantity, answer.filled) == (
            ExchangeStatus.FILLED,
            Decimal("0.003"),
            Decimal("0.003"),
        )
        trades = await v.gateway.order_trades(answer)
        assert len(trades) > 1  # filled in parts
        await consistent_trades(v, answer)
        assert await v.gateway.lookup("m1", BTC) == answer
        assert await v.gateway.open_orders(BTC) == []

    venue.run(scenario)


def test_an_unknown_client_order_id_is_looked_up_as_none_and_cancelled_as_unknown(venue: Venue) -> None:
    async def scenario(v: Venue) -> None:
        assert await v.gateway.lookup("never-sent", BTC) is None
        with pytest.raises(OrderUnknown):
            await v.gateway.cancel("never-sent", BTC)

    venue.run(scenario)


def test_a_resting_order_is_open_until_cancelled(venue: Venue) -> None:
    async def scenario(v: Venue) -> None:
        answer = await v.gateway.submit(resting("r1"))
        assert (answer.status, answer.filled) == (ExchangeStatus.OPEN, Decimal(0))
        assert [o.client_order_id for o in await v.gateway.open_orders(BTC)] == ["r1"]
        assert await v.gateway.lookup("r1", BTC) == answer
        assert await v.gateway.order_trades(answer) == []

        cancelled = await v.gateway.cancel("r1", BTC)
        assert (cancelled.client_order_id, cancelled.status) == ("r1", ExchangeStatus.CANCELLED)
        found = await v.gateway.lookup("r1", BTC)
        assert found is not None and found.status is ExchangeStatus.CANCELLED
        assert await v.gateway.open_orders(BTC) == []
        again = await v.gateway.cancel("r1", BTC)  # already final: answered as it is
        assert again.status is ExchangeStatus.CANCELLED

    venue.run(scenario)


def test_a_resting_order_the_price_reaches_fills_and_is_open_while_part_filled(venue: Venue) -> None:
    async def scenario(v: Venue) -> None:
        answer = await v.gateway.submit(order("p1", OrderType.LIMIT, "0.004", "49000"))
        assert answer.status is ExchangeStatus.OPEN
        for step in range(20):
            await v.move(Decimal(48900 - step))
            found = await v.gateway.lookup("p1", BTC)
            assert found is not None and Decimal(0) < found.filled <= found.quantity
            assert (found.status is ExchangeStatus.OPEN) == (found.filled < found.quantity)
            assert (found in await v.gateway.open_orders(BTC)) == (found.status is ExchangeStatus.OPEN)
            await consistent_trades(v, found)
            if found.status is ExchangeStatus.FILLED:
                return
        pytest.fail("the order never filled")

    venue.run(scenario)


def test_a_cancel_of_a_filled_order_answers_it_as_it_is(venue: Venue) -> None:
    async def scenario(v: Venue) -> None:
        filled = await v.gateway.submit(order("f1"))
        trades = await v.gateway.order_trades(filled)
        answer = await v.gateway.cancel("f1", BTC)
        assert (answer.status, answer.filled) == (ExchangeStatus.FILLED, filled.quantity)
        assert await v.gateway.order_trades(answer) == trades

    venue.run(scenario)


def test_a_repeated_submit_makes_no_second_order(venue: Venue) -> None:
    async def scenario(v: Venue) -> None:
        await v.gateway.submit(resting("d1"))
        with contextlib.suppress(OutcomeUnknown):  # the port allows it: then the order is looked up
            await v.gateway.submit(resting("d1"))
        assert v.orders_made() == 1
        assert [o.client_order_id for o in await v.gateway.open_orders(BTC)] == ["d1"]

    venue.run(scenario)


def test_an_order_the_exchange_refuses_is_order_refused_and_not_there(venue: Venue) -> None:
    async def scenario(v: Venue) -> None:
        with pytest.raises(OrderRefused):
            await v.gateway.submit(order("big", OrderType.LIMIT, "1000", "50000"))  # 50M USDT
        assert await v.gateway.lookup("big", BTC) is None
        unlisted = OrderRequest(
            ClientOrderId("doge"),
            Symbol("DOGE", "USDT"),
            Side.BUY,
            OrderType.MARKET,
            Decimal(100),
            None,
            None,
            TimeInForce.GTC,
        )
        with pytest.raises(OrderRefused):
            await v.gateway.submit(unlisted)
        assert await v.gateway.open_orders(BTC) == []

    venue.run(scenario)


def test_a_lost_answer_is_outcome_unknown_and_a_lookup_tells_what_happened(venue: Venue) -> None:
    async def scenario(v: Venue) -> None:
        restore = v.lose_next_answer()
        with pytest.raises(OutcomeUnknown):
            await v.gateway.submit(resting("lost"))
        restore()
        found = await v.gateway.lookup("lost", BTC)
        assert found is None or (found.client_order_id, found.status) == ("lost", ExchangeStatus.OPEN)
        assert v.orders_made() == (0 if found is None else 1)

    venue.run(scenario)


def test_an_exchange_that_cannot_be_asked_is_exchange_unavailable_and_nothing_is_done(
    fake: FakeBinance,
) -> None:
    """Only a remote exchange can be out of reach (the paper exchange runs in process)."""
    venue = _ccxt(fake)
    refuse = venue.refuse_requests
    assert refuse is not None

    async def scenario(v: Venue) -> None:
        await v.gateway.lookup("warm-up", BTC)  # markets loaded
        refuse(10)
        with pytest.raises(ExchangeUnavailable):
            await v.gateway.lookup("any", BTC)
        refuse(10)
        with pytest.raises(ExchangeUnavailable):
            await v.gateway.submit(resting("busy"))
        refuse(0)
        assert v.orders_made() == 0
        assert await v.gateway.lookup("busy", BTC) is None

    venue.run(scenario)
