"""The live feed's source: the stream keeps only the latest events, and what it no longer holds
comes from the event store, entry for entry the same, so a reader resuming anywhere gets exactly
the events after its position (Redis and the in-process store alike)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infrastructure.settings import Settings
from projections.engine.feed import FeedSource
from projections.models.live import feed_entries
from tests.support.read_side import ReadSide, read_side_on
from tests.support.settings import changed
from tests.support.world import world_on

KEPT = 10


@pytest.fixture
def trimmed(read_settings: Settings) -> Iterator[tuple[ReadSide, FeedSource]]:
    settings = changed(read_settings, feed={"max_length": KEPT})
    with world_on(settings) as world, read_side_on(settings) as read_side:
        bot = world.running_bot()
        for n in range(12):
            order = world.place(bot, f"o{n}", "buy", "0.01", price="50000")
            world.accept(order, f"X{n}")
            world.fill(order, f"t{n}", "0.01", "50000")
        assert read_side.catch_up(["live"]) == {}
        yield read_side, FeedSource(read_side.container.live_store().bound, read_side.reader)


def _read_all(source: FeedSource, after: int, limit: int) -> tuple[list[dict[str, str]], set[bool]]:
    entries: list[dict[str, str]] = []
    sources = set()
    head = source.position()
    while after < head:
        batch = source.read(after, limit)
        assert batch.reached > after
        entries += batch.entries
        sources.add(batch.from_event_store)
        after = batch.reached
    return entries, sources


def test_the_stream_keeps_only_the_latest_events(trimmed: tuple[ReadSide, FeedSource]) -> None:
    read_side, _ = trimmed
    window = read_side.live_store.feed_window(0, 1000)
    head = read_side.reader.head()
    assert window.position == head and window.floor == head - KEPT
    # every entry above the floor is kept; Redis trims approximately, so some below it may remain
    kept = [int(e["position"]) for e in window.entries]
    assert kept[-KEPT:] == list(range(head - KEPT + 1, head + 1)) and len(kept) < head


@pytest.mark.parametrize("limit", [1, 7, 500])
def test_any_resume_point_gets_exactly_the_events_after_it(
    trimmed: tuple[ReadSide, FeedSource], limit: int
) -> None:
    read_side, source = trimmed
    head = read_side.reader.head()
    store = read_side.live_store
    everything = feed_entries(read_side.reader.read(0, 1000), store)
    assert [int(e["position"]) for e in everything] == list(range(1, head + 1))
    floor = store.feed_window(0, 1).floor
    for after in range(head + 1):
        entries, sources = _read_all(source, after, limit)
        assert entries == everything[after:], after
        if after < floor:
            assert True in sources  # the stream no longer holds these: the event store served them
        elif after < head:
            assert sources == {False}
