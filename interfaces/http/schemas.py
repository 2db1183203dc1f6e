"""Request and response bodies (Pydantic v2), with examples for the OpenAPI document. Money and
quantities are decimals, sent as strings so no float ever touches them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

Money = Decimal
# Decimals leave the API as strings in plain notation ("0.0000001", never "1E-7").
PlainDecimal = Annotated[Decimal, PlainSerializer(lambda value: format(value, "f"), return_type=str)]


class RiskLimitsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_order_notional: Money = Field(gt=0, examples=["15000"])
    max_position_notional: Money = Field(gt=0, examples=["50000"])
    max_open_orders: int = Field(gt=0, le=10_000, examples=[10])
    daily_loss_limit: Money = Field(gt=0, examples=["2000"])
    price_band_pct: Money = Field(gt=0, le=100, examples=["5"])
    max_orders_per_minute: int = Field(gt=0, le=100_000, examples=[60])

    def as_limits(self) -> dict[str, Any]:
        return {name: str(value) if isinstance(value, Decimal) else value for name, value in self}


class CreateBotBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["grid BTC"])
    strategy: str = Field(min_length=1, max_length=100, examples=["grid"])
    allowed_symbols: list[str] = Field(min_length=1, max_length=100, examples=[["BTC/USDT"]])
    limits: RiskLimitsBody
    exchange_account: str = Field(default="paper", min_length=1, max_length=100)
    params: dict[str, Any] = Field(default_factory=dict, examples=[{"levels": 10}])


class KillBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="kill switch from the API", min_length=1, max_length=500)


class PlaceOrderBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(examples=["BTC/USDT"], max_length=40)
    side: Literal["buy", "sell"]
    order_type: Literal["market", "limit", "stop_market", "stop_limit"] = Field(examples=["limit"])
    quantity: Money = Field(gt=0, examples=["0.01"])
    price: Money | None = Field(default=None, gt=0, examples=["50000"])
    stop_price: Money | None = Field(default=None, gt=0)
    time_in_force: Literal["GTC", "IOC", "FOK"] = "GTC"
    client_order_id: str | None = Field(default=None, min_length=1, max_length=64, examples=["grid-1-buy-7"])


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


class Page(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = Field(default=None, description="pass as `cursor` for the next page")


class PnlPoint(BaseModel):
    bucket: datetime
    quantity: PlainDecimal
    average_price: PlainDecimal
    realized_pnl: PlainDecimal


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in (
        (401, "missing or invalid credentials"),
        (403, "the caller's role may not do this"),
        (404, "no such thing, or not the caller's"),
        (409, "illegal state transition or unresolved conflict"),
        (422, "invalid request, or order denied by the risk rules (reason codes, denial id)"),
    )
}
