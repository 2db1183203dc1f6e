"""What every operation of the API holds to, for the OpenAPI document's description."""

from __future__ import annotations

from domain.params import MAX_PARAMS_BYTES, MAX_PARAMS_DEPTH
from domain.values import MAX_DECIMAL_TEXT
from interfaces.http.schemas import MAX_NAME, MAX_REASON, MAX_SYMBOL, MAX_SYMBOLS, MONEY_DIGITS, MONEY_PLACES


def api_rules(max_body_bytes: int) -> str:
    return f"""\
Rules every operation holds to:

- **Errors** have one shape, `{{"error": {{"code", "message", ...}}}}`. An invalid request is a 422
  whose `problems` name each `field` (`body.limits.price_band_pct`, `query.placed_to`,
  `header.Idempotency-Key`) and the `rule` it breaks; nothing is recorded.
- **Bodies** are JSON in UTF-8 of at most {max_body_bytes} bytes (the setting
  `TBOT_API_MAX_BODY_BYTES`). A larger body is refused with 413 before it is read (by its
  `Content-Length`, or by counting a chunked body as it arrives). A body that is not JSON is a 422
  naming `body`. No number anywhere in a body may be `NaN`, `Infinity`, `-Infinity` or overflow
  to infinity (`1e400`), and no text or key may hold a lone UTF-16 surrogate (`"\\ud800"`): 422
  naming the place (`body.params.v`).
- **Money and quantities** are decimal strings (or JSON integers): ASCII digits, an optional
  sign, at most one decimal point and an exponent of at most two digits, {MAX_DECIMAL_TEXT}
  characters at most, and at most {MONEY_DIGITS} digits, {MONEY_PLACES} of them after the
  point. White space, underscores, other scripts' digits (Arabic-Indic, fullwidth) and JSON
  fractions such as `0.5` (a float would carry them) are refused.
- **Ratios are fractions**, never percentages: `0.05` is 5%. `price_band_pct` (the name is kept
  from the stored events) is a fraction of the reference price, more than 0 and at most 1;
  `stop_loss_fraction` and `take_profit_fraction` are fractions of a position's average price,
  more than 0 and less than 1.
- **Free-form values are bounded**: `params` is a JSON object nested at most {MAX_PARAMS_DEPTH}
  levels deep (the object itself is level 1) and at most {MAX_PARAMS_BYTES} bytes as compact UTF-8
  JSON, with integers within 64 bits; names and strategies at most {MAX_NAME} characters, reasons
  {MAX_REASON}, symbols {MAX_SYMBOL}, at most {MAX_SYMBOLS} allowed symbols; no text holds control
  characters.
- **Date-times** in queries are ISO 8601 (`2024-05-01T12:00:00Z`; without a zone, UTC); numbers
  are refused.
- **Idempotency-Key** is 1 to 64 letters, digits, `.`, `_`, `:` or `-`: the same key again
  returns the first result and records nothing.
- **405** answers list in `Allow` every method the path serves.
"""
