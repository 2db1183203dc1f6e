"""The strategy runtime: calls each running bot's strategy once per closed candle of its
timeframe and carries out what it decides through the command bus (``runtime.StrategyRuntime``).
The worker that runs it is ``interfaces/workers/strategies.py``."""

from application.strategy_runtime.runtime import STRATEGY_ACTOR, StrategyRuntime

__all__ = ["STRATEGY_ACTOR", "StrategyRuntime"]
