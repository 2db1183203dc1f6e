"""The query API: reads the projections only, through SQLAlchemy's async engine (asyncpg or
aiosqlite). Traders see their own bots' rows; auditors and admins see every row. Any query waits,
with ``min_position``, until the read models it reads have reached that position (bounded, then
503 with Retry-After)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.ext.asyncio import AsyncConnection

from application.access import Caller, check_bot
from application.errors import InvalidInput, NotFound
from domain.position_math import PositionState
from interfaces.composition import Container
from interfaces.http.deps import Box, CallerDep, QueryEngineDep
from interfaces.http.errors import NotCaughtUp
from interfaces.http.paging import EventPosition, Keyset, page
from interfaces.http.read_models import (
    Bot,
    BotPage,
    Fill,
    FillPage,
    Order,
    OrderPage,
    OrderWithFills,
    Position,
    RiskDecision,
    RiskDecisionPage,
    SignalPage,
    SignalRow,
    StrategyDecision,
    StrategyDecisionPage,
)
from interfaces.http.schemas import (
    ERRORS,
    PRINTABLE,
    CandleRow,
    MarkPrice,
    Moment,
    PnlPoint,
    WholeNumber,
)
from projections import queries
from projections.queries import ReadModelOwners

router = APIRouter(prefix="/v1", tags=["queries"], responses=ERRORS)

MinPosition = Annotated[
    WholeNumber | None,
    Query(ge=0, description="wait until the read models have applied this global position"),
]
Limit = Annotated[WholeNumber, Query(ge=1, le=500)]
SymbolFilter = Annotated[str | None, Query(max_length=40, pattern=PRINTABLE)]
Cursor = Annotated[str | None, Query(max_length=400, description="next_cursor of the previous page")]

BOT_KEYS = Keyset.of(tuple[Moment, UUID], *queries.BOTS_SORT)
ORDER_KEYS = Keyset.of(tuple[Moment, UUID], *queries.ORDERS_SORT)
FILL_KEYS = Keyset.of(tuple[EventPosition], *queries.FILLS_SORT)
DECISION_KEYS = Keyset.of(tuple[EventPosition], *queries.DECISIONS_SORT)
STRATEGY_DECISION_KEYS = Keyset.of(tuple[EventPosition], *queries.STRATEGY_DECISIONS_SORT)
SIGNAL_KEYS = Keyset.of(tuple[EventPosition], *queries.SIGNALS_SORT)


async def caught_up(conn: AsyncConnection, box: Container, names: Sequence[str], wanted: int | None) -> None:
    """Waits until these read models have applied position ``wanted``. A position the event store
    has not reached is a mistake (422), not something to wait for."""
    if wanted is None:
        return
    head = await run_in_threadpool(box.store().last_position)
    if wanted > head:
        raise InvalidInput("query.min_position", f"is beyond the newest event (position {head})")
    deadline = time.monotonic() + box.settings().api.read_wait_seconds
    while True:
        reached = (await conn.execute(queries.applied_position(names))).scalar_one()
        await conn.rollback()  # a fresh snapshot for the next look
        reached = int(reached or 0)
        if reached >= wanted:
            return
        if time.monotonic() >= deadline:
            raise NotCaughtUp(wanted, reached)
        await asyncio.sleep(0.02)


async def check_readable_bot(conn: AsyncConnection, caller: Caller, bot_id: UUID | None) -> None:
    """NotFound unless the caller may see this bot (application.access.check_bot, with the owner
    looked up in the read models on this connection); nothing to check without a bot."""
    if bot_id is not None:
        await conn.run_sync(lambda sync: check_bot(ReadModelOwners(sync), caller, bot_id))


@router.get("/bots", response_model=BotPage)
async def list_bots(
    caller: CallerDep,
    engine: QueryEngineDep,
    box: Box,
    limit: Limit = 100,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> Any:
    async with engine.connect() as conn:
        await caught_up(conn, box, ["bots"], min_position)
        return await page(conn, queries.bots(caller), BOT_KEYS, limit, cursor, Bot)


@router.get("/bots/{bot_id}", response_model=Bot)
async def get_bot(
    bot_id: UUID, caller: CallerDep, engine: QueryEngineDep, box: Box, min_position: MinPosition = None
) -> Any:
    async with engine.connect() as conn:
        await caught_up(conn, box, ["bots"], min_position)
        await check_readable_bot(conn, caller, bot_id)
        return dict((await conn.execute(queries.bot(bot_id))).mappings().one())


@router.get("/orders", response_model=OrderPage)
async def list_orders(
    caller: CallerDep,
    engine: QueryEngineDep,
    box: Box,
    bot_id: UUID | None = None,
    symbol: SymbolFilter = None,
    status: Annotated[str | None, Query(max_length=20, pattern=PRINTABLE)] = None,
    placed_from: Moment | None = None,
    placed_to: Moment | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> Any:
    """Orders, oldest first; filter by bot, symbol, status and placement time."""
    async with engine.connect() as conn:
        await caught_up(conn, box, ["orders", "bots"], min_position)
        await check_readable_bot(conn, caller, bot_id)
        query = queries.orders(
            caller, bot_id=bot_id, symbol=symbol, status=status, placed_from=placed_from, placed_to=placed_to
        )
        return await page(conn, query, ORDER_KEYS, limit, cursor, Order)


@router.get("/orders/{order_id}", response_model=OrderWithFills)
async def get_order(
    order_id: UUID,
    caller: CallerDep,
    engine: QueryEngineDep,
    box: Box,
    min_position: MinPosition = None,
) -> Any:
    async with engine.connect() as conn:
        await caught_up(conn, box, ["orders", "fills", "bots"], min_position)
        query = queries.scoped(queries.order(order_id), queries.ORDERS.c.bot_id, caller)
        order = (await conn.execute(query)).mappings().first()
        if order is None:
            raise NotFound("order", order_id)
        fills = await conn.execute(queries.fills_of_order(order_id))
        return {"order": dict(order), "fills": [dict(f) for f in fills.mappings()]}


@router.get("/fills", response_model=FillPage)
async def list_fills(
    caller: CallerDep,
    engine: QueryEngineDep,
    box: Box,
    bot_id: UUID | None = None,
    symbol: SymbolFilter = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> Any:
    async with engine.connect() as conn:
        await caught_up(conn, box, ["fills", "bots"], min_position)
        await check_readable_bot(conn, caller, bot_id)
        query = queries.fills(caller, bot_id=bot_id, symbol=symbol)
        return await page(conn, query, FILL_KEYS, limit, cursor, Fill)


@router.get("/positions", response_model=list[Position])  # type: ignore[valid-type]
async def list_positions(
    caller: CallerDep,
    engine: QueryEngineDep,
    box: Box,
    bot_id: UUID | None = None,
    min_position: MinPosition = None,
) -> Any:
    async with engine.connect() as conn:
        await caught_up(conn, box, ["positions", "bots"], min_position)
        await check_readable_bot(conn, caller, bot_id)
        rows = await conn.execute(queries.marked(queries.positions(caller, bot_id=bot_id)))
        return [_with_unrealized(dict(r)) for r in rows.mappings()]


def _with_unrealized(row: dict[str, Any]) -> dict[str, Any]:
    """The position valued at the symbol's mark price, when market data has one."""
    mark = row["mark_price"]
    state = PositionState(row["quantity"], row["average_price"], row["realized_pnl"])
    row["unrealized_pnl"] = None if mark is None else state.unrealized_pnl(mark)
    return row


@router.get("/pnl", response_model=list[PnlPoint])
async def pnl(
    bot_id: UUID,
    symbol: Annotated[str, Query(max_length=40, pattern=PRINTABLE)],
    caller: CallerDep,
    engine: QueryEngineDep,
    box: Box,
    bucket: Literal["1m", "1h", "1d"] = "1h",
    min_position: MinPosition = None,
) -> Any:
    """Realized PnL and position at the end of each bucket (time_bucket or date_bin)."""
    async with engine.connect() as conn:
        await caught_up(conn, box, ["pnl", "bots"], min_position)
        await check_readable_bot(conn, caller, bot_id)
        backend = box.read_models().backend
        return queries.pnl_points(await conn.execute(queries.pnl_series(backend, bot_id, symbol, bucket)))


@router.get("/risk-decisions", response_model=RiskDecisionPage)
async def list_risk_decisions(
    caller: CallerDep,
    engine: QueryEngineDep,
    box: Box,
    bot_id: UUID | None = None,
    decision: Literal["admitted", "denied"] | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> Any:
    async with engine.connect() as conn:
        await caught_up(conn, box, ["risk_decisions", "bots"], min_position)
        await check_readable_bot(conn, caller, bot_id)
        query = queries.risk_decisions(caller, bot_id=bot_id, decision=decision)
        return await page(conn, query, DECISION_KEYS, limit, cursor, RiskDecision)


@router.get("/bots/{bot_id}/decisions", response_model=StrategyDecisionPage)
async def list_strategy_decisions(
    bot_id: UUID,
    caller: CallerDep,
    engine: QueryEngineDep,
    box: Box,
    acted: Annotated[
        bool | None, Query(description="true: only decisions with intents; false: only no action")
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> Any:
    """What the bot's strategy decided on each closed candle of its timeframe, oldest first: the
    candle's close (`candle_at`), the parameters' fingerprint, and the intents (the orders they
    became; empty for no action). The orders carry client order ids `s-<candle>-<index>`."""
    async with engine.connect() as conn:
        await caught_up(conn, box, ["strategy_decisions", "bots"], min_position)
        await check_readable_bot(conn, caller, bot_id)
        query = queries.strategy_decisions(caller, bot_id, acted=acted)
        return await page(conn, query, STRATEGY_DECISION_KEYS, limit, cursor, StrategyDecision)


@router.get("/bots/{bot_id}/signals", response_model=SignalPage)
async def list_signals(
    bot_id: UUID,
    caller: CallerDep,
    engine: QueryEngineDep,
    box: Box,
    status: Literal["received", "parsed", "rejected", "called_off", "executed"] | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> Any:
    """The signal messages the bot received, in the order received, and what became of each
    (docs/signals.md, "Trading signals"): its text (the latest edit's), the plan read from it or
    the reason codes it was refused with, which reader read it (`rules` or `llm`), the orders
    placed, denied by the risk rules, and cancelled for it."""
    async with engine.connect() as conn:
        await caught_up(conn, box, ["signals", "bots"], min_position)
        await check_readable_bot(conn, caller, bot_id)
        query = queries.signals(caller, bot_id, status=status)
        return await page(conn, query, SIGNAL_KEYS, limit, cursor, SignalRow)


@router.get("/prices", response_model=list[MarkPrice])
async def list_mark_prices(caller: CallerDep, engine: QueryEngineDep) -> Any:
    """The latest mark price of each symbol market data follows."""
    async with engine.connect() as conn:
        rows = await conn.execute(queries.mark_prices())
        return [dict(r) for r in rows.mappings()]


@router.get("/candles", response_model=list[CandleRow])
async def list_candles(
    symbol: Annotated[str, Query(max_length=40, pattern=PRINTABLE)],
    caller: CallerDep,
    engine: QueryEngineDep,
    box: Box,
    start: Annotated[Moment | None, Query(description="first minute (inclusive)")] = None,
    end: Annotated[Moment | None, Query(description="last minute (exclusive)")] = None,
    limit: Limit = 100,
) -> Any:
    """One-minute candles of ``symbol``, oldest first: the latest ``limit`` of them in the range."""
    query = queries.latest_candles(box.read_models().backend, symbol, start, end, limit)
    async with engine.connect() as conn:
        rows = await conn.execute(query)
        return list(reversed([dict(r) for r in rows.mappings()]))
