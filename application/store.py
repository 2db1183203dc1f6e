"""The eventsourcing Application: where aggregates are loaded from and saved to."""

from __future__ import annotations

from collections.abc import Iterable
from copy import deepcopy
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProjectorFunction,
    Repository,
    project_aggregate,
)
from eventsourcing.domain import Aggregate, TDomainEvent, TMutableOrImmutableAggregate
from opentelemetry import trace

from application.errors import NotFound
from domain.bot import Bot
from domain.position import Position

A = TypeVar("A", bound=Aggregate)
_tracer = trace.get_tracer("tbot.event_store")


class CopyOnWriteRepository(Repository[UUID]):
    """The library's repository, with a cache that threads can share.

    The library fast-forwards a cached aggregate in place, under a lock per aggregate, but copies it
    for the caller outside that lock: a thread copying it while another fast-forwards it fails
    ("dictionary changed size during iteration"), and a thread holding it read-only sees it change.
    Here a cached aggregate is never changed once in the cache: a fast-forward applies the new events
    to a copy and puts the copy in the cache, under the same lock. So every cached instance can be
    copied, or read, from any thread at any time."""

    def get(
        self,
        aggregate_id: UUID,
        *,
        version: int | None = None,
        projector_func: ProjectorFunction[TMutableOrImmutableAggregate, TDomainEvent] = project_aggregate,
        fastforward_skipping: bool = False,
        deepcopy_from_cache: bool = True,
        snapshotted: bool = True,
    ) -> TMutableOrImmutableAggregate:
        """``snapshotted=False``: the aggregate's kind is never snapshotted, so a load that misses
        the cache reads its events without first asking the snapshot table (a round trip saved,
        e.g. on every order looked up by its derived id to make a repeat harmless)."""
        cache = self.cache
        if not cache or version is not None or not self.fastforward:
            return super().get(
                aggregate_id,
                version=version,
                projector_func=projector_func,
                fastforward_skipping=fastforward_skipping,
                deepcopy_from_cache=deepcopy_from_cache,
            )
        lock = self._use_fastforward_lock(aggregate_id)
        try:
            with lock:
                aggregate = self._current(aggregate_id, projector_func, snapshotted)
        finally:
            self._disuse_fastforward_lock(aggregate_id)
        if deepcopy_from_cache and self.deepcopy_from_cache:
            return deepcopy(aggregate)
        return aggregate

    def _current(
        self,
        aggregate_id: UUID,
        projector_func: ProjectorFunction[TMutableOrImmutableAggregate, TDomainEvent],
        snapshotted: bool,
    ) -> TMutableOrImmutableAggregate:
        """The cached aggregate brought up to date; called under the aggregate's lock."""
        assert self.cache is not None
        try:
            cached = cast("TMutableOrImmutableAggregate", self.cache.get(aggregate_id))
        except KeyError:
            aggregate = self._from_store(aggregate_id, projector_func, snapshotted)
        else:
            new_events = list(self.event_store.get(originator_id=aggregate_id, gt=cached.version))
            if not new_events:
                return cached
            forwarded = projector_func(deepcopy(cached), cast("Iterable[TDomainEvent]", new_events))
            if forwarded is None:
                raise AggregateNotFoundError(aggregate_id)
            aggregate = forwarded
        self.cache.put(aggregate_id, aggregate)
        return aggregate

    def _from_store(
        self,
        aggregate_id: UUID,
        projector_func: ProjectorFunction[TMutableOrImmutableAggregate, TDomainEvent],
        snapshotted: bool,
    ) -> TMutableOrImmutableAggregate:
        if snapshotted:
            return self._reconstruct_aggregate(aggregate_id, None, projector_func)
        events = self.event_store.get(originator_id=aggregate_id)
        aggregate = projector_func(None, cast("Iterable[TDomainEvent]", events))
        if aggregate is None:
            raise AggregateNotFoundError(aggregate_id)
        return aggregate


class TradingApplication(Application[UUID]):
    """Bots and positions live long, so they are snapshotted; orders are short and are not."""

    name = "tbot"
    snapshotting_intervals = {Bot: 50, Position: 100}

    def construct_repository(self) -> Repository[UUID]:
        """The library's repository as its settings make it, but with a cache threads can share."""
        library = super().construct_repository()
        maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return CopyOnWriteRepository(
            event_store=library.event_store,
            snapshot_store=library.snapshot_store,
            cache_maxsize=int(maxsize) if maxsize else None,
            fastforward=library.fastforward,
            fastforward_skipping=library.fastforward_skipping,
            deepcopy_from_cache=library.deepcopy_from_cache,
        )

    @property
    def shared_repository(self) -> CopyOnWriteRepository:
        repository = self.repository
        assert isinstance(repository, CopyOnWriteRepository)
        return repository

    def find(self, cls: type[A], aggregate_id: UUID, read_only: bool = False) -> A | None:
        """The aggregate, or None. ``read_only``: the caller only looks, so with the aggregate cache
        on it gets the cached instance itself rather than a private copy to change."""
        try:
            aggregate: object = self.shared_repository.get(
                aggregate_id,
                deepcopy_from_cache=not read_only,
                snapshotted=cls in self.snapshotting_intervals,
            )
        except AggregateNotFoundError:
            return None
        if not isinstance(aggregate, cls):
            return None
        return aggregate

    def load(self, cls: type[A], aggregate_id: UUID, kind: str | None = None) -> A:
        aggregate = self.find(cls, aggregate_id)
        if aggregate is None:
            raise NotFound(kind or cls.__name__.lower(), aggregate_id)
        return aggregate

    def load_at(self, aggregate_id: UUID, version: int) -> Any:
        return self.repository.get(aggregate_id, version=version)

    def record(self, *aggregates: Aggregate | None) -> int:
        """Saves every pending event of the aggregates in one transaction and returns the global
        position of the last one; with nothing pending it appends nothing and returns the
        store's current position."""
        pending = [e for a in aggregates if a is not None for e in a.pending_events]
        if not pending:
            return self.last_position()
        with _tracer.start_as_current_span("event_store.append") as span:
            span.set_attribute("tbot.events", len(pending))
            meta = getattr(pending[0], "meta", None)
            if meta is not None:
                span.set_attribute("tbot.correlation_id", meta.correlation_id)
            recordings = self.save(*aggregates)
            position = max(r.notification.id for r in recordings)
            span.set_attribute("tbot.position", position)
        return position

    def last_position(self) -> int:
        return self.recorder.max_notification_id() or 0
