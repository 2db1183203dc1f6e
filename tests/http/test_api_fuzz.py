"""Property-based requests generated from our own OpenAPI document (schemathesis), against a
real server process on PostgreSQL and Redis: no response is a 5xx, and every response matches
the schema the document declares for it. 60 generated requests per operation, more than 1,000
in all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
import schemathesis

# Imported now, at collection, not lazily by `from_url` mid-suite, where pytest's rewrite of the
# module once failed with "AST constructor recursion depth mismatch": a CPython 3.11 fault in the
# AST constructor's recursion bookkeeping seen in threaded programs (python/cpython#106905).
import schemathesis.specs.openapi.schemas
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from infrastructure.settings import Settings
from tests.support.api import Api, api_on

pytestmark = pytest.mark.postgres
EXAMPLES_PER_OPERATION = 60


@pytest.fixture(scope="module")
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    settings_: Settings = request.getfixturevalue("module_postgres_redis_settings")
    with api_on(settings_, {"alice": "trader"}, TBOT_RATE_LIMIT_PER_SECOND="1000000") as running:
        running.create_bot("alice")
        yield running


def _fuzz(operation: Any, key: str, sent: dict[str, int]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
    def call(case: Any) -> None:
        sent[operation.label] = sent.get(operation.label, 0) + 1
        case.call_and_validate(
            headers={"X-API-Key": key},
            checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
        )

    call()


def test_no_server_error_and_every_response_matches_its_schema(api: Api) -> None:
    schema = schemathesis.openapi.from_url(f"{api.base_url}/openapi.json")
    operations = [cast(Any, result).ok() for result in schema.get_all_operations()]  # an Err fails here
    sent: dict[str, int] = {}
    for operation in operations:
        _fuzz(operation, api.keys["alice"], sent)
    assert len(sent) == len(operations) >= 15
    assert sum(sent.values()) >= 1000, sent
