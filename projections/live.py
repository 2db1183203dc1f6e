"""Kept only for interfaces/cli_http.py, which imports the live model's name from here; the model
is projections/models/live.py."""

from projections.models.live import NAME

__all__ = ["NAME"]
