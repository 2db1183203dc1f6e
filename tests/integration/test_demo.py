"""`make run` plays the demo; its numbers must equal the reference position math of docs/architecture.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
from websockets.sync.client import connect

from domain.risk import ReasonCode
from infrastructure.settings import Settings
from interfaces.demo import read_back, run_demo
from tests.properties.test_position_math_reference import reference
from tests.support.api import answers, free_port
from tests.support.processes import wait_for
from tests.support.read_side import read_side_on

# The demo's fills: (sign, quantity, price, fee, fee in base currency)
DEMO_FILLS = [
    (1, Decimal("0.2"), Decimal("59990"), Decimal("0.0002"), True),
    (1, Decimal("0.3"), Decimal("60010"), Decimal("18.003"), False),
    (-1, Decimal("0.8"), Decimal("61000"), Decimal("48.8"), False),
]


def test_demo_read_models_equal_the_reference(sqlite_settings: Settings) -> None:
    with read_side_on(sqlite_settings) as rs:
        container = rs.container
        report = run_demo(container.bus(), container.store(), container.prices())
        assert rs.catch_up() == {}
        shown = read_back(rs.read_models, container.live_store(), report)
    [line] = shown.positions
    quantity, average, realized = reference(DEMO_FILLS)
    assert (line.quantity, line.average_price, line.realized_pnl) == (quantity, average, realized)
    assert (quantity, average, realized) == (Decimal("-0.3"), Decimal("61000"), Decimal("420.199"))
    assert line.unrealized_pnl == quantity * (Decimal("60500") - average) == Decimal("150")
    assert set(report.denial.reason_codes) == {ReasonCode.MAX_ORDER_NOTIONAL, ReasonCode.MAX_POSITION}
    assert [(o["client_order_id"], o["status"]) for o in shown.orders] == [
        ("demo-buy-1", "filled"),
        ("demo-sell-1", "filled"),
    ]
    assert shown.pnl[-1]["realized_pnl"] == realized
    assert Decimal(shown.live_pnl["realized_pnl"]) == realized
    assert [d["decision"] for d in shown.decisions] == ["admitted", "admitted", "denied"]


def test_tbot_demo_runs_on_the_embedded_default(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "DATABASE_URL", "TBOT_"))}
    env["TBOT_SQLITE_PATH"] = str(tmp_path / "demo.sqlite3")
    env["TBOT_READ_SQLITE_PATH"] = str(tmp_path / "demo-read.sqlite3")
    tbot = Path(sys.executable).with_name("tbot")
    result = subprocess.run(
        [str(tbot), "demo"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "420.199" in result.stdout
    # decimals written as the API writes them: no trailing zeros (the live model keeps "420.1990")
    assert "realized PnL 420.199 at event" in result.stdout and "420.1990" not in result.stdout
    assert "MAX_ORDER_NOTIONAL, MAX_POSITION" in result.stdout
    assert "positions (read model)" in result.stdout and "PnL by minute" in result.stdout
    assert (tmp_path / "demo.sqlite3").exists()


def test_make_run_serves_the_demo_over_http_until_stopped(tmp_path: Path) -> None:
    """`make run` (`tbot run`): the demo, then the API and the workers; the printed key reads the
    demo bot's orders and position back over HTTP, a new order fills on the paper exchange, and
    the second demo bot, running `sma_cross`, buys by itself within its first minute; SIGTERM
    stops it cleanly."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "DATABASE_URL", "TBOT_"))}
    env.update(
        TBOT_SQLITE_PATH=str(tmp_path / "run.sqlite3"),
        TBOT_READ_SQLITE_PATH=str(tmp_path / "run-read.sqlite3"),
        COLUMNS="300",
    )
    port = free_port()
    tbot = Path(sys.executable).with_name("tbot")
    process = subprocess.Popen(
        [str(tbot), "run", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        printed: list[str] = []
        key = bot_id = sma_bot = None
        started = time.monotonic()
        assert process.stdout is not None
        for line in process.stdout:  # the server prints the key and the bots, then serves
            printed.append(line)
            if "API key (shown once):" in line:
                key = line.rsplit(":", 1)[1].strip()
            if line.startswith("demo bot "):
                bot_id = line.split()[2].rstrip(";")
            if line.startswith("strategy bot "):
                sma_bot = line.split()[2]
                break
        assert key and bot_id and sma_bot, "".join(printed)
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: answers(base), 30, "the server")
        headers = {"X-API-Key": key}
        orders = httpx.get(f"{base}/v1/orders", params={"bot_id": bot_id}, headers=headers).json()["items"]
        assert [(o["client_order_id"], o["status"]) for o in orders] == [
            ("demo-buy-1", "filled"),
            ("demo-sell-1", "filled"),
        ]
        [position] = httpx.get(f"{base}/v1/positions", params={"bot_id": bot_id}, headers=headers).json()
        assert (Decimal(position["quantity"]), Decimal(position["realized_pnl"])) == (
            Decimal("-0.3"),
            Decimal("420.199"),
        )
        # the live feed, kept by this process itself: the demo's events from the start
        with connect(f"ws://127.0.0.1:{port}/v1/feed?after=0", additional_headers=headers) as feed:
            assert json.loads(feed.recv(timeout=10))["type"] == "subscribed"
            events = [json.loads(feed.recv(timeout=10)) for _ in range(6)]
        assert [e["position"] for e in events] == [1, 2, 3, 4, 5, 6]
        assert events[0]["event"] == "Bot.Created" and events[0]["bot_id"] == bot_id
        # execution on the paper exchange at the market-data marks: a new order fills
        order = {"symbol": "BTC/USDT", "side": "buy", "order_type": "market", "quantity": "0.1"}
        placed = httpx.post(f"{base}/v1/bots/{bot_id}/orders", json=order, headers=headers)
        assert placed.status_code == 201, placed.text

        def position_now() -> Decimal:
            [line] = httpx.get(f"{base}/v1/positions", params={"bot_id": bot_id}, headers=headers).json()
            return Decimal(line["quantity"])

        wait_for(lambda: position_now() == Decimal("-0.2"), 30, "the new order to fill")
        filled = httpx.get(f"{base}/v1/orders/{placed.json()['id']}", headers=headers).json()
        assert filled["order"]["status"] == "filled" and filled["fills"][0]["trade_id"].startswith("paper-t")

        _bought_by_itself_within_a_minute(base, headers, sma_bot, started)
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=30)
    # the workers stop and are waited for, then the application closes what they used; exit 0
    assert process.returncode == 0 and "Traceback" not in errors, errors


def _bought_by_itself_within_a_minute(
    base: str, headers: dict[str, str], bot_id: str, started: float
) -> None:
    """The strategy bot's first decision (on the latest closed candle) bought, and it filled."""

    def orders() -> list[dict[str, object]]:
        answer = httpx.get(f"{base}/v1/orders", params={"bot_id": bot_id}, headers=headers)
        items: list[dict[str, object]] = answer.json()["items"]
        return items

    wait_for(lambda: any(o["status"] == "filled" for o in orders()), 60, "the sma bot's buy")
    assert time.monotonic() - started < 60
    [bought] = orders()
    assert (bought["side"], bought["order_type"]) == ("buy", "market")
    assert str(bought["client_order_id"]).startswith("s-")
    decisions = httpx.get(f"{base}/v1/bots/{bot_id}/decisions", headers=headers).json()["items"]
    assert [d["strategy"] for d in decisions if d["intent_count"]] == ["sma_cross"]
