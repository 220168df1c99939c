"""The browser client: its pages (one document that routes in the browser) and static files."""

from __future__ import annotations

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ["routes", "CLIENT_DIR", "PAGES", "prefers_html", "not_found_page"]

CLIENT_DIR = Path(__file__).resolve().parent.parent.parent / "client"
# The client routes in the browser; each of these paths loads the same document.
PAGES = ("/", "/rooms/{room_id}", "/join/{room_id}", "/share/{room_id}")


async def index(request: Request) -> Response:
    return FileResponse(CLIENT_DIR / "index.html", headers={"Cache-Control": "no-cache"})


async def dashboard(request: Request) -> Response:
    return FileResponse(CLIENT_DIR / "admin.html", headers={"Cache-Control": "no-cache"})


routes: list[BaseRoute] = [
    *(Route(path, index, methods=["GET"]) for path in PAGES),
    Route("/admin", dashboard, methods=["GET"]),
    Mount("/client", StaticFiles(directory=CLIENT_DIR), name="client"),
]


# What a browser gets for an address that is no page: the client's look, no script, and the way back.
_NOT_FOUND = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light">
  <title>Page not found · EXQUISITE</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/client/style.css">
</head>
<body>
  <header class="topbar">
    <a class="brand" href="/" aria-label="EXQUISITE, home">
      <span class="brand-mark" aria-hidden="true"><i></i><i></i><i></i><i></i></span>EXQUISITE
    </a>
  </header>
  <main id="main">
    <section class="card narrow">
      <h1>Nothing here</h1>
      <p>There is no page at <code>{path}</code>. The address may be mistyped, or the page may be gone.</p>
      <p><a class="button primary" href="/">Go to EXQUISITE</a></p>
    </section>
  </main>
</body>
</html>
"""

# The ranges of an Accept header that match each answer, most specific first.
_HTML_RANGES = ("text/html", "text/*", "*/*")
_JSON_RANGES = ("application/json", "application/*", "*/*")


def _quality(ranges: dict[str, float], candidates: tuple[str, ...]) -> float:
    for media in candidates:
        if media in ranges:
            return ranges[media]
    return 0.0


def prefers_html(accept: str) -> bool:
    """Whether an Accept header ranks HTML above JSON (a browser's address bar does; `*/*` does not)."""
    ranges: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        if media:
            ranges[media.lower()] = max(quality, ranges.get(media.lower(), 0.0))
    return _quality(ranges, _HTML_RANGES) > _quality(ranges, _JSON_RANGES)


def not_found_page(request: Request) -> Response | None:
    """The HTML 404 for a browser that asked for a page (not under /api/); None for everyone else,
    who keeps the JSON envelope."""
    path = request.url.path
    if request.method not in ("GET", "HEAD") or path == "/api" or path.startswith("/api/"):
        return None
    if not prefers_html(request.headers.get("accept", "")):
        return None
    body = _NOT_FOUND.replace("{path}", html.escape(path))
    return HTMLResponse(body, 404, headers={"Cache-Control": "no-cache"})
