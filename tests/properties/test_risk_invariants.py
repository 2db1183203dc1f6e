"""(c) Random command sequences never leave committed exposure or open orders above the limits."""

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
from domain.values import Symbol
from infrastructure.settings import Settings
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


def run(world: World, bot_id: UUID, op: tuple[Any, ...], placed: list[UUID], n: int) -> bool:
    """Carries out one operation; True if it recorded a fill on an order already ended (a late
    fill after a cancel: a fact from the exchange that no risk rule can refuse)."""
    kind = op[0]
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
        settings_ = Settings(_env_file=None, sqlite_path=Path(tmp) / "e.sqlite3")  # type: ignore[call-arg]
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
