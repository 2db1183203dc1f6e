"""The execution manager started on the paper exchange, on each store the tests run against."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infrastructure.settings import Settings
from tests.support.execution import Execution, execution_on


@pytest.fixture
def execution(any_settings: Settings) -> Iterator[Execution]:
    with execution_on(any_settings) as running:
        running.start()
        yield running
