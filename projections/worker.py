"""The projection worker's job: runs the projections whose locks it holds, a batch per
transaction, woken by the event store's notifications and polling in case one is lost; takes over
a projection when its holder dies. The loop around its turns (back-off through outages, stop,
health) is the workers' supervisor's.

A batch that fails is never skipped, and never fails silently: the error is recorded where
`tbot projections status` and ``/health/ready`` read it (the tracking row of a SQL projection,
the live store for the live one) until a batch of that projection applies again. A passing
fault (the database or Redis out of reach) is retried at the next turn; a projection that
stopped (an event it cannot apply, or any other error) is set aside and tried again every
``retry_seconds``, so it carries on by itself once the cause is gone (a rebuild, a repaired
read model), without a restart."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import structlog
from opentelemetry import trace

from infrastructure.outages import one_line
from projections.engine.errors import TRANSIENT, UndecodableEvent
from projections.engine.read_models import ReadModels
from projections.engine.reader import EventReader
from projections.locks import ProjectionLocks
from projections.models.envelope import Envelope
from projections.models.errors import ProjectionStopped
from projections.models.live import LiveProjection, PositionMoved
from projections.ports import LiveStore, Wakeup

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


RETRY_SECONDS = 30.0
"""How long a stopped projection is set aside before the worker tries it again."""


class ProjectionWorker:
    """A job for the workers' supervisor (see ``interfaces/workers``); ``drain`` runs it to the
    store's head and lets go, for the demo and tests."""

    name = "projections"

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
        retry_seconds: float = RETRY_SECONDS,
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
        self.retry_seconds = retry_seconds
        self.now = now
        self.held: set[str] = set()
        self.failed: dict[str, str] = {}
        """The projections that stopped, with why; each is tried again at ``_retry_at``."""
        self._retry_at: dict[str, float] = {}
        self._last_takeover = 0.0

    @property
    def active(self) -> list[str]:
        """The projections held and not set aside (a stopped one again once its retry is due)."""
        now = time.monotonic()
        return [
            name
            for name in self.wanted
            if name in self.held and (name not in self.failed or self._retry_at[name] <= now)
        ]

    def begin(self) -> None:
        """Nothing to set up: each projection's lock is taken (and retaken) by ``turn``."""

    def turn(self) -> float:
        """Takes over the projections nobody runs, then one batch of each held; a passing fault
        is raised (after the other projections had their batch) for the supervisor to retry."""
        self.take_over()
        if not self.active:
            return self.takeover_seconds
        try:
            moved = self.step()
        except PositionMoved:  # another writer moved the live model on: nothing is wrong
            return self.poll_seconds
        return 0.0 if moved >= self.batch_size else self.poll_seconds

    def idle(self, seconds: float) -> None:
        self.wakeup.wait(seconds)

    def interrupt(self) -> None:
        self.wakeup.poke()

    def end(self) -> None:
        self.locks.release_all()
        self.held.clear()

    def close(self) -> None:
        self.wakeup.close()

    def drain(self) -> dict[str, str]:
        """Runs the projections it can hold up to the store's head, then lets go of them;
        returns the projections that stopped, with why."""
        self.take_over()
        try:
            while self.active:
                failed = dict(self.failed)
                if self.step() == 0 and self.failed == failed:
                    break
        finally:
            self.end()
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
        """One batch for every projection held (the SQL ones in one transaction, the live one
        apart); returns the number of events read. A passing fault of either is raised after
        the other has had its batch."""
        moved, fault = 0, None
        sql_names = [n for n in self.active if n in self.read_models.projections]
        groups: list[tuple[list[str], Callable[[], int]]] = []
        if sql_names:
            groups.append((sql_names, lambda: self._step_sql(sql_names)))
        if self.live is not None and self.live.name in self.active:
            groups.append(([self.live.name], self._step_live))
        for names, step in groups:
            try:
                moved = max(moved, self._guarded(names, step))
            except TRANSIENT as error:
                fault = fault or error
        if fault is not None:
            raise fault
        return moved

    def _guarded(self, names: list[str], step: Callable[[], int]) -> int:
        try:
            moved = step()
        except ProjectionStopped as error:
            self._fail(error.projection, str(error))
        except UndecodableEvent as error:
            for name in names:
                self._fail(name, f"projection {name} stopped: {error}")
        except PositionMoved:
            raise  # another writer moved the live model on: nothing is wrong
        except TRANSIENT as error:
            for name in names:
                self._record(
                    name, f"projection {name} cannot apply its next batch, retrying: {one_line(error)}"
                )
            raise
        except Exception as error:  # a fault of its own must not end the worker or go unseen
            for name in names:
                self._fail(name, f"projection {name} stopped: {one_line(error)}")
        else:
            for name in names:
                self.failed.pop(name, None)
                self._retry_at.pop(name, None)
            return moved
        return 0

    def _fail(self, name: str, message: str) -> None:
        self.failed[name] = message
        self._retry_at[name] = time.monotonic() + self.retry_seconds
        log.error("projection stopped", projection=name, error=message, retry_seconds=self.retry_seconds)
        self._record(name, message)

    def _record(self, name: str, message: str) -> None:
        """Writes the error where status and health read it; logs if that is out of reach too."""
        try:
            if name in self.read_models.projections:
                self.read_models.record_error(name, message)
            elif self.live_store is not None:
                self.live_store().record_error(message)
        except TRANSIENT as error:
            log.warning("projection error not recorded", projection=name, error=message, cause=str(error))

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
            if envelopes:
                self.live.apply(store, envelopes, expected=reached)  # clears a recorded error
            elif store.error() is not None:
                store.record_error(None)
            _describe(span, [self.live.name], envelopes)
        return len(envelopes)
