"""The browser client: its pages (one document that routes in the browser) and static files."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ["routes", "CLIENT_DIR", "PAGES"]

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
