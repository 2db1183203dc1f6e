"""The aggregate cache under threads: loads of one bot from many threads while others write to it
never see an aggregate half fast-forwarded, and never fail while copying it."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from application.errors import ConcurrencyConflict, OrderDenied
from domain.bot import Bot
from infrastructure.settings import Settings
from tests.support.world import LIMITS, World, world_on

READERS, WRITERS, SECONDS = 6, 2, 3.0


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Threads switch as often as the interpreter allows, so that interleavings are many."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@pytest.fixture
def any_world(any_settings: Settings) -> Iterator[World]:
    with world_on(any_settings) as world:
        yield world


def test_loads_from_the_cache_are_safe_while_other_threads_write(
    any_world: World, busy_switching: None
) -> None:
    world = any_world
    # every order is denied (over the notional limit), so each write adds one recent denial
    bot_id = world.running_bot(
        limits={**LIMITS, "max_order_notional": "100", "max_orders_per_minute": 1_000_000}
    )
    deadline = time.monotonic() + SECONDS
    stop = threading.Event()

    def write(writer: int) -> int:
        written = 0
        while time.monotonic() < deadline and not stop.is_set():
            with contextlib.suppress(OrderDenied, ConcurrencyConflict):
                world.place(bot_id, f"w{writer}-{written}", "buy", "0.01", "50000")
            written += 1
        return written

    def read(reader: int) -> int:
        loads = 0
        while time.monotonic() < deadline and not stop.is_set():
            bot = world.store.load(Bot, bot_id)
            assert len(bot.recent_denials) <= bot.version  # a whole aggregate, copied intact
            seen = world.store.find(Bot, bot_id, read_only=True)
            assert seen is not None
            assert list(seen.recent_denials) == list(seen.recent_denials)  # not changing under us
            loads += 1
        return loads

    with ThreadPoolExecutor(READERS + WRITERS) as pool:
        writers = [pool.submit(write, w) for w in range(WRITERS)]
        readers = [pool.submit(read, r) for r in range(READERS)]
        try:
            loads = sum(f.result() for f in readers)
            written = sum(f.result() for f in writers)
        finally:
            stop.set()
    assert written > 0 and loads > 0
    final = world.store.load(Bot, bot_id)
    assert final.version == world.store.load(Bot, bot_id).version
