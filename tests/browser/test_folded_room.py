"""A folded room: each player sees only their edge, nobody sees the canvas until the reveal,
which then replays tile by tile and can be downloaded and shared."""

from __future__ import annotations

from PIL import Image
from playwright.async_api import expect

from tests.browser.ui import axe_clean, create_room, image_loaded, live, paint, person, sign_up, tiles_shown


async def test_folded_room_hides_the_canvas_until_the_reveal_and_replays_it(browser, served, shots):
    ada = await person(browser, served, shots, "Ada")
    bo = await person(browser, served, shots, "Bo")
    guest = await person(browser, served, shots, "Guest", width=375, height=812)
    try:
        await ada.page.goto("/")
        await sign_up(ada)
        room_id = await create_room(ada, "Secret garden", mode="folded")
        invite = await ada.page.input_value("#invite-link")
        await bo.page.goto("/")
        await sign_up(bo)
        await bo.page.goto(invite)  # signed in already: joins at once
        await bo.page.wait_for_url(f"**/rooms/{room_id}")
        await live(bo)
        await expect(ada.page.locator(".players")).to_contain_text("Bo")
        await ada.page.click("#start-game")

        # Ada paints the first tile blind; then she sees only that something was painted.
        await expect(ada.page.locator(".board-overlay")).to_contain_text("You paint the very first tile")
        await expect(bo.page.locator(".board-overlay")).to_contain_text("0 tiles painted")
        await paint(ada, "a walled garden with roses", "right")
        await expect(ada.page.locator(".board-overlay")).to_contain_text("1 tile painted")
        await expect(bo.page.locator(".turn-title")).to_have_text("Your turn!")
        await tiles_shown(ada, 0)
        await ada.shot("folded-while-bo-plays")
        await axe_clean(ada, "a folded room while another plays")

        # Bo sees only his edge: the context window the generator will continue.
        edge = bo.page.locator(".edge img")
        await expect(edge).to_be_visible()
        assert await image_loaded(bo.page, ".edge img") == 512  # the 2T window of 256 px tiles
        await bo.page.check("#direction-down")
        await expect(edge).to_have_attribute("src", f"/api/rooms/{room_id}/context.png?direction=down&turn=2&tiles=1")
        assert await image_loaded(bo.page, ".edge img") == 512
        await bo.shot("his-edge")
        await axe_clean(bo, "his edge of a folded room")
        await paint(bo, "a fountain full of frogs", "down")
        await expect(bo.page.locator(".board-overlay")).to_contain_text("2 tiles painted")
        await expect(ada.page.locator(".edge img")).to_be_visible()
        await paint(ada, "a gardener asleep in the shade")
        await expect(ada.page.locator(".board-overlay")).to_contain_text("3 tiles painted")
        await tiles_shown(bo, 0)

        # Ada finishes (two presses, so no accident); both get the reveal with every tile.
        await ada.page.click("#finish-game")
        await expect(ada.page.locator("#finish-game")).to_contain_text("Really finish?")
        await ada.page.click("#finish-game")
        for someone in (ada, bo):
            await expect(someone.page.locator("#reveal-title")).to_be_visible()
            await tiles_shown(someone, 3)
        await expect(bo.page.locator(".story li")).to_have_count(3)
        await expect(bo.page.locator(".story li").nth(1)).to_contain_text("Bo")
        await expect(bo.page.locator(".story li").nth(1)).to_contain_text("a fountain full of frogs")
        await bo.shot("reveal")
        await axe_clean(bo, "the reveal")

        # The timelapse replays the tiles in the order they were painted, captioned.
        await bo.page.click("text=Play timelapse")
        caption = bo.page.locator(".timelapse-caption")
        await expect(caption).to_contain_text("Tile 1 of 3: Ada wrote “a walled garden with roses”")
        await tiles_shown(bo, 1)
        await bo.shot("timelapse-first-tile")
        await axe_clean(bo, "the timelapse")
        await expect(caption).to_contain_text("Tile 2 of 3: Bo wrote “a fountain full of frogs”")
        await tiles_shown(bo, 2)
        await expect(caption).to_have_text("The end. Play it again?", timeout=5000)
        await tiles_shown(bo, 3)

        async with ada.page.expect_download() as download_info:
            await ada.page.click("text=Download PNG")
        download = await download_info.value
        assert download.suggested_filename == "secret-garden.png"
        assert (await download.path()).read_bytes().startswith(b"\x89PNG")
        async with ada.page.expect_download() as download_info:
            await ada.page.click("text=Download the timelapse")
        download = await download_info.value
        assert download.suggested_filename == "secret-garden-timelapse.webp"
        with Image.open(await download.path()) as animation:
            assert animation.format == "WEBP" and animation.n_frames == 3

        # Anyone can open the share page of a finished room, without an account, on a phone.
        await guest.page.goto(f"/share/{room_id}")
        await expect(guest.page.locator(".room-title")).to_have_text("Secret garden")
        await tiles_shown(guest, 3)
        await expect(guest.page.locator(".share-header")).to_contain_text("Painted by Ada, Bo.")
        width = await guest.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, width
        await guest.shot("share-page")
        await axe_clean(guest, "the share page on a phone")
        for someone in (ada, bo, guest):
            someone.assert_clean()
    finally:
        for someone in (ada, bo, guest):
            await someone.context.close()
