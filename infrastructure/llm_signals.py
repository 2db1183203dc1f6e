"""The optional LLM signal reader: a ``SignalReader`` that asks an OpenAI-compatible chat
completions API (OpenAI, or a local server that speaks its protocol) to fill in a strict JSON
schema, then holds the answer to the rule parser's rules (``domain.signals.judge``): the model
reads, the domain decides (docs/signals.md, "Free text: the optional LLM reader").

It never raises to its caller: a request that fails (connection, timeout, an error status after
the retries) is PARSER_UNAVAILABLE; an answer that is no reading (a refusal, text that is not
JSON, JSON outside the schema) is PARSER_INVALID_ANSWER. The API key stays a secret: it is in no
log line, error or repr."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any, cast

import openai
import structlog
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONSchema
from pydantic import SecretStr

from domain.signals import (
    CandidateTarget,
    RejectionReason,
    SignalCandidate,
    SignalRejection,
    SignalResult,
    judge,
)
from domain.values import Symbol
from infrastructure.settings import SignalSettings

NO_KEY = "no-key"
"""Sent as the bearer token when no key is set (a local server ignores it): the client would
otherwise look for one in OPENAI_API_KEY, a setting tbot does not list."""
SCHEMA_NAME = "trading_signal"
PRICE_PATTERN = r"^[0-9.][0-9.,]*[kK]?$"
"""A price as a channel writes it (``60000``, ``0.0345``, ``60,000``, ``60k``), read afterwards
by the rule parser's own grammar, which refuses what could be read two ways (``0,5``)."""
FRACTION_PATTERN = r"^[0-9.]+%?$"
LEVERAGE_PATTERN = r"^[xX]?[0-9.]+[xX]?$"


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` that also takes null (an enum lists null among its values)."""
    nullable = {**schema, "type": [schema["type"], "null"]}
    if "enum" in schema:
        nullable["enum"] = [*schema["enum"], None]
    return nullable


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """Every property required and no other allowed, as strict structured outputs want."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


_PRICE = {"type": "string", "pattern": PRICE_PATTERN}
SIGNAL_SCHEMA: dict[str, Any] = _object(
    {
        "action": {"type": "string", "enum": ["signal", "cancel", "close", "none"]},
        "symbol": _nullable({"type": "string"}),
        "side": _nullable({"type": "string", "enum": ["long", "short"]}),
        "entry_kind": _nullable({"type": "string", "enum": ["market", "limit", "zone"]}),
        "entries": {"type": "array", "items": _PRICE},
        "stop_loss": _nullable(_PRICE),
        "take_profits": {
            "type": "array",
            "items": _object(
                {"price": _PRICE, "fraction": _nullable({"type": "string", "pattern": FRACTION_PATTERN})}
            ),
        },
        "leverage": _nullable({"type": "string", "pattern": LEVERAGE_PATTERN}),
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    }
)
"""The answer asked for: one reading of one message, every field present, null where the
message says nothing."""
RESPONSE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": SIGNAL_SCHEMA},
}

PROMPT = """You read one message posted in a crypto trading-signal channel and answer with the \
JSON schema trading_signal. You only copy what the message says; code checks your answer.

- Use null (an empty list for entries and take_profits) for anything the message does not say. \
Never invent, infer, compute or complete a value.
- Copy every number exactly as the message writes it: "60k" stays "60k", "60,000" stays \
"60,000", "0.0345" stays "0.0345". Never convert, round or rescale one.
- symbol: the pair the message names, written as one of the account's markets below when it is \
one of them, otherwise as written; null when it names none.
- side: "long" or "short" only when the message says so (a word such as long, buy, short, sell, \
or a direction emoji); otherwise null.
- entry_kind: "market" for an entry at the current price (entries then empty), "zone" for a \
range between two prices (entries: its two ends), "limit" for one or more entry prices; null \
when the message gives no entry.
- stop_loss: the stop-loss price, or null. take_profits: each target price in the order \
written, with fraction the percentage of the position to close there exactly as written \
("50%"), or null. leverage: as written ("10x"), or null.
- action: "signal" for a new trade; "cancel" when the message withdraws an earlier signal not \
yet entered; "close" when it says to leave a position; "none" for anything else (chatter, news, \
results, a message with several signals).
- confidence: from 0 to 1, how sure you are that your answer is what the message says.

The account's markets: {markets}."""


class InvalidAnswer(ValueError):
    """The model's answer is no reading: why, without the answer itself."""


class LlmSignalReader:
    """A ``SignalReader`` over an OpenAI-compatible chat completions API (the official ``openai``
    client). Each ``read`` makes its own client, so a reader serves any event loop. ``log`` takes
    its warnings (a structlog logger; the command line's writes to stderr, leaving stdout to the
    answer)."""

    def __init__(
        self,
        *,
        url: str,
        model: str,
        api_key: SecretStr | None,
        min_confidence: Decimal,
        timeout_seconds: float,
        max_retries: int,
        log: Any = None,
    ) -> None:
        self.url = url
        self.model = model
        self._api_key = api_key
        self.min_confidence = min_confidence
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        self._log = log if log is not None else structlog.get_logger("tbot.signals")

    @classmethod
    def from_settings(cls, settings: SignalSettings, log: Any = None) -> LlmSignalReader | None:
        """The reader the settings configure, or None when TBOT_SIGNALS_LLM_URL is not set."""
        if settings.llm_url is None:
            return None
        return cls(
            url=settings.llm_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            min_confidence=settings.llm_min_confidence,
            timeout_seconds=settings.llm_timeout_seconds,
            max_retries=settings.llm_max_retries,
            log=log,
        )

    def __repr__(self) -> str:
        return f"LlmSignalReader(url={self.url!r}, model={self.model!r})"

    async def read(self, text: str, markets: Collection[Symbol]) -> SignalResult:
        """``text`` read by the model, then judged against ``markets``; never raises."""
        try:
            completion = await self._ask(text, markets)
        except openai.APIResponseValidationError:
            return self._refused(RejectionReason.PARSER_INVALID_ANSWER, "the answer is no chat completion")
        except Exception as error:  # whatever the transport raises is the reader being unavailable
            status = getattr(error, "status_code", None)
            return self._refused(RejectionReason.PARSER_UNAVAILABLE, type(error).__name__, status=status)
        try:
            candidate = candidate_of(answer_text(completion))
        except Exception as error:  # an answer of any other shape is no reading
            return self._refused(RejectionReason.PARSER_INVALID_ANSWER, _problem(error))
        return judge(candidate, markets, self.min_confidence)

    async def _ask(self, text: str, markets: Collection[Symbol]) -> ChatCompletion:
        key = self._api_key.get_secret_value() if self._api_key is not None else NO_KEY
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": system_prompt(markets)},
            {"role": "user", "content": text},
        ]
        async with openai.AsyncOpenAI(
            base_url=self.url, api_key=key, timeout=self.timeout_seconds, max_retries=self.max_retries
        ) as client:
            return await client.chat.completions.create(
                model=self.model,
                messages=messages,
                response_format=cast(ResponseFormatJSONSchema, RESPONSE_FORMAT),
            )

    def _refused(self, reason: RejectionReason, problem: str, **details: object) -> SignalRejection:
        self._log.warning(
            "llm signal reader", reason=reason.value, problem=problem, model=self.model, **details
        )
        return SignalRejection.of([reason])


def system_prompt(markets: Collection[Symbol]) -> str:
    return PROMPT.format(markets=", ".join(sorted(str(symbol) for symbol in markets)) or "(none)")


def answer_text(completion: Any) -> str:
    """The text of the first choice; a refusal, an answer cut short or an empty one is none."""
    if not completion.choices:
        raise InvalidAnswer("no choice")
    choice = completion.choices[0]
    message = choice.message
    if getattr(message, "refusal", None):
        raise InvalidAnswer("the model refused")
    if choice.finish_reason not in ("stop", None):
        raise InvalidAnswer(f"the answer ended by {choice.finish_reason!r}")
    if not isinstance(message.content, str):
        raise InvalidAnswer("no content")
    content: str = message.content
    return content


def candidate_of(text: str) -> SignalCandidate:
    """The JSON ``text`` as a candidate, once it fits ``SIGNAL_SCHEMA`` (numbers read as
    Decimals, never as floats); InvalidAnswer otherwise."""
    try:
        document = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError:
        raise InvalidAnswer("not JSON") from None
    check(document, SIGNAL_SCHEMA, "answer")
    return SignalCandidate(
        action=document["action"],
        confidence=Decimal(document["confidence"]),
        symbol=document["symbol"],
        side=document["side"],
        entry_kind=document["entry_kind"],
        entries=tuple(document["entries"]),
        stop_loss=document["stop_loss"],
        take_profits=tuple(CandidateTarget(t["price"], t["fraction"]) for t in document["take_profits"]),
        leverage=document["leverage"],
    )


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, Decimal),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def check(value: object, schema: Mapping[str, Any], where: str) -> None:
    """``value`` against the parts of JSON Schema that ``SIGNAL_SCHEMA`` uses (type, enum,
    pattern, minimum, maximum, properties, required, additionalProperties, items): InvalidAnswer
    naming the first place that does not fit. A server that does not enforce the schema is caught
    here."""
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    if isinstance(value, bool) and "boolean" not in types:
        raise InvalidAnswer(f"{where}: a boolean")
    if not any(isinstance(value, _TYPES[kind]) for kind in types):
        raise InvalidAnswer(f"{where}: not {' or '.join(types)}")
    if "enum" in schema and value not in schema["enum"]:
        raise InvalidAnswer(f"{where}: none of {schema['enum']}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        raise InvalidAnswer(f"{where}: does not match {schema['pattern']}")
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise InvalidAnswer(f"{where}: below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise InvalidAnswer(f"{where}: above {schema['maximum']}")
    if isinstance(value, list):
        for index, item in enumerate(value):
            check(item, schema["items"], f"{where}[{index}]")
    if isinstance(value, dict):
        properties: Mapping[str, Any] = schema["properties"]
        missing = [name for name in schema["required"] if name not in value]
        extra = [name for name in value if name not in properties]
        if missing or extra:
            raise InvalidAnswer(f"{where}: missing {missing}, unknown {extra}")
        for name, item in value.items():
            check(item, properties[name], f"{where}.{name}")


def _problem(error: Exception) -> str:
    """What was wrong with an answer, for the log: InvalidAnswer's own words, or the kind of
    error (a candidate's shape is checked by ``SignalCandidate``)."""
    return str(error) if isinstance(error, InvalidAnswer | ValueError) else type(error).__name__
