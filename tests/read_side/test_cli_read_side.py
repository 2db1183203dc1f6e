"""`tbot projections`, `tbot events replay` and `tbot audit` as an operator runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import pytest
from sqlalchemy import text

from application import commands as c
from domain.bot import Bot
from infrastructure.read_store.schemas import quoted
from infrastructure.settings import Settings
from interfaces.cli_read_side import aggregate_document
from tests.support.processes import tbot
from tests.support.read_side import ReadSide, read_side_on
from tests.support.world import ACTOR, LIMITS, World, world_on


@dataclass
class Recorded:
    world: World
    read_side: ReadSide
    bot: UUID
    order: UUID


@pytest.fixture
def recorded(read_settings: Settings) -> Iterator[Recorded]:
    """A bot created at 12:00, its limits changed at 12:05, an order at 12:07, paused at 12:10."""
    with world_on(read_settings) as world, read_side_on(read_settings) as rs:
        bot = world.running_bot()
        world.clock.advance(minutes=5)
        world.bus.dispatch(
            c.UpdateRiskLimits(actor=ACTOR, bot_id=bot, limits={**LIMITS, "max_open_orders": 7})
        )
        world.clock.advance(minutes=2)
        order = world.place(bot, "o1", "buy", "0.01", price="50000")
        world.clock.advance(minutes=3)
        world.bus.dispatch(c.PauseBot(actor=ACTOR, bot_id=bot))
        assert rs.catch_up() == {}
        yield Recorded(world, rs, bot, order)


def test_audit_state_at_a_time_is_the_state_recorded_then(
    recorded: Recorded, read_settings: Settings
) -> None:
    at = recorded.world.clock.now() - timedelta(minutes=4)  # 12:06: limits changed, not yet paused
    result = tbot(read_settings, "audit", "state", str(recorded.bot), "--at", at.isoformat())
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    expected = aggregate_document(recorded.world.store.load_at(recorded.bot, 3))
    assert shown == json.loads(json.dumps(expected))
    assert (shown["version"], shown["state"]["status"], shown["state"]["limits"]["max_open_orders"]) == (
        3,
        "running",
        7,
    )
    now = json.loads(tbot(read_settings, "audit", "state", str(recorded.bot)).stdout)
    assert now["state"]["status"] == "paused"
    assert now == json.loads(json.dumps(aggregate_document(recorded.world.store.load(Bot, recorded.bot))))
    by_version = json.loads(tbot(read_settings, "audit", "state", str(recorded.bot), "--version", "2").stdout)
    assert (by_version["version"], by_version["state"]["limits"]["max_open_orders"]) == (2, 3)


def test_audit_verify_passes_then_detects_a_row_changed_by_hand(
    recorded: Recorded, read_settings: Settings
) -> None:
    clean = tbot(read_settings, "audit", "verify")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    with recorded.read_side.read_models.engine.begin() as conn:
        conn.execute(text(f"UPDATE {quoted(conn, 'orders_g1')} SET status = 'filled'"))

    drift = tbot(read_settings, "audit", "verify")

    assert drift.returncode == 1
    assert (
        f"orders: orders {recorded.order}: status is 'filled' in the live table, 'pending_new'"
        in drift.stdout
    )
    assert "drift: 1 difference" in drift.stderr


def test_events_replay_lists_events_in_order_with_metadata(
    recorded: Recorded, read_settings: Settings
) -> None:
    result = tbot(read_settings, "events", "replay", "--aggregate", str(recorded.bot), "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["type"] for line in lines] == [
        "Bot.Created",
        "Bot.Started",
        "Bot.RiskLimitsUpdated",
        "Bot.OrderAdmitted",
        "Bot.Paused",
    ]
    assert [line["version"] for line in lines] == [1, 2, 3, 4, 5]
    assert all(line["actor"] == ACTOR and line["correlation_id"] for line in lines)
    assert lines[3]["payload"]["request"]["client_order_id"] == "o1"
    positions = [line["position"] for line in lines]
    assert positions == sorted(positions)

    window = tbot(read_settings, "events", "replay", "--from", "1", "--to", "3", "--json")
    assert [json.loads(line)["position"] for line in window.stdout.splitlines()] == [2, 3]
    until = (recorded.world.clock.now() - timedelta(minutes=4)).isoformat()
    early = tbot(read_settings, "events", "replay", "--until", until, "--json")
    assert [json.loads(line)["type"] for line in early.stdout.splitlines()] == [
        "Bot.Created",
        "Bot.Started",
        "Bot.RiskLimitsUpdated",
    ]


def test_status_shows_positions_lag_and_backend(recorded: Recorded, read_settings: Settings) -> None:
    recorded.world.bus.dispatch(c.ResumeBot(actor=ACTOR, bot_id=recorded.bot))
    result = tbot(read_settings, "projections", "status", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}  # one JSON document
    head = recorded.world.store.last_position()
    assert rows["orders"]["position"] == head - 1 and rows["orders"]["lag_events"] == 1
    expected_backend = "sqlite" if read_settings.store.backend == "sqlite" else "postgresql range partitions"
    assert rows["fills"]["backend"] == expected_backend
    assert ("live" in rows) == (read_settings.redis.url is not None)


def test_rebuild_all_from_the_cli_keeps_the_rows(recorded: Recorded, read_settings: Settings) -> None:
    before = recorded.read_side.typed_rows("orders", "order_id")
    result = tbot(read_settings, "projections", "rebuild", "--all")
    assert result.returncode == 0, result.stderr
    assert "events/s" in result.stdout
    assert recorded.read_side.typed_rows("orders", "order_id") == before
    with recorded.read_side.read_models.engine.connect() as conn:
        assert {t.generation for t in recorded.read_side.read_models.tracking(conn)} == {2}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["projections", "run", "nope"], "unknown projection 'nope'"),
        (["projections", "rebuild"], "name a projection to rebuild, or pass --all"),
        (["projections", "rebuild", "orders", "ghost"], "unknown projection 'ghost'"),
        (["audit", "state", "not-a-uuid"], "Invalid value for 'aggregate_id'"),
        (
            ["audit", "state", "00000000-0000-0000-0000-000000000001", "--at", "yesterday"],
            "--at: 'yesterday'",
        ),
        (["events", "replay", "--until", "soon"], "--until: 'soon' is not an ISO 8601 time"),
        (["events", "replay", "--from", "-3"], "Invalid value for '--from'"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    sqlite_settings: Settings, args: list[str], message: str
) -> None:
    result = tbot(sqlite_settings, *args)
    assert result.returncode == 2
    assert message in result.stdout + result.stderr
