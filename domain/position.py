"""The Position aggregate: one per (bot, symbol), netting, average cost."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from domain.aggregate import TradingAggregate
from domain.ids import BotId, OrderId, PositionId, TradeId
from domain.position_math import PositionState, apply_fill
from domain.values import Stamp, Symbol


class Position(TradingAggregate):
    class Opened(TradingAggregate.Created):
        bot_id: BotId
        symbol: Symbol

        def apply(self, aggregate: Any) -> None:
            position = cast(Position, aggregate)
            position.bot_id = self.bot_id
            position.symbol = self.symbol
            position.quantity = Decimal(0)
            position.average_price = Decimal(0)
            position.realized_pnl = Decimal(0)
            position.fees_paid = Decimal(0)

    class FillApplied(TradingAggregate.Event):
        """A fill and the position after it (quantity, average price, realized PnL)."""

        order_id: OrderId
        trade_id: TradeId
        signed_quantity: Decimal
        price: Decimal
        fee_quote: Decimal
        quantity: Decimal
        average_price: Decimal
        realized_pnl: Decimal
        realized_delta: Decimal

        def apply(self, aggregate: Any) -> None:
            position = cast(Position, aggregate)
            position.quantity = self.quantity
            position.average_price = self.average_price
            position.realized_pnl = self.realized_pnl
            position.fees_paid += self.fee_quote

    if TYPE_CHECKING:  # state set by the events above; not dataclass fields of the aggregate
        bot_id: BotId
        symbol: Symbol
        quantity: Decimal
        average_price: Decimal
        realized_pnl: Decimal
        fees_paid: Decimal

    @classmethod
    def open(cls, position_id: PositionId, bot_id: BotId, symbol: Symbol, stamp: Stamp) -> Position:
        return cls._create(
            cls.Opened,
            id=position_id,
            timestamp=stamp.at,
            meta=stamp.meta,
            bot_id=bot_id,
            symbol=symbol,
        )

    @property
    def state(self) -> PositionState:
        return PositionState(self.quantity, self.average_price, self.realized_pnl)

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        return self.state.unrealized_pnl(mark)

    def apply_fill(
        self,
        order_id: OrderId,
        trade_id: TradeId,
        signed_quantity: Decimal,
        price: Decimal,
        fee_quote: Decimal,
        stamp: Stamp,
    ) -> Decimal:
        """Applies a fill and returns the realized PnL it caused (fees included)."""
        after = apply_fill(self.state, signed_quantity, price, fee_quote)
        delta = after.realized_pnl - self.realized_pnl
        self._emit(
            self.FillApplied,
            stamp,
            order_id=order_id,
            trade_id=trade_id,
            signed_quantity=signed_quantity,
            price=price,
            fee_quote=fee_quote,
            quantity=after.quantity,
            average_price=after.average_price,
            realized_pnl=after.realized_pnl,
            realized_delta=delta,
        )
        return delta
