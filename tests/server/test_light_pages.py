"""Pages stay light: text is compressed, pictures are not compressed twice, and a repeat visit
revalidates the client's files instead of downloading them again."""

import pytest

from tests.play import new_player, open_room, start, step_and_settle


@pytest.mark.parametrize("path", ["/", "/client/app.js", "/client/style.css", "/openapi.json"])
async def test_text_is_gzipped_when_the_browser_accepts_it(client, path):
    plain = await client.get(path, headers={"Accept-Encoding": "identity"})
    packed = await client.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.status_code == plain.status_code == 200
    assert packed.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert int(packed.headers["content-length"]) < len(plain.content) / 2
    assert packed.content == plain.content  # httpx decoded it: the same text


async def test_a_repeat_visit_gets_304_for_every_unchanged_client_file(client):
    for path in ["/client/app.js", "/client/style.css", "/client/board.js"]:
        first = await client.get(path)
        assert first.status_code == 200 and first.headers["etag"]
        assert "no-cache" in first.headers["cache-control"]  # always revalidated, so never stale
        again = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and not again.content


async def test_pictures_are_not_compressed_again(client):
    host, _ = await new_player(client)
    room = await start(host, await open_room(host))
    tile = (await step_and_settle(host, room["id"]))["tile"]
    for url in (tile["url"], tile["url"].removesuffix(".png") + ".webp"):
        answer = await client.get(url, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200 and "content-encoding" not in answer.headers
