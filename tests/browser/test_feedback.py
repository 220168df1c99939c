"""Feedback that never lies: a tile that fails keeps its prompt and gives the focus back, a balance
changed elsewhere shows at once, a mistyped address gets a page (not JSON), and two fingers zoom
the canvas around the point between them."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import MOCK_DELAY_MS
from tests.browser.test_admin_dashboard import _create_admin, _sign_up
from tests.browser.ui import axe_clean, create_room, in_view, paint, person, refused, sign_up, tiles_shown, uncovered
from tests.fakes.openai_api import API_KEY, FakeOpenAI
from tests.servers import Served


@pytest.fixture
async def failing_served(database_url, tmp_path) -> Served:
    """A server whose generator fails every tile (MOCK_FAIL_RATE=1), after its first preview."""
    async with Served(
        tmp_path / "data", DATABASE_URL=database_url, MOCK_DELAY_MS=MOCK_DELAY_MS, MOCK_FAIL_RATE=1
    ) as server:
        yield server


async def _view(page: Page) -> tuple[float, float, float]:
    """The canvas's pan and zoom, as the board applies them: (x, y, zoom)."""
    transform = await page.locator(".board-layer").evaluate("layer => layer.style.transform")
    x, y, zoom = map(float, re.findall(r"-?[\d.]+(?:e-?\d+)?", transform))
    return x, y, zoom


async def _pinch(page: Page, centre: tuple[float, float], start: float, end: float) -> None:
    """Two fingers on the glass, `start` px apart around `centre`, spread to `end` px apart."""
    cdp = await page.context.new_cdp_session(page)
    steps = 6
    for n in range(steps + 1):
        half = (start + (end - start) * n / steps) / 2
        points = [{"x": centre[0] - half, "y": centre[1], "id": 0}, {"x": centre[0] + half, "y": centre[1], "id": 1}]
        kind = "touchStart" if n == 0 else "touchMove"
        await cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    await cdp.detach()


async def test_a_failed_tile_keeps_its_prompt_and_a_grant_shows_at_once(browser, failing_served, database_url, shots):
    served = failing_served
    ada = await person(browser, served, shots, "Ada", width=375, height=812, touch=True)
    page = ada.page
    try:
        await page.goto("/")
        email = await sign_up(ada)
        await create_room(ada, "Broken brushes")
        await page.click("#start-game")
        prompt = page.locator("#prompt")
        paint_it = page.locator(".composer button[type=submit]")
        await expect(prompt).to_be_focused()
        # Her turn docks at the bottom of the phone, the canvas above it; the toast of the start
        # covers none of her controls, nor any of the canvas's.
        await in_view(page, prompt, paint_it)
        await uncovered(page, "#prompt", ".composer button", ".direction", ".board-controls button")

        # The generator fails: she is told why and refunded; her words are still in the box, the
        # focus with them, and the toast that says so covers none of her controls.
        await paint(ada, "a lighthouse in a storm")
        message = page.locator(".turn-message")
        await expect(message).to_contain_text("the image service had an error")
        await expect(message).to_contain_text("credit was refunded")
        await expect(prompt).to_have_value("a lighthouse in a storm")
        await expect(prompt).to_be_focused()
        await expect(page.locator("#account-credits")).to_have_text("20")
        await in_view(page, prompt, paint_it)
        await ada.shot("failed-tile")
        await axe_clean(ada, "a failed tile, on a phone")

        # Two fingers spread on the canvas: it doubles in size around the point between them.
        box = await page.locator(".board-viewport").bounding_box()
        centre = (box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.35)
        x, y, zoom = await _view(page)
        local = (centre[0] - box["x"], centre[1] - box["y"])
        under = ((local[0] - x) / zoom, (local[1] - y) / zoom)  # the canvas point under the fingers
        await _pinch(page, centre, 60, 120)
        x, y, zoomed = await _view(page)
        assert zoomed == pytest.approx(zoom * 2, rel=0.02)
        assert ((local[0] - x) / zoomed, (local[1] - y) / zoomed) == pytest.approx(under, abs=2)

        # An operator grants her credits: her header says so at once, without a reload.
        async with httpx.AsyncClient(base_url=served.url, headers={"Origin": served.url}) as boss:
            await _sign_up(boss, "boss@example.com", "Boss")
            await _create_admin("boss@example.com", database_url)
            await boss.post("/api/auth/login", json={"email": "boss@example.com", "password": "correct horse battery"})
            granted = await boss.post(f"/api/admin/users/{email}/credits", json={"delta": 5, "reason": "a gift"})
            assert granted.status_code == 200, granted.text
        await expect(page.locator("#account-credits")).to_have_text("25")
        assert any('"account"' in frame for frame in ada.frames)

        # A mistyped address: a page that says so and leads back, not the API's JSON.
        answer = await page.goto("/rooms-of-mine")
        assert answer is not None and answer.status == 404
        assert answer.headers["content-type"].startswith("text/html")
        await expect(page.locator("h1")).to_have_text("Nothing here")
        await expect(page.locator("main")).to_contain_text("/rooms-of-mine")
        await expect(page.get_by_role("link", name="Go to EXQUISITE")).to_have_attribute("href", "/")
        await axe_clean(ada, "the page for a mistyped address")
        ada.assert_clean(refused(404, "/rooms-of-mine"))
    finally:
        await ada.context.close()


async def test_the_openai_generator_streams_real_previews_before_the_tile_lands(browser, database_url, tmp_path, shots):
    """GENERATOR=openai against the fake API on a real port: its partial images reach the page as
    progress frames with a JPEG preview, before the step commits."""
    async with (
        FakeOpenAI() as fake,
        Served(
            tmp_path / "data",
            DATABASE_URL=database_url,
            GENERATOR="openai",
            OPENAI_API_KEY=API_KEY,
            OPENAI_BASE_URL=fake.base_url,
            OPENAI_PARTIAL_IMAGES=2,
        ) as served,
    ):
        ada = await person(browser, served, shots, "Ada")
        try:
            await ada.page.goto("/")
            await sign_up(ada)
            await create_room(ada, "Streamed")
            await ada.page.click("#start-game")
            await paint(ada, "a lighthouse in a storm")
            await tiles_shown(ada, 1)
            frames = [json.loads(frame) for frame in ada.frames]
            committed = next(n for n, f in enumerate(frames) if f["type"] == "event" and f["kind"] == "step.committed")
            # A partial image (fraction below 1), not only the finished one, showed before the commit.
            progress = [f for f in frames[:committed] if f["type"] == "progress" and f["preview"]]
            previews = [f["preview"] for f in progress if f["fraction"] < 1]
            assert previews and previews[0].startswith("data:image/jpeg;base64,")
            assert len(previews[0]) < 40_000  # ~30 KB of JPEG at most, in base64
            assert fake.edits[0].fields["partial_images"] == "2"
            ada.assert_clean()
        finally:
            await ada.context.close()
