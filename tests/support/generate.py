"""Generates a realistic history quickly: bots whose orders are placed, accepted, filled (in one
or two trades), cancelled or denied, written through the domain aggregates and saved many
aggregates per transaction (not through the command handlers, which commit one command at a time)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from application.store import TradingApplication
from domain.bot import Bot
from domain.ids import BotId, ClientOrderId, DenialId, TradeId, UserId, order_id_for, position_id_for
from domain.order import Order
from domain.orders import OrderRequest
from domain.position import Position
from domain.risk import ReasonCode, parse_risk_limits
from domain.values import EventMeta, OrderType, Side, Stamp, Symbol, TimeInForce

SYMBOLS = [Symbol("BTC", "USDT"), Symbol("ETH", "USDT"), Symbol("SOL", "USDT")]
LIMITS = {
    "max_order_notional": "1000000",
    "max_position_notional": "10000000",
    "max_open_orders": 50,
    "daily_loss_limit": "100000000",
    "price_band_pct": "0.5",
    "max_orders_per_minute": 100000,
}


@dataclass
class History:
    """What was generated, to check read models against."""

    events: int = 0
    orders: int = 0
    fills: int = 0
    denials: int = 0
    bots: list[UUID] = field(default_factory=list)


class Generator:
    def __init__(self, store: TradingApplication, bots: int = 20, seed: int = 7, owners: int = 5) -> None:
        self.store = store
        self.random = random.Random(seed)
        self.now = datetime(2026, 1, 1, tzinfo=UTC)
        self.prices = {s: Decimal(p) for s, p in zip(SYMBOLS, ("60000", "3000", "150"), strict=True)}
        self.positions: dict[tuple[UUID, Symbol], Position] = {}
        self.history = History()
        self.bots: list[Bot] = []
        self._sequence = 0
        pending: list[Bot] = []
        for n in range(bots):
            bot = Bot.create(
                bot_id=BotId(uuid4()),
                owner=UserId(f"owner-{n % owners}"),
                name=f"bot {n}",
                strategy="manual",
                params={"levels": 10},
                exchange_account="paper",
                allowed_symbols=list(SYMBOLS),
                limits=parse_risk_limits(dict(LIMITS)),
                stamp=self._stamp(),
            )
            bot.start(self._stamp())
            pending.append(bot)
            self.history.bots.append(bot.id)
        self.bots = pending
        self._save(pending)

    def _stamp(self, seconds: float = 0.5) -> Stamp:
        self.now += timedelta(seconds=seconds)
        self._sequence += 1
        return Stamp(self.now, EventMeta(UserId("generator"), f"c{self._sequence}", f"c{self._sequence}"))

    def _save(self, aggregates: Sequence[Aggregate]) -> None:
        unique = list({id(a): a for a in aggregates}.values())
        events = sum(len(a.pending_events) for a in unique)
        self.store.save(*unique)
        self.history.events += events

    def run(self, events: int, per_transaction: int = 500) -> History:
        """Adds about ``events`` more events."""
        target = self.history.events + events
        while self.history.events < target:
            touched: list[Aggregate] = []
            pending = 0
            while pending < per_transaction and self.history.events + pending < target:
                touched_now = self._order_cycle()
                pending += sum(len(a.pending_events) for a in {id(a): a for a in touched_now}.values())
                touched.extend(touched_now)
            self._save(touched)
        return self.history

    def _order_cycle(self) -> list[Aggregate]:
        bot = self.random.choice(self.bots)
        symbol = self.random.choice(SYMBOLS)
        price = self._move(symbol)
        side = self.random.choice([Side.BUY, Side.SELL])
        quantity = Decimal(self.random.randint(1, 500)) / 1000
        coid = ClientOrderId(f"g{self._sequence}")
        request = OrderRequest(coid, symbol, side, OrderType.LIMIT, quantity, price, None, TimeInForce.GTC)
        roll = self.random.random()
        if roll < 0.05:
            codes = [ReasonCode.MAX_ORDER_NOTIONAL]
            bot.deny_order(DenialId(uuid4()), request, codes, price, self._stamp())
            self.history.denials += 1
            return [bot]
        order_id = order_id_for(bot.bot_id, coid)
        order = Order.place(order_id, bot.bot_id, request, self._stamp())
        bot.admit_order(order_id, request, price, self._stamp(0))
        order.submit(self._stamp(0.05))
        order.accept(None, self._stamp(0.05))
        self.history.orders += 1
        touched: list[Aggregate] = [bot, order]
        if roll < 0.75:
            parts = [quantity] if quantity < Decimal("0.002") or roll < 0.45 else self._split(quantity)
            for part in parts:
                touched.append(self._fill(bot, order, part, price))
        elif roll < 0.85 and quantity >= Decimal("0.002"):
            part = self._split(quantity)[0]
            touched.append(self._fill(bot, order, part, price))
            self._cancel(bot, order)
        else:
            self._cancel(bot, order)
        return touched

    def _split(self, quantity: Decimal) -> list[Decimal]:
        first = (quantity * Decimal(self.random.randint(1, 9)) / 10).quantize(Decimal("0.001"))
        first = max(Decimal("0.001"), min(first, quantity - Decimal("0.001")))
        return [first, quantity - first]

    def _cancel(self, bot: Bot, order: Order) -> None:
        order.request_cancel(self._stamp(0.2))
        order.confirm_cancelled("cancelled at the exchange", self._stamp(0.05))
        bot.release_order(order.order_id, order.status.value, self._stamp(0))

    def _fill(self, bot: Bot, order: Order, quantity: Decimal, price: Decimal) -> Position:
        symbol = order.request.symbol
        key = (bot.id, symbol)
        position = self.positions.get(key)
        if position is None:
            position = Position.open(
                position_id_for(bot.bot_id, str(symbol)), bot.bot_id, symbol, self._stamp(0)
            )
            self.positions[key] = position
        fee = (quantity * price * Decimal("0.001")).quantize(Decimal("0.00000001"))
        trade = TradeId(f"T{self._sequence}")
        order.fill(trade, quantity, price, fee, symbol.quote, self._stamp(0.1))
        signed = quantity * order.request.side.sign
        realized = position.apply_fill(order.order_id, trade, signed, price, fee, self._stamp(0))
        bot.book_fill(order.order_id, symbol, signed, realized, self._stamp(0))
        self.history.fills += 1
        return position

    def _move(self, symbol: Symbol) -> Decimal:
        step = self.prices[symbol] * Decimal(self.random.uniform(-0.002, 0.002))
        self.prices[symbol] = (self.prices[symbol] + step).quantize(Decimal("0.01"))
        return self.prices[symbol]
