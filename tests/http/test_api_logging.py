"""The server's log on the embedded default (SQLite, no services): JSON lines that carry the
request id, the user and the command, and never a credential."""

from __future__ import annotations

import json
from pathlib import Path

from infrastructure.settings import Settings
from tests.support.api import PASSWORD, api_on


def test_each_line_carries_request_user_and_command_and_no_secret(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    log_path = tmp_path / "server.log"
    with (
        log_path.open("w") as log,
        api_on(sqlite_settings, {"alice": "trader"}, log=log, TBOT_LOG_FORMAT="json") as api,
    ):
        bot_id = api.create_bot("alice")
        with api.client("alice", **{"X-Request-ID": "req-42"}) as http:
            assert http.post(f"/v1/bots/{bot_id}/pause").status_code == 200
        token = api.client().post("/v1/auth/token", data={"username": "alice", "password": PASSWORD})
        assert token.status_code == 200
    text = log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    command = next(
        line for line in lines if line.get("event") == "command" and line.get("request_id") == "req-42"
    )
    assert (command["command"], command["user_id"], command["changed"]) == ("PauseBot", "alice", True)
    request = next(
        line for line in lines if line.get("event") == "request" and line.get("request_id") == "req-42"
    )
    assert (request["method"], request["status"], request["user_id"]) == ("POST", 200, "alice")
    assert request["path"] == f"/v1/bots/{bot_id}/pause"
    for secret in (api.keys["alice"], PASSWORD, token.json()["access_token"]):
        assert secret not in text
