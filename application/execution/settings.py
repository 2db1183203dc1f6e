"""How the execution manager paces itself."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExecutionSettings:
    batch_size: int = 200  # events read per step
    concurrency: int = 32  # orders worked on at once
    settle_seconds: float = 10.0  # after this a submission can no longer reach the exchange
    retry_seconds: float = 1.0  # when an order whose outcome is unknown is looked up again
    stream_grace_seconds: float = 3.0  # how long a stream is up before polling slows down
    stream_sweep_seconds: float = 30.0  # the polling pace for an account whose stream is up
