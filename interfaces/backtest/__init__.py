"""Backtests from the command line (`tbot backtest run`) and for the API's backtest worker:
the live code wired on a simulated clock, an in-memory (or file) event store and the paper
exchange (``world``), its report (``report``) and its pictures (``charts``)."""
