"""What a user can get wrong on the command line ends the command with exit code 2 and one line
naming the field and the rule, never a traceback; so does a database `tbot db init` has not
prepared, saying what to run."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.integration.cli_support import assert_user_error, invoke, sqlite_env, tbot_within

NO_TABLES = "the database has no tbot tables yet: run `tbot db init`"
WORKER_START = 45  # seconds: a worker that refuses to start has done so long before


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return sqlite_env(tmp_path)


@pytest.fixture
def prepared(env: dict[str, str]) -> dict[str, str]:
    result = invoke("db", "init", **env)
    assert result.exit_code == 0, result.output
    return env


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["users", "create", "alice", "--password", "short"], ["password", "12 to 1024 characters"]),
        (["users", "create", "alice", "--role", "boss"], ["role", "must be one of trader, auditor, admin"]),
        (["keys", "create", "nobody"], ["user_id", "no user nobody"]),
        (["accounts", "add", "Bad Name", "--exchange", "binance"], ["name", "lower-case letters"]),
        (["accounts", "remove", "nobody"], ["name", "no account 'nobody'"]),
        (["accounts", "markets", "nobody"], ["nobody", "is not configured"]),
        (["events", "replay", "--until", "yesterday"], ["--until", "ISO 8601"]),
    ],
)
def test_bad_input_exits_2_with_one_line(prepared: dict[str, str], args: list[str], words: list[str]) -> None:
    result = invoke(*args, **prepared)
    assert_user_error(result.exit_code, result.stderr, *words)


def test_creating_an_existing_user_exits_2(prepared: dict[str, str]) -> None:
    assert invoke("users", "create", "alice", **prepared).exit_code == 0
    result = invoke("users", "create", "alice", **prepared)
    assert_user_error(result.exit_code, result.stderr, "user_id", "alice already exists")


def test_a_bad_setting_exits_2_with_one_line(env: dict[str, str]) -> None:
    result = invoke("keys", "create", "alice", **env, TBOT_API_PORT="0")
    assert_user_error(result.exit_code, result.stderr, "invalid setting TBOT_API_PORT:", "greater than 0")


def test_a_bad_symbol_in_the_reference_prices_exits_2(env: dict[str, str]) -> None:
    result = invoke("demo", **env, TBOT_REFERENCE_PRICES='{"btc-usdt": "1"}')
    assert_user_error(result.exit_code, result.stderr, "reference_prices", "BASE/QUOTE")


@pytest.mark.parametrize(
    ("setting", "value", "field"),
    [
        ("TBOT_REFERENCE_PRICES", '{"BTC/USDT": "\uff15\uff10"}', "TBOT_REFERENCE_PRICES[BTC/USDT]"),
        ("TBOT_PAPER_BALANCES", '{"USDT": 1.5}', "TBOT_PAPER_BALANCES[USDT]"),
        ("TBOT_PAPER_MAKER_FEE", "0.00_1", "TBOT_PAPER_MAKER_FEE"),
        ("TBOT_PAPER_SLIPPAGE_BPS", " 5", "TBOT_PAPER_SLIPPAGE_BPS"),
    ],
)
def test_money_in_settings_is_read_by_the_strict_grammar(
    env: dict[str, str], setting: str, value: str, field: str
) -> None:
    result = invoke("demo", **env, **{setting: value})
    assert_user_error(result.exit_code, result.stderr, field, "decimal")


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("TBOT_PAPER_BALANCES", '{"USDT": '),
        ("TBOT_REFERENCE_PRICES", "BTC/USDT=1"),
        ("TBOT_MARKETDATA_SYMBOLS", "BTC/USDT"),
    ],
)
def test_a_json_setting_that_is_not_json_exits_2(env: dict[str, str], setting: str, value: str) -> None:
    result = invoke("demo", **env, **{setting: value})
    assert_user_error(result.exit_code, result.stderr, f"invalid setting {setting}:", "not JSON")


def _csv(tmp_path: Path, row: str) -> str:
    path = tmp_path / "candles.csv"
    header = "symbol,opened_at,open,high,low,close,volume\n"
    good = "BTC/USDT,2026-01-01T00:00:00Z,100,101,99,100,1\n"
    path.write_text(header + good + row + "\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("BTC/USDT,2026-01-01T00:01:00Z,abc,101,99,100,1", ["candles.csv line 3", "open", "decimal"]),
        ("BTC/USDT,yesterday,100,101,99,100,1", ["candles.csv line 3", "opened_at", "ISO 8601"]),
        ("BTC-USDT,2026-01-01T00:01:00Z,100,101,99,100,1", ["candles.csv line 3", "symbol", "BASE/QUOTE"]),
    ],
)
def test_a_bad_csv_row_stops_market_data_with_exit_2(
    prepared: dict[str, str], tmp_path: Path, row: str, words: list[str]
) -> None:
    csv = _csv(tmp_path, row)
    result = tbot_within(
        WORKER_START, "marketdata", "run", **prepared, TBOT_MARKETDATA_SOURCE="csv", TBOT_MARKETDATA_CSV=csv
    )
    assert_user_error(result.returncode, result.stderr, *words)


@pytest.mark.parametrize(
    "price", ["\uff11\uff10\uff10", "\u0661\u0660\u0660", "1_00", " 100", '"100\n"', "1e999999"]
)
def test_csv_prices_take_only_ascii_decimals(prepared: dict[str, str], tmp_path: Path, price: str) -> None:
    """Money in a CSV file is written with ASCII digits, an optional sign, one decimal point and a
    bounded exponent: Python's Decimal() also takes other scripts' digits, underscores, white
    space and any exponent."""
    csv = _csv(tmp_path, f"BTC/USDT,2026-01-01T00:01:00Z,{price},101,99,100,1")
    result = tbot_within(
        WORKER_START, "marketdata", "run", **prepared, TBOT_MARKETDATA_SOURCE="csv", TBOT_MARKETDATA_CSV=csv
    )
    assert_user_error(result.returncode, result.stderr, "candles.csv line 3", "open", "decimal number")


def test_a_bad_market_data_symbol_exits_2(prepared: dict[str, str]) -> None:
    result = tbot_within(WORKER_START, "marketdata", "run", **prepared, TBOT_MARKETDATA_SYMBOLS='["btc"]')
    assert_user_error(result.returncode, result.stderr, "marketdata_symbols", "BASE/QUOTE")


@pytest.mark.parametrize(
    "args",
    [
        ["events", "replay"],
        ["projections", "status"],
        ["audit", "state", str(uuid.uuid4())],
    ],
)
def test_a_fresh_database_says_to_run_db_init(env: dict[str, str], args: list[str]) -> None:
    result = invoke(*args, **env)
    assert_user_error(result.exit_code, result.stderr, NO_TABLES)


@pytest.mark.parametrize("args", [["execution", "run"], ["marketdata", "run"], ["protection", "run"]])
def test_a_worker_on_a_fresh_database_says_to_run_db_init(env: dict[str, str], args: list[str]) -> None:
    result = tbot_within(WORKER_START, *args, **env)
    assert_user_error(result.returncode, result.stderr, NO_TABLES)


@pytest.mark.postgres
def test_an_empty_postgres_schema_says_to_run_db_init(postgres_url: str) -> None:
    schema = f"cli_fresh_{uuid.uuid4().hex[:8]}"
    for args in (["events", "replay"], ["projections", "status"]):
        result = invoke(*args, DATABASE_URL=postgres_url, POSTGRES_SCHEMA=schema)
        assert_user_error(result.exit_code, result.stderr, NO_TABLES)
