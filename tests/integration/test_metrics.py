"""/metrics scraped from real processes: `tbot serve --workers 2` on PostgreSQL adds up what both
server processes counted (every command once, histograms agreeing with the counters, risk denials
by reason code); projection and execution workers serve their own metrics on TBOT_METRICS_PORT
(lag per projection; orders sent to the paper exchange), and a port already taken ends one with
exit code 2; the API counts its live feed clients."""

from __future__ import annotations

import contextlib
import socket
from collections import Counter
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from infrastructure.settings import Settings
from tests.integration.cli_support import assert_user_error, sqlite_env, tbot_within
from tests.integration.cli_support import tbot as cli
from tests.support.api import LIMITS, PRICES, answering_processes, api_on, free_port
from tests.support.feed import FeedClient
from tests.support.processes import start_tbot, stop, wait_for

PLACED = 30
DENIED = 10


def _samples(text: str) -> list[Sample]:
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum of the samples named ``name`` whose labels include ``labels``."""
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def _order(n: int, symbol: str) -> dict[str, str]:
    return {
        "symbol": symbol,
        "side": "buy",
        "order_type": "limit",
        "price": "49000",
        "quantity": "0.001",
        "client_order_id": f"m-{n}",
    }


def test_server_processes_metrics_add_up_and_a_worker_serves_its_own(
    postgres_settings: Settings, tmp_path: Path
) -> None:
    shared = tmp_path / "metrics"
    worker_port = free_port()
    env = {
        "TBOT_RATE_LIMIT_PER_SECOND": "10000",
        "TBOT_METRICS_DIR": str(shared),
        "TBOT_METRICS_PORT": str(worker_port),  # the projection worker's; the API serves its own
    }
    with api_on(postgres_settings, {"alice": "trader"}, serve_args=("--workers", "2"), **env) as api:
        servers = answering_processes(api, 2)
        assert len(servers) == 2, servers
        bot_id = api.create_bot("alice", limits={**LIMITS, "max_open_orders": 1000})  # CreateBot, StartBot
        reasons: Counter[str] = Counter()
        for n in range(PLACED + DENIED):
            symbol = "BTC/USDT" if n < PLACED else "ETH/USDT"  # not in the bot's allowed symbols
            with api.client("alice") as fresh:  # a new connection each: either process takes it
                answer = fresh.post(f"/v1/bots/{bot_id}/orders", json=_order(n, symbol))
                assert answer.status_code == (201 if n < PLACED else 422), answer.text
                if n >= PLACED:
                    reasons.update(answer.json()["error"]["reason_codes"])
        assert reasons["SYMBOL_NOT_ALLOWED"] == DENIED

        # both processes counted commands (each keeps its values in a file of its own)
        counted = {int(path.stem.rsplit("_", 1)[1]) for path in shared.glob("counter_*.db")}
        assert servers <= counted, (servers, counted)

        for _ in range(4):  # whichever process answers, it reports everyone's
            with api.client() as anonymous:  # no credentials: Prometheus scrapes without
                scraped = anonymous.get("/metrics")
            assert scraped.status_code == 200, scraped.text
            assert scraped.headers["content-type"].startswith("text/plain")
            samples = _samples(scraped.text)
            commands = "tbot_commands_total"
            assert _value(samples, commands, command="PlaceOrder", outcome="ok") == PLACED
            assert _value(samples, commands, command="PlaceOrder", outcome="denied") == DENIED
            assert _value(samples, commands, command="CreateBot", outcome="ok") == 1
            assert _value(samples, commands, command="StartBot", outcome="ok") == 1
            assert _value(samples, commands) == PLACED + DENIED + 2
            for sample in (s for s in samples if s.name == commands):
                count = _value(samples, "tbot_command_duration_seconds_count", **sample.labels)
                slowest = _value(samples, "tbot_command_duration_seconds_bucket", **sample.labels, le="+Inf")
                assert count == slowest == sample.value, sample
            for reason, times in reasons.items():  # each denial counted under each of its codes
                assert _value(samples, "tbot_risk_denials_total", reason=reason) == times, reason
            assert _value(samples, "tbot_risk_denials_total") == reasons.total()
            assert not any("bot" in label or "user" in label for s in samples for label in s.labels)

        worker = f"http://127.0.0.1:{worker_port}/metrics"

        def worker_caught_up() -> bool:
            with contextlib.suppress(httpx.HTTPError):
                samples = _samples(httpx.get(worker, timeout=5).text)
                lags = [s for s in samples if s.name == "tbot_projection_lag_events"]
                return bool(lags) and all(s.value == 0 for s in lags)
            return False

        wait_for(worker_caught_up, 60, "the projection worker's metrics to show no lag")
        samples = _samples(httpx.get(worker, timeout=5).text)
        projections = {s.labels["projection"] for s in samples if s.name == "tbot_projection_lag_events"}
        assert {"bots", "orders", "positions"} <= projections, projections
        assert {
            s.labels["projection"] for s in samples if s.name == "tbot_projection_lag_seconds"
        } == projections
        assert _value(samples, "tbot_worker_healthy", worker="projections") == 1
        assert _value(samples, "tbot_worker_active", worker="projections") == 1
        assert _value(samples, "tbot_commands_total") == 0  # the worker sends no commands


def test_an_execution_worker_counts_what_it_sends_and_the_api_its_feed_clients(
    postgres_settings: Settings,
) -> None:
    port = free_port()
    with api_on(postgres_settings, {"alice": "trader"}) as api:  # one server process: metrics in memory
        execution = start_tbot(
            postgres_settings,
            "execution",
            "run",
            TBOT_METRICS_PORT=str(port),
            TBOT_EXECUTION_POLL_SECONDS="0.1",
            TBOT_REFERENCE_PRICES=PRICES,  # the paper exchange fills at them
        )
        try:
            bot_id = api.create_bot("alice")
            with api.client("alice") as http:
                market = {**_order(1, "BTC/USDT"), "order_type": "market"}
                del market["price"]
                placed = http.post(f"/v1/bots/{bot_id}/orders", json=market)
                assert placed.status_code == 201, placed.text
            worker = f"http://127.0.0.1:{port}/metrics"

            def sent() -> bool:
                with contextlib.suppress(httpx.HTTPError):
                    samples = _samples(httpx.get(worker, timeout=5).text)
                    return _value(samples, "tbot_exchange_orders_total") >= 1
                return False

            wait_for(sent, 60, "the execution worker to send the order")
            samples = _samples(httpx.get(worker, timeout=5).text)
            orders = {s.labels["outcome"]: s.value for s in samples if s.name == "tbot_exchange_orders_total"}
            assert orders == {"answered": 1}
            assert _value(samples, "tbot_exchange_order_duration_seconds_count", exchange="paper") == 1
            submitted = _value(samples, "tbot_commands_total", command="RecordOrderSubmitted", outcome="ok")
            assert submitted == 1
            assert _value(samples, "tbot_worker_active", worker="execution") == 1
        finally:
            stop(execution)

        def feed(name: str, **labels: str) -> float:
            with api.client() as http:
                return _value(_samples(http.get("/metrics").text), name, **labels)

        with FeedClient(api, "alice"):  # subscribed once it returns
            wait_for(lambda: feed("tbot_feed_subscribers") == 1, 10, "the client subscribed")
        wait_for(lambda: feed("tbot_feed_subscribers") == 0, 10, "the client gone")
        assert feed("tbot_feed_disconnects_total", reason="client_closed") == 1


def test_a_worker_whose_metrics_port_is_taken_exits_2_naming_the_setting(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    assert cli("db", "init", **env).returncode == 0
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = str(busy.getsockname()[1])
        done = tbot_within(60, "projections", "run", **env, TBOT_METRICS_PORT=port)
    assert_user_error(done.returncode, done.stderr, "metrics_port", port, "TBOT_METRICS_PORT")
