"""Resetting a bot's kill switch, over HTTP against a real `tbot serve` and through the real
`tbot bots reset-kill-switch`: by the bot's owner or an admin, recorded with the actor and the
reason; the only way to turn the switch off."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from domain.bot import Bot
from infrastructure.settings import Settings
from tests.support.api import Api, api_on
from tests.support.processes import tbot
from tests.support.world import World, world_on

pytestmark = pytest.mark.postgres

USERS = {"alice": "trader", "bob": "trader", "audrey": "auditor", "ada": "admin"}


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


def _tripped_bot(api: Api) -> str:
    bot_id = api.create_bot("alice")
    with api.client("alice") as http:
        assert http.post(f"/v1/bots/{bot_id}/kill", json={"reason": "loss"}).json()["changed"] is True
    return bot_id


def _reset(http: httpx.Client, bot_id: str, body: Any) -> httpx.Response:
    return http.post(f"/v1/bots/{bot_id}/kill-switch/reset", json=body)


def _bot_row(http: httpx.Client, bot_id: str, position: int) -> dict[str, Any]:
    answer = http.get(f"/v1/bots/{bot_id}", params={"min_position": position})
    assert answer.status_code == 200, answer.text
    row: dict[str, Any] = answer.json()
    return row


def _resets(world: World, bot_id: str) -> list[tuple[str | None, str]]:
    return [
        (e.reason, e.meta.actor)
        for e in world.new_events(0)
        if isinstance(e, Bot.KillSwitchReset) and str(e.originator_id) == bot_id
    ]


def test_the_owner_resets_the_switch_with_a_reason_once(api: Api, world: World) -> None:
    bot_id = _tripped_bot(api)
    with api.client("alice") as http:
        stopped = http.post(f"/v1/bots/{bot_id}/stop")
        started = http.post(f"/v1/bots/{bot_id}/start")
        assert stopped.status_code == started.status_code == 200
        assert _bot_row(http, bot_id, started.json()["position"])["kill_switch"] is True

        reset = _reset(http, bot_id, {"reason": "loss reviewed"})
        assert reset.status_code == 200, reset.text
        assert reset.json()["changed"] is True
        assert _bot_row(http, bot_id, reset.json()["position"])["kill_switch"] is False

        again = _reset(http, bot_id, {"reason": "loss reviewed"})
        assert again.status_code == 200 and again.json()["changed"] is False
    assert _resets(world, bot_id) == [("loss reviewed", "alice")]


def test_an_admin_may_reset_another_users_switch(api: Api, world: World) -> None:
    bot_id = _tripped_bot(api)
    with api.client("ada") as http:
        assert _reset(http, bot_id, {"reason": "desk decision"}).json()["changed"] is True
    assert _resets(world, bot_id) == [("desk decision", "ada")]


@pytest.mark.parametrize(("user", "status"), [("bob", 404), ("audrey", 403)])
def test_neither_another_trader_nor_an_auditor_may_reset_it(
    api: Api, world: World, user: str, status: int
) -> None:
    bot_id = _tripped_bot(api)
    with api.client(user) as http:
        answer = _reset(http, bot_id, {"reason": "mine now"})
    assert answer.status_code == status, answer.text
    assert _resets(world, bot_id) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.reason"),
        ({"reason": ""}, "body.reason"),
        ({"reason": "x" * 501}, "body.reason"),
        ({"reason": "a\nb"}, "body.reason"),
        ({"reason": "   "}, "body.reason"),
        ({"reason": "ok", "force": True}, "body.force"),
    ],
)
def test_a_reset_without_a_good_reason_is_refused_naming_it(
    api: Api, world: World, body: dict[str, Any], field: str
) -> None:
    bot_id = _tripped_bot(api)
    with api.client("alice") as http:
        answer = _reset(http, bot_id, body)
    assert answer.status_code == 422, answer.text
    assert field in [problem["field"] for problem in answer.json()["error"]["problems"]]
    assert _resets(world, bot_id) == []


def test_the_cli_resets_it_as_the_owner_or_an_admin(api: Api, settings: Settings, world: World) -> None:
    bot_id = _tripped_bot(api)
    done = tbot(settings, "bots", "reset-kill-switch", bot_id, "--reason", "flatten by hand", "--as", "alice")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reset" in done.stdout
    again = tbot(settings, "bots", "reset-kill-switch", bot_id, "--reason", "again", "--as", "ada")
    assert again.returncode == 0 and "nothing changed" in again.stdout
    assert _resets(world, bot_id) == [("flatten by hand", "alice")]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--as", "nobody"], "--as: no user nobody"),
        (["--as", "bob"], "BOT_ID: no such bot that bob may act on"),
        (["--as", "audrey"], "--as: role auditor"),
        (["--as", "alice", "--reason", "  "], "--reason: must not be empty"),
        (["--as", "alice", "--reason", "x" * 501], "--reason: must be at most 500 characters"),
    ],
)
def test_the_cli_refuses_a_user_error_with_one_line(
    api: Api, settings: Settings, world: World, args: list[str], says: str
) -> None:
    bot_id = _tripped_bot(api)
    options = args if "--reason" in args else [*args, "--reason", "mine"]
    done = tbot(settings, "bots", "reset-kill-switch", bot_id, *options)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().startswith(f"error: {says}") and len(done.stderr.strip().splitlines()) == 1
    assert _resets(world, bot_id) == []


def test_the_cli_names_a_bot_id_that_is_no_uuid(settings: Settings, api: Api) -> None:
    done = tbot(settings, "bots", "reset-kill-switch", "nope", "--reason", "x", "--as", "alice")
    assert (done.returncode, done.stderr.strip()) == (2, "error: BOT_ID: must be a UUID")
