"""`GET /v1/bots/{bot_id}/performance`: a live or paper bot measured like a backtest, from the
read models only (fills, risk decisions, candles), with the same access rules as the other
queries (docs/api.md, "A bot's performance")."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from application.bot_performance import BotPerformance, bot_performance
from application.errors import InvalidInput
from domain.equity import MAX_POINTS, Period
from interfaces.bot_performance import document
from interfaces.composition import Container
from interfaces.http.deps import Box, CallerDep, QueryEngineDep
from interfaces.http.queries import MinPosition, caught_up, check_readable_bot
from interfaces.http.schemas import ERRORS, Moment, Money
from projections import queries
from projections.performance_queries import performance_inputs

router = APIRouter(prefix="/v1", tags=["queries"], responses=ERRORS)

# Where each field the measurement may refuse is in the request.
_PLACES = {"bot_id": "path.bot_id", "capital": "query.capital", "end": "query.end", "step": "query.step"}


class Carried(BaseModel):
    symbol: str
    quantity: str
    average_price: str


class Counts(BaseModel):
    fills: int
    trades: int
    denials: int


class Metrics(BaseModel):
    """``Performance.plain()``: decimals as strings (8 places), the drawdown's duration in
    seconds, None where a figure is undefined (docs/backtesting.md, "Performance metrics")."""

    final_equity: str
    total_return: str | None
    cagr: str | None
    sharpe: str | None
    sortino: str | None
    calmar: str | None
    max_drawdown: str | None
    max_drawdown_duration: str
    trades: int
    win_rate: str | None
    profit_factor: str | None
    expectancy: str | None
    exposure: str | None
    fees: str
    denials: int


class RoundTrip(BaseModel):
    symbol: str
    side: Literal["long", "short"]
    entry_time: datetime
    exit_time: datetime
    quantity: str
    entry_price: str
    exit_price: str
    fees: str
    pnl: str


class BotPerformanceAnswer(BaseModel):
    bot_id: UUID
    start: datetime
    end: datetime
    step: Literal["1m", "1h", "1d"]
    points: int
    capital: str
    quote: str | None
    valuation: Literal["candles", "fills", "mixed"]
    valued_at_candles: int
    valued_at_fills: int
    carried: list[Carried]
    counts: Counts
    metrics: Metrics
    trades: list[RoundTrip] | None = None


@router.get("/bots/{bot_id}/performance", response_model=BotPerformanceAnswer)
async def bot_performance_of(
    bot_id: UUID,
    capital: Annotated[
        Money, Query(description="what the bot started with, in the quote currency of its markets")
    ],
    caller: CallerDep,
    engine: QueryEngineDep,
    box: Box,
    start: Annotated[
        Moment | None, Query(description="the first point (default: the bot's creation)")
    ] = None,
    end: Annotated[Moment | None, Query(description="the last point (default: now)")] = None,
    step: Annotated[
        Literal["1m", "1h", "1d"], Query(description=f"between points; at most {MAX_POINTS} points")
    ] = "1h",
    with_trades: Annotated[bool, Query(description="list the round trips closed in the period")] = False,
    min_position: MinPosition = None,
) -> Any:
    """The bot's equity curve from `start` to `end` (capital plus realized PnL plus its open
    positions valued at the candles' closes, or the last fill's price where no candle had closed
    since), measured like a backtest: the metrics, the counts of fills, round trips and denied
    orders in the period, and the positions carried into it."""
    async with engine.connect() as conn:
        await caught_up(conn, box, ["fills", "risk_decisions", "bots"], min_position)
        await check_readable_bot(conn, caller, bot_id)
        bot = (await conn.execute(queries.bot(bot_id))).mappings().one()  # it exists: checked above
    with _named_in_request():
        period = Period.of(start or bot["created_at"], end or box.clock().now(), step)
        report = await run_in_threadpool(_measured, box, bot_id, capital, period)
    return document(bot_id, report, with_trades=with_trades)


def _measured(box: Container, bot_id: UUID, capital: Decimal, period: Period) -> BotPerformance:
    """Read and measured in a worker thread, on the read database's synchronous engine: a long
    period's rows and points (up to ``MAX_POINTS``) take seconds that the event loop must not wait
    on."""
    read_models = box.read_models()
    with read_models.engine.connect() as conn:
        inputs = performance_inputs(conn, read_models.backend, bot_id, period)
    return bot_performance(capital, period, inputs.fills, inputs.marks, inputs.denials)


@contextmanager
def _named_in_request() -> Iterator[None]:
    """A refusal of the measurement, named where its field is in the request."""
    try:
        yield
    except InvalidInput as refused:
        raise InvalidInput(_PLACES.get(refused.field, refused.field), refused.rule) from None
