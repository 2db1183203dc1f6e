"""Bots with a strategy over HTTP, against a real `tbot serve` on PostgreSQL and Redis: a bot's
strategy and params are checked when it is created and when its params change (422 naming the
field and the rule, nothing recorded), a change is recorded and read back, and the decisions of its
strategy are listed per bot, for its owner only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest

from application import commands as c
from application.strategy_runtime import STRATEGY_ACTOR
from infrastructure.settings import Settings
from tests.support.api import LIMITS, Api, api_on
from tests.support.world import World, world_on

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

USERS = {"alice": "trader", "bob": "trader"}
SMA = {"fast": 5, "slow": 20, "quantity": "0.01"}


@pytest.fixture(scope="module")
def settings(module_postgres_redis_settings: Settings) -> Settings:
    return module_postgres_redis_settings


@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[Api]:
    with api_on(settings, USERS) as running:
        yield running


@pytest.fixture(scope="module")
def world(settings: Settings, api: Api) -> Iterator[World]:
    with world_on(settings) as opened:
        yield opened


def _bot(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "sma",
        "strategy": "sma_cross",
        "params": SMA,
        "allowed_symbols": ["BTC/USDT"],
        "limits": LIMITS,
        **overrides,
    }


def _problems(answer: httpx.Response) -> list[tuple[str, str]]:
    assert answer.status_code == 422, answer.text
    return [(p["field"], p["rule"]) for p in answer.json()["error"]["problems"]]


def _head(http: httpx.Client) -> int:
    return int(http.get("/health/ready").json()["head"])


def test_a_bot_is_created_with_its_strategy_params_as_the_strategy_takes_them(api: Api) -> None:
    with api.client("alice") as http:
        created = http.post("/v1/bots", json=_bot())
        assert created.status_code == 201, created.text
        row = http.get(
            f"/v1/bots/{created.json()['id']}", params={"min_position": created.json()["position"]}
        )
    params = row.json()["params"]
    assert params["fast"] == 5 and params["slow"] == 20 and params["quantity"] == "0.01"
    assert params["timeframe"] == "1m"  # a default the strategy filled in


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        (_bot(strategy="momentum"), "body.strategy", "must be one of external, grid, manual"),
        (_bot(params={"fast": 20, "slow": 5, "quantity": "1"}), "body.params.fast", "less than slow"),
        (_bot(params={**SMA, "fats": 2}), "body.params.fats", "is not a parameter of sma_cross"),
        (_bot(params={"fast": 5, "slow": 20}), "body.params", "quantity"),
        (_bot(strategy="manual", params={"levels": 3}), "body.params.levels", "is not a parameter of manual"),
    ],
)
def test_an_unknown_strategy_or_a_bad_parameter_is_refused_naming_it(
    api: Api, body: dict[str, Any], field: str, rule: str
) -> None:
    with api.client("alice") as http:
        before = _head(http)
        [(named, said)] = _problems(http.post("/v1/bots", json=body))
        assert _head(http) == before
    assert named.startswith(field) and rule in said, (named, said)


def test_params_change_through_a_recorded_command_checked_by_the_strategy(api: Api, world: World) -> None:
    bot_id = api.create_bot("alice", **_bot())
    with api.client("alice") as http:
        changed = http.put(f"/v1/bots/{bot_id}/params", json={"params": {**SMA, "fast": 8}})
        assert changed.status_code == 200 and changed.json()["changed"] is True, changed.text
        again = http.put(f"/v1/bots/{bot_id}/params", json={"params": {**SMA, "fast": 8}})
        assert again.json()["changed"] is False
        [(field, rule)] = _problems(
            http.put(f"/v1/bots/{bot_id}/params", json={"params": {**SMA, "slow": 0}})
        )
        assert field == "body.params.slow" and rule
        row = http.get(f"/v1/bots/{bot_id}", params={"min_position": changed.json()["position"]}).json()
    assert row["params"]["fast"] == 8
    with api.client("bob") as http:
        assert http.put(f"/v1/bots/{bot_id}/params", json={"params": SMA}).status_code == 404
    changes = [e for e in world.new_events(0) if type(e).__qualname__ == "Bot.StrategyParamsChanged"]
    assert [e.params["fast"] for e in changes if str(e.originator_id) == bot_id] == [8]


def test_the_decisions_of_a_bots_strategy_are_listed_for_its_owner(api: Api, world: World) -> None:
    bot_id = api.create_bot("alice", **_bot())
    candle = datetime(2026, 12, 1, 14, 3, tzinfo=UTC)
    buy = {"intent": "place", "symbol": "BTC/USDT", "side": "buy", "order_type": "market", "quantity": "0.01"}
    for minute, intents in ((3, [buy]), (4, [])):
        ack = world.bus.dispatch(
            c.RecordDecision(
                actor=STRATEGY_ACTOR,
                bot_id=UUID(bot_id),
                timeframe="1m",
                candle_at=candle.replace(minute=minute),
                params_hash="0123456789abcdef",
                intents=intents,
            )
        )
    with api.client("alice") as http:
        listed = http.get(f"/v1/bots/{bot_id}/decisions", params={"min_position": ack.position})
        assert listed.status_code == 200, listed.text
        acted = http.get(f"/v1/bots/{bot_id}/decisions", params={"acted": "true"}).json()["items"]
    items = listed.json()["items"]
    assert [(i["candle_at"], i["intent_count"], i["actor"]) for i in items] == [
        ("2026-12-01T14:03:00Z", 1, STRATEGY_ACTOR),
        ("2026-12-01T14:04:00Z", 0, STRATEGY_ACTOR),
    ]
    assert items[0]["intents"] == [buy] and items[0]["strategy"] == "sma_cross"
    assert [i["candle_at"] for i in acted] == ["2026-12-01T14:03:00Z"]
    with api.client("bob") as http:
        assert http.get(f"/v1/bots/{bot_id}/decisions").status_code == 404
