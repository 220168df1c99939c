"""Two players and a spectator play an open room, each in their own browser."""

from __future__ import annotations

import json
import re

from playwright.async_api import expect

from tests.browser.ui import (
    axe_clean,
    create_room,
    in_view,
    live,
    paint,
    person,
    sign_up,
    start_with_two,
    tiles_shown,
    uncovered,
)


async def test_two_players_and_a_spectator_play_an_open_room_live(browser, served, shots):
    ada = await person(browser, served, shots, "Ada", width=1366, height=768)
    bo = await person(browser, served, shots, "Bo")
    cy = await person(browser, served, shots, "Cy")
    try:
        # Ada signs up, creates a room and copies its invite link.
        await ada.context.grant_permissions(["clipboard-read", "clipboard-write"])
        await ada.page.goto("/")
        await ada.shot("welcome")
        await axe_clean(ada, "the welcome page")
        await sign_up(ada)
        await expect(ada.page.locator("#my-rooms")).to_contain_text("No rooms yet")
        await ada.shot("lobby")
        await axe_clean(ada, "an empty lobby")
        room_id = await create_room(ada, "Harbour dreams", turn_seconds=600)
        await ada.page.click("#copy-invite")
        await expect(ada.page.locator("#copy-invite")).to_have_text("Copied!")
        invite = await ada.page.evaluate("navigator.clipboard.readText()")
        assert invite.startswith(f"{served.url}/join/{room_id}?code=")
        await ada.shot("room-lobby")
        await axe_clean(ada, "her room before the start, as its host")

        # Bo opens the link signed out: he signs up first and lands in the room, joined.
        await bo.page.goto(invite)
        await expect(bo.page.locator("#welcome-note")).to_contain_text("invited")
        await bo.shot("invited")
        await sign_up(bo)
        await bo.page.wait_for_url(f"**/rooms/{room_id}")
        await live(bo)
        await expect(ada.page.locator(".players")).to_contain_text("Bo")  # live, no reload

        # Ada starts; Bo sees whose turn it is. On Ada's laptop the invite box has folded away and
        # her whole move is on the first screen, the focus in the prompt.
        await ada.page.click("#start-game")
        await expect(bo.page.locator(".turn-title")).to_have_text("Ada's turn")
        await expect(bo.page.locator(".countdown")).to_have_text(re.compile(r"^(10:00|9:[0-5]\d) left$"))
        await expect(ada.page.locator("#invite-link")).to_be_hidden()
        await expect(ada.page.locator("#prompt")).to_be_focused()
        await in_view(ada.page, ada.page.locator("#prompt"), ada.page.locator(".composer button[type=submit]"))
        # The toast that the game started covers none of her controls.
        controls = ("#prompt", ".composer button", ".direction", ".room-actions > *", ".topbar a, .topbar button")
        await uncovered(ada.page, *controls)

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
        await axe_clean(ada, "her turn")
        await axe_clean(bo, "waiting for his turn")
        await axe_clean(cy, "watching")

        await paint(ada, "a quiet harbour at dawn")
        await expect(cy.page.locator(".turn-card[data-state=painting]")).to_be_visible()
        await cy.shot("watching-painting")
        for someone in (ada, bo, cy):
            await tiles_shown(someone, 1)
        await expect(ada.page.locator("#account-credits")).to_have_text("19")

        # Bo plays with the keyboard only. His turn puts the focus in the prompt; the arrow keys
        # pick the arrow they point to on the cross (up, then right, is right); Tab, Enter.
        await expect(bo.page.locator(".turn-title")).to_have_text("Your turn!")
        prompt = bo.page.locator("#prompt")
        await expect(prompt).to_be_focused()
        await expect(bo.page.locator("#direction-right")).to_be_checked()  # the free ways are known
        await bo.shot("his-turn")
        keys = bo.page.keyboard
        await keys.type("[refuse] something the policy forbids")
        await keys.press("Tab")
        await expect(bo.page.locator("#direction-right")).to_be_focused()
        spatial = (("ArrowUp", "up"), ("ArrowRight", "right"), ("ArrowLeft", "left"), ("ArrowDown", "down"))
        for key, direction in spatial:
            await keys.press(key)
            await expect(bo.page.locator(f"#direction-{direction}")).to_be_checked()
            await expect(bo.page.locator(f"#direction-{direction}")).to_be_focused()
        await keys.press("Tab")
        await expect(bo.page.locator(".composer button[type=submit]")).to_be_focused()
        await keys.press("Enter")

        # The content policy refuses it: he is told why, refunded, still to play; the focus is
        # back in the prompt, which still holds what he wrote.
        message = bo.page.locator(".turn-message")
        await expect(message).to_contain_text("refused the prompt")
        await expect(message).to_contain_text("credit was refunded")
        await expect(cy.page.locator(".turn-message")).to_contain_text("Bo's tile was not painted")
        await expect(bo.page.locator("#account-credits")).to_have_text("20")
        await expect(prompt).to_be_focused()
        await expect(prompt).to_have_value("[refuse] something the policy forbids")
        await expect(bo.page.locator("#direction-down")).to_be_checked()
        await bo.shot("refused")

        # He rewrites it and sends it with Ctrl+Enter, still without the mouse.
        await keys.press("Control+A")
        await keys.type("a lighthouse on the rocks below")
        await keys.press("Control+Enter")
        for someone in (ada, bo, cy):
            await tiles_shown(someone, 2)
        await expect(ada.page.locator(".turn-title")).to_have_text("Your turn!")
        await expect(bo.page.locator("#account-credits")).to_have_text("19")
        await expect(prompt).to_have_value("")  # spent on the tile that landed
        placed = cy.page.locator(".board img.tile[data-x='0'][data-y='1']")
        await expect(placed).to_have_attribute("alt", "Tile by Bo: a lighthouse on the rocks below")
        for someone in (ada, bo, cy):
            await someone.shot("two-tiles")

        # Everything after the first page load came over each page's one websocket.
        for someone in (ada, bo, cy):
            kinds = [json.loads(frame)["type"] for frame in someone.frames]
            assert "event" in kinds and "presence" in kinds, kinds
        assert "progress" in [json.loads(frame)["type"] for frame in cy.frames]

        # A screen reader heard each turn and each tile once, and none of the painting previews.
        heard = await cy.heard()
        for said, times in [
            ("It is Ada's turn.", 1),  # after Bo's tile; Cy came in during her first turn
            ("Ada is painting a tile.", 1),
            ("Ada painted a tile.", 1),
            ("It is Bo's turn.", 1),
            ("Bo is painting a tile.", 2),
            ("Bo painted a tile.", 1),
        ]:
            assert heard.count(said) == times, (said, heard)
        assert sum("Bo's tile was not painted" in text for text in heard) == 1, heard
        assert not [text for text in heard if "being painted" in text or "%" in text], heard
        heard = await ada.heard()
        assert heard.count("It is your turn!") == 2, heard
        assert heard.count("The game has started!") == 1, heard
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
        # Each heard the ten-second warning once, on their own clock only.
        warning = re.compile(r"^(10|\d) seconds left in your turn\.$")
        await expect(bo.page.locator("#announcer p").filter(has_text=warning)).to_have_count(1)
        assert len([said for said in await ada.heard() if warning.match(said)]) == 1
        assert len([said for said in await bo.heard() if warning.match(said)]) == 1
        ada.assert_clean()
        bo.assert_clean()
    finally:
        for someone in (ada, bo):
            await someone.context.close()
