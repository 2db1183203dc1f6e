"""Kept only for interfaces/market_data.py, which imports ``CandleStore`` from here; the candles
table and its store are infrastructure/candles.py."""

from infrastructure.candles import CandleStore

__all__ = ["CandleStore"]
