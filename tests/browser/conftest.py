"""A real Chromium driving a real `exquisite serve`: one browser per session, one server per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from tests.servers import Served

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Long enough that the painting state and its progress previews are on screen for a moment.
MOCK_DELAY_MS = 450


@pytest.fixture(scope="session")
async def browser():
    if not CHROMIUM.exists():  # noqa: ASYNC240 once per session, before any page
        message = f"{CHROMIUM} is missing: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def served(database_url, tmp_path) -> Served:
    async with Served(tmp_path / "data", DATABASE_URL=database_url, MOCK_DELAY_MS=MOCK_DELAY_MS) as server:
        yield server


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where a test saves its screenshots (never committed)."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return folder
