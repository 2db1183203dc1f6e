"""A CSV file of one-minute candles from a seeded random walk (BTC-like prices), for the command
line's tests and benchmarks."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2025, 1, 1, tzinfo=UTC)


def write_walk(path: Path, minutes: int, seed: int = 11, price: float = 50_000.0) -> Path:
    """``minutes`` candles from ``START``, each close three log-normal steps from its open."""
    rng = random.Random(seed)
    lines = ["time,open,high,low,close,volume"]
    for minute in range(minutes):
        opened = price
        ticks = [price * math.exp(rng.gauss(0, 0.0008)) for _ in range(3)]
        price = ticks[-1]
        high, low = max(opened, *ticks), min(opened, *ticks)
        moment = (START + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")
        lines.append(f"{moment},{opened:.2f},{high:.2f},{low:.2f},{price:.2f},1.5")
    path.write_text("\n".join(lines) + "\n")
    return path
