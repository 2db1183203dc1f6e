"""The optional LLM signal reader through the real ``openai`` client against a local fake of the
chat completions API (tests/support/fake_llm.py): free text read into a signal; the model's
reading judged by the rule parser's rules, never trusted; every way an answer can fail a
refusal with PARSER_INVALID_ANSWER or PARSER_UNAVAILABLE, never an exception; the API key in no
log, error or repr; the rules answering without the model whenever they can read the message;
and `tbot signals parse --llm`."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import structlog
from pydantic import SecretStr

from application.signals import FALLBACK_REASONS, RulesThenLlm
from domain.signals import (
    EntryKind,
    ParsedSignal,
    RejectionReason,
    SignalRejection,
    SignalResult,
    TakeProfit,
    parse_signal,
)
from domain.values import Side, Symbol
from infrastructure.llm_signals import RESPONSE_FORMAT, LlmSignalReader
from infrastructure.settings import SignalSettings
from tests.integration.cli_support import assert_user_error, invoke
from tests.support.fake_llm import FakeLlm, Reply

R = RejectionReason
BTC, ETH, SOL = Symbol("BTC", "USDT"), Symbol("ETH", "USDT"), Symbol("SOL", "USDT")
MARKETS = frozenset({BTC, ETH, SOL})
KEY = "sk-test-never-shown-7f3a9c"
MODEL = "test-model"
FREE_TEXT = (
    "Thinking of going long on bitcoin somewhere around 60k. I'd cut it below 58k; "
    "first target 62k (take half off there), then 65k."
)
FREE_SIGNAL = ParsedSignal(
    BTC,
    Side.BUY,
    EntryKind.LIMIT,
    (Decimal(60000),),
    Decimal(58000),
    (TakeProfit(Decimal(62000), Decimal("0.5")), TakeProfit(Decimal(65000))),
    None,
)


def reading(**fields: Any) -> dict[str, Any]:
    """The model's answer to FREE_TEXT, with ``fields`` changed."""
    return {
        "action": "signal",
        "symbol": "BTC/USDT",
        "side": "long",
        "entry_kind": "limit",
        "entries": ["60k"],
        "stop_loss": "58k",
        "take_profits": [{"price": "62k", "fraction": "50%"}, {"price": "65k", "fraction": None}],
        "leverage": None,
        "confidence": 0.93,
        **fields,
    }


@pytest.fixture
def llm() -> Iterator[FakeLlm]:
    with FakeLlm() as fake:
        yield fake


def reader_of(llm: FakeLlm, timeout: float = 5.0, retries: int = 0, log: Any = None) -> LlmSignalReader:
    return LlmSignalReader(
        url=llm.url,
        model=MODEL,
        api_key=SecretStr(KEY),
        min_confidence=Decimal("0.8"),
        timeout_seconds=timeout,
        max_retries=retries,
        log=log,
    )


def read(reader: LlmSignalReader | RulesThenLlm, text: str = FREE_TEXT) -> SignalResult:
    return asyncio.run(reader.read(text, MARKETS))


# The model reads ----------------------------------------------------------------------------------


def test_free_text_the_rules_cannot_read_is_read_through_the_model(llm: FakeLlm) -> None:
    rules = parse_signal(FREE_TEXT, MARKETS)
    assert isinstance(rules, SignalRejection) and set(rules.reasons) <= FALLBACK_REASONS
    llm.answer(reading())
    assert read(reader_of(llm)) == FREE_SIGNAL
    (request,) = llm.requests
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["model"] == MODEL
    assert request.body["response_format"] == json.loads(json.dumps(RESPONSE_FORMAT))
    schema = request.body["response_format"]["json_schema"]
    assert schema["strict"] is True and schema["name"] == "trading_signal"
    assert schema["schema"]["additionalProperties"] is False
    assert set(schema["schema"]["required"]) == set(schema["schema"]["properties"])
    system, user = request.body["messages"]
    assert system["role"] == "system" and user == {"role": "user", "content": FREE_TEXT}
    for said in ("BTC/USDT, ETH/USDT, SOL/USDT", "null", "Never invent", "exactly as the message writes"):
        assert said in system["content"], said


@pytest.mark.parametrize(
    ("answer", "reasons"),
    [
        pytest.param(reading(stop_loss="61000"), {R.STOP_LOSS_WRONG_SIDE}, id="stop-on-the-wrong-side"),
        pytest.param(
            reading(side="short"), {R.STOP_LOSS_WRONG_SIDE, R.TAKE_PROFIT_WRONG_SIDE}, id="wrong-side"
        ),
        pytest.param(reading(confidence=0.5), {R.LOW_CONFIDENCE}, id="low-confidence"),
        pytest.param(reading(symbol="ADA/USDT"), {R.UNKNOWN_SYMBOL}, id="unknown-pair"),
        pytest.param(reading(entries=["0,5"]), {R.BAD_NUMBER}, id="decimal-comma"),
        pytest.param(reading(entry_kind="zone"), {R.AMBIGUOUS_VALUE}, id="zone-of-one"),
        pytest.param(reading(action="none"), {R.NOT_A_SIGNAL}, id="none"),
    ],
)
def test_the_models_reading_is_judged_by_the_rules(
    llm: FakeLlm, answer: dict[str, Any], reasons: set[RejectionReason]
) -> None:
    llm.answer(answer)
    assert read(reader_of(llm)) == SignalRejection.of(reasons)


# ... or fails, and that is an answer too --------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(Reply(refusal="I can't help with trading."), id="refusal"),
        pytest.param(Reply(refusal="No.", content=json.dumps(reading())), id="refusal-beside-content"),
        pytest.param(Reply(content="BTC long at 60k"), id="not-json"),
        pytest.param(Reply(content=json.dumps(reading())[:-5]), id="cut-json"),
        pytest.param(Reply(content=json.dumps(reading(entries=[60000.5]))), id="float-price"),
        pytest.param(Reply(content=json.dumps(reading(entries=["sixty"]))), id="price-pattern"),
        pytest.param(Reply(content=json.dumps(reading(side="up"))), id="side-enum"),
        pytest.param(Reply(content=json.dumps(reading(confidence=1.5))), id="confidence-above-1"),
        pytest.param(Reply(content=json.dumps(reading(confidence="high"))), id="confidence-text"),
        pytest.param(Reply(content=json.dumps(reading(note="trust me"))), id="extra-field"),
        pytest.param(
            Reply(content=json.dumps({k: v for k, v in reading().items() if k != "side"})),
            id="missing-field",
        ),
        pytest.param(Reply(content=json.dumps([reading()])), id="a-list"),
        pytest.param(Reply(content=json.dumps(reading()), finish_reason="length"), id="cut-short"),
        pytest.param(Reply(content=None), id="no-content"),
    ],
)
def test_an_answer_that_is_no_reading_is_an_invalid_answer(llm: FakeLlm, reply: Reply) -> None:
    llm.replies.append(reply)
    assert read(reader_of(llm)) == SignalRejection((R.PARSER_INVALID_ANSWER,))


@pytest.mark.parametrize("status", [500, 503, 429, 401, 404])
def test_an_error_status_is_unavailable(llm: FakeLlm, status: int) -> None:
    llm.fail(status)
    assert read(reader_of(llm)) == SignalRejection((R.PARSER_UNAVAILABLE,))


def test_an_answer_later_than_the_timeout_is_unavailable(llm: FakeLlm) -> None:
    llm.answer(reading(), delay=5)
    started = time.monotonic()
    assert read(reader_of(llm, timeout=0.3)) == SignalRejection((R.PARSER_UNAVAILABLE,))
    assert time.monotonic() - started < 3


def test_a_server_that_is_gone_is_unavailable() -> None:
    with FakeLlm() as gone:
        reader = reader_of(gone)
    assert read(reader) == SignalRejection((R.PARSER_UNAVAILABLE,))


def test_failures_are_retried_as_the_settings_say(llm: FakeLlm) -> None:
    llm.fail(503)
    llm.answer(reading())
    assert read(reader_of(llm, retries=1)) == FREE_SIGNAL
    assert len(llm.requests) == 2
    llm.fail(503)
    llm.answer(reading())
    assert read(reader_of(llm, retries=0)) == SignalRejection((R.PARSER_UNAVAILABLE,))
    assert len(llm.requests) == 3


def test_the_key_is_in_no_log_error_or_repr(llm: FakeLlm) -> None:
    settings = SignalSettings(llm_url=llm.url, llm_api_key=SecretStr(KEY), llm_max_retries=0)
    reader = LlmSignalReader.from_settings(settings)
    assert reader is not None
    llm.fail(401)
    llm.refuse()
    llm.answer("{not json")
    with structlog.testing.capture_logs() as logs:
        results = [read(reader) for _ in range(3)]
    assert results == [
        SignalRejection((R.PARSER_UNAVAILABLE,)),
        SignalRejection((R.PARSER_INVALID_ANSWER,)),
        SignalRejection((R.PARSER_INVALID_ANSWER,)),
    ]
    assert [line["reason"] for line in logs] == [
        "PARSER_UNAVAILABLE",
        "PARSER_INVALID_ANSWER",
        "PARSER_INVALID_ANSWER",
    ]
    assert all(line["log_level"] == "warning" and line["model"] == "gpt-4o-mini" for line in logs)
    assert all(request.headers["authorization"] == f"Bearer {KEY}" for request in llm.requests)
    for shown in (repr(logs), repr(reader), str(reader), repr(results), repr(settings), str(settings)):
        assert KEY not in shown
    assert LlmSignalReader.from_settings(SignalSettings()) is None


def test_without_a_key_none_from_the_environment_is_sent(
    llm: FakeLlm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    reader = LlmSignalReader.from_settings(SignalSettings(llm_url=llm.url))
    assert reader is not None
    llm.answer(reading())
    assert read(reader) == FREE_SIGNAL
    assert llm.requests[0].headers["authorization"] == "Bearer no-key"


# The rules first ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("BTC/USDT LONG Entry: 60000 SL: 58000 TP: 62000", id="a-signal"),
        pytest.param("cancel BTC/USDT", id="a-cancel"),
        pytest.param("BTC/USDT LONG Entry: 60000 SL: 61000", id="stop-wrong-side"),
        pytest.param("ADA/USDT LONG Entry 0.5 SL 0.45 TP 0.6", id="unknown-pair"),
        pytest.param("BTC/USDT long short entry 60000", id="conflicting-directions"),
        pytest.param("BTC LONG entry 60000 SL 58000\nETH SHORT entry 3000", id="several-signals"),
        pytest.param("BTC/USDT TP1 hit ✅", id="unreadable-number-beside-no-entry"),
    ],
)
def test_the_rules_answer_without_the_model_when_they_can_read_the_message(llm: FakeLlm, text: str) -> None:
    llm.answer(reading())
    assert read(RulesThenLlm(reader_of(llm)), text) == parse_signal(text, MARKETS)
    assert llm.requests == []


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(FREE_TEXT, id="free-text"),
        pytest.param("Hello, BTC/USDT looks strong. Target 70k soon", id="no-direction-no-entry"),
        pytest.param("Good morning traders! 🚀", id="not-a-signal"),
        pytest.param("BTC LONG", id="no-entry"),
        pytest.param("Long near 60000", id="no-symbol"),
    ],
)
def test_the_model_is_asked_only_when_the_rules_cannot_read_the_message(llm: FakeLlm, text: str) -> None:
    rules = parse_signal(text, MARKETS)
    assert isinstance(rules, SignalRejection) and set(rules.reasons) <= FALLBACK_REASONS
    llm.answer(reading())
    assert read(RulesThenLlm(reader_of(llm)), text) == FREE_SIGNAL
    assert len(llm.requests) == 1
    llm.fail(500)
    assert read(RulesThenLlm(reader_of(llm)), text) == SignalRejection((R.PARSER_UNAVAILABLE,))


def test_fallback_reasons_are_the_could_not_read_ones() -> None:
    assert {R.NOT_A_SIGNAL, R.NO_SYMBOL, R.NO_DIRECTION, R.NO_ENTRY} == FALLBACK_REASONS


# The command line --------------------------------------------------------------------------------


def _env(llm: FakeLlm, **more: str) -> dict[str, str]:
    return {
        "TBOT_SIGNALS_LLM_URL": llm.url,
        "TBOT_SIGNALS_LLM_API_KEY": KEY,
        "TBOT_SIGNALS_LLM_MODEL": MODEL,
        "TBOT_SIGNALS_LLM_MAX_RETRIES": "0",
        **more,
    }


def _json_line(stdout: str) -> dict[str, Any]:
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, stdout
    document: dict[str, Any] = json.loads(lines[0])
    return document


def test_the_command_line_reads_free_text_with_llm(llm: FakeLlm) -> None:
    llm.answer(reading())
    result = invoke("signals", "parse", FREE_TEXT, "--json", "--llm", **_env(llm))
    assert result.exit_code == 0, result.stderr
    assert _json_line(result.stdout) == {
        "status": "parsed",
        "symbol": "BTC/USDT",
        "side": "buy",
        "entry_kind": "limit",
        "entries": ["60000"],
        "stop_loss": "58000",
        "take_profits": ["62000", "65000"],
        "leverage": None,
        "take_profit_fractions": ["0.5", None],
    }
    assert llm.requests[0].body["model"] == MODEL
    assert "BTC/USDT, ETH/USDT, SOL/USDT" in llm.requests[0].body["messages"][0]["content"]


def test_the_command_line_asks_no_model_for_what_the_rules_read(llm: FakeLlm) -> None:
    text = "BTC/USDT LONG Entry: 60000 SL: 58000 TP: 62000"
    result = invoke("signals", "parse", text, "--json", "--llm", **_env(llm))
    assert result.exit_code == 0, result.stderr
    assert _json_line(result.stdout)["status"] == "parsed"
    assert llm.requests == []


def test_the_command_line_answers_a_failing_model_with_a_refusal(llm: FakeLlm) -> None:
    llm.fail(500)
    result = invoke("signals", "parse", FREE_TEXT, "--json", "--llm", **_env(llm))
    assert result.exit_code == 0, result.stderr
    assert _json_line(result.stdout) == {"status": "rejected", "reasons": ["PARSER_UNAVAILABLE"]}
    assert "PARSER_UNAVAILABLE" in result.stderr
    assert KEY not in result.stdout + result.stderr


def test_llm_without_a_configured_model_exits_2_naming_the_setting() -> None:
    result = invoke("signals", "parse", FREE_TEXT, "--json", "--llm")
    assert_user_error(result.exit_code, result.stderr, "TBOT_SIGNALS_LLM_URL")
    assert result.stdout == ""
    without = invoke("signals", "parse", FREE_TEXT, "--json")
    assert without.exit_code == 0 and _json_line(without.stdout)["status"] == "rejected"
