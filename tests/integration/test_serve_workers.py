"""`tbot serve --workers 2`: two API processes share one port behind one PostgreSQL; both answer,
commands through either are recorded once each, and a SIGTERM to the parent ends every one of
them normally."""

from __future__ import annotations

import os
import signal
import time

import httpx

from infrastructure.settings import Settings
from tests.support.api import PASSWORD, PRICES, free_port
from tests.support.processes import start_tbot, tbot, wait_for

ORDERS = 40


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_two_server_processes_share_the_port_and_stop_together(postgres_settings: Settings) -> None:
    assert tbot(postgres_settings, "db", "init").returncode == 0
    assert tbot(postgres_settings, "users", "create", "alice", "--password", PASSWORD).returncode == 0
    key = tbot(postgres_settings, "keys", "create", "alice").stdout.strip()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"TBOT_REFERENCE_PRICES": PRICES, "TBOT_RATE_LIMIT_PER_SECOND": "10000"}
    parent = start_tbot(postgres_settings, "serve", "--port", str(port), "--workers", "2", **env)
    seen: set[int] = set()
    try:
        wait_for(lambda: _answers(base), 60, "the servers to answer")
        deadline = time.monotonic() + 60
        while len(seen) < 2 and time.monotonic() < deadline:
            with httpx.Client(base_url=base, timeout=10) as fresh:  # a new connection each time
                seen.add(fresh.get("/health/live").json()["process"])
        assert len(seen) == 2 and parent.pid not in seen, seen

        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as http:
            body = {"name": "b", "strategy": "manual", "allowed_symbols": ["BTC/USDT"], "limits": _LIMITS}
            bot_id = http.post("/v1/bots", json=body).json()["id"]
            assert http.post(f"/v1/bots/{bot_id}/start").status_code == 200
        placed = set()
        for n in range(ORDERS):
            with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as fresh:
                order = {
                    "symbol": "BTC/USDT",
                    "side": "buy",
                    "order_type": "limit",
                    "price": "49000",
                    "quantity": "0.001",
                    "client_order_id": f"w-{n}",
                }
                answer = fresh.post(f"/v1/bots/{bot_id}/orders", json=order)
                assert answer.status_code == 201, answer.text
                placed.add(answer.json()["id"])
        assert len(placed) == ORDERS
        events = tbot(postgres_settings, "events", "replay", "--json")
        assert events.returncode == 0, events.stderr
        assert events.stdout.count('"Order.Placed"') == ORDERS

        parent.send_signal(signal.SIGTERM)
        assert parent.wait(30) == 0
        assert not any(_alive(pid) for pid in seen), "a server process outlived the parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for pid in seen:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


_LIMITS = {
    "max_order_notional": "100000",
    "max_position_notional": "1000000",
    "max_open_orders": 1000,
    "daily_loss_limit": "1000",
    "price_band_pct": "0.05",
    "max_orders_per_minute": 10_000,
}


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health/live", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
