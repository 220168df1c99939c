"""Operators: every admin route allowed and refused, each action audited with its effect."""

import json
import logging
import uuid

import httpx
import pytest
import websockets
from websockets.asyncio.client import connect

from server.http.sessions import SESSION_COOKIE
from server.logs import JsonFormatter
from storage import accounts
from tests.conftest import make_settings, running_app
from tests.generators import gate
from tests.play import join, new_player, open_room, settle, snapshot, start, submit
from tests.servers import LiveServer
from tests.sockets import room_socket

REASON = {"reason": "support ticket 42"}


async def _admin(client, db):
    operator, user = await new_player(client)
    await accounts.make_admin(db, user["email"])
    return operator, user


async def _audit_rows(db) -> list:
    return [
        dict(r)
        for r in await db.fetch("SELECT action, target_type, target_id, reason, detail FROM admin_audit ORDER BY id")
    ]


def _code(response):
    return response.json()["error"]["code"]


ROUTES = [
    ("GET", "/api/admin/overview"),
    ("GET", "/api/admin/rooms"),
    ("GET", "/api/admin/steps"),
    ("GET", "/api/admin/audit"),
    ("POST", "/api/admin/steps/{step}/abort"),
    ("POST", "/api/admin/rooms/{room}/release-lease"),
    ("POST", "/api/admin/rooms/{room}/finish"),
    ("POST", "/api/admin/users/{user}/credits"),
    ("POST", "/api/admin/users/{user}/disable"),
]


@pytest.mark.parametrize("method, path", ROUTES)
async def test_admin_routes_refuse_players_and_strangers(client, db, method, path):
    player, user = await new_player(client)
    path = path.format(step=uuid.uuid4(), room=uuid.uuid4(), user=user["id"])
    body = {**REASON, "delta": 5} if method == "POST" else None
    response = await player.request(method, path, json=body)
    assert response.status_code == 403 and _code(response) == "not_admin"
    player.cookies.clear()
    response = await player.request(method, path, json=body)
    assert response.status_code == 401
    assert await _audit_rows(db) == []


async def test_abort_step_refunds_once_and_is_audited(client, db):
    operator, admin_user = await _admin(client, db)
    host, host_user = await new_player(client)
    room = await start(host, await open_room(host))
    hung = gate(client)
    step = (await submit(host, room["id"])).json()["step"]
    await hung.entered.wait()
    stuck = (await operator.get("/api/admin/steps")).json()["steps"]
    assert [s["id"] for s in stuck] == [step["id"]] and stuck[0]["stuck"] is False
    response = await operator.post(f"/api/admin/steps/{step['id']}/abort", json=REASON)
    assert response.status_code == 200
    assert response.json()["audit"]["action"] == "abort_step"
    again = await operator.post(f"/api/admin/steps/{step['id']}/abort", json=REASON)
    assert again.status_code == 409 and _code(again) == "step_not_running"
    hung.gate.set()
    await settle(host, room["id"])
    status = await db.fetchrow("SELECT status, reason FROM steps")
    assert tuple(status) == ("aborted", "admin_abort")
    assert (await host.get("/api/me")).json()["credits"] == host_user["credits"]
    rows = await _audit_rows(db)
    assert len(rows) == 1 and rows[0]["target_id"] == step["id"] and rows[0]["reason"] == REASON["reason"]
    assert await db.fetchval("SELECT admin_id FROM admin_audit") == admin_user["id"]


async def test_release_lease_aborts_its_step(client, db):
    operator, _ = await _admin(client, db)
    host, _ = await new_player(client)
    room = await start(host, await open_room(host))
    none = await operator.post(f"/api/admin/rooms/{room['id']}/release-lease", json=REASON)
    assert none.status_code == 409 and _code(none) == "no_lease"
    hung = gate(client)
    await submit(host, room["id"])
    await hung.entered.wait()
    response = await operator.post(f"/api/admin/rooms/{room['id']}/release-lease", json=REASON)
    assert response.status_code == 200
    assert await db.fetchval("SELECT count(*) FROM room_leases") == 0
    assert await db.fetchval("SELECT reason FROM steps") == "lease_released"
    hung.gate.set()
    await settle(host, room["id"])
    assert [r["action"] for r in await _audit_rows(db)] == ["release_lease"]


async def test_grant_and_revoke_credits_write_ledger_and_audit_together(client, db):
    operator, _ = await _admin(client, db)
    _player, user = await new_player(client)
    granted = await operator.post(f"/api/admin/users/{user['id']}/credits", json={"delta": 5, **REASON})
    assert granted.status_code == 200 and granted.json()["credits"] == user["credits"] + 5
    revoked = await operator.post(f"/api/admin/users/{user['id']}/credits", json={"delta": -3, **REASON})
    assert revoked.json()["credits"] == user["credits"] + 2
    too_much = await operator.post(f"/api/admin/users/{user['id']}/credits", json={"delta": -1000, **REASON})
    assert too_much.status_code == 402
    ledger = await db.fetch("SELECT delta, kind, reason FROM credit_ledger WHERE user_id = $1 ORDER BY id", user["id"])
    assert [tuple(r) for r in ledger][1:] == [
        (5, "admin_grant", REASON["reason"]),
        (-3, "admin_revoke", REASON["reason"]),
    ]
    assert [r["action"] for r in await _audit_rows(db)] == ["admin_grant", "admin_revoke"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"delta": 0, **REASON}, "delta"),
        ({"delta": "5", **REASON}, "delta"),
        ({"delta": 5}, "reason"),
        ({"delta": 5, "reason": " "}, "reason"),
        ({"delta": 10**6, **REASON}, "delta"),
    ],
)
async def test_bad_admin_input_is_refused_and_changes_nothing(client, db, body, field):
    operator, _ = await _admin(client, db)
    _, user = await new_player(client)
    response = await operator.post(f"/api/admin/users/{user['id']}/credits", json=body)
    assert response.status_code == 422 and response.json()["error"]["field"] == field
    assert await _audit_rows(db) == []
    for path in ["/api/admin/users/abc/credits", "/api/admin/users/999999/credits"]:
        assert (await operator.post(path, json={"delta": 5, **REASON})).status_code == 404
    bad_status = await operator.get("/api/admin/rooms?status=sleeping")
    assert bad_status.status_code == 422


async def test_disable_user_revokes_sessions_and_sign_in(client, db):
    operator, admin_user = await _admin(client, db)
    player, user = await new_player(client)
    response = await operator.post(f"/api/admin/users/{user['id']}/disable", json=REASON)
    assert response.status_code == 200 and response.json()["audit"]["detail"] == {"sessions_revoked": 1}
    assert (await player.get("/api/me")).status_code == 401
    player.cookies.clear()
    login = await player.post("/api/auth/login", json={"email": user["email"], "password": "correct horse battery"})
    assert login.status_code == 403 and _code(login) == "account_disabled"
    itself = await operator.post(f"/api/admin/users/{admin_user['id']}/disable", json=REASON)
    assert itself.status_code == 409 and _code(itself) == "cannot_disable_self"
    assert [r["action"] for r in await _audit_rows(db)] == ["disable_user"]


async def test_finish_room_and_list_rooms_by_status(client, db):
    operator, _ = await _admin(client, db)
    host, _ = await new_player(client)
    lobby = await open_room(host, name="waiting")
    room = await start(host, await open_room(host, name="busy"))
    early = await operator.post(f"/api/admin/rooms/{lobby['id']}/finish", json=REASON)
    assert early.status_code == 409
    response = await operator.post(f"/api/admin/rooms/{room['id']}/finish", json=REASON)
    assert response.status_code == 200
    assert (await snapshot(host, room["id"]))["status"] == "finished"
    finished = (await operator.get("/api/admin/rooms?status=finished")).json()["rooms"]
    assert [r["name"] for r in finished] == ["busy"]
    assert len((await operator.get("/api/admin/rooms")).json()["rooms"]) == 2
    audit = (await operator.get("/api/admin/audit")).json()["audit"]
    assert [(a["action"], a["target_id"]) for a in audit] == [("finish_room", room["id"])]


async def test_admin_actions_need_our_origin(client, db):
    operator, _ = await _admin(client, db)
    _, user = await new_player(client)
    response = await operator.post(
        f"/api/admin/users/{user['id']}/credits", json={"delta": 5, **REASON}, headers={"Origin": "http://evil.example"}
    )
    assert response.status_code == 403 and _code(response) == "bad_origin"
    assert await _audit_rows(db) == []


async def test_admin_routes_and_step_submission_are_rate_limited(database_url, tmp_path, db):
    settings = make_settings(database_url, tmp_path, admin_requests_per_minute=2, steps_per_minute=1)
    async with running_app(settings) as client:
        operator, _ = await _admin(client, db)
        assert (await operator.get("/api/admin/rooms")).status_code == 200
        assert (await operator.get("/api/admin/rooms")).status_code == 200
        limited = await operator.get("/api/admin/rooms")
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        host, _ = await new_player(client)
        guest, _ = await new_player(client)
        room = await open_room(host)
        await join(guest, room)
        await start(host, room)
        assert (await submit(host, room["id"])).status_code == 202
        await settle(host, room["id"])
        steps_before = await db.fetchval("SELECT count(*) FROM steps")
        again = await submit(guest, room["id"])
        assert again.status_code == 202  # the limit is per user
        await settle(host, room["id"])
        third = await submit(host, room["id"])
        assert third.status_code == 429 and _code(third) == "rate_limited"
        assert await db.fetchval("SELECT count(*) FROM steps") == steps_before + 1


async def test_security_headers_on_every_response(client):
    for path in ["/", "/api/me", "/nope", "/healthz"]:
        response = await client.get(path)
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"


async def test_access_log_lines_carry_request_user_and_room(client, db):
    host, user = await new_player(client)
    room = await open_room(host)
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(JsonFormatter().format(record))
    access = logging.getLogger("exquisite.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        response = await host.get(f"/api/rooms/{room['id']}")
    finally:
        access.removeHandler(handler)
        access.setLevel(logging.NOTSET)
    line = json.loads(records[-1])
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["user_id"] == user["id"] and line["room_id"] == room["id"]
    assert line["status"] == 200 and line["path"] == f"/api/rooms/{room['id']}"


async def test_admin_socket_sends_overviews_to_admins_only(database_url, tmp_path, db):
    async with LiveServer(make_settings(database_url, tmp_path / "live")) as server:
        async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}) as http:
            operator, _ = await _admin(http, db)
            player, _ = await new_player(http)
            room = await open_room(player)
            async with room_socket(server, player, room["id"]) as sock:
                await sock.frame()
                url = f"{server.ws_url}/ws/admin"
                cookie = {"Origin": server.url, "Cookie": f"{SESSION_COOKIE}={operator.cookies[SESSION_COOKIE]}"}
                async with connect(url, additional_headers=cookie) as admin_ws:
                    frame = json.loads(await admin_ws.recv())
                    assert frame["type"] == "overview"
                    assert frame["connections"] == 1 and frame["rooms_by_status"]["lobby"] == 1
                    assert set(frame) >= {"steps_in_flight", "generator", "seam_scores", "audit", "spectators"}
                    await admin_ws.send(json.dumps({"type": "ping"}))
                    while json.loads(await admin_ws.recv())["type"] != "pong":
                        pass
                refused = {"Origin": server.url, "Cookie": f"{SESSION_COOKIE}={player.cookies[SESSION_COOKIE]}"}
                with pytest.raises(websockets.InvalidStatus):
                    async with connect(url, additional_headers=refused):
                        pass


async def test_metrics_count_steps_generation_and_sockets(client, db):
    host, _ = await new_player(client)
    room = await start(host, await open_room(host))
    await submit(host, room["id"])
    await settle(host, room["id"])
    text = (await client.get("/metrics")).text
    assert 'exquisite_steps_total{reason="",status="committed"} 1.0' in text
    assert "exquisite_generator_seconds_count 1.0" in text
    assert "exquisite_seam_score_count 1.0" in text
    assert "exquisite_ws_connections 0.0" in text and "exquisite_steps_in_flight 0.0" in text
    assert 'exquisite_rooms{status="playing"} 1.0' in text and 'exquisite_steps_running{stuck="true"} 0.0' in text
