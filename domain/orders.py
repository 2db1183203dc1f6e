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
        for name in ("price", "stop_price"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise InvalidInput(name, "must be greater than 0")

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
    )
