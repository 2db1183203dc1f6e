"""`tbot signals parse`: one JSON object for a parsed, a cancel and a refused message (exit 0:
a refusal is an answer), a readable table without --json, and exit 2 with one line on stderr for
a bad --markets."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from interfaces.cli import app

OURS = ("POSTGRES_", "DATABASE_URL", "REDIS_URL", "TBOT_")


def tbot(*args: str, **env: str) -> Result:
    """In this process, on an environment without the suite's own settings, plus ``env``."""
    unset: dict[str, Any] = {name: None for name in os.environ if name.startswith(OURS)}
    return CliRunner().invoke(app, ["signals", "parse", *args], env={**unset, **env})


def answer(*args: str) -> dict[str, Any]:
    result = tbot(*args, "--json")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    document: dict[str, Any] = json.loads(lines[0])
    return document


def test_a_signal_is_one_json_object() -> None:
    text = "BTC/USDT LONG  Entry: 60000 - 60500  SL: 58000  TP1: 62000  TP2: 65000"
    assert answer(text) == {
        "status": "parsed",
        "symbol": "BTC/USDT",
        "side": "buy",
        "entry_kind": "zone",
        "entries": ["60000", "60500"],
        "stop_loss": "58000",
        "take_profits": ["62000", "65000"],
        "leverage": None,
    }


def test_fractions_and_leverage_are_written_when_the_message_gives_them() -> None:
    text = "🚀 #SOLUSDT.P SHORT\nEntry: 150\nTP1: 145 (50%)\nTP2: 140\nSL: 155\nLeverage: Cross 20x"
    assert answer(text) == {
        "status": "parsed",
        "symbol": "SOL/USDT",
        "side": "sell",
        "entry_kind": "limit",
        "entries": ["150"],
        "stop_loss": "155",
        "take_profits": ["145", "140"],
        "leverage": "20",
        "take_profit_fractions": ["0.5", None],
    }


def test_a_cancel_is_one_json_object() -> None:
    assert answer("❌ Cancelled BTC signal") == {"status": "cancel", "action": "cancel", "symbol": "BTC/USDT"}
    assert answer("close ETH long") == {"status": "cancel", "action": "close", "symbol": "ETH/USDT"}


def test_a_refusal_is_an_answer_with_exit_code_0() -> None:
    text = "BTC/USDT LONG\nEntry: 60000\nSL: 61000\nTP: 62000"
    assert answer(text) == {"status": "rejected", "reasons": ["STOP_LOSS_WRONG_SIDE"]}


def test_the_markets_default_to_the_settings_symbols() -> None:
    assert answer("ADA LONG entry 0.5")["reasons"] == ["NO_SYMBOL"]
    found = tbot("ADA LONG entry 0.5", "--json", TBOT_MARKETDATA_SYMBOLS='["ADA/USDT"]')
    assert json.loads(found.stdout)["symbol"] == "ADA/USDT"


def test_markets_given_replace_the_default_in_any_case() -> None:
    text = "BTC LONG entry 60000"
    assert answer(text, "--markets", "btc/usdt, btc/usdc")["reasons"] == ["AMBIGUOUS_SYMBOL"]
    assert answer(text, "--markets", "BTC/EUR")["symbol"] == "BTC/EUR"


def test_without_json_a_table_is_shown() -> None:
    result = tbot("BTC/USDT LONG Entry 60000 SL 58000 TP1 62000 (50%) 10x")
    assert result.exit_code == 0, result.stderr
    for shown in ("BTC/USDT", "buy", "limit", "60000", "58000", "62000 (50%)", "10x"):
        assert shown in result.stdout
    refused = tbot("Good morning")
    assert refused.exit_code == 0
    assert "NOT_A_SIGNAL" in refused.stdout


@pytest.mark.parametrize("markets", ["BTC/USDT,bitcoin", "BTC-USDT", "", " , "])
def test_bad_markets_exit_2_with_one_line_naming_the_option_and_the_rule(markets: str) -> None:
    result = tbot("BTC LONG entry 60000", "--markets", markets, "--json")
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert "--markets" in lines[0] and "BASE/QUOTE" in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_bad_symbol_in_the_settings_exits_2_naming_the_variable() -> None:
    result = tbot("BTC LONG entry 60000", TBOT_MARKETDATA_SYMBOLS='["btc-usdt"]')
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2
    assert len(lines) == 1 and "TBOT_MARKETDATA_SYMBOLS" in lines[0] and "BASE/QUOTE" in lines[0]
