"""From tokens to the values a signal writes: the fields (a label and what follows it up to the
next label; a field goes on over the next lines while they start with a value, as Cornix's
"Entry Targets:" lists do), then the entry, stop loss, targets and leverage read from them.

A direction word with no field open starts an implicit entry: the prices after "BTC LONG 60000"
or "Buy BTC at 60000" (or on the lines below "BUY ZONE:") are its entry when no entry label
gives one."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal

from domain.signals.checks import fractions_fit
from domain.signals.model import EntryKind, RejectionReason, TakeProfit
from domain.signals.numbers import read_leverage, read_percent, read_prices
from domain.signals.tokens import Field, Kind, Token
from domain.values import Side

_CONTINUES = (Kind.NUMBER, Kind.ENUMERATOR, Kind.PERCENT)
_PRICE_FIELDS = (Field.ENTRY, Field.STOP, Field.TARGET)
_ACTIONS = (Kind.CANCEL, Kind.CLOSE)


@dataclass
class Segment:
    """A field as written: its label's field (or an implicit entry) and the tokens after it."""

    field: Field
    implicit: bool = False
    zone: bool = False
    tokens: list[Token] = dataclasses.field(default_factory=list)

    def of(self, kind: Kind) -> list[Token]:
        return [token for token in self.tokens if token.kind is kind]


def segments(lines: list[list[Token]]) -> list[Segment]:
    """The fields of a message, in order."""
    found: list[Segment] = []
    current: Segment | None = None
    for line in lines:
        if current is not None and not _continues(current, line):
            current = None
        for token in line:
            if token.kind is Kind.LABEL and token.field is not None:
                current = Segment(token.field, zone=token.zone)
                found.append(current)
            elif _closes(token):
                current = None
            elif _opens_implicit_entry(token, current):
                current = Segment(Field.ENTRY, implicit=True)
                found.append(current)
            elif current is not None:
                current.tokens.append(token)
    return found


def _closes(token: Token) -> bool:
    """Any other label ends the open field, and so does a cancel or close word: what follows is
    a condition ("SL 58000, cancel if 4h closes below 59000"), not more values."""
    return token.kind is Kind.OTHER_LABEL or token.kind in _ACTIONS


def _opens_implicit_entry(token: Token, current: Segment | None) -> bool:
    """A direction word with no field open, or after a leverage ("Leverage 10x LONG 60000")."""
    return token.kind is Kind.DIRECTION and (current is None or current.field is Field.LEVERAGE)


def _continues(segment: Segment, line: list[Token]) -> bool:
    """Whether ``line`` goes on with ``segment``: it starts with a value, and the segment is
    labelled or an implicit entry with no price yet ("BUY ZONE:" over "60000 - 60500")."""
    starts_with_value = bool(line) and line[0].kind in _CONTINUES
    return starts_with_value and not (segment.implicit and segment.of(Kind.NUMBER))


@dataclass(frozen=True)
class Entry:
    kind: EntryKind
    prices: tuple[Decimal, ...]


@dataclass(frozen=True)
class Reading:
    """What the fields say, and what could not be read (``problems``): BAD_NUMBER,
    AMBIGUOUS_VALUE, BAD_FRACTIONS. ``labelled`` is whether an entry, stop loss or target label
    was written at all; ``entry_written`` whether an entry was, readable or not (a label, or a
    price or market word after a direction); ``first_implicit_price`` where the first price
    after a direction word is ("BTC LONG 60000"), if any."""

    entry: Entry | None
    stop_loss: Decimal | None
    take_profits: tuple[TakeProfit, ...]
    leverage: Decimal | None
    labelled: bool
    entry_written: bool
    first_implicit_price: int | None
    problems: frozenset[RejectionReason]


def read_fields(lines: list[list[Token]]) -> Reading:
    """The values of every field of a tokenized message."""
    found = segments(lines)
    problems: set[RejectionReason] = set()
    labelled = [s for s in found if not s.implicit and s.field in _PRICE_FIELDS]
    implicit = [s for s in found if s.implicit]
    entry_labels = [s for s in labelled if s.field is Field.ENTRY]
    entry = _entry(entry_labels, implicit, problems)
    stop_loss = _stop_loss([s for s in found if s.field is Field.STOP], problems)
    take_profits = _take_profits([s for s in found if s.field is Field.TARGET], problems)
    leverage = _leverage(lines, found, problems)
    implicit_prices = [token.start for segment in implicit for token in segment.of(Kind.NUMBER)]
    implicit_market = any(s.of(Kind.MARKET) for s in implicit)
    return Reading(
        entry,
        stop_loss,
        take_profits,
        leverage,
        labelled=bool(labelled),
        entry_written=bool(entry_labels or implicit_prices) or implicit_market,
        first_implicit_price=min(implicit_prices, default=None),
        problems=frozenset(problems),
    )


def _token_prices(token: Token, problems: set[RejectionReason]) -> tuple[Decimal, ...]:
    """The prices of one number token; an unreadable number or a zero is a BAD_NUMBER."""
    prices = read_prices(token.text)
    if prices is None or any(price <= 0 for price in prices):
        problems.add(RejectionReason.BAD_NUMBER)
        return ()
    return prices


def _prices(segment: Segment, problems: set[RejectionReason]) -> list[tuple[Token, Decimal]]:
    """Each price a field writes, with the token it comes from."""
    return [(token, price) for token in segment.of(Kind.NUMBER) for price in _token_prices(token, problems)]


def _labels_without_price(segments: list[Segment], read: list[list[tuple[Token, Decimal]]]) -> bool:
    """Whether labels of a kind were written and none carries a price: "SL: TBA", "TP1: +5%". A
    label without a value beside others of its kind ("Take Profit:" over "TP1: 62000") is a
    heading, not a problem."""
    return bool(segments) and not any(read)


def _entry(labelled: list[Segment], implicit: list[Segment], problems: set[RejectionReason]) -> Entry | None:
    """At the market when a market word comes before any price ("CMP", "Entry: CMP (60,000)":
    the prices after it are a reference only); a market word after a price ("60000 - CMP",
    "60000 (current price 60200)") is AMBIGUOUS_VALUE. Otherwise the prices of the entry labels,
    or else those after a direction word: a zone when exactly two prices are joined by a dash or
    ``to``, or the field speaks of a zone or ``between``; limit prices in the order given when
    not."""
    market = [token.start for segment in [*labelled, *implicit] for token in segment.of(Kind.MARKET)]
    if market:
        numbers = [token.start for segment in [*labelled, *implicit] for token in segment.of(Kind.NUMBER)]
        if any(number < min(market) for number in numbers):
            problems.add(RejectionReason.AMBIGUOUS_VALUE)
            return None
        return Entry(EntryKind.MARKET, ())
    read = [_prices(segment, problems) for segment in labelled]
    chosen = labelled
    if not any(read):
        if _labels_without_price(labelled, read) and not any(s.of(Kind.NUMBER) for s in implicit):
            problems.add(RejectionReason.BAD_NUMBER)
        chosen, read = implicit, [_prices(segment, problems) for segment in implicit]
    prices = [found for each in read for found in each]
    if not prices:
        return None
    if len(prices) == 2 and (_zone_words(chosen) or _dash_between(chosen, prices[0][0], prices[1][0])):
        low, high = sorted(price for _, price in prices)
        return Entry(EntryKind.ZONE, (low, high))
    return Entry(EntryKind.LIMIT, tuple(price for _, price in prices))


def _zone_words(segments: list[Segment]) -> bool:
    return any(segment.zone or segment.of(Kind.ZONE) for segment in segments)


def _dash_between(segments: list[Segment], first: Token, second: Token) -> bool:
    """Whether a range separator stands between two prices' tokens (``60000 - 60500``)."""
    return any(
        first.start < token.start < second.start
        for segment in segments
        for token in segment.of(Kind.RANGE_SEP)
    )


def _stop_loss(segments: list[Segment], problems: set[RejectionReason]) -> Decimal | None:
    """The one stop loss; several different prices are AMBIGUOUS_VALUE."""
    read = [_prices(segment, problems) for segment in segments]
    prices = {price for found in read for _, price in found}
    if len(prices) > 1:
        problems.add(RejectionReason.AMBIGUOUS_VALUE)
        return None
    if not prices:
        if _labels_without_price(segments, read):
            problems.add(RejectionReason.BAD_NUMBER)
        return None
    return prices.pop()


def _take_profits(segments: list[Segment], problems: set[RejectionReason]) -> tuple[TakeProfit, ...]:
    """Every target in the order written (a dash between targets lists them, it is no range)."""
    targets = [target for segment in segments for target in _segment_targets(segment, problems)]
    if segments and not targets:
        problems.add(RejectionReason.BAD_NUMBER)
    if not fractions_fit(targets):
        problems.add(RejectionReason.BAD_FRACTIONS)
    return tuple(targets)


def _segment_targets(segment: Segment, problems: set[RejectionReason]) -> list[TakeProfit]:
    """One field's targets. An unsigned percentage is the part of the position for the price
    before it (``TP1: 62000 (50%)``), or for the next when none is before it (``TP1 (50%):
    62000``); a signed one shows a gain (``+3%``) and is left out. A percentage with no price
    of its own to go to is BAD_FRACTIONS."""
    mine: list[TakeProfit] = []
    pending: Decimal | None = None
    for token in segment.tokens:
        if token.kind is Kind.NUMBER:
            for price in _token_prices(token, problems):
                mine.append(TakeProfit(price, pending))
                pending = None
        elif token.kind is Kind.PERCENT:
            fraction, signed = read_percent(token.text)
            if signed:
                continue
            if mine and mine[-1].fraction is None:
                mine[-1] = TakeProfit(mine[-1].price, fraction)
            elif not mine and pending is None:
                pending = fraction
            else:
                problems.add(RejectionReason.BAD_FRACTIONS)
    if pending is not None:
        problems.add(RejectionReason.BAD_FRACTIONS)
    return mine


def _leverage(
    lines: list[list[Token]], found: list[Segment], problems: set[RejectionReason]
) -> Decimal | None:
    """A leverage token anywhere (``10x``, ``Cross 20x``, ``x5``) or a number after a leverage
    label (``Leverage: 10``); several different values are AMBIGUOUS_VALUE (``5x-10x``)."""
    values: set[Decimal] = {read_leverage(t.text) for line in lines for t in line if t.kind is Kind.LEVERAGE}
    for segment in found:
        if segment.field is Field.LEVERAGE:
            for token in segment.of(Kind.NUMBER):
                prices = read_prices(token.text)
                if prices is None:
                    problems.add(RejectionReason.BAD_NUMBER)
                else:
                    values.update(prices)
    if any(value <= 0 for value in values):
        problems.add(RejectionReason.BAD_NUMBER)
        return None
    if len(values) > 1:
        problems.add(RejectionReason.AMBIGUOUS_VALUE)
        return None
    return values.pop() if values else None


def written_sides(lines: list[list[Token]]) -> frozenset[Side]:
    """The directions a message writes: its words anywhere, and its direction emoji on lines
    with no label (a 🔴 before "SL:" marks the stop loss, not a short)."""
    sides: set[Side] = set()
    for line in lines:
        labelled = any(token.kind is Kind.LABEL for token in line)
        for token in line:
            if token.side is not None and (token.kind is Kind.DIRECTION or not labelled):
                sides.add(token.side)
    return frozenset(sides)
