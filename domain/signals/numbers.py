"""Reading the numbers a signal writes: ``60000``, ``60,000``, ``0.0345``, ``60k``, ``1.5K``, a
run of prices joined by commas (``60000,59500``), a percentage (``50%``), a leverage (``10x``,
``x5``). Never a guess: a comma is a thousands separator only between groups of exactly three
digits (``60,000``, ``1,250,000.5``); a comma followed by one or two digits (``0,5``,
``60000,50``) could be a decimal comma and is unreadable; a point is always a decimal point."""

from __future__ import annotations

import re
from decimal import Decimal

_CURRENCY = re.compile(r"(?:usdt|usdc|busd|usd|\$)$", re.IGNORECASE)
_THOUSANDS = re.compile(r"[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_PLAIN = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?|\.[0-9]+")
_SHORT_INTEGER = re.compile(r"[0-9]{1,2}")
_LEVERAGE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
THOUSAND = 3


def read_prices(text: str) -> tuple[Decimal, ...] | None:
    """The prices of one number token (several when commas join them), or None when the token
    cannot be read without guessing. A ``k`` suffix multiplies by a thousand; a currency suffix
    (``USDT``, ``$``) is dropped. Zero is read as zero: whether it is a price is the caller's
    rule. Exact whatever the length: no arithmetic, only text."""
    text = _CURRENCY.sub("", text)
    thousands = text[-1:] in ("k", "K")
    if thousands:
        text = text[:-1]
    if _THOUSANDS.fullmatch(text):
        parts = [text.replace(",", "")]
    else:
        parts = text.split(",")
        if thousands and len(parts) > 1:
            return None
        if not all(_PLAIN.fullmatch(part) for part in parts):
            return None
        if any(_SHORT_INTEGER.fullmatch(part) for part in parts[1:]):
            return None
    return tuple(_times_thousand(part) if thousands else Decimal(part) for part in parts)


def _times_thousand(text: str) -> Decimal:
    """``text`` (digits with at most one point) times 1000, by moving the point: ``1.5`` is 1500,
    ``0.0345`` is 34.5."""
    whole, _, fraction = text.partition(".")
    fraction += "0" * THOUSAND
    shifted = f"{whole}{fraction[:THOUSAND]}"
    rest = fraction[THOUSAND:].rstrip("0")
    return Decimal(f"{shifted}.{rest}" if rest else shifted)


def read_percent(text: str) -> tuple[Decimal, bool]:
    """A percentage token (``50%``, ``+3.5 %``) as a fraction (0.5, 0.035), and whether it was
    written with a sign: a signed percentage shows a gain or loss, not a part of the position."""
    body = text.replace("%", "").strip()
    signed = body[:1] in ("+", "-")
    return Decimal(f"{body.lstrip('+-')}E-2"), signed


def read_leverage(text: str) -> Decimal:
    """A leverage token (``10x``, ``10.0X``, ``x5``) as its multiple."""
    found = _LEVERAGE.search(text)
    assert found is not None, text  # the token's own pattern holds a number
    return Decimal(found.group())
