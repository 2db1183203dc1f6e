"""Request and response bodies (Pydantic v2), with examples for the OpenAPI document. Money and
quantities are decimals, sent as strings so no float ever touches them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from domain.bot import MAX_REASON_LENGTH
from domain.errors import InvalidInput
from domain.ids import TOKEN_PATTERN
from domain.params import MAX_PARAMS_BYTES, MAX_PARAMS_DEPTH, check_params
from domain.signal import MAX_SIGNAL_TEXT
from domain.values import DECIMAL_PATTERN, MAX_DECIMAL_TEXT, decimal_field
from interfaces.decimals import Computed, Recorded


def _rule(kind: str, rule: str, **context: str) -> PydanticCustomError:
    """A refusal pydantic reports like its own (``kind`` is the problem's type). ``at`` in
    ``context`` names the place inside the field (``params.levels[2]``): the error handler puts
    it in the problem's field."""
    return PydanticCustomError(kind, "{rule}", {"rule": rule, **context})


def _decimal_text(value: Any) -> Decimal:
    try:
        return decimal_field(value, "value")
    except InvalidInput as refused:
        raise _rule("decimal_text", refused.rule) from None


def _range(kind: str, rule: str, low: int, high: int | None, high_included: bool) -> AfterValidator:
    def check(value: Decimal) -> Decimal:
        if value <= low or (high is not None and (value > high if high_included else value >= high)):
            raise _rule(kind, rule)
        return value

    return AfterValidator(check)


_DECIMAL_TEXT = {
    "type": "string",
    "pattern": DECIMAL_PATTERN,
    "maxLength": MAX_DECIMAL_TEXT,
    "description": "ASCII digits with an optional sign, at most one decimal point and an exponent of "
    "at most two digits; nothing else (no white space, underscores or other scripts' digits)",
}


def _decimal(rule: str, integers: dict[str, Any] | None) -> WithJsonSchema:
    """The document's schema of a decimal: text (and, where one can be valid, a JSON integer),
    never a JSON fraction such as 0.5, which a float would carry."""
    branches = [_DECIMAL_TEXT] if integers is None else [_DECIMAL_TEXT, {"type": "integer", **integers}]
    return WithJsonSchema({"anyOf": branches, "description": rule})


# Amounts, prices and limits: at most 30 digits, 18 of them after the point (read-model numeric
# columns and exchanges need no more, and an absurd exponent must not reach them).
MONEY_DIGITS, MONEY_PLACES = 30, 18
_DIGITS = Field(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
_MONEY_RULE = (
    f"a decimal greater than 0, at most {MONEY_DIGITS} digits, {MONEY_PLACES} of them after the point"
)
Money = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    _DIGITS,
    _range("greater_than", "must be greater than 0", 0, None, False),
    _decimal(_MONEY_RULE, {"exclusiveMinimum": 0, "maximum": 10**MONEY_DIGITS - 1}),
]
# Every ratio is a fraction, never a percentage: 0.05 is 5%.
_BAND_RULE = "a fraction of the reference price: 0.05 is 5%; more than 0, at most 1"
PriceBand = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    _DIGITS,
    _range("fraction", f"must be {_BAND_RULE}", 0, 1, True),
    _decimal(_BAND_RULE, {"minimum": 1, "maximum": 1}),
]
_PROTECTION_RULE = "a fraction of the position's average price: 0.02 is 2%; more than 0, less than 1"
ProtectionFraction = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    _DIGITS,
    _range("fraction", f"must be {_PROTECTION_RULE}", 0, 1, False),
    _decimal(_PROTECTION_RULE, None),
]


def _at_least_zero(kind: str, rule: str, high: int) -> AfterValidator:
    def check(value: Decimal) -> Decimal:
        if value < 0 or value >= high:
            raise _rule(kind, rule)
        return value

    return AfterValidator(check)


_FEE_RULE = "a fraction of the traded value: 0.001 is 0.1%; at least 0, less than 1"
FeeRate = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    _DIGITS,
    _at_least_zero("fee_rate", f"must be {_FEE_RULE}", 1),
    _decimal(_FEE_RULE, {"minimum": 0, "maximum": 0}),
]
_SLIPPAGE_RULE = "basis points (1 is 0.01%) market fills move against the order; at least 0, less than 10000"
SlippageBps = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    _DIGITS,
    _at_least_zero("slippage_bps", f"must be {_SLIPPAGE_RULE}", 10_000),
    _decimal(_SLIPPAGE_RULE, {"minimum": 0, "maximum": 9_999}),
]

_ISO_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ].*)?", re.ASCII | re.DOTALL)


def _date_time_text(value: Any) -> Any:
    """Only an ISO 8601 date-time: pydantic would also take a number as seconds since 1970."""
    if not isinstance(value, datetime) and not (isinstance(value, str) and _ISO_DATE_TIME.fullmatch(value)):
        raise _rule("date_time", "must be an ISO 8601 date-time such as 2024-05-01T12:00:00Z, not a number")
    return value


def _utc(value: datetime) -> datetime:
    """A time as UTC (a time without a zone is taken as UTC), within years 1970 to 9998."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        moment = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be between 1970 and 9998") from None
    if not 1970 <= moment.year <= 9998:
        raise ValueError("must be between 1970 and 9998")
    return moment


_ASCII_INTEGER = re.compile(r"[0-9]{1,18}", re.ASCII)


def _integer_text(value: Any) -> Any:
    """Only ASCII digits: pydantic would also take ``1_0``, `` 5`` and ``5.0`` as integers."""
    if isinstance(value, str) and not _ASCII_INTEGER.fullmatch(value):
        raise _rule("int_text", "must be a whole number in ASCII digits (at most 18)")
    return value


WholeNumber = Annotated[int, BeforeValidator(_integer_text)]
"""An integer query parameter, written only as ASCII digits."""

Moment = Annotated[
    datetime,
    BeforeValidator(_date_time_text),
    AfterValidator(_utc),
    Field(description="an ISO 8601 date-time (RFC 3339); without a zone it is UTC; numbers are refused"),
]
# Free text that ends up in read-model text columns: PostgreSQL refuses NUL, and no name needs
# control characters.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


MAX_SYMBOL, MAX_SYMBOLS, MAX_NAME, MAX_REASON = 40, 100, 100, MAX_REASON_LENGTH
SymbolText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SYMBOL, pattern=PRINTABLE)]
ClientOrderIdText = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=TOKEN_PATTERN)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME, pattern=PRINTABLE)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=MAX_REASON, pattern=PRINTABLE)]


def _storable(params: dict[str, Any]) -> dict[str, Any]:
    try:
        return check_params(params, "params")
    except InvalidInput as refused:
        raise _rule("params", refused.rule, at=refused.field) from None


PARAMS_RULE = (
    f"free-form strategy parameters: a JSON object nested at most {MAX_PARAMS_DEPTH} levels deep (the "
    f"object itself is level 1), at most {MAX_PARAMS_BYTES} bytes as compact UTF-8 JSON, with integers "
    "within 64 bits, finite numbers and text without control characters"
)
Params = Annotated[dict[str, Any], AfterValidator(_storable), Field(description=PARAMS_RULE)]


class RiskLimitsBody(BaseModel):
    """A bot's risk limits. Notionals are in the market's quote currency; every ratio is a
    fraction (0.05 is 5%)."""

    model_config = ConfigDict(extra="forbid")

    max_order_notional: Money = Field(examples=["15000"])
    max_position_notional: Money = Field(examples=["50000"])
    max_open_orders: int = Field(gt=0, le=10_000, strict=True, examples=[10])
    daily_loss_limit: Money = Field(examples=["2000"])
    price_band_pct: PriceBand = Field(
        examples=["0.05"],
        description="how far a limit or stop price may lie from the reference price, as a fraction of "
        "the reference price: 0.05 is 5%; more than 0, at most 1",
    )
    max_orders_per_minute: int = Field(gt=0, le=100_000, strict=True, examples=[60])
    stop_loss_fraction: ProtectionFraction | None = Field(
        default=None,
        examples=["0.02"],
        description="close every position this fraction of its average price past it, at a loss: "
        "0.02 is 2%; more than 0, less than 1",
    )
    take_profit_fraction: ProtectionFraction | None = Field(
        default=None,
        examples=["0.04"],
        description="close every position this fraction of its average price past it, at a gain: "
        "0.04 is 4%; more than 0, less than 1",
    )

    def as_limits(self) -> dict[str, Any]:
        return {name: str(value) if isinstance(value, Decimal) else value for name, value in self}


class CreateBotBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field(examples=["sma BTC"])
    strategy: Name = Field(
        default="manual",
        examples=["sma_cross"],
        description="a strategy of GET /v1/strategies (`manual`: traded by hand, through this API)",
    )
    allowed_symbols: list[SymbolText] = Field(min_length=1, max_length=MAX_SYMBOLS, examples=[["BTC/USDT"]])
    limits: RiskLimitsBody
    exchange_account: Name = "paper"
    params: Params = Field(
        default_factory=dict,
        examples=[{"fast": 10, "slow": 30, "quantity": "0.01"}],
        description=f"the strategy's parameters, as its schema in GET /v1/strategies says. {PARAMS_RULE}",
    )


class StrategyParamsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    params: Params = Field(examples=[{"fast": 10, "slow": 30, "quantity": "0.01"}])


class KillBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = "kill switch from the API"


class PlaceOrderBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    symbol: SymbolText = Field(examples=["BTC/USDT"])
    side: Literal["buy", "sell"]
    order_type: Literal["market", "limit", "stop_market", "stop_limit"] = Field(examples=["limit"])
    quantity: Money = Field(examples=["0.01"])
    price: Money | None = Field(default=None, examples=["50000"])
    stop_price: Money | None = None
    time_in_force: Literal["GTC", "IOC", "FOK"] = "GTC"
    client_order_id: ClientOrderIdText | None = Field(default=None, examples=["grid-1-buy-7"])
    stop_loss: Money | None = Field(
        default=None, description="close the position this order opens when the mark reaches this price"
    )
    take_profit: Money | None = Field(
        default=None, description="close the position this order opens when the mark reaches this price"
    )


class SignalBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=1,
        max_length=MAX_SIGNAL_TEXT,
        examples=["BTC/USDT LONG Entry: 60000 - 60500 SL: 58000 TP1: 62000 TP2: 65000"],
    )
    source: ClientOrderIdText = Field(default="api", description="where the message came from")
    message_id: ClientOrderIdText | None = Field(
        default=None,
        description="the message's id at its source: the same (source, message_id) is one signal "
        "however often it is sent; without it every request is a signal of its own",
    )


class CommandAccepted(BaseModel):
    """What every command answers: the aggregate, whether anything changed, and the global
    position of the last event (pass it as ``min_position`` to read your own write)."""

    id: UUID
    position: int = Field(examples=[1042])
    changed: bool


class OrderAccepted(CommandAccepted):
    client_order_id: str
    status: str = Field(examples=["pending_new"])


class DeniedOrder(BaseModel):
    client_order_id: str
    reasons: list[str]


class SignalAccepted(CommandAccepted):
    """What became of the signal: ``executed`` (entry orders placed, or denied by the risk
    rules, each listed), ``rejected`` (with ``reasons``), or ``executed`` after a cancel or close
    message (``cancelled`` orders, and a closing order in ``orders``)."""

    status: str = Field(examples=["executed"])
    reasons: list[str] = Field(default_factory=list)
    orders: list[UUID] = Field(default_factory=list)
    denied: list[DeniedOrder] = Field(default_factory=list)
    cancelled: list[UUID] = Field(default_factory=list)
    reader: Literal["rules", "llm"] = Field(
        default="rules", description="which read the text: the rules, or the optional LLM reader"
    )


class ErrorBody(BaseModel):
    code: str
    message: str
    problems: list[dict[str, str]] | None = None
    reason_codes: list[str] | None = None
    denial_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class MarkPrice(BaseModel):
    symbol: str
    price: Recorded
    at: datetime


class CandleRow(BaseModel):
    symbol: str
    opened_at: datetime
    open: Recorded
    high: Recorded
    low: Recorded
    close: Recorded
    volume: Recorded


class PnlPoint(BaseModel):
    bucket: datetime
    quantity: Recorded
    average_price: Computed
    realized_pnl: Computed


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in (
        (401, "missing or invalid credentials"),
        (403, "the caller's role may not do this"),
        (404, "no such thing, or not the caller's"),
        (409, "illegal state transition or unresolved conflict"),
        (413, "the request body is over the size limit; it was not read"),
        (
            422,
            "invalid request (a body that is not JSON, or fields that break their rules: the problems name "
            "each field and rule), or an order denied by the risk rules (reason codes, denial id)",
        ),
        (429, "over the rate limit of the API key: wait Retry-After seconds"),
        (
            503,
            "not now, wait Retry-After seconds: a store cannot be reached (`unavailable`; a command may or "
            "may not have been recorded, so repeat it with the same Idempotency-Key or client order id), "
            "or the read models did not reach `min_position` within the wait (`not_caught_up`)",
        ),
    )
}
