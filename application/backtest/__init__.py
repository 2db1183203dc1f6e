"""Backtests on the live code: the strategy runtime, the command handlers and risk rules, the Bot,
Order and Position aggregates, and the execution manager on the paper exchange, driven through
historical candles on a simulated clock (``engine.Backtest``)."""
