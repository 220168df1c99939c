"""The shared reveal: the host presents a finished room's timelapse and every open page of the room,
players' and a spectator's, follows the host's frame; anyone may leave and follow again."""

from __future__ import annotations

import asyncio
import time

from playwright.async_api import expect

from tests.browser.ui import PASSWORD, Person, axe_clean, live, paint, person, tiles_shown

# The bound: every page shows the host's frame within a second of the host's step.
WITHIN_MS = 1000


async def _call(someone: Person, served, method: str, path: str, body: dict | None = None) -> dict:
    """The HTTP API with this person's cookies, as their page would call it."""
    response = await someone.context.request.fetch(
        path, method=method, data=body, headers={"Origin": served.url, "Content-Type": "application/json"}
    )
    assert response.ok, await response.text()
    return await response.json()


async def _sign_up(someone: Person, served) -> None:
    body = {"email": f"{someone.name.lower()}@example.com", "password": PASSWORD, "display_name": someone.name}
    await _call(someone, served, "POST", "/api/auth/signup", body)


async def _everyone_on(people: list[Person], frame: int, banner: str | None = None) -> float:
    """Waits until each page shows `frame` tiles; returns how long that took, in ms."""
    began = time.monotonic()
    checks = [expect(someone.page.locator(".board img.tile")).to_have_count(frame) for someone in people]
    if banner is not None:
        checks += [expect(p.page.locator(".presenting-banner")).to_contain_text(banner) for p in people[1:]]
    await asyncio.gather(*checks)
    return (time.monotonic() - began) * 1000


async def test_every_page_follows_the_hosts_frame_and_anyone_may_leave_and_follow_again(browser, served, shots):
    ada, bo, cy = [await person(browser, served, shots, name) for name in ("Ada", "Bo", "Cy")]
    try:
        for someone in (ada, bo, cy):
            await _sign_up(someone, served)
        fields = {"name": "Harbour", "mode": "open", "tile_size": 256, "max_steps": 2}
        room = (await _call(ada, served, "POST", "/api/rooms", fields))["room"]
        await _call(bo, served, "POST", f"/api/rooms/{room['id']}/join", {"invite_code": room["invite_code"]})
        await _call(ada, served, "POST", f"/api/rooms/{room['id']}/start")
        for someone in (ada, bo):
            await someone.page.goto(f"/rooms/{room['id']}")
        await paint(ada, "a quiet harbour")
        await tiles_shown(bo, 1)  # the turn passes when the tile lands, however long that takes
        await paint(bo, "a lighthouse at dusk", "down")  # the second tile finishes the room
        await cy.page.goto(f"/rooms/{room['id']}")  # a spectator: signed in, not a member
        for someone in (ada, bo, cy):
            await expect(someone.page.locator("#reveal-title")).to_be_visible()
            await live(someone)
            await tiles_shown(someone, 2)
        await expect(bo.page.locator(".presenting-banner")).to_be_hidden()

        # Ada presents from the blank canvas, and steps forward and back: every page follows.
        everyone = [ada, bo, cy]
        await ada.page.click("text=Present to everyone")
        assert await _everyone_on(everyone, 0, "Ada is presenting (tile 0 of 2).") < WITHIN_MS
        await expect(ada.page.get_by_role("button", name="Back one tile")).to_be_disabled()
        await expect(ada.page.get_by_role("button", name="Next tile")).to_be_focused()  # the pressed one is gone
        for step, frame in (("Next tile", 1), ("Next tile", 2), ("Back one tile", 1)):
            await ada.page.get_by_role("button", name=step).click()
            assert await _everyone_on(everyone, frame, f"(tile {frame} of 2)") < WITHIN_MS, (step, frame)
        await expect(ada.page.locator(".presenter-status")).to_have_text("Everyone sees tile 1 of 2.")
        await expect(cy.page.locator("#timelapse-scrubber")).to_be_disabled()  # the host drives
        await ada.shot("presenting")
        await cy.shot("following")
        await axe_clean(ada, "presenting the reveal")
        await axe_clean(cy, "following a presentation")
        # Each frame was said once, not by the caption as well.
        tile_one = "Tile 1 of 2: Ada wrote “a quiet harbour”"
        assert [line for line in await cy.heard() if tile_one in line] == [tile_one, tile_one]  # 1, 2, back to 1

        # A late joiner lands on the frame being presented.
        await cy.page.reload()
        await expect(cy.page.locator(".presenting-banner")).to_contain_text("Ada is presenting (tile 1 of 2).")
        await tiles_shown(cy, 1)

        # Bo leaves the presentation and stays where he is; following again brings him to Ada's frame.
        await bo.page.click("text=Leave the presentation")
        await expect(bo.page.locator(".presenting-banner")).to_contain_text("You left the presentation.")
        await ada.page.get_by_role("button", name="Next tile").click()
        await _everyone_on([ada, cy], 2)
        await expect(bo.page.locator(".presenting-banner")).to_contain_text("(tile 2 of 2)")
        await tiles_shown(bo, 1)
        await bo.page.click("text=Follow again")
        await tiles_shown(bo, 2)

        # Ada stops: the banners go, and everyone has their own timelapse again.
        await ada.page.click("text=Stop presenting")
        for someone in (bo, cy):
            await expect(someone.page.locator(".presenting-banner")).to_be_hidden()
            await expect(someone.page.locator("#timelapse-scrubber")).to_be_enabled()
        await expect(ada.page.locator("text=Present to everyone")).to_be_visible()
        for someone in (ada, bo, cy):
            someone.assert_clean()
    finally:
        for someone in (ada, bo, cy):
            await someone.context.close()
