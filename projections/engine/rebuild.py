"""Rebuild: replays the whole event store into a fresh generation of a projection's tables, then
swaps the public views over to it in one transaction, so queries never see a half-built model.
The swap waits for the running worker's batch, catches the new tables up to the head under the
same locks, and hands the worker the new generation and position."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import update

from projections.engine.memory import collect_per_batch
from projections.engine.read_models import TRACKING, ReadModels
from projections.engine.reader import EventReader
from projections.engine.row_cache import RowCache
from projections.models.envelope import Envelope
from projections.models.live import LiveProjection
from projections.ports import GenerationalLiveStore, LiveStore

Progress = Callable[[int, int], None]  # (position reached, head when it started)


class PartitionRunner(Protocol):
    def __call__(
        self, names: list[str], generations: dict[str, int], upto: int, count: int, progress: Progress | None
    ) -> int:
        """Fills the generations up to ``upto`` in ``count`` partitions at once; returns the number
        of events applied (see projections.engine.partitions)."""


@dataclass(frozen=True)
class RebuildReport:
    names: list[str]
    events: int
    position: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


class Rebuilder:
    def __init__(
        self,
        reader: EventReader,
        read_models: ReadModels,
        live: LiveProjection | None = None,
        live_store: GenerationalLiveStore | None = None,
        batch_size: int = 20_000,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        partitions: PartitionRunner | None = None,
        processes: int = 1,
        min_events_per_process: int = 20_000,
        cache_rows: int = 100_000,
    ) -> None:
        self.reader = reader
        self.read_models = read_models
        self.live = live
        self.live_store = live_store
        self.batch_size = batch_size
        self.now = now
        self.partitions = partitions
        self.processes = processes
        self.min_events_per_process = min_events_per_process
        self.cache_rows = cache_rows

    def partition_count(self, head: int) -> int:
        """How many partitions to fill at once: one per process, but none smaller than
        ``min_events_per_process`` (starting a process costs more than a small replay)."""
        if self.partitions is None or not self.reader.can_partition:
            return 1
        return max(1, min(self.processes, head // max(1, self.min_events_per_process)))

    def rebuild(self, names: Sequence[str], progress: Progress | None = None) -> RebuildReport:
        started = time.perf_counter()
        sql_names = [n for n in names if n in self.read_models.projections]
        live = self.live if self.live is not None and self.live.name in names else None
        generations = self._new_generations(sql_names)
        live_target = self._new_live_generation() if live is not None else None
        head = self.reader.head()
        count = self.partition_count(head) if sql_names else 1
        if count > 1:
            assert self.partitions is not None
            events = self.partitions(sql_names, generations, head, count, progress)
            position = head  # the live model, if asked for, catches up on its own in _swap_live
        else:
            position, events = self._fill(sql_names, generations, live_target, head, progress)
        self._index(sql_names, generations)
        position = self._swap(sql_names, generations, position)
        if live is not None and live_target is not None:
            position = max(position, self._swap_live(live_target, position))
        return RebuildReport(list(names), events, position, time.perf_counter() - started)

    def _fill(
        self,
        names: list[str],
        generations: dict[str, int],
        live_target: LiveStore | None,
        head: int,
        progress: Progress | None,
    ) -> tuple[int, int]:
        """Replays the store into the new generations in this process; returns (position, events)."""
        position, events, cache = 0, 0, RowCache(self.cache_rows)
        with collect_per_batch() as collect:
            while True:
                envelopes = self.reader.read(position, self.batch_size)
                if not envelopes:
                    break
                self._apply(names, generations, live_target, envelopes, cache)
                position, events = envelopes[-1].position, events + len(envelopes)
                del envelopes
                collect()
                if progress is not None:
                    progress(position, head)
        if names:
            with self.read_models.write(wait_for_flush=False) as conn:
                cache.write_all(self.read_models.writer(conn))
        return position, events

    def _new_generations(self, names: list[str]) -> dict[str, int]:
        with self.read_models.write() as conn:
            tracks = {t.name: t for t in self.read_models.tracking(conn, names)}
            generations = {name: tracks[name].generation + 1 for name in names}
            for name, generation in generations.items():
                self.read_models.create_generation(
                    conn, self.read_models.projections[name], generation, indexes=False
                )
        return generations

    def _index(self, names: list[str], generations: dict[str, int]) -> None:
        with self.read_models.write() as conn:
            for name in names:
                self.read_models.create_indexes(conn, self.read_models.projections[name], generations[name])

    def _new_live_generation(self) -> GenerationalLiveStore:
        assert self.live_store is not None
        target = self.live_store.for_generation(self.live_store.bound().generation + 1)
        target.reset()
        return target

    def _apply(
        self,
        names: list[str],
        generations: dict[str, int],
        live_target: LiveStore | None,
        envelopes: Sequence[Envelope],
        cache: RowCache,
    ) -> None:
        if names:
            with self.read_models.write(wait_for_flush=False) as conn:
                self.read_models.apply_to_generations(conn, names, generations, envelopes, cache)
        if live_target is not None and self.live is not None:
            self.live.apply(live_target, envelopes)

    def _swap(self, names: list[str], generations: dict[str, int], position: int) -> int:
        if not names:
            return position
        with self.read_models.write() as conn:
            old = {t.name: t.generation for t in self.read_models.tracking(conn, names, lock=True)}
            while True:  # the events appended since the last batch, under the worker's locks
                envelopes = self.reader.read(position, self.batch_size)
                if not envelopes:
                    break
                self.read_models.apply_to_generations(conn, names, generations, envelopes)
                position = envelopes[-1].position
            for name in names:
                self.read_models.point_views(conn, self.read_models.projections[name], generations[name])
                conn.execute(
                    update(TRACKING)
                    .where(TRACKING.c.name == name)
                    .values(
                        generation=generations[name], position=position, updated_at=self.now(), error=None
                    )
                )
        with self.read_models.write() as conn:
            for name, generation in old.items():
                self.read_models.drop_generation(conn, self.read_models.projections[name], generation)
        return position

    def _swap_live(self, target: GenerationalLiveStore, position: int) -> int:
        assert self.live is not None and self.live_store is not None
        while True:
            reached = target.position()
            envelopes = self.reader.read(reached, self.batch_size)
            if not envelopes:
                break
            self.live.apply(target, envelopes, expected=reached)
        previous = self.live_store.bound()
        self.live_store.swap_to(target.generation)
        if previous.generation != target.generation:
            previous.reset()
        return target.position()
