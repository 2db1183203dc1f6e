"""How decimals leave the API (docs/api.md, "Decimals"): one written form for every amount, price
and quantity in a response, and one rounding for the values the read side computes.

- Every decimal is a JSON string in plain notation: an optional ``-``, the digits, and a point
  only when a fraction remains, with no trailing zeros ("0.5", "50000", "-19.83134"); zero is
  "0", whatever its scale or sign.
- Values recorded as given (order quantities and prices, fills as the exchange reported them,
  marks, candles, limits) keep every digit: they are already at the market's step and tick (the
  risk rules admit nothing else), and a refused order's off-tick price is shown as refused.
- Values the read side computes (average prices, realized and unrealized PnL, fees valued in the
  quote currency) are rounded half-even to ``COMPUTED_PLACES`` decimal places.

Events and read-model columns keep the exact values: this is presentation only."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Annotated, Any

from pydantic import PlainSerializer, WithJsonSchema

# Eight places: the smallest unit exchanges count crypto amounts in (a satoshi is 1e-8 BTC), so
# no fee or PnL an exchange can report is rounded away; digits past it only come from dividing.
COMPUTED_PLACES = 8
_QUANTUM = Decimal(1).scaleb(-COMPUTED_PLACES)
PATTERN = r"^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$"


def plain(value: Decimal) -> str:
    """``value`` in plain notation without trailing zeros; zero as "0"."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def rounded(value: Decimal) -> str:
    """``value`` rounded half-even to ``COMPUTED_PLACES`` places, in plain notation."""
    with localcontext() as context:
        context.prec = max(28, value.adjusted() + COMPUTED_PLACES + 2)  # quantize never overflows
        return plain(value.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN))


def _schema(description: str, example: str) -> Any:
    body = {"type": "string", "pattern": PATTERN, "description": description, "examples": [example]}
    return WithJsonSchema(body, mode="serialization")


RECORDED_TEXT = "decimal as recorded, in plain notation without trailing zeros (zero is '0')"
COMPUTED_TEXT = (
    f"decimal computed by the read side, rounded half-even to {COMPUTED_PLACES} places, in plain "
    "notation without trailing zeros (zero is '0')"
)
Recorded = Annotated[Decimal, PlainSerializer(plain, return_type=str), _schema(RECORDED_TEXT, "60618.5")]
Computed = Annotated[Decimal, PlainSerializer(rounded, return_type=str), _schema(COMPUTED_TEXT, "-19.83134")]
