"""Request and response bodies (Pydantic v2), with examples for the OpenAPI document. Money and
quantities are decimals, sent as strings so no float ever touches them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from interfaces.decimals import Computed, Recorded

# Amounts, prices and limits: at most 30 digits, 18 of them after the point (read-model numeric
# columns and exchanges need no more, and an absurd exponent must not reach them).
Money = Annotated[Decimal, Field(max_digits=30, decimal_places=18)]


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


Moment = Annotated[datetime, AfterValidator(_utc)]
# Free text that ends up in read-model text columns: PostgreSQL refuses NUL, and no name needs
# control characters.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


SymbolText = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=PRINTABLE)]
ClientOrderIdText = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=PRINTABLE)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=PRINTABLE)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=PRINTABLE)]


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            _no_nul(item)
    if isinstance(value, list):
        for item in value:
            _no_nul(item)
    return value


Params = Annotated[dict[str, Any], AfterValidator(_no_nul)]


class RiskLimitsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_order_notional: Money = Field(gt=0, examples=["15000"])
    max_position_notional: Money = Field(gt=0, examples=["50000"])
    max_open_orders: int = Field(gt=0, le=10_000, examples=[10])
    daily_loss_limit: Money = Field(gt=0, examples=["2000"])
    price_band_pct: Money = Field(gt=0, le=100, examples=["5"])
    max_orders_per_minute: int = Field(gt=0, le=100_000, examples=[60])
    stop_loss_fraction: Money | None = Field(
        default=None, gt=0, lt=1, description="close positions this fraction past their average, at a loss"
    )
    take_profit_fraction: Money | None = Field(
        default=None, gt=0, lt=1, description="close positions this fraction past their average, at a gain"
    )

    def as_limits(self) -> dict[str, Any]:
        return {name: str(value) if isinstance(value, Decimal) else value for name, value in self}


class CreateBotBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field(examples=["grid BTC"])
    strategy: Name = Field(examples=["grid"])
    allowed_symbols: list[SymbolText] = Field(min_length=1, max_length=100, examples=[["BTC/USDT"]])
    limits: RiskLimitsBody
    exchange_account: Name = "paper"
    params: Params = Field(default_factory=dict, examples=[{"levels": 10}])


class KillBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = "kill switch from the API"


class PlaceOrderBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    symbol: SymbolText = Field(examples=["BTC/USDT"])
    side: Literal["buy", "sell"]
    order_type: Literal["market", "limit", "stop_market", "stop_limit"] = Field(examples=["limit"])
    quantity: Money = Field(gt=0, examples=["0.01"])
    price: Money | None = Field(default=None, gt=0, examples=["50000"])
    stop_price: Money | None = Field(default=None, gt=0)
    time_in_force: Literal["GTC", "IOC", "FOK"] = "GTC"
    client_order_id: ClientOrderIdText | None = Field(default=None, examples=["grid-1-buy-7"])
    stop_loss: Money | None = Field(
        default=None, gt=0, description="close the position this order opens when the mark reaches it"
    )
    take_profit: Money | None = Field(
        default=None, gt=0, description="close the position this order opens when the mark reaches it"
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
        (422, "invalid request, or order denied by the risk rules (reason codes, denial id)"),
        (429, "over the rate limit of the API key: wait Retry-After seconds"),
    )
}
