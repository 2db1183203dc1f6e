"""A signal message sent to a bot that follows signals: read, decided and traded in one
transaction (docs/signals.md, "Trading signals").

The message is recorded as it came (``Signal.Received``), then what was read from it: the plan
(``Signal.Parsed``) or the reasons it is not traded (``Signal.Rejected``). A plan's entry orders go
through the bot's risk rules like orders placed by hand, each recorded placed or denied, with the
signal as their cause and its stop loss and first target on each (the position's protection); then
``Signal.Executed`` lists them. A cancel or close message (``Signal.CalledOff``) cancels the bot's
open signal orders on the symbol, and a close also closes its position at the market. The same
(source, message id) again answers the first outcome and records nothing; with another text it
is an edit (``Signal.Edited``): before any of its entries filled, the open ones are cancelled and
the new text read in its place; after, the edit is only recorded."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from application.commands import ReceiveSignal
from application.errors import OrderDenied
from application.handlers.base import Handler
from application.handlers.orders import admit
from application.results import SignalAck
from application.store import TradingApplication
from application.strategies.builtin.signals import SignalFollowing, SignalParams
from domain.bot import Bot
from domain.errors import InvalidInput
from domain.ids import client_order_id, position_id_for
from domain.order import Order
from domain.order_states import OrderStatus
from domain.orders import OrderRequest, parse_order_request
from domain.position import Position
from domain.signal import Signal, signal_id_for
from domain.signals import CancelAction, EntryKind, ParsedSignal, SignalCancel, SignalRejection, parse_signal
from domain.values import EventMeta, OrderType, Side, Stamp, Symbol

LEVERAGE_NOT_SUPPORTED = "LEVERAGE_NOT_SUPPORTED"
NO_REFERENCE_PRICE = "NO_REFERENCE_PRICE"
SIZE_TOO_SMALL = "SIZE_TOO_SMALL"
SIGNAL_ORDER_PREFIX = "sig-"


class ReceiveSignalHandler(Handler[ReceiveSignal, SignalAck]):
    def execute(self, command: ReceiveSignal, stamp: Stamp) -> SignalAck:
        bot = self.store.load(Bot, command.bot_id, "bot")
        if bot.strategy != SignalFollowing.name:
            raise InvalidInput(
                "bot_id",
                f"the bot's strategy is {bot.strategy}: only a bot with strategy signals takes signals",
            )
        source = client_order_id(command.source, "source")
        message_id = client_order_id(command.message_id or self.deps.ids.new_id().hex, "message_id")
        existing = self.store.find(Signal, signal_id_for(bot.bot_id, source, message_id))
        if existing is not None:
            if existing.text == command.text:
                return _ack(existing, self.store.last_position(), changed=False)
            return self._edit(bot, existing, command, stamp)
        signal = Signal.receive(bot.bot_id, source, message_id, command.text, stamp)
        return self._read(bot, signal, command, stamp, replaced=[])

    def _read(
        self, bot: Bot, signal: Signal, command: ReceiveSignal, stamp: Stamp, replaced: list[Order]
    ) -> SignalAck:
        """Reads the signal's text (or takes the command's reading of it) and acts on it;
        ``replaced``: the orders of its earlier plan that an edit cancelled, saved with it."""
        read, reader = command.reading, command.reader
        if read is None:
            read, reader = parse_signal(signal.text, [Symbol.parse(s) for s in bot.allowed_symbols]), "rules"
        caused = Stamp(
            stamp.at, EventMeta(stamp.meta.actor, stamp.meta.correlation_id, f"signal:{signal.id}")
        )
        if isinstance(read, SignalRejection):
            signal.reject([reason.value for reason in read.reasons], reader, stamp)
            if replaced:
                signal.executed([], [], [order.order_id for order in replaced], caused)
            return _ack(signal, self.store.record(signal, bot, *replaced), changed=True)
        if isinstance(read, SignalCancel):
            return self._call_off(bot, signal, read, stamp, caused, replaced)
        return self._trade(bot, signal, read, reader, stamp, caused, replaced)

    def _edit(self, bot: Bot, signal: Signal, command: ReceiveSignal, stamp: Stamp) -> SignalAck:
        """An edit of a signal none of whose entries has filled replaces its plan: the entries
        still open are cancelled and the new text is read in its place. After a fill, or of a
        cancel or close, the edit is only recorded."""
        placed = [self.store.load(Order, order_id, "order") for order_id in signal.orders]
        refused = "FILLED" if any(order.filled_quantity > 0 for order in placed) else None
        if signal.called_off:
            refused = refused or "CALLED_OFF"
        signal.edit(command.text, applied=refused is None, reason=refused, stamp=stamp)
        if refused is not None:
            return _ack(signal, self.store.record(signal), changed=True)
        cancelled = [order for order in placed if _cancel(bot, order, stamp)]
        return self._read(bot, signal, command, stamp, replaced=cancelled)

    def _trade(
        self,
        bot: Bot,
        signal: Signal,
        plan: ParsedSignal,
        reader: str,
        stamp: Stamp,
        caused: Stamp,
        replaced: list[Order],
    ) -> SignalAck:
        params = SignalParams.model_validate(bot.params)
        requests: list[OrderRequest] | str = LEVERAGE_NOT_SUPPORTED
        if plan.leverage is None or params.leverage == "ignore":
            signal.parsed(plan, leverage_ignored=plan.leverage is not None, reader=reader, stamp=stamp)
            requests = self._entries(bot, signal, plan, params)
        if isinstance(requests, str):
            signal.reject([requests], reader, stamp)
            if replaced:
                signal.executed([], [], [order.order_id for order in replaced], caused)
            return _ack(signal, self.store.record(signal, bot, *replaced), changed=True)
        orders, denied = self._admitted(bot, requests, caused)
        signal.executed([order.order_id for order in orders], denied, [o.order_id for o in replaced], caused)
        return _ack(signal, self.store.record(signal, bot, *replaced, *orders), changed=True)

    def _admitted(
        self, bot: Bot, requests: list[OrderRequest], stamp: Stamp
    ) -> tuple[list[Order], list[dict[str, Any]]]:
        """Each order put through the bot's risk rules: those placed, and those denied (client
        order id and reason codes each, as ``Signal.Executed`` records them)."""
        placed: list[Order] = []
        denied: list[dict[str, Any]] = []
        for request in requests:
            decided = admit(self.deps, bot, request, stamp)
            if isinstance(decided, OrderDenied):
                codes = [code.value for code in decided.reason_codes]
                denied.append({"client_order_id": decided.client_order_id, "reasons": codes})
            else:
                placed.append(decided)
        return placed, denied

    def _entries(
        self, bot: Bot, signal: Signal, plan: ParsedSignal, params: SignalParams
    ) -> list[OrderRequest] | str:
        """The entry orders, the quote amount split evenly over the entries (a market entry is one
        order; a zone's two ends an order each); or the reason there are none."""
        reference = self.deps.prices.reference_price(plan.symbol)
        if reference is None:
            return NO_REFERENCE_PRICE
        quote = params.entry_quote(self._equity(bot, params))
        prices: list[Decimal | None] = (
            list(plan.entries) if plan.entry_kind is not EntryKind.MARKET else [None]
        )
        target = plan.take_profits[0].price if plan.take_profits else None
        requests = []
        for index, price in enumerate(prices):
            quantity = self._on_step(bot, plan.symbol, quote / len(prices) / (price or reference))
            if quantity <= 0:
                continue
            requests.append(
                parse_order_request(
                    client_order_id=_entry_id(signal, index),
                    symbol=str(plan.symbol),
                    side=plan.side.value,
                    order_type=(OrderType.MARKET if price is None else OrderType.LIMIT).value,
                    quantity=str(quantity),
                    price=None if price is None else str(price),
                    stop_price=None,
                    time_in_force="GTC",
                    stop_loss=None if plan.stop_loss is None else str(plan.stop_loss),
                    take_profit=None if target is None else str(target),
                )
            )
        return requests or SIZE_TOO_SMALL

    def _equity(self, bot: Bot, params: SignalParams) -> Decimal:
        """The bot's capital plus what its positions have made or lost, at the reference prices
        (only needed when entries are a fraction of equity)."""
        if params.capital is None:
            return Decimal(0)
        equity = params.capital
        for text in bot.allowed_symbols:
            position = self.store.find(Position, position_id_for(bot.bot_id, text), read_only=True)
            if position is None:
                continue
            equity += position.realized_pnl
            mark = self.deps.prices.reference_price(Symbol.parse(text))
            if mark is not None and position.quantity != 0:
                equity += position.unrealized_pnl(mark)
        return equity

    def _on_step(self, bot: Bot, symbol: Symbol, quantity: Decimal) -> Decimal:
        """Rounded down to the market's amount step (the exchange would refuse anything else)."""
        spec = self.deps.markets.market(bot.exchange_account, symbol)
        return quantity if spec is None else spec.round_down(quantity)

    def _call_off(
        self, bot: Bot, signal: Signal, call: SignalCancel, stamp: Stamp, caused: Stamp, replaced: list[Order]
    ) -> SignalAck:
        signal.call_off(call.action.value, call.symbol, stamp)
        held = {order.id for order in replaced}
        cancelled = [*replaced, *self._cancel_signal_orders(bot, call.symbol, caused, held)]
        closing = self._closing(bot, signal, call) if call.action is CancelAction.CLOSE else None
        placed, denied = self._admitted(bot, [] if closing is None else [closing], caused)
        signal.executed([o.order_id for o in placed], denied, [o.order_id for o in cancelled], caused)
        return _ack(signal, self.store.record(signal, bot, *cancelled, *placed), changed=True)

    def _cancel_signal_orders(self, bot: Bot, symbol: Symbol, stamp: Stamp, held: set[UUID]) -> list[Order]:
        """Asks for the cancel of the bot's open orders on ``symbol`` that signals placed, but
        those in ``held`` (the caller has them already)."""
        changed = []
        for order_id in bot.open_order_ids():
            if order_id in held:
                continue
            order = self.store.load(Order, order_id, "order")
            request = order.request
            if request.symbol != symbol or not request.client_order_id.startswith(SIGNAL_ORDER_PREFIX):
                continue
            if _cancel(bot, order, stamp):
                changed.append(order)
        return changed

    def _closing(self, bot: Bot, signal: Signal, call: SignalCancel) -> OrderRequest | None:
        position = self.store.find(Position, position_id_for(bot.bot_id, str(call.symbol)), read_only=True)
        if position is None or position.quantity == 0:
            return None
        return parse_order_request(
            client_order_id=f"{SIGNAL_ORDER_PREFIX}{signal.id.hex}-close",
            symbol=str(call.symbol),
            side=(Side.SELL if position.quantity > 0 else Side.BUY).value,
            order_type=OrderType.MARKET.value,
            quantity=str(abs(position.quantity)),
            price=None,
            stop_price=None,
            time_in_force="GTC",
            stop_loss=None,
            take_profit=None,
        )


def _cancel(bot: Bot, order: Order, stamp: Stamp) -> bool:
    """Asks for the order's cancel if it is open; one never sent is cancelled at once and its
    quantity released on the bot. False when there was nothing to cancel."""
    if not order.status.is_open or not order.request_cancel(stamp):
        return False
    if order.status is OrderStatus.CANCELLED:
        bot.release_order(order.order_id, order.status.value, stamp)
    return True


def _entry_id(signal: Signal, index: int) -> str:
    """The client order id of an entry: ``sig-<signal id>-<n>``, ``-r<edit>-<n>`` after an edit."""
    edit = f"r{signal.revision}-" if signal.revision else ""
    return f"{SIGNAL_ORDER_PREFIX}{signal.id.hex}-{edit}{index}"


def _ack(signal: Signal, position: int, changed: bool) -> SignalAck:
    return SignalAck(
        signal.id,
        signal.status,
        position,
        changed,
        reasons=tuple(signal.reasons),
        placed=tuple(signal.orders),
        denied=tuple((d["client_order_id"], tuple(d["reasons"])) for d in signal.denied),
        cancelled=tuple(signal.cancelled),
        reader=signal.reader,
    )


def signal_targets(store: TradingApplication, order: Order) -> list[tuple[Decimal, Decimal | None]]:
    """The ladder of targets of the signal whose entry ``order`` is (its client order id names
    the signal), to close the position in parts; empty for any other order, or a single target."""
    coid = order.request.client_order_id
    if not coid.startswith(SIGNAL_ORDER_PREFIX) or coid.endswith("-close"):
        return []
    try:
        signal_id = UUID(hex=coid[len(SIGNAL_ORDER_PREFIX) : len(SIGNAL_ORDER_PREFIX) + 32])
    except ValueError:  # placed by hand with a client order id that looks like a signal's
        return []
    signal = store.find(Signal, signal_id, read_only=True)
    if signal is None or signal.bot_id != order.bot_id or len(signal.take_profits) < 2:
        return []
    given = sum((fraction for _, fraction in signal.take_profits if fraction is not None), Decimal(0))
    if given >= 1:  # the shares the message gave take everything: targets without one get nothing
        return [(price, fraction) for price, fraction in signal.take_profits if fraction is not None]
    return list(signal.take_profits)
