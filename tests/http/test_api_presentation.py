"""What a client sees, on a real `tbot serve` and projection worker on the embedded default: the
docs pages load only the server's own assets and a real browser renders them (so they work
offline); decimals are written one way everywhere (plain, no trailing zeros, computed values
rounded half-even to eight places, a flat position "0"); a bot on an exchange account that does
not exist is refused naming the field."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain.values import Symbol
from infrastructure.mark_prices import open_mark_price_store
from infrastructure.read_database import create_read_engine
from infrastructure.settings import Settings
from tests.support.api import LIMITS, Api, api_on
from tests.support.browser import CHROMIUM_ARGS
from tests.support.settings import embedded_store
from tests.support.world import World, world_on

_REFERENCES = re.compile(r"""(?:href|src|spec-url)="([^"]+)"|\burl: '([^']+)'""")
_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".json": "application/json"}


@dataclass
class Running:
    api: Api
    world: World
    settings: Settings


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = Path(tmp_path_factory.mktemp("presentation"))
    settings = Settings(store=embedded_store(folder))
    with api_on(settings, {"alice": "trader"}) as api, world_on(settings) as world:
        yield Running(api, world, settings)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_only_assets_the_server_itself_serves(running: Running, page: str) -> None:
    with running.api.client() as http:
        html = http.get(page)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert not re.search(r"https?:|//", html.text.replace("<!--", "").replace("-->", ""))
        references = [a or b for a, b in _REFERENCES.findall(html.text)]
        assert "/openapi.json" in references and any(r.endswith(".js") for r in references)
        for reference in references:
            assert reference.startswith("/"), reference
            asset = http.get(reference)
            assert asset.status_code == 200, reference
            assert asset.headers["content-type"].startswith(_TYPES[Path(reference).suffix]), reference
            assert len(asset.content) > 1000 or reference.endswith(".png")


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("TBOT_REQUIRE_SERVICES") == "1":
            pytest.fail("chromium is missing although `make test` installs it")
        pytest.skip("chromium is not installed: run the suite with `make test`")
    return found


@pytest.mark.parametrize(
    ("page", "rendered"),
    [
        ("/docs", ['class="opblock-tag-section', "/v1/bots/{bot_id}/kill-switch/reset"]),
        ("/redoc", ["redoc-wrap", "/v1/bots/{bot_id}/kill-switch/reset"]),
    ],
)
def test_a_real_browser_renders_the_docs_pages_without_internet(
    running: Running, tmp_path: Path, page: str, rendered: list[str]
) -> None:
    """Headless Chromium (this machine has no internet) loads the page, runs its scripts and
    renders the operations from /openapi.json: a page that needed a CDN would stay blank."""
    browser = [
        _chromium(),
        *CHROMIUM_ARGS,
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=15000",
        "--dump-dom",
        running.api.base_url + page,
    ]
    dom = subprocess.run(browser, capture_output=True, text=True, timeout=120, check=False).stdout
    for piece in rendered:
        assert piece in dom, f"{page} rendered without {piece!r}"


def _place(running: Running, bot_id: str, symbol: str, side: str, quantity: str, price: str) -> UUID:
    with running.api.client("alice") as http:
        body = {"symbol": symbol, "side": side, "order_type": "limit", "quantity": quantity, "price": price}
        placed = http.post(f"/v1/bots/{bot_id}/orders", json=body)
        assert placed.status_code == 201, placed.text
        return UUID(placed.json()["id"])


def _fill(running: Running, order_id: UUID, quantity: str, price: str, fee: str = "0") -> int:
    """The exchange's reports, recorded as execution would: accepted, then filled."""
    world = running.world
    world.accept(order_id)
    world.fill(order_id, f"t-{order_id.hex[:8]}", quantity, price, fee, fee_currency="USDT")
    return world.store.last_position()


def _get(running: Running, path: str, **params: Any) -> Any:
    with running.api.client("alice") as http:
        answer = http.get(path, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()


def test_decimals_are_written_one_way_with_computed_values_rounded_and_a_flat_position_as_0(
    running: Running,
) -> None:
    """BTC: 0.1 at 50000 and 0.2 at 50000.01 average 50000.00666…; ETH: bought and sold 1.00, flat."""
    bot_id = running.api.create_bot("alice", allowed_symbols=["BTC/USDT", "ETH/USDT"], limits=LIMITS)
    first = _place(running, bot_id, "BTC/USDT", "buy", "0.1", "50000")
    second = _place(running, bot_id, "BTC/USDT", "buy", "0.2", "50000.01")
    bought = _place(running, bot_id, "ETH/USDT", "buy", "1.00", "2500")
    sold = _place(running, bot_id, "ETH/USDT", "sell", "1.00", "2500.5")
    _fill(running, first, "0.1", "50000", fee="0.123456789")
    _fill(running, second, "0.2", "50000.01")
    _fill(running, bought, "1.00", "2500")
    last = _fill(running, sold, "1.00", "2500.5")
    marks = open_mark_price_store(running.settings, create_read_engine(running.settings))
    marks.write({Symbol("BTC", "USDT"): (Decimal("50618.23"), datetime.now(UTC))})

    positions = {p["symbol"]: p for p in _get(running, "/v1/positions", bot_id=bot_id, min_position=last)}
    btc, eth = positions["BTC/USDT"], positions["ETH/USDT"]
    assert (btc["quantity"], btc["average_price"], btc["mark_price"]) == ("0.3", "50000.00666667", "50618.23")
    assert (btc["unrealized_pnl"], btc["realized_pnl"], btc["fees_paid"]) == (
        "185.467",
        "-0.12345679",
        "0.12345679",
    )
    assert (eth["quantity"], eth["average_price"], eth["realized_pnl"]) == ("0", "0", "0.5")

    orders = {o["order_id"]: o for o in _get(running, "/v1/orders", bot_id=bot_id)["items"]}
    assert (orders[str(second)]["quantity"], orders[str(second)]["price"]) == ("0.2", "50000.01")
    assert (orders[str(bought)]["quantity"], orders[str(bought)]["filled_quantity"]) == ("1", "1")
    assert orders[str(first)]["fees_quote"] == "0.12345679"
    fills = _get(running, "/v1/fills", bot_id=bot_id)["items"]
    assert [f["fee"] for f in fills] == ["0.123456789", "0", "0", "0"]  # as the exchange reported it

    points = _get(running, "/v1/pnl", bot_id=bot_id, symbol="BTC/USDT", bucket="1d")
    assert [(p["quantity"], p["average_price"], p["realized_pnl"]) for p in points] == [
        ("0.3", "50000.00666667", "-0.12345679")
    ]
    bot = _get(running, f"/v1/bots/{bot_id}")
    assert bot["realized_pnl"] == "0.37654321"
    assert bot["limits"]["max_order_notional"] == LIMITS["max_order_notional"]
    assert bot["limits"]["max_open_orders"] == LIMITS["max_open_orders"]
    assert _get(running, "/v1/prices") == [
        {"symbol": "BTC/USDT", "price": "50618.23", "at": _get(running, "/v1/prices")[0]["at"]}
    ]


def test_the_openapi_document_states_how_decimals_are_written(running: Running) -> None:
    schemas = _get(running, "/openapi.json")["components"]["schemas"]
    position = next(body for name, body in schemas.items() if name.startswith("Position"))["properties"]
    assert "rounded half-even to 8 places" in position["average_price"]["description"]
    assert "as recorded" in position["quantity"]["description"]
    assert position["quantity"]["pattern"] == r"^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$"


def test_a_bot_on_an_exchange_account_that_does_not_exist_is_refused_naming_the_field(
    running: Running,
) -> None:
    body = {"name": "bot", "strategy": "manual", "allowed_symbols": ["BTC/USDT"], "limits": LIMITS}
    with running.api.client("alice") as http:
        refused = http.post("/v1/bots", json={**body, "exchange_account": "binance-main"})
        assert refused.status_code == 422, refused.text
        [problem] = refused.json()["error"]["problems"]
        assert problem["field"] == "body.exchange_account" and "tbot accounts add" in problem["rule"]
        assert http.post("/v1/bots", json={**body, "exchange_account": "paper:second"}).status_code == 201
