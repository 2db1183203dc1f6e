"""`tbot serve --workers 2`: two API processes share one port behind one PostgreSQL; both answer,
commands through either are recorded once each, one that is killed is replaced by a new one, and
a SIGTERM to the parent ends every one of them normally."""

from __future__ import annotations

import os
import signal

from infrastructure.settings import Settings
from tests.support.api import LIMITS, answering_processes, api_on
from tests.support.processes import tbot

ORDERS = 40


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_two_server_processes_share_the_port_and_stop_together(postgres_settings: Settings) -> None:
    seen: set[int] = set()
    env = {"TBOT_RATE_LIMIT_PER_SECOND": "10000"}
    try:
        with api_on(postgres_settings, {"alice": "trader"}, serve_args=("--workers", "2"), **env) as api:
            parent = api.server
            assert parent is not None
            seen = answering_processes(api, 2)
            assert len(seen) == 2 and parent.pid not in seen, seen

            bot_id = api.create_bot("alice", limits={**LIMITS, "max_open_orders": 1000})
            placed = set()
            for n in range(ORDERS):
                with api.client("alice") as fresh:
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

            killed = min(seen)
            os.kill(killed, signal.SIGKILL)
            answering = answering_processes(api, 2)  # the survivor, and the one started in its place
            assert len(answering) == 2 and killed not in answering and answering != seen, answering
            assert parent.poll() is None
            seen |= answering

            parent.send_signal(signal.SIGTERM)
            assert parent.wait(30) == 0
            assert not any(_alive(pid) for pid in seen), "a server process outlived the parent"
    finally:
        for pid in seen:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
