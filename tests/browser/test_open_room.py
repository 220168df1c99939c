"""Two players and a spectator play an open room, each in their own browser."""

from __future__ import annotations

import json
import re

from playwright.async_api import expect

from tests.browser.ui import create_room, live, paint, person, sign_up, start_with_two, tiles_shown


async def test_two_players_and_a_spectator_play_an_open_room_live(browser, served, shots):
    ada = await person(browser, served, shots, "Ada")
    bo = await person(browser, served, shots, "Bo")
    cy = await person(browser, served, shots, "Cy")
    try:
        # Ada signs up, creates a room and copies its invite link.
        await ada.context.grant_permissions(["clipboard-read", "clipboard-write"])
        await ada.page.goto("/")
        await ada.shot("welcome")
        await sign_up(ada)
        await expect(ada.page.locator("#my-rooms")).to_contain_text("No rooms yet")
        await ada.shot("lobby")
        room_id = await create_room(ada, "Harbour dreams", turn_seconds=600)
        await ada.page.click("#copy-invite")
        await expect(ada.page.locator("#copy-invite")).to_have_text("Copied!")
        invite = await ada.page.evaluate("navigator.clipboard.readText()")
        assert invite.startswith(f"{served.url}/join/{room_id}?code=")
        await ada.shot("room-lobby")

        # Bo opens the link signed out: he signs up first and lands in the room, joined.
        await bo.page.goto(invite)
        await expect(bo.page.locator("#welcome-note")).to_contain_text("invited")
        await bo.shot("invited")
        await sign_up(bo)
        await bo.page.wait_for_url(f"**/rooms/{room_id}")
        await live(bo)
        await expect(ada.page.locator(".players")).to_contain_text("Bo")  # live, no reload

        # Ada starts; Bo sees whose turn it is.
        await ada.page.click("#start-game")
        await expect(bo.page.locator(".turn-title")).to_have_text("Ada's turn")
        await expect(bo.page.locator(".countdown")).to_have_text(re.compile(r"^(10:00|9:[0-5]\d) left$"))

        # Cy finds the room among the open rooms being played now, and watches.
        await cy.page.goto("/")
        await sign_up(cy)
        await cy.page.click(f"#open-rooms a[data-room-id='{room_id}']")
        await live(cy)
        await expect(cy.page.locator(".watching")).to_be_visible()
        await expect(cy.page.locator(".turn-title")).to_have_text("Ada's turn")
        await expect(ada.page.locator(".spectators")).to_have_text("1 spectator watching")
        await expect(ada.page.locator(".player[data-user-id] .presence.online")).to_have_count(2)
        await ada.shot("my-turn")

        await paint(ada, "a quiet harbour at dawn")
        await expect(cy.page.locator(".turn-card[data-state=painting]")).to_be_visible()
        await cy.shot("watching-painting")
        for someone in (ada, bo, cy):
            await tiles_shown(someone, 1)
        await expect(ada.page.locator("#account-credits")).to_have_text("19")

        # Bo's prompt is refused by the content policy: he is told why, refunded, still to play.
        await expect(bo.page.locator(".turn-title")).to_have_text("Your turn!")
        await bo.shot("his-turn")
        await paint(bo, "[refuse] something the policy forbids", "down")
        message = bo.page.locator(".turn-message")
        await expect(message).to_contain_text("refused the prompt")
        await expect(message).to_contain_text("credit was refunded")
        await expect(cy.page.locator(".turn-message")).to_contain_text("Bo's tile was not painted")
        await expect(bo.page.locator("#account-credits")).to_have_text("20")
        await bo.shot("refused")

        # He tries again with the keyboard only: type, pick a way with the arrow keys, Ctrl+Enter.
        await expect(bo.page.locator(".turn-title")).to_have_text("Your turn!")
        await bo.page.focus("#prompt")
        await bo.page.keyboard.type("a lighthouse on the rocks below")
        await bo.page.focus("#direction-down")
        await bo.page.keyboard.press("Space")
        await expect(bo.page.locator("#direction-down")).to_be_checked()
        await bo.page.focus("#prompt")
        await bo.page.keyboard.press("Control+Enter")
        for someone in (ada, bo, cy):
            await tiles_shown(someone, 2)
        await expect(ada.page.locator(".turn-title")).to_have_text("Your turn!")
        await expect(bo.page.locator("#account-credits")).to_have_text("19")
        placed = cy.page.locator(".board img.tile[data-x='0'][data-y='1']")
        await expect(placed).to_have_attribute("alt", "Tile by Bo: a lighthouse on the rocks below")
        for someone in (ada, bo, cy):
            await someone.shot("two-tiles")

        # Everything after the first page load came over each page's one websocket.
        for someone in (ada, bo, cy):
            kinds = [json.loads(frame)["type"] for frame in someone.frames]
            assert "event" in kinds and "presence" in kinds, kinds
        assert "progress" in [json.loads(frame)["type"] for frame in cy.frames]
        for someone in (ada, bo, cy):
            someone.assert_clean()
    finally:
        for someone in (ada, bo, cy):
            await someone.context.close()


async def test_an_idle_turn_counts_down_and_moves_on(browser, served, shots):
    ada = await person(browser, served, shots, "Ada")
    bo = await person(browser, served, shots, "Bo")
    try:
        await start_with_two(ada, bo, "Slow coach", turn_seconds=10)
        await expect(bo.page.locator(".countdown")).to_have_text(re.compile(r"^0:(10|0\d) left$"))
        await expect(ada.page.locator(".turn-title")).to_have_text("Your turn!")
        await ada.shot("countdown")
        # Ada does nothing; when the deadline passes the server skips her turn.
        await expect(bo.page.locator(".turn-title")).to_have_text("Your turn!", timeout=20_000)
        await expect(bo.page.locator(".turn-message")).to_have_text("Ada ran out of time, so the turn moved on.")
        await expect(ada.page.locator(".turn-title")).to_have_text("Bo's turn")
        await expect(bo.page.locator(".countdown")).to_have_text(re.compile(r"^0:(10|0\d) left$"))
        ada.assert_clean()
        bo.assert_clean()
    finally:
        for someone in (ada, bo):
            await someone.context.close()
