"""Rooms: creation, visibility, joining, starting, finishing, the event log and folded play."""

import io
import uuid

import pytest
from PIL import Image

from tests.play import join, new_player, open_room, snapshot, start, step_and_settle


def _code(response) -> str:
    return response.json()["error"]["code"]


async def _count_rooms(db) -> tuple:
    return (
        await db.fetchval("SELECT count(*) FROM rooms"),
        await db.fetchval("SELECT count(*) FROM room_members"),
        await db.fetchval("SELECT count(*) FROM room_events"),
    )


async def test_create_room_makes_creator_host_and_member_zero(client):
    host, user = await new_player(client)
    room = await open_room(host, name="  Harbour  ", mode="folded", tile_size=512, max_steps=6, turn_seconds=90)
    assert room["name"] == "Harbour" and room["mode"] == "folded" and room["status"] == "lobby"
    assert room["host_id"] == user["id"] and room["tile_size"] == 512 and room["max_steps"] == 6
    assert room["turn_seconds"] == 90
    assert room["turn"] == {"number": 0, "player_id": None, "deadline": None}
    assert room["members"] == [{"user_id": user["id"], "display_name": user["display_name"], "position": 0}]
    assert room["invite_code"] and room["seq"] == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"name": "n" * 81},
        {"name": "bad\x07name"},
        {"name": 5},
        {"mode": "secret"},
        {"mode": None},
        {"tile_size": 300},
        {"tile_size": "512"},
        {"tile_size": 512.0},
        {"max_steps": 0},
        {"max_steps": 65},
        {"turn_seconds": 5},
        {"turn_seconds": True},
        {"max_members": 0},
    ],
)
async def test_create_room_refuses_bad_fields_and_creates_nothing(client, db, fields):
    host, _ = await new_player(client)
    before = await _count_rooms(db)
    body = {"name": "Room", "mode": "open", **fields}
    response = await host.post("/api/rooms", json=body)
    assert response.status_code == 422 and _code(response) == "invalid_field"
    assert response.json()["error"]["field"] == next(iter(fields))
    assert await _count_rooms(db) == before


async def test_rooms_need_a_session(client):
    for response in (
        await client.post("/api/rooms", json={"name": "x", "mode": "open"}),
        await client.get("/api/rooms"),
    ):
        assert response.status_code == 401 and _code(response) == "not_signed_in"


async def test_unknown_rooms_are_404(client):
    player, _ = await new_player(client)
    for room_id in ["not-a-uuid", str(uuid.uuid4())]:
        for path in ["", "/events", "/canvas.png", f"/steps/{uuid.uuid4()}"]:
            response = await player.get(f"/api/rooms/{room_id}{path}")
            assert response.status_code == 404, path
            assert _code(response) == "not_found"
        response = await player.post(f"/api/rooms/{room_id}/join", json={"invite_code": "x"})
        assert response.status_code == 404 and _code(response) == "not_found"


async def test_open_rooms_admit_spectators_but_folded_rooms_do_not_exist_for_strangers(client):
    host, _ = await new_player(client)
    stranger, _ = await new_player(client)
    open_one = await start(host, await open_room(host, mode="open"))  # listed to watch while played
    folded = await open_room(host, mode="folded")
    seen = await snapshot(stranger, open_one["id"])
    assert "invite_code" not in seen and seen["id"] == open_one["id"]
    hidden = await stranger.get(f"/api/rooms/{folded['id']}")
    assert hidden.status_code == 404 and _code(hidden) == "not_found"
    listed = (await stranger.get("/api/rooms")).json()["rooms"]
    assert [(r["id"], r["member"]) for r in listed] == [(open_one["id"], False)]
    mine = (await host.get("/api/rooms")).json()["rooms"]
    assert {(r["id"], r["member"]) for r in mine} == {(open_one["id"], True), (folded["id"], True)}


async def test_join_rules(client, db):
    host, _ = await new_player(client)
    guest, guest_user = await new_player(client)
    room = await open_room(host, max_members=2)
    before = await _count_rooms(db)
    wrong = await guest.post(f"/api/rooms/{room['id']}/join", json={"invite_code": "guess"})
    assert wrong.status_code == 403 and _code(wrong) == "bad_invite_code"
    missing = await guest.post(f"/api/rooms/{room['id']}/join", json={})
    assert missing.status_code == 422 and _code(missing) == "invalid_field"
    assert await _count_rooms(db) == before

    joined = await join(guest, room)
    assert joined["members"][1] == {
        "user_id": guest_user["id"],
        "display_name": guest_user["display_name"],
        "position": 1,
    }
    again = await guest.post(f"/api/rooms/{room['id']}/join", json={"invite_code": room["invite_code"]})
    assert again.status_code == 409 and _code(again) == "already_member"
    third, _ = await new_player(client)
    full = await third.post(f"/api/rooms/{room['id']}/join", json={"invite_code": room["invite_code"]})
    assert full.status_code == 409 and _code(full) == "room_full"

    await start(host, room)
    await host.post(f"/api/rooms/{room['id']}/finish")
    late, _ = await new_player(client)
    finished = await late.post(f"/api/rooms/{room['id']}/join", json={"invite_code": room["invite_code"]})
    assert finished.status_code == 409 and _code(finished) == "room_finished"


async def test_players_joining_mid_game_take_turns_after_the_others(client):
    host, host_user = await new_player(client)
    guest, guest_user = await new_player(client)
    room = await open_room(host)
    await join(guest, room)
    await start(host, room)
    late, late_user = await new_player(client)
    await join(late, room)
    order = []
    for player in [host, guest, late, host]:
        order.append((await snapshot(player, room["id"]))["turn"]["player_id"])
        assert (await step_and_settle(player, room["id"]))["status"] == "committed"
    assert order == [host_user["id"], guest_user["id"], late_user["id"], host_user["id"]]


async def test_only_the_host_starts_and_finishes_once(client, db):
    host, _ = await new_player(client)
    guest, _ = await new_player(client)
    room = await open_room(host)
    await join(guest, room)
    for path in ["start", "finish"]:
        response = await guest.post(f"/api/rooms/{room['id']}/{path}")
        assert response.status_code == 403 and _code(response) == "not_host"
    early = await host.post(f"/api/rooms/{room['id']}/finish")
    assert early.status_code == 409 and _code(early) == "room_not_playing"
    await start(host, room)
    twice = await host.post(f"/api/rooms/{room['id']}/start")
    assert twice.status_code == 409 and _code(twice) == "already_started"
    done = await host.post(f"/api/rooms/{room['id']}/finish")
    assert done.status_code == 200 and done.json()["room"]["status"] == "finished"
    again = await host.post(f"/api/rooms/{room['id']}/finish")
    assert again.status_code == 409 and _code(again) == "room_not_playing"


async def test_events_after_returns_only_later_events_and_refuses_bad_after(client):
    host, _ = await new_player(client)
    room = await open_room(host)
    await start(host, room)
    listed = (await host.get(f"/api/rooms/{room['id']}/events?after=1")).json()
    assert [e["seq"] for e in listed["events"]] == [2, 3] and listed["seq"] == 3
    assert listed["events"][1]["data"]["turn"]["nonce"]  # the nonce is for its player only
    for bad in ["-1", "abc", "1.5", "9" * 30, "%C2%B2", "%D9%A1%D9%A2"]:
        response = await host.get(f"/api/rooms/{room['id']}/events?after={bad}")
        assert response.status_code == 422 and _code(response) == "invalid_field"


async def test_folded_room_hides_everything_until_the_reveal(client):
    host, host_user = await new_player(client)
    guest, _ = await new_player(client)
    room = await open_room(host, mode="folded", max_steps=3)
    await join(guest, room)
    await start(host, room)
    await step_and_settle(host, room["id"], prompt="secret one")

    for player in (host, guest):
        seen = await snapshot(player, room["id"])
        assert seen["tiles"] == [] and seen["tile_count"] == 1
        canvas = await player.get(f"/api/rooms/{room['id']}/canvas.png")
        assert canvas.status_code == 403 and _code(canvas) == "not_revealed"
    guest_events = (await guest.get(f"/api/rooms/{room['id']}/events")).json()["events"]
    for event in guest_events:
        assert "tile" not in event["data"] and "prompt" not in event["data"]
    host_events = (await host.get(f"/api/rooms/{room['id']}/events")).json()["events"]
    assert any("tile" in e["data"] for e in host_events)  # the painter sees their own step

    # The guest, whose turn it is, sees only the edge they continue.
    context = await guest.get(f"/api/rooms/{room['id']}/context.png?direction=right")
    assert context.status_code == 200
    image = Image.open(io.BytesIO(context.content))
    assert image.size == (512, 512) and image.mode == "RGBA"
    not_theirs = await host.get(f"/api/rooms/{room['id']}/context.png?direction=right")
    assert not_theirs.status_code == 403 and _code(not_theirs) == "not_your_turn"
    bad = await guest.get(f"/api/rooms/{room['id']}/context.png?direction=diagonal")
    assert bad.status_code == 422 and _code(bad) == "invalid_field"

    await step_and_settle(guest, room["id"], "right")
    await step_and_settle(host, room["id"], "down")
    revealed = await snapshot(guest, room["id"])
    assert revealed["status"] == "finished" and len(revealed["tiles"]) == 3
    assert revealed["tiles"][0]["prompt"] == "secret one" and revealed["tiles"][0]["author_id"] == host_user["id"]
    assert (await guest.get(f"/api/rooms/{room['id']}/canvas.png")).status_code == 200


async def test_finished_room_is_public_for_the_share_page(client):
    host, _ = await new_player(client)
    room = await open_room(host, mode="folded", max_steps=1)
    await start(host, room)
    await step_and_settle(host, room["id"])
    client.cookies.clear()
    shared = await client.get(f"/api/rooms/{room['id']}")
    assert shared.status_code == 200 and shared.json()["status"] == "finished"
    assert "invite_code" not in shared.json()
    assert (await client.get(f"/api/rooms/{room['id']}/canvas.png")).status_code == 200


async def test_blob_route_serves_immutable_bytes_and_refuses_bad_names(client):
    host, _ = await new_player(client)
    room = await open_room(host)
    await start(host, room)
    step = await step_and_settle(host, room["id"])
    url = step["tile"]["url"]
    first = await host.get(url)
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    etag = first.headers["etag"]
    cached = await host.get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304
    for bad in ["/blobs/abc.png", "/blobs/" + "0" * 64 + ".png", "/blobs/../../etc/passwd", "/blobs/" + "a" * 64]:
        response = await host.get(bad)
        assert response.status_code == 404 and _code(response) == "not_found", bad


async def test_room_finishes_by_itself_when_no_cell_is_free(client, db):
    host, _ = await new_player(client)
    room = await start(host, await open_room(host, max_steps=10))
    await db.execute("UPDATE rooms SET extent_w = 2, extent_h = 1")
    await step_and_settle(host, room["id"], "right")
    assert (await snapshot(host, room["id"]))["free_directions"] == ["left", "right"]
    await step_and_settle(host, room["id"], "right")
    finished = await snapshot(host, room["id"])
    assert finished["status"] == "finished" and finished["tile_count"] == 2
    last = (await host.get(f"/api/rooms/{room['id']}/events?after={finished['seq'] - 1}")).json()["events"]
    assert last[0]["kind"] == "room.finished" and last[0]["data"] == {"reason": "complete"}


async def test_rooms_to_watch_are_played_now_newest_activity_first_a_page_at_a_time(client, db, monkeypatch):
    from server.http import rooms as room_routes

    monkeypatch.setattr(room_routes, "WATCH_PAGE", 2)
    host, _ = await new_player(client)
    watcher, _ = await new_player(client)
    played = [await start(host, await open_room(host, name=f"Room {n}")) for n in range(3)]
    await open_room(host, name="Still in the lobby")
    stale = await start(host, await open_room(host, name="Nobody for an hour"))
    await db.execute("UPDATE rooms SET started_at = now() - interval '1 hour' WHERE id = $1", uuid.UUID(stale["id"]))
    for n, room in enumerate(played):  # Room 0 the most recent activity
        await db.execute(
            "UPDATE rooms SET started_at = now() - interval '1 hour', last_step_at = now() - make_interval(secs => $2)"
            " WHERE id = $1",
            uuid.UUID(room["id"]),
            float(n),
        )
    first = (await watcher.get("/api/rooms")).json()
    assert [r["name"] for r in first["rooms"]] == ["Room 0", "Room 1"] and first["next_cursor"]
    second = (await watcher.get(f"/api/rooms?cursor={first['next_cursor']}")).json()
    assert [r["name"] for r in second["rooms"]] == ["Room 2"] and second["next_cursor"] is None
    mine = (await host.get("/api/rooms")).json()["rooms"]
    assert [r["status"] for r in mine if r["member"]][-1] == "lobby"  # active rooms first
    for bad in ("nope", "12_not-a-uuid", "9" * 30 + "_" + str(uuid.uuid4())):
        response = await watcher.get(f"/api/rooms?cursor={bad}")
        assert response.status_code == 422 and _code(response) == "invalid_field"
