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
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from application.access import Caller
from application.errors import InvalidInput, NotFound
from domain.position_math import PositionState
from infrastructure.candles import candles_table
from infrastructure.mark_prices import MARK_PRICES
from interfaces.http.deps import CallerDep, Container, QueryEngineDep
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
from projections.engine.read_models import TRACKING
from projections.queries import VIEWS, pnl_points, pnl_series_query

router = APIRouter(prefix="/v1", tags=["queries"], responses=ERRORS)

MinPosition = Annotated[
    WholeNumber | None,
    Query(ge=0, description="wait until the read models have applied this global position"),
]
Limit = Annotated[WholeNumber, Query(ge=1, le=500)]
SymbolFilter = Annotated[str | None, Query(max_length=40, pattern=PRINTABLE)]
Cursor = Annotated[str | None, Query(max_length=400, description="next_cursor of the previous page")]

BOTS, ORDERS, FILLS = VIEWS["bots"], VIEWS["orders"], VIEWS["fills"]
POSITIONS, DECISIONS = VIEWS["positions"], VIEWS["risk_decisions"]

BOT_KEYS = Keyset.of(tuple[Moment, UUID], BOTS.c.created_at, BOTS.c.bot_id)
ORDER_KEYS = Keyset.of(tuple[Moment, UUID], ORDERS.c.placed_at, ORDERS.c.order_id)
FILL_KEYS = Keyset.of(tuple[EventPosition], FILLS.c.event_position)
DECISION_KEYS = Keyset.of(tuple[EventPosition], DECISIONS.c.event_position)


async def _caught_up(conn: AsyncConnection, box: Any, names: Sequence[str], wanted: int | None) -> None:
    """Waits until these read models have applied position ``wanted``. A position the event store
    has not reached is a mistake (422), not something to wait for."""
    if wanted is None:
        return
    head = await run_in_threadpool(box.store().last_position)
    if wanted > head:
        raise InvalidInput("query.min_position", f"is beyond the newest event (position {head})")
    deadline = time.monotonic() + box.settings().read_wait_seconds
    while True:
        reached = (
            await conn.execute(select(func.min(TRACKING.c.position)).where(TRACKING.c.name.in_(list(names))))
        ).scalar_one()
        await conn.rollback()  # a fresh snapshot for the next look
        reached = int(reached or 0)
        if reached >= wanted:
            return
        if time.monotonic() >= deadline:
            raise NotCaughtUp(wanted, reached)
        await asyncio.sleep(0.02)


def _visible_bots(caller: Caller) -> Any:
    """A condition on a bot_id column: the bots this caller may read."""
    return select(BOTS.c.bot_id).where(BOTS.c.owner == caller.user_id)


def _scoped(query: Select[Any], bot_column: Any, caller: Caller) -> Select[Any]:
    return query if caller.reads_everything else query.where(bot_column.in_(_visible_bots(caller)))


async def _check_bot(conn: AsyncConnection, caller: Caller, bot_id: UUID) -> dict[str, Any]:
    row = (await conn.execute(select(BOTS).where(BOTS.c.bot_id == bot_id))).mappings().first()
    if row is None or not caller.may_read_owner(row["owner"]):
        raise NotFound("bot", bot_id)
    return dict(row)


async def _rows_of(conn: AsyncConnection, caller: Caller, view: Any, bot_id: UUID | None) -> Select[Any]:
    """The rows of a view that this caller may read; only one bot's when ``bot_id`` is given
    (NotFound if that bot is not the caller's)."""
    query = _scoped(select(view), view.c.bot_id, caller)
    if bot_id is not None:
        await _check_bot(conn, caller, bot_id)
        query = query.where(view.c.bot_id == bot_id)
    return query


@router.get("/bots", response_model=BotPage)
async def list_bots(
    caller: CallerDep,
    engine: QueryEngineDep,
    box: Container,
    limit: Limit = 100,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> Any:
    async with engine.connect() as conn:
        await _caught_up(conn, box, ["bots"], min_position)
        query = _scoped(select(BOTS), BOTS.c.bot_id, caller)
        return await page(conn, query, BOT_KEYS, limit, cursor, Bot)


@router.get("/bots/{bot_id}", response_model=Bot)
async def get_bot(
    bot_id: UUID, caller: CallerDep, engine: QueryEngineDep, box: Container, min_position: MinPosition = None
) -> Any:
    async with engine.connect() as conn:
        await _caught_up(conn, box, ["bots"], min_position)
        return await _check_bot(conn, caller, bot_id)


@router.get("/orders", response_model=OrderPage)
async def list_orders(
    caller: CallerDep,
    engine: QueryEngineDep,
    box: Container,
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
        await _caught_up(conn, box, ["orders", "bots"], min_position)
        query = await _rows_of(conn, caller, ORDERS, bot_id)
        if symbol is not None:
            query = query.where(ORDERS.c.symbol == symbol)
        if status is not None:
            query = query.where(ORDERS.c.status == status)
        if placed_from is not None:
            query = query.where(ORDERS.c.placed_at >= placed_from)
        if placed_to is not None:
            query = query.where(ORDERS.c.placed_at < placed_to)
        return await page(conn, query, ORDER_KEYS, limit, cursor, Order)


@router.get("/orders/{order_id}", response_model=OrderWithFills)
async def get_order(
    order_id: UUID,
    caller: CallerDep,
    engine: QueryEngineDep,
    box: Container,
    min_position: MinPosition = None,
) -> Any:
    async with engine.connect() as conn:
        await _caught_up(conn, box, ["orders", "fills", "bots"], min_position)
        query = _scoped(select(ORDERS).where(ORDERS.c.order_id == order_id), ORDERS.c.bot_id, caller)
        order = (await conn.execute(query)).mappings().first()
        if order is None:
            raise NotFound("order", order_id)
        fills = await conn.execute(
            select(FILLS).where(FILLS.c.order_id == order_id).order_by(FILLS.c.event_position)
        )
        return {"order": dict(order), "fills": [dict(f) for f in fills.mappings()]}


@router.get("/fills", response_model=FillPage)
async def list_fills(
    caller: CallerDep,
    engine: QueryEngineDep,
    box: Container,
    bot_id: UUID | None = None,
    symbol: SymbolFilter = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> Any:
    async with engine.connect() as conn:
        await _caught_up(conn, box, ["fills", "bots"], min_position)
        query = await _rows_of(conn, caller, FILLS, bot_id)
        if symbol is not None:
            query = query.where(FILLS.c.symbol == symbol)
        return await page(conn, query, FILL_KEYS, limit, cursor, Fill)


@router.get("/positions", response_model=list[Position])  # type: ignore[valid-type]
async def list_positions(
    caller: CallerDep,
    engine: QueryEngineDep,
    box: Container,
    bot_id: UUID | None = None,
    min_position: MinPosition = None,
) -> Any:
    async with engine.connect() as conn:
        await _caught_up(conn, box, ["positions", "bots"], min_position)
        query = await _rows_of(conn, caller, POSITIONS, bot_id)
        marked = query.add_columns(
            MARK_PRICES.c.price.label("mark_price"), MARK_PRICES.c.at.label("marked_at")
        )
        marked = marked.outerjoin(MARK_PRICES, MARK_PRICES.c.symbol == POSITIONS.c.symbol)
        rows = await conn.execute(marked.order_by(POSITIONS.c.bot_id, POSITIONS.c.symbol))
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
    box: Container,
    bucket: Literal["1m", "1h", "1d"] = "1h",
    min_position: MinPosition = None,
) -> Any:
    """Realized PnL and position at the end of each bucket (time_bucket or date_bin)."""
    async with engine.connect() as conn:
        await _caught_up(conn, box, ["pnl", "bots"], min_position)
        await _check_bot(conn, caller, bot_id)
        backend = box.read_models().backend
        return pnl_points(await conn.execute(pnl_series_query(backend, bot_id, symbol, bucket)))


@router.get("/risk-decisions", response_model=RiskDecisionPage)
async def list_risk_decisions(
    caller: CallerDep,
    engine: QueryEngineDep,
    box: Container,
    bot_id: UUID | None = None,
    decision: Literal["admitted", "denied"] | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> Any:
    async with engine.connect() as conn:
        await _caught_up(conn, box, ["risk_decisions", "bots"], min_position)
        query = await _rows_of(conn, caller, DECISIONS, bot_id)
        if decision is not None:
            query = query.where(DECISIONS.c.decision == decision)
        return await page(conn, query, DECISION_KEYS, limit, cursor, RiskDecision)


@router.get("/prices", response_model=list[MarkPrice])
async def list_mark_prices(caller: CallerDep, engine: QueryEngineDep) -> Any:
    """The latest mark price of each symbol market data follows."""
    async with engine.connect() as conn:
        rows = await conn.execute(select(MARK_PRICES).order_by(MARK_PRICES.c.symbol))
        return [dict(r) for r in rows.mappings()]


@router.get("/candles", response_model=list[CandleRow])
async def list_candles(
    symbol: Annotated[str, Query(max_length=40, pattern=PRINTABLE)],
    caller: CallerDep,
    engine: QueryEngineDep,
    box: Container,
    start: Annotated[Moment | None, Query(description="first minute (inclusive)")] = None,
    end: Annotated[Moment | None, Query(description="last minute (exclusive)")] = None,
    limit: Limit = 100,
) -> Any:
    """One-minute candles of ``symbol``, oldest first: the latest ``limit`` of them in the range."""
    table = candles_table(box.read_models().backend)
    query = select(table).where(table.c.symbol == symbol)
    if start is not None:
        query = query.where(table.c.opened_at >= start)
    if end is not None:
        query = query.where(table.c.opened_at < end)
    async with engine.connect() as conn:
        rows = await conn.execute(query.order_by(table.c.opened_at.desc()).limit(limit))
        return list(reversed([dict(r) for r in rows.mappings()]))
