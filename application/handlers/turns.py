"""Commands on one bot take turns within a process.

Every order and every fill of a bot changes the bot's risk ledger, so threads of one process
working on a busy bot would otherwise keep invalidating each other's loads and retry (optimistic
concurrency). Taking turns per bot, they never conflict with each other. With shared turns (on
PostgreSQL), the thread holding a bot's turn in its process also holds it among the processes, so
writers in different processes queue too; the event store's version check stays the guarantee.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from eventsourcing.application import LRUCache

from application.ports import SharedTurns
from application.store import TradingApplication
from domain.order import Order

ORDERS_REMEMBERED = 10_000


class BotTurns:
    """One lock per bot, made on first use and dropped when no thread holds or waits for it.

    A command takes at most one turn at a time and a handler never dispatches another command, so
    turns cannot deadlock."""

    def __init__(self, shared: SharedTurns | None = None, orders_remembered: int = ORDERS_REMEMBERED) -> None:
        self._shared = shared
        self._guard = threading.Lock()
        self._locks: dict[UUID, tuple[threading.Lock, int]] = {}  # lock, threads holding or waiting
        self._bots: LRUCache[UUID, UUID] = LRUCache(orders_remembered)  # order id -> its bot's id

    @contextmanager
    def turn(self, bot_id: UUID | None) -> Iterator[None]:
        """Holds the bot's turn for the block; None: no bot, no turn to wait for."""
        if bot_id is None:
            yield
            return
        with self._guard:
            lock, users = self._locks.get(bot_id, (None, 0))
            lock = lock or threading.Lock()
            self._locks[bot_id] = (lock, users + 1)
        try:
            with lock:
                if self._shared is None:
                    yield
                else:
                    with self._shared.hold(bot_id):
                        yield
        finally:
            with self._guard:
                users = self._locks[bot_id][1] - 1
                if users:
                    self._locks[bot_id] = (lock, users)
                else:
                    del self._locks[bot_id]

    def bot_of_order(self, order_id: UUID, store: TradingApplication) -> UUID | None:
        """The bot an order belongs to (it never changes, so it is remembered); None for an order
        that does not exist."""
        try:
            return self._bots.get(order_id)
        except KeyError:
            order = store.find(Order, order_id, read_only=True)
            if order is None:
                return None
            self._bots.put(order_id, order.bot_id)
            return order.bot_id

    def waiting(self) -> int:
        """Bots with a thread in or waiting for their turn (for tests)."""
        with self._guard:
            return len(self._locks)
