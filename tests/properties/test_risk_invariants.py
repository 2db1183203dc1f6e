"""Random command sequences never leave committed exposure or open orders above the limits, and
while the kill switch is on no order is admitted that could grow or flip a position."""

from __future__ import annotations

import contextlib
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from application import commands as c
from application.errors import DomainError
from domain.bot import Bot
from domain.order import Order
from domain.order_states import OrderStatus
from domain.values import Side, Symbol
from infrastructure.settings import Settings, StoreSettings
from tests.support.world import ACTOR, World, world_on

LIMITS: dict[str, Any] = {
    "max_order_notional": "15000",
    "max_position_notional": "25000",
    "max_open_orders": 4,
    "daily_loss_limit": "1000000",
    "price_band_pct": "0.5",
    "max_orders_per_minute": 1000,
}
PRICE = {"BTC/USDT": Decimal("50000"), "ETH/USDT": Decimal("2500")}

place = st.tuples(
    st.just("place"),
    st.sampled_from(["BTC/USDT", "ETH/USDT"]),
    st.sampled_from(["buy", "sell"]),
    st.integers(min_value=1, max_value=400).map(lambda n: Decimal(n) / 1000),
)
react = st.tuples(
    st.sampled_from(["submit", "fill_part", "fill_all", "cancel", "confirm_cancel", "expire", "reject"]),
    st.integers(min_value=0, max_value=20),
)
operations = st.lists(st.one_of(place, react), min_size=1, max_size=40)
switch = st.tuples(st.sampled_from(["trip", "reset"]))
operations_with_switch = st.lists(st.one_of(place, place, react, switch), min_size=1, max_size=40)


def run(world: World, bot_id: UUID, op: tuple[Any, ...], placed: list[UUID], n: int) -> bool:
    """Carries out one operation; True if it recorded a fill on an order already ended (a late
    fill after a cancel: a fact from the exchange that no risk rule can refuse)."""
    kind = op[0]
    if kind == "trip":
        world.bus.dispatch(c.TripKillSwitch(actor=ACTOR, bot_id=bot_id, reason="property"))
        return False
    if kind == "reset":
        world.bus.dispatch(c.ResetKillSwitch(actor=ACTOR, bot_id=bot_id, reason="property"))
        return False
    if kind == "place":
        _, symbol, side, quantity = op
        scale = Decimal(1) if symbol == "BTC/USDT" else Decimal(20)
        placed.append(
            world.place(bot_id, f"o{n}", side, str(quantity * scale), str(PRICE[symbol]), symbol=symbol)
        )
        return False
    if not placed:
        return False
    order_id = placed[op[1] % len(placed)]
    order = world.store.load(Order, order_id)
    if kind in ("fill_part", "fill_all") and order.status.is_terminal:
        size = order.remaining if kind == "fill_all" else (order.remaining / 2).quantize(Decimal("0.00001"))
        world.fill(order_id, f"t{n}", str(size), str(PRICE[str(order.request.symbol)]))
        return True
    if kind == "submit":
        world.bus.dispatch(c.RecordOrderSubmitted(actor="x", order_id=order_id))
    elif kind in ("fill_part", "fill_all"):
        size = order.remaining if kind == "fill_all" else (order.remaining / 2).quantize(Decimal("0.00001"))
        world.fill(order_id, f"t{n}", str(size), str(PRICE[str(order.request.symbol)]))
    elif kind == "cancel":
        world.bus.dispatch(c.CancelOrder(actor=ACTOR, order_id=order_id))
    elif kind == "confirm_cancel":
        world.bus.dispatch(c.RecordOrderCancelled(actor="x", order_id=order_id))
    elif kind == "expire":
        world.bus.dispatch(c.RecordOrderExpired(actor="x", order_id=order_id))
    else:
        world.bus.dispatch(c.RecordOrderRejected(actor="x", order_id=order_id, reason="no"))
    return False


def assert_ledger_matches_orders(bot: Bot, world: World, placed: list[UUID]) -> None:
    """The bot's committed quantities are exactly the remaining quantities of its open orders."""
    expected = {}
    for order_id in placed:
        order = world.store.load(Order, order_id)
        if order.status.is_open:
            expected[order_id.hex] = (str(order.request.symbol), order.request.side, order.remaining)
    actual = {key: (e.symbol, e.side, e.remaining) for key, e in bot.open_orders.items()}
    assert actual == expected


def assert_within_limits(bot: Bot) -> None:
    assert len(bot.open_orders) <= LIMITS["max_open_orders"]
    for text, price in PRICE.items():
        exposure = bot.exposure(Symbol.parse(text))
        limit = Decimal(LIMITS["max_position_notional"])
        assert max(exposure.long_exposure, Decimal(0)) * price <= limit
        assert max(-exposure.short_exposure, Decimal(0)) * price <= limit


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_committed_exposure_never_exceeds_the_limits(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings_ = Settings(store=StoreSettings(sqlite_path=Path(tmp) / "e.sqlite3"))
        with world_on(settings_) as world:
            world.prices.set(Symbol("BTC", "USDT"), PRICE["BTC/USDT"])
            world.prices.set(Symbol("ETH", "USDT"), PRICE["ETH/USDT"])
            bot_id = world.running_bot(limits=LIMITS)
            placed: list[UUID] = []
            late_fill = False
            for n, op in enumerate(ops):
                # A denial or a refused report is fine: the invariant must hold either way.
                with contextlib.suppress(DomainError):
                    late_fill = run(world, bot_id, op, placed, n) or late_fill
                bot = world.store.load(Bot, bot_id)
                if not late_fill:  # after one, the exchange, not our admissions, moved the position
                    assert_within_limits(bot)
                assert_ledger_matches_orders(bot, world, placed)
                world.clock.advance(seconds=1)
            event(f"late fill recorded: {late_fill}")
            event(
                f"orders admitted: {min(len(placed), 5)}+"
                if len(placed) >= 5
                else f"orders admitted: {len(placed)}"
            )


def assert_only_reduces(before: Bot, order: Order) -> None:
    """Filled together with every open order on its side, the order admitted while the switch
    was on takes the position towards flat, never past it."""
    request = order.request
    exposure = before.exposure(request.symbol)
    if request.side is Side.SELL:
        assert exposure.position > 0 and exposure.open_sell + request.quantity <= exposure.position
    else:
        assert exposure.position < 0 and exposure.open_buy + request.quantity <= -exposure.position


def open_position(world: World, bot_id: UUID, symbol: str, side: str, quantity: Decimal) -> None:
    order_id = world.place(bot_id, f"open-{symbol[:3]}", side, str(quantity), symbol=symbol)
    world.bus.dispatch(c.RecordOrderSubmitted(actor="x", order_id=order_id))
    world.fill(order_id, f"open-{symbol[:3]}", str(quantity), str(PRICE[symbol]))


starting = st.tuples(st.sampled_from(["buy", "sell"]), st.integers(1, 300).map(lambda n: Decimal(n) / 1000))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(starting, starting, operations_with_switch)
def test_with_the_kill_switch_on_no_admitted_order_can_grow_or_flip_a_position(
    btc: tuple[str, Decimal], eth: tuple[str, Decimal], ops: list[tuple[Any, ...]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings_ = Settings(store=StoreSettings(sqlite_path=Path(tmp) / "e.sqlite3"))
        with world_on(settings_) as world:
            bot_id = world.running_bot(limits=LIMITS)
            open_position(world, bot_id, "BTC/USDT", btc[0], btc[1])
            open_position(world, bot_id, "ETH/USDT", eth[0], eth[1] * 20)
            world.bus.dispatch(c.TripKillSwitch(actor=ACTOR, bot_id=bot_id, reason="property"))
            placed: list[UUID] = []
            admitted_while_on = 0
            for n, op in enumerate(ops):
                before = world.store.load(Bot, bot_id)
                count = len(placed)
                with contextlib.suppress(DomainError):
                    run(world, bot_id, op, placed, n)
                if before.kill_switch and len(placed) > count:
                    assert_only_reduces(before, world.store.load(Order, placed[-1]))
                    admitted_while_on += 1
                bot = world.store.load(Bot, bot_id)
                if op[0] == "trip" and not before.kill_switch:  # every open order asked to cancel
                    statuses = {world.store.load(Order, UUID(hex=key)).status for key in bot.open_orders}
                    assert statuses <= {OrderStatus.PENDING_CANCEL}
                world.clock.advance(seconds=1)
            event(f"orders admitted with the switch on: {min(admitted_while_on, 2)}")
