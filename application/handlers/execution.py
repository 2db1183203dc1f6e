"""Handlers of the execution reports the exchange side sends: submitted, accepted, rejected,
filled, cancelled, cancel rejected, expired.

A report the order has already reflected (a repeat, or a stale forward step) appends nothing.
When a report ends an order, what was left of it is released on the bot in the same transaction.
A fill that trips the bot's kill switch (the day's loss at its limit) asks for the cancel of the
bot's open orders in the fill's transaction.
"""

from __future__ import annotations

from abc import abstractmethod
from decimal import Decimal
from typing import TypeVar

from application.commands import (
    OrderCommand,
    RecordCancelRejected,
    RecordFill,
    RecordOrderAccepted,
    RecordOrderCancelled,
    RecordOrderExpired,
    RecordOrderRejected,
    RecordOrderSubmitted,
)
from application.handlers.base import Handler
from application.handlers.orders import cancel_open_orders
from application.results import FillAck, OrderAck
from domain import ids
from domain.bot import Bot
from domain.errors import InvalidInput
from domain.order import Order
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
    def report(self, order: Order, command: RecordOrderSubmitted, stamp: Stamp) -> bool:
        return order.submit(stamp)


class RecordOrderAcceptedHandler(_OrderReport[RecordOrderAccepted]):
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


def _protect(position: Position, order: Order, signed: Decimal, stamp: Stamp) -> None:
    """An order with a stop loss or take profit protects the position it opened or added to."""
    request = order.request
    if (request.stop_loss is None and request.take_profit is None) or position.quantity * signed <= 0:
        return
    stop_loss = request.stop_loss if request.stop_loss is not None else position.stop_loss
    take_profit = request.take_profit if request.take_profit is not None else position.take_profit
    position.protect(stop_loss, take_profit, stamp)


class RecordFillHandler(Handler[RecordFill, FillAck]):
    """Records a trade on the order, the position and the bot's ledger in one transaction.
    A trade id already recorded appends nothing; an overfill is refused."""

    def execute(self, command: RecordFill, stamp: Stamp) -> FillAck:
        trade_id = ids.trade_id(command.trade_id)
        quantity = positive_decimal(command.quantity, "quantity")
        price = positive_decimal(command.price, "price")
        fee = non_negative_decimal(command.fee, "fee")
        fee_quote = (
            None if command.fee_quote is None else non_negative_decimal(command.fee_quote, "fee_quote")
        )
        order = self.store.load(Order, command.order_id, "order")
        symbol = order.request.symbol
        position_id = ids.position_id_for(order.bot_id, str(symbol))
        position = self.store.find(Position, position_id)
        fee_currency = command.fee_currency or symbol.quote
        if not order.fill(trade_id, quantity, price, fee, fee_currency, stamp, fee_quote):
            assert position is not None  # a recorded fill always opened the position
            return self._ack(order, trade_id, position, self.store.last_position(), changed=False)

        bot = self.store.load(Bot, order.bot_id, "bot")
        if position is None:
            position = Position.open(position_id, order.bot_id, symbol, stamp)
        signed = quantity * order.request.side.sign
        worth = order.fee_in_quote(fee, fee_currency, price, fee_quote)
        realized = position.apply_fill(order.order_id, trade_id, signed, price, worth, stamp)
        _protect(position, order, signed, stamp)
        tripped = bot.book_fill(order.order_id, symbol, signed, realized, stamp)
        cancels = cancel_open_orders(self.store, bot, stamp, held=order) if tripped else []
        at = self.store.record(order, position, bot, *cancels)
        return self._ack(order, trade_id, position, at, changed=True)

    @staticmethod
    def _ack(order: Order, trade_id: str, position: Position, at: int, changed: bool) -> FillAck:
        return FillAck(
            order_id=order.id,
            trade_id=trade_id,
            order_status=order.status.value,
            position_quantity=position.quantity,
            realized_pnl=position.realized_pnl,
            position=at,
            changed=changed,
        )
