"""Risk policy: one pure function per rule, each with a stable reason code (listed in
docs/architecture.md).

A rule returns its code when it says no and None when it passes. ``evaluate`` runs every rule
that can be judged and returns all the codes that said no, so an auditor sees every reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum

from domain.errors import InvalidInput
from domain.orders import OrderRequest
from domain.values import MarketSpec, Side, decimal_field, integer_field, is_multiple

RATE_WINDOW = timedelta(minutes=1)


class ReasonCode(Enum):
    BOT_NOT_RUNNING = "BOT_NOT_RUNNING"
    KILL_SWITCH = "KILL_SWITCH"
    SYMBOL_NOT_ALLOWED = "SYMBOL_NOT_ALLOWED"
    MARKET_UNKNOWN = "MARKET_UNKNOWN"
    NO_REFERENCE_PRICE = "NO_REFERENCE_PRICE"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    INVALID_PRICE = "INVALID_PRICE"
    BELOW_MIN_NOTIONAL = "BELOW_MIN_NOTIONAL"
    MAX_ORDER_NOTIONAL = "MAX_ORDER_NOTIONAL"
    MAX_POSITION = "MAX_POSITION"
    MAX_OPEN_ORDERS = "MAX_OPEN_ORDERS"
    DAILY_LOSS_LIMIT = "DAILY_LOSS_LIMIT"
    PRICE_BAND = "PRICE_BAND"
    ORDER_RATE = "ORDER_RATE"


@dataclass(frozen=True)
class RiskLimits:
    """A bot's limits. Notionals are in the quote currency of the market traded."""

    max_order_notional: Decimal
    max_position_notional: Decimal
    max_open_orders: int
    daily_loss_limit: Decimal
    # Every ratio is a fraction, never a percentage: 0.05 is 5%. The name ``price_band_pct`` stays
    # for the events that carry it. How far a limit or stop price may lie from the reference
    # price, as a fraction of the reference price: more than 0 and at most 1.
    price_band_pct: Decimal
    max_orders_per_minute: int
    # Protection of every position the bot holds, as a fraction of its average entry price
    # (more than 0, less than 1): 0.02 closes a long 2% below (stop loss) or above (take profit)
    # its average.
    stop_loss_fraction: Decimal | None = None
    take_profit_fraction: Decimal | None = None

    def __post_init__(self) -> None:
        for name in (
            "max_order_notional",
            "max_position_notional",
            "daily_loss_limit",
            "price_band_pct",
        ):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
                raise InvalidInput(f"limits.{name}", "must be a decimal greater than 0")
        if self.price_band_pct > 1:
            raise InvalidInput(
                "limits.price_band_pct", "must be a fraction of the reference price, at most 1 (0.05 is 5%)"
            )
        for name in ("max_open_orders", "max_orders_per_minute"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise InvalidInput(f"limits.{name}", "must be an integer greater than 0")
        for name in ("stop_loss_fraction", "take_profit_fraction"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, Decimal) and 0 < value < 1):
                raise InvalidInput(
                    f"limits.{name}", "must be a fraction of the average price between 0 and 1 (0.02 is 2%)"
                )


@dataclass(frozen=True)
class Exposure:
    """One symbol's position and the remaining quantity of the bot's open orders in it."""

    position: Decimal = Decimal(0)
    open_buy: Decimal = Decimal(0)
    open_sell: Decimal = Decimal(0)

    @property
    def long_exposure(self) -> Decimal:
        """Where the position ends if every open buy fills."""
        return self.position + self.open_buy

    @property
    def short_exposure(self) -> Decimal:
        """Where the position ends if every open sell fills."""
        return self.position - self.open_sell


@dataclass(frozen=True)
class RiskContext:
    """Everything a decision needs, captured at one instant."""

    request: OrderRequest
    running: bool
    kill_switch: bool
    allowed_symbols: frozenset[str]
    limits: RiskLimits
    market: MarketSpec | None
    reference_price: Decimal | None
    exposure: Exposure
    open_orders: int
    realized_today: Decimal
    recent_orders: Sequence[datetime]
    now: datetime

    @property
    def reduces_only(self) -> bool:
        """True when the order, with every open order on its side, cannot grow or flip the position."""
        q = self.request.quantity
        exposure = self.exposure
        if self.request.side is Side.SELL:
            return exposure.position > 0 and exposure.open_sell + q <= exposure.position
        return exposure.position < 0 and exposure.open_buy + q <= -exposure.position


Rule = Callable[[RiskContext], ReasonCode | None]


def bot_not_running(ctx: RiskContext) -> ReasonCode | None:
    return None if ctx.running else ReasonCode.BOT_NOT_RUNNING


def kill_switch(ctx: RiskContext) -> ReasonCode | None:
    """A tripped switch halts every order that could grow or flip a position; orders that only
    reduce one pass, so the position can still be closed (by hand or by its stop loss)."""
    return ReasonCode.KILL_SWITCH if ctx.kill_switch and not ctx.reduces_only else None


def symbol_not_allowed(ctx: RiskContext) -> ReasonCode | None:
    return None if str(ctx.request.symbol) in ctx.allowed_symbols else ReasonCode.SYMBOL_NOT_ALLOWED


def market_unknown(ctx: RiskContext) -> ReasonCode | None:
    return None if ctx.market is not None else ReasonCode.MARKET_UNKNOWN


def no_reference_price(ctx: RiskContext) -> ReasonCode | None:
    return (
        None if ctx.reference_price is not None and ctx.reference_price > 0 else ReasonCode.NO_REFERENCE_PRICE
    )


def invalid_quantity(ctx: RiskContext) -> ReasonCode | None:
    """Below the market's minimum amount or off its step (zero and negative never get here:
    OrderRequest refuses them as bad input)."""
    q, market = ctx.request.quantity, ctx.market
    if market is not None and (q < market.min_amount or not is_multiple(q, market.amount_step)):
        return ReasonCode.INVALID_QUANTITY
    return None


def invalid_price(ctx: RiskContext) -> ReasonCode | None:
    """A price or stop price off the market's tick."""
    if ctx.market is None:
        return None
    for price in (ctx.request.price, ctx.request.stop_price):
        if price is not None and not is_multiple(price, ctx.market.price_tick):
            return ReasonCode.INVALID_PRICE
    return None


def _order_notional(ctx: RiskContext) -> Decimal | None:
    price = ctx.request.valuation_price(ctx.reference_price)
    return None if price is None else ctx.request.quantity * price


def below_min_notional(ctx: RiskContext) -> ReasonCode | None:
    notional = _order_notional(ctx)
    if ctx.market is None or notional is None:
        return None
    return ReasonCode.BELOW_MIN_NOTIONAL if notional < ctx.market.min_notional else None


def max_order_notional(ctx: RiskContext) -> ReasonCode | None:
    notional = _order_notional(ctx)
    if notional is None:
        return None
    return ReasonCode.MAX_ORDER_NOTIONAL if notional > ctx.limits.max_order_notional else None


def max_position(ctx: RiskContext) -> ReasonCode | None:
    """Committed exposure (position plus open orders on the order's side) at the reference price."""
    if ctx.reduces_only or ctx.reference_price is None:
        return None
    exposure = ctx.exposure
    if ctx.request.side is Side.BUY:
        worst = exposure.long_exposure + ctx.request.quantity
    else:
        worst = exposure.short_exposure - ctx.request.quantity
    over = abs(worst) * ctx.reference_price > ctx.limits.max_position_notional
    return ReasonCode.MAX_POSITION if over else None


def max_open_orders(ctx: RiskContext) -> ReasonCode | None:
    return ReasonCode.MAX_OPEN_ORDERS if ctx.open_orders >= ctx.limits.max_open_orders else None


def daily_loss_limit(ctx: RiskContext) -> ReasonCode | None:
    if ctx.reduces_only:
        return None
    return ReasonCode.DAILY_LOSS_LIMIT if ctx.realized_today <= -ctx.limits.daily_loss_limit else None


def price_band(ctx: RiskContext) -> ReasonCode | None:
    ref = ctx.reference_price
    if ref is None or ref <= 0:
        return None
    for price in (ctx.request.price, ctx.request.stop_price):
        if price is not None and abs(price - ref) / ref > ctx.limits.price_band_pct:
            return ReasonCode.PRICE_BAND
    return None


def order_rate(ctx: RiskContext) -> ReasonCode | None:
    recent = sum(1 for t in ctx.recent_orders if t > ctx.now - RATE_WINDOW)
    return ReasonCode.ORDER_RATE if recent >= ctx.limits.max_orders_per_minute else None


RULES: tuple[Rule, ...] = (
    bot_not_running,
    kill_switch,
    symbol_not_allowed,
    market_unknown,
    no_reference_price,
    invalid_quantity,
    invalid_price,
    below_min_notional,
    max_order_notional,
    max_position,
    max_open_orders,
    daily_loss_limit,
    price_band,
    order_rate,
)


def evaluate(ctx: RiskContext) -> list[ReasonCode]:
    """Every reason the order is refused; empty means it may be placed."""
    return [code for rule in RULES if (code := rule(ctx)) is not None]


def parse_risk_limits(raw: dict[str, object]) -> RiskLimits:
    """RiskLimits from raw input (strings or numbers); errors name ``limits.<field>``."""
    decimals = ("max_order_notional", "max_position_notional", "daily_loss_limit", "price_band_pct")
    integers = ("max_open_orders", "max_orders_per_minute")
    optional = ("stop_loss_fraction", "take_profit_fraction")
    unknown = sorted(set(raw) - set(decimals) - set(integers) - set(optional))
    if unknown:
        raise InvalidInput(f"limits.{unknown[0]}", "is not a known limit")
    values: dict[str, object] = {}
    for name in (*decimals, *integers):
        if name not in raw:
            raise InvalidInput(f"limits.{name}", "is required")
    for name in decimals:
        values[name] = decimal_field(raw[name], f"limits.{name}")
    for name in optional:
        if raw.get(name) is not None:
            values[name] = decimal_field(raw[name], f"limits.{name}")
    for name in integers:
        values[name] = integer_field(raw[name], f"limits.{name}")
    return RiskLimits(**values)  # type: ignore[arg-type]
