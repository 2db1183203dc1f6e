"""The catalog: the built-ins through their entry points, validation as the StrategyRules port
says, descriptions, and entry points that fail to load left out without harm to the others."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points

import pytest
from structlog.testing import capture_logs

from application.ports import StrategyRules
from application.strategies import catalog as catalog_module
from application.strategies.base import STRATEGY_ORDER_PREFIX
from application.strategies.builtin.grid import Grid
from application.strategies.catalog import ENTRY_POINT_GROUP, StrategyCatalog, default_catalog
from domain.errors import InvalidInput
from domain.strategy import strategy_client_order_id
from tests.unit.strategies.market import START

BUILT_INS = ["external", "grid", "manual", "rebalance", "rsi_reversion", "signals", "sma_cross"]


@pytest.fixture
def catalog() -> StrategyCatalog:
    return StrategyCatalog.from_entry_points()


def test_the_built_ins_register_through_the_entry_point_group(catalog: StrategyCatalog) -> None:
    assert catalog.names() == BUILT_INS and catalog.failures == []
    registered = {point.name: point.value for point in entry_points(group=ENTRY_POINT_GROUP)}
    assert registered["grid"] == "application.strategies.builtin.grid:Grid"
    assert isinstance(catalog.get("grid"), Grid)
    assert default_catalog() is default_catalog() and default_catalog().names() == BUILT_INS


def test_it_is_the_strategy_rules_port(catalog: StrategyCatalog) -> None:
    rules: StrategyRules = catalog
    assert rules.validate("grid", {"levels": 2, "spacing": "0.01", "quantity": 1}) == {
        "levels": 2,
        "spacing": "0.01",
        "quantity": "1",
        "reference": None,
        "tick": None,
        "symbol": None,
        "timeframe": "1m",
    }
    assert rules.validate("manual", {}) == {}
    assert rules.validate("rsi_reversion", {"quantity": "0.001"})["period"] == 14


@pytest.mark.parametrize(
    ("strategy", "params", "field", "rule"),
    [
        (
            "momentum",
            {},
            "strategy",
            "must be one of external, grid, manual, rebalance, rsi_reversion, signals, sma_cross",
        ),
        (
            "sma_cross",
            {"fast": 2, "slow": 5, "quantity": 0.1},
            "params.quantity",
            "must be a decimal string or integer, not a float",
        ),
        ("sma_cross", {"fast": 2, "slow": 5, "quantity": "1_0"}, "params.quantity", None),
        ("sma_cross", {"fast": 2, "quantity": "1"}, "params.slow", "is required"),
        ("sma_cross", {"fast": 5, "slow": 2, "quantity": "1"}, "params.fast", "must be less than slow"),
        ("grid", {"levels": 2, "spacing": "0.01", "quantity": 1, "size": 3}, "params.size", None),
        (
            "rebalance",
            {"weights": {"BTC/USDT": "2"}, "threshold": "0.1", "capital": 1},
            "params.weights.BTC/USDT",
            "must be from 0 to 1",
        ),
        ("manual", [], "params", "must be a JSON object"),
    ],
)
def test_refusals_name_the_field_and_the_rule(
    catalog: StrategyCatalog, strategy: str, params: object, field: str, rule: str | None
) -> None:
    with pytest.raises(InvalidInput) as refused:
        catalog.validate(strategy, params)  # type: ignore[arg-type]
    assert refused.value.field == field
    if rule is not None:
        assert refused.value.rule == rule


def test_each_strategy_is_described_with_its_parameters_schema(catalog: StrategyCatalog) -> None:
    described = {d.name: d for d in catalog.describe()}
    assert list(described) == BUILT_INS
    assert described["manual"].timeframe == "1m"  # with its default parameters
    assert described["grid"].timeframe is None  # some are required
    schema = described["sma_cross"].params_schema
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"fast", "slow"}
    assert schema["properties"]["timeframe"]["enum"][:2] == ["1m", "5m"]
    quantity = schema["properties"]["quantity"]["anyOf"][0]["anyOf"]
    assert quantity[0]["type"] == "string" and "pattern" in quantity[0] and quantity[1] == {"type": "integer"}
    assert "number" not in str(schema)  # no JSON fraction (a float) is offered for any decimal
    assert described["rebalance"].plain()["params_schema"]["properties"]["weights"]["type"] == "object"


@pytest.fixture
def broken(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The real entry points and broken ones beside them."""
    real = list(entry_points(group=ENTRY_POINT_GROUP))
    fakes = [
        EntryPoint("missing", "tbot_no_such_module:Strategy", ENTRY_POINT_GROUP),
        EntryPoint("not_one", "domain.values:Side", ENTRY_POINT_GROUP),
        EntryPoint("abstract", "application.strategies.base:Strategy", ENTRY_POINT_GROUP),
        EntryPoint("renamed", "application.strategies.builtin.manual:Manual", ENTRY_POINT_GROUP),
        EntryPoint("grid", "application.strategies.builtin.grid:Grid", ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr(catalog_module, "entry_points", lambda group: [*fakes, *real])
    yield


@pytest.mark.usefixtures("broken")
def test_an_entry_point_that_fails_to_load_is_logged_and_left_out() -> None:
    with capture_logs() as logs:
        catalog = StrategyCatalog.from_entry_points()
    assert catalog.names() == BUILT_INS
    reasons = {failure.name: failure.reason for failure in catalog.failures}
    assert reasons["missing"].startswith("ModuleNotFoundError")
    assert "is not a Strategy subclass" in reasons["not_one"]
    assert "leaves abstract methods: decide" in reasons["abstract"]
    assert "is named 'manual', registered as 'renamed'" in reasons["renamed"]
    assert "the name 'grid' is taken" in reasons["grid"]  # tbot's own entry point came first
    assert {entry["strategy"] for entry in logs if entry["event"] == "strategy left out"} == set(reasons)
    assert all(entry["log_level"] == "warning" for entry in logs)


def test_client_order_ids_of_strategies_carry_the_prefix_the_strategies_recognise() -> None:
    assert strategy_client_order_id(START, 3).startswith(STRATEGY_ORDER_PREFIX)
