"""What a strategy is: a plain class with a pydantic parameters model and four pure methods.

A strategy does no I/O, reads no clock and draws no random numbers of its own. The runtime
(application/strategy_runtime) calls it on every closed candle of its timeframe with its validated
parameters, the last closed candles of each symbol it trades (oldest first, at least ``warmup``
of them) and its bot's view (positions, open orders, marks), and carries out the intents it
returns: it derives their client order ids from the candle and the intent's place in the list,
rounds quantities down to the market's step (so a strategy need not know market specs: it may
compute a quantity off the step, and one that rounds to nothing is dropped), and puts every order
through the bot's risk rules like an order placed by hand. docs/strategies.md says more.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError, WithJsonSchema
from pydantic_core import PydanticCustomError

from application.strategies.indicators import Flags, Series
from domain.errors import InvalidInput
from domain.market import Candle
from domain.strategy import TIMEFRAMES, BotView, Intent, OrderView, Timeframe
from domain.values import DECIMAL_PATTERN, MAX_DECIMAL_TEXT, Symbol, decimal_field

ONE_MINUTE = Timeframe.parse("1m")


class StrategyParams(BaseModel):
    """The base of every strategy's parameters: unknown fields are refused, and a validated
    instance is frozen. Money and quantities are ``Decimal`` fields read from decimal strings (or
    JSON integers), never floats: use the types below."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(StrategyParams):
    """The parameters of a strategy that takes none."""


P = TypeVar("P", bound=StrategyParams)


def param_error(field: str, rule: str) -> PydanticCustomError:
    """A refusal raised by a validator that checks several parameters together (a model
    validator), reported on ``params.<field>``."""
    return PydanticCustomError("param", "{rule}", {"rule": rule, "field": field})


def _decimal_text(value: Any) -> Decimal:
    try:
        return decimal_field(value, "value")
    except InvalidInput as refused:
        raise PydanticCustomError("decimal_text", "{rule}", {"rule": refused.rule}) from None


def within(rule: str, holds: Callable[[Decimal], bool]) -> AfterValidator:
    """A decimal parameter's range, refused with ``rule`` (after ``DECIMAL_TEXT``)."""

    def check(value: Decimal) -> Decimal:
        if not holds(value):
            raise PydanticCustomError("decimal_range", "{rule}", {"rule": rule})
        return value

    return AfterValidator(check)


def decimal_schema(rule: str) -> WithJsonSchema:
    """A decimal as the JSON schema shows it: text in the strict number grammar, or an integer;
    never a JSON fraction such as 0.5, which a float would carry."""
    text = {"type": "string", "pattern": DECIMAL_PATTERN, "maxLength": MAX_DECIMAL_TEXT}
    return WithJsonSchema({"anyOf": [text, {"type": "integer"}], "description": rule})


DECIMAL_TEXT = BeforeValidator(_decimal_text)
"""Reads a decimal parameter: a Decimal, an integer or text in the strict number grammar
(``domain.values.decimal_field``); floats are refused."""

_AMOUNT = "a decimal string (or integer) greater than 0"
_FRACTION = "a decimal fraction greater than 0 and at most 1 (0.05 is 5%)"
_SHARE = "a decimal fraction from 0 to 1 (0.05 is 5%)"

Amount = Annotated[
    Decimal,
    DECIMAL_TEXT,
    within("must be greater than 0", lambda value: value > 0),
    decimal_schema(_AMOUNT),
]
"""A quantity, price or amount of money: more than 0."""
Fraction = Annotated[
    Decimal,
    DECIMAL_TEXT,
    within("must be greater than 0 and at most 1", lambda value: 0 < value <= 1),
    decimal_schema(_FRACTION),
]
"""A share of something: more than 0, at most 1 (0.05 is 5%)."""
Share = Annotated[
    Decimal,
    DECIMAL_TEXT,
    within("must be from 0 to 1", lambda value: 0 <= value <= 1),
    decimal_schema(_SHARE),
]
"""A share that may be nothing: from 0 to 1."""


def _timeframe_name(value: str) -> str:
    if value not in TIMEFRAMES:
        raise PydanticCustomError("timeframe", "{rule}", {"rule": f"must be one of {', '.join(TIMEFRAMES)}"})
    return value


TimeframeName = Annotated[
    str,
    AfterValidator(_timeframe_name),
    WithJsonSchema({"type": "string", "enum": list(TIMEFRAMES), "description": "the candles it decides on"}),
]


def _symbol_text(value: str) -> str:
    try:
        return str(Symbol.parse(value))
    except InvalidInput as refused:
        raise PydanticCustomError("symbol", "{rule}", {"rule": refused.rule}) from None


SymbolName = Annotated[str, AfterValidator(_symbol_text)]
"""A symbol written BASE/QUOTE in upper case."""


class Strategy(ABC, Generic[P]):
    """A strategy: ``name`` (what a bot's ``strategy`` says), ``description`` (one line for
    people), ``Params`` (its parameters model, a StrategyParams), and the methods below, each a
    pure function of its arguments. One instance serves every bot that uses the strategy, so it
    keeps no state between calls: what it needs to remember it reads back from the bot's view
    (its position, its resting orders)."""

    name: ClassVar[str]
    description: ClassVar[str]
    Params: type[P]
    trades: ClassVar[bool] = True
    """False for a strategy that never decides anything (``manual``): the runtime leaves its bots
    alone."""

    def parse(self, params: Mapping[str, Any]) -> P:
        """The parameters, validated; InvalidInput naming ``params.<field>`` and the rule."""
        try:
            return self.Params.model_validate(dict(params))
        except ValidationError as refused:
            raise invalid_params(self, refused) from None

    def plain(self, params: P) -> dict[str, Any]:
        """The parameters as plain JSON (decimals as text, defaults included)."""
        return params.model_dump(mode="json")

    def default_params(self) -> P | None:
        """The parameters when none are given, or None when some are required."""
        try:
            return self.Params.model_validate({})
        except ValidationError:
            return None

    def timeframe(self, params: P) -> Timeframe:
        """The candles it decides on (one decision per closed candle of this timeframe)."""
        return ONE_MINUTE

    def symbols(self, params: P, allowed: list[Symbol]) -> list[Symbol]:
        """Which of its bot's allowed symbols it trades (their candles are what it is given)."""
        return list(allowed)

    def warmup(self, params: P) -> int:
        """How many closed candles of its timeframe it needs to decide; the runtime serves at
        least that many of each symbol (fewer only while the market has no more history, when
        a strategy decides nothing)."""
        return 1

    def screen(self, params: P, closes: Mapping[Symbol, Series]) -> Flags | None:
        """For a backtest over whole series (each symbol's closes, one per candle of the
        timeframe, aligned by index): the candles on whose close ``decide`` may return anything,
        computed at once over the series; ``decide`` is then called on those only, and skipped on
        the others, where it would return nothing whatever the bot held. None (the default): call
        ``decide`` on every candle. It must be a superset (a property test checks the built-ins'):
        it only saves calls, the decisions are ``decide``'s."""
        return None

    @abstractmethod
    def decide(self, params: P, candles: Mapping[Symbol, Sequence[Candle]], view: BotView) -> list[Intent]:
        """The intents for the candle that has just closed (the last one of each symbol's window;
        ``view.at`` is when it closed). Nothing of the future is in the arguments."""


def invalid_params(strategy: Strategy[Any], refused: ValidationError) -> InvalidInput:
    """The first problem pydantic found, as InvalidInput("params.<field>", <rule>)."""
    problem = refused.errors()[0]
    context = problem.get("ctx") or {}
    where = [*problem["loc"], *([context["field"]] if "field" in context else [])]
    field = "params"
    for part in where:
        if part != "[key]":  # pydantic's mark of a refused key: the key itself is named already
            field += f"[{part}]" if isinstance(part, int) else f".{part}"
    kind = problem["type"]
    if kind == "extra_forbidden":
        known = ", ".join(strategy.Params.model_fields) or "none"
        rule = f"is not a parameter of {strategy.name} (its parameters: {known})"
    elif kind == "missing":
        rule = "is required"
    else:
        rule = str(problem["msg"])
        if rule.startswith("Input should be "):
            rule = "must be " + rule.removeprefix("Input should be ")
        elif rule.startswith("Value error, "):
            rule = rule.removeprefix("Value error, ")
    return InvalidInput(field, rule)


def last_close(candles: Mapping[Symbol, Sequence[Candle]], symbol: Symbol) -> Decimal | None:
    """The close of the candle that has just closed, or None when there is none."""
    window = candles.get(symbol)
    return window[-1].close if window else None


STRATEGY_ORDER_PREFIX = "s-"
"""How the client order ids the runtime derives for intents begin
(``domain.strategy.strategy_client_order_id``); orders placed by hand through the API carry
whatever their caller chose."""


def placed_by_strategy(order: OrderView) -> bool:
    """Whether an open order was placed by the bot's strategy (rather than by hand)."""
    return order.client_order_id.startswith(STRATEGY_ORDER_PREFIX)
