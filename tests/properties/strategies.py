"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

# Quantities on a 0.001 step and prices on a 0.5 tick keep the numbers exchange-like.
quantities = st.integers(min_value=1, max_value=5_000).map(lambda n: Decimal(n) / 1000)
prices = st.integers(min_value=20_000, max_value=200_000).map(lambda n: Decimal(n) / 2)
fees = st.integers(min_value=0, max_value=1_000).map(lambda n: Decimal(n) / 100)
