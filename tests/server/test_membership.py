"""Leaving, removal, the host's skip and hand-over, rematch and invite previews: a room never
stays stuck on someone who is gone."""

import uuid

import pytest

from tests.generators import gate
from tests.play import join, new_player, open_room, settle, snapshot, start, step_and_settle, submit


def _code(response) -> str:
    return response.json()["error"]["code"]


async def _events(player, room_id: str, after: int) -> list[tuple[str, dict]]:
    listed = (await player.get(f"/api/rooms/{room_id}/events?after={after}")).json()["events"]
    return [(event["kind"], event["data"]) for event in listed]


async def _three(client, **fields):
    """A playing room of host, Bo and Cy, in that order; the host has the first turn."""
    (host, host_user), (bo, bo_user), (cy, cy_user) = [await new_player(client) for _ in range(3)]
    room = await open_room(host, **fields)
    await join(bo, room)
    await join(cy, room)
    room = await start(host, room)
    return room, (host, host_user), (bo, bo_user), (cy, cy_user)


async def test_the_host_leaving_on_their_turn_hands_over_and_passes_the_turn(client):
    room, (host, host_user), (bo, bo_user), (cy, _) = await _three(client)
    before = room["seq"]
    assert (await host.post(f"/api/rooms/{room['id']}/leave")).status_code == 204
    events = await _events(bo, room["id"], before)
    assert [kind for kind, _ in events] == ["member.left", "room.host_changed", "turn.skipped"]
    assert events[0][1] == {"user_id": host_user["id"], "display_name": host_user["display_name"], "reason": "left"}
    assert events[1][1]["host_id"] == bo_user["id"] and events[1][1]["previous_host_id"] == host_user["id"]
    assert events[2][1]["reason"] == "left" and events[2][1]["skipped_player_id"] == host_user["id"]
    now = await snapshot(bo, room["id"])
    assert now["host_id"] == bo_user["id"] and now["turn"]["player_id"] == bo_user["id"]
    assert [m["user_id"] for m in now["members"]] == [bo_user["id"], now["members"][1]["user_id"]]
    assert now["former_members"] == [{"user_id": host_user["id"], "display_name": host_user["display_name"]}]
    # The order goes on without them: Bo, Cy, Bo...
    await step_and_settle(bo, room["id"])
    assert (await snapshot(cy, room["id"]))["turn"]["player_id"] != host_user["id"]


async def test_a_step_of_a_player_who_left_finishes_normally_and_passes_the_turn(client, db):
    room, (host, _), (bo, bo_user), _ = await _three(client)
    hung = gate(client)
    assert (await submit(host, room["id"])).status_code == 202
    await hung.entered.wait()
    assert (await host.post(f"/api/rooms/{room['id']}/leave")).status_code == 204
    hung.gate.set()
    await settle(bo, room["id"])
    assert await db.fetchval("SELECT status FROM steps") == "committed"
    assert (await snapshot(bo, room["id"]))["turn"]["player_id"] == bo_user["id"]


async def test_everyone_leaving_finishes_the_room_as_abandoned(client):
    room, (host, _), (bo, _), (cy, _) = await _three(client)
    for player in (host, bo, cy):
        assert (await player.post(f"/api/rooms/{room['id']}/leave")).status_code == 204
    finished = await snapshot(host, room["id"])  # finished rooms are public
    assert finished["status"] == "finished" and finished["members"] == []
    kinds = [kind for kind, _ in await _events(host, room["id"], 0)]
    assert kinds[-1] == "room.finished"
    assert (await _events(host, room["id"], finished["seq"] - 1))[0][1] == {"reason": "abandoned"}


async def test_leaving_a_lobby_takes_the_member_out_and_lets_them_rejoin(client, db):
    (host, _), (bo, bo_user) = [await new_player(client) for _ in range(2)]
    room = await open_room(host)
    await join(bo, room)
    assert (await bo.post(f"/api/rooms/{room['id']}/leave")).status_code == 204
    assert await db.fetchval("SELECT count(*) FROM room_members") == 1
    again = await join(bo, room)
    assert [m["user_id"] for m in again["members"]][-1] == bo_user["id"]


async def test_leave_refusals_change_nothing(client, db):
    (host, _), (stranger, _) = [await new_player(client) for _ in range(2)]
    open_one = await open_room(host)
    folded = await open_room(host, mode="folded")
    seq = await db.fetchval("SELECT sum(seq) FROM rooms")
    response = await stranger.post(f"/api/rooms/{open_one['id']}/leave")
    assert response.status_code == 403 and _code(response) == "not_a_member"
    response = await stranger.post(f"/api/rooms/{folded['id']}/leave")
    assert response.status_code == 404 and _code(response) == "not_found"
    response = await stranger.post(f"/api/rooms/{uuid.uuid4()}/leave")
    assert response.status_code == 404
    await start(host, open_one)
    await host.post(f"/api/rooms/{open_one['id']}/finish")
    response = await host.post(f"/api/rooms/{open_one['id']}/leave")
    assert response.status_code == 409 and _code(response) == "room_finished"
    assert await db.fetchval("SELECT sum(seq) FROM rooms") == seq + 3  # started, turn, finished only


async def test_the_host_removes_a_member_who_cannot_rejoin(client):
    room, (host, host_user), (bo, bo_user), (cy, _) = await _three(client)
    await step_and_settle(host, room["id"])  # Bo's turn now
    response = await host.post(f"/api/rooms/{room['id']}/members/{bo_user['id']}/remove")
    assert response.status_code == 200
    after = response.json()["room"]
    assert bo_user["id"] not in [m["user_id"] for m in after["members"]]
    assert after["turn"]["player_id"] != bo_user["id"]
    kinds = await _events(host, room["id"], after["seq"] - 2)
    assert kinds[0] == ("member.left", {**kinds[0][1], "reason": "removed"})
    assert kinds[1][0] == "turn.skipped" and kinds[1][1]["reason"] == "host"
    rejoin = await bo.post(f"/api/rooms/{room['id']}/join", json={"invite_code": room["invite_code"]})
    assert rejoin.status_code == 403 and _code(rejoin) == "removed_from_room"
    itself = await host.post(f"/api/rooms/{room['id']}/members/{host_user['id']}/remove")
    assert itself.status_code == 409 and _code(itself) == "cannot_remove_self"
    not_host = await cy.post(f"/api/rooms/{room['id']}/members/{host_user['id']}/remove")
    assert not_host.status_code == 403 and _code(not_host) == "not_host"
    for unknown in (bo_user["id"], 999999, "x"):
        missing = await host.post(f"/api/rooms/{room['id']}/members/{unknown}/remove")
        assert missing.status_code == 404 and _code(missing) == "not_found"


async def test_the_host_skips_an_absent_player_but_not_a_step_being_painted(client):
    room, (host, _), (bo, bo_user), (cy, cy_user) = await _three(client)
    await step_and_settle(host, room["id"])
    response = await host.post(f"/api/rooms/{room['id']}/skip")
    assert response.status_code == 200 and response.json()["room"]["turn"]["player_id"] == cy_user["id"]
    skipped = (await _events(host, room["id"], response.json()["room"]["seq"] - 1))[0]
    assert skipped[0] == "turn.skipped" and skipped[1]["reason"] == "host"
    assert skipped[1]["skipped_player_id"] == bo_user["id"]
    hung = gate(client)
    assert (await submit(cy, room["id"])).status_code == 202
    await hung.entered.wait()
    busy = await host.post(f"/api/rooms/{room['id']}/skip")
    assert busy.status_code == 409 and _code(busy) == "step_in_flight"
    refused = await bo.post(f"/api/rooms/{room['id']}/skip")
    assert refused.status_code == 403 and _code(refused) == "not_host"
    hung.gate.set()
    await settle(cy, room["id"])
    await host.post(f"/api/rooms/{room['id']}/finish")
    over = await host.post(f"/api/rooms/{room['id']}/skip")
    assert over.status_code == 409 and _code(over) == "room_not_playing"


async def test_rematch_makes_a_lobby_with_the_same_settings_and_members_in_order(client):
    room, (host, _), (bo, _), (cy, _) = await _three(client, max_steps=5, turn_seconds=60, tile_size=256)
    early = await host.post(f"/api/rooms/{room['id']}/rematch")
    assert early.status_code == 409 and _code(early) == "room_not_finished"
    await host.post(f"/api/rooms/{room['id']}/finish")
    response = await host.post(f"/api/rooms/{room['id']}/rematch")
    assert response.status_code == 201
    new = response.json()["room"]
    assert new["status"] == "lobby" and new["id"] != room["id"] and new["host_id"] == room["host_id"]
    assert [m["user_id"] for m in new["members"]] == [m["user_id"] for m in room["members"]]
    settings = ("mode", "tile_size", "max_steps", "turn_seconds", "name")
    assert {key: new[key] for key in settings} == {key: room[key] for key in settings}
    old = await snapshot(cy, room["id"])
    assert old["rematch_id"] == new["id"]
    assert (await _events(cy, room["id"], old["seq"] - 1)) == [("room.rematch", {"room_id": new["id"]})]
    assert (await snapshot(bo, new["id"]))["invite_code"]  # Bo is a member of the new room already
    twice = await host.post(f"/api/rooms/{room['id']}/rematch")
    assert twice.status_code == 409 and _code(twice) == "already_rematched"
    not_host = await bo.post(f"/api/rooms/{room['id']}/rematch")
    assert not_host.status_code == 403 and _code(not_host) == "not_host"


async def test_invite_preview_is_readable_signed_out(client):
    host, host_user = await new_player(client)
    room = await open_room(host, name="Friday doodles")
    anonymous = client  # the fixture's own client holds no session once the helpers made players
    response = await anonymous.get(f"/api/invites/{room['invite_code']}")
    assert response.status_code == 200
    assert response.json() == {
        "room_id": room["id"],
        "name": "Friday doodles",
        "mode": "open",
        "status": "lobby",
        "host_name": host_user["display_name"],
        "member_count": 1,
    }
    for unknown in ("nope", "x" * 300):
        missing = await anonymous.get(f"/api/invites/{unknown}")
        assert missing.status_code == 404 and _code(missing) == "not_found"
    await start(host, room)
    await host.post(f"/api/rooms/{room['id']}/finish")
    over = await anonymous.get(f"/api/invites/{room['invite_code']}")
    assert over.status_code == 409 and _code(over) == "room_finished"


@pytest.mark.parametrize("max_steps, warned", [(30, True), (20, False)])
async def test_creating_a_room_its_players_cannot_pay_for_warns(client, max_steps, warned):
    host, _ = await new_player(client)  # 20 credits at sign-up, 1 per step
    response = await host.post("/api/rooms", json={"name": "Big", "mode": "open", "max_steps": max_steps})
    assert response.status_code == 201
    warning = response.json()["warning"]
    assert (warning is not None) is warned
    if warned:
        assert "30 tiles" in warning and "20" in warning
