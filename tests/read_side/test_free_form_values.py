"""A bot's free-form values reach every read model as JSON gives them (finite floats included);
what no store can hold is refused at creation with the field named, and events recorded before
that rule still project."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest

from application import commands as c
from domain.bot import Bot
from domain.errors import InvalidInput
from domain.ids import BotId, UserId
from domain.risk import parse_risk_limits
from domain.values import EventMeta
from infrastructure.settings import Settings
from tests.support.read_side import ReadSide, read_side_on
from tests.support.world import ACTOR, LIMITS, World, world_on

PARAMS = {
    "ratio": 1.5,
    "levels": [0.1, -2.5e-7, 3.0, 0],
    "largest": 2**63 - 1,
    "label": "grid ✓ 🚀",
    "nested": {"on": True, "off": None, "deep": [[{"x": -0.75}]]},
}


def _create(world: World, **fields: Any) -> Any:
    command = {"name": "b", "strategy": "external", "params": {}, "exchange_account": "paper", **fields}
    return world.bus.dispatch(
        c.CreateBot(actor=ACTOR, allowed_symbols=["BTC/USDT"], limits=LIMITS, **command)
    ).aggregate_id


def _created_payload(rs: ReadSide, bot_id: Any) -> dict[str, Any]:
    entries = rs.live_store.feed_window(0, 1000).entries
    [entry] = [e for e in entries if e["aggregate_id"] == str(bot_id) and e["type"] == "Bot.Created"]
    payload: dict[str, Any] = json.loads(entry["payload"])
    return payload


def test_params_with_floats_reach_the_read_models_as_json_gives_them(read_settings: Settings) -> None:
    with world_on(read_settings) as world, read_side_on(read_settings) as rs:
        bot_id = _create(world, params=PARAMS, name="  floats  ")

        assert rs.catch_up() == {}

        [row] = rs.typed_rows("bots", "bot_id")
        assert row["params"] == PARAMS and row["name"] == "floats"
        assert _created_payload(rs, bot_id)["params"] == PARAMS


def test_params_recorded_before_the_rules_still_project(read_settings: Settings) -> None:
    """NaN and the infinities show as text: JSON has no such numbers."""
    with world_on(read_settings) as world, read_side_on(read_settings) as rs:
        old = Bot._create(
            Bot.Created,
            id=BotId(uuid4()),
            meta=EventMeta(UserId(ACTOR), "c", "c"),
            owner=UserId(ACTOR),
            name="old",
            strategy="manual",
            params={"nan": float("nan"), "up": float("inf"), "down": [float("-inf")]},
            exchange_account="paper",
            allowed_symbols=["BTC/USDT"],
            limits=parse_risk_limits(LIMITS),
        )
        world.store.save(old)

        assert rs.catch_up() == {}

        [row] = rs.typed_rows("bots", "bot_id")
        shown = {"nan": "NaN", "up": "Infinity", "down": ["-Infinity"]}
        assert row["params"] == shown
        assert _created_payload(rs, old.id)["params"] == shown


def _deep(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


@pytest.mark.parametrize(
    ("fields", "field", "rule"),
    [
        ({"params": {"v": float("nan")}}, "params.v", "must be a finite number"),
        ({"params": {"v": [1, float("inf")]}}, "params.v[1]", "must be a finite number"),
        ({"params": {"v": 2**64}}, "params.v", "within 64 bits"),
        ({"params": {"\ud800": 1}}, "params", "no lone surrogates"),
        ({"params": {"v": "a\x00b"}}, "params.v", "control characters"),
        ({"params": _deep(17)}, "params" + ".k" * 16, "at most 16 levels deep"),
        ({"params": {"v": "x" * 17_000}}, "params", "at most 16384 bytes"),
        ({"name": "\x00"}, "name", "control characters"),
        ({"name": "x" * 101}, "name", "at most 100 characters"),
        ({"strategy": "   "}, "strategy", "must not be empty"),
        ({"exchange_account": "pa\ud800per"}, "exchange_account", "no lone surrogates"),
    ],
)
def test_what_no_store_can_hold_is_refused_naming_the_field(
    sqlite_settings: Settings, fields: dict[str, Any], field: str, rule: str
) -> None:
    with world_on(sqlite_settings) as world:
        with pytest.raises(InvalidInput) as refused:
            _create(world, **fields)
        assert refused.value.field == field and rule in refused.value.rule
        assert world.store.last_position() == 0


def test_texts_are_recorded_and_looked_up_trimmed(sqlite_settings: Settings) -> None:
    with world_on(sqlite_settings) as world, read_side_on(sqlite_settings) as rs:
        _create(world, name=" b ", strategy=" manual ", exchange_account=" paper ")
        assert rs.catch_up() == {}
        [row] = rs.typed_rows("bots", "bot_id")
        assert (row["name"], row["strategy"], row["exchange_account"]) == ("b", "manual", "paper")
