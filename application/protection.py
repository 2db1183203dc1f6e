"""The protection process manager: closes positions whose mark price reached their stop loss or
take profit. It places the closing order through the normal command path (risk-checked, recorded
with the actor ``system:protection``) and records on the position that its protection fired, so it
fires once per episode (an episode lasts from opening a position from flat until it is flat again
or flips). The closing order's client order id is derived from the episode, so a worker that stops
between placing the order and recording the firing places nothing twice when it runs again."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol
from uuid import UUID

import structlog

from application import commands as c
from application.bus import CommandBus
from application.errors import IdempotencyMismatch, OrderDenied
from application.ports import ReferencePrices
from application.store import TradingApplication
from domain.bot import Bot
from domain.ids import ClientOrderId, order_id_for
from domain.position import Position

PROTECTION_ACTOR = "system:protection"
log = structlog.get_logger("tbot.protection")


class OpenPositions(Protocol):
    def open_positions(self) -> list[UUID]:
        """The ids of the positions that are not flat (as the read side last saw them)."""
        ...


@dataclass(frozen=True)
class Fired:
    position_id: UUID
    kind: str
    mark: Decimal
    order_id: UUID | None
    denied: list[str]


class ProtectionManager:
    def __init__(
        self, bus: CommandBus, store: TradingApplication, positions: OpenPositions, prices: ReferencePrices
    ) -> None:
        self.bus = bus
        self.store = store
        self.positions = positions
        self.prices = prices

    def check(self) -> list[Fired]:
        """One pass over the open positions; the protections that fired."""
        fired = []
        for position_id in self.positions.open_positions():
            position = self.store.find(Position, position_id, read_only=True)
            if position is None or position.quantity == 0:
                continue
            mark = self.prices.reference_price(position.symbol)
            if mark is None:
                continue
            bot = self.store.load(Bot, position.bot_id, "bot")
            hit = position.triggered(bot.limits, mark)
            if hit is not None:
                fired.append(self._fire(position, hit[0], hit[1], mark))
        return fired

    def _fire(self, position: Position, kind: str, level: Decimal, mark: Decimal) -> Fired:
        symbol = position.symbol
        client_order_id = f"protect-{symbol.base}{symbol.quote}-{position.episode}"
        trace = dict(
            actor=PROTECTION_ACTOR,
            correlation_id=f"protect:{position.id}:{position.episode}",
            causation_id=f"{position.id}:{position.version}",
        )
        order_id: UUID | None = None
        denied: list[str] = []
        try:
            ack = self.bus.dispatch(
                c.PlaceOrder(
                    bot_id=position.bot_id,
                    symbol=str(symbol),
                    side="sell" if position.quantity > 0 else "buy",
                    order_type="market",
                    quantity=abs(position.quantity),
                    client_order_id=client_order_id,
                    **trace,
                )
            )
            order_id = ack.order_id
        except OrderDenied as denial:
            denied = [code.value for code in denial.reason_codes]
        except IdempotencyMismatch:  # placed by an earlier run, before the position last changed
            order_id = order_id_for(position.bot_id, ClientOrderId(client_order_id))
        self.bus.dispatch(
            c.RecordProtectionFired(
                position_id=position.id,
                episode=position.episode,
                kind=kind,
                level=level,
                mark=mark,
                client_order_id=client_order_id,
                order_id=order_id,
                denied=denied,
                **trace,
            )
        )
        log.info(
            "protection fired",
            position_id=str(position.id),
            kind=kind,
            level=str(level),
            mark=str(mark),
            order_id=str(order_id) if order_id else None,
            denied=denied,
        )
        return Fired(position.id, kind, mark, order_id, denied)
