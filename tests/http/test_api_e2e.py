"""The HTTP API end to end: a real `tbot serve` and projection worker on PostgreSQL and Redis,
driven over HTTP. Commands, read-your-writes, denials, idempotency, isolation, authentication
and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import httpx
import pytest

from infrastructure.settings import Settings
from tests.support.api import LIMITS, PASSWORD, Api, api_on

pytestmark = pytest.mark.postgres

USERS = {"alice": "trader", "bob": "trader", "audrey": "auditor", "rita": "trader"}
RATE = 40  # requests per second per key on this module's server


@pytest.fixture(scope="module")
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    settings: Settings = request.getfixturevalue("module_postgres_redis_settings")
    with api_on(settings, USERS, TBOT_RATE_LIMIT_PER_SECOND=str(RATE)) as running:
        yield running


def _order(quantity: str, client_order_id: str, price: str = "50000") -> dict[str, str]:
    return {
        "symbol": "BTC/USDT",
        "side": "buy",
        "order_type": "limit",
        "quantity": quantity,
        "price": price,
        "client_order_id": client_order_id,
    }


def test_place_read_back_cancel_and_a_denial_with_its_reason(api: Api) -> None:
    bot_id = api.create_bot("alice")
    with api.client("alice") as http:
        placed = http.post(f"/v1/bots/{bot_id}/orders", json=_order("0.01", "e2e-1"))
        assert placed.status_code == 201, placed.text
        order = placed.json()
        assert order["status"] == "pending_new" and order["changed"] is True

        seen = http.get("/v1/orders", params={"bot_id": bot_id, "min_position": order["position"]})
        assert seen.status_code == 200, seen.text
        [row] = seen.json()["items"]
        assert (row["order_id"], row["quantity"], row["price"]) == (order["id"], "0.01", "50000")

        cancelled = http.delete(f"/v1/orders/{order['id']}")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        one = http.get(f"/v1/orders/{order['id']}", params={"min_position": cancelled.json()["position"]})
        assert one.json()["order"]["status"] == "cancelled" and one.json()["fills"] == []

        denied = http.post(f"/v1/bots/{bot_id}/orders", json=_order("1", "e2e-2"))
        assert denied.status_code == 422
        error = denied.json()["error"]
        assert error["code"] == "order_denied" and error["reason_codes"] == ["MAX_ORDER_NOTIONAL"]
        head = http.get("/health/ready").json()["head"]
        decisions = http.get(
            "/v1/risk-decisions", params={"bot_id": bot_id, "decision": "denied", "min_position": head}
        ).json()["items"]
        assert [d["decision_id"] for d in decisions] == [error["denial_id"]]
        assert decisions[0]["reason_codes"] == ["MAX_ORDER_NOTIONAL"] and decisions[0]["actor"] == "alice"


def test_the_same_idempotency_key_or_client_order_id_twice_appends_once(api: Api) -> None:
    body = {
        "name": "idem",
        "strategy": "manual",
        "allowed_symbols": ["BTC/USDT"],
        "limits": LIMITS,
    }
    key = uuid4().hex
    with api.client("alice", **{"Idempotency-Key": key}) as http:
        first = http.post("/v1/bots", json=body)
        second = http.post("/v1/bots", json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert (first.json()["changed"], second.json()["changed"]) == (True, False)
    assert second.json()["position"] >= first.json()["position"]
    with api.client("alice", **{"Idempotency-Key": key}) as http:
        reused = http.post("/v1/bots", json={**body, "name": "another"})
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "idempotency_mismatch"

    bot_id = api.create_bot("alice")
    with api.client("alice") as http:
        one = http.post(f"/v1/bots/{bot_id}/orders", json=_order("0.01", "same"))
        two = http.post(f"/v1/bots/{bot_id}/orders", json=_order("0.01", "same"))
        assert one.json()["id"] == two.json()["id"] and two.json()["changed"] is False
        different = http.post(f"/v1/bots/{bot_id}/orders", json=_order("0.02", "same"))
        assert different.status_code == 409
        orders = http.get("/v1/orders", params={"bot_id": bot_id, "min_position": two.json()["position"]})
        assert len(orders.json()["items"]) == 1


def test_users_see_and_change_only_their_own_bots_and_auditors_only_read(api: Api) -> None:
    bot_id = api.create_bot("alice")
    with api.client("alice") as alice:
        placed = alice.post(f"/v1/bots/{bot_id}/orders", json=_order("0.01", "mine")).json()
        assert alice.get(f"/v1/bots/{bot_id}", params={"min_position": placed["position"]}).status_code == 200
    with api.client("bob") as bob:
        assert bob.get(f"/v1/bots/{bot_id}").status_code == 404
        assert bob.get("/v1/orders", params={"bot_id": bot_id}).status_code == 404
        assert bob.get(f"/v1/orders/{placed['id']}").status_code == 404
        assert bob.post(f"/v1/bots/{bot_id}/orders", json=_order("0.01", "theirs")).status_code == 404
        assert bob.post(f"/v1/bots/{bot_id}/pause").status_code == 404
        assert bob.delete(f"/v1/orders/{placed['id']}").status_code == 404
        listed = bob.get("/v1/orders", params={"min_position": placed["position"]}).json()["items"]
        assert all(row["bot_id"] != bot_id for row in listed)
    with api.client("audrey") as audrey:
        assert audrey.get(f"/v1/bots/{bot_id}").json()["owner"] == "alice"
        assert audrey.get("/v1/orders", params={"bot_id": bot_id}).status_code == 200
        forbidden = audrey.post(f"/v1/bots/{bot_id}/pause")
        assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"


def test_credentials_are_required_and_checked(api: Api) -> None:
    with httpx.Client(base_url=api.base_url) as anonymous:
        assert anonymous.get("/v1/bots").status_code == 401
        bad_key = anonymous.get("/v1/bots", headers={"X-API-Key": "tbot_0000000000000000_" + "x" * 43})
        assert bad_key.status_code == 401 and bad_key.json()["error"]["code"] == "unauthorized"
        wrong = anonymous.post("/v1/auth/token", data={"username": "alice", "password": "not it at all"})
        assert wrong.status_code == 401
        token = anonymous.post("/v1/auth/token", data={"username": "alice", "password": PASSWORD})
        assert token.status_code == 200, token.text
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert anonymous.get("/v1/bots", headers=bearer).status_code == 200
        assert anonymous.get("/v1/bots", headers={"Authorization": "Bearer nonsense"}).status_code == 401
        assert PASSWORD not in token.text


def test_bad_input_is_a_4xx_naming_the_field_and_the_rule(api: Api) -> None:
    bot_id = api.create_bot("alice")
    with api.client("alice") as http:
        bad_quantity = http.post(f"/v1/bots/{bot_id}/orders", json=_order("abc", "bad"))
        assert bad_quantity.status_code == 422
        [problem] = bad_quantity.json()["error"]["problems"]
        assert problem["field"] == "body.quantity" and "decimal" in problem["rule"]
        huge = http.post(f"/v1/bots/{bot_id}/orders", json=_order("1e400000", "huge"))
        assert huge.status_code == 422 and huge.json()["error"]["problems"][0]["field"] == "body.quantity"
        bad_symbol = http.post(f"/v1/bots/{bot_id}/orders", json={**_order("0.01", "b2"), "symbol": "btc"})
        assert bad_symbol.status_code == 422
        assert bad_symbol.json()["error"]["problems"][0]["field"] == "body.symbol"
        assert http.get("/v1/bots/not-a-uuid").status_code == 422
        assert http.get("/v1/orders", params={"cursor": "%%%"}).status_code == 422
        assert http.get("/v1/fills", params={"symbol": "BTC\x00"}).status_code == 422  # found by schemathesis
        limits = http.put(f"/v1/bots/{bot_id}/risk-limits", json={"max_order_notional": "-1"})
        assert limits.status_code == 422
        assert (
            http.get("/v1/pnl", params={"bot_id": bot_id, "symbol": "BTC/USDT", "bucket": "2m"}).status_code
            == 422
        )


def test_a_key_over_its_rate_limit_gets_429_with_retry_after_and_others_do_not(api: Api) -> None:
    def burst(_: int) -> list[httpx.Response]:
        with api.client("rita") as rita:
            return [rita.get("/v1/bots") for _ in range(RATE)]

    with ThreadPoolExecutor(8) as pool:  # 8 clients at once: far above RATE requests a second
        answers = [response for batch in pool.map(burst, range(8)) for response in batch]
    with api.client("bob") as bob:
        assert bob.get("/v1/bots").status_code == 200
    statuses = [response.status_code for response in answers]
    assert set(statuses) == {200, 429} and statuses.count(200) >= RATE
    limited = next(response for response in answers if response.status_code == 429)
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
