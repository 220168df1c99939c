"""The canvas draws its tiles edge to edge: no line of background between neighbours at any zoom."""

from __future__ import annotations

import io

from PIL import Image
from playwright.async_api import expect

from tests.browser.ui import create_room, paint, person, sign_up, tiles_shown


async def test_neighbouring_tiles_meet_without_a_line_at_any_zoom(browser, served, shots):
    ada = await person(browser, served, shots, "Ada", width=1100, height=900)
    page = ada.page
    try:
        await page.goto("/")
        await sign_up(ada)
        await create_room(ada, "Seams")
        await page.click("#start-game")
        await paint(ada, "a meadow", "right")
        await tiles_shown(ada, 1)
        await paint(ada, "more meadow", "right")
        await tiles_shown(ada, 2)
        board = page.locator(".board")
        box = await board.bounding_box()
        worst = []
        for wheel in (0, 37, -55, 90, -23, 130):  # each leaves the zoom at another fraction
            await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            if wheel:
                await page.mouse.wheel(0, wheel)
            left = await page.locator("img.tile[data-x='0']").bounding_box()
            right = await page.locator("img.tile[data-x='1']").bounding_box()
            await expect(page.locator("img.tile[data-x='1']")).to_have_css("opacity", "1")
            shot = Image.open(io.BytesIO(await page.screenshot(animations="disabled"))).convert("L")
            seam = round(right["x"])
            top, bottom = int(right["y"] + right["height"] * 0.25), int(right["y"] + right["height"] * 0.75)
            assert left["x"] < seam - 4 and seam + 4 < right["x"] + right["width"]
            # The seam column against the mean of the columns 2 px either side: a background line is
            # tens of grey levels brighter than both; a joined canvas is within a few levels.
            steps = [
                shot.getpixel((seam, y)) - (shot.getpixel((seam - 2, y)) + shot.getpixel((seam + 2, y))) / 2
                for y in range(top, bottom)
            ]
            worst.append(sum(steps) / len(steps))
        await ada.shot("zoomed-seam")
        assert max(worst) < 6, worst
    finally:
        await ada.context.close()
