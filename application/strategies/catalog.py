"""The catalog of strategies a bot may use: every entry point in the ``tbot.strategies`` group
(importlib.metadata), tbot's built-ins among them (pyproject.toml), so a strategy installed with
pip is found like a built-in. An entry point names a Strategy subclass (``module:Class``) under
the strategy's name. One that fails to load (an import error, not a strategy, a name that differs
from the entry point's or is taken already) is logged and left out; the others stay usable. When
two distributions register one name, tbot's own wins, otherwise the first in the distributions'
order."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import structlog
from pydantic import BaseModel

from application.strategies.base import Strategy
from application.strategies.indicators import Flags, Series
from domain.errors import InvalidInput
from domain.market import Candle
from domain.strategy import BotView, Intent
from domain.values import Symbol

ENTRY_POINT_GROUP = "tbot.strategies"
OWN_DISTRIBUTION = "tbot"

log = structlog.get_logger("tbot.strategies")


@dataclass(frozen=True)
class StrategyDescription:
    """What users see of a strategy: its name, what it does, the timeframe it decides on with its
    default parameters (None when it has required ones), and its parameters' JSON schema."""

    name: str
    description: str
    timeframe: str | None
    params_schema: dict[str, Any]

    def plain(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "timeframe": self.timeframe,
            "params_schema": self.params_schema,
        }


@dataclass(frozen=True)
class LoadFailure:
    """An entry point left out of the catalog, and why."""

    name: str
    target: str
    distribution: str | None
    reason: str


class StrategyCatalog:
    """The strategies by name; implements ``application.ports.StrategyRules``."""

    def __init__(
        self, strategies: Iterable[Strategy[Any]] = (), failures: Iterable[LoadFailure] = ()
    ) -> None:
        self._strategies: dict[str, Strategy[Any]] = {}
        for strategy in strategies:
            if strategy.name in self._strategies:
                raise ValueError(f"two strategies are named {strategy.name!r}")
            self._strategies[strategy.name] = strategy
        self.failures = list(failures)

    @classmethod
    def from_entry_points(cls, group: str = ENTRY_POINT_GROUP) -> StrategyCatalog:
        """Every strategy registered in ``group`` that loads."""
        strategies: dict[str, Strategy[Any]] = {}
        failures: list[LoadFailure] = []
        for point in sorted(entry_points(group=group), key=_precedence):
            distribution = _distribution(point)
            try:
                strategy = _strategy(point)
                if strategy.name in strategies:
                    raise ValueError(f"the name {strategy.name!r} is taken by an earlier strategy")
            except Exception as error:  # a broken plug-in must not take the others down
                reason = f"{type(error).__name__}: {error}"
                log.warning(
                    "strategy left out",
                    strategy=point.name,
                    target=point.value,
                    distribution=distribution,
                    reason=reason,
                )
                failures.append(LoadFailure(point.name, point.value, distribution, reason))
                continue
            strategies[strategy.name] = strategy
        return cls(strategies.values(), failures)

    def names(self) -> list[str]:
        return sorted(self._strategies)

    def get(self, name: str) -> Strategy[Any]:
        """The strategy named ``name``; InvalidInput("strategy", ...) naming the known ones."""
        strategy = self._strategies.get(name)
        if strategy is None:
            raise InvalidInput("strategy", f"must be one of {', '.join(self.names()) or '(none installed)'}")
        return strategy

    def validate(self, strategy: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` as ``strategy`` takes them, as plain JSON with its defaults filled in, or
        InvalidInput naming ``strategy`` or ``params.<field>`` and the rule."""
        found = self.get(strategy)
        if not isinstance(params, Mapping):
            raise InvalidInput("params", "must be a JSON object")
        return found.plain(found.parse(params))

    def bind(self, strategy: str, params: Mapping[str, Any], allowed: Sequence[Symbol]) -> Bound | None:
        """The strategy with a bot's params and symbols, as the runtime calls it; None for one that
        never trades. InvalidInput for an unknown strategy or params it does not take."""
        found = self.get(strategy)
        if not found.trades:
            return None
        return Bound(found, found.parse(params), list(allowed))

    def describe(self) -> list[StrategyDescription]:
        """Every strategy, by name."""
        described = []
        for name in self.names():
            strategy = self._strategies[name]
            defaults = strategy.default_params()
            described.append(
                StrategyDescription(
                    name,
                    strategy.description,
                    strategy.timeframe(defaults).name if defaults is not None else None,
                    strategy.Params.model_json_schema(),
                )
            )
        return described


class Bound:
    """A strategy bound to one bot's parameters (the runtime's ``Decider``)."""

    def __init__(self, strategy: Strategy[Any], params: Any, allowed: list[Symbol]) -> None:
        self.strategy = strategy
        self.params = params
        self.timeframe = strategy.timeframe(params)
        self.symbols = strategy.symbols(params, allowed)
        self.warmup = strategy.warmup(params)

    def decide(self, candles: Mapping[Symbol, Sequence[Candle]], view: BotView) -> list[Intent]:
        return self.strategy.decide(self.params, candles, view)

    def screen(self, closes: Mapping[Symbol, Series]) -> Flags | None:
        return self.strategy.screen(self.params, closes)


def _distribution(point: EntryPoint) -> str | None:
    dist = point.dist
    return None if dist is None else str(dist.metadata["Name"])


def _precedence(point: EntryPoint) -> tuple[bool, str]:
    """tbot's own entry points first (they win a name registered twice), the rest in order."""
    return ((_distribution(point) or "").lower() != OWN_DISTRIBUTION, point.name)


def _strategy(point: EntryPoint) -> Strategy[Any]:
    """The strategy an entry point names: a concrete Strategy subclass with a name, a description
    and a parameters model, registered under its own name."""
    loaded = point.load()
    if not (inspect.isclass(loaded) and issubclass(loaded, Strategy)):
        raise TypeError(f"{point.value} is not a Strategy subclass")
    if inspect.isabstract(loaded):
        raise TypeError(
            f"{point.value} leaves abstract methods: {', '.join(sorted(loaded.__abstractmethods__))}"
        )
    for attribute in ("name", "description", "Params"):
        if not hasattr(loaded, attribute):
            raise TypeError(f"{point.value} has no {attribute}")
    if not (inspect.isclass(loaded.Params) and issubclass(loaded.Params, BaseModel)):
        raise TypeError(f"{point.value}.Params is not a pydantic model")
    if loaded.name != point.name:
        raise ValueError(f"{point.value} is named {loaded.name!r}, registered as {point.name!r}")
    strategy: Strategy[Any] = loaded()
    return strategy


@cache
def default_catalog() -> StrategyCatalog:
    """The catalog of the strategies installed in this process's environment, loaded once."""
    return StrategyCatalog.from_entry_points()
