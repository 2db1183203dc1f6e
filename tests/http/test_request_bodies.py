"""How the API reads a JSON body (no server needed): Python's json takes NaN, Infinity, numbers
that overflow to infinity and lone surrogates; every one is refused naming its place, and any
other JSON value is read as itself."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import given
from hypothesis import strategies as st

from interfaces.http.bodies import parse_json_body

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


def _refusal(raw: bytes) -> list[dict[str, Any]]:
    with pytest.raises(RequestValidationError) as refused:
        parse_json_body(raw)
    return list(refused.value.errors())


@given(JSON_VALUES)
def test_every_json_value_is_read_as_itself(value: Any) -> None:
    assert parse_json_body(json.dumps(value).encode()) == value


@given(JSON_VALUES, st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1E999"]), st.data())
def test_a_non_finite_number_anywhere_is_refused_at_its_place(value: Any, literal: str, data: Any) -> None:
    body, where = _plant(value, literal, data)
    [problem] = _refusal(body.encode())
    assert problem["loc"] == ("body", *where) and problem["type"] == "finite_number"


@given(JSON_VALUES, st.sampled_from(['"\\ud800"', '"a\\udfffb"', '"\\udc00\\ud800"']), st.data())
def test_a_lone_surrogate_in_any_text_is_refused_at_its_place(value: Any, literal: str, data: Any) -> None:
    body, where = _plant(value, literal, data)
    [problem] = _refusal(body.encode())
    assert problem["loc"] == ("body", *where) and problem["type"] == "unicode"


def test_a_lone_surrogate_in_a_key_is_refused_naming_the_object() -> None:
    [problem] = _refusal(b'{"params": {"\\ud800": 1}}')
    assert problem["loc"] == ("body", "params") and "keys" in problem["msg"]


def test_a_paired_surrogate_escape_is_text_like_any_other() -> None:
    assert parse_json_body(b'{"v": "\\ud83d\\ude00"}') == {"v": "\U0001f600"}


@pytest.mark.parametrize(
    "raw", [b"\xff\xfe{}", b'{"a": ', b"{'a': 1}", b"[" * 100_000 + b"]" * 100_000, b"\xef\xbb\xbf{}"]
)
def test_a_body_that_is_not_json_in_utf_8_is_refused_naming_the_body(raw: bytes) -> None:
    [problem] = _refusal(raw)
    assert problem["loc"] == ("body",) and problem["type"] == "json_invalid"


def _plant(value: Any, literal: str, data: Any) -> tuple[str, list[str | int]]:
    """``value`` as JSON text with ``literal`` in place of one of its leaves (or of the whole), and
    the path to it."""
    marker = "\x00planted\x00"
    where: list[str | int] = []
    node = value
    parent: Any = None
    while isinstance(node, dict | list) and node and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        where.append(key)
        parent, node = node, node[key]
    if parent is None:
        return literal, []
    parent[where[-1]] = marker
    return json.dumps(value).replace(json.dumps(marker), literal), where
