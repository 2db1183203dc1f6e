"""Kept only for interfaces/execution.py, which imports ``Wakeup`` from here; the port is
projections/ports.py, its adapters infrastructure/read_store/wakeup.py."""

from projections.ports import Wakeup

__all__ = ["Wakeup"]
