"""Where the live read model is kept (the read side's ``LiveStore`` port, projections/ports.py):
Redis (hashes and a stream per generation, a pointer to the current one), or the process's memory
in the embedded default. ``open_live_store`` picks one by the settings."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, Protocol, TypeVar

import redis

from infrastructure.settings import Settings


class LiveChanges(Protocol):
    """What a live store reads of one batch's changes."""

    @property
    def position(self) -> int: ...

    @property
    def feed(self) -> list[dict[str, str]]: ...

    @property
    def directory(self) -> dict[str, str]: ...

    @property
    def positions(self) -> dict[str, dict[str, str]]: ...

    @property
    def pnl(self) -> dict[str, dict[str, str]]: ...


@dataclass(frozen=True)
class FeedWindow:
    """One consistent look at the live feed: its entries after some position, the live model's
    position, and the floor: every entry after the floor is still in the feed (older ones may
    have been trimmed)."""

    floor: int
    position: int
    entries: list[dict[str, str]]


class _Moved(Exception):
    """The position is no longer the one the batch was built on."""


P = ParamSpec("P")
T = TypeVar("T")


def _reachable(method: Callable[P, T]) -> Callable[P, T]:
    """Redis out of reach surfaces as the port says: the built-in ConnectionError or TimeoutError
    (both OSError), with redis-py's error as the cause."""

    @wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except redis.exceptions.TimeoutError as error:
            raise TimeoutError(str(error)) from error
        except redis.exceptions.ConnectionError as error:
            raise ConnectionError(str(error)) from error

    return call


class RedisLiveStore:
    """Keys: ``{ns}:live:generation`` points at the current generation; under ``{ns}:live:g{N}:``
    are ``position``, ``directory`` (aggregate to bot and owner), ``positions:{bot}`` and
    ``pnl:{bot}`` hashes, the ``feed`` stream whose entry ids are the events' global positions,
    ``feed_floor``: the stream holds every entry after it (it is trimmed by position, not length),
    and ``error``: why the projection last failed, until a batch applies again."""

    kind = "redis"

    def __init__(self, client: redis.Redis, namespace: str, generation: int | None = None) -> None:
        self.client: Any = client  # redis-py's return types are unions of sync and async
        self.namespace = namespace
        self._generation = generation

    @property
    def pointer(self) -> str:
        return f"{self.namespace}:live:generation"

    @property
    @_reachable
    def generation(self) -> int:
        if self._generation is not None:
            return self._generation
        current = self.client.get(self.pointer)
        return int(current) if current is not None else 1

    def key(self, suffix: str) -> str:
        return f"{self.namespace}:live:g{self.generation}:{suffix}"

    @_reachable
    def position(self) -> int:
        value = self.client.get(self.key("position"))
        return int(value) if value is not None else 0

    @_reachable
    def directory(self, aggregate_ids: Sequence[str]) -> dict[str, str]:
        if not aggregate_ids:
            return {}
        values = self.client.hmget(self.key("directory"), list(aggregate_ids))
        return {a: v.decode() for a, v in zip(aggregate_ids, values, strict=True) if v is not None}

    @_reachable
    def positions(self, bot_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        pipe = self.client.pipeline(transaction=False)
        for bot in bot_ids:
            pipe.hgetall(self.key(f"positions:{bot}"))
        return {
            bot: {k.decode(): v.decode() for k, v in found.items()}
            for bot, found in zip(bot_ids, pipe.execute(), strict=True)
        }

    @_reachable
    def commit(self, expected: int, update: LiveChanges, max_feed_length: int) -> bool:
        position_key = self.key("position")

        def write(pipe: Any) -> None:
            current = pipe.get(position_key)
            if (int(current) if current is not None else 0) != expected:
                raise _Moved
            pipe.multi()
            if update.directory:
                pipe.hset(self.key("directory"), mapping=update.directory)
            for bot, symbols in update.positions.items():
                pipe.hset(self.key(f"positions:{bot}"), mapping=symbols)
            for bot, pnl in update.pnl.items():
                pipe.hset(self.key(f"pnl:{bot}"), mapping=pnl)
            for entry in update.feed:
                pipe.xadd(self.key("feed"), entry, id=f"{entry['position']}-0")
            floor = max(0, update.position - max_feed_length)
            if floor:
                # approximate trimming drops whole stream nodes below the floor, never above it
                pipe.xtrim(self.key("feed"), minid=f"{floor + 1}-0", approximate=True)
                pipe.set(self.key("feed_floor"), floor)
            pipe.set(position_key, update.position)
            pipe.delete(self.key("error"))

        try:
            self.client.transaction(write, position_key)
        except _Moved:
            return False
        return True

    @_reachable
    def error(self) -> str | None:
        value = self.client.get(self.key("error"))
        return value.decode() if value is not None else None

    @_reachable
    def record_error(self, message: str | None) -> None:
        if message is None:
            self.client.delete(self.key("error"))
        else:
            self.client.set(self.key("error"), message)

    @_reachable
    def feed_window(self, after: int, limit: int) -> FeedWindow:
        pipe = self.client.pipeline(transaction=True)
        pipe.get(self.key("feed_floor"))
        pipe.get(self.key("position"))
        pipe.xrange(self.key("feed"), min=f"({after}-0", max="+", count=limit)
        floor, position, entries = pipe.execute()
        return FeedWindow(
            floor=int(floor or 0),
            position=int(position or 0),
            entries=[{k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries],
        )

    @_reachable
    def wait_for_feed(self, after: int, timeout: float) -> bool:
        found = self.client.xread(
            {self.key("feed"): f"{after}-0"}, count=1, block=max(1, int(timeout * 1000))
        )
        return bool(found)

    @_reachable
    def bot_pnl(self, bot_id: str) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.client.hgetall(self.key(f"pnl:{bot_id}")).items()}

    def bot_positions(self, bot_id: str) -> dict[str, str]:
        return self.positions([bot_id])[bot_id]

    def for_generation(self, generation: int) -> RedisLiveStore:
        return RedisLiveStore(self.client, self.namespace, generation)

    def bound(self) -> RedisLiveStore:
        """This store fixed to the generation current now (one lookup instead of one per key)."""
        return self.for_generation(self.generation)

    @_reachable
    def reset(self) -> None:
        """Deletes this generation's keys."""
        keys = list(self.client.scan_iter(match=f"{self.namespace}:live:g{self.generation}:*", count=1000))
        for start in range(0, len(keys), 500):
            self.client.delete(*keys[start : start + 500])

    @_reachable
    def swap_to(self, generation: int) -> None:
        self.client.set(self.pointer, generation)

    @_reachable
    def ping(self) -> None:
        self.client.ping()


class MemoryLiveStore:
    """The embedded default's live model, in this process; rebuilt from the event store on start."""

    kind = "in-process"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._position = 0
        self._directory: dict[str, str] = {}
        self._positions: dict[str, dict[str, str]] = {}
        self._pnl: dict[str, dict[str, str]] = {}
        self._feed_positions: list[int] = []
        self._feed: list[dict[str, str]] = []
        self._floor = 0
        self._committed = threading.Condition(self._lock)
        self._error: str | None = None
        self.generation = 1

    def bound(self) -> MemoryLiveStore:
        return self

    def position(self) -> int:
        return self._position

    def directory(self, aggregate_ids: Sequence[str]) -> dict[str, str]:
        return {a: self._directory[a] for a in aggregate_ids if a in self._directory}

    def positions(self, bot_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        return {bot: dict(self._positions.get(bot, {})) for bot in bot_ids}

    def commit(self, expected: int, update: LiveChanges, max_feed_length: int) -> bool:
        with self._lock:
            if self._position != expected:
                return False
            self._directory.update(update.directory)
            for bot, symbols in update.positions.items():
                self._positions.setdefault(bot, {}).update(symbols)
            for bot, pnl in update.pnl.items():
                self._pnl.setdefault(bot, {}).update(pnl)
            self._feed_positions.extend(int(entry["position"]) for entry in update.feed)
            self._feed.extend(update.feed)
            floor = update.position - max_feed_length
            if floor > self._floor:
                cut = bisect.bisect_right(self._feed_positions, floor)
                del self._feed_positions[:cut], self._feed[:cut]
                self._floor = floor
            self._position = update.position
            self._error = None
            self._committed.notify_all()
        return True

    def error(self) -> str | None:
        return self._error

    def record_error(self, message: str | None) -> None:
        self._error = message

    def feed_window(self, after: int, limit: int) -> FeedWindow:
        with self._lock:
            start = bisect.bisect_right(self._feed_positions, after)
            entries = self._feed[start : start + limit]
            return FeedWindow(floor=self._floor, position=self._position, entries=entries)

    def wait_for_feed(self, after: int, timeout: float) -> bool:
        with self._committed:
            return self._committed.wait_for(lambda: self._position > after, timeout)

    def bot_pnl(self, bot_id: str) -> dict[str, str]:
        return dict(self._pnl.get(bot_id, {}))

    def bot_positions(self, bot_id: str) -> dict[str, str]:
        return dict(self._positions.get(bot_id, {}))


def open_live_store(settings: Settings) -> RedisLiveStore | MemoryLiveStore:
    """Redis when REDIS_URL is set (keys namespaced by the database schema), else this process."""
    if settings.redis.url is None:
        return MemoryLiveStore()
    client = redis.Redis.from_url(settings.redis.url.get_secret_value(), socket_timeout=10)
    return RedisLiveStore(client, namespace=f"tbot:{settings.store.postgres_schema}")
