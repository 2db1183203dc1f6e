"""Free-form values users send: a bot's strategy parameters and its texts.

What the command side accepts is recorded for good and projected into every read model (SQL
text and JSON columns, Redis, the live feed), so the rules here are the ones every store can
hold: JSON values only (objects with text keys, arrays, text, finite numbers, true, false,
null), integers within 64 bits, bounded depth and size, and text that is valid Unicode
(no lone surrogates) without NUL or other control characters.
"""

from __future__ import annotations

import json
import math
from typing import Any

from domain.errors import InvalidInput

MAX_PARAMS_DEPTH = 16
"""Containers nested in ``params``, the top-level object counting as depth 1."""
MAX_PARAMS_BYTES = 16_384
"""``params`` written as compact UTF-8 JSON."""
MAX_INTEGER = 2**63 - 1
"""Integers in ``params`` lie within a signed 64-bit range (what JSON stores and encoders hold)."""


NOT_UNICODE = "must be valid Unicode (no lone surrogates)"


def is_unicode(value: str) -> bool:
    """Whether the text holds no lone UTF-16 surrogate (JSON's ``"\\ud800"`` escapes make them),
    which no encoder or store can hold."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text_problem(value: str) -> str | None:
    """Why this text cannot be stored, or None: a NUL or control character, or a lone surrogate."""
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return "must not contain control characters"
    return None if is_unicode(value) else NOT_UNICODE


def check_text(value: object, field: str, max_length: int) -> str:
    """The text, stripped; refused when empty, too long or unstorable."""
    if not isinstance(value, str):
        raise InvalidInput(field, "must be text")
    problem = text_problem(value)
    if problem is not None:
        raise InvalidInput(field, problem)
    text = value.strip()
    if not text:
        raise InvalidInput(field, "must not be empty")
    if len(text) > max_length:
        raise InvalidInput(field, f"must be at most {max_length} characters")
    return text


def check_params(params: object, field: str = "params") -> dict[str, Any]:
    """A copy of ``params`` when every value in it can be stored and projected, else InvalidInput
    naming the first offending place (``params.levels[2]``)."""
    if not isinstance(params, dict):
        raise InvalidInput(field, "must be a JSON object")
    checked = _check_value(params, field, 1)
    size = len(json.dumps(checked, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_PARAMS_BYTES:
        raise InvalidInput(field, f"must be at most {MAX_PARAMS_BYTES} bytes as JSON, not {size}")
    return checked  # type: ignore[no-any-return]


def _check_value(value: object, where: str, depth: int) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_INTEGER:
            raise InvalidInput(where, "must be an integer within 64 bits (send larger numbers as text)")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(where, "must be a finite number (not NaN or Infinity)")
        return value
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise InvalidInput(where, problem)
        return value
    if isinstance(value, dict | list):
        if depth > MAX_PARAMS_DEPTH:
            raise InvalidInput(where, f"must nest at most {MAX_PARAMS_DEPTH} levels deep")
        if isinstance(value, list):
            return [_check_value(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
        checked: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(where, "must have text keys")
            problem = text_problem(key)
            if problem is not None:
                raise InvalidInput(where, f"its keys {problem}")
            checked[key] = _check_value(item, f"{where}.{key}", depth + 1)
        return checked
    raise InvalidInput(where, f"must be a JSON value, not {type(value).__name__}")
