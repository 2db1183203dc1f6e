"""The projection worker: runs the projections whose locks it holds, a batch per transaction,
woken by the event store's notifications and polling in case one is lost; takes over a projection
when its holder dies."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import structlog
from opentelemetry import trace
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DBAPIError

from projections.envelope import Envelope
from projections.errors import ProjectionStopped, UndecodableEvent
from projections.live import LiveProjection, LiveStore, PositionMoved
from projections.locks import ProjectionLocks
from projections.read_models import ReadModels
from projections.reader import EventReader, Wakeup

log = structlog.get_logger("tbot.projections")
_tracer = trace.get_tracer("tbot.projections")


def _describe(span: trace.Span, names: list[str], envelopes: Sequence[Envelope]) -> None:
    """The batch's projections, size and last position; and the correlation ids it carried, so
    a request's trace can be followed to the batch that projected its events."""
    span.set_attribute("tbot.projections", names)
    span.set_attribute("tbot.events", len(envelopes))
    if envelopes:
        span.set_attribute("tbot.position", envelopes[-1].position)
        correlations = sorted({e.event.meta.correlation_id for e in envelopes if e.event.meta.correlation_id})
        span.set_attribute("tbot.correlation_ids", correlations[:100])


TRANSIENT: tuple[type[BaseException], ...] = (DBAPIError, RedisConnectionError, OSError, PositionMoved)


class ProjectionWorker:
    def __init__(
        self,
        *,
        reader: EventReader,
        read_models: ReadModels,
        names: Sequence[str],
        locks: ProjectionLocks,
        wakeup: Wakeup,
        live: LiveProjection | None = None,
        live_store: Callable[[], LiveStore] | None = None,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        takeover_seconds: float = 1.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.reader = reader
        self.read_models = read_models
        self.wanted = list(names)
        self.locks = locks
        self.wakeup = wakeup
        self.live = live
        self.live_store = live_store
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.takeover_seconds = takeover_seconds
        self.now = now
        self.held: set[str] = set()
        self.failed: dict[str, str] = {}
        self._stop = threading.Event()
        self._last_takeover = 0.0

    @property
    def active(self) -> list[str]:
        return [name for name in self.wanted if name in self.held and name not in self.failed]

    def stop(self) -> None:
        self._stop.set()
        self.wakeup.poke()

    def run(self) -> None:
        """Runs until stopped, or until every projection it wants has failed."""
        try:
            while not self._stop.is_set():
                self.take_over()
                if len(self.failed) == len(self.wanted):
                    return
                if not self.active:
                    self._stop.wait(self.takeover_seconds)
                    continue
                try:
                    moved = self.step()
                except TRANSIENT as error:
                    log.warning("projection batch failed, retrying", error=str(error))
                    self._stop.wait(self.poll_seconds)
                    continue
                if moved < self.batch_size:
                    self.wakeup.wait(self.poll_seconds)
        finally:
            self.locks.release_all()

    def drain(self) -> dict[str, str]:
        """Runs the projections it can hold up to the store's head, then lets go of them;
        returns the projections that stopped, with why."""
        self.take_over()
        try:
            while self.active:
                failed = len(self.failed)
                if self.step() == 0 and len(self.failed) == failed:
                    break
        finally:
            self.locks.release_all()
            self.held.clear()
        return dict(self.failed)

    def take_over(self) -> None:
        """Tries, at most once per takeover period, the locks of projections nobody runs."""
        if time.monotonic() - self._last_takeover < self.takeover_seconds and self.held:
            return
        self._last_takeover = time.monotonic()
        if not self.locks.check():
            log.warning("lock connection lost; locks released", projections=sorted(self.held))
            self.held.clear()
        for name in self.wanted:
            if name not in self.held and self.locks.try_acquire(name):
                self.held.add(name)
                log.info("projection acquired", projection=name)

    def step(self) -> int:
        """One batch for every projection held; returns the number of events read."""
        moved = 0
        sql_names = [n for n in self.active if n in self.read_models.projections]
        if sql_names:
            moved = max(moved, self._guarded(sql_names, lambda: self._step_sql(sql_names)))
        if self.live is not None and self.live.name in self.active:
            moved = max(moved, self._guarded([self.live.name], self._step_live))
        return moved

    def _guarded(self, names: list[str], step: Callable[[], int]) -> int:
        try:
            return step()
        except ProjectionStopped as error:
            self._fail(error.projection, str(error))
        except UndecodableEvent as error:
            for name in names:
                self._fail(name, f"projection {name} stopped: {error}")
        return 0

    def _fail(self, name: str, message: str) -> None:
        self.failed[name] = message
        log.error("projection stopped", projection=name, error=message)
        if name in self.read_models.projections:
            self.read_models.record_error(name, message)

    def _step_sql(self, names: list[str]) -> int:
        with _tracer.start_as_current_span("projection.batch") as span, self.read_models.write() as conn:
            tracks = self.read_models.tracking(conn, names, lock=True)
            envelopes = self.reader.read(min(t.position for t in tracks), self.batch_size)
            now = self.now()
            for track in tracks:
                self.read_models.apply(conn, track, envelopes, now)
            _describe(span, names, envelopes)
        return len(envelopes)

    def _step_live(self) -> int:
        assert self.live is not None and self.live_store is not None
        with _tracer.start_as_current_span("projection.batch") as span:
            store = self.live_store()
            reached = store.position()
            envelopes = self.reader.read(reached, self.batch_size)
            self.live.apply(store, envelopes, expected=reached)
            _describe(span, [self.live.name], envelopes)
        return len(envelopes)
