"""Malformed requests against a real `tbot serve` on PostgreSQL and Redis: each is refused with the
documented status (422 naming the field and the rule, 413 for a body over the limit), never a 500,
and nothing is recorded. And the OpenAPI document says what the server does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from domain.params import MAX_PARAMS_BYTES, MAX_PARAMS_DEPTH
from infrastructure.settings import Settings
from tests.support.api import LIMITS, Api, api_on

pytestmark = pytest.mark.postgres

BODY_LIMIT = 65_536
BOT = {"name": "bad input", "strategy": "external", "allowed_symbols": ["BTC/USDT"], "limits": LIMITS}
ORDER = {"symbol": "BTC/USDT", "side": "buy", "order_type": "limit", "quantity": "0.01", "price": "50000"}


@pytest.fixture(scope="module")
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    settings: Settings = request.getfixturevalue("module_postgres_redis_settings")
    with api_on(settings, {"alice": "trader"}, TBOT_RATE_LIMIT_PER_SECOND="1000") as running:
        yield running


@pytest.fixture
def http(api: Api) -> Iterator[httpx.Client]:
    with api.client("alice") as client:
        yield client


@pytest.fixture(scope="module")
def bot_id(api: Api) -> str:
    return api.create_bot("alice")


@pytest.fixture(scope="module")
def openapi(api: Api) -> dict[str, Any]:
    return httpx.get(f"{api.base_url}/openapi.json").json()  # type: ignore[no-any-return]


def _head(http: httpx.Client) -> int:
    return int(http.get("/health/ready").json()["head"])


def _raw(http: httpx.Client, path: str, text: str | bytes, **headers: str) -> httpx.Response:
    return http.post(path, content=text, headers={"Content-Type": "application/json", **headers})


def _bot_with(fragment: str) -> str:
    """The bot body as JSON text, with ``fragment`` (raw JSON, e.g. ``"params": {"v": NaN}``) added."""
    return json.dumps(BOT)[:-1] + ", " + fragment + "}"


def _refused(response: httpx.Response, status: int = 422) -> list[dict[str, str]]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    problems: list[dict[str, str]] = response.json()["error"].get("problems") or []
    return problems


def _fields(response: httpx.Response) -> list[str]:
    return [problem["field"] for problem in _refused(response)]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1E999"])
def test_a_non_finite_number_anywhere_in_a_body_is_refused_naming_its_field(
    http: httpx.Client, bot_id: str, literal: str
) -> None:
    before = _head(http)
    assert _fields(_raw(http, "/v1/bots", _bot_with(f'"params": {{"v": {literal}}}'))) == ["body.params.v"]
    nested = _bot_with(f'"params": {{"grid": {{"levels": [1, {literal}]}}}}')
    assert _fields(_raw(http, "/v1/bots", nested)) == ["body.params.grid.levels.1"]
    limits = json.dumps({**BOT, "limits": {**LIMITS, "max_open_orders": "@"}}).replace('"@"', literal)
    assert _fields(_raw(http, "/v1/bots", limits)) == ["body.limits.max_open_orders"]
    order = json.dumps({**ORDER, "quantity": "@"}).replace('"@"', literal)
    assert _fields(_raw(http, f"/v1/bots/{bot_id}/orders", order)) == ["body.quantity"]
    assert _head(http) == before
    assert http.get("/v1/bots", params={"min_position": before}).status_code == 200


@pytest.mark.parametrize(
    ("fragment", "field"),
    [
        ('"params": {"v": "\\ud800"}', "body.params.v"),
        ('"params": {"v": ["ok", "a\\udfff"]}', "body.params.v.1"),
        ('"params": {"\\ud800": 1}', "body.params"),
        ('"exchange_account": "\\udc00"', "body.exchange_account"),
    ],
)
def test_a_lone_surrogate_in_a_text_or_a_key_is_refused_naming_its_field(
    http: httpx.Client, fragment: str, field: str
) -> None:
    before = _head(http)
    response = _raw(http, "/v1/bots", _bot_with(fragment))
    assert _fields(response) == [field] and "surrogate" in response.json()["error"]["problems"][0]["rule"]
    assert _head(http) == before


def _nested(depth: int) -> dict[str, Any]:
    params: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        params = {"a": params}
    return params


def test_params_are_bounded_in_depth_and_size_and_the_bounds_are_in_the_schema(
    http: httpx.Client, openapi: dict[str, Any]
) -> None:
    before = _head(http)
    deep = http.post("/v1/bots", json={**BOT, "params": _nested(300)})
    [problem] = _refused(deep)
    assert (
        problem["field"] == "body.params" + ".a" * MAX_PARAMS_DEPTH
        and f"{MAX_PARAMS_DEPTH} levels" in problem["rule"]
    )
    big = http.post("/v1/bots", json={**BOT, "params": {"blob": "x" * MAX_PARAMS_BYTES}})
    [problem] = _refused(big)
    assert problem["field"] == "body.params" and f"{MAX_PARAMS_BYTES} bytes" in problem["rule"]
    huge_integer = http.post("/v1/bots", json={**BOT, "params": {"n": 2**64}})
    assert _fields(huge_integer) == ["body.params.n"]
    assert _head(http) == before

    deepest = http.post("/v1/bots", json={**BOT, "params": _nested(MAX_PARAMS_DEPTH)})
    assert deepest.status_code == 201, deepest.text
    created = deepest.json()
    read = http.get(f"/v1/bots/{created['id']}", params={"min_position": created["position"]})
    assert read.status_code == 200 and read.json()["params"] == _nested(MAX_PARAMS_DEPTH)

    described = openapi["components"]["schemas"]["CreateBotBody"]["properties"]["params"]["description"]
    assert f"{MAX_PARAMS_DEPTH} levels" in described and f"{MAX_PARAMS_BYTES} bytes" in described


def test_every_other_free_form_field_is_bounded_and_says_so(
    http: httpx.Client, bot_id: str, openapi: dict[str, Any]
) -> None:
    before = _head(http)
    assert _fields(http.post("/v1/bots", json={**BOT, "name": "n" * 101})) == ["body.name"]
    assert _fields(http.post("/v1/bots", json={**BOT, "strategy": "s" * 101})) == ["body.strategy"]
    symbols = ["BTC/USDT"] * 101
    assert _fields(http.post("/v1/bots", json={**BOT, "allowed_symbols": symbols})) == [
        "body.allowed_symbols"
    ]
    assert _fields(http.post(f"/v1/bots/{bot_id}/kill", json={"reason": "r" * 501})) == ["body.reason"]
    assert _head(http) == before
    bot = openapi["components"]["schemas"]["CreateBotBody"]["properties"]
    assert (bot["name"]["maxLength"], bot["strategy"]["maxLength"], bot["allowed_symbols"]["maxItems"]) == (
        100,
        100,
        100,
    )
    assert openapi["components"]["schemas"]["KillBody"]["properties"]["reason"]["maxLength"] == 500


@pytest.mark.parametrize("size", [1_200_000, 5_000_000])
def test_a_body_over_the_limit_is_refused_with_413_unread(http: httpx.Client, size: int) -> None:
    before = _head(http)
    body = _bot_with(f'"params": {{"blob": "{"x" * size}"}}')
    response = _raw(http, "/v1/bots", body)
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    assert str(BODY_LIMIT) in response.json()["error"]["message"]
    assert _head(http) == before


def test_a_chunked_body_is_counted_as_it_arrives(http: httpx.Client) -> None:
    before = _head(http)

    def chunks() -> Iterator[bytes]:
        yield _bot_with('"params": {"blob": "').encode()
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}}'

    response = http.post("/v1/bots", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    assert _head(http) == before


def test_a_body_just_under_the_limit_is_read(http: httpx.Client) -> None:
    padded = _bot_with(f'"padding": "{"x" * (BODY_LIMIT - 400)}"')
    assert len(padded) < BODY_LIMIT
    assert _fields(_raw(http, "/v1/bots", padded)) == ["body.padding"]  # read, then refused as unknown


def test_the_body_limit_and_413_are_documented(openapi: dict[str, Any]) -> None:
    assert str(BODY_LIMIT) in openapi["info"]["description"]
    for path, method in [("/v1/bots", "post"), ("/v1/bots/{bot_id}/orders", "post")]:
        assert {"413", "422"} <= set(openapi["paths"][path][method]["responses"])


@pytest.mark.parametrize("text", ["\u0661", "\uff11", "1\n", "1_000", " 1", "1 ", "0x1", "1e400000"])
def test_quantities_and_prices_are_only_ascii_decimals(http: httpx.Client, bot_id: str, text: str) -> None:
    before = _head(http)
    orders = f"/v1/bots/{bot_id}/orders"
    assert _fields(http.post(orders, json={**ORDER, "quantity": text})) == ["body.quantity"]
    assert _fields(http.post(orders, json={**ORDER, "price": text})) == ["body.price"]
    limits = {**LIMITS, "max_order_notional": text}
    assert _fields(http.post("/v1/bots", json={**BOT, "limits": limits})) == [
        "body.limits.max_order_notional"
    ]
    assert _head(http) == before


def test_a_json_fraction_is_refused_for_money_and_a_decimal_string_taken(
    http: httpx.Client, bot_id: str
) -> None:
    orders = f"/v1/bots/{bot_id}/orders"
    refused = http.post(orders, json={**ORDER, "quantity": 0.01})
    assert _fields(refused) == ["body.quantity"] and "float" in refused.json()["error"]["problems"][0]["rule"]
    assert http.post(orders, json={**ORDER, "quantity": "1e-2"}).status_code == 201


@pytest.mark.parametrize(
    ("path", "name", "extra"),
    [
        ("/v1/orders", "placed_to", {}),
        ("/v1/orders", "placed_from", {}),
        ("/v1/candles", "start", {"symbol": "BTC/USDT"}),
    ],
)
def test_date_time_query_parameters_refuse_plain_numbers(
    http: httpx.Client, path: str, name: str, extra: dict[str, str]
) -> None:
    for number in ["0.5", "0.95", "0", "1700000000"]:
        assert _fields(http.get(path, params={**extra, name: number})) == [f"query.{name}"]
    assert http.get(path, params={**extra, name: "2024-05-01T12:00:00Z"}).status_code == 200


@pytest.mark.usefixtures("bot_id")  # so that position 1 exists, whichever tests ran before on this worker
@pytest.mark.parametrize("name", ["limit", "min_position"])
def test_integer_query_parameters_take_only_ascii_digits(http: httpx.Client, name: str) -> None:
    for text in ["1_0", " 5", "5 ", "5.0", "+5", "\u0661", "\uff11", "1e1"]:
        assert _fields(http.get("/v1/orders", params={name: text})) == [f"query.{name}"], text
    assert http.get("/v1/orders", params={name: "1"}).status_code == 200


def test_the_idempotency_key_is_documented_as_enforced(http: httpx.Client, openapi: dict[str, Any]) -> None:
    [header] = [
        p for p in openapi["paths"]["/v1/bots"]["post"]["parameters"] if p["name"] == "Idempotency-Key"
    ]
    schema = header["schema"]["anyOf"][0]
    assert (schema["minLength"], schema["maxLength"], schema["pattern"]) == (
        1,
        64,
        r"^[A-Za-z0-9._:\-]{1,64}$",
    )
    before = _head(http)
    for key in ["k" * 65, "a b", "key/1", "k;1"]:
        assert _fields(http.post("/v1/bots", json=BOT, headers={"Idempotency-Key": key})) == [
            "header.Idempotency-Key"
        ]
    assert _head(http) == before
    assert http.post("/v1/bots", json=BOT, headers={"Idempotency-Key": "k" * 64}).status_code == 201


def test_a_body_that_cannot_be_parsed_is_a_documented_422_not_a_400(http: httpx.Client) -> None:
    for body in [b'{"name": ', b"\xff\xfe", b"{'name': 1}"]:
        assert _fields(_raw(http, "/v1/bots", body)) == ["body"]
    form = http.post("/v1/auth/token", content=b"x", headers={"Content-Type": "multipart/form-data"})
    assert _fields(form) == ["body"]


def test_the_token_form_is_bounded_and_says_so(http: httpx.Client, openapi: dict[str, Any]) -> None:
    form = openapi["components"]["schemas"]["Body_issue_token_v1_auth_token_post"]["properties"]
    assert (form["username"]["maxLength"], form["password"]["maxLength"]) == (63, 1024)
    for data, field in [
        ({"username": "u" * 64, "password": "p"}, "body.username"),
        ({"username": "alice", "password": "p" * 1025}, "body.password"),
        ({"username": "alice", "password": "p", "grant_type": "client_credentials"}, "body.grant_type"),
    ]:
        assert _fields(http.post("/v1/auth/token", data=data)) == [field]


def test_every_operation_documents_the_503_it_may_answer(openapi: dict[str, Any]) -> None:
    operations = [
        (path, method, operation)
        for path, methods in openapi["paths"].items()
        if (path.startswith("/v1/") and path != "/v1/feed") or path == "/health/ready"
        for method, operation in methods.items()
    ]
    assert operations
    for path, method, operation in operations:
        assert "503" in operation["responses"], (method, path)


def test_405_lists_every_method_of_the_path_in_allow(http: httpx.Client, bot_id: str) -> None:
    for method, path, allowed in [
        ("PUT", "/v1/bots", "GET, POST"),
        ("DELETE", "/v1/bots", "GET, POST"),
        ("PATCH", f"/v1/orders/{bot_id}", "DELETE, GET"),
        ("POST", f"/v1/orders/{bot_id}", "DELETE, GET"),
        ("GET", f"/v1/bots/{bot_id}/orders", "POST"),
    ]:
        response = http.request(method, path)
        assert response.status_code == 405 and response.headers["Allow"] == allowed, (method, path)
        assert response.json()["error"]["code"] == "method_not_allowed"


def test_the_price_band_is_a_fraction_as_documented(http: httpx.Client, openapi: dict[str, Any]) -> None:
    band = openapi["components"]["schemas"]["RiskLimitsBody"]["properties"]["price_band_pct"]
    assert band["examples"] == ["0.05"] and "0.05 is 5%" in band["description"]
    before = _head(http)
    for value in ["5", "1.5", "0", "-0.05"]:
        limits = {**LIMITS, "price_band_pct": value}
        assert _fields(http.post("/v1/bots", json={**BOT, "limits": limits})) == [
            "body.limits.price_band_pct"
        ]
    for name in ["stop_loss_fraction", "take_profit_fraction"]:
        for value in ["2", "1", "0"]:
            limits = {**LIMITS, name: value}
            assert _fields(http.post("/v1/bots", json={**BOT, "limits": limits})) == [f"body.limits.{name}"]
    assert _head(http) == before

    created = http.post("/v1/bots", json={**BOT, "limits": {**LIMITS, "price_band_pct": "0.05"}}).json()
    assert http.post(f"/v1/bots/{created['id']}/start").status_code == 200
    assert _fields(
        http.put(f"/v1/bots/{created['id']}/risk-limits", json={**LIMITS, "price_band_pct": "5"})
    ) == ["body.price_band_pct"]
    four_times = {**ORDER, "side": "sell", "price": "200000"}  # the reference price is 50000
    denied = http.post(f"/v1/bots/{created['id']}/orders", json=four_times)
    assert denied.status_code == 422 and denied.json()["error"]["reason_codes"] == ["PRICE_BAND"]
