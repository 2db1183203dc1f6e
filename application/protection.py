"""The protection process manager: closes positions whose mark price reached their stop loss or
take profit. It places the closing order through the normal command path (risk-checked, recorded
with the actor ``system:protection``) and records each attempt on the position
(``Position.ProtectionFired``). An episode lasts from opening a position from flat until it is flat
again or flips; its closing order is placed at most once.

A closing order the risk rules deny is asked for again on a later check, as long as the mark is
still at or past a level: 1 s after the first denial, then 2 s, 4 s, … at most 60 s apart, each
denial recorded (on the bot as ``Bot.OrderDenied``, on the position with its reason codes and when
the next attempt is due), until the order is placed, the position is flat, or a new episode starts.
Almost every denial can lift without the position changing: the bot resumes (``BOT_NOT_RUNNING``),
its order rate falls (``ORDER_RATE``), open orders end (``MAX_OPEN_ORDERS``, and the open orders
that keep an order from counting as reducing), a price or market arrives (``NO_REFERENCE_PRICE``,
``MARKET_UNKNOWN``), its limits change (``MAX_ORDER_NOTIONAL``). Two cannot: ``INVALID_QUANTITY``
and ``BELOW_MIN_NOTIONAL`` say the position itself is too small to close in one order (dust), and
retrying it forever would only fill the event store; those denials are final until a fill changes
the position's quantity.

Each attempt has its own client order id, derived from the episode and the attempt
(``protect-<BASEQUOTE>-<episode>`` for the first, ``protect-<BASEQUOTE>-<episode>-<attempt>`` after
it), because the bot answers a repeated client order id with its first denial. A worker that stops
between placing an order (or having it denied) and recording the attempt asks with the same id
when it runs again, so it finds that order (or that denial) instead of placing a second one."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol
from uuid import UUID

import structlog

from application import commands as c
from application.bus import CommandBus
from application.errors import IdempotencyMismatch, OrderDenied
from application.ports import Clock, MarketRules, ReferencePrices
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
    attempt: int
    kind: str
    mark: Decimal
    order_id: UUID | None
    denied: list[str]


class ProtectionManager:
    def __init__(
        self,
        bus: CommandBus,
        store: TradingApplication,
        positions: OpenPositions,
        prices: ReferencePrices,
        clock: Clock,
        markets: MarketRules,
    ) -> None:
        self.bus = bus
        self.store = store
        self.positions = positions
        self.prices = prices
        self.clock = clock
        self.markets = markets  # a ladder target's part is rounded down to the market's step

    def check(self) -> list[Fired]:
        """One pass over the open positions; the closing orders asked for (placed or denied)."""
        fired = []
        for position_id in self.positions.open_positions():
            position = self.store.find(Position, position_id, read_only=True)
            if position is None or position.quantity == 0:
                continue
            mark = self.prices.reference_price(position.symbol)
            if mark is None:
                continue
            bot = self.store.load(Bot, position.bot_id, "bot")
            hit = position.triggered(bot.limits, mark, self.clock.now())
            if hit is not None:
                fired.append(self._fire(position, bot, hit[0], hit[1], mark))
        return fired

    def _fire(self, position: Position, bot: Bot, kind: str, level: Decimal, mark: Decimal) -> Fired:
        symbol = position.symbol
        attempt = position.next_attempt
        target = position.target_for(kind)
        quantity = position.closing_quantity(target)
        spec = self.markets.market(bot.exchange_account, symbol)
        if spec is not None:
            quantity = spec.round_down(quantity)
            if quantity <= 0:  # a target's part too small to trade: that target closes the rest
                quantity = spec.round_down(abs(position.quantity))
        client_order_id = f"protect-{symbol.base}{symbol.quote}-{position.episode}"
        if target is not None:
            client_order_id += f"-tp{target + 1}"
        if attempt > 1:
            client_order_id += f"-{attempt}"
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
                    quantity=quantity,
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
                attempt=attempt,
                kind=kind,
                level=level,
                mark=mark,
                client_order_id=client_order_id,
                order_id=order_id,
                denied=denied,
                target=target,
                quantity=quantity,
                **trace,
            )
        )
        log.info(
            "protection fired",
            position_id=str(position.id),
            attempt=attempt,
            kind=kind,
            level=str(level),
            mark=str(mark),
            order_id=str(order_id) if order_id else None,
            denied=denied,
        )
        return Fired(position.id, attempt, kind, mark, order_id, denied)
