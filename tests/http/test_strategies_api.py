"""GET /v1/strategies on a real `tbot serve` (embedded default): every installed strategy with its
parameters' schema, for any authenticated caller, and described in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from application.strategies.catalog import default_catalog
from infrastructure.settings import Settings
from tests.support.api import Api, api_on
from tests.support.settings import embedded_store


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder = Path(tmp_path_factory.mktemp("strategies"))
    settings = Settings(store=embedded_store(folder))
    with api_on(settings, {"trader": "trader", "auditor": "auditor"}) as running:
        yield running


@pytest.mark.parametrize("user", ["trader", "auditor"])
def test_any_authenticated_caller_reads_every_strategy_with_its_schema(api: Api, user: str) -> None:
    with api.client(user) as http:
        answer = http.get("/v1/strategies")
    assert answer.status_code == 200, answer.text
    listed = {strategy["name"]: strategy for strategy in answer.json()}
    assert list(listed) == [
        "external",
        "grid",
        "manual",
        "rebalance",
        "rsi_reversion",
        "signals",
        "sma_cross",
    ]
    assert listed == {d.name: d.plain() for d in default_catalog().describe()}
    assert listed["manual"]["timeframe"] == "1m" and listed["manual"]["params_schema"]["properties"] == {}
    sma = listed["sma_cross"]
    assert sma["timeframe"] is None and "crosses above" in sma["description"]
    assert set(sma["params_schema"]["required"]) == {"fast", "slow"}
    assert sma["params_schema"]["additionalProperties"] is False


def test_a_caller_without_credentials_is_refused(api: Api) -> None:
    with api.client() as http:
        assert http.get("/v1/strategies").status_code == 401
    with api.client(**{"X-API-Key": "tbot_not_a_key"}) as http:
        assert http.get("/v1/strategies").status_code == 401


def test_the_openapi_document_describes_the_route(api: Api) -> None:
    document = httpx.get(f"{api.base_url}/openapi.json").json()
    operation = document["paths"]["/v1/strategies"]["get"]
    assert operation["tags"] == ["strategies"]
    assert {"200", "401", "503"} <= set(operation["responses"])
    listed = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["type"] == "array" and listed["items"] == {"$ref": "#/components/schemas/StrategyInfo"}
    info = document["components"]["schemas"]["StrategyInfo"]
    assert set(info["properties"]) == {"name", "description", "timeframe", "params_schema"}
