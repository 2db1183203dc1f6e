"""Notification channels through a real `tbot serve` on PostgreSQL: a user adds, lists, changes and
removes their own channels and never another's; the webhook's secret is taken and never given back
(``has_secret``); bad input is a 422 naming the field and the rule; and the deliveries the notifier
gave up on are listed to their owner (``?status=dead``) and to nobody else. In process on the
embedded store: a server without TBOT_CREDENTIALS_KEY refuses webhooks (422) and takes the others."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient
from pydantic import SecretStr

from infrastructure.credentials import new_key
from infrastructure.settings import Settings
from interfaces.composition import Container
from interfaces.http.app import create_app
from interfaces.tables import install_tables
from interfaces.workers.notifications import notifier_job
from tests.support.api import Api, api_on
from tests.support.settings import changed
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.postgres

KEY = new_key()
SECRET = "whsec_not_to_be_seen_again"
HOOK = {"channel": "webhook", "target": "https://hooks.example.com/t?token=abc", "secret": SECRET}


@pytest.fixture(scope="module")
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    settings: Settings = request.getfixturevalue("module_postgres_redis_settings")
    users = {"alice": "trader", "bob": "trader", "audrey": "auditor"}
    with api_on(settings, users, TBOT_CREDENTIALS_KEY=KEY, TBOT_RATE_LIMIT_PER_SECOND="1000") as running:
        yield running


def _problems(answer: httpx.Response) -> list[tuple[str, str]]:
    assert answer.status_code == 422, answer.text
    return [(p["field"], p["rule"]) for p in answer.json()["error"]["problems"]]


def test_a_user_manages_their_channels_and_never_sees_a_secret(api: Api) -> None:
    with api.client("alice") as alice, api.client("bob") as bob:
        created = alice.post(
            "/v1/notifications/channels", json={**HOOK, "kinds": ["order_filled", "kill_switch"]}
        )
        assert created.status_code == 201, created.text
        channel = created.json()
        assert channel["has_secret"] is True and "secret" not in channel and SECRET not in created.text
        assert channel["kinds"] == ["kill_switch", "order_filled"] and channel["enabled"] is True
        assert created.headers["location"] == f"/v1/notifications/channels/{channel['id']}"
        email = alice.post(
            "/v1/notifications/channels",
            json={
                "channel": "email",
                "target": "alice@example.com",
                "kinds": ["daily_pnl"][:0] or ["bot_lifecycle"],
            },
        )
        assert email.status_code == 201 and email.json()["has_secret"] is False

        listed = alice.get("/v1/notifications/channels")
        assert [c["id"] for c in listed.json()] == [channel["id"], email.json()["id"]]
        assert SECRET not in listed.text
        assert bob.get("/v1/notifications/channels").json() == []

        path = f"/v1/notifications/channels/{channel['id']}"
        assert bob.put(path, json={"enabled": False}).status_code == 404
        assert bob.delete(path).status_code == 404
        untouched = {c["id"]: c for c in alice.get("/v1/notifications/channels").json()}[channel["id"]]
        assert untouched["enabled"] is True and untouched["kinds"] == ["kill_switch", "order_filled"]
        changed_ = alice.put(path, json={"kinds": ["risk_denied"], "enabled": False})
        assert changed_.status_code == 200, changed_.text
        assert changed_.json()["kinds"] == ["risk_denied"] and changed_.json()["enabled"] is False
        assert SECRET not in changed_.text

        assert alice.delete(path).status_code == 204
        assert alice.delete(path).status_code == 404
        assert [c["id"] for c in alice.get("/v1/notifications/channels").json()] == [email.json()["id"]]


def test_bad_input_is_refused_naming_the_field_and_the_rule(api: Api) -> None:
    cases = [
        ("body.target", {**HOOK, "target": "ftp://example.com/x", "kinds": ["order_filled"]}),
        ("body.secret", {"channel": "webhook", "target": "https://example.com/h", "kinds": ["order_filled"]}),
        ("body.target", {"channel": "email", "target": "not an address", "kinds": ["order_filled"]}),
        ("body.target", {"channel": "telegram", "target": "@x", "kinds": ["order_filled"]}),
        (
            "body.secret",
            {"channel": "email", "target": "a@b.co", "secret": SECRET, "kinds": ["order_filled"]},
        ),
        ("body.kinds", {"channel": "telegram", "target": "42", "kinds": ["everything"]}),
    ]
    with api.client("alice") as alice:
        before = alice.get("/v1/notifications/channels").json()
        for field, body in cases:
            [(named, rule)] = _problems(alice.post("/v1/notifications/channels", json=body))
            assert named == field and rule, (field, named, rule)
        [(named, _)] = _problems(
            alice.post(
                "/v1/notifications/channels", json={**HOOK, "channel": "sms", "kinds": ["kill_switch"]}
            )
        )
        assert named == "body.channel"
        [(named, _)] = _problems(
            alice.post(
                "/v1/notifications/channels", json={"channel": "email", "target": "a@b.co", "kinds": []}
            )
        )
        assert named == "body.kinds"
        assert alice.get("/v1/notifications/channels").json() == before
    with api.client("audrey") as audrey:  # an auditor reads, and changes nothing
        answer = audrey.post("/v1/notifications/channels", json={**HOOK, "kinds": ["order_filled"]})
        assert answer.status_code == 403


def test_dead_letters_are_listed_to_their_owner_only(api: Api) -> None:
    assert api.settings is not None
    with WebhookReceiver() as receiver, api.client("bob") as bob, api.client("alice") as alice:
        receiver.respond(410, times=10)
        hook = {"channel": "webhook", "target": receiver.url, "secret": SECRET, "kinds": ["bot_lifecycle"]}
        assert bob.post("/v1/notifications/channels", json=hook).status_code == 201
        api.create_bot("bob")  # created, then started
        settings = changed(
            api.settings,
            exchange={"credentials_key": SecretStr(KEY)},
            notify={"allow_private_urls": True, "retry_attempts": 2, "retry_first_delay_seconds": 0.01},
        )
        container = Container()
        container.settings.override(providers.Object(settings))
        job = notifier_job(container, from_start=True)
        try:
            job.drain()
        finally:
            job.close()
            container.store().close()
            container.shutdown_resources()
        dead = bob.get("/v1/notifications/deliveries", params={"status": "dead"})
        assert dead.status_code == 200, dead.text
        rows = dead.json()
        assert len(rows) == 2 and {r["status"] for r in rows} == {"dead"}
        assert all(r["attempts"] == 1 and "410" in r["error"] and r["kind"] == "bot_lifecycle" for r in rows)
        assert SECRET not in dead.text and receiver.url not in dead.text
        assert bob.get("/v1/notifications/deliveries", params={"status": "sent"}).json() == []
        assert alice.get("/v1/notifications/deliveries").json() == []
        [(named, _)] = _problems(bob.get("/v1/notifications/deliveries", params={"status": "lost"}))
        assert named == "query.status"
        assert [json.loads(r.body)["kind"] for r in receiver.requests] == ["bot_lifecycle"] * 2


def test_without_a_credentials_key_webhooks_are_off_and_the_others_on(sqlite_settings: Settings) -> None:
    """In process, on the embedded store."""
    container = Container()
    container.settings.override(providers.Object(sqlite_settings))  # no TBOT_CREDENTIALS_KEY
    install_tables(container)
    container.identity().create_user("alice", "trader")
    key = container.identity().create_key("alice")
    try:
        with TestClient(create_app(container), headers={"X-API-Key": key}) as http:
            hook = http.post("/v1/notifications/channels", json={**HOOK, "kinds": ["order_filled"]})
            assert hook.status_code == 422, hook.text
            [(named, rule)] = [(p["field"], p["rule"]) for p in hook.json()["error"]["problems"]]
            assert named == "body.channel" and "TBOT_CREDENTIALS_KEY" in rule
            chat = {"channel": "telegram", "target": "-100123", "kinds": ["risk_denied"]}
            created = http.post("/v1/notifications/channels", json=chat)
            assert created.status_code == 201, created.text
            assert created.json()["target"] == "-100123" and created.json()["has_secret"] is False
            assert [c["channel"] for c in http.get("/v1/notifications/channels").json()] == ["telegram"]
    finally:
        container.store().close()
        container.shutdown_resources()
