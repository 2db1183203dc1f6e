"""A reading of a signal message made elsewhere (by a language model, say), and ``judge``, which
holds it to the rules the rule-based parser holds its own readings to: the pair resolved against
the markets the same way, numbers read with the same grammar and never from floats, the direction
inferred or checked with the same sides, the targets' fractions within the same bounds. A reader
that is not trusted hands over text; what comes out is a ``ParsedSignal``, a ``SignalCancel`` or
a ``SignalRejection`` exactly as ``parse_signal`` would give them (docs/signals.md, "Free text:
the optional LLM reader")."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, get_args

from domain.signals.checks import fractions_fit, infer_side, named_symbol, wrong_sides
from domain.signals.model import (
    CancelAction,
    EntryKind,
    ParsedSignal,
    RejectionReason,
    SignalCancel,
    SignalRejection,
    SignalResult,
    TakeProfit,
)
from domain.signals.numbers import read_prices
from domain.signals.pairs import scan_pairs
from domain.signals.text import clean
from domain.values import Side, Symbol

R = RejectionReason
CandidateAction = Literal["signal", "cancel", "close", "none"]
"""What the reader says the message is: a signal, a cancel or close of an earlier one, or none
of these (chatter, several signals at once)."""
Number = str | float
"""A number as a reader hands it over. Only text is read, with the rule parser's own grammar
(``numbers.read_prices``: ``60000``, ``0.0345``, ``60,000``, ``60k``); a float (a JSON number) is
BAD_NUMBER, since its digits may already be lost."""
SIDES = {"long": Side.BUY, "buy": Side.BUY, "short": Side.SELL, "sell": Side.SELL}
ENTRY_KINDS = {kind.value: kind for kind in EntryKind}
_FRACTION = re.compile(r"(?P<number>(?:0|[1-9][0-9]*)(?:\.[0-9]+)?|\.[0-9]+)(?P<percent>%?)")
_LEVERAGE_MARK = re.compile(r"^[xX]|[xX]$")


@dataclass(frozen=True)
class CandidateTarget:
    """A target price and the part of the position to close there: ``"0.5"`` or ``"50%"``."""

    price: Number
    fraction: Number | None = None


@dataclass(frozen=True, kw_only=True)
class SignalCandidate:
    """A signal as another reader read it, every value as that reader wrote it: ``symbol`` as
    the message names the pair (``"BTC/USDT"``, ``"BTCUSDT"``, ``"BTC"``); ``side`` ``"long"``
    or ``"short"`` (``"buy"``, ``"sell"``) or None when the message writes none; ``entry_kind``
    ``"market"``, ``"limit"``, ``"zone"`` or None; ``entries`` the entry prices as written;
    ``confidence`` how sure the reader is, from 0 to 1.

    Making one checks only its shape (a ValueError otherwise): the words are among those above
    and the confidence a Decimal from 0 to 1. What the values say is ``judge``'s to check."""

    action: CandidateAction
    confidence: Decimal
    symbol: str | None = None
    side: str | None = None
    entry_kind: str | None = None
    entries: tuple[Number, ...] = ()
    stop_loss: Number | None = None
    take_profits: tuple[CandidateTarget, ...] = ()
    leverage: Number | None = None

    def __post_init__(self) -> None:
        if self.action not in get_args(CandidateAction):
            raise ValueError(f"action: {self.action!r} is none of {', '.join(get_args(CandidateAction))}")
        if self.side is not None and self.side not in SIDES:
            raise ValueError(f"side: {self.side!r} is none of {', '.join(SIDES)}")
        if self.entry_kind is not None and self.entry_kind not in ENTRY_KINDS:
            raise ValueError(f"entry_kind: {self.entry_kind!r} is none of {', '.join(ENTRY_KINDS)}")
        confidence: object = self.confidence
        if not isinstance(confidence, Decimal) or not confidence.is_finite() or not 0 <= confidence <= 1:
            raise ValueError(f"confidence: {confidence!r} is not a Decimal from 0 to 1")


def judge(candidate: SignalCandidate, markets: Collection[Symbol], min_confidence: Decimal) -> SignalResult:
    """``candidate`` held to the rule parser's rules against ``markets``: a ``ParsedSignal`` or
    ``SignalCancel`` only when every rule holds, else a refusal with every reason that applies
    (NOT_A_SIGNAL alone, as the rule parser gives it). A confidence below ``min_confidence`` is
    LOW_CONFIDENCE."""
    if candidate.action == "none":
        return SignalRejection.of([R.NOT_A_SIGNAL])
    reasons: set[RejectionReason] = set()
    if candidate.confidence < min_confidence:
        reasons.add(R.LOW_CONFIDENCE)
    symbol, found = _symbol(candidate.symbol, markets)
    reasons |= found
    if candidate.action != "signal":
        if reasons or symbol is None:
            return SignalRejection.of(reasons)
        return SignalCancel(symbol, CancelAction(candidate.action))
    kind, entries = _entry(candidate, reasons)
    stop = _one_price(candidate.stop_loss, reasons)
    targets = _targets(candidate.take_profits, reasons)
    leverage = _leverage(candidate.leverage, reasons)
    prices = tuple(target.price for target in targets)
    side = SIDES[candidate.side] if candidate.side is not None else infer_side(entries, stop, prices)
    if side is None:
        reasons.add(R.NO_DIRECTION)
    else:
        reasons |= wrong_sides(side, entries, stop, prices)
    if reasons or symbol is None or side is None or kind is None:
        return SignalRejection.of(reasons)
    return ParsedSignal(symbol, side, kind, entries, stop, targets, leverage)


def _symbol(text: str | None, markets: Collection[Symbol]) -> tuple[Symbol | None, set[RejectionReason]]:
    """The market ``text`` names, found as the rule parser finds a pair in a message. A name in
    which no pair can be found is UNKNOWN_SYMBOL (the reader did name one); none is NO_SYMBOL."""
    if text is None or not text.strip():
        return None, {R.NO_SYMBOL}
    scan = scan_pairs(clean(text), markets)
    if not scan.mentions:
        return None, {R.UNKNOWN_SYMBOL}
    return named_symbol(scan.mentions)


def _price(value: Number) -> Decimal | None:
    """One positive price written as text, or None."""
    prices = read_prices(value) if isinstance(value, str) else None
    if prices is None or len(prices) != 1 or prices[0] <= 0:
        return None
    return prices[0]


def _one_price(value: Number | None, reasons: set[RejectionReason]) -> Decimal | None:
    if value is None:
        return None
    price = _price(value)
    if price is None:
        reasons.add(R.BAD_NUMBER)
    return price


def _entry(
    candidate: SignalCandidate, reasons: set[RejectionReason]
) -> tuple[EntryKind | None, tuple[Decimal, ...]]:
    """The entry: at the market with no price; a zone of exactly two prices, low then high; or
    limit prices in the order given (one price needs no kind). An unreadable price is
    BAD_NUMBER; no price where one is needed NO_ENTRY; prices that do not fit the kind (a price
    at the market, a zone of one or three, several prices of no kind) AMBIGUOUS_VALUE."""
    prices = [_price(value) for value in candidate.entries]
    readable = tuple(price for price in prices if price is not None)
    if len(readable) < len(prices):
        reasons.add(R.BAD_NUMBER)
        return None, ()
    kind = ENTRY_KINDS[candidate.entry_kind] if candidate.entry_kind is not None else None
    if kind is EntryKind.MARKET:
        if readable:
            reasons.add(R.AMBIGUOUS_VALUE)
            return None, ()
        return kind, ()
    if not readable:
        reasons.add(R.NO_ENTRY)
        return None, ()
    if kind is EntryKind.ZONE:
        if len(readable) != 2:
            reasons.add(R.AMBIGUOUS_VALUE)
            return None, ()
        return kind, (min(readable), max(readable))
    if kind is None and len(readable) > 1:
        reasons.add(R.AMBIGUOUS_VALUE)
        return None, ()
    return EntryKind.LIMIT, readable


def _targets(written: tuple[CandidateTarget, ...], reasons: set[RejectionReason]) -> tuple[TakeProfit, ...]:
    """The readable targets in the order given; their fractions within the rule parser's bounds
    (each above 0 and at most 1, together at most 1) or BAD_FRACTIONS."""
    targets = []
    for target in written:
        price = _one_price(target.price, reasons)
        fraction = _fraction(target.fraction, reasons)
        if price is not None:
            targets.append(TakeProfit(price, fraction))
    if not fractions_fit(targets):
        reasons.add(R.BAD_FRACTIONS)
    return tuple(targets)


def _fraction(value: Number | None, reasons: set[RejectionReason]) -> Decimal | None:
    """``"0.5"`` or ``"50%"`` as 0.5."""
    if value is None:
        return None
    found = _FRACTION.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        reasons.add(R.BAD_NUMBER)
        return None
    number = Decimal(found.group("number"))
    return number.scaleb(-2) if found.group("percent") else number


def _leverage(value: Number | None, reasons: set[RejectionReason]) -> Decimal | None:
    """``"10"``, ``"10x"`` or ``"x10"``: one positive number."""
    if isinstance(value, str):
        value = _LEVERAGE_MARK.sub("", value, count=1)
    return _one_price(value, reasons)
