"""Kept only for projections/locks.py, which imports ``mapped_schema`` from here; the schema
helpers are infrastructure/read_store/schemas.py."""

from infrastructure.read_store.schemas import mapped_schema

__all__ = ["mapped_schema"]
