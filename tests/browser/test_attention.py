"""A player in another tab is told that it is their turn: title, favicon, sound, notification."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.ui import axe_clean, live, paint, person, start_with_two

# Installed in Bo's pages before their scripts. Playwright cannot hide a tab, so the page's idea
# of its visibility is ours to set (window.__see); notifications and beeps are counted, not shown.
_AWAY = """
(() => {
  let state = "visible";
  Object.defineProperty(Document.prototype, "visibilityState", { configurable: true, get: () => state });
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: () => state === "hidden" });
  window.__see = (next) => { state = next; document.dispatchEvent(new Event("visibilitychange")); };
  window.__notes = [];
  const Real = window.Notification;
  window.Notification = class {
    constructor(title, options) { Object.assign(this, { title, options, closed: false }); window.__notes.push(this); }
    close() { this.closed = true; }
    static get permission() { return Real.permission; }
    static requestPermission() { return Real.requestPermission(); }
  };
  window.__beeps = 0;
  const oscillator = AudioContext.prototype.createOscillator;
  AudioContext.prototype.createOscillator = function () { window.__beeps += 1; return oscillator.call(this); };
})();
"""
NOTES = "window.__notes.map((n) => ({ title: n.title, tag: n.options.tag, body: n.options.body, closed: n.closed }))"


async def test_a_hidden_tab_shows_the_players_turn_and_restores_when_seen(browser, served, shots):
    ada = await person(browser, served, shots, "Ada")
    bo = await person(browser, served, shots, "Bo")
    try:
        await bo.context.add_init_script(_AWAY)
        room_id = await start_with_two(ada, bo, "Night shift")
        page = bo.page
        icon = page.locator("link[rel=icon]")
        plain_icon = await icon.get_attribute("href")

        # Bo opts in to notifications (asked from the button, never on load; the browser says
        # yes for him) and to the sound, which plays once as a sample and is remembered.
        assert await page.evaluate("Notification.permission") == "default"
        await bo.context.grant_permissions(["notifications"], origin=served.url)
        await page.click("text=Notify me when it's my turn")
        await expect(page.locator(".attention-note")).to_have_text("Your browser will notify you when it is your turn.")
        await expect(page.locator(".attention-note")).to_be_focused()
        sound = page.locator(".attention-sound")
        await expect(sound).to_have_attribute("aria-pressed", "false")
        await sound.click()
        await expect(sound).to_have_attribute("aria-pressed", "true")
        assert await page.evaluate("[localStorage.getItem('exq:turn-sound'), window.__beeps]") == ["on", 1]
        await bo.shot("alerts-on")
        await axe_clean(bo, "the room with his turn alerts on")

        # He goes to another tab. Ada's turn is not his business: nothing changes.
        await page.evaluate("window.__see('hidden')")
        await expect(page).to_have_title("Night shift · EXQUISITE")
        await paint(ada, "a night ferry crossing")
        await expect(page).to_have_title("● Your turn · Night shift · EXQUISITE")
        badged = await icon.get_attribute("href")
        assert badged != plain_icon and badged.startswith("data:image/svg+xml,") and "circle" in badged
        notes = await page.evaluate(NOTES)
        assert notes == [
            {
                "title": "Your turn in EXQUISITE",
                "tag": f"exquisite-turn-{room_id}",
                "body": "Night shift: write a prompt and pick a direction.",
                "closed": False,
            }
        ]
        assert await page.evaluate("window.__beeps") == 2

        # He comes back: the title, the icon and the notification go back to normal.
        await page.evaluate("window.__see('visible')")
        await expect(page).to_have_title("Your turn! · Night shift · EXQUISITE")
        await expect(icon).to_have_attribute("href", plain_icon)
        assert [note["closed"] for note in await page.evaluate(NOTES)] == [True]

        # Away again with his turn still waiting: the badge is back, but the turn calls only once.
        await page.evaluate("window.__see('hidden')")
        await expect(page).to_have_title("● Your turn · Night shift · EXQUISITE")
        await page.evaluate("window.__see('visible')")
        await expect(icon).to_have_attribute("href", plain_icon)

        # The sound choice is remembered on the next visit; the notification stays allowed.
        await page.reload()
        await live(bo)
        await expect(sound).to_have_attribute("aria-pressed", "true")
        await expect(page.locator(".attention-note")).to_be_visible()
        assert await page.evaluate("[window.__notes.length, window.__beeps]") == [0, 0]
        ada.assert_clean()
        bo.assert_clean()
    finally:
        for someone in (ada, bo):
            await someone.context.close()
