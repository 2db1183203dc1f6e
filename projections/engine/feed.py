"""Where the live feed's entries come from: the live model's stream when it still holds everything
after the asked position, otherwise the event store (owners from the live model's directory).
Either way in global position order and never past the live model's own position, so the two
sources agree entry for entry and a reader can switch between them without a gap or a repeat."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from projections.engine.reader import EventReader
from projections.models.live import feed_entries
from projections.ports import LiveStore


@dataclass(frozen=True)
class FeedBatch:
    """Entries after some position, and the position they account for: every entry up to
    ``reached`` has been returned (a reader resumes after ``reached``)."""

    entries: list[dict[str, str]]
    reached: int
    from_event_store: bool = False


class FeedSource:
    def __init__(self, live_store: Callable[[], LiveStore], reader: EventReader) -> None:
        self.live_store = live_store
        self.reader = reader

    def position(self) -> int:
        """How far the live model (and so the feed) has got."""
        return self.live_store().position()

    def read(self, after: int, limit: int) -> FeedBatch:
        store = self.live_store()
        window = store.feed_window(after, limit)
        if after >= window.floor:
            full = len(window.entries) == limit
            reached = int(window.entries[-1]["position"]) if full else window.position
            return FeedBatch(window.entries, max(after, reached))
        envelopes = self.reader.read(after, limit, upto=window.position)
        full = len(envelopes) == limit
        reached = envelopes[-1].position if full else window.position
        return FeedBatch(feed_entries(envelopes, store), max(after, reached), from_event_store=True)

    def wait(self, after: int, timeout: float) -> bool:
        """Waits up to ``timeout`` seconds for an entry after ``after``."""
        return self.live_store().wait_for_feed(after, timeout)
