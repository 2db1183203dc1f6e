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

from sqlalchemy import Connection, update

from projections.envelope import Envelope
from projections.live import LiveProjection, LiveStore
from projections.read_models import TRACKING, ReadModels
from projections.reader import EventReader

Progress = Callable[[int, int], None]  # (position reached, head when it started)


class GenerationalLiveStore(LiveStore, Protocol):
    generation: int

    def for_generation(self, generation: int) -> GenerationalLiveStore: ...

    def bound(self) -> GenerationalLiveStore: ...

    def reset(self) -> None: ...

    def swap_to(self, generation: int) -> None: ...


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
        batch_size: int = 5000,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.reader = reader
        self.read_models = read_models
        self.live = live
        self.live_store = live_store
        self.batch_size = batch_size
        self.now = now

    def rebuild(self, names: Sequence[str], progress: Progress | None = None) -> RebuildReport:
        started = time.perf_counter()
        sql_names = [n for n in names if n in self.read_models.projections]
        live = self.live if self.live is not None and self.live.name in names else None
        generations = self._new_generations(sql_names)
        live_target = self._new_live_generation() if live is not None else None
        head = self.reader.head()
        position, events = 0, 0
        while True:
            envelopes = self.reader.read(position, self.batch_size)
            if not envelopes:
                break
            self._apply(sql_names, generations, live_target, envelopes)
            position, events = envelopes[-1].position, events + len(envelopes)
            if progress is not None:
                progress(position, head)
        position = self._swap(sql_names, generations, position)
        if live is not None and live_target is not None:
            position = max(position, self._swap_live(live_target, position))
        return RebuildReport(list(names), events, position, time.perf_counter() - started)

    def _new_generations(self, names: list[str]) -> dict[str, int]:
        with self.read_models.write() as conn:
            tracks = {t.name: t for t in self.read_models.tracking(conn, names)}
            generations = {name: tracks[name].generation + 1 for name in names}
            for name, generation in generations.items():
                self.read_models.create_generation(conn, self.read_models.projections[name], generation)
        return generations

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
    ) -> None:
        if names:
            with self.read_models.write() as conn:
                self._apply_to_generations(conn, names, generations, envelopes)
        if live_target is not None and self.live is not None:
            self.live.apply(live_target, envelopes)

    def _apply_to_generations(
        self, conn: Connection, names: list[str], generations: dict[str, int], envelopes: Sequence[Envelope]
    ) -> None:
        """Applies the events to the new generation of each projection, in the caller's transaction."""
        for name in names:
            projection = self.read_models.projections[name]
            tables = self.read_models.tables(projection, generations[name])
            self.read_models.apply_to(conn, projection, tables, envelopes)

    def _swap(self, names: list[str], generations: dict[str, int], position: int) -> int:
        if not names:
            return position
        with self.read_models.write() as conn:
            old = {t.name: t.generation for t in self.read_models.tracking(conn, names, lock=True)}
            while True:  # the events appended since the last batch, under the worker's locks
                envelopes = self.reader.read(position, self.batch_size)
                if not envelopes:
                    break
                self._apply_to_generations(conn, names, generations, envelopes)
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
