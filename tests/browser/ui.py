"""Playing EXQUISITE through its pages, as a person would: one browser context per person."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Locator, Page, WebSocket, expect

PASSWORD = "correct horse battery"
TIMEOUT_MS = 10_000
_emails = (f"browser{n}@example.com" for n in itertools.count())
_axe = Axe()

# Installed in every page before its own scripts: records what a screen reader would be told,
# each piece of text added to (or written into) a live region that is not hidden from it.
_LISTEN = """
window.__heard = [];
(() => {
  const region = (node) => {
    for (let el = node.nodeType === 1 ? node : node.parentElement; el; el = el.parentElement) {
      if (el.getAttribute("aria-hidden") === "true") return null;
      const live = el.getAttribute("aria-live");
      if (live === "off") return null;
      if (live || ["status", "log", "alert"].includes(el.getAttribute("role"))) return el;
    }
    return null;
  };
  const record = (node, text) => {
    const where = region(node);
    text = (text || "").replace(/\\s+/g, " ").trim();
    if (!where || !text || (where.closest("[aria-hidden=true]"))) return;
    window.__heard.push({ region: where.id || where.className || where.tagName.toLowerCase(), text });
  };
  new MutationObserver((records) => {
    for (const change of records) {
      if (change.type === "characterData") record(change.target, change.target.textContent);
      for (const node of change.addedNodes) record(node, node.textContent);
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
})();
"""


@dataclass
class Person:
    name: str
    context: BrowserContext
    page: Page
    shots: Path
    errors: list[str] = field(default_factory=list)
    sockets: list[WebSocket] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)
    _shot_numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def shot(self, label: str) -> Path:
        path = self.shots / f"{self.name.lower()}-{next(self._shot_numbers):02d}-{label}.png"
        await self.page.screenshot(path=path, animations="disabled")
        return path

    def assert_clean(self, *expected: str) -> None:
        """No uncaught exception and no console error, not even the browser's report of a refused
        request (the page asks nothing it knows will be refused), except messages starting with
        one of `expected`, e.g. `refused(422, "/api/auth/signup")` for a refusal a test provokes."""
        unexpected = [error for error in self.errors if not error.startswith(tuple(f"console: {e}" for e in expected))]
        assert not unexpected, unexpected

    async def heard(self) -> list[str]:
        """What a screen reader was told since the page loaded, in order (see _LISTEN)."""
        return [entry["text"] for entry in await self.page.evaluate("window.__heard")]


def refused(status: int, path: str) -> str:
    """The console's report of a request refused with `status`, for Person.assert_clean."""
    return f"Failed to load resource: the server responded with a status of {status} ({path}"


async def axe_clean(someone: Person, label: str) -> None:
    """axe-core finds no violation, of any impact, on the page as it is now."""
    results = await _axe.run(someone.page)
    assert results.violations_count == 0, f"{someone.name} at {label}: {results.generate_report()}"


async def uncovered(page: Page, *selectors: str) -> None:
    """Toasts are on screen and (once they have settled) overlap no element matching `selectors`."""
    await expect(page.locator("#toasts .toast").first).to_be_visible()
    await page.wait_for_function(
        """selectors => {
            const boxes = (selector) => [...document.querySelectorAll(selector)]
                .map((node) => node.getBoundingClientRect()).filter((box) => box.width && box.height);
            const toasts = boxes("#toasts .toast");
            const apart = (a, b) => a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top;
            const clear = (selector) => boxes(selector).every((box) => toasts.every((toast) => apart(toast, box)));
            return toasts.length > 0 && selectors.every(clear);
        }""",
        arg=list(selectors),
    )


async def in_view(page: Page, *locators: Locator) -> None:
    """Each of `locators` is wholly inside the viewport, as the page is scrolled now."""
    size = page.viewport_size
    for locator in locators:
        box = await locator.bounding_box()
        assert box is not None, locator
        inside = box["x"] >= 0 and box["y"] >= 0
        inside = inside and box["x"] + box["width"] <= size["width"] and box["y"] + box["height"] <= size["height"]
        assert inside, f"{locator} at {box} is not inside {size}"


async def person(
    browser: Browser, server, shots: Path, name: str, *, width: int = 1280, height: int = 860, touch: bool = False
) -> Person:
    context = await browser.new_context(
        base_url=server.url, viewport={"width": width, "height": height}, has_touch=touch
    )
    context.set_default_timeout(TIMEOUT_MS)
    await context.add_init_script(_LISTEN)
    page = await context.new_page()
    someone = Person(name, context, page, shots)

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        text = message.text
        if text.startswith("Failed to load resource"):
            url = urlsplit(message.location.get("url", ""))
            text = f"{text.split(' (')[0]} ({url.path}{'?' + url.query if url.query else ''})"
        someone.errors.append(f"console: {text}")

    def on_socket(socket: WebSocket) -> None:
        someone.sockets.append(socket)
        socket.on("framereceived", lambda payload: someone.frames.append(payload))

    page.on("console", on_console)
    page.on("pageerror", lambda error: someone.errors.append(f"page error: {error}"))
    page.on("websocket", on_socket)
    return someone


async def sign_up(someone: Person, display_name: str | None = None) -> str:
    """Fills the sign-up form on the page that shows it; returns the email."""
    page = someone.page
    email = next(_emails)
    await page.fill("#signup-email", email)
    await page.fill("#signup-display-name", display_name or someone.name)
    await page.fill("#signup-password", PASSWORD)
    await page.click("#signup-form button[type=submit]")
    await expect(page.locator("#account-name")).to_have_text(display_name or someone.name)
    return email


async def create_room(
    someone: Person, name: str, *, mode: str = "open", max_steps: int = 16, turn_seconds: int | None = None
) -> str:
    """From the lobby: creates a room with 256 px tiles and waits for its page; returns its id."""
    page = someone.page
    await page.fill("#room-name", name)
    await page.check(f"#create-room input[name=mode][value={mode}]")
    await page.select_option("#tile-size", "256")
    await page.fill("#max-steps", str(max_steps))
    if turn_seconds is not None:
        await page.fill("#turn-seconds", str(turn_seconds))
    await page.click("#create-room button[type=submit]")
    await page.wait_for_url("**/rooms/*")
    await expect(page.locator(".room-title")).to_have_text(name)
    await live(someone)
    return page.url.rsplit("/", 1)[1]


async def live(someone: Person) -> None:
    await expect(someone.page.locator("#connection")).to_have_attribute("data-state", "live")


async def paint(someone: Person, prompt: str, direction: str | None = None) -> None:
    """Writes a prompt, picks a direction (or keeps the default) and sends it."""
    page = someone.page
    await expect(page.locator(".turn-title")).to_have_text("Your turn!")
    await page.fill("#prompt", prompt)
    if direction:
        await page.check(f"#direction-{direction}")
    await page.click(".composer button[type=submit]")


async def tiles_shown(someone: Person, count: int) -> None:
    await expect(someone.page.locator(".board img.tile")).to_have_count(count)


async def image_loaded(page: Page, selector: str) -> int:
    """Waits until the image at `selector` has loaded; returns its natural width."""
    handle = await page.wait_for_function(
        "selector => { const img = document.querySelector(selector); return img && img.complete && img.naturalWidth; }",
        arg=selector,
    )
    return await handle.json_value()


async def start_with_two(ada: Person, bo: Person, room_name: str, **room) -> str:
    """Ada signs up and creates an open room; Bo opens her invite link signed out, signs up and
    lands in the room; Ada starts. Returns the room id."""
    await ada.page.goto("/")
    await sign_up(ada)
    room_id = await create_room(ada, room_name, **room)
    await bo.page.goto(await ada.page.input_value("#invite-link"))
    await sign_up(bo)
    await bo.page.wait_for_url(f"**/rooms/{room_id}")
    await live(bo)
    await ada.page.click("#start-game")
    await expect(bo.page.locator(".turn-title")).to_have_text("Ada's turn")
    return room_id
