"""What a client asks for when it places an order."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain import ids
from domain.errors import InvalidInput
from domain.ids import ClientOrderId
from domain.values import OrderType, Side, Symbol, TimeInForce, enum_field, positive_decimal


@dataclass(frozen=True)
class OrderRequest:
    """An order as requested, checked for shape (not for risk) on construction."""

    client_order_id: ClientOrderId
    symbol: Symbol
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    time_in_force: TimeInForce
    # Protection of the position this order opens or adds to: close it at the mark reaching these.
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise InvalidInput("quantity", "must be greater than 0")
        if self.order_type.needs_price and self.price is None:
            raise InvalidInput("price", f"is required for {self.order_type.value} orders")
        if not self.order_type.needs_price and self.price is not None:
            raise InvalidInput("price", f"must be empty for {self.order_type.value} orders")
        if self.order_type.needs_stop_price and self.stop_price is None:
            raise InvalidInput("stop_price", f"is required for {self.order_type.value} orders")
        if not self.order_type.needs_stop_price and self.stop_price is not None:
            raise InvalidInput("stop_price", f"must be empty for {self.order_type.value} orders")
        for name in ("price", "stop_price", "stop_loss", "take_profit"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise InvalidInput(name, "must be greater than 0")
        self._check_protection()

    def _check_protection(self) -> None:
        """A buy's stop loss lies below its take profit and its price, its take profit above its
        price; a sell's the other way round."""
        sign, side = self.side.sign, self.side.value
        below, above = ("below", "above") if sign > 0 else ("above", "below")
        stop_loss, take_profit = self.stop_loss, self.take_profit
        if stop_loss is not None and take_profit is not None and (take_profit - stop_loss) * sign <= 0:
            raise InvalidInput("stop_loss", f"must be {below} take_profit for a {side} order")
        entry = self.price or self.stop_price
        if entry is None:
            return
        if stop_loss is not None and (entry - stop_loss) * sign <= 0:
            raise InvalidInput("stop_loss", f"must be {below} the order's price for a {side} order")
        if take_profit is not None and (take_profit - entry) * sign <= 0:
            raise InvalidInput("take_profit", f"must be {above} the order's price for a {side} order")

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity * self.side.sign

    def valuation_price(self, reference: Decimal | None) -> Decimal | None:
        """The price the order's notional is valued at: its own price where it has one."""
        if self.price is not None:
            return self.price
        if self.stop_price is not None:
            return self.stop_price
        return reference


def parse_order_request(
    *,
    client_order_id: str,
    symbol: str,
    side: str | Side,
    order_type: str | OrderType,
    quantity: object,
    price: object | None = None,
    stop_price: object | None = None,
    time_in_force: str | TimeInForce = TimeInForce.GTC,
    stop_loss: object | None = None,
    take_profit: object | None = None,
) -> OrderRequest:
    """Builds an OrderRequest from raw input; every error names its field and rule."""
    return OrderRequest(
        client_order_id=ids.client_order_id(client_order_id),
        symbol=Symbol.parse(symbol),
        side=enum_field(Side, side, "side"),
        order_type=enum_field(OrderType, order_type, "order_type"),
        quantity=positive_decimal(quantity, "quantity"),
        price=None if price is None else positive_decimal(price, "price"),
        stop_price=None if stop_price is None else positive_decimal(stop_price, "stop_price"),
        time_in_force=enum_field(TimeInForce, time_in_force, "time_in_force"),
        stop_loss=None if stop_loss is None else positive_decimal(stop_loss, "stop_loss"),
        take_profit=None if take_profit is None else positive_decimal(take_profit, "take_profit"),
    )
