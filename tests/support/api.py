"""A real `tbot serve` process (and a projection worker) on a test's settings, with users and
their API keys in its identity store, driven over HTTP with httpx."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from dependency_injector import providers

from infrastructure.settings import Settings
from interfaces.composition import Container
from tests.support.processes import start_tbot, stop, tbot, wait_for

PASSWORD = "correct horse battery staple"
LIMITS = {
    "max_order_notional": "15000",
    "max_position_notional": "50000",
    "max_open_orders": 10,
    "daily_loss_limit": "2000",
    "price_band_pct": "0.05",
    "max_orders_per_minute": 600,
}
PRICES = '{"BTC/USDT": "50000", "ETH/USDT": "2500"}'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _users_with_keys(settings: Settings, users: dict[str, str]) -> dict[str, str]:
    """Each user made with its role and the shared password, and an API key for each, through the
    identity store the CLI's `users create` and `keys create` use (tested there as commands; here
    in-process, which spares two processes a user)."""
    container = Container()
    container.settings.override(providers.Object(settings))
    identity = container.identity()
    keys = {}
    for user, role in users.items():
        identity.create_user(user, role, PASSWORD)
        keys[user] = identity.create_key(user)
    container.shutdown_resources()
    return keys


def _run(settings: Settings, *args: str) -> str:
    done = tbot(settings, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


@dataclass
class Api:
    base_url: str
    keys: dict[str, str] = field(default_factory=dict)
    server: subprocess.Popen[str] | None = None  # the `tbot serve` process, once started
    settings: Settings | None = None  # the settings it serves with

    def client(self, user: str | None = None, **headers: str) -> httpx.Client:
        if user is not None:
            headers["X-API-Key"] = self.keys[user]
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def create_bot(self, user: str, **overrides: Any) -> str:
        body = {
            "name": "bot",
            "strategy": "manual",
            "allowed_symbols": ["BTC/USDT"],
            "limits": LIMITS,
            **overrides,
        }
        with self.client(user) as http:
            created = http.post("/v1/bots", json=body)
            assert created.status_code == 201, created.text
            bot_id = str(created.json()["id"])
            assert http.post(f"/v1/bots/{bot_id}/start").status_code == 200
        return bot_id


@contextmanager
def api_on(
    settings: Settings,
    users: dict[str, str],
    log: Any = subprocess.DEVNULL,
    serve_args: Sequence[str] = (),
    **env: str,
) -> Iterator[Api]:
    """Users by name and role; each gets an API key (and the shared test password). ``env`` adds
    settings for the server, ``serve_args`` options of `tbot serve`; ``log`` receives what the
    server prints."""
    _run(settings, "db", "init")
    api = Api(f"http://127.0.0.1:{free_port()}", _users_with_keys(settings, users), settings=settings)
    port = api.base_url.rsplit(":", 1)[1]
    env = {"TBOT_REFERENCE_PRICES": PRICES, "TBOT_PROJECTION_POLL_SECONDS": "0.2", **env}
    server = api.server = start_tbot(settings, "serve", "--port", port, *serve_args, stdout=log, **env)
    worker = start_tbot(settings, "projections", "run", **env)
    processes: list[subprocess.Popen[str]] = [server, worker]
    try:
        wait_for(lambda: answers(api.base_url) or _died(server), 60, "the server to answer")
        assert server.poll() is None, server.stderr.read() if server.stderr else "server died"
        yield api
    finally:
        for process in processes:
            stop(process)


def answering_processes(api: Api, count: int) -> set[int]:
    """The server processes seen answering, once ``count`` have (a new connection each time)."""
    seen: set[int] = set()
    deadline = time.monotonic() + 60
    while len(seen) < count and time.monotonic() < deadline:
        with api.client() as fresh, contextlib.suppress(httpx.TransportError):
            seen.add(fresh.get("/health/live").json()["process"])
    return seen


def answers(base_url: str) -> bool:
    """Whether a server answers its liveness check at this address."""
    try:
        return httpx.get(f"{base_url}/health/live", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _died(process: subprocess.Popen[str]) -> bool:
    return process.poll() is not None
