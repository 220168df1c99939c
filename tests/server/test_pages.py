"""A browser that asks for an address that is no page gets a small HTML page with the way back;
API clients, and everything under /api/, keep the JSON envelope."""

from __future__ import annotations

import pytest

from server.http.middleware import CONTENT_SECURITY_POLICY
from server.http.pages import prefers_html

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER, True),
        ("text/html", True),
        ("text/*;q=0.9, application/json;q=0.5", True),
        ("*/*", False),  # curl, httpx, fetch(): no preference, so the API's answer
        ("", False),
        ("application/json", False),
        ("application/json, text/html;q=0.9", False),
        ("text/html;q=0.5, application/json;q=0.5", False),
        ("text/html;q=0", False),
        ("text/html;q=zero, */*", False),
        ("image/avif,image/webp,*/*;q=0.8", False),  # an <img> that is missing
    ],
)
def test_html_is_preferred_only_when_the_accept_header_ranks_it_first(accept, html):
    assert prefers_html(accept) is html


async def test_a_browser_gets_an_html_404_with_the_way_back(client):
    response = await client.get("/no/such/<page>", headers={"Accept": BROWSER})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    body = response.text
    assert '<html lang="en">' in body and "<title>" in body and "<main" in body
    assert '<a class="button primary" href="/">' in body
    assert "/no/such/&lt;page&gt;" in body and "<page>" not in body  # the path, escaped
    assert "<script" not in body and "style=" not in body  # nothing the policy would refuse


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/no/such/page", "*/*"),
        ("/no/such/page", "application/json"),
        ("/api/no-such-route", BROWSER),
        ("/api", BROWSER),
    ],
)
async def test_api_clients_and_api_paths_keep_the_json_envelope(client, path, accept):
    response = await client.get(path, headers={"Accept": accept})
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such page."}}


async def test_a_missing_file_or_a_post_keeps_the_envelope_even_from_a_browser(client):
    response = await client.get("/client/no-such.js", headers={"Accept": "*/*"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    response = await client.post("/no/such/page", headers={"Accept": BROWSER})
    assert response.status_code in (404, 405) and "error" in response.json()
