"""Group commit: the events of commands saved at the same moment by different threads go to the
event store in one transaction.

Every write to the event store takes its table lock and waits for its commit to reach the disk;
one transaction per command spends both once per command. Here the first thread to save becomes
the leader: it writes its own events together with everything other threads queued meanwhile
(up to ``max_batch`` saves), in one ``insert_events`` call, hands each its positions, and passes
the lead on to the first save still queued. Nothing waits for a batch to fill: one save alone is
written at once, so a single caller pays nothing.

A save is acknowledged only once its transaction has committed. The library's recorder still locks
the table for the batch, so readers tailing the store see positions committed in order. When the
batch is refused because one save conflicts (another process changed its aggregate first), each
save is written again on its own: the conflicting one fails as it would have alone, and the
others are written. Commands on one bot already take turns in a process, so two saves of one bot
are never in one batch.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import AggregateRecorder, IntegrityError, StoredEvent


@dataclass(eq=False)
class _Save:
    """One thread's ``insert_events`` call, waiting in the queue."""

    events: Sequence[StoredEvent]
    woken: threading.Event = field(default_factory=threading.Event)  # written, or its turn to lead
    written: bool = False
    positions: Sequence[int] | None = None
    error: BaseException | None = None


class GroupCommit(AggregateRecorder):
    """The application recorder's ``insert_events``, batched across threads; reads go straight
    to the recorder."""

    def __init__(self, recorder: AggregateRecorder, max_batch: int = 256) -> None:
        self.recorder = recorder
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Save] = []
        self._leading = False
        self.batches = 0  # transactions written, for the benchmark's batch size
        self.saves = 0

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if not stored_events or any(value is not None for value in kwargs.values()):
            # a tracking record (tracking=None comes with every save) is written as it comes
            return self.recorder.insert_events(stored_events, **kwargs)
        save = _Save(stored_events)
        with self._lock:
            self._queue.append(save)
            follows = self._leading
            self._leading = True
        if follows:
            save.woken.wait()
        if not save.written:  # this thread leads, and the batch it takes holds its own save
            self._lead()
        if save.error is not None:
            raise save.error
        return save.positions

    @property
    def queued(self) -> int:
        """Saves waiting for the transaction being written to end."""
        with self._lock:
            return len(self._queue)

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        return self.recorder.select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)

    def _lead(self) -> None:
        with self._lock:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
        try:
            self._write(batch)
        finally:
            for save in batch:
                save.written = True
                save.woken.set()
            with self._lock:
                follower = self._queue[0] if self._queue else None
                self._leading = follower is not None
            if follower is not None:
                follower.woken.set()

    def _write(self, batch: list[_Save]) -> None:
        self.batches += 1
        self.saves += len(batch)
        try:
            positions = self.recorder.insert_events([e for save in batch for e in save.events])
        except IntegrityError as error:
            if len(batch) == 1:
                batch[0].error = error
            else:
                for save in batch:
                    self._write([save])
            return
        except BaseException as error:
            for save in batch:
                save.error = error
            return
        start = 0
        for save in batch:
            end = start + len(save.events)
            save.positions = None if positions is None else positions[start:end]
            start = end
