"""`tbot run` and `tbot serve` as real processes: a busy port ends them at once, before anything is
written; a signal shuts the whole system down, workers first, without a traceback."""

from __future__ import annotations

import json
import re
import signal
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from infrastructure.settings import Settings
from tests.integration.cli_support import assert_user_error, sqlite_env, start, tbot

FAST = {  # every worker busy all the time, so that a shutdown meets them mid-work
    "TBOT_EXECUTION_POLL_SECONDS": "0.01",
    "TBOT_PROJECTION_POLL_SECONDS": "0.01",
    "TBOT_PROTECTION_POLL_SECONDS": "0.01",
    "TBOT_MARKETDATA_INTERVAL_SECONDS": "0.01",
}


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener.getsockname()[1]


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port: int = listener.getsockname()[1]
    return port


@pytest.mark.parametrize("command", ["run", "serve"])
def test_a_busy_port_exits_2_before_anything_is_written(tmp_path: Path, busy_port: int, command: str) -> None:
    result = tbot(command, "--port", str(busy_port), **sqlite_env(tmp_path))
    assert_user_error(
        result.returncode, result.stderr, f"port {busy_port}", "in use", "--port", "TBOT_API_PORT"
    )
    assert result.stdout == ""
    assert not list(tmp_path.iterdir())  # neither database file was made


def test_a_busy_port_from_the_setting_names_the_setting(tmp_path: Path, busy_port: int) -> None:
    result = tbot("run", **sqlite_env(tmp_path, TBOT_API_PORT=str(busy_port)))
    assert_user_error(result.returncode, result.stderr, f"port {busy_port}", "TBOT_API_PORT")
    assert not list(tmp_path.iterdir())


def _wait_live(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _post(url: str, key: str, body: dict[str, str]) -> int:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"X-API-Key": key, "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status: int = response.status
    except urllib.error.HTTPError as error:  # a risk denial is activity too
        status = error.code
    return status


def _assert_metrics_of_the_whole_system(port: int) -> None:
    """The API's /metrics of `tbot run` shows its workers' metrics too (one process)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        text = response.read().decode()
    names = {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}
    assert {"tbot_commands_total", "tbot_projection_lag_events", "tbot_exchange_orders_total"} <= names
    assert 'tbot_worker_active{worker="execution"} 1.0' in text


def _run_then_stop(env: dict[str, str], stop_with: signal.Signals) -> tuple[int, str]:
    """`tbot run`, some orders through its API, a second of execution filling them, then the
    signal: the exit code and stderr."""
    port = _free_port()
    process = start("run", "--port", str(port), **env, **FAST)
    try:
        assert process.stdout is not None
        shown = ""
        while "/orders" not in shown:
            line = process.stdout.readline()
            assert line, f"tbot run ended early: {process.communicate()[1]}"
            shown += line
        key = re.search(r"shown once\): (\S+)", shown)
        bot = re.search(r"demo bot (\S+);", shown)
        assert key is not None and bot is not None, shown
        _wait_live(port)
        url = f"http://127.0.0.1:{port}/v1/bots/{bot.group(1)}/orders"
        order = {"symbol": "BTC/USDT", "order_type": "market", "quantity": "0.01"}
        statuses = {_post(url, key.group(1), {**order, "side": side}) for side in ("buy", "sell") * 5}
        assert 201 in statuses, statuses
        time.sleep(1.0)  # execution fills them meanwhile
        _assert_metrics_of_the_whole_system(port)
        process.send_signal(stop_with)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, stderr


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_run_after_activity_without_a_traceback(
    tmp_path: Path, stop_with: signal.Signals
) -> None:
    returncode, stderr = _run_then_stop(sqlite_env(tmp_path), stop_with)
    assert returncode == 0, stderr
    assert "Traceback" not in stderr and "Error" not in stderr, stderr


@pytest.mark.postgres
def test_sigterm_stops_run_on_postgres_without_a_traceback(postgres_settings: Settings) -> None:
    env = {
        "DATABASE_URL": postgres_settings.store.database_url.get_secret_value(),  # type: ignore[union-attr]
        "POSTGRES_SCHEMA": postgres_settings.store.postgres_schema,
    }
    assert tbot("db", "init", **env).returncode == 0
    returncode, stderr = _run_then_stop(env, signal.SIGTERM)
    assert returncode == 0, stderr
    assert "Traceback" not in stderr and "Error" not in stderr, stderr
