"""Kept only for interfaces/execution.py, which imports ``Wakeup`` from here; the reader is
projections/engine/reader.py."""

from projections.engine.reader import Wakeup

__all__ = ["Wakeup"]
