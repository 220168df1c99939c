"""The operators' dashboard at /admin: live figures from /ws/admin, a stuck-looking step aborted with
a reason, credits granted, a refusal shown, and the page closed to everyone who is not an operator."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import uuid

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.ui import PASSWORD, Person, axe_clean, person, refused
from tests.servers import Served, clean_env


@pytest.fixture
async def slow_served(database_url, tmp_path) -> Served:
    """A server whose generator takes a minute: a step stays in flight for the whole test."""
    async with Served(tmp_path / "data", DATABASE_URL=database_url, MOCK_DELAY_MS=60_000) as server:
        yield server


async def _create_admin(email: str, database_url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "create-admin",
        email,
        env=clean_env(DATABASE_URL=database_url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, output.decode()


async def _sign_up(http: httpx.AsyncClient, email: str, name: str) -> dict:
    response = await http.post("/api/auth/signup", json={"email": email, "password": PASSWORD, "display_name": name})
    assert response.status_code == 201, response.text
    return response.json()["user"]


async def _start_a_step(player: httpx.AsyncClient) -> tuple[str, str]:
    """The player opens a room alone, starts it and paints: returns (room id, step id)."""
    response = await player.post("/api/rooms", json={"name": "Lighthouse", "mode": "open", "tile_size": 256})
    assert response.status_code == 201, response.text
    room_id = response.json()["room"]["id"]
    assert (await player.post(f"/api/rooms/{room_id}/start")).status_code == 200
    nonce = (await player.get(f"/api/rooms/{room_id}")).json()["turn"]["nonce"]
    response = await player.post(
        f"/api/rooms/{room_id}/steps",
        json={"turn_nonce": nonce, "prompt": "a lighthouse at dusk", "direction": "right"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 202, response.text
    return room_id, response.json()["step"]["id"]


async def _sign_in(someone: Person, email: str) -> None:
    page = someone.page
    await page.goto("/")
    await page.fill("#login-email", email)
    await page.fill("#login-password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#account")).to_be_visible()


async def _give_reason(page, reason: str) -> None:
    dialog = page.locator("#action-dialog")
    await expect(dialog).to_be_visible()
    await expect(page.locator("#action-reason")).to_be_focused()
    await page.keyboard.type(reason)
    await page.click("#action-confirm")


async def _heard(someone: Person, since: int, *words: str) -> None:
    """Waits until a socket frame received after the first `since` holds all of `words`."""
    for _ in range(50):
        if any(all(word in frame for word in words) for frame in someone.frames[since:]):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no frame with {words}")


async def test_an_operator_aborts_a_step_and_grants_credits_live(browser, slow_served, database_url, shots):
    served = slow_served
    async with (
        httpx.AsyncClient(base_url=served.url, headers={"Origin": served.url}) as boss_http,
        httpx.AsyncClient(base_url=served.url, headers={"Origin": served.url}) as player_http,
    ):
        boss_user = await _sign_up(boss_http, "boss@example.com", "Boss")
        player = await _sign_up(player_http, "pat@example.com", "Pat")
        await _create_admin("boss@example.com", database_url)
        room_id, step_id = await _start_a_step(player_http)
        credits_while_painting = (await player_http.get("/api/me")).json()["credits"]

        boss = await person(browser, served, shots, "Boss")
        pat = await person(browser, served, shots, "Pat", width=375, height=740)
        try:
            await _sign_in(boss, "boss@example.com")
            page = boss.page
            await page.goto("/admin")
            await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
            await expect(page.locator("#operator")).to_have_text("Boss")
            await expect(page.locator("#instance")).not_to_have_text("…")
            await expect(page.locator("#rooms-playing")).to_have_text("1")

            step_row = page.locator(f"#steps-table tbody tr[data-id='{step_id}']")
            await expect(step_row).to_be_visible()
            await expect(step_row).to_contain_text(f"#{player['id']}")
            await expect(page.locator(f"#rooms-table tbody tr[data-id='{room_id}']")).to_contain_text("Lighthouse")
            await expect(page.locator("#steps-count")).to_have_text("1")
            await expect(step_row.locator(".lease")).to_have_text(re.compile(r"^0:[0-5]\d$"))
            await boss.shot("step-in-flight")
            await axe_clean(boss, "the dashboard with a step in flight")

            # A refusal: the server's own words in the dialog, which stays open.
            await page.fill("#user-id", str(player["id"]))
            await page.fill("#credit-delta", "100000")
            await page.click("#revoke-credits")
            await _give_reason(page, "testing a refusal")
            await expect(page.locator("#action-dialog .form-error")).to_have_text("Not enough credits for this.")
            await axe_clean(boss, "the action dialog with a refusal")
            await page.keyboard.press("Escape")
            await expect(page.locator("#action-dialog")).to_be_hidden()
            await expect(page.locator("#revoke-credits")).to_be_focused()

            await page.fill("#user-id", str(boss_user["id"]))
            await page.click("#disable-user")
            await _give_reason(page, "testing another refusal")
            await expect(page.locator("#action-dialog .form-error")).to_have_text(
                "You cannot disable your own account."
            )
            await page.click("#action-cancel")
            await expect(page.locator("#disable-user")).to_be_focused()
            await page.fill("#user-id", str(player["id"]))

            # Abort the step by keyboard from its row: it leaves the table, the audit row arrives.
            frames_before = len(boss.frames)
            await step_row.get_by_role("button", name="Abort step").focus()
            await page.keyboard.press("Enter")
            await expect(page.locator("#action-reason")).to_be_focused()
            await page.keyboard.type("painter reported a frozen tile")
            await page.keyboard.press("Control+Enter")
            await expect(page.locator("#action-dialog")).to_be_hidden()
            await expect(step_row).to_have_count(0)
            await expect(page.locator("#steps-empty")).to_be_visible()
            abort_entry = page.locator("#audit li[data-action=abort_step]")
            await expect(abort_entry).to_contain_text("painter reported a frozen tile")
            await expect(abort_entry).to_contain_text("refunded 1")
            # The socket said so too, not only the HTTP answer.
            await _heard(boss, frames_before, "abort_step", "painter reported a frozen tile")
            me = (await player_http.get("/api/me")).json()
            assert me["credits"] == credits_while_painting + 1
            await expect(page.locator(f"#rooms-table tbody tr[data-id='{room_id}']")).not_to_contain_text(
                "Release lease"
            )

            # Grant credits to the player.
            await page.fill("#credit-delta", "25")
            await page.click("#grant-credits")
            await _give_reason(page, "sorry for the frozen tile")
            await expect(page.locator("#user-result")).to_have_text(
                f"User #{player['id']} now has {me['credits'] + 25} credits."
            )
            grant_entry = page.locator("#audit li[data-action=admin_grant]")
            await expect(grant_entry).to_contain_text("+25 credits")
            await expect(grant_entry).to_contain_text(f"user #{player['id']}")
            await _heard(boss, frames_before, "admin_grant", "sorry for the frozen tile")
            await expect(page.locator("#audit li")).to_have_count(2)
            await expect(page.locator("#failures")).to_contain_text("admin_abort")
            screenshot = shots / "boss-dashboard-full.png"
            await page.screenshot(path=screenshot, full_page=True, animations="disabled")

            # The player is no operator: a clear message and the way back, no feed.
            await _sign_in(pat, "pat@example.com")
            await pat.page.goto("/admin")
            await expect(pat.page.locator("#gate")).to_be_visible()
            await expect(pat.page.locator("#gate-title")).to_have_text("Operators only")
            await expect(pat.page.locator("#gate-message")).to_contain_text("not an operator")
            await expect(pat.page.locator("#dashboard")).to_be_hidden()
            assert not pat.sockets
            # Signed out: the same page says to sign in.
            await pat.context.clear_cookies()
            await pat.page.reload()
            await expect(pat.page.locator("#gate-message")).to_contain_text("signed out")
            await expect(pat.page.locator("#gate-link")).to_have_attribute("href", "/")
            await pat.shot("operators-only")
            await axe_clean(pat, "the operators-only page")

            # The dashboard itself on a 375 px phone.
            await page.set_viewport_size({"width": 375, "height": 900})
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, width
            await page.screenshot(path=shots / "boss-dashboard-375-full.png", full_page=True, animations="disabled")
            await axe_clean(boss, "the dashboard on a phone")

            assert screenshot.exists()
            # The two refusals provoked above; nothing else was refused.
            boss.assert_clean(
                refused(402, f"/api/admin/users/{player['id']}/credits"),
                refused(409, f"/api/admin/users/{boss_user['id']}/disable"),
            )
            pat.assert_clean()
        finally:
            for someone in (boss, pat):
                await someone.context.close()


def _overview(**changes) -> dict:
    frame = {
        "type": "overview",
        "instance": "web-1",
        "connections": 7,
        "spectators": 2,
        "rooms_by_status": {"lobby": 3, "playing": 2, "finished": 11},
        "steps_in_flight": [
            {
                "id": "5f0c2a8e-0000-4000-8000-000000000001",
                "room_id": "a1b2c3d4-0000-4000-8000-000000000001",
                "user_id": 4,
                "age_seconds": 95.2,
                "lease_expires_in": -12.4,
                "stuck": True,
            },
            {
                "id": "5f0c2a8e-0000-4000-8000-000000000002",
                "room_id": "a1b2c3d4-0000-4000-8000-000000000002",
                "user_id": 9,
                "age_seconds": 3.0,
                "lease_expires_in": 21.0,
                "stuck": False,
            },
        ],
        "generator": {
            "p50_ms": 850.4,
            "p95_ms": 2400.0,
            "count": 40,
            "failures": {"timeout": 2, "refused": 1, "generator_unavailable": 1},
        },
        "seam_scores": [
            {
                "step_id": f"0000000{n}-0000-4000-8000-000000000000",
                "room_id": "a1b2c3d4-0000-4000-8000-000000000001",
                "seam_score": score,
                "context_drift": 3.25,
                "at": "2025-01-01T00:00:00+00:00",
            }
            for n, score in enumerate([0.42, 1.5, 4.2])
        ],
        "audit": [],
        "purchases": [
            {
                "session_id": f"cs_test_00000{n}",
                "user_id": 7,
                "credits": 50,
                "amount": 500,
                "currency": "usd",
                "status": status,
                "clawed_back": 0 if status == "paid" else 20,
                "shortfall": 0 if status == "paid" else 30,
                "created_at": "2025-01-01T00:00:00+00:00",
                "paid_at": "2025-01-01T00:00:05+00:00",
            }
            for n, status in enumerate(["paid", "disputed"])
        ],
    }
    frame["shortfalls"] = [purchase for purchase in frame["purchases"] if purchase["shortfall"]]
    return {**frame, **changes}


async def test_stuck_steps_stand_out_and_the_feed_reconnects(browser, served, shots):
    """The socket is played by the test: a stuck step, seam scores, an error frame, a dropped feed."""
    boss = await person(browser, served, shots, "Boss", width=375, height=900)
    page = boss.page
    sockets = []

    def play_server(socket) -> None:
        sockets.append(socket)
        socket.send(json.dumps(_overview()))

    me = {"id": 1, "email": "boss@example.com", "display_name": "Boss", "credits": 0, "is_admin": True}
    await page.route("**/api/session", lambda route: route.fulfill(json={"user": me, "billing": False}))
    await page.route("**/api/admin/rooms*", lambda route: route.fulfill(json={"rooms": []}))
    await page.route_web_socket("**/ws/admin", play_server)
    try:
        await page.goto("/admin")
        await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        stuck = page.locator("#steps-table tr[data-id='5f0c2a8e-0000-4000-8000-000000000001']")
        healthy = page.locator("#steps-table tr[data-id='5f0c2a8e-0000-4000-8000-000000000002']")
        await expect(stuck).to_have_class("stuck")
        await expect(stuck.locator(".stuck-badge")).to_be_visible()
        await expect(stuck.locator(".lease")).to_have_text("expired 0:13 ago")
        await expect(stuck.locator(".age")).to_have_text("1:36")
        await expect(healthy.locator(".stuck-badge")).to_be_hidden()
        await expect(healthy.locator(".lease")).to_have_text("0:21")
        await expect(page.locator("#p50")).to_have_text("850 ms")
        await expect(page.locator("#failures li")).to_have_count(3)
        await expect(page.locator("#failures li").first).to_contain_text("timeout")
        # A step the generator could not paint for want of a key, model or quota: the alarm.
        await expect(page.locator("#generator-alarm")).to_contain_text("Generator unavailable: 1 step")
        await expect(page.locator("#seams li")).to_have_count(3)
        for n, band in enumerate(["good", "fair", "poor"]):
            await expect(page.locator("#seams li").nth(n)).to_have_class(f"seam-{band}")
        await expect(page.locator("#seams li .drift").first).to_have_text("drift 3.3")
        await expect(page.locator("#purchases li")).to_have_count(2)
        await expect(page.locator("#shortfalls li")).to_have_text(re.compile("disputed, 30 not recovered"))
        await expect(page.locator("#rooms-empty")).to_be_visible()
        await page.screenshot(path=shots / "boss-stuck-375-full.png", full_page=True, animations="disabled")
        await axe_clean(boss, "a stuck step on a phone")

        # The focus stays on a row's button while frames keep coming.
        button = healthy.get_by_role("button", name="Release the lease")
        await button.focus()
        sockets[-1].send(json.dumps(_overview(connections=8)))
        await expect(page.locator("#connections")).to_have_text("8")
        await expect(button).to_be_focused()

        sockets[-1].send(
            json.dumps({"type": "error", "code": "internal", "message": "The overview could not be built."})
        )
        await expect(page.locator("#feed-error")).to_have_text("The overview could not be built.")

        # Dropped: it says so, then comes back by itself with fresh figures.
        await sockets[-1].close(code=1012, reason="restarting")
        await expect(page.locator("#connection")).to_have_attribute("data-state", "reconnecting")
        await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        assert len(sockets) == 2
        await expect(page.locator("#feed-error")).to_be_hidden()
        await expect(page.locator("#connections")).to_have_text("7")
        boss.assert_clean()
    finally:
        await boss.context.close()
