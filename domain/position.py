"""The Position aggregate: one per (bot, symbol), netting, average cost, and the state of its stop
loss and take profit (levels, and the attempts to close it once the mark reached one)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from domain.aggregate import TradingAggregate
from domain.ids import BotId, OrderId, PositionId, TradeId
from domain.position_math import PositionState, apply_fill
from domain.risk import ReasonCode, RiskLimits
from domain.values import Stamp, Symbol

FIRST_RETRY = timedelta(seconds=1)
LONGEST_RETRY = timedelta(seconds=60)
FINAL_DENIALS = frozenset({ReasonCode.INVALID_QUANTITY.value, ReasonCode.BELOW_MIN_NOTIONAL.value})
"""Denials of a closing order that nothing but a change of the position's quantity can lift: the
quantity is below the market's minimum or off its step, or worth less than its minimum notional."""


def retry_at(attempt: int, denied: Collection[str], now: datetime) -> datetime | None:
    """When a closing order denied for the ``attempt``-th time is asked for again: 1 s after the
    first denial, doubling up to 60 s; None when the denial is final (see ``FINAL_DENIALS``)."""
    if FINAL_DENIALS.intersection(denied):
        return None
    return now + min(FIRST_RETRY * (1 << min(attempt - 1, 16)), LONGEST_RETRY)


class Position(TradingAggregate):
    class Opened(TradingAggregate.Created):
        bot_id: BotId
        symbol: Symbol

        def apply(self, aggregate: Any) -> None:
            cast(Position, aggregate)._begin(self)

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
            if self.quantity * position.quantity <= 0:  # closed, opened or flipped: a new episode
                position.stop_loss = position.take_profit = None
                position.attempts, position.retry_at = 0, None
                position.target_prices, position.target_fractions = [], []
                position.targets_done, position.ladder_base, position.ladder_closed = (
                    0,
                    Decimal(0),
                    Decimal(0),
                )
                if self.quantity != 0:
                    position.episode += 1
            position.denied_for_good = False  # a new quantity may be closable
            position.quantity = self.quantity
            position.average_price = self.average_price
            position.realized_pnl = self.realized_pnl
            position.fees_paid += self.fee_quote

    class ProtectionSet(TradingAggregate.Event):
        """Prices at which the open position is closed (by the protection worker). A ladder of
        targets (a signal's TP1..TPn: ``target_prices``, and the share of the position each closes
        in ``target_fractions``, null for an even share) closes it in parts, the stop loss then
        closing what is left; without one, ``take_profit`` closes it all."""

        class_version = 2
        stop_loss: Decimal | None
        take_profit: Decimal | None
        target_prices: list[Decimal]
        target_fractions: list[Decimal | None]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["target_prices"], state["target_fractions"] = [], []

        def apply(self, aggregate: Any) -> None:
            position = cast(Position, aggregate)
            position.stop_loss, position.take_profit = self.stop_loss, self.take_profit
            position.target_prices = list(self.target_prices)
            position.target_fractions = list(self.target_fractions)
            if position.targets_done == 0:  # the shares are of the position until a target closes part
                position.ladder_base = abs(position.quantity)

    class ProtectionFired(TradingAggregate.Event):
        """The mark reached a protection level and a closing order was asked for: ``order_id`` if
        it was placed (once per episode), else ``denied`` with the risk reason codes and
        ``retry_at``, when it is asked for again (None: not before a fill changes the quantity).
        ``attempt`` counts the asks in the episode."""

        class_version = 3
        episode: int
        attempt: int
        kind: str  # "stop_loss" or "take_profit"
        level: Decimal
        mark: Decimal
        client_order_id: str
        order_id: OrderId | None
        denied: list[str]
        retry_at: datetime | None
        target: int | None  # the ladder's target (from 0) this closes a part for; None: everything
        quantity: Decimal | None  # the closing order's quantity (None before version 3)

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 asked once per episode and never again after a denial; such a denial now
            reads as a first attempt, due again a second after it."""
            state["attempt"] = 1
            denied = state["denied"]
            state["retry_at"] = retry_at(1, denied, state["timestamp"]) if denied else None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Before ladders every closing order closed the whole position."""
            state["target"], state["quantity"] = None, None

        def apply(self, aggregate: Any) -> None:
            position = cast(Position, aggregate)
            position.attempts = self.attempt
            placed = self.order_id is not None
            if placed and self.target is not None and self.quantity is not None:
                position.ladder_closed += self.quantity
            if placed and self.target is not None and not position.last_target(self.target):
                position.targets_done = self.target + 1  # the next target's closing order is due next
                position.attempts, position.retry_at = 0, None
            elif placed:
                position.fired_episode = self.episode
            else:
                position.retry_at = self.retry_at
                position.denied_for_good = self.retry_at is None

    def _begin(self, opened: Position.Opened) -> None:
        """The position's state, as it is opened; the events above change it."""
        self.bot_id: BotId = opened.bot_id
        self.symbol: Symbol = opened.symbol
        self.quantity: Decimal = Decimal(0)
        self.average_price: Decimal = Decimal(0)
        self.realized_pnl: Decimal = Decimal(0)
        self.fees_paid: Decimal = Decimal(0)

    # State with a default for positions whose snapshot predates protection or its retries: class
    # attributes, typed here once (annotated in the class body they would become dataclass fields).
    if TYPE_CHECKING:
        episode: int  # counts the times the position opened from flat (or flipped)
        stop_loss: Decimal | None
        take_profit: Decimal | None
        fired_episode: int  # the last episode whose closing order was placed
        attempts: int  # closing orders asked for in this episode
        retry_at: datetime | None  # not before then after a denial
        denied_for_good: bool  # a final denial, until a fill changes the quantity
        target_prices: list[Decimal]  # a ladder of targets, closing the position in parts
        target_fractions: list[Decimal | None]
        targets_done: int  # the ladder's targets whose closing order was placed this episode
        ladder_base: Decimal  # the quantity the ladder's shares are of
        ladder_closed: Decimal  # what the targets' closing orders placed so far take
    episode = 0
    stop_loss = None
    take_profit = None
    fired_episode = 0
    attempts = 0
    retry_at = None
    denied_for_good = False
    target_prices = []  # never changed in place: events set new lists
    target_fractions = []
    targets_done = 0
    ladder_base = Decimal(0)
    ladder_closed = Decimal(0)

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

    def protect(
        self,
        stop_loss: Decimal | None,
        take_profit: Decimal | None,
        stamp: Stamp,
        targets: Sequence[tuple[Decimal, Decimal | None]] = (),
    ) -> bool:
        """Sets the open position's protection levels (with ``targets``, a ladder closing it in
        parts); False if there is nothing to change. While no target of a ladder has closed
        anything, setting it again (an entry filled more) makes its shares of the whole position."""
        prices = [price for price, _ in targets]
        fractions = [fraction for _, fraction in targets]
        unchanged = (stop_loss, take_profit, prices, fractions) == (
            self.stop_loss,
            self.take_profit,
            self.target_prices,
            self.target_fractions,
        )
        grown = bool(prices) and self.targets_done == 0 and abs(self.quantity) != self.ladder_base
        if self.quantity == 0 or (unchanged and not grown):
            return False
        self._emit(
            self.ProtectionSet,
            stamp,
            stop_loss=stop_loss,
            take_profit=take_profit,
            target_prices=prices,
            target_fractions=fractions,
        )
        return True

    def last_target(self, target: int) -> bool:
        return target >= len(self.target_prices) - 1

    def closing_quantity(self, target: int | None) -> Decimal:
        """What the closing order takes: everything for a stop loss or a lone take profit (``target``
        None); for a ladder's target its share of the position as the ladder found it (the share
        the message gave it, else an even part of what the given shares leave), the last target
        what the others did not take of it; never more than is held."""
        held = abs(self.quantity)
        if target is None:
            return held
        fractions = self.target_fractions
        unsaid = fractions.count(None)
        rest = (Decimal(1) - sum((f for f in fractions if f is not None), Decimal(0))) / (unsaid or 1)
        shares = [rest if f is None else f for f in fractions]
        if self.last_target(target):
            return min(held, self.ladder_base - self.ladder_closed)
        return min(held, self.ladder_base * shares[target])

    def levels(self, limits: RiskLimits) -> tuple[Decimal | None, Decimal | None]:
        """The stop loss and take profit in force: those set on the position (with a ladder, its
        next target), else the bot's fractions of the average entry price."""
        sign = 1 if self.quantity > 0 else -1
        stop_loss, take_profit = self.stop_loss, self.take_profit
        if self.target_prices:
            take_profit = self.target_prices[min(self.targets_done, len(self.target_prices) - 1)]
        if stop_loss is None and limits.stop_loss_fraction is not None:
            stop_loss = self.average_price * (1 - sign * limits.stop_loss_fraction)
        if take_profit is None and limits.take_profit_fraction is not None:
            take_profit = self.average_price * (1 + sign * limits.take_profit_fraction)
        return stop_loss, take_profit

    def triggered(self, limits: RiskLimits, mark: Decimal, now: datetime) -> tuple[str, Decimal] | None:
        """The protection the mark has reached, if any has, its closing order was not placed yet
        this episode, and a denied one is due again. With a ladder, the take profit is its next
        target (``next_target``)."""
        if self.quantity == 0 or self.fired_episode == self.episode or self.denied_for_good:
            return None
        if self.retry_at is not None and now < self.retry_at:
            return None
        sign = 1 if self.quantity > 0 else -1
        stop_loss, take_profit = self.levels(limits)
        if stop_loss is not None and (mark - stop_loss) * sign <= 0:
            return "stop_loss", stop_loss
        if take_profit is not None and (mark - take_profit) * sign >= 0:
            return "take_profit", take_profit
        return None

    @property
    def next_attempt(self) -> int:
        return self.attempts + 1

    def target_for(self, kind: str) -> int | None:
        """The ladder's target a take profit reached now closes a part for; None: everything."""
        return self.targets_done if kind == "take_profit" and self.target_prices else None

    def fire(
        self,
        attempt: int,
        kind: str,
        level: Decimal,
        mark: Decimal,
        client_order_id: str,
        order_id: OrderId | None,
        denied: list[str],
        stamp: Stamp,
        target: int | None = None,
        quantity: Decimal | None = None,
    ) -> bool:
        """Records this attempt to close the position (or, with ``target``, a ladder target's part
        of it): placed, or denied and when to try again. False if the episode's closing order was
        placed already, the attempt was recorded, or that target's part was placed already."""
        if self.fired_episode == self.episode or attempt != self.next_attempt:
            return False
        if target is not None and target != self.targets_done:
            return False
        self._emit(
            self.ProtectionFired,
            stamp,
            episode=self.episode,
            attempt=attempt,
            kind=kind,
            level=level,
            mark=mark,
            client_order_id=client_order_id,
            order_id=order_id,
            denied=denied,
            retry_at=None if order_id is not None else retry_at(attempt, denied, stamp.at),
            target=target,
            quantity=quantity,
        )
        return True

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
