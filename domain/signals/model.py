"""What reading a signal message gives: a signal, a cancel/close of an earlier one, or a refusal
with every reason that applies. Plain values; prices are Decimals as written."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from domain.values import Side, Symbol


class EntryKind(Enum):
    """How the signal enters: at the market, at one or more limit prices, or within a zone."""

    MARKET = "market"
    LIMIT = "limit"
    ZONE = "zone"


@dataclass(frozen=True)
class TakeProfit:
    """A target price, with the part of the position to close there when the message says so
    (``TP1: 62000 (50%)`` is a fraction of 0.5)."""

    price: Decimal
    fraction: Decimal | None = None


@dataclass(frozen=True)
class ParsedSignal:
    """A signal as written. ``entries`` is empty at the market, one or more limit prices in the
    order given, or a zone's two ends, low then high. Every stop loss and target is on its side
    of every entry (``parse_signal`` refuses a message where one is not)."""

    symbol: Symbol
    side: Side
    entry_kind: EntryKind
    entries: tuple[Decimal, ...]
    stop_loss: Decimal | None
    take_profits: tuple[TakeProfit, ...]
    leverage: Decimal | None


class CancelAction(Enum):
    """``cancel``: withdraw a signal not yet entered; ``close``: leave a position it opened."""

    CANCEL = "cancel"
    CLOSE = "close"


@dataclass(frozen=True)
class SignalCancel:
    """A message calling off the signal on ``symbol`` ("cancel BTC/USDT", "close ETH long")."""

    symbol: Symbol
    action: CancelAction


class RejectionReason(Enum):
    """Why a message was not read as a signal; docs/signals.md gives an example of each."""

    NOT_A_SIGNAL = "NOT_A_SIGNAL"
    MULTIPLE_SIGNALS = "MULTIPLE_SIGNALS"
    NO_SYMBOL = "NO_SYMBOL"
    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    AMBIGUOUS_SYMBOL = "AMBIGUOUS_SYMBOL"
    NO_DIRECTION = "NO_DIRECTION"
    CONFLICTING_DIRECTIONS = "CONFLICTING_DIRECTIONS"
    CONFLICTING_ACTIONS = "CONFLICTING_ACTIONS"
    NO_ENTRY = "NO_ENTRY"
    BAD_NUMBER = "BAD_NUMBER"
    AMBIGUOUS_VALUE = "AMBIGUOUS_VALUE"
    BAD_FRACTIONS = "BAD_FRACTIONS"
    STOP_LOSS_WRONG_SIDE = "STOP_LOSS_WRONG_SIDE"
    TAKE_PROFIT_WRONG_SIDE = "TAKE_PROFIT_WRONG_SIDE"
    LOW_CONFIDENCE = "LOW_CONFIDENCE"
    PARSER_UNAVAILABLE = "PARSER_UNAVAILABLE"
    PARSER_INVALID_ANSWER = "PARSER_INVALID_ANSWER"

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self]


_EXPLANATIONS = {
    RejectionReason.NOT_A_SIGNAL: "no direction, no entry, stop loss or target: chatter",
    RejectionReason.MULTIPLE_SIGNALS: "more than one pair with its own direction or entry",
    RejectionReason.NO_SYMBOL: "no pair named",
    RejectionReason.UNKNOWN_SYMBOL: "the pair is not among the known markets",
    RejectionReason.AMBIGUOUS_SYMBOL: "the pair could be more than one known market",
    RejectionReason.NO_DIRECTION: "no long or short, and the prices do not tell",
    RejectionReason.CONFLICTING_DIRECTIONS: "both long and short",
    RejectionReason.CONFLICTING_ACTIONS: "both cancel and close",
    RejectionReason.NO_ENTRY: "a direction without an entry price or a market word",
    RejectionReason.BAD_NUMBER: "a price or leverage that cannot be read as one positive number",
    RejectionReason.AMBIGUOUS_VALUE: "several values where one is expected (stop loss, leverage)",
    RejectionReason.BAD_FRACTIONS: "target percentages of 0, above 100% or adding up to more than 100%",
    RejectionReason.STOP_LOSS_WRONG_SIDE: "the stop loss is not beyond every entry on the losing side",
    RejectionReason.TAKE_PROFIT_WRONG_SIDE: "a target is not beyond every entry on the winning side",
    RejectionReason.LOW_CONFIDENCE: "the LLM reader was less sure of its reading than the threshold",
    RejectionReason.PARSER_UNAVAILABLE: "the LLM reader could not be reached in time",
    RejectionReason.PARSER_INVALID_ANSWER: "the LLM reader refused or answered outside its schema",
}


@dataclass(frozen=True)
class SignalRejection:
    """A refused message: its reasons, each once, in the order ``RejectionReason`` declares them."""

    reasons: tuple[RejectionReason, ...]

    def __post_init__(self) -> None:
        if not self.reasons:
            raise ValueError("a rejection needs at least one reason")

    @classmethod
    def of(cls, reasons: Iterable[RejectionReason]) -> SignalRejection:
        order = list(RejectionReason)
        return cls(tuple(sorted(set(reasons), key=order.index)))


SignalResult = ParsedSignal | SignalCancel | SignalRejection
