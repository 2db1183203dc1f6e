"""Cutting a cleaned message into tokens, line by line: labels (``Entry``, ``SL``, ``TP1``,
``Leverage``), numbers, percentages, leverages, directions, separators and plain words. Each rule
is one small pattern, tried in order at each position; the first that matches wins."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from domain.signals.text import LONG_MARK, SHORT_MARK
from domain.values import Side


class Kind(Enum):
    LABEL = "label"  # Entry, SL, TP1, Leverage ...: opens a field
    OTHER_LABEL = "other label"  # Exchange:, Risk:, Trade Type: ...: closes the open field
    ENUMERATOR = "enumerator"  # 1) (1) or, first on a line, 1. 1:
    LEVERAGE = "leverage"  # 10x, x5
    PERCENT = "percent"  # 50%, +3.5%
    NUMBER = "number"  # 60000, 60,000, 0.0345, 60k, 60000,59500
    MARKET = "market"  # market, now, CMP, current price
    ZONE = "zone"  # zone, range, area, between
    DIRECTION = "direction"  # long, short, buy, sell
    MARK = "mark"  # 📈 🟢 / 📉 🔴
    CANCEL = "cancel"  # cancel, cancelled, invalidated
    CLOSE = "close"  # close, closed, exit
    RANGE_SEP = "range separator"  # - ~ to
    LIST_SEP = "list separator"  # , / | ; & and or
    WORD = "word"
    OTHER = "other"


class Field(Enum):
    ENTRY = "entry"
    STOP = "stop loss"
    TARGET = "take profit"
    LEVERAGE = "leverage"


@dataclass(frozen=True)
class Token:
    """A piece of the cleaned message: its kind, text and offset. A label names its field (and
    whether it speaks of a zone, ``Buy zone``); a direction or mark its side."""

    kind: Kind
    text: str
    start: int
    field: Field | None = None
    side: Side | None = None
    zone: bool = False


@dataclass(frozen=True)
class Rule:
    kind: Kind
    pattern: re.Pattern[str]
    field: Field | None = None
    first_only: bool = False  # only as a line's first token


def _rule(kind: Kind, pattern: str, field: Field | None = None, *, first_only: bool = False) -> Rule:
    return Rule(kind, re.compile(pattern, re.IGNORECASE), field, first_only)


_B = r"(?<![a-z0-9])"  # a word starts here
_E = r"(?![a-z])"  # a word ends here
_INDEX = r"(?:#?[0-9]{1,2}(?![0-9.,%kx])|\s#?[0-9]{1,2}(?![0-9.,%kx])(?=\s*[:=)-]|\s+\.?[0-9]))"
"""TP1, TP 1:, Target 2 62000; not the 62 of "TP 62000" nor the 3 of "TP 3" (a price)."""
_SEPARATORS = r"(?:\s*(?:[:=@>#-]|(?:at|price)(?![a-z])))*"
"""What may follow a label before its value: "SL: ", "TP1 - ", "TP at ", "TP price: "."""


def _label(field: Field, body: str, *, index: bool = True) -> Rule:
    indexed = f"(?:{_INDEX})?" if index else ""
    return _rule(Kind.LABEL, f"{_B}(?:{body}){indexed}{_E}{_SEPARATORS}", field)


RULES: tuple[Rule, ...] = (
    _rule(Kind.MARK, f"[{LONG_MARK}{SHORT_MARK}]"),
    _rule(Kind.ENUMERATOR, r"(?<![a-z0-9.,])\(?[0-9]{1,2}\)(?!\s*%)"),
    _rule(Kind.ENUMERATOR, r"[0-9]{1,2}[.:](?=\s)", first_only=True),
    _label(
        Field.TARGET,
        r"take[\s-]*profits?(?:[\s-]*(?:targets?|levels?|points?))?|sell[\s-]*targets?|targets?|tps?"
        r"|tgts?|t(?=[0-9]{1,2}(?![0-9]))",
    ),
    _label(
        Field.STOP,
        r"stop[\s-]*loss(?:es)?|stoploss|stop[\s-]*(?:targets?|price|level)|stops?|sl|s/l"
        r"|invalidation(?:\s*level)?",
        index=False,
    ),
    _label(
        Field.ENTRY,
        r"(?:entry|entries|enter|entering)(?:[\s-]*(?:zone|price|points?|targets?|range|area|levels?|orders?))?"
        r"|open\s*price|price(?=\s*[:=@])",
    ),
    _rule(Kind.LABEL, r"@" + _SEPARATORS, Field.ENTRY),
    _label(Field.LEVERAGE, r"leverage|lev", index=False),
    _rule(
        Kind.LEVERAGE,
        r"(?<![a-z0-9.])(?:[0-9]{1,3}(?:\.[0-9]+)?\s?x|x\s?[0-9]{1,3}(?:\.[0-9]+)?)(?![a-z0-9.])",
    ),
    _rule(Kind.PERCENT, r"(?<![a-z0-9.])[+-]?[0-9]+(?:\.[0-9]+)?\s?%"),
    _rule(Kind.NUMBER, r"(?<![a-z0-9])\.?[0-9][0-9,.]*(?<![,.])k?(?:usdt|usdc|busd|usd|\$)?(?![a-z0-9])"),
    _rule(
        Kind.MARKET,
        f"{_B}(?:cmp|market(?:\\s*price)?|now|current(?:\\s*market)?(?:\\s*price)?|instantly){_E}",
    ),
    _rule(Kind.ZONE, f"{_B}(?:zone|range|area|between){_E}"),
    _rule(Kind.DIRECTION, f"{_B}(?:(?:long|short)(?:s|ing)?(?!\\s*-?\\s*term)|buy(?:ing)?|sell(?:ing)?){_E}"),
    _rule(Kind.CANCEL, f"{_B}(?:cancel(?:led|ed|ling|lation)?|invalidated){_E}"),
    _rule(Kind.CLOSE, f"{_B}(?:close|closed|closing|exit|exited){_E}"),
    _rule(Kind.OTHER_LABEL, r"(?:trade\s*type|time\s*frame|position\s*size|risk\s*reward|[a-z]+)\s*[:=]"),
    _rule(Kind.RANGE_SEP, f"-+|~|{_B}to{_E}"),
    _rule(Kind.LIST_SEP, f"[,/|;&]|{_B}(?:and|or){_E}"),
    _rule(Kind.WORD, r"[a-z0-9_']+"),
    _rule(Kind.OTHER, r"\S"),
)

_LONG = ("long", "buy")


def tokenize(text: str) -> list[list[Token]]:
    """The tokens of each line of ``text`` (offsets count from the start of ``text``)."""
    lines = []
    offset = 0
    for line in text.split("\n"):
        lines.append(_line_tokens(line, offset))
        offset += len(line) + 1
    return lines


def _line_tokens(line: str, offset: int) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while True:
        while position < len(line) and line[position].isspace():
            position += 1
        if position >= len(line):
            return tokens
        rule, match = _first_match(line, position, first=not tokens)
        tokens.append(_token(rule, match.group(), offset + position))
        position = match.end()


def _first_match(line: str, position: int, *, first: bool) -> tuple[Rule, re.Match[str]]:
    for rule in RULES:
        if rule.first_only and not first:
            continue
        match = rule.pattern.match(line, position)
        if match is not None and match.end() > position:
            return rule, match
    raise AssertionError("the last rule matches any character")  # pragma: no cover


def _token(rule: Rule, text: str, start: int) -> Token:
    side = None
    if rule.kind is Kind.MARK:
        side = Side.BUY if text == LONG_MARK else Side.SELL
    elif rule.kind is Kind.DIRECTION:
        side = Side.BUY if text.lower().startswith(_LONG) else Side.SELL
    zone = rule.kind is Kind.LABEL and re.search("zone|range|area", text, re.IGNORECASE) is not None
    return Token(rule.kind, text, start, rule.field, side, zone)
