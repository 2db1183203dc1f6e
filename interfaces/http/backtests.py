"""Backtests through the API: ``POST /v1/backtests`` queues one for the backtest worker (`tbot
backtest worker`) on the candles read model, within the queue's limits; ``GET /v1/backtests/{id}``
says how far it is and, once done, gives its report (the same document as `tbot backtest run`'s
report.json, with the equity curve for a chart). Traders see their own backtests; auditors and
admins see every one."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from application.errors import InvalidInput, NotFound
from domain.values import Symbol
from infrastructure.backtest_queue import QueuedBacktest
from infrastructure.candles import CandleStore
from interfaces.decimals import plain
from interfaces.http.deps import Box, CallerDep, WriterDep
from interfaces.http.schemas import (
    ERRORS,
    FeeRate,
    Moment,
    Money,
    Name,
    Params,
    RiskLimitsBody,
    SlippageBps,
    SymbolText,
)

router = APIRouter(prefix="/v1", tags=["backtests"], responses=ERRORS)


class BacktestBody(BaseModel):
    """A strategy on the candles read model's one-minute candles of one market, from ``start``
    (inclusive) to ``end`` (exclusive), through the live code on a paper account."""

    model_config = ConfigDict(extra="forbid")

    strategy: Name = Field(examples=["sma_cross"], description="a strategy of GET /v1/strategies")
    params: Params = Field(default_factory=dict, examples=[{"fast": 10, "slow": 30, "fraction": "0.5"}])
    symbol: SymbolText = Field(examples=["BTC/USDT"])
    start: Moment = Field(examples=["2024-01-01T00:00:00Z"])
    end: Moment = Field(examples=["2024-02-01T00:00:00Z"])
    cash: Money = Field(
        default=Decimal(10_000), description="what the paper account starts with, in the quote currency"
    )
    fee_rate: FeeRate = Decimal("0.001")
    slippage_bps: SlippageBps = Decimal(0)
    limits: RiskLimitsBody | None = Field(
        default=None,
        description="risk limits as a bot takes them; none that a strategy would meet when absent",
    )


class BacktestAccepted(BaseModel):
    backtest_id: UUID
    status: Literal["queued"]
    candles: int = Field(description="how many candles it will run on")


class BacktestProgress(BaseModel):
    done_candles: int
    total_candles: int


class BacktestSummary(BaseModel):
    backtest_id: UUID
    owner: str
    status: Literal["queued", "running", "done", "failed"]
    request: dict[str, Any]
    progress: BacktestProgress
    error: str | None = Field(description="why it failed, when it did")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int = Field(
        description="how many times a worker started it (a dead worker's backtest is retried)"
    )


class BacktestDetail(BacktestSummary):
    report: dict[str, Any] | None = Field(
        description="once done: the report (metrics, fills, trades, counts, inputs) and `equity_curve`, "
        "at most 500 [time, equity] points for a chart"
    )


@router.post("/backtests", status_code=202, response_model=BacktestAccepted)
def submit_backtest(body: BacktestBody, caller: WriterDep, box: Box, response: Response) -> BacktestAccepted:
    """Queue a backtest. 422 for a strategy, parameters or range it cannot run (nothing is queued);
    429 when the caller has as many queued or running as they may, 503 when the queue is full
    (both with Retry-After)."""
    settings = box.settings().backtests
    symbol = Symbol.parse(body.symbol, "symbol")
    params = box.strategies().validate(body.strategy, body.params)
    if body.end <= body.start:
        raise InvalidInput("end", "must be later than start")
    if body.end - body.start > timedelta(days=settings.max_days):
        raise InvalidInput("end", f"must be at most {settings.max_days} days after start")
    candles = CandleStore(box.read_engine()).count(symbol, body.start, body.end)
    if candles == 0:
        raise InvalidInput(
            "symbol",
            f"the candles table has no candles of {symbol} from start to end (tbot marketdata fetch "
            "--into db fills it)",
        )
    request = {
        "strategy": body.strategy,
        "params": params,
        "symbol": str(symbol),
        "start": body.start.isoformat(),
        "end": body.end.isoformat(),
        "cash": plain(body.cash),
        "fee_rate": plain(body.fee_rate),
        "slippage_bps": plain(body.slippage_bps),
        "limits": body.limits.as_limits() if body.limits is not None else None,
    }
    backtest_id = box.backtests().submit(caller.user_id, request, settings.per_user, settings.queue, candles)
    response.headers["Location"] = f"/v1/backtests/{backtest_id}"
    return BacktestAccepted(backtest_id=backtest_id, status="queued", candles=candles)


@router.get("/backtests/{backtest_id}", response_model=BacktestDetail)
def get_backtest(backtest_id: UUID, caller: CallerDep, box: Box) -> BacktestDetail:
    """A backtest's status and progress, and its report once done (404 for another trader's)."""
    found = box.backtests().get(backtest_id)
    if found is None or not caller.may_read_owner(found.owner):
        raise NotFound("backtest", backtest_id)
    return BacktestDetail(**_summary(found), report=found.report)


@router.get("/backtests", response_model=list[BacktestSummary])
def list_backtests(
    caller: CallerDep, box: Box, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[BacktestSummary]:
    """The newest backtests first, without their reports: a trader's own, or everyone's for
    auditors and admins."""
    return [BacktestSummary(**_summary(b)) for b in box.backtests().recent(caller.only_owner, limit)]


def _summary(backtest: QueuedBacktest) -> dict[str, Any]:
    return {
        "backtest_id": backtest.backtest_id,
        "owner": backtest.owner,
        "status": backtest.status,
        "request": backtest.request,
        "progress": BacktestProgress(
            done_candles=backtest.done_candles, total_candles=backtest.total_candles
        ),
        "error": backtest.error,
        "created_at": backtest.created_at,
        "started_at": backtest.started_at,
        "finished_at": backtest.finished_at,
        "attempts": backtest.attempts,
    }
