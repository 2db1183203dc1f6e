"""Group commit: commands saved at the same moment by several threads share one transaction, each
is acknowledged with its own positions once that transaction has committed, and a save that
conflicts fails alone while the others in its batch are written."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import AggregateRecorder, IntegrityError, StoredEvent

from application import commands as c
from application.results import OrderAck
from domain.order import Order
from infrastructure.group_commit import GroupCommit
from infrastructure.settings import Settings
from tests.support.processes import wait_for
from tests.support.settings import changed
from tests.support.world import ACTOR, LIMITS, world_on

THREADS, PER_THREAD = 16, 8
BUSY = {**LIMITS, "max_open_orders": 1000, "max_position_notional": "100000000"}


def test_concurrent_commands_share_transactions_and_each_gets_its_own_positions(
    any_settings: Settings,
) -> None:
    with world_on(any_settings) as world:
        group = world.store.events.recorder
        assert isinstance(group, GroupCommit)
        bots = [world.running_bot(limits=BUSY) for _ in range(THREADS)]
        batches, saves = group.batches, group.saves
        start = threading.Barrier(THREADS)
        acks: list[list[OrderAck]] = [[] for _ in range(THREADS)]

        def place(thread: int) -> None:
            start.wait()
            for i in range(PER_THREAD):
                command = c.PlaceOrder(
                    actor=ACTOR,
                    bot_id=bots[thread],
                    client_order_id=f"g{thread}-{i}",
                    symbol="BTC/USDT",
                    side="buy",
                    order_type="market",
                    quantity="0.001",
                )
                acks[thread].append(world.bus.dispatch(command))

        threads = [threading.Thread(target=place, args=(t,)) for t in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        placed = [ack for per_thread in acks for ack in per_thread]
        assert len(placed) == THREADS * PER_THREAD and group.saves - saves == len(placed)
        assert group.batches - batches < len(placed), "no two commands shared a transaction"
        assert len({ack.position for ack in placed}) == len(placed)
        for number, per_thread in enumerate(acks):
            for ack in per_thread:  # read your writes: the order is in the store at its position
                [at] = world.store.recorder.select_notifications(start=ack.position, limit=1)
                assert at.id == ack.position and at.originator_id in (ack.order_id, bots[number])
                assert world.store.load(Order, ack.order_id).client_order_id == ack.client_order_id


def test_without_group_commit_each_save_is_its_own_transaction(sqlite_settings: Settings) -> None:
    with world_on(changed(sqlite_settings, store={"group_commit": False})) as world:
        assert not isinstance(world.store.events.recorder, GroupCommit)
        world.running_bot()


class _HeldFirst(AggregateRecorder):
    """The real recorder, its first insert held until ``release`` is set."""

    def __init__(self, recorder: AggregateRecorder) -> None:
        self.recorder = recorder
        self.entered, self.release = threading.Event(), threading.Event()

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(10)
        return self.recorder.insert_events(stored_events, **kwargs)

    def select_events(self, originator_id: UUID | str, **kwargs: Any) -> Sequence[StoredEvent]:
        return self.recorder.select_events(originator_id, **kwargs)


def _event(originator: UUID) -> StoredEvent:
    return StoredEvent(originator_id=originator, originator_version=1, topic="tests:Probe", state=b"{}")


def test_a_conflicting_save_fails_alone_and_the_others_in_its_batch_are_written(
    any_settings: Settings,
) -> None:
    with world_on(any_settings) as world:
        recorder = world.store.recorder
        taken = uuid4()
        recorder.insert_events([_event(taken)])
        held = _HeldFirst(recorder)
        group = GroupCommit(held)
        outcomes: dict[str, Any] = {}

        def save(name: str, originator: UUID) -> None:
            try:
                outcomes[name] = group.insert_events([_event(originator)])
            except IntegrityError as error:
                outcomes[name] = error

        first = threading.Thread(target=save, args=("first", uuid4()))
        first.start()
        assert held.entered.wait(10)
        rest = [
            threading.Thread(target=save, args=(name, originator))
            for name, originator in (("conflict", taken), ("second", uuid4()), ("third", uuid4()))
        ]
        for thread in rest:
            thread.start()
        wait_for(lambda: group.queued == 3, 10, "three saves queued behind the first")
        held.release.set()
        for thread in (first, *rest):
            thread.join()

        assert isinstance(outcomes["conflict"], IntegrityError)
        written = [outcomes[name] for name in ("first", "second", "third")]
        assert all(isinstance(ids, list) and len(ids) == 1 for ids in written)
        assert group.batches == 5  # the first; the three refused together; each of them again alone
        assert len(recorder.select_notifications(start=1, limit=100)) == 4


@pytest.mark.parametrize("max_batch", [1, 2])
def test_a_batch_never_holds_more_saves_than_its_limit(sqlite_settings: Settings, max_batch: int) -> None:
    with world_on(sqlite_settings) as world:
        held = _HeldFirst(world.store.recorder)
        group = GroupCommit(held, max_batch=max_batch)
        threads = [threading.Thread(target=group.insert_events, args=([_event(uuid4())],)) for _ in range(5)]
        threads[0].start()
        assert held.entered.wait(10)
        for thread in threads[1:]:
            thread.start()
        wait_for(lambda: group.queued == 4, 10, "four saves queued")
        held.release.set()
        for thread in threads:
            thread.join()
        assert group.saves == 5 and group.batches == 1 + -(-4 // max_batch)
