"""Adapters and wiring: settings, the event store, clocks, market rules, the DI container."""
