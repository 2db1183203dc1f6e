"""The dashboard in a real browser (Debian's Chromium, driven by Playwright) against the real
system on PostgreSQL and Redis: `tbot serve`, the projection worker, execution on the paper
exchange and market data. A trader signs in, creates and starts a bot, sees an order placed and
filled appear without a reload (also across a dropped connection, the feed resuming where it
was), kills the bot and resets its kill switch; another trader sees only their own bots, in the
page and on its feed. Every page is saved as a screenshot (tests/support/browser.py)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from dependency_injector import providers
from playwright.sync_api import Browser, Dialog, Page, WebSocket, expect

from domain.market import Candle
from domain.values import Symbol
from infrastructure.candles import CandleStore
from infrastructure.settings import Settings
from interfaces.composition import Container
from tests.support.api import LIMITS, PASSWORD, Api, api_on
from tests.support.browser import artifacts, chromium
from tests.support.processes import start_tbot, stop, wait_for
from tests.support.tcp_proxy import TcpProxy, tcp_proxy

pytestmark = pytest.mark.postgres

WORKERS = {
    "TBOT_EXECUTION_POLL_SECONDS": "0.1",
    "TBOT_MARKETDATA_INTERVAL_SECONDS": "0.5",
    "TBOT_FEED_HEARTBEAT_SECONDS": "1",
    "TBOT_BACKTEST_POLL_SECONDS": "0.2",
}
HISTORY = datetime(2025, 1, 1, tzinfo=UTC)  # six hours of candles from here, for a backtest
BTC = Symbol("BTC", "USDT")
SECONDS = 20_000  # how long the page may take to show a change (ms)


@dataclass
class Dashboard:
    api: Api
    proxy: TcpProxy  # the browser reaches the API through it, so its line can be cut
    browser: Browser
    shots: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy.port}/"

    def page(self, errors: list[str]) -> Page:
        """A new browser context's page; uncaught errors of its scripts go to ``errors``."""
        context = self.browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="UTC")
        page = context.new_page()
        page.on("pageerror", lambda failure: errors.append(str(failure)))
        return page

    def shot(self, page: Page, name: str) -> None:
        page.screenshot(path=self.shots / f"{name}.png", full_page=True)


@pytest.fixture(scope="module")
def dashboard(request: pytest.FixtureRequest) -> Iterator[Dashboard]:
    settings: Settings = request.getfixturevalue("module_postgres_redis_settings")
    with api_on(settings, {"alice": "trader", "bob": "trader"}, **WORKERS) as api:
        _write_history(settings)
        workers: list[subprocess.Popen[str]] = [
            start_tbot(settings, "execution", "run", **WORKERS),
            start_tbot(settings, "marketdata", "run", **WORKERS),
            start_tbot(settings, "backtest", "worker", **WORKERS),
        ]
        port = int(api.base_url.rsplit(":", 1)[1])
        try:
            wait_for(lambda: _marked(api), 30, "a BTC mark price")
            with tcp_proxy("127.0.0.1", port) as proxy, chromium() as browser:
                yield Dashboard(api, proxy, browser, artifacts("dashboard"))
        finally:
            for worker in workers:  # all asked at once, then each awaited
                worker.terminate()
            for worker in workers:
                stop(worker)


def _write_history(settings: Settings) -> None:
    """Six hours of BTC/USDT candles in waves of an hour, on which sma_cross buys and sells."""
    candles, price = [], Decimal(50_000)
    for minute in range(360):
        close = price + (Decimal(25) if (minute // 30) % 2 == 0 else Decimal(-25))
        high, low = max(price, close) + 3, min(price, close) - 3
        candles.append(Candle(BTC, HISTORY + timedelta(minutes=minute), price, high, low, close, Decimal(2)))
        price = close
    container = Container()
    container.settings.override(providers.Object(settings))
    CandleStore(container.read_engine()).write(candles)
    container.shutdown_resources()


def _marked(api: Api) -> bool:
    with api.client("alice") as http:
        return any(p["symbol"] == "BTC/USDT" for p in http.get("/v1/prices").json())


def _place(api: Api, user: str, bot_id: str, client_order_id: str) -> None:
    body = {
        "symbol": "BTC/USDT",
        "side": "buy",
        "order_type": "market",
        "quantity": "0.01",
        "client_order_id": client_order_id,
    }
    with api.client(user) as http:
        placed = http.post(f"/v1/bots/{bot_id}/orders", json=body)
        assert placed.status_code == 201, placed.text


def _filled(api: Api, user: str, client_order_id: str) -> bool:
    with api.client(user) as http:
        orders = http.get("/v1/orders", params={"limit": 500}).json()["items"]
    return any(o["client_order_id"] == client_order_id and o["status"] == "filled" for o in orders)


def _order_row(page: Page, client_order_id: str) -> Any:
    return page.get_by_test_id("orders").locator("tr", has_text=client_order_id)


def _sign_in_with_password(dashboard: Dashboard, page: Page) -> None:
    page.goto(dashboard.url)
    dashboard.shot(page, "sign-in")
    password = page.get_by_test_id("password-form")
    password.get_by_label("User name").fill("alice")
    password.get_by_label("Password").fill(PASSWORD)
    password.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signed-in-as")).to_have_text("alice")
    expect(page.get_by_test_id("feed-state")).to_have_text("feed: live", timeout=SECONDS)


def _create_and_start(dashboard: Dashboard, page: Page, name: str) -> str:
    """A bot created with the form made from the strategy's schema, then started; its id."""
    page.get_by_role("button", name="New bot").click()
    form = page.get_by_test_id("create-bot")
    form.locator("input[name=name]").fill(name)
    form.locator("select[name=strategy]").select_option("manual")
    form.locator("input[name='limit.price_band_pct']").fill("0.5")
    dashboard.shot(page, "create-bot")
    form.get_by_role("button", name="Create bot").click()
    row = page.locator(f"tr[data-bot-name='{name}']")
    expect(row.locator("[data-field=status]")).to_have_text("created", timeout=SECONDS)
    row.locator("[data-action=start]").click()
    expect(row.locator("[data-field=status]")).to_have_text("running", timeout=SECONDS)
    dashboard.shot(page, "bots")
    bot_id = row.get_attribute("data-bot-id")
    assert bot_id is not None
    row.get_by_role("link", name=name).click()
    expect(page.get_by_test_id("bot-name")).to_have_text(name)
    return bot_id


def _kill_and_reset(dashboard: Dashboard, page: Page) -> None:
    """The kill switch, tripped and reset; each asks for its reason."""
    reasons = iter(["dashboard test kill", "dashboard test reset"])

    def answer(dialog: Dialog) -> None:
        dialog.accept(next(reasons))

    page.on("dialog", answer)
    switch = page.get_by_test_id("bot-summary").locator("[data-field=kill-switch]")
    page.get_by_test_id("bot-summary").locator("[data-action=kill]").click()
    expect(switch).to_contain_text("dashboard test kill", timeout=SECONDS)
    dashboard.shot(page, "bot-killed")
    page.get_by_test_id("bot-summary").locator("[data-action=reset-kill-switch]").click()
    expect(switch).to_have_text("Kill switch off", timeout=SECONDS)


def _backtest(dashboard: Dashboard, page: Page) -> None:
    """A backtest started from the page, followed to its report."""
    page.get_by_role("link", name="Backtests", exact=True).click()
    dashboard.shot(page, "backtests")
    form = page.get_by_test_id("new-backtest")
    form.locator("select").first.select_option("sma_cross")
    form.locator("input[name=start]").fill("2025-01-01T00:00")  # the page's time zone is UTC
    form.locator("input[name=end]").fill("2025-01-01T06:00")
    form.locator("input[name='param.quantity']").fill("0.1")
    form.locator("input[name='param.fast']").fill("5")
    form.locator("input[name='param.slow']").fill("20")
    form.get_by_role("button", name="Start backtest").click()
    expect(page.get_by_test_id("backtest-status")).to_have_text("done", timeout=SECONDS)
    expect(page.get_by_test_id("progress")).to_contain_text("360 / 360 candles")
    for chart in ("equity-chart", "drawdown-chart", "fills-chart"):
        expect(page.get_by_test_id(chart).locator("canvas").first).to_be_visible()
    expect(page.get_by_test_id("trades").locator("tbody tr").first).to_be_visible()
    dashboard.shot(page, "backtest-report")


def _signals(dashboard: Dashboard, page: Page) -> None:
    """A signal-following bot's signals, one of them refused with its reason codes."""
    bot_id = dashboard.api.create_bot(
        "alice", name="signals-bot", strategy="signals", params={"quote_amount": "100"}
    )
    with dashboard.api.client("alice") as http:
        sent = http.post(
            f"/v1/bots/{bot_id}/signals", json={"text": "good morning, traders", "message_id": "m-1"}
        )
        assert sent.status_code == 201 and sent.json()["status"] == "rejected", sent.text
    page.get_by_role("link", name="Signals", exact=True).click()
    row = page.get_by_test_id("signals").locator("tbody tr", has_text="good morning, traders")
    expect(row.locator("[data-field=status]")).to_have_text("rejected", timeout=SECONDS)
    dashboard.shot(page, "signals")


def _notifications(dashboard: Dashboard, page: Page) -> None:
    """An email channel added from the page."""
    page.get_by_role("link", name="Notifications", exact=True).click()
    form = page.get_by_test_id("new-channel")
    form.locator("select[name=channel]").select_option("email")
    form.locator("input[name=target]").fill("alice@example.com")
    form.locator("input[name='kind.kill_switch']").check()
    form.get_by_role("button", name="Add channel").click()
    row = page.get_by_test_id("channels").locator("tbody tr", has_text="alice@example.com")
    expect(row).to_contain_text("kill_switch, order_filled", timeout=SECONDS)
    expect(page.get_by_test_id("deliveries")).to_be_visible()
    dashboard.shot(page, "notifications")


def test_a_trader_runs_a_bot_from_the_dashboard(dashboard: Dashboard) -> None:
    errors: list[str] = []
    api, page = dashboard.api, dashboard.page(errors)
    _sign_in_with_password(dashboard, page)
    bot_id = _create_and_start(dashboard, page, "dash-bot")
    page.evaluate("() => { window.notReloaded = true; }")

    # an order placed (through the API) appears, then its fill, without a reload
    _place(api, "alice", bot_id, "dash-1")
    expect(_order_row(page, "dash-1").locator("[data-field=status]")).to_have_text("filled", timeout=SECONDS)
    expect(page.get_by_test_id("fills").locator("tbody tr")).to_have_count(1, timeout=SECONDS)
    expect(page.get_by_test_id("positions").locator("tbody tr")).to_have_count(1, timeout=SECONDS)
    expect(page.get_by_test_id("pnl-chart")).to_be_visible()

    # the line drops; an order fills meanwhile; the feed resumes where it was and shows it
    dashboard.proxy.cut()
    expect(page.get_by_test_id("feed-state")).to_have_text("feed: reconnecting", timeout=SECONDS)
    _place(api, "alice", bot_id, "dash-2")
    wait_for(lambda: _filled(api, "alice", "dash-2"), 30, "the order placed while disconnected to fill")
    dashboard.proxy.mend()
    expect(page.get_by_test_id("feed-state")).to_have_text("feed: live", timeout=SECONDS)
    expect(_order_row(page, "dash-2").locator("[data-field=status]")).to_have_text("filled", timeout=SECONDS)
    expect(page.get_by_test_id("fills").locator("tbody tr")).to_have_count(2, timeout=SECONDS)
    expect(page.get_by_test_id("risk-decisions").locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("performance")).to_be_visible(timeout=SECONDS)
    dashboard.shot(page, "bot")

    _kill_and_reset(dashboard, page)
    assert page.evaluate("() => window.notReloaded === true"), "the page was reloaded"
    _backtest(dashboard, page)
    _signals(dashboard, page)
    _notifications(dashboard, page)
    page.context.close()
    assert not errors, errors


def test_a_trader_sees_only_their_own_bots_in_the_page_and_the_feed(dashboard: Dashboard) -> None:
    api = dashboard.api
    alices = api.create_bot("alice", name="alice-only", limits={**LIMITS, "price_band_pct": "0.5"})
    bobs = api.create_bot("bob", name="bob-only")
    errors: list[str] = []
    page = dashboard.page(errors)
    frames: list[str] = []

    def listen(socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: frames.append(str(payload)))

    page.on("websocket", listen)
    page.goto(dashboard.url)
    page.get_by_test_id("key-form").get_by_label("API key").fill(api.keys["bob"])
    page.get_by_role("button", name="Use key").click()
    expect(page.get_by_test_id("feed-state")).to_have_text("feed: live", timeout=SECONDS)
    expect(page.locator(f"tr[data-bot-id='{bobs}']")).to_be_visible(timeout=SECONDS)
    # alice trades while bob watches; then bob pauses his bot: his feed has that, not hers
    _place(api, "alice", alices, "alice-secret")
    with api.client("bob") as http:
        assert http.post(f"/v1/bots/{bobs}/pause").status_code == 200
    expect(page.locator(f"tr[data-bot-id='{bobs}'] [data-field=status]")).to_have_text(
        "paused", timeout=SECONDS
    )
    wait_for(lambda: _filled(api, "alice", "alice-secret"), 30, "alice's order to fill")
    rows = page.get_by_test_id("bots").locator("tbody tr")
    assert {rows.nth(n).get_attribute("data-bot-id") for n in range(rows.count())} == {bobs}
    dashboard.shot(page, "bots-of-another-trader")
    events = [json.loads(f) for f in frames if json.loads(f).get("type") == "event"]
    assert any(e["event"] == "Bot.Paused" and e["bot_id"] == bobs for e in events), events
    assert {e["owner"] for e in events} == {"bob"}, events
    page.context.close()
    assert not errors, errors


def test_the_page_and_only_the_libraries_it_needs_are_served(dashboard: Dashboard) -> None:
    with httpx.Client(base_url=dashboard.api.base_url, timeout=10) as http:
        page = http.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        # every asset the page and its import map name is local, and served
        for reference in re.findall(r'(?:src|href)="(/[^"]+)"|"(/assets/vendor/[^"]+)"', page.text):
            asset = http.get(reference[0] or reference[1])
            assert asset.status_code == 200, reference
        assert "https:" not in page.text and "http:" not in page.text
        assert http.get("/assets/app/main.js").headers["content-type"].startswith("text/javascript")
        # nothing else of the installed packages is reachable
        for path in (
            "/assets/vendor/package.json",
            "/assets/vendor/..%2Fpackage-lock.json",
            "/assets/app/../node_modules/preact/package.json",
            "/assets/node_modules/preact/package.json",
            "/node_modules/preact/package.json",
        ):
            assert http.get(path).status_code == 404, path
        # the API's own pages are still the API's
        assert http.get("/openapi.json").json()["info"]["title"] == "tbot"
        assert "/" not in http.get("/openapi.json").json()["paths"]
        assert http.get("/docs").status_code == 200 and http.get("/health/live").status_code == 200
