"""Finding the pair a message names, against the markets the account can trade.

Three spellings, in order of trust:

1. a pair: ``BTC/USDT``, ``btc-usdt``, ``BTC_USDT``, ``BTCUSDT``, ``#BTCUSDT``, with a futures
   suffix or not (``BTC/USDT.P``, ``BTCUSDT.P``, ``BTCUSDTPERP``, ``BTC/USDT:USDT``);
2. a base with a ``$`` or ``#`` (``$BTC``, ``#SOL``);
3. a base alone (``BTC long``).

Only the most trusted spelling found counts, so "#SOL/USDT long ... SOL follows BTC" names
SOL/USDT. A base's quote is implied when exactly one known market has that base.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum

from domain.values import Symbol

COMMON_QUOTES = frozenset({"USDT", "USDC", "BUSD", "FDUSD", "TUSD", "USD", "BTC", "ETH", "BNB"})
"""Quotes recognised in a pair even when no known market uses them (the pair is then unknown)."""


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


RESERVED = _words(
    """long longs short shorts buy sell entry entries enter stop loss stoploss sl tp tps target
    targets take profit leverage lev cross isolated cancel cancelled canceled close closed exit
    market now cmp zone range area between and or risk reward signal signals vip hold spot futures
    perp perpetual margin to at the win price"""
)
"""Words of the signal language, never read as a base."""

COMMON_WORDS = _words(
    """a ai act any ark bat big blur bond cat core cow dog echo edu flow fun gas go hard high hook
    hot id io joe just key lit low magic map mask meme metal mint move near not ocean one op pay
    people pixel portal power prime quick rare ray rose safe sand ship sky sun super t time true
    up via wing wood yes zen"""
)
"""English words that are also tickers: written alone, they name a base only in upper case."""

_EDGE_BEFORE = r"(?<![A-Za-z0-9])"
_EDGE_AFTER = r"(?![A-Za-z0-9])"
_SEPARATED = re.compile(
    _EDGE_BEFORE + r"(?P<prefix>[#$]?)(?P<base>[A-Za-z0-9]{2,15})(?P<sep>[/_-])(?P<quote>[A-Za-z]{2,10})"
    r"(?P<suffix>\.[Pp]|[._-]?(?i:perp(?:etual)?)|:[A-Za-z]{2,6})?" + _EDGE_AFTER
)
_JOINED = re.compile(
    _EDGE_BEFORE + r"(?P<prefix>[#$]?)(?P<word>[A-Za-z0-9]{4,40})(?P<suffix>\.[Pp])?" + _EDGE_AFTER
)
_PERP = re.compile(r"(?i:perp(?:etual)?)$")
_BARE = re.compile(_EDGE_BEFORE + r"(?P<prefix>[#$]?)(?P<word>[A-Za-z0-9]{2,15})" + _EDGE_AFTER)
_TIMEFRAME = re.compile(r"[0-9]+[smhdwy]", re.IGNORECASE)


class Status(Enum):
    KNOWN = "known"
    UNKNOWN = "unknown"
    AMBIGUOUS = "ambiguous"


class Trust(Enum):
    PAIR = 0
    TAGGED_BASE = 1
    BASE = 2


@dataclass(frozen=True)
class Mention:
    """Where a pair is named (offsets in the cleaned text) and what it names: a known market, an
    unknown pair, or a base several markets share (``key`` is then the base)."""

    start: int
    end: int
    key: Symbol | str
    status: Status
    trust: Trust


@dataclass(frozen=True)
class PairScan:
    """The mentions of the most trusted spelling found (``mentions``), every mention found
    (``everything``), and the text with every mention blanked (so that the digits of
    ``1000PEPE/USDT`` are not read as a price)."""

    mentions: tuple[Mention, ...]
    everything: tuple[Mention, ...]
    text: str


class _Markets:
    """The known markets, by symbol and by base, and the quotes a pair may end with."""

    def __init__(self, markets: Collection[Symbol]) -> None:
        self.symbols = frozenset(markets)
        self.by_base: dict[str, list[Symbol]] = {}
        for symbol in sorted(self.symbols):
            self.by_base.setdefault(symbol.base, []).append(symbol)
        self.quotes = COMMON_QUOTES | {symbol.quote for symbol in self.symbols}

    def pair(self, base: str, quote: str) -> tuple[Symbol, Status]:
        symbol = Symbol(base.upper(), quote.upper())
        return symbol, Status.KNOWN if symbol in self.symbols else Status.UNKNOWN

    def base(self, word: str) -> tuple[Symbol | str, Status] | None:
        found = self.by_base.get(word.upper(), [])
        if len(found) == 1:
            return found[0], Status.KNOWN
        if len(found) > 1:
            return word.upper(), Status.AMBIGUOUS
        return None


def scan_pairs(text: str, markets: Collection[Symbol]) -> PairScan:
    """Every pair ``text`` names, found in order of trust (module docstring)."""
    known = _Markets(markets)
    found: list[Mention] = []
    blanked = text
    for finder in (_separated, _joined, _bare):
        new = finder(blanked, known)
        found.extend(new)
        blanked = _blank(blanked, new)
    ordered = tuple(sorted(found, key=lambda mention: mention.start))
    trusted = min((mention.trust.value for mention in found), default=None)
    return PairScan(tuple(m for m in ordered if m.trust.value == trusted), ordered, blanked)


def _blank(text: str, mentions: list[Mention]) -> str:
    """``text`` with spaces in place of ``mentions`` (sorted, not overlapping)."""
    pieces = []
    position = 0
    for mention in mentions:
        pieces += [text[position : mention.start], " " * (mention.end - mention.start)]
        position = mention.end
    return "".join([*pieces, text[position:]])


def _ticker_like(word: str) -> bool:
    return (
        any(char.isalpha() for char in word)
        and word.lower() not in RESERVED
        and not _TIMEFRAME.fullmatch(word)
    )


def _separated(text: str, known: _Markets) -> list[Mention]:
    """``BTC/USDT`` and kin. Behind ``/`` any ticker-like word is a quote (``ETH/EUR`` is an
    unknown pair, not ETH); behind ``-`` or ``_`` only a known quote is (``take-profit``)."""
    found = []
    position = 0
    while match := _SEPARATED.search(text, position):
        base, quote = match.group("base"), match.group("quote")
        is_quote = quote.upper() in known.quotes if match.group("sep") != "/" else _ticker_like(quote)
        if _ticker_like(base) and is_quote:
            key, status = known.pair(base, quote)
            found.append(Mention(match.start(), match.end(), key, status, Trust.PAIR))
            position = match.end()
        else:
            position = match.start() + 1
    return found


def _joined(text: str, known: _Markets) -> list[Mention]:
    """``BTCUSDT`` and kin: a base and a quote written together. A split naming a known market
    wins; otherwise the word must look meant as a pair (upper case, a ``#``/``$`` or a futures
    suffix) and is an unknown pair ending with its longest quote."""
    found = []
    for match in _JOINED.finditer(text):
        word = match.group("word")
        flagged = bool(match.group("prefix") or match.group("suffix") or _PERP.search(word))
        word = _PERP.sub("", word)
        if word.upper() in known.by_base or not _ticker_like(word):
            continue
        splits = [
            (word[: -len(quote)], word[-len(quote) :])
            for quote in sorted(known.quotes, key=len, reverse=True)
            if word.upper().endswith(quote)
            and len(word) - len(quote) >= 2
            and _ticker_like(word[: -len(quote)])
        ]
        listed = [pair for pair in (known.pair(*split) for split in splits) if pair[1] is Status.KNOWN]
        key: Symbol | str
        if len(listed) == 1:
            key, status = listed[0]
        elif len(listed) > 1:
            key, status = word.upper(), Status.AMBIGUOUS
        elif splits and (flagged or word.isupper()):
            key, status = known.pair(*splits[0])
        else:
            continue
        found.append(Mention(match.start(), match.end(), key, status, Trust.PAIR))
    return found


def _bare(text: str, known: _Markets) -> list[Mention]:
    """A base alone: ``$BTC``, ``#BTC``, ``BTC``. A ``$`` word no market has is an unknown pair
    (``$XYZ``); a ``#`` word or a plain word that is no base is just a word (``#VIP``)."""
    found = []
    for match in _BARE.finditer(text):
        word, prefix = match.group("word"), match.group("prefix")
        if not _ticker_like(word):
            continue
        if not prefix and word.lower() in COMMON_WORDS and not word.isupper():
            continue
        trust = Trust.TAGGED_BASE if prefix else Trust.BASE
        based = known.base(word)
        if based is not None:
            found.append(Mention(match.start(), match.end(), based[0], based[1], trust))
        elif prefix == "$":
            found.append(Mention(match.start(), match.end(), word.upper(), Status.UNKNOWN, trust))
    return found
