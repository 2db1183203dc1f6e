"""Backtests through the API on PostgreSQL: `POST /v1/backtests` queues one (202, Location) that a
`tbot backtest worker` process runs on the candles table, and `GET /v1/backtests/{id}` then gives
its report, the same figures as the same backtest run in process; bad requests are 422s naming the
field and queue nothing; the per-user and queue limits answer 429 and 503 with Retry-After; a
trader never sees another's backtest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from dependency_injector import providers

from domain.market import Candle
from domain.values import Symbol
from infrastructure.candles import CandleStore
from infrastructure.settings import Settings
from interfaces.backtest.runner import run_backtest
from interfaces.backtest.world import BacktestInputs
from interfaces.composition import Container
from tests.support.api import LIMITS, Api, api_on
from tests.support.processes import start_tbot, stop, wait_for

BTC = Symbol("BTC", "USDT")
START = datetime(2025, 1, 1, tzinfo=UTC)
MINUTES = 1_440  # one day: the range of _body()
USERS = {"alice": "trader", "bob": "trader", "carol": "trader", "audrey": "auditor"}


def _candles() -> list[Candle]:
    """Waves of an hour: sma_cross buys and sells on each."""
    candles, price = [], Decimal(50_000)
    for minute in range(MINUTES):
        close = price + (Decimal(25) if (minute // 30) % 2 == 0 else Decimal(-25))
        high, low = max(price, close) + 3, min(price, close) - 3
        candles.append(Candle(BTC, START + timedelta(minutes=minute), price, high, low, close, Decimal(2)))
        price = close
    return candles


def _body(**changes: Any) -> dict[str, Any]:
    return {
        "strategy": "sma_cross",
        "params": {"fast": 5, "slow": 20, "fraction": "0.5", "capital": "10000"},
        "symbol": "BTC/USDT",
        "start": "2025-01-01T00:00:00Z",
        "end": "2025-01-02T00:00:00Z",
        **changes,
    }


def _write_candles(settings: Settings) -> None:
    container = Container()
    container.settings.override(providers.Object(settings))
    CandleStore(container.read_engine()).write(_candles())
    container.read_engine().dispose()


@pytest.fixture
def api(postgres_settings: Settings) -> Iterator[Api]:
    limits = {"TBOT_BACKTEST_PER_USER": "2", "TBOT_BACKTEST_QUEUE": "3"}
    with api_on(postgres_settings, USERS, **limits) as running:
        _write_candles(postgres_settings)
        yield running


def _problems(answer: httpx.Response) -> list[tuple[str, str]]:
    assert answer.status_code == 422, answer.text
    return [(p["field"], p["rule"]) for p in answer.json()["error"]["problems"]]


def test_bad_requests_are_refused_naming_the_field_and_queue_nothing(api: Api) -> None:
    with api.client("alice") as http:
        cases = {
            "body.strategy": _body(strategy="no_such_strategy"),
            "body.params.fast": _body(params={"fast": 30, "slow": 20, "quantity": "0.1"}),
            "body.end": _body(end="2024-12-31T00:00:00Z"),
            "body.symbol": _body(symbol="ETH/USDT"),
            "body.fee_rate": _body(fee_rate="1"),
            "body.slippage_bps": _body(slippage_bps="-1"),
            "body.cash": _body(cash="0"),
            "body.limits.max_open_orders": _body(limits={**LIMITS, "max_open_orders": 0}),
            "body.colour": _body(colour="red"),
        }
        for field, body in cases.items():
            problems = _problems(http.post("/v1/backtests", json=body))
            assert [f for f, _ in problems] == [field], (field, problems)
        too_long = _problems(http.post("/v1/backtests", json=_body(end="2027-01-03T00:00:00Z")))
        assert too_long == [("body.end", "must be at most 731 days after start")]
        assert http.get("/v1/backtests").json() == []
    with api.client("audrey") as http:
        assert http.post("/v1/backtests", json=_body()).status_code == 403


def test_the_per_user_and_the_queue_limits_answer_429_and_503(api: Api) -> None:
    with api.client("alice") as alice, api.client("bob") as bob, api.client("carol") as carol:
        assert [alice.post("/v1/backtests", json=_body()).status_code for _ in range(2)] == [202, 202]
        mine = alice.post("/v1/backtests", json=_body())
        assert mine.status_code == 429 and mine.headers["Retry-After"] == "30"
        assert mine.json()["error"]["code"] == "too_many_backtests"
        assert bob.post("/v1/backtests", json=_body()).status_code == 202
        full = carol.post("/v1/backtests", json=_body())
        assert full.status_code == 503 and full.headers["Retry-After"] == "30"
        assert full.json()["error"]["code"] == "backtest_queue_full"
        assert len(alice.get("/v1/backtests").json()) == 2 and len(bob.get("/v1/backtests").json()) == 1


def test_a_queued_backtest_is_run_by_the_worker_and_its_report_read_back(
    api: Api, postgres_settings: Settings
) -> None:
    with api.client("alice") as http:
        accepted = http.post("/v1/backtests", json=_body(fee_rate="0.0005"))
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["candles"] == MINUTES
        location = accepted.headers["Location"]
        queued = http.get(location).json()
        assert queued["status"] == "queued" and queued["report"] is None
        assert queued["progress"] == {"done_candles": 0, "total_candles": MINUTES}
        worker = start_tbot(postgres_settings, "backtest", "worker", TBOT_BACKTEST_POLL_SECONDS="0.2")
        try:
            wait_for(lambda: http.get(location).json()["status"] in ("done", "failed"), 120, "the backtest")
        finally:
            stop(worker)
        done = http.get(location).json()
    assert done["status"] == "done", done["error"]
    assert done["progress"] == {"done_candles": MINUTES, "total_candles": MINUTES} and done["attempts"] == 1
    report = done["report"]
    inputs = BacktestInputs(
        strategy="sma_cross",
        params=_body()["params"],
        candles={BTC: _candles()},
        fee_rate=Decimal("0.0005"),
    )
    expected = run_backtest(inputs)
    assert report["metrics"] == expected.performance.plain()
    assert len(report["fills"]) == len(expected.outcome.fills) > 10
    assert report["inputs"]["fee_rate"] == "0.0005" and report["inputs"]["candles"]["candles"] == MINUTES
    assert report["equity_curve"][-1][1] == report["metrics"]["final_equity"]
    with api.client("bob") as http:
        assert http.get(location).status_code == 404
        assert http.get("/v1/backtests").json() == []
    with api.client("audrey") as http:
        seen = http.get(location)
        assert seen.status_code == 200 and seen.json()["owner"] == "alice"
        listed = http.get("/v1/backtests").json()
        assert [b["backtest_id"] for b in listed] == [done["backtest_id"]] and "report" not in listed[0]
