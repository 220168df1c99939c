"""The live connection survives drops: it says so, reconnects with `after`, and catches up."""

from __future__ import annotations

import json

from playwright.async_api import WebSocketRoute, expect

from tests.browser.ui import live, paint, person, refused, start_with_two, tiles_shown

OFFLINE_NOISE = ("WebSocket connection to", "Failed to load resource: net::ERR_INTERNET_DISCONNECTED")


async def test_a_dropped_connection_reconnects_and_catches_up(browser, served, shots):
    ada = await person(browser, served, shots, "Ada")
    bo = await person(browser, served, shots, "Bo")
    try:
        await start_with_two(ada, bo, "Night train")
        await bo.context.set_offline(True)
        await expect(bo.page.locator("#connection")).to_have_attribute("data-state", "reconnecting")
        await expect(bo.page.locator(".turn-card")).to_have_class("turn-card stale")
        # His page cannot know who is here while it is cut off: nobody shows a green dot.
        await expect(bo.page.locator(".player .presence.online")).to_have_count(0)
        await expect(bo.page.locator(".player .visually-hidden").first).to_have_text(" (offline)")
        await expect(bo.page.locator(".spectators")).to_have_text("Offline: who is here is not known")
        await paint(ada, "a sleeper carriage under the stars")
        await tiles_shown(ada, 1)
        await expect(ada.page.locator(".turn-title")).to_have_text("Bo's turn")
        await tiles_shown(bo, 0)
        await bo.shot("offline")

        await bo.context.set_offline(False)
        await live(bo)
        await tiles_shown(bo, 1)
        await expect(bo.page.locator(".turn-title")).to_have_text("Your turn!")
        await expect(bo.page.locator(".turn-card")).not_to_have_class("turn-card stale")
        await expect(bo.page.locator(".player .presence.online")).to_have_count(2)
        await bo.shot("caught-up")
        assert len(bo.sockets) >= 2
        assert "after=" in bo.sockets[-1].url

        # Cut off again on his turn: "Paint it" says the server cannot be reached. Back online,
        # that stale error goes, his prompt is still in the box, and it paints.
        await bo.context.set_offline(True)
        await expect(bo.page.locator("#connection")).to_have_attribute("data-state", "reconnecting")
        await bo.page.fill("#prompt", "a guard waving a lantern")
        await bo.page.click(".composer button[type=submit]")
        error = bo.page.locator(".composer .form-error")
        await expect(error).to_have_text("The server cannot be reached. Check your connection.")
        await bo.context.set_offline(False)
        await live(bo)
        await expect(error).to_be_empty()
        await expect(bo.page.locator("#prompt")).to_have_value("a guard waving a lantern")
        await bo.page.click(".composer button[type=submit]")
        await tiles_shown(ada, 2)
        await tiles_shown(bo, 2)
        ada.assert_clean()
        bo.assert_clean(*OFFLINE_NOISE)
    finally:
        for someone in (ada, bo):
            await someone.context.close()


async def test_a_missed_event_is_fetched_before_newer_ones_apply(browser, served, shots):
    ada = await person(browser, served, shots, "Ada")
    bo = await person(browser, served, shots, "Bo")
    dropped: list[dict] = []
    routes: list[WebSocketRoute] = []

    def lose_one_commit(route: WebSocketRoute) -> None:
        """Passes the server's frames on, except the first step.committed (a lost frame)."""
        server = route.connect_to_server()
        routes.append(route)

        def from_server(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("kind") == "step.committed" and not dropped:
                dropped.append(frame)
                return
            route.send(message)

        server.on_message(from_server)

    try:
        room_id = await start_with_two(ada, bo, "Night train")
        await bo.page.route_web_socket("**/ws/rooms/**", lose_one_commit)
        await bo.page.reload()
        await live(bo)
        fetched: list[str] = []
        bo.page.on("request", lambda request: "/events?after=" in request.url and fetched.append(request.url))

        await paint(ada, "a dining car with one candle")
        # The turn.changed after the lost commit reveals the gap; the page fetches what it missed.
        await tiles_shown(bo, 1)
        await expect(bo.page.locator(".turn-title")).to_have_text("Your turn!")
        assert dropped and fetched, (dropped, fetched)
        assert fetched[0].endswith(f"/api/rooms/{room_id}/events?after={dropped[0]['seq'] - 1}")

        # The server closes a slow socket with 4008: the page resumes where it left off.
        async with bo.page.expect_websocket() as reconnected:
            await routes[-1].close(code=4008, reason="too slow")
        socket = await reconnected.value
        assert socket.url.endswith(f"?after={dropped[0]['seq'] + 1}"), socket.url
        await live(bo)
        await paint(bo, "a conductor asleep on duty", "down")
        await tiles_shown(ada, 2)
        await tiles_shown(bo, 2)
        ada.assert_clean()
        bo.assert_clean()
    finally:
        for someone in (ada, bo):
            await someone.context.close()


async def test_signing_out_in_another_tab_closes_the_room_and_shows_the_welcome(browser, served, shots):
    """The server closes the room socket with 4001; the page does not reconnect but asks who is
    signed in now, and draws the welcome for nobody."""
    ada = await person(browser, served, shots, "Ada")
    bo = await person(browser, served, shots, "Bo")
    try:
        room_id = await start_with_two(ada, bo, "Short visit")
        other_tab = await ada.context.new_page()
        await other_tab.goto("/")
        await other_tab.click("#logout")
        await expect(other_tab.locator("#signup-form")).to_be_visible()
        await expect(ada.page.locator("#account")).to_be_hidden()
        await expect(ada.page.locator("#welcome")).to_be_visible()
        assert not [s for s in ada.sockets if not s.is_closed()]  # nothing left trying to reconnect
        # The room is redrawn for nobody: only a finished room is public, so asking is the way to know.
        ada.assert_clean(refused(401, f"/api/rooms/{room_id}"))
        await expect(bo.page.locator(".turn-title")).to_have_text("Ada's turn")  # Bo's room goes on
    finally:
        await ada.context.close()
        await bo.context.close()
