"""Handlers of the order commands a bot's owner sends: place and cancel; and the cancel of every
open order of a bot whose kill switch trips."""

from __future__ import annotations

from application.commands import CancelOrder, PlaceOrder
from application.errors import IdempotencyMismatch, OrderDenied
from application.handlers.base import Handler, HandlerDeps
from application.results import OrderAck
from application.store import TradingApplication
from domain.bot import Bot
from domain.ids import DenialId, order_id_for
from domain.order import Order
from domain.order_states import OrderStatus
from domain.orders import OrderRequest, parse_order_request
from domain.risk import evaluate
from domain.values import Stamp


class PlaceOrderHandler(Handler[PlaceOrder, OrderAck]):
    """Risk-checks the order against the bot's ledger and records the decision either way.

    The order id is derived from (bot, client order id), so a repeated client order id finds
    the first order and appends nothing; two racing repeats collide in the event store and the
    loser, retried, finds the winner's order.
    """

    def execute(self, command: PlaceOrder, stamp: Stamp) -> OrderAck:
        request = parse_order_request(
            client_order_id=command.client_order_id or command.idempotency_key or self.deps.ids.new_id().hex,
            symbol=command.symbol,
            side=command.side,
            order_type=command.order_type,
            quantity=command.quantity,
            price=command.price,
            stop_price=command.stop_price,
            time_in_force=command.time_in_force,
            stop_loss=command.stop_loss,
            take_profit=command.take_profit,
        )
        bot = self.store.load(Bot, command.bot_id, "bot")
        order_id = order_id_for(bot.bot_id, request.client_order_id)
        existing = self.store.find(Order, order_id, read_only=True)
        if existing is not None:
            if existing.request != request:
                raise IdempotencyMismatch(f"client order id {request.client_order_id}")
            return _ack(existing, self.store.last_position(), changed=False)
        earlier = bot.earlier_denial(request.client_order_id)
        if earlier is not None:
            raise OrderDenied(bot.id, request.client_order_id, earlier.denial_id, earlier.reason_codes)
        decided = admit(self.deps, bot, request, stamp)
        if isinstance(decided, OrderDenied):
            self.store.record(bot)
            raise decided
        return _ack(decided, self.store.record(bot, decided), changed=True)


def admit(deps: HandlerDeps, bot: Bot, request: OrderRequest, stamp: Stamp) -> Order | OrderDenied:
    """The risk rules' decision on a new order, recorded on the bot: the order placed (for the
    caller to save with the bot), or the denial with its reasons (the bot records it)."""
    reference = deps.prices.reference_price(request.symbol)
    market = deps.markets.market(bot.exchange_account, request.symbol)
    codes = evaluate(bot.risk_context(request, market, reference, stamp.at))
    if codes:
        denial_id = DenialId(deps.ids.new_id())
        bot.deny_order(denial_id, request, codes, reference, stamp)
        return OrderDenied(bot.id, request.client_order_id, denial_id, codes)
    order_id = order_id_for(bot.bot_id, request.client_order_id)
    order = Order.place(order_id, bot.bot_id, request, stamp)
    bot.admit_order(order_id, request, reference, stamp)
    return order


class CancelOrderHandler(Handler[CancelOrder, OrderAck]):
    """Asks for a cancel. An order never sent to the exchange is cancelled at once and its
    committed quantity released on the bot in the same transaction."""

    def execute(self, command: CancelOrder, stamp: Stamp) -> OrderAck:
        order = self.store.load(Order, command.order_id, "order")
        changed = order.request_cancel(stamp)
        bot = None
        if changed and order.status is OrderStatus.CANCELLED:
            bot = self.store.load(Bot, order.bot_id, "bot")
            bot.release_order(order.order_id, order.status.value, stamp)
        return _ack(order, self.store.record(order, bot), changed)


def cancel_open_orders(
    store: TradingApplication, bot: Bot, stamp: Stamp, held: Order | None = None
) -> list[Order]:
    """Asks for the cancel of every open order of the bot, as ``CancelOrder`` would: the execution
    worker cancels a sent order at the exchange; one never sent is cancelled at once and released
    on the bot. Returns the orders to save with the bot; ``held`` is an order the caller has loaded
    already (and saves itself)."""
    changed = []
    for order_id in bot.open_order_ids():
        order = held if held is not None and held.id == order_id else store.load(Order, order_id, "order")
        # The ledger lists only open orders; the check keeps a kill from failing if it ever did not.
        if not order.status.is_open or not order.request_cancel(stamp):
            continue
        if order.status is OrderStatus.CANCELLED:
            bot.release_order(order.order_id, order.status.value, stamp)
        if order is not held:
            changed.append(order)
    return changed


def _ack(order: Order, position: int, changed: bool) -> OrderAck:
    return OrderAck(order.id, order.client_order_id, order.status.value, position, changed)
