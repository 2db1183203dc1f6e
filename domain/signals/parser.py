"""``parse_signal``: a trading-signal message, as posted in Telegram channels, read into a
signal, a cancel/close, or a refusal with every reason that applies. Deterministic, and it never
guesses: what it cannot read for certain it refuses (docs/signals.md, "Reading signals").

The steps, each in its own module: ``text.clean`` (one alphabet, emoji out), ``pairs.scan_pairs``
(which market), ``tokens.tokenize`` (labels, numbers, words), ``fields.read_fields`` (entry,
stop loss, targets, leverage); here the message as a whole: chatter, several signals, cancels,
the direction and the sides of the prices (the rules of ``checks``, which a reading from
elsewhere passes too: ``candidate.judge``)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection

from domain.signals.checks import infer_side, named_symbol, wrong_sides
from domain.signals.fields import Reading, read_fields, written_sides
from domain.signals.model import (
    CancelAction,
    ParsedSignal,
    RejectionReason,
    SignalCancel,
    SignalRejection,
    SignalResult,
)
from domain.signals.pairs import Mention, scan_pairs
from domain.signals.text import clean
from domain.signals.tokens import Field, Kind, Token, tokenize
from domain.values import Side, Symbol

R = RejectionReason
_SIGNAL_KINDS = (Kind.DIRECTION, Kind.MARK)
_ACTIONS = {Kind.CANCEL: CancelAction.CANCEL, Kind.CLOSE: CancelAction.CLOSE}


def parse_signal(text: str, markets: Collection[Symbol]) -> SignalResult:
    """Read ``text`` against ``markets`` (those the account can trade: they tell a known pair
    from an unknown one and imply the quote of a base written alone). A message with no
    direction word, no entry, stop loss or target label and no cancel or close word is
    NOT_A_SIGNAL, whatever else it names (a pair, an emoji)."""
    scan = scan_pairs(clean(text), markets)
    lines = tokenize(scan.text)
    tokens = [token for line in lines for token in line]
    reading = read_fields(lines)
    sides = written_sides(lines)
    actions = [token for token in tokens if token.kind in _ACTIONS]
    if not any(token.kind is Kind.DIRECTION for token in tokens) and not reading.labelled and not actions:
        return SignalRejection.of([R.NOT_A_SIGNAL])
    if _several_signals(scan.everything, tokens, scan.text):
        return SignalRejection.of([R.MULTIPLE_SIGNALS])
    symbol, symbol_reasons = named_symbol(scan.mentions)
    if _calls_off(reading, actions):
        return _cancel(symbol, symbol_reasons, actions)
    return _signal(symbol, symbol_reasons, reading, sides)


def _calls_off(reading: Reading, actions: list[Token]) -> bool:
    """Whether the message cancels or closes rather than signals: a cancel or close word, no
    entry, stop loss or target label, and no price after a direction word before the action
    ("Close ETH long at 3500" and "ETH long closed at 3500" close; "BTC LONG 60000, close below
    58000" is a signal)."""
    if not actions or reading.labelled:
        return False
    first_price = reading.first_implicit_price
    return first_price is None or actions[0].start < first_price


def _cancel(symbol: Symbol | None, reasons: set[RejectionReason], actions: list[Token]) -> SignalResult:
    kinds = {_ACTIONS[token.kind] for token in actions}
    if len(kinds) > 1:
        reasons.add(R.CONFLICTING_ACTIONS)
    if reasons or symbol is None:
        return SignalRejection.of(reasons)
    return SignalCancel(symbol, kinds.pop())


def _signal(
    symbol: Symbol | None, reasons: set[RejectionReason], reading: Reading, written: frozenset[Side]
) -> SignalResult:
    reasons |= reading.problems
    entry = reading.entry
    if entry is None and not reading.entry_written:
        reasons.add(R.NO_ENTRY)
    entries = entry.prices if entry is not None else ()
    targets = tuple(target.price for target in reading.take_profits)
    side: Side | None
    if len(written) > 1:
        side = None
        reasons.add(R.CONFLICTING_DIRECTIONS)
    elif written:
        side = next(iter(written))
    else:
        side = infer_side(entries, reading.stop_loss, targets)
        if side is None:
            reasons.add(R.NO_DIRECTION)
    if side is not None:
        reasons |= wrong_sides(side, entries, reading.stop_loss, targets)
    if reasons or symbol is None or side is None or entry is None:
        return SignalRejection.of(reasons)
    return ParsedSignal(
        symbol, side, entry.kind, entry.prices, reading.stop_loss, reading.take_profits, reading.leverage
    )


def _several_signals(mentions: tuple[Mention, ...], tokens: list[Token], text: str) -> bool:
    """Whether two or more different pairs, however spelled, each have a direction or an entry
    of their own ("BTC/USDT LONG ...\nETH SHORT ...", "BTC LONG 60000, ETH SHORT 3000"). A
    pair's part of the message runs from the start of its line (or the end of the pair named
    before it on that line) up to the next pair's line (or that pair, when on the same line):
    what stands between two pairs on one line belongs to both."""
    if len({mention.key for mention in mentions}) < 2:
        return False
    signal_starts = [token.start for token in tokens if _signals(token)]
    signalled = set()
    for index, mention in enumerate(mentions):
        line_start = text.rfind("\n", 0, mention.start) + 1
        before = mentions[index - 1] if index else None
        after = mentions[index + 1] if index + 1 < len(mentions) else None
        start = before.end if before is not None and before.end > line_start else line_start
        end = len(text)
        if after is not None:
            after_line = text.rfind("\n", 0, after.start) + 1
            end = after.start if after_line == line_start else after_line
        if bisect_left(signal_starts, start) < bisect_left(signal_starts, end):
            signalled.add(mention.key)
    return len(signalled) > 1


def _signals(token: Token) -> bool:
    return token.kind in _SIGNAL_KINDS or (token.kind is Kind.LABEL and token.field is Field.ENTRY)
