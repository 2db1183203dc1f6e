"""A projection meeting an event it cannot handle stops, names the event and its position, and
writes nothing of that batch; every domain event is either handled or deliberately ignored."""

from __future__ import annotations

import inspect

import pytest

from domain import bot, order, position
from domain.aggregate import TradingAggregate
from infrastructure.settings import Settings
from projections.models.catalog import sql_projections
from tests.support.alien import alien
from tests.support.read_side import read_side_on
from tests.support.world import world_on


def test_an_unknown_event_stops_every_projection_at_its_position(read_settings: Settings) -> None:
    with world_on(read_settings) as world, read_side_on(read_settings) as rs:
        world.running_bot()
        assert rs.catch_up() == {}
        reached = world.store.last_position()
        world.store.save(alien())
        unknown = world.store.last_position()
        world.running_bot()

        failures = rs.catch_up()

        assert set(failures) == {p.name for p in sql_projections()} | {"live"}
        for name, message in failures.items():
            assert f"projection {name} stopped at event #{unknown} (Alien.Landed)" in message
        with rs.read_models.engine.connect() as conn:
            tracks = rs.read_models.tracking(conn)
        assert {t.position for t in tracks} == {reached}
        assert all(t.error and "Alien.Landed" in t.error for t in tracks)
        assert len(rs.typed_rows("bots", "bot_id")) == 1
        assert rs.live_store.position() == reached


def _event_classes() -> list[type]:
    found: set[type] = set()
    for module in (bot, order, position):
        for _, aggregate in inspect.getmembers(module, inspect.isclass):
            if issubclass(aggregate, TradingAggregate) and aggregate is not TradingAggregate:
                for _, member in inspect.getmembers(aggregate, inspect.isclass):
                    if issubclass(member, TradingAggregate.Event):
                        found.add(member)
    # eventsourcing generates Order.Created and Position.Created; they are never emitted (orders are
    # Placed, positions Opened).
    found -= {order.Order.Created, position.Position.Created}
    leaves = {cls for cls in found if not any(other is not cls and issubclass(other, cls) for other in found)}
    return sorted(leaves, key=lambda cls: cls.__qualname__)


@pytest.mark.parametrize("projection", sql_projections(), ids=lambda p: p.name)
def test_every_domain_event_is_handled_or_ignored_on_purpose(projection: object) -> None:
    events = _event_classes()
    assert len(events) == 27
    for event_type in events:
        projection.handler_for(event_type)  # type: ignore[attr-defined]  # raises LookupError if neither
