"""Accounts and the lobby: errors next to their fields, whose turn it is, unread activity, and a
room that is usable by keyboard and on a 375 px phone."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.ui import (
    PASSWORD,
    axe_clean,
    in_view,
    live,
    paint,
    person,
    refused,
    sign_up,
    start_with_two,
    tiles_shown,
)


async def test_account_errors_show_next_to_the_field_they_concern(browser, served, shots):
    ada = await person(browser, served, shots, "Ada")
    page = ada.page
    try:
        await page.goto("/")
        await page.fill("#signup-email", "not-an-email")
        await page.fill("#signup-display-name", "Ada")
        await page.fill("#signup-password", "short")
        await page.click("#signup-form button[type=submit]")
        email_error = page.locator("#signup-form .field-error[data-for=email]")
        await expect(email_error).to_have_text("Must be an email address.")
        await expect(page.locator("#signup-email")).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#signup-email")).to_be_focused()
        await ada.shot("signup-error")

        await page.fill("#signup-email", "ada@example.com")
        await page.click("#signup-form button[type=submit]")
        await expect(email_error).to_be_hidden()
        await expect(page.locator("#signup-form .field-error[data-for=password]")).to_contain_text(
            "at least 10 characters"
        )

        email = await sign_up(ada)
        await page.click("#logout")
        await expect(page.locator("#signup-form")).to_be_visible()
        await page.fill("#signup-email", email)
        await page.fill("#signup-display-name", "Ada again")
        await page.fill("#signup-password", PASSWORD)
        await page.click("#signup-form button[type=submit]")
        await expect(email_error).to_have_text("An account with this email already exists.")

        await page.fill("#login-email", email)
        await page.fill("#login-password", "not the password")
        await page.click("#login-form button[type=submit]")
        await expect(page.locator("#login-form .form-error")).to_have_text("Wrong email or password.")
        await page.fill("#login-password", PASSWORD)
        await page.click("#login-form button[type=submit]")
        await expect(page.locator(".lobby-hero")).to_contain_text("Hi Ada!")
        # The malformed email and the short password were caught before any request; only what
        # the page could not know was refused.
        ada.assert_clean(refused(409, "/api/auth/signup"), refused(401, "/api/auth/login"))
    finally:
        await ada.context.close()


async def _poll_lobby(someone) -> None:
    """Has the lobby ask for its rooms now (as when its tab comes back) and waits until it shows them."""
    before = int(await someone.page.get_attribute("#my-rooms", "data-polls") or 0)
    await someone.page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    await someone.page.wait_for_function(
        "before => Number(document.querySelector('#my-rooms').dataset.polls) > before", arg=before
    )


async def test_lobby_shows_whose_turn_and_new_activity_and_the_room_fits_a_phone(browser, served, shots):
    ada = await person(browser, served, shots, "Ada")
    bo = await person(browser, served, shots, "Bo", width=375, height=812)
    try:
        room_id = await start_with_two(ada, bo, "Rooftop picnic")

        # Bo goes back to the lobby: the room says whose turn it is.
        await bo.page.click("a.back")
        item = bo.page.locator(f"#my-rooms a[data-room-id='{room_id}']")
        await expect(item).to_contain_text("Ada's turn")
        await expect(item.locator(".unread")).to_have_count(0)
        await expect(bo.page.locator("#my-rooms")).to_have_attribute("data-polls", "1")
        heard_before = len(await bo.heard())

        # Ada plays while Bo is away; his lobby shows new activity and that it is his turn, and
        # says so once. The list is no live region: asking again, with nothing new, says nothing.
        await paint(ada, "a picnic blanket on a rooftop")
        await tiles_shown(ada, 1)
        await _poll_lobby(bo)
        await expect(item).to_contain_text("Your turn!")
        await expect(item.locator(".unread")).to_have_text("new")
        await _poll_lobby(bo)
        assert (await bo.heard())[heard_before:] == ["It is your turn in “Rooftop picnic”."]
        await bo.shot("lobby-new-activity")
        await axe_clean(bo, "the lobby on a phone")

        # On the phone his turn is in view without scrolling (the card docks at the bottom of the
        # screen), the focus in the prompt; the room fits the width; he plays by keyboard alone.
        await item.click()
        await live(bo)
        await expect(bo.page.locator(".turn-title")).to_have_text("Your turn!")
        prompt = bo.page.locator("#prompt")
        paint_it = bo.page.locator(".composer button[type=submit]")
        await expect(prompt).to_be_focused()
        await in_view(bo.page, prompt, paint_it, bo.page.locator(".direction-grid"))
        assert await bo.page.evaluate("document.documentElement.scrollWidth") <= 375
        await bo.page.keyboard.type("pigeons stealing the sandwiches")
        await bo.page.keyboard.press("Tab")
        focused = await bo.page.evaluate(
            "(() => { const el = document.activeElement; const arrow = el.nextElementSibling;"
            " return [el.name, getComputedStyle(arrow).outlineStyle]; })()"
        )
        assert focused == ["direction", "solid"], focused  # the picker, with a visible focus ring
        await bo.page.keyboard.press("ArrowDown")
        await expect(bo.page.locator("#direction-down")).to_be_checked()
        await bo.shot("phone-composing")
        await axe_clean(bo, "his turn on a phone")
        await bo.page.keyboard.press("Tab")
        await expect(paint_it).to_be_focused()
        await bo.page.keyboard.press("Enter")
        await tiles_shown(bo, 2)
        await tiles_shown(ada, 2)
        assert await bo.page.evaluate("document.documentElement.scrollWidth") <= 375
        await bo.shot("phone-two-tiles")
        ada.assert_clean()
        bo.assert_clean()
    finally:
        for someone in (ada, bo):
            await someone.context.close()
