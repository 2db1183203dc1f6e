"""Debian's Chromium driven by Playwright (never a downloaded browser), and where the browser
tests put their screenshots."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("TBOT_REQUIRE_SERVICES") == "1":
            pytest.fail("chromium is missing although `make test` installs it")
        pytest.skip("chromium is not installed: run the suite with `make test`")
    return found


def artifacts(name: str) -> Path:
    """The directory a browser test saves its screenshots in: TBOT_TEST_ARTIFACTS (default
    var/artifacts) / ``name``."""
    directory = Path(os.environ.get("TBOT_TEST_ARTIFACTS", "var/artifacts")) / name
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
