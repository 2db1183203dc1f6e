"""Handlers of the execution reports the exchange side sends: submitted, accepted, rejected,
filled, cancelled, cancel rejected, expired.

A report the order has already reflected (a repeat, or a stale forward step) appends nothing.
When a report ends an order, what was left of it is released on the bot in the same transaction.
A fill that trips the bot's kill switch (the day's loss at its limit) asks for the cancel of the
bot's open orders in the fill's transaction. The execution manager records a whole exchange answer
(accepted, new trades, how it ended) as one command, in one transaction.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from application.commands import (
    OrderCommand,
    RecordCancelRejected,
    RecordExchangeAnswer,
    RecordFill,
    RecordOrderAccepted,
    RecordOrderCancelled,
    RecordOrderExpired,
    RecordOrderRejected,
    RecordOrderSubmitted,
    ReportedTrade,
)
from application.handlers.base import Handler
from application.handlers.orders import cancel_open_orders
from application.handlers.signals import signal_targets
from application.results import AnswerAck, FillAck, OrderAck
from application.store import TradingApplication
from domain import ids
from domain.bot import Bot
from domain.errors import InvalidInput
from domain.ids import TradeId
from domain.order import Order
from domain.order_states import OrderStatus
from domain.position import Position
from domain.values import Stamp, non_negative_decimal, positive_decimal


def _reason(text: str) -> str:
    if not text.strip():
        raise InvalidInput("reason", "must not be empty")
    return text.strip()


R = TypeVar("R", bound=OrderCommand)


class _OrderReport(Handler[R, OrderAck]):
    def execute(self, command: R, stamp: Stamp) -> OrderAck:
        order = self.store.load(Order, command.order_id, "order")
        changed = self.report(order, command, stamp)
        bot = None
        if changed and order.status.is_terminal:
            bot = self.store.load(Bot, order.bot_id, "bot")
            bot.release_order(order.order_id, order.status.value, stamp)
        position = self.store.record(order, bot)
        return OrderAck(order.id, order.client_order_id, order.status.value, position, changed)

    @abstractmethod
    def report(self, order: Order, command: R, stamp: Stamp) -> bool:
        """Applies the report to the order; False when the order already reflected it."""


class RecordOrderSubmittedHandler(_OrderReport[RecordOrderSubmitted]):
    changes_bot = False  # never ends the order

    def report(self, order: Order, command: RecordOrderSubmitted, stamp: Stamp) -> bool:
        return order.submit(stamp)


class RecordOrderAcceptedHandler(_OrderReport[RecordOrderAccepted]):
    changes_bot = False  # never ends the order

    def report(self, order: Order, command: RecordOrderAccepted, stamp: Stamp) -> bool:
        exchange_id = command.exchange_order_id
        return order.accept(None if exchange_id is None else ids.exchange_order_id(exchange_id), stamp)


class RecordOrderRejectedHandler(_OrderReport[RecordOrderRejected]):
    def report(self, order: Order, command: RecordOrderRejected, stamp: Stamp) -> bool:
        return order.reject(_reason(command.reason), stamp)


class RecordOrderCancelledHandler(_OrderReport[RecordOrderCancelled]):
    def report(self, order: Order, command: RecordOrderCancelled, stamp: Stamp) -> bool:
        return order.confirm_cancelled(_reason(command.reason), stamp)


class RecordCancelRejectedHandler(_OrderReport[RecordCancelRejected]):
    def report(self, order: Order, command: RecordCancelRejected, stamp: Stamp) -> bool:
        return order.reject_cancel(_reason(command.reason), stamp)


class RecordOrderExpiredHandler(_OrderReport[RecordOrderExpired]):
    def report(self, order: Order, command: RecordOrderExpired, stamp: Stamp) -> bool:
        return order.expire(stamp)


def _protect(
    position: Position, order: Order, signed: Decimal, stamp: Stamp, store: TradingApplication
) -> None:
    """An order with a stop loss or take profit protects the position it opened or added to; a
    signal's entry order with the signal's ladder of targets (docs/signals.md)."""
    request = order.request
    if (request.stop_loss is None and request.take_profit is None) or position.quantity * signed <= 0:
        return
    stop_loss = request.stop_loss if request.stop_loss is not None else position.stop_loss
    take_profit = request.take_profit if request.take_profit is not None else position.take_profit
    position.protect(stop_loss, take_profit, stamp, targets=signal_targets(store, order))


@dataclass(frozen=True)
class _Trade:
    trade_id: TradeId
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str | None
    fee_quote: Decimal | None


def _checked(trade: ReportedTrade) -> _Trade:
    return _Trade(
        ids.trade_id(trade.trade_id),
        positive_decimal(trade.quantity, "quantity"),
        positive_decimal(trade.price, "price"),
        non_negative_decimal(trade.fee, "fee"),
        trade.fee_currency,
        None if trade.fee_quote is None else non_negative_decimal(trade.fee_quote, "fee_quote"),
    )


class _Fills:
    """Books an order's trades on its position and its bot's ledger, loading each once for the
    transaction; a trade that trips the bot's kill switch asks for the cancel of its open orders."""

    def __init__(self, store: TradingApplication, order: Order) -> None:
        self.store = store
        self.order = order
        self.position_id = ids.position_id_for(order.bot_id, str(order.request.symbol))
        self.position = store.find(Position, self.position_id)
        self.bot: Bot | None = None
        self.cancels: list[Order] = []

    def add(self, trade: _Trade, stamp: Stamp) -> bool:
        """Records one trade; False when the order has it already."""
        order, symbol = self.order, self.order.request.symbol
        trade_id, quantity, price, fee, fee_quote = (
            trade.trade_id,
            trade.quantity,
            trade.price,
            trade.fee,
            trade.fee_quote,
        )
        fee_currency = trade.fee_currency or symbol.quote
        if not order.fill(trade_id, quantity, price, fee, fee_currency, stamp, fee_quote):
            return False
        bot = self.loaded_bot()
        if self.position is None:
            self.position = Position.open(self.position_id, order.bot_id, symbol, stamp)
        signed = quantity * order.request.side.sign
        worth = order.fee_in_quote(fee, fee_currency, price, fee_quote)
        realized = self.position.apply_fill(order.order_id, trade_id, signed, price, worth, stamp)
        _protect(self.position, order, signed, stamp, self.store)
        if bot.book_fill(order.order_id, symbol, signed, realized, stamp):
            self.cancels = cancel_open_orders(self.store, bot, stamp, held=order)
        return True

    def loaded_bot(self) -> Bot:
        if self.bot is None:
            self.bot = self.store.load(Bot, self.order.bot_id, "bot")
        return self.bot

    def record(self) -> int:
        """Saves the order and everything its trades touched in one transaction."""
        return self.store.record(self.order, self.position, self.bot, *self.cancels)


class RecordFillHandler(Handler[RecordFill, FillAck]):
    """Records a trade on the order, the position and the bot's ledger in one transaction.
    A trade id already recorded appends nothing; an overfill is refused."""

    def execute(self, command: RecordFill, stamp: Stamp) -> FillAck:
        raw = ReportedTrade(
            trade_id=command.trade_id,
            quantity=command.quantity,
            price=command.price,
            fee=command.fee,
            fee_currency=command.fee_currency,
            fee_quote=command.fee_quote,
        )
        trade = _checked(raw)
        order = self.store.load(Order, command.order_id, "order")
        fills = _Fills(self.store, order)
        changed = fills.add(trade, stamp)
        position = fills.position
        assert position is not None  # a recorded fill always opened the position
        return FillAck(
            order_id=order.id,
            trade_id=trade.trade_id,
            order_status=order.status.value,
            position_quantity=position.quantity,
            realized_pnl=position.realized_pnl,
            position=fills.record(),
            changed=changed,
        )


_ENDINGS = ("open", "filled", "cancelled", "expired")


class RecordExchangeAnswerHandler(Handler[RecordExchangeAnswer, AnswerAck]):
    """Records what the exchange says of a sent order in one transaction: accepted, each trade
    not recorded yet, and how it ended. The order is cancelled or expired only once its recorded
    fills reach what the exchange says is filled (an exchange can list an order's trades after it
    reports the order filled): until then the answer is incomplete and the order stays open, to
    be asked about again. Filled is by fills."""

    def execute(self, command: RecordExchangeAnswer, stamp: Stamp) -> AnswerAck:
        if command.outcome not in _ENDINGS:
            raise InvalidInput("outcome", f"must be one of {', '.join(_ENDINGS)}")
        filled = non_negative_decimal(command.filled, "filled")
        trades = [_checked(trade) for trade in command.trades]
        order = self.store.load(Order, command.order_id, "order")
        changed = False
        if order.status is OrderStatus.SUBMITTED:
            exchange_id = command.exchange_order_id
            changed = order.accept(None if exchange_id is None else ids.exchange_order_id(exchange_id), stamp)
        fills = _Fills(self.store, order)
        for trade in trades:
            changed = fills.add(trade, stamp) or changed
        complete = order.filled_quantity >= filled
        if complete and order.status.is_open and command.outcome in ("cancelled", "expired"):
            if command.outcome == "cancelled":
                changed = order.confirm_cancelled(_reason(command.reason), stamp) or changed
            else:
                changed = order.expire(stamp) or changed
            fills.loaded_bot().release_order(order.order_id, order.status.value, stamp)
        return AnswerAck(
            order.id, order.status.value, order.filled_quantity, complete, fills.record(), changed
        )
