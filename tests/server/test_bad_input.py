"""Every field of the account routes, broken every way: a 4xx envelope, and nothing created."""

import json

import pytest

from tests.conftest import signup

VALID = {"email": "valid@example.com", "password": "0123456789", "display_name": "Valid"}
CREDENTIAL_FIELDS = ["email", "password"]

BROKEN_VALUES = {
    "missing": ...,
    "null": None,
    "number": 12345,
    "list": ["a"],
    "object": {"a": 1},
    "empty": "",
    "control": "abc\x00def",
    "escape": "abc\x1bdef",
    "surrogate": "\ud800abc",
}
TOO_LONG = {
    "email": "a" * 250 + "@example.com",
    "password": "p" * 1025,
    "display_name": "n" * 41,
}


def _with(field, value):
    body = dict(VALID)
    if value is ...:
        del body[field]
    else:
        body[field] = value
    return body


async def _table_counts(db) -> tuple:
    return tuple(
        [await db.fetchval(f"SELECT count(*) FROM {table}") for table in ("users", "sessions", "credit_ledger")]
    )


async def _post(client, path, body):
    # json.dumps writes a lone surrogate as an escape, as a hostile client would send it.
    return await client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})


def _assert_envelope(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize("field", ["email", "password", "display_name"])
@pytest.mark.parametrize("kind", [*BROKEN_VALUES, "too_long"])
async def test_signup_refuses_a_broken_field_and_creates_nothing(client, db, field, kind):
    value = TOO_LONG[field] if kind == "too_long" else BROKEN_VALUES[kind]
    if field == "password" and kind == "escape":
        value = "short\x1b"
    response = await _post(client, "/api/auth/signup", _with(field, value))
    _assert_envelope(response, 422, "invalid_field")
    assert response.json()["error"]["field"] == field
    assert field in response.json()["error"]["message"]
    assert await _table_counts(db) == (0, 0, 0)


@pytest.mark.parametrize("value", ["no-at-sign", "two@@example.com", "a@b", "sp ace@example.com"])
async def test_signup_refuses_malformed_emails(client, db, value):
    response = await client.post("/api/auth/signup", json=_with("email", value))
    _assert_envelope(response, 422, "invalid_field")
    assert await _table_counts(db) == (0, 0, 0)


async def test_signup_refuses_a_short_password(client, db):
    response = await client.post("/api/auth/signup", json=_with("password", "123456789"))
    _assert_envelope(response, 422, "invalid_field")
    assert "at least 10" in response.json()["error"]["message"]


@pytest.mark.parametrize("field", CREDENTIAL_FIELDS)
@pytest.mark.parametrize("kind", ["missing", "null", "number", "surrogate"])
async def test_login_refuses_a_broken_field(client, db, field, kind):
    await signup(client, email=VALID["email"], password=VALID["password"])
    before = await _table_counts(db)
    body = _with(field, BROKEN_VALUES[kind])
    body.pop("display_name")
    response = await _post(client, "/api/auth/login", body)
    _assert_envelope(response, 422, "invalid_field")
    assert await _table_counts(db) == before


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"not json", b"[1, 2]", b'"string"', b"\xff\xfe\x00garbage", b'{"email": "\xff"}'],
)
async def test_malformed_bodies_are_400(client, db, raw):
    for path in ("/api/auth/signup", "/api/auth/login"):
        response = await client.post(path, content=raw, headers={"content-type": "application/json"})
        _assert_envelope(response, 400, "malformed_json")
    assert await _table_counts(db) == (0, 0, 0)


async def test_body_over_one_mebibyte_is_413(client, db):
    body = json.dumps({**VALID, "display_name": "x" * (1024 * 1024)}).encode()
    response = await client.post("/api/auth/signup", content=body, headers={"content-type": "application/json"})
    _assert_envelope(response, 413, "too_large")

    async def chunks():  # no Content-Length: the limit must hold on the stream too
        for _ in range(20):
            yield b" " * 65536

    response = await client.post("/api/auth/signup", content=chunks(), headers={"content-type": "application/json"})
    _assert_envelope(response, 413, "too_large")
    assert await _table_counts(db) == (0, 0, 0)


async def test_unknown_route_and_wrong_method_use_the_envelope(client):
    response = await client.get("/api/nothing-here")
    _assert_envelope(response, 404, "not_found")
    response = await client.get("/api/auth/signup")
    _assert_envelope(response, 405, "method_not_allowed")
    response = await client.delete("/api/me")
    _assert_envelope(response, 405, "method_not_allowed")


@pytest.mark.parametrize("shape", ["list", "object"])
async def test_deeply_nested_json_is_malformed_not_a_crash(client, db, shape):
    depth = 100_000
    raw = "[" * depth + "]" * depth if shape == "list" else '{"a":' * depth + "1" + "}" * depth
    response = await client.post("/api/auth/signup", content=raw.encode(), headers={"content-type": "application/json"})
    _assert_envelope(response, 400, "malformed_json")
    assert await _table_counts(db) == (0, 0, 0)


_TRACES = ("Traceback", "Exception in ASGI application", "Task exception was never retrieved")


async def test_hostile_input_to_a_real_server_gets_answers_and_leaves_no_trace_in_its_log(database_url, tmp_path, db):
    """A JSON integer past Python's 4,300 digits, hostile socket frames and a socket closed for
    being too slow (4008): each is answered, and the server's log holds no traceback."""
    import httpx
    import websockets

    from storage import events as event_log
    from tests.play import new_player, open_room
    from tests.servers import Served
    from tests.sockets import room_socket

    env = dict(DATABASE_URL=database_url, BUS_RESYNC_SECONDS=0.2, WS_SEND_QUEUE=4)
    async with Served(tmp_path / "served", **env) as server:
        async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}, timeout=30) as http:
            huge = b'{"email": "a@example.com", "password": ' + b"7" * 5000 + b"}"
            for path in ("/api/auth/login", "/api/auth/signup"):
                response = await http.post(path, content=huge, headers={"content-type": "application/json"})
                _assert_envelope(response, 400, "malformed_json")
            host, _ = await new_player(http)
            room = await open_room(host)
            async with room_socket(server, host, room["id"]) as sock:
                await sock.next("presence")
                for bad in (b"\x00\x01binary", "[" * 100_000, '{"a":' * 100_000, '{"n": ' + "9" * 5000 + "}"):
                    await sock.ws.send(bad)
                    assert (await sock.next("error"))["code"] == "malformed_json"
                # Too slow: the resync finds 20 events at once for a queue of 4, and closes with 4008.
                async with db.transaction():
                    for n in range(20):
                        await event_log.append_event(db, room["id"], "test.filler", {"n": n})
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    while True:
                        await sock.frame()
                assert closed.value.rcvd.code == 4008
        await server.stop()
    log = "".join(server.log)
    assert not [trace for trace in _TRACES if trace in log], log
