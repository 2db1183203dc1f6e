"""The live feed's credential offered as WebSocket subprotocols, as a browser sends it (it cannot
set headers on a WebSocket): an API key or a bearer token, answered with ``tbot.feed`` alone so
the credential is never echoed; a wrong one is refused like a wrong header."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from infrastructure.settings import Settings
from tests.support.api import PASSWORD, Api, api_on
from tests.support.feed import feed_url

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    settings: Settings = request.getfixturevalue("module_postgres_redis_settings")
    with api_on(settings, {"alice": "trader", "bob": "trader"}, TBOT_FEED_HEARTBEAT_SECONDS="0.5") as running:
        yield running


def _open(api: Api, *offered: str) -> ClientConnection:
    return connect(feed_url(api, after=0), subprotocols=list(offered), open_timeout=10)  # type: ignore[arg-type]


def _events_through(ws: ClientConnection, position: int) -> list[dict[str, object]]:
    events = []
    while True:
        message = json.loads(ws.recv(timeout=20))
        if message["type"] == "event":
            events.append(message)
        if message["type"] in ("event", "heartbeat") and message["position"] >= position:
            return events


def test_an_api_key_offered_as_a_subprotocol_opens_the_callers_feed(api: Api) -> None:
    alice_bot = api.create_bot("alice")
    api.create_bot("bob")
    with api.client("alice") as http:
        paused = http.post(f"/v1/bots/{alice_bot}/pause").json()["position"]
    with _open(api, "tbot.feed", f"tbot.key.{api.keys['alice']}") as ws:
        assert ws.subprotocol == "tbot.feed"
        assert ws.response is not None and ws.response.headers["Sec-WebSocket-Protocol"] == "tbot.feed"
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
        events = _events_through(ws, paused)
    assert {e["owner"] for e in events} == {"alice"} and events[-1]["event"] == "Bot.Paused"


def test_a_bearer_token_offered_as_a_subprotocol_opens_the_feed(api: Api) -> None:
    with api.client() as http:
        token = http.post("/v1/auth/token", data={"username": "bob", "password": PASSWORD}).json()
    with _open(api, "tbot.feed", f"tbot.bearer.{token['access_token']}") as ws:
        assert ws.subprotocol == "tbot.feed"
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"


@pytest.mark.parametrize("offered", [["tbot.feed", "tbot.key.tbot_0000_wrong"], ["tbot.feed"], ["tbot.key."]])
def test_a_missing_or_wrong_credential_is_refused_with_401(api: Api, offered: list[str]) -> None:
    with pytest.raises(InvalidStatus) as refused:
        _open(api, *offered)
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body or b"{}")["error"]["code"] == "unauthorized"
