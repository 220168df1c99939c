"""/share/{id} of a finished room carries its link preview in the HTML itself (Open Graph and
Twitter card tags), for crawlers and chat apps that run no script; other rooms get the plain page."""

import html
import io
from html.parser import HTMLParser

from PIL import Image

from tests.play import join, new_player, open_room, start, step_and_settle


class _Head(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "meta" and "content" in found:
            self.meta[found.get("property") or found.get("name") or ""] = found["content"]
        self._in_title = tag == "title"

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag):
        self._in_title = False


def _head(text: str) -> _Head:
    parser = _Head()
    parser.feed(text)
    return parser


async def test_a_finished_rooms_share_page_unfurls_without_javascript(client):
    host, host_user = await new_player(client)
    guest, guest_user = await new_player(client)
    room = await open_room(host, name='Harbour <"night">', max_steps=3)
    await join(guest, room)
    await start(host, room)
    await step_and_settle(host, room["id"])
    await step_and_settle(guest, room["id"], "down")
    url = f"/share/{room['id']}"
    before = _head((await client.get(url)).text)  # still playing: no preview yet
    assert "og:title" not in before.meta and before.title == "EXQUISITE"

    await step_and_settle(host, room["id"], "right")
    page = await client.get(url, headers={"Accept": "text/html"})  # anonymous, as a crawler is
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<"night">' not in page.text  # escaped
    head = _head(page.text)
    title = 'Harbour <"night"> · EXQUISITE'
    assert head.title == title and head.meta["og:title"] == title == head.meta["twitter:title"]
    names = f"{host_user['display_name']} and {guest_user['display_name']}"
    assert head.meta["og:description"] == f"3 tiles by {names}." == html.unescape(head.meta["description"])
    assert head.meta["twitter:card"] == "summary_large_image"
    assert head.meta["og:url"] == f"http://testserver/share/{room['id']}"
    image_url = head.meta["og:image"]
    assert image_url.startswith("http://testserver/api/rooms/")
    picture = await client.get(image_url.removeprefix("http://testserver"))
    assert picture.status_code == 200 and "etag" in picture.headers
    assert max(Image.open(io.BytesIO(picture.content)).size) <= 1200


async def test_share_pages_of_unknown_rooms_are_the_plain_page(client):
    for room_id in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        page = await client.get(f"/share/{room_id}")
        assert page.status_code == 200 and "og:title" not in page.text and "<title>EXQUISITE</title>" in page.text
