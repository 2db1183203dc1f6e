"""(d) Reloading any aggregate from the store (events, and snapshots past their interval)
gives state equal to the live instance, on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.store import TradingApplication
from domain.bot import Bot
from domain.errors import DomainError
from domain.ids import BotId, ClientOrderId, DenialId, OrderId, PositionId, TradeId, UserId
from domain.order import Order
from domain.orders import OrderRequest
from domain.position import Position
from domain.risk import ReasonCode, RiskLimits
from domain.values import EventMeta, OrderType, Side, Stamp, Symbol, TimeInForce
from infrastructure.event_store import create_tables, open_store
from infrastructure.settings import Settings
from tests.properties.strategies import prices, quantities

BTC = Symbol("BTC", "USDT")
LIMITS = RiskLimits(Decimal(1000), Decimal(5000), 5, Decimal(100), Decimal("0.05"), 10)
START = datetime(2026, 3, 1, 23, 59, tzinfo=UTC)

bot_ops = st.lists(
    st.one_of(
        st.sampled_from(["start", "pause", "resume", "stop", "trip", "reset", "limits"]).map(lambda k: (k,)),
        st.tuples(st.just("admit"), st.sampled_from(list(Side)), quantities),
        st.tuples(st.just("deny"), st.sampled_from(list(ReasonCode))),
        st.tuples(st.just("book"), st.sampled_from(list(Side)), quantities, prices),
        st.tuples(st.just("release"), st.integers(0, 10)),
    ),
    min_size=60,
    max_size=130,
)


def stamp(n: int) -> Stamp:
    return Stamp(START + timedelta(seconds=17 * n), EventMeta(UserId("prop"), f"corr-{n}", f"cause-{n}"))


def request(n: int, side: Side = Side.BUY, quantity: Decimal = Decimal(1)) -> OrderRequest:
    return OrderRequest(
        ClientOrderId(f"c{n}"), BTC, side, OrderType.LIMIT, quantity, Decimal("100.5"), None, TimeInForce.IOC
    )


def apply_bot_op(bot: Bot, op: tuple[Any, ...], n: int, admitted: list[OrderId]) -> None:
    kind, s = op[0], stamp(n)
    if kind in ("start", "pause", "resume", "stop"):
        getattr(bot, kind)(s)
    elif kind == "trip":
        bot.trip_kill_switch("test", s)
    elif kind == "reset":
        bot.reset_kill_switch("test", s)
    elif kind == "limits":
        bot.update_limits(RiskLimits(Decimal(n + 1), Decimal(5000), 5, Decimal(100), Decimal("0.05"), 10), s)
    elif kind == "admit":
        order_id = OrderId(uuid4())
        bot.admit_order(order_id, request(n, op[1], op[2]), Decimal("60000.5"), s)
        admitted.append(order_id)
    elif kind == "deny":
        bot.deny_order(DenialId(uuid4()), request(n), [op[1]], Decimal("100.5"), s)
    elif kind == "book":
        order_id = admitted[n % len(admitted)] if admitted else OrderId(uuid4())
        bot.book_fill(order_id, BTC, op[2] * op[1].sign, op[3] - Decimal(60000), s)
    elif kind == "release" and admitted:
        bot.release_order(admitted[op[1] % len(admitted)], "cancelled", s)


@pytest.fixture
def store(any_settings: Settings) -> Iterator[TradingApplication]:
    create_tables(any_settings)
    app = open_store(any_settings)
    yield app
    app.close()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=bot_ops)
def test_bot_reloads_equal_to_live(store: TradingApplication, ops: list[tuple[Any, ...]]) -> None:
    bot = Bot.create(BotId(uuid4()), UserId("u"), "b", "s", {"k": [1, "x"]}, "paper", [BTC], LIMITS, stamp(0))
    admitted: list[OrderId] = []
    for n, op in enumerate(ops, start=1):
        with contextlib.suppress(DomainError):
            apply_bot_op(bot, op, n, admitted)
        if n % 7 == 0:
            store.record(bot)
    store.record(bot)
    assert store.repository.get(bot.id) == bot
    if bot.version >= 50:  # Bot snapshots every 50 versions: the reload above started from one
        assert store.snapshots is not None
        assert next(iter(store.snapshots.get(bot.id, desc=True, limit=1))).originator_version >= 50


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fills=st.lists(st.tuples(st.sampled_from([1, -1]), quantities, prices), min_size=1, max_size=110))
def test_position_and_order_reload_equal_to_live(
    store: TradingApplication, fills: list[tuple[int, Decimal, Decimal]]
) -> None:
    bot_id = BotId(uuid4())
    position = Position.open(PositionId(uuid4()), bot_id, BTC, stamp(0))
    total = sum((q for _, q, _ in fills), Decimal(0))
    order = Order.place(OrderId(uuid4()), bot_id, request(0, Side.BUY, total), stamp(0))
    order.submit(stamp(0))
    order.accept(None, stamp(0))
    for n, (sign, quantity, price) in enumerate(fills, start=1):
        position.apply_fill(
            order.order_id, TradeId(f"t{n}"), quantity * sign, price, Decimal("0.01"), stamp(n)
        )
        order.fill(TradeId(f"t{n}"), quantity, price, Decimal("0.00001"), "BTC", stamp(n))
    store.record(position, order)
    assert store.repository.get(position.id) == position
    assert store.repository.get(order.id) == order
