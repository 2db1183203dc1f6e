"""The whole system end to end on PostgreSQL and Redis: an order placed over HTTP is sent to the
paper exchange by `tbot execution run`, fills at the price `tbot marketdata run` marks, and shows
in positions (with unrealized PnL at the mark), PnL, fills and the live feed."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from infrastructure.settings import Settings
from tests.support.api import LIMITS, Api, api_on
from tests.support.feed import FeedClient
from tests.support.processes import start_tbot, stop, wait_for

pytestmark = pytest.mark.postgres

WORKERS = {"TBOT_EXECUTION_POLL_SECONDS": "0.1", "TBOT_MARKETDATA_INTERVAL_SECONDS": "0.2"}


@pytest.fixture(scope="module")
def system(request: pytest.FixtureRequest) -> Iterator[tuple[Api, Settings]]:
    settings: Settings = request.getfixturevalue("module_postgres_redis_settings")
    with api_on(settings, {"alice": "trader"}, **WORKERS) as api:
        workers: list[subprocess.Popen[str]] = [
            start_tbot(settings, "execution", "run", **WORKERS),
            start_tbot(settings, "marketdata", "run", **WORKERS),
        ]
        try:
            yield api, settings
        finally:
            for worker in workers:
                stop(worker)


def _get(api: Api, path: str, **params: Any) -> Any:
    with api.client("alice") as http:
        answer = http.get(path, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()


def test_an_http_order_fills_on_paper_and_shows_everywhere(system: tuple[Api, Settings]) -> None:
    api, _ = system
    bot_id = api.create_bot("alice", limits={**LIMITS, "price_band_pct": "0.5"})
    wait_for(lambda: any(p["symbol"] == "BTC/USDT" for p in _get(api, "/v1/prices")), 30, "a BTC mark price")
    with FeedClient(api, "alice") as feed, api.client("alice") as http:
        placed = http.post(
            f"/v1/bots/{bot_id}/orders",
            json={
                "symbol": "BTC/USDT",
                "side": "buy",
                "order_type": "market",
                "quantity": "0.05",
                "client_order_id": "e2e-1",
            },
        )
        assert placed.status_code == 201, placed.text
        order_id, position = placed.json()["id"], placed.json()["position"]

        def filled() -> bool:  # read-your-writes: the read models have the order once at its position
            order = _get(api, f"/v1/orders/{order_id}", min_position=position)
            return bool(order["order"]["status"] == "filled")

        wait_for(filled, 30, "the order to fill")
        seen: list[str] = []
        while "Order.Filled" not in seen:
            message = feed.next()
            if message["type"] == "event":
                seen.append(message["event"])
        assert seen[:4] == ["Bot.OrderAdmitted", "Order.Placed", "Order.Submitted", "Order.Accepted"]

    order = _get(api, f"/v1/orders/{order_id}")
    [fill] = order["fills"]
    assert Decimal(fill["quantity"]) == Decimal("0.05") and fill["trade_id"].startswith("paper-")
    [position] = _get(api, "/v1/positions", bot_id=bot_id)
    assert Decimal(position["quantity"]) == Decimal("0.05")
    assert Decimal(position["average_price"]) == Decimal(fill["price"])
    mark = Decimal(position["mark_price"])
    assert Decimal(position["unrealized_pnl"]) == Decimal("0.05") * (
        mark - Decimal(position["average_price"])
    )
    points = _get(api, "/v1/pnl", bot_id=bot_id, symbol="BTC/USDT", bucket="1m")
    assert Decimal(points[-1]["quantity"]) == Decimal("0.05")
    candles = _get(api, "/v1/candles", symbol="BTC/USDT")
    assert candles and all(Decimal(c["low"]) <= Decimal(c["close"]) <= Decimal(c["high"]) for c in candles)
