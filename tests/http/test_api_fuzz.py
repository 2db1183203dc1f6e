"""Requests generated from our own OpenAPI document by schemathesis's test runner, against a real
server process on PostgreSQL and Redis: its examples, its coverage of each operation's boundaries
(missing and wrong parameters, methods no operation declares) and property-based fuzzing, with
the checks that hold the document to what the server does. No response may be a 5xx; every status
code, content type, header and body must be one the document declares for the operation; data the
document rules out must be refused; a 405 must say in ``Allow`` which methods the path has.
Deliberately not checked: that every request the document allows is accepted, since some rules are
stated in words (a decimal's range, a symbol's form) that a JSON Schema cannot carry."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.settings import Settings
from tests.support.api import Api, api_on

pytestmark = pytest.mark.postgres
EXAMPLES_PER_OPERATION = 60
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
)
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))


@pytest.fixture(scope="module")
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    settings_: Settings = request.getfixturevalue("module_postgres_redis_settings")
    with api_on(settings_, {"alice": "trader"}, TBOT_RATE_LIMIT_PER_SECOND="1000000") as running:
        yield running


def test_the_server_does_what_its_openapi_document_says(api: Api, tmp_path: Path) -> None:
    bot_id = api.create_bot("alice")
    config = tmp_path / "schemathesis.toml"
    # One real bot for the operations on a bot, so generated commands reach the handlers and the
    # risk rules instead of stopping at 404.
    config.write_text(f'[parameters]\n"path.bot_id" = "{bot_id}"\n')
    run = subprocess.run(
        [
            SCHEMATHESIS,
            "--config-file",
            str(config),
            "--no-color",
            "run",
            f"{api.base_url}/openapi.json",
            "--header",
            f"X-API-Key: {api.keys['alice']}",
            "--phases",
            "examples,coverage,fuzzing",
            "--checks",
            ",".join(CHECKS),
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--workers",
            "1",
            "--suppress-health-check",
            "all",
            "--request-timeout",
            "30",
        ],
        cwd=tmp_path,  # where it keeps its hypothesis database and crash files
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    generated = re.search(r"(\d+) generated, (\d+) passed", report)
    assert generated is not None, report
    assert int(generated.group(1)) >= 1000 and generated.group(1) == generated.group(2), report
    operations = re.search(r"Tested: (\d+)", report)
    assert operations is not None and int(operations.group(1)) >= 20, report
