"""The load of a chaos run: a few threads, each a careful HTTP client of one user placing market
and limit orders (buys and sells) on that user's bots and cancelling some. A request that times
out, meets a closed connection or a conflict is sent again, unchanged (the same client order id or
Idempotency-Key), until it gets an answer; some answered requests are repeated on purpose, as
when an answer is lost on the way, and must return the same order. Everything answered is kept
for the checks: the orders acknowledged (2xx), the cancels, every status, every 5xx."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

import httpx

REQUEST_TIMEOUT = 10.0  # seconds a request may take before the client gives up on it and retries
RETRY_WINDOW = 60.0  # seconds a request is retried for before it is given up
PRICE_TICK = Decimal("0.01")
QUANTITIES = {
    "BTC/USDT": [Decimal(q) for q in ("0.0005", "0.001", "0.002", "0.005", "0.01")],
    "ETH/USDT": [Decimal(q) for q in ("0.01", "0.02", "0.05", "0.1", "0.2")],
}
START_PRICES = {"BTC/USDT": Decimal(50000), "ETH/USDT": Decimal(2500)}


@dataclass(frozen=True)
class Placement:
    """An order request as sent, and the order its 2xx answer named."""

    bot_id: str
    body: dict[str, Any]
    idempotency_key: str | None
    order_id: str
    client_order_id: str  # as the answer gave it


@dataclass
class Tally:
    """What one client saw; merged over the clients for the checks and the summary."""

    placed: list[Placement] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)  # order ids whose cancel was answered 2xx
    statuses: Counter[str] = field(default_factory=Counter)  # "POST orders 201", ...
    server_errors: list[str] = field(default_factory=list)
    retries: int = 0
    given_up: list[str] = field(default_factory=list)
    repeats: int = 0
    repeat_mismatches: list[str] = field(default_factory=list)

    def merge(self, other: Tally) -> None:
        self.placed += other.placed
        self.cancelled += other.cancelled
        self.statuses.update(other.statuses)
        self.server_errors += other.server_errors
        self.retries += other.retries
        self.given_up += other.given_up
        self.repeats += other.repeats
        self.repeat_mismatches += other.repeat_mismatches


def _retryable(answer: httpx.Response) -> bool:
    """Worth sending again unchanged: a write conflict, the rate limit, a server not ready."""
    if answer.status_code in (429, 503):
        return True
    if answer.status_code == 409:
        return bool(answer.json().get("error", {}).get("code") == "conflict")
    return False


class Client:
    """One user's careful client, on its own connection pool and its own seeded random numbers."""

    def __init__(self, number: int, base_url: str, key: str, bots: list[tuple[str, list[str]]], seed: int):
        self.number = number
        self.http = httpx.Client(base_url=base_url, headers={"X-API-Key": key}, timeout=REQUEST_TIMEOUT)
        self.bots = bots  # (bot id, its symbols)
        self.random = random.Random(seed * 1000 + number)
        self.tally = Tally()
        self.marks = dict(START_PRICES)
        self.marks_read_at = 0.0
        self.open: list[Placement] = []  # placed and not yet asked to cancel
        self.sent = 0

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        """The first answer that is not worth retrying; None when there was none in the window."""
        deadline = time.monotonic() + RETRY_WINDOW
        delay = 0.1
        # "POST orders", "POST kill", "DELETE orders"
        what = f"{method} {path.rsplit('/', 1)[-1] if method == 'POST' else path.split('/')[2]}"
        while True:
            try:
                answer: httpx.Response | None = self.http.request(method, path, **kwargs)
            except httpx.TransportError:  # timeouts, refused or dropped connections
                answer = None
            if answer is not None:
                self.tally.statuses[f"{what} {answer.status_code}"] += 1
                if answer.status_code >= 500 and answer.status_code != 503:
                    self.tally.server_errors.append(
                        f"{method} {path} -> {answer.status_code}: {answer.text[:300]}"
                    )
                if not _retryable(answer):
                    return answer
            if time.monotonic() > deadline:
                self.tally.given_up.append(f"{method} {path} {kwargs.get('json')}")
                return None
            self.tally.retries += 1
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def step(self) -> None:
        roll = self.random.random()
        if roll < 0.15 and self.open:
            self.cancel(self.open.pop(self.random.randrange(len(self.open))))
        elif roll < 0.20 and self.tally.placed:
            self.repeat(self.random.choice(self.tally.placed))
        else:
            self.place(roll)

    def place(self, roll: float) -> None:
        bot_id, symbols = self.random.choice(self.bots)
        symbol = self.random.choice(symbols)
        side = self.random.choice(["buy", "sell"])
        body: dict[str, Any] = {
            "symbol": symbol,
            "side": side,
            "quantity": str(self.random.choice(QUANTITIES[symbol])),
        }
        if roll < 0.55:
            body["order_type"] = "market"
        else:
            # within 0.3% of the mark either way: some cross at once, the rest rest until the walk
            # reaches them (or they are cancelled)
            offset = Decimal(self.random.randint(-30, 30)) / 10_000
            price = self._mark(symbol) * (1 + offset)
            body |= {"order_type": "limit", "price": str(price.quantize(PRICE_TICK, ROUND_DOWN))}
            if roll > 0.9:
                body["time_in_force"] = "IOC"
        self.sent += 1
        token = f"chaos-{self.number}-{self.sent}"
        key = None
        if self.sent % 2:  # half name the order, half only key the request
            body["client_order_id"] = token
        else:
            key = token
        answer = self._post_order(bot_id, body, key)
        if answer is not None and answer.is_success:
            made = answer.json()
            placement = Placement(bot_id, body, key, made["id"], made["client_order_id"])
            self.tally.placed.append(placement)
            if body["order_type"] == "limit":
                self.open.append(placement)

    def _post_order(self, bot_id: str, body: dict[str, Any], key: str | None) -> httpx.Response | None:
        headers = {} if key is None else {"Idempotency-Key": key}
        return self.send("POST", f"/v1/bots/{bot_id}/orders", json=body, headers=headers)

    def repeat(self, placement: Placement) -> None:
        """The same request again, as after a lost answer: the same order, nothing new."""
        self.tally.repeats += 1
        answer = self._post_order(placement.bot_id, placement.body, placement.idempotency_key)
        if answer is None:
            return
        made = answer.json() if answer.is_success else {}
        if made.get("id") != placement.order_id or made.get("changed") is not False:
            self.tally.repeat_mismatches.append(
                f"{placement.body} first gave order {placement.order_id}, "
                f"again: {answer.status_code} {answer.text[:300]}"
            )

    def cancel(self, placement: Placement) -> None:
        answer = self.send("DELETE", f"/v1/orders/{placement.order_id}")
        if answer is not None and answer.is_success:
            self.tally.cancelled.append(placement.order_id)

    def _mark(self, symbol: str) -> Decimal:
        if time.monotonic() - self.marks_read_at > 2:
            self.marks_read_at = time.monotonic()
            try:
                answer = self.http.get("/v1/prices", timeout=2)
            except httpx.TransportError:
                answer = None
            if answer is not None:
                self.tally.statuses[f"GET prices {answer.status_code}"] += 1
                if answer.status_code == 200:
                    self.marks |= {p["symbol"]: Decimal(p["price"]) for p in answer.json()}
                elif answer.status_code >= 500:
                    self.tally.server_errors.append(
                        f"GET /v1/prices -> {answer.status_code}: {answer.text[:300]}"
                    )
        return self.marks[symbol]


class Load:
    """The clients, each on a thread of its own, until stopped."""

    def __init__(self, clients: list[Client]) -> None:
        self.clients = clients
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(c,), name=f"chaos-client-{c.number}", daemon=True)
            for c in clients
        ]
        self.failures: list[str] = []

    def _run(self, client: Client) -> None:
        try:
            while not self._stop.is_set():
                client.step()
        except Exception as error:  # a bug of the client itself: the run must say so, not hang
            self.failures.append(f"client {client.number} failed: {error!r}")

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> Tally:
        """Asks every client to stop after its request in flight, waits, and merges what they saw."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=RETRY_WINDOW + REQUEST_TIMEOUT + 5)
            if thread.is_alive():
                self.failures.append(f"{thread.name} did not stop")
        total = Tally()
        for client in self.clients:
            total.merge(client.tally)
            client.http.close()
        return total
