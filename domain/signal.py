"""The Signal aggregate: one trading-signal message sent to a bot, and what became of it. Its id is
derived from the bot, the source and the message id, so the same message twice is one signal.

``Received`` records the text as it came; ``Parsed`` the plan read from it (or ``Rejected`` with
the reason codes); ``Executed`` the entry orders placed for it and those the risk rules denied.
Parsing, deciding and placing happen in one transaction, so a signal is never left half-done."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID, uuid5

from domain.aggregate import TradingAggregate
from domain.errors import InvalidInput
from domain.ids import BotId, OrderId
from domain.signals.model import ParsedSignal
from domain.values import Side, Stamp, Symbol

MAX_SIGNAL_TEXT = 4096
"""The longest message read as a signal (Telegram's own limit for a message's text)."""
MAX_SOURCE = 64


def signal_id_for(bot_id: BotId, source: str, message_id: str) -> UUID:
    """One signal per (bot, source, message id): the id is derived, never drawn."""
    return uuid5(bot_id, f"signal:{source}:{message_id}")


def check_signal_text(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("text", "must be the message's text, not empty")
    if len(text) > MAX_SIGNAL_TEXT:
        raise InvalidInput("text", f"must be at most {MAX_SIGNAL_TEXT} characters")
    return text


class Signal(TradingAggregate):
    class Received(TradingAggregate.Created):
        bot_id: BotId
        source: str
        message_id: str
        text: str

        def apply(self, aggregate: Any) -> None:
            signal = cast(Signal, aggregate)
            signal.bot_id, signal.source, signal.message_id = self.bot_id, self.source, self.message_id
            signal.text, signal.revision, signal.called_off = self.text, 0, False
            signal.reader = "rules"
            signal.status, signal.reasons = "received", []
            signal.orders, signal.denied, signal.cancelled = [], [], []
            signal.take_profits = []

    class Parsed(TradingAggregate.Event):
        """The plan read from the text: ``entries`` empty at the market; ``take_profit_fractions``
        the part of the position each target closes where the message said (else None);
        ``leverage_ignored`` when the message asked for leverage and the bot trades unlevered."""

        symbol: Symbol
        side: Side
        entry_kind: str
        entries: list[Decimal]
        stop_loss: Decimal | None
        take_profits: list[Decimal]
        take_profit_fractions: list[Decimal | None]
        leverage: Decimal | None
        leverage_ignored: bool
        reader: str  # "rules", or "llm" when the optional LLM reader read the text

        def apply(self, aggregate: Any) -> None:
            signal = cast(Signal, aggregate)
            signal.status, signal.reader = "parsed", self.reader
            signal.take_profits = list(zip(self.take_profits, self.take_profit_fractions, strict=True))

    class Rejected(TradingAggregate.Event):
        """Not traded: the reason codes (docs/signals.md lists them), and which reader gave them."""

        reasons: list[str]
        reader: str

        def apply(self, aggregate: Any) -> None:
            signal = cast(Signal, aggregate)
            signal.status, signal.reasons, signal.reader = "rejected", list(self.reasons), self.reader

    class Edited(TradingAggregate.Event):
        """The message was edited at its source (same id, new ``text``). ``applied``: its earlier
        plan was called off and the new text read in its place (what follows says how); not
        applied (``reason`` ``FILLED``: an entry had filled already; ``CALLED_OFF``: it was a
        cancel or close), the edit is only recorded."""

        text: str
        applied: bool
        reason: str | None

        def apply(self, aggregate: Any) -> None:
            signal = cast(Signal, aggregate)
            signal.text, signal.revision = self.text, signal.revision + 1

    class CalledOff(TradingAggregate.Event):
        """A message calling off the bot's signals on ``symbol``: ``cancel`` their open entry
        orders, or ``close`` (those cancelled, and the position closed at the market)."""

        action: str
        symbol: Symbol

        def apply(self, aggregate: Any) -> None:
            signal = cast(Signal, aggregate)
            signal.status, signal.called_off = "called_off", True

    class Executed(TradingAggregate.Event):
        """The orders placed for the signal (its entries, or a close), those the bot's risk rules
        denied (client order id and reason codes each), and the orders a cancel or close asked
        to cancel."""

        orders: list[OrderId]
        denied: list[dict[str, Any]]
        cancelled: list[OrderId]

        def apply(self, aggregate: Any) -> None:
            signal = cast(Signal, aggregate)
            signal.status, signal.orders = "executed", list(self.orders)
            signal.denied = [dict(d) for d in self.denied]
            signal.cancelled = list(self.cancelled)

    # The state the events above set, typed here once (annotated in the class body they would
    # become dataclass fields).
    if TYPE_CHECKING:
        bot_id: BotId
        source: str
        message_id: str
        text: str  # the latest text received (an edit's, when edited)
        revision: int  # the edits received
        called_off: bool  # it was a cancel or close message
        reader: str  # which reader read its latest text: rules or llm
        status: str  # received, parsed, rejected, called_off or executed
        reasons: list[str]
        orders: list[OrderId]
        denied: list[dict[str, Any]]
        cancelled: list[OrderId]
        take_profits: list[tuple[Decimal, Decimal | None]]  # the plan's targets and their shares

    @classmethod
    def receive(cls, bot_id: BotId, source: str, message_id: str, text: str, stamp: Stamp) -> Signal:
        return cls._create(
            cls.Received,
            id=signal_id_for(bot_id, source, message_id),
            timestamp=stamp.at,
            meta=stamp.meta,
            bot_id=bot_id,
            source=source,
            message_id=message_id,
            text=check_signal_text(text),
        )

    def parsed(self, plan: ParsedSignal, leverage_ignored: bool, reader: str, stamp: Stamp) -> None:
        self._emit(
            self.Parsed,
            stamp,
            symbol=plan.symbol,
            side=plan.side,
            entry_kind=plan.entry_kind.value,
            entries=list(plan.entries),
            stop_loss=plan.stop_loss,
            take_profits=[target.price for target in plan.take_profits],
            take_profit_fractions=[target.fraction for target in plan.take_profits],
            leverage=plan.leverage,
            leverage_ignored=leverage_ignored,
            reader=reader,
        )

    def reject(self, reasons: list[str], reader: str, stamp: Stamp) -> None:
        self._emit(self.Rejected, stamp, reasons=list(reasons), reader=reader)

    def edit(self, text: str, applied: bool, reason: str | None, stamp: Stamp) -> None:
        self._emit(self.Edited, stamp, text=check_signal_text(text), applied=applied, reason=reason)

    def call_off(self, action: str, symbol: Symbol, stamp: Stamp) -> None:
        self._emit(self.CalledOff, stamp, action=action, symbol=symbol)

    def executed(
        self, orders: list[OrderId], denied: list[dict[str, Any]], cancelled: list[OrderId], stamp: Stamp
    ) -> None:
        self._emit(
            self.Executed,
            stamp,
            orders=list(orders),
            denied=[dict(d) for d in denied],
            cancelled=list(cancelled),
        )
