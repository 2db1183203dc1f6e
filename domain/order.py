"""The Order aggregate: one life through the state machine, fills deduplicated, overfills refused."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from domain.aggregate import TradingAggregate
from domain.errors import IllegalTransition, InvalidInput, Overfill
from domain.ids import BotId, ClientOrderId, ExchangeOrderId, OrderId, TradeId
from domain.order_states import OrderStatus, Trigger, next_status
from domain.orders import OrderRequest
from domain.position_math import average_after
from domain.values import Stamp, positive_decimal

# Reports that only move an order forward: once the order is past them they are stale, not wrong.
_PROGRESS = {
    OrderStatus.PENDING_NEW: 0,
    OrderStatus.SUBMITTED: 1,
    OrderStatus.ACCEPTED: 2,
    OrderStatus.PART_FILLED: 3,
    OrderStatus.PENDING_CANCEL: 3,
    OrderStatus.FILLED: 4,
}


class Order(TradingAggregate):
    class Placed(TradingAggregate.Created):
        bot_id: BotId
        request: OrderRequest

        def apply(self, aggregate: Any) -> None:
            cast(Order, aggregate)._begin(self)

    class StatusEvent(TradingAggregate.Event):
        """Base of the events that only move the order's status."""

        status: OrderStatus

        def apply(self, aggregate: Any) -> None:
            cast(Order, aggregate).status = self.status

    class Submitted(StatusEvent):
        def apply(self, aggregate: Any) -> None:
            order = cast(Order, aggregate)
            order.status, order.sent = self.status, True

    class Accepted(StatusEvent):
        exchange_order_id: ExchangeOrderId | None

        def apply(self, aggregate: Any) -> None:
            order = cast(Order, aggregate)
            order.status = self.status
            if self.exchange_order_id is not None:
                order.exchange_order_id = self.exchange_order_id

    class Rejected(StatusEvent):
        reason: str

        def apply(self, aggregate: Any) -> None:
            order = cast(Order, aggregate)
            order.status, order.reason = self.status, self.reason

    class CancelRequested(StatusEvent):
        def apply(self, aggregate: Any) -> None:
            order = cast(Order, aggregate)
            order.status_before_cancel = order.status
            order.status = self.status

    class CancelRejected(StatusEvent):
        reason: str

        def apply(self, aggregate: Any) -> None:
            order = cast(Order, aggregate)
            order.status, order.status_before_cancel, order.reason = self.status, None, self.reason

    class Cancelled(StatusEvent):
        reason: str

        def apply(self, aggregate: Any) -> None:
            order = cast(Order, aggregate)
            order.status, order.reason = self.status, self.reason

    class Expired(StatusEvent):
        pass

    class Filled(TradingAggregate.Event):
        """One exchange trade against the order. ``late`` marks a fill after cancel or expiry."""

        trade_id: TradeId
        quantity: Decimal
        price: Decimal
        fee: Decimal
        fee_currency: str
        fee_quote: Decimal
        status: OrderStatus
        late: bool

        def apply(self, aggregate: Any) -> None:
            order = cast(Order, aggregate)
            order.average_fill_price = average_after(
                order.filled_quantity, order.average_fill_price, self.quantity, self.price
            )
            order.filled_quantity += self.quantity
            order.fees_quote += self.fee_quote
            order.trade_ids.append(self.trade_id)
            order.status = self.status
            if self.status is OrderStatus.PENDING_CANCEL:  # a rejected cancel returns to part filled
                order.status_before_cancel = OrderStatus.PART_FILLED

    def _begin(self, placed: Order.Placed) -> None:
        """The order's state, as it is placed; the events above change it."""
        self.bot_id: BotId = placed.bot_id
        self.request: OrderRequest = placed.request
        self.status: OrderStatus = OrderStatus.PENDING_NEW
        self.status_before_cancel: OrderStatus | None = None
        self.filled_quantity: Decimal = Decimal(0)
        self.average_fill_price: Decimal = Decimal(0)
        self.fees_quote: Decimal = Decimal(0)
        self.trade_ids: list[TradeId] = []
        self.exchange_order_id: ExchangeOrderId | None = None
        self.reason: str | None = None
        self.sent: bool = False  # submitted to the exchange at some point

    @classmethod
    def place(cls, order_id: OrderId, bot_id: BotId, request: OrderRequest, stamp: Stamp) -> Order:
        return cls._create(
            cls.Placed,
            id=order_id,
            timestamp=stamp.at,
            meta=stamp.meta,
            bot_id=bot_id,
            request=request,
        )

    @property
    def order_id(self) -> OrderId:
        return OrderId(self.id)

    @property
    def client_order_id(self) -> ClientOrderId:
        return self.request.client_order_id

    @property
    def remaining(self) -> Decimal:
        return self.request.quantity - self.filled_quantity

    def _is_stale(self, reached: OrderStatus) -> bool:
        """A forward-only report the order has already gone past (or repeats its terminal state)."""
        if reached is self.status:
            return True
        mine, theirs = _PROGRESS.get(self.status), _PROGRESS.get(reached)
        return mine is not None and theirs is not None and mine > theirs

    def submit(self, stamp: Stamp) -> bool:
        if self._is_stale(OrderStatus.SUBMITTED):
            return False
        self._emit(self.Submitted, stamp, status=next_status(self.status, Trigger.SUBMIT))
        return True

    def accept(self, exchange_order_id: ExchangeOrderId | None, stamp: Stamp) -> bool:
        if self._is_stale(OrderStatus.ACCEPTED):
            return False
        status = next_status(self.status, Trigger.ACCEPT)
        self._emit(self.Accepted, stamp, status=status, exchange_order_id=exchange_order_id)
        return True

    def reject(self, reason: str, stamp: Stamp) -> bool:
        if self.status is OrderStatus.REJECTED:
            return False
        self._emit(self.Rejected, stamp, status=next_status(self.status, Trigger.REJECT), reason=reason)
        return True

    def request_cancel(self, stamp: Stamp) -> bool:
        """Asks for a cancel; an order never sent is cancelled at once. Repeats change nothing."""
        if self.status in (OrderStatus.PENDING_CANCEL, OrderStatus.CANCELLED):
            return False
        status = next_status(self.status, Trigger.REQUEST_CANCEL)
        if status is OrderStatus.CANCELLED:
            self._emit(self.Cancelled, stamp, status=status, reason="cancelled before submission")
        else:
            self._emit(self.CancelRequested, stamp, status=status)
        return True

    def reject_cancel(self, reason: str, stamp: Stamp) -> bool:
        next_status(self.status, Trigger.CANCEL_REJECTED)
        # Only CancelRequested enters PENDING_CANCEL, and it keeps the state it left.
        restored = cast(OrderStatus, self.status_before_cancel)
        self._emit(self.CancelRejected, stamp, status=restored, reason=reason)
        return True

    def confirm_cancelled(self, reason: str, stamp: Stamp) -> bool:
        if self.status is OrderStatus.CANCELLED:
            return False
        self._emit(self.Cancelled, stamp, status=next_status(self.status, Trigger.CANCELLED), reason=reason)
        return True

    def expire(self, stamp: Stamp) -> bool:
        if self.status is OrderStatus.EXPIRED:
            return False
        self._emit(self.Expired, stamp, status=next_status(self.status, Trigger.EXPIRE))
        return True

    def fee_in_quote(
        self, fee: Decimal, fee_currency: str, price: Decimal, fee_quote: Decimal | None = None
    ) -> Decimal:
        """The fee's worth in the quote currency: itself, or valued at the fill price when charged
        in the base currency. A fee in a third currency (BNB on Binance) comes with its worth
        (``fee_quote``), valued by whoever reports it."""
        symbol = self.request.symbol
        if fee_currency in (symbol.base, symbol.quote):
            if fee_quote is not None:
                raise InvalidInput("fee_quote", f"only for a fee in neither {symbol.base} nor {symbol.quote}")
            return fee if fee_currency == symbol.quote else fee * price
        if fee_quote is None:
            raise InvalidInput(
                "fee_quote", f"required for a fee in {fee_currency}: its worth in {symbol.quote}"
            )
        return fee_quote

    def fill(
        self,
        trade_id: TradeId,
        quantity: Decimal,
        price: Decimal,
        fee: Decimal,
        fee_currency: str,
        stamp: Stamp,
        fee_quote: Decimal | None = None,
    ) -> bool:
        """Records a trade. A trade id seen before changes nothing and returns False."""
        if trade_id in self.trade_ids:
            return False
        if not self.sent:  # cancelled before submission: the exchange never had it
            raise IllegalTransition(
                f"order {self.client_order_id}", "never sent to the exchange", "record a fill"
            )
        positive_decimal(quantity, "quantity")
        positive_decimal(price, "price")
        if fee < 0:
            raise InvalidInput("fee", "must be 0 or greater")
        if fee_quote is not None and fee_quote < 0:
            raise InvalidInput("fee_quote", "must be 0 or greater")
        worth = self.fee_in_quote(fee, fee_currency, price, fee_quote)
        if quantity > self.remaining:
            raise Overfill(
                f"order {self.client_order_id}: fill of {quantity} exceeds the remaining {self.remaining}"
            )
        trigger = Trigger.FILL_REST if quantity == self.remaining else Trigger.FILL_PART
        status = next_status(self.status, trigger)
        self._emit(
            self.Filled,
            stamp,
            trade_id=trade_id,
            quantity=quantity,
            price=price,
            fee=fee,
            fee_currency=fee_currency,
            fee_quote=worth,
            status=status,
            late=self.status.is_terminal,
        )
        return True
