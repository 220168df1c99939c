"""A room's life beyond one game: an invite previewed before sign-up, a player who leaves on their
turn, one the host removes (who cannot come back), a skipped turn, the host's "Play again" that the
others follow into the new room, and a host who leaves and hands the room on; then the lobby's
allowance, credit history and pages of rooms, and an operator who names a user by email."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import expect

from tests.browser.test_admin_dashboard import _create_admin, _give_reason, _sign_in
from tests.browser.ui import (
    PASSWORD,
    Person,
    axe_clean,
    create_room,
    live,
    paint,
    person,
    refused,
    sign_up,
    tiles_shown,
)


async def _join_by_invite(someone: Person, invite: str, room_id: str) -> None:
    await someone.page.goto(invite)
    await sign_up(someone)
    await someone.page.wait_for_url(f"**/rooms/{room_id}")
    await live(someone)


async def _confirm(someone: Person, title: str) -> None:
    """Answers yes in the page's confirmation dialog, which opens on its safe answer."""
    dialog = someone.page.locator("#confirm-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("#confirm-title")).to_have_text(title)
    await expect(someone.page.locator("#confirm-no")).to_be_focused()
    await someone.page.click("#confirm-yes")
    await expect(dialog).to_be_hidden()


async def test_players_leave_are_removed_skipped_and_play_again(browser, served, shots):
    ada = await person(browser, served, shots, "Ada")
    bo = await person(browser, served, shots, "Bo")
    cy = await person(browser, served, shots, "Cy")
    di = await person(browser, served, shots, "Di", width=375, height=812)
    everyone = (ada, bo, cy, di)
    try:
        await ada.page.goto("/")
        await sign_up(ada)
        room_id = await create_room(ada, "Moving day", turn_seconds=600)
        invite = await ada.page.input_value("#invite-link")
        await expect(ada.page.locator("#room-host")).to_have_text("Host: you")

        # Bo opens the invite signed out: he sees which room, whose, and who is in it.
        await bo.page.goto(invite)
        preview = bo.page.locator("#invite-preview")
        await expect(preview.locator("h2")).to_have_text("Moving day")
        await expect(preview).to_contain_text("Host: Ada")
        await expect(preview).to_contain_text("Players: 1 player")
        await expect(preview).to_contain_text("In the lobby")
        await expect(bo.page.locator("#welcome-note")).to_contain_text("Ada invited you")
        await bo.shot("invite-preview")
        await axe_clean(bo, "an invite's preview")
        await sign_up(bo)
        await bo.page.wait_for_url(f"**/rooms/{room_id}")
        await live(bo)
        await _join_by_invite(cy, invite, room_id)
        await _join_by_invite(di, invite, room_id)
        for someone in (ada, di):
            await expect(someone.page.locator(".player")).to_have_count(4)
        await expect(di.page.locator(".player.is-host")).to_contain_text("Ada")
        await expect(di.page.locator("#room-host")).to_have_text("Host: Ada")
        await expect(di.page.locator(".remove-member")).to_have_count(0)  # only the host removes
        await expect(ada.page.locator(".remove-member")).to_have_count(3)  # everyone but herself

        await ada.page.click("#start-game")
        await paint(ada, "moving boxes stacked to the ceiling")
        for someone in everyone:
            await tiles_shown(someone, 1)
        await expect(bo.page.locator(".turn-title")).to_have_text("Your turn!")

        # Bo leaves on his turn: he asked to be sure, lands in the lobby, and Cy is up at once.
        await bo.page.click("#leave-room")
        await bo.shot("leave-confirm")
        await axe_clean(bo, "the question before leaving")
        await _confirm(bo, "Leave “Moving day”?")
        await bo.page.wait_for_url(f"{served.url}/")
        await expect(bo.page.locator(".lobby-hero")).to_contain_text("Hi Bo!")
        await expect(cy.page.locator(".turn-title")).to_have_text("Your turn!")
        await expect(cy.page.locator(".turn-message")).to_have_text("Bo left the room; it is your turn.")
        for someone in (ada, di):
            await expect(someone.page.locator(".turn-title")).to_have_text("Cy's turn")
            await expect(someone.page.locator(".turn-message")).to_have_text("Bo left the room; Cy is up.")
            await expect(someone.page.locator("#room-news li").first).to_have_text("Bo left the room.")
            await expect(someone.page.locator(".player")).to_have_count(3)
            await expect(someone.page.locator(".former")).to_have_text("No longer playing: Bo")
        # His tile is still credited to him.
        tile = di.page.locator(".board img.tile").first
        await expect(tile).to_have_attribute("alt", "Tile by Ada: moving boxes stacked to the ceiling")

        # The host removes Cy during her turn: Di is up; Cy is told, and her invite no longer works.
        remove_cy = ada.page.get_by_role("button", name="Remove Cy")
        await remove_cy.click()
        await ada.shot("remove-confirm")
        await _confirm(ada, "Remove Cy?")
        await expect(ada.page.locator("#players-title")).to_be_focused()  # her row went with her
        await expect(ada.page.locator(".player")).to_have_count(2)
        await expect(ada.page.locator(".turn-message")).to_have_text("The host removed Cy; Di is up.")
        await expect(di.page.locator(".turn-message")).to_have_text("The host removed Cy; it is your turn.")
        await expect(di.page.locator("#room-news li").first).to_have_text("The host removed Cy.")
        await expect(cy.page.locator("#room-news li").first).to_have_text("The host removed you from the room.")
        await expect(cy.page.locator(".gone-notice")).to_contain_text("The host removed you")
        await expect(cy.page.locator("#leave-room")).to_be_hidden()
        await expect(cy.page.locator(".composer")).to_be_hidden()
        await cy.shot("removed")
        await cy.page.goto(invite)
        await expect(cy.page.locator("#view .form-error")).to_have_text(
            "The host removed you from this room, so you cannot join it again."
        )

        # The host skips Di's turn.
        await expect(ada.page.locator("#skip-turn")).to_have_text("Skip Di's turn")
        await ada.page.click("#skip-turn")
        await expect(di.page.locator(".turn-message")).to_have_text("The host skipped your turn; Ada is up.")
        await expect(ada.page.locator(".turn-message")).to_have_text("The host skipped Di; it is your turn.")
        await expect(ada.page.locator(".turn-title")).to_have_text("Your turn!")
        await expect(ada.page.locator("#skip-turn")).to_have_text("Skip my turn")

        # The host finishes and plays again; Di follows the rematch link into the new lobby room.
        await ada.page.click("#finish-game")
        await ada.page.click("#finish-game")
        for someone in (ada, di):
            await expect(someone.page.locator("#reveal-title")).to_be_visible()
        await expect(di.page.locator("#room-news li").first).to_have_text(
            "The host finished the game. Here is the reveal."
        )
        await expect(di.page.locator("#leave-room")).to_be_hidden()
        # A finished room opened afresh still listens, for its players, for the host playing again.
        await di.page.reload()
        await live(di)
        await expect(di.page.locator("#reveal-title")).to_be_visible()
        await expect(ada.page.locator("#play-again")).to_be_focused()
        await ada.shot("play-again")
        await expect(di.page.locator("#play-again")).to_be_hidden()
        await ada.page.click("#play-again")
        await ada.page.wait_for_url(re.compile(r".*/rooms/(?!" + room_id + r")[0-9a-f-]+$"))
        new_id = ada.page.url.rsplit("/", 1)[1]
        await expect(ada.page.locator(".room-title")).to_have_text("Moving day")
        await live(ada)
        link = di.page.locator("#rematch-link")
        await expect(link).to_have_text("Rematch ready: join them")
        await expect(link).to_have_attribute("href", f"/rooms/{new_id}")
        await di.shot("rematch-ready")
        await link.click()
        await di.page.wait_for_url(f"**/rooms/{new_id}")
        await live(di)
        await expect(di.page.locator(".chip.status")).to_have_text("In the lobby")
        await expect(di.page.locator(".turn-title")).to_have_text("Waiting for the host to start")
        for someone in (ada, di):
            players = someone.page.locator(".player .player-name")
            await expect(players).to_have_text(["Ada", "Di"])

        # The host leaves the new room: Di is its host now, and may start it.
        await ada.page.click("#leave-room")
        await _confirm(ada, "Leave “Moving day”?")
        await ada.page.wait_for_url(f"{served.url}/")
        await expect(di.page.locator("#room-news li").first).to_have_text("You are now the host.")
        await expect(di.page.locator("#room-host")).to_have_text("Host: you")
        await expect(di.page.locator(".player.is-host")).to_contain_text("Di")
        await expect(di.page.locator("#start-game")).to_be_visible()
        await di.shot("new-host")

        # The old invite, signed out: the room is over, said plainly.
        await bo.context.clear_cookies()
        await bo.page.goto(invite)
        await expect(bo.page.locator("#view h1")).to_have_text("This game is over")
        await expect(bo.page.get_by_role("link", name="See how it turned out")).to_have_attribute(
            "href", f"/share/{room_id}"
        )
        await bo.page.goto(f"/join/{room_id}?code=not-a-code")
        await expect(bo.page.locator("#view h1")).to_have_text("This invite does not work")
        await axe_clean(bo, "a broken invite")
        # Only what the test provoked was refused: the way back for Cy, the old invites for Bo.
        cy.assert_clean(refused(403, f"/api/rooms/{room_id}/join"))
        code = invite.rsplit("=", 1)[1]
        bo.assert_clean(refused(409, f"/api/invites/{code}"), refused(404, "/api/invites/not-a-code"))
        for someone in (ada, di):
            someone.assert_clean()
    finally:
        for someone in everyone:
            await someone.context.close()


def _entry(n: int) -> dict:
    kinds = ["step_debit", "step_refund", "daily_grant"]
    return {
        "kind": kinds[n % 3],
        "amount": -1 if n % 3 == 0 else 1,
        "room_id": None,
        "step_id": None,
        "at": "2025-01-01T00:00:00+00:00",
    }


def _watchable(n: int) -> dict:
    return {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "name": f"Watch me {n}",
        "mode": "open",
        "status": "playing",
        "host_id": 999,
        "member": False,
        "member_count": 2,
        "tile_count": 3,
        "max_steps": 16,
        "turn": {"number": 4, "player_id": 999, "player_name": "Zed"},
        "seq": 9,
        "created_at": "2025-01-01T00:00:00+00:00",
    }


async def test_the_lobby_shows_the_allowance_the_credit_history_and_more_rooms(browser, served, shots):
    ada = await person(browser, served, shots, "Ada")
    page = ada.page
    try:
        await page.goto("/")
        await sign_up(ada)
        await expect(page.locator("#daily-allowance")).to_contain_text("Up to 10 free credits a day")
        first = page.locator("#ledger li").first
        await expect(first).to_contain_text("+20")
        await expect(first).to_contain_text("Welcome credits")
        await expect(page.locator("#more-ledger")).to_be_hidden()

        # Pages: the server's answers are played by the test, so that there is more than one page.
        async def ledger(route):
            cursor = re.search(r"cursor=(\w+)", route.request.url)
            if cursor is None:
                await route.fulfill(json={"entries": [_entry(n) for n in range(50)], "next_cursor": "p2"})
            else:
                await route.fulfill(json={"entries": [_entry(n) for n in range(50, 53)], "next_cursor": None})

        async def rooms(route):
            if route.request.method != "GET":
                await route.continue_()
            elif "cursor=" in route.request.url:
                await route.fulfill(json={"rooms": [_watchable(n) for n in range(20, 23)], "next_cursor": None})
            else:
                await route.fulfill(json={"rooms": [_watchable(n) for n in range(20)], "next_cursor": "w2"})

        await page.route("**/api/me/ledger*", ledger)
        await page.route("**/api/rooms*", rooms)
        await page.reload()
        await expect(page.locator("#ledger li")).to_have_count(50)
        await expect(page.locator("#ledger li").first).to_contain_text("−1")
        await expect(page.locator("#ledger li").first).to_contain_text("Painted a tile")
        await page.click("#more-ledger")
        await expect(page.locator("#ledger li")).to_have_count(53)
        await expect(page.locator("#ledger li").nth(50)).to_be_focused()
        await expect(page.locator("#more-ledger")).to_be_hidden()

        watch = page.locator("#open-rooms a.room-item")
        await expect(watch).to_have_count(20)
        await page.click("#more-open-rooms")
        await expect(watch).to_have_count(23)
        await expect(watch.nth(20)).to_be_focused()
        await expect(watch.nth(22)).to_contain_text("Watch me 22")
        await expect(page.locator("#more-open-rooms")).to_be_hidden()
        await page.screenshot(path=shots / "ada-lobby-pages-full.png", full_page=True, animations="disabled")
        await axe_clean(ada, "a lobby with pages of rooms and credits")

        # A room longer than its players can pay for: the warning is on the new room's page.
        await page.unroute("**/api/rooms*")
        await page.fill("#room-name", "Epic scroll")
        await page.fill("#max-steps", "64")
        await page.click("#create-room button[type=submit]")
        await page.wait_for_url("**/rooms/*")
        await live(ada)
        warning = page.locator(".room-warning")
        await expect(warning).to_be_visible()
        await expect(warning).to_contain_text("Heads up:")
        await ada.shot("creation-warning")
        await warning.get_by_role("button", name="Got it").click()
        await expect(warning).to_be_hidden()
        await expect(page.locator(".room-title")).to_be_focused()
        ada.assert_clean()
    finally:
        await ada.context.close()


async def test_an_operator_names_a_user_by_email(browser, served, database_url, shots):
    async with httpx.AsyncClient(base_url=served.url, headers={"Origin": served.url}) as http:
        for email, name in (("boss@example.com", "Boss"), ("pat+art@example.com", "Pat")):
            response = await http.post(
                "/api/auth/signup", json={"email": email, "password": PASSWORD, "display_name": name}
            )
            assert response.status_code == 201, response.text
    await _create_admin("boss@example.com", database_url)
    boss = await person(browser, served, shots, "Boss")
    page = boss.page
    try:
        await _sign_in(boss, "boss@example.com")
        await page.goto("/admin")
        await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        await page.fill("#user-id", "not an email")
        await page.click("#grant-credits")
        await expect(page.locator("#user-form .field-error[data-for=user_id]")).to_have_text(
            "Enter an email address or a user id (a number)."
        )
        await page.fill("#user-id", "pat+art@example.com")
        await page.fill("#credit-delta", "5")
        await page.click("#grant-credits")
        await expect(page.locator("#action-title")).to_have_text("Grant 5 credits to pat+art@example.com?")
        await _give_reason(page, "welcome back")
        await expect(page.locator("#user-result")).to_have_text("pat+art@example.com now has 25 credits.")
        boss.assert_clean()
    finally:
        await boss.context.close()
