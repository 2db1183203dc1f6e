"""Every environment variable tbot reads, by the name deployments use: each lands in its setting
(``settings.<group>.<field>``), and a bad value of it ends a command with exit code 2 naming it."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from infrastructure.settings import Settings
from tests.integration.cli_support import assert_user_error, invoke, sqlite_env

# variable: (a value, the setting it sets, what the setting then holds, a bad value or None when
# every text is a valid one)
VARIABLES: dict[str, tuple[str, str, Any, str | None]] = {
    "DATABASE_URL": (
        "postgresql://u:pw@db:6543/x",
        "store.database_url",
        "postgresql://u:pw@db:6543/x",
        "mysql://x",
    ),
    "TBOT_DATABASE_URL": ("sqlite:///var/e.db", "store.database_url", "sqlite:///var/e.db", "mysql://x"),
    "POSTGRES_HOST": ("db.example", "store.postgres_host", "db.example", None),
    "POSTGRES_PORT": ("6543", "store.postgres_port", 6543, "70000"),
    "POSTGRES_USER": ("trader", "store.postgres_user", "trader", None),
    "POSTGRES_PASSWORD": ("pw", "store.postgres_password", "pw", None),
    "POSTGRES_DBNAME": ("trading", "store.postgres_dbname", "trading", None),
    "POSTGRES_DB": ("trading", "store.postgres_dbname", "trading", None),
    "POSTGRES_SCHEMA": ("desk_1", "store.postgres_schema", "desk_1", "Robert'); DROP"),
    "TBOT_POSTGRES_POOL_SIZE": ("20", "store.postgres_pool_size", 20, "0"),
    "TBOT_SQLITE_PATH": ("/srv/e.db", "store.sqlite_path", Path("/srv/e.db"), None),
    "TBOT_READ_SQLITE_PATH": ("/srv/r.db", "store.read_sqlite_path", Path("/srv/r.db"), None),
    "TBOT_AGGREGATE_CACHE_SIZE": ("0", "store.aggregate_cache_size", 0, "-1"),
    "TBOT_MAX_COMMAND_ATTEMPTS": ("3", "store.max_command_attempts", 3, "0"),
    "TBOT_GROUP_COMMIT": ("false", "store.group_commit", False, "sometimes"),
    "TBOT_BOT_TURN_WAIT_SECONDS": ("2.5", "store.bot_turn_wait_seconds", 2.5, "0"),
    "REDIS_URL": ("redis://cache:6380/1", "redis.url", "redis://cache:6380/1", "http://cache"),
    "TBOT_REDIS_URL": ("rediss://cache/2", "redis.url", "rediss://cache/2", "http://cache"),
    "TBOT_FEED_MAX_LENGTH": ("50", "feed.max_length", 50, "5"),
    "TBOT_FEED_HEARTBEAT_SECONDS": ("3", "feed.heartbeat_seconds", 3.0, "0"),
    "TBOT_FEED_QUEUE_LIMIT": ("7", "feed.queue_limit", 7, "0"),
    "TBOT_FEED_SEND_TIMEOUT_SECONDS": ("4", "feed.send_timeout_seconds", 4.0, "0"),
    "TBOT_FEED_PRICE_POLL_SECONDS": ("0.5", "feed.price_poll_seconds", 0.5, "0"),
    "TBOT_FEED_COMPRESSION": ("true", "feed.compression", True, "maybe"),
    "TBOT_PROJECTION_BATCH_SIZE": ("50", "projections.batch_size", 50, "0"),
    "TBOT_PROJECTION_POLL_SECONDS": ("0.2", "projections.poll_seconds", 0.2, "0"),
    "TBOT_REBUILD_PROCESSES": ("3", "projections.rebuild_processes", 3, "-1"),
    "TBOT_PAPER_BALANCES": ('{"USDT": "5"}', "paper.balances", {"USDT": Decimal(5)}, '{"USDT": 1.5}'),
    "TBOT_PAPER_MAKER_FEE": ("0.002", "paper.maker_fee", Decimal("0.002"), "1"),
    "TBOT_PAPER_TAKER_FEE": ("0.003", "paper.taker_fee", Decimal("0.003"), "0.00_1"),
    "TBOT_PAPER_SLIPPAGE_BPS": ("7", "paper.slippage_bps", Decimal(7), "-1"),
    "TBOT_PAPER_PARTIAL_FILLS": ("true", "paper.partial_fills", True, "maybe"),
    "TBOT_PAPER_SEED": ("42", "paper.seed", 42, "x"),
    "TBOT_EXECUTION_POLL_SECONDS": ("0.1", "execution.poll_seconds", 0.1, "0"),
    "TBOT_EXECUTION_SWEEP_SECONDS": ("60", "execution.sweep_seconds", 60.0, "0"),
    "TBOT_EXECUTION_SETTLE_SECONDS": ("20", "execution.settle_seconds", 20.0, "0"),
    "TBOT_EXECUTION_CONCURRENCY": ("4", "execution.concurrency", 4, "0"),
    "TBOT_EXECUTION_BATCH_SIZE": ("50", "execution.batch_size", 50, "0"),
    "TBOT_PROTECTION_POLL_SECONDS": ("2", "protection.poll_seconds", 2.0, "0"),
    "TBOT_BACKTEST_PER_USER": ("3", "backtests.per_user", 3, "0"),
    "TBOT_BACKTEST_QUEUE": ("50", "backtests.queue", 50, "0"),
    "TBOT_BACKTEST_MAX_DAYS": ("90", "backtests.max_days", 90, "0"),
    "TBOT_BACKTEST_POLL_SECONDS": ("0.5", "backtests.poll_seconds", 0.5, "0"),
    "TBOT_CREDENTIALS_KEY": ("k1,k2", "exchange.credentials_key", "k1,k2", None),
    "TBOT_EXCHANGE_TIMEOUT_SECONDS": ("30", "exchange.timeout_seconds", 30.0, "0"),
    "TBOT_EXCHANGE_STREAMS": ("false", "exchange.streams", False, "maybe"),
    "TBOT_MARKETDATA_SOURCE": ("csv", "marketdata.source", "csv", "tape"),
    "TBOT_MARKETDATA_ACCOUNT": ("binance-main", "marketdata.account", "binance-main", None),
    "TBOT_MARKETDATA_SYMBOLS": ('["BTC/USDT"]', "marketdata.symbols", ["BTC/USDT"], "BTC/USDT"),
    "TBOT_MARKETDATA_SEED": ("9", "marketdata.seed", 9, "x"),
    "TBOT_MARKETDATA_CSV": ("/srv/c.csv", "marketdata.csv", Path("/srv/c.csv"), None),
    "TBOT_MARKETDATA_REPLAY_SPEED": ("120", "marketdata.replay_speed", 120.0, "0"),
    "TBOT_MARKETDATA_INTERVAL_SECONDS": ("5", "marketdata.interval_seconds", 5.0, "0"),
    "TBOT_REFERENCE_PRICES": (
        '{"BTC/USDT": "50000"}',
        "marketdata.reference_prices",
        {"BTC/USDT": Decimal(50000)},
        '{"BTC/USDT": 5e4}',
    ),
    "TBOT_LOG_FORMAT": ("json", "observability.log_format", "json", "xml"),
    "TBOT_LOG_LEVEL": ("DEBUG", "observability.log_level", "DEBUG", "LOUD"),
    "TBOT_OTEL_EXPORTER": ("otlp", "observability.otel_exporter", "otlp", "jaeger"),
    "TBOT_OTEL_ENDPOINT": (
        "http://c:4318/v1/traces",
        "observability.otel_endpoint",
        "http://c:4318/v1/traces",
        None,
    ),
    "TBOT_METRICS_PORT": ("9100", "observability.metrics_port", 9100, "70000"),
    "TBOT_METRICS_HOST": ("0.0.0.0", "observability.metrics_host", "0.0.0.0", None),
    "TBOT_METRICS_DIR": ("/run/tbot-metrics", "observability.metrics_dir", Path("/run/tbot-metrics"), None),
    "TBOT_API_HOST": ("0.0.0.0", "api.host", "0.0.0.0", None),
    "TBOT_API_PORT": ("9000", "api.port", 9000, "0"),
    "TBOT_API_MAX_BODY_BYTES": ("2048", "api.max_body_bytes", 2048, "10"),
    "TBOT_JWT_SECRET": ("s" * 32, "api.jwt_secret", "s" * 32, "too short"),
    "TBOT_JWT_TTL_SECONDS": ("600", "api.jwt_ttl_seconds", 600, "10"),
    "TBOT_RATE_LIMIT_PER_SECOND": ("5", "api.rate_limit_per_second", 5, "0"),
    "TBOT_READ_WAIT_SECONDS": ("1.5", "api.read_wait_seconds", 1.5, "0"),
    "TBOT_API_MAX_COMMANDS_IN_FLIGHT": ("8", "api.max_commands_in_flight", 8, "0"),
    "TBOT_API_ADMISSION_WAIT_SECONDS": ("0.2", "api.admission_wait_seconds", 0.2, "-1"),
    "TBOT_SIGNALS_LLM_URL": ("http://llm:8080/v1", "signals.llm_url", "http://llm:8080/v1", "llm:8080"),
    "TBOT_SIGNALS_LLM_MODEL": ("local-model", "signals.llm_model", "local-model", None),
    "TBOT_SIGNALS_LLM_API_KEY": ("sk-test", "signals.llm_api_key", "sk-test", None),
    "TBOT_SIGNALS_LLM_MIN_CONFIDENCE": ("0.9", "signals.llm_min_confidence", Decimal("0.9"), "1.5"),
    "TBOT_SIGNALS_LLM_TIMEOUT_SECONDS": ("3", "signals.llm_timeout_seconds", 3.0, "0"),
    "TBOT_SIGNALS_LLM_MAX_RETRIES": ("0", "signals.llm_max_retries", 0, "-1"),
    "TBOT_NOTIFY_RETRY_ATTEMPTS": ("3", "notify.retry_attempts", 3, "0"),
    "TBOT_NOTIFY_RETRY_FIRST_DELAY_SECONDS": ("0.5", "notify.retry_first_delay_seconds", 0.5, "-1"),
    "TBOT_NOTIFY_RETRY_MAX_DELAY_SECONDS": ("30", "notify.retry_max_delay_seconds", 30.0, "-1"),
    "TBOT_NOTIFY_SMTP_HOST": ("mail.example.com", "notify.smtp_host", "mail.example.com", None),
    "TBOT_NOTIFY_SMTP_PORT": ("2525", "notify.smtp_port", 2525, "0"),
    "TBOT_NOTIFY_SMTP_USER": ("tbot", "notify.smtp_user", "tbot", None),
    "TBOT_NOTIFY_SMTP_PASSWORD": ("pw", "notify.smtp_password", "pw", None),
    "TBOT_NOTIFY_SMTP_SENDER": ("bots@example.com", "notify.smtp_sender", "bots@example.com", "x"),
    "TBOT_NOTIFY_SMTP_STARTTLS": ("false", "notify.smtp_starttls", False, "maybe"),
    "TBOT_NOTIFY_TELEGRAM_TOKEN": ("123:abc", "notify.telegram_token", "123:abc", None),
    "TBOT_NOTIFY_TELEGRAM_API_URL": ("http://tg:8081", "notify.telegram_api_url", "http://tg:8081", None),
    "TBOT_NOTIFY_ALLOW_PRIVATE_URLS": ("true", "notify.allow_private_urls", True, "maybe"),
    "TBOT_NOTIFY_DAILY_SUMMARY_HOUR": ("18", "notify.daily_summary_hour", 18, "24"),
    "TBOT_NOTIFY_BATCH_SIZE": ("50", "notify.batch_size", 50, "0"),
    "TBOT_NOTIFY_POLL_SECONDS": ("2", "notify.poll_seconds", 2.0, "0"),
    "TBOT_TELEGRAM_TOKEN": ("123:abc", "telegram.token", "123:abc", None),
    "TBOT_TELEGRAM_API_URL": ("http://tg:8081", "telegram.api_url", "http://tg:8081", "tg:8081"),
    "TBOT_TELEGRAM_WEBHOOK_SECRET": ("s3cret_token-1", "telegram.webhook_secret", "s3cret_token-1", "a b"),
    "TBOT_TELEGRAM_POLL_TIMEOUT_SECONDS": ("5", "telegram.poll_timeout_seconds", 5, "61"),
}
# one name of each setting read by two (the others are checked one at a time)
SECOND_NAMES = {"TBOT_DATABASE_URL", "POSTGRES_DB", "TBOT_REDIS_URL"}


@pytest.fixture(autouse=True)
def no_variable_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.variables():
        monkeypatch.delenv(name, raising=False)


def _held(settings: Settings, setting: str) -> Any:
    group, field = setting.split(".")
    value = getattr(getattr(settings, group), field)
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def test_the_list_is_every_variable_read() -> None:
    assert {name: setting for name, (_, setting, _, _) in VARIABLES.items()} == Settings.variables()


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_each_variable_lands_in_its_setting(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    text, setting, held, _ = VARIABLES[name]
    assert _held(Settings(), setting) != held, "a value other than the default"
    monkeypatch.setenv(name, text)
    assert _held(Settings(), setting) == held


def test_all_of_them_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, (text, _, _, _) in VARIABLES.items():
        if name not in SECOND_NAMES:
            monkeypatch.setenv(name, text)
    settings = Settings()
    for name, (_, setting, held, _) in VARIABLES.items():
        if name not in SECOND_NAMES:
            assert _held(settings, setting) == held, name


@pytest.mark.parametrize("name", sorted(name for name, (*_, bad) in VARIABLES.items() if bad is not None))
def test_a_bad_value_exits_2_naming_the_variable(tmp_path: Path, name: str) -> None:
    bad = VARIABLES[name][3]
    assert bad is not None
    result = invoke("keys", "create", "alice", **sqlite_env(tmp_path, **{name: bad}))
    assert_user_error(result.exit_code, result.stderr, "error: invalid setting ", name)


def test_the_operations_guide_lists_each_variable_in_its_group() -> None:
    """docs/operations.md, "Settings reference": a table per group, a row per field, naming its
    variables."""
    guide = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")
    reference = guide.split("\n## Settings reference\n", 1)[1].split("\n## ", 1)[0]
    listed: dict[str, str] = {}
    for section in reference.split("\n### `")[1:]:
        group = section.split("`", 1)[0]
        for row in re.findall(r"^\| (`[A-Z_]+`(?: or `[A-Z_]+`)*) \| `([a-z_]+)` \|", section, re.MULTILINE):
            names, field = row
            listed.update(dict.fromkeys(re.findall(r"`([A-Z_]+)`", names), f"{group}.{field}"))
    assert listed == Settings.variables()
