"""The browser client: its pages (one document that routes in the browser) and static files."""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from storage import members, rooms, steps
from storage.rooms import RoomStatus

if TYPE_CHECKING:  # the services import the error handlers, which import this module
    from server.services import Services

__all__ = ["routes", "CLIENT_DIR", "PAGES", "prefers_html", "not_found_page"]

CLIENT_DIR = Path(__file__).resolve().parent.parent.parent / "client"
# The client routes in the browser; each of these paths loads the same document.
PAGES = ("/", "/rooms/{room_id}", "/join/{room_id}")
# The largest side of the picture a link preview shows (Open Graph's own advice is 1200 px).
PREVIEW_SIDE = 1200


async def index(request: Request) -> Response:
    return FileResponse(CLIENT_DIR / "index.html", headers={"Cache-Control": "no-cache"})


async def share(request: Request) -> Response:
    """The share page: the same document, with the link-preview tags of a finished room in its
    head, so that chat apps and crawlers that run no script unfurl the link."""
    preview = await _preview(request)
    if preview is None:
        return await index(request)
    title, tags = preview
    document = _index_html().replace("<title>EXQUISITE</title>", f"<title>{html.escape(title)}</title>", 1)
    document = document.replace("</head>", tags + "</head>", 1)
    return HTMLResponse(document, headers={"Cache-Control": "no-cache"})


async def _preview(request: Request) -> tuple[str, str] | None:
    """A finished room's page title and its preview tags; None for any other room."""
    try:
        room_id = UUID(request.path_params["room_id"])
    except ValueError:
        return None
    services: Services = request.app.state.services
    async with services.db.acquire() as conn:
        found = await rooms.room_and_membership(conn, room_id, None)
        if found is None or found[0].status is not RoomStatus.FINISHED:
            return None
        room = found[0]
        tiles = await steps.room_tiles(conn, room.id)
        names = {m.user_id: m.display_name for m in await members.all_members(conn, room.id)}
    authors = list(dict.fromkeys(names.get(tile.author_id, "a former player") for tile in tiles))
    count = f"{len(tiles)} tile" + ("" if len(tiles) == 1 else "s")
    description = f"{count} by {_listed(authors)}." if authors else "An empty canvas."
    base = (services.settings.public_url or str(request.base_url)).rstrip("/")
    image = f"{base}/api/rooms/{room.id}/canvas.png?max={PREVIEW_SIDE}"
    title = f"{room.name} · EXQUISITE"
    properties = {
        "og:type": "website",
        "og:site_name": "EXQUISITE",
        "og:title": title,
        "og:description": description,
        "og:url": f"{base}/share/{room.id}",
        "og:image": image,
        "og:image:alt": f"The canvas of {room.name}",
    }
    cards = {"twitter:card": "summary_large_image", "twitter:title": title, "twitter:description": description}
    lines = [f'<meta property="{key}" content="{html.escape(value)}">' for key, value in properties.items()]
    lines += [f'<meta name="{key}" content="{html.escape(value)}">' for key, value in cards.items()]
    lines.append(f'<meta name="description" content="{html.escape(description)}">')
    return title, "".join(f"  {line}\n" for line in lines)


def _listed(names: list[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@cache
def _index_html() -> str:
    return (CLIENT_DIR / "index.html").read_text(encoding="utf-8")


async def dashboard(request: Request) -> Response:
    return FileResponse(CLIENT_DIR / "admin.html", headers={"Cache-Control": "no-cache"})


class ClientFiles(StaticFiles):
    """The client's scripts and styles, revalidated on every visit: the ETag answers 304 for
    what has not changed, and a deploy is seen at once (the modules import each other by name,
    so their addresses cannot carry a content hash without a build step)."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


routes: list[BaseRoute] = [
    *(Route(path, index, methods=["GET"]) for path in PAGES),
    Route("/share/{room_id}", share, methods=["GET"]),
    Route("/admin", dashboard, methods=["GET"]),
    Mount("/client", ClientFiles(directory=CLIENT_DIR), name="client"),
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
