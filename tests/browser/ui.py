"""Playing EXQUISITE through its pages, as a person would: one browser context per person."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, WebSocket, expect

PASSWORD = "correct horse battery"
TIMEOUT_MS = 10_000
_emails = (f"browser{n}@example.com" for n in itertools.count())


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
        """No uncaught exception and no console error, except the browser's own report of an HTTP
        refusal the page handled (a 401 while signed out, a 422 shown next to its field) and
        messages starting with one of `expected`."""
        unexpected = [error for error in self.errors if not error.startswith(tuple(f"console: {e}" for e in expected))]
        assert not unexpected, unexpected


async def person(browser: Browser, server, shots: Path, name: str, *, width: int = 1280, height: int = 860) -> Person:
    context = await browser.new_context(base_url=server.url, viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    someone = Person(name, context, page, shots)

    def on_console(message: ConsoleMessage) -> None:
        handled = message.text.startswith("Failed to load resource: the server responded with a status of 4")
        if message.type == "error" and not handled:
            someone.errors.append(f"console: {message.text}")

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
