"""The step state machine: refusals, idempotency, races, aborts, fencing and recovery."""

import asyncio
import uuid

import asyncpg
import numpy as np
import pytest

from engine import MockGenerator, build_context, decode_png
from server.play.recovery import reap_once
from tests.conftest import make_settings, running_app
from tests.generators import gate
from tests.play import join, new_player, open_room, settle, snapshot, start, step_and_settle, submit


async def _reap(client) -> dict:
    services = client.app.state.services
    return await reap_once(services.db, services.metrics, services.settings)


async def _counts(db) -> tuple:
    return (
        await db.fetchval("SELECT count(*) FROM steps"),
        await db.fetchval("SELECT count(*) FROM credit_ledger"),
        await db.fetchval("SELECT sum(credits) FROM users"),
        await db.fetchval("SELECT sum(seq) FROM rooms"),
    )


async def _playing_room(client, players=2, **fields):
    browsers = [await new_player(client) for _ in range(players)]
    room = await open_room(browsers[0][0], **fields)
    for player, _ in browsers[1:]:
        await join(player, room)
    room = await start(browsers[0][0], room)
    return room, browsers


def _code(response) -> str:
    return response.json()["error"]["code"]


async def test_first_step_is_accepted_and_commits(client, db):
    room, [(host, user), _] = await _playing_room(client)
    response = await submit(host, room["id"], "left", "a lighthouse at dusk")
    assert response.status_code == 202
    step = response.json()["step"]
    assert step["status"] == "running" and step["cell"] == [0, 0] and step["player_id"] == user["id"]
    await settle(host, room["id"])
    done = (await host.get(f"/api/rooms/{room['id']}/steps/{step['id']}")).json()
    assert done["status"] == "committed" and done["tile"]["x"] == 0 and done["reason"] is None
    # The first tile has no neighbour: nothing to stray from, nothing to join.
    assert done["tile"]["context_drift"] == 0 and done["tile"]["seam_score"] == 0


async def test_a_step_paints_beside_every_tile_placed_before_it(client):
    # Painting takes the tiles' addresses from the step's check rather than read them again: the
    # generator's context holds exactly the committed neighbours' pixels.
    contexts = []

    class Recording(MockGenerator):
        async def generate(self, context, prompt, **options):
            contexts.append(context.copy())
            return await super().generate(context, prompt, **options)

    client.app.state.services.generator.target = Recording()
    room, [(host, _)] = await _playing_room(client, players=1)
    steps = [await step_and_settle(host, room["id"], direction) for direction in ("right", "right", "down")]
    assert [step["cell"] for step in steps] == [[0, 0], [1, 0], [1, 1]]
    tiles = [decode_png((await host.get(step["tile"]["url"])).content) for step in steps]
    cells = [tuple(step["cell"]) for step in steps]
    for number, cell in enumerate(cells):
        placed = dict(zip(cells[:number], tiles[:number], strict=True))
        assert np.array_equal(contexts[number], build_context(placed, cell, room["tile_size"]))
    assert np.any(contexts[2])  # both earlier tiles are its neighbours


@pytest.mark.parametrize(
    "case, status, code",
    [
        ("not_your_turn", 403, "not_your_turn"),
        ("stale_nonce", 409, "stale_nonce"),
        ("cell_unavailable", 409, "cell_unavailable"),
        ("room_not_playing", 409, "room_not_playing"),
        ("empty_prompt", 422, "invalid_field"),
        ("long_prompt", 422, "invalid_field"),
        ("bad_direction", 422, "invalid_field"),
        ("number_prompt", 422, "invalid_field"),
        ("missing_key", 400, "missing_idempotency_key"),
        ("long_key", 422, "invalid_field"),
        ("not_a_member", 403, "not_a_member"),
        ("unknown_room", 404, "not_found"),
        ("malformed", 400, "malformed_json"),
    ],
)
async def test_refused_step_records_nothing(client, db, case, status, code):
    room, [(host, _), (guest, _)] = await _playing_room(client)
    first = await step_and_settle(host, room["id"], "right")  # guest's turn now; (0, 0) is taken
    assert first["status"] == "committed"
    nonce = (await snapshot(guest, room["id"]))["turn"]["nonce"]
    room_id, player, headers = room["id"], guest, {"Idempotency-Key": str(uuid.uuid4())}
    body = {"turn_nonce": nonce, "prompt": "a field of poppies", "direction": "right"}
    if case == "not_your_turn":
        player = host
    elif case == "stale_nonce":
        body["turn_nonce"] = "yesterday"
    elif case == "cell_unavailable":
        # Walk right to (1, 0), then ask to go back left onto (0, 0).
        assert (await step_and_settle(guest, room_id, "right"))["status"] == "committed"
        player, body["turn_nonce"], body["direction"] = host, (await snapshot(host, room_id))["turn"]["nonce"], "left"
    elif case == "room_not_playing":
        lobby = await open_room(guest)
        room_id, body["turn_nonce"] = lobby["id"], ""
    elif case == "empty_prompt":
        body["prompt"] = "   "
    elif case == "long_prompt":
        body["prompt"] = "p" * 1001
    elif case == "bad_direction":
        body["direction"] = "sideways"
    elif case == "number_prompt":
        body["prompt"] = 7
    elif case == "missing_key":
        headers = {}
    elif case == "long_key":
        headers = {"Idempotency-Key": "k" * 201}
    elif case == "not_a_member":
        player, _ = await new_player(client)
    elif case == "unknown_room":
        room_id = str(uuid.uuid4())
    before = await _counts(db)
    if case == "malformed":
        response = await player.post(f"/api/rooms/{room_id}/steps", content=b"{nope", headers=headers)
    else:
        response = await player.post(f"/api/rooms/{room_id}/steps", json=body, headers=headers)
    assert response.status_code == status, response.text
    assert _code(response) == code
    assert await _counts(db) == before


async def test_step_without_credits_is_402_and_records_nothing(database_url, tmp_path, db):
    settings = make_settings(database_url, tmp_path, signup_credits=0, daily_credits=0)
    async with running_app(settings) as client:
        room, [(host, _)] = await _playing_room(client, players=1)
        before = await _counts(db)
        response = await submit(host, room["id"])
        assert response.status_code == 402 and _code(response) == "insufficient_credits"
        assert await _counts(db) == before


async def test_second_step_while_one_runs_is_step_in_flight(client, db):
    room, [(host, _), _] = await _playing_room(client)
    gated = gate(client)
    nonce = (await snapshot(host, room["id"]))["turn"]["nonce"]
    assert (await submit(host, room["id"], nonce=nonce)).status_code == 202
    before = await _counts(db)
    response = await submit(host, room["id"], nonce=nonce, prompt="another try")
    assert response.status_code == 409 and _code(response) == "step_in_flight"
    assert await _counts(db) == before
    gated.gate.set()
    await settle(host, room["id"])


async def test_replayed_key_returns_original_step(client, db):
    room, [(host, _), _] = await _playing_room(client)
    nonce = (await snapshot(host, room["id"]))["turn"]["nonce"]
    first = await submit(host, room["id"], key="same-key", nonce=nonce)
    assert first.status_code == 202
    await settle(host, room["id"])
    # The turn has moved on, yet the replay is recognised before any turn check.
    replay = await submit(host, room["id"], key="same-key", nonce=nonce)
    assert replay.status_code == 200
    assert replay.json()["step"]["id"] == first.json()["step"]["id"]
    assert replay.json()["step"]["status"] == "committed"
    assert await db.fetchval("SELECT count(*) FROM steps") == 1
    assert await db.fetchval("SELECT count(*) FROM credit_ledger WHERE kind = 'step_debit'") == 1


async def test_same_key_with_different_body_is_refused(client, db):
    room, [(host, _), _] = await _playing_room(client)
    nonce = (await snapshot(host, room["id"]))["turn"]["nonce"]
    assert (await submit(host, room["id"], key="k1", nonce=nonce)).status_code == 202
    await settle(host, room["id"])
    response = await submit(host, room["id"], key="k1", nonce=nonce, prompt="something else")
    assert response.status_code == 409 and _code(response) == "idempotency_key_reused"
    assert await db.fetchval("SELECT count(*) FROM steps") == 1


async def test_concurrent_replays_start_exactly_one_step(client, db):
    room, [(host, _), _] = await _playing_room(client)
    nonce = (await snapshot(host, room["id"]))["turn"]["nonce"]
    responses = await asyncio.gather(*(submit(host, room["id"], key="racing", nonce=nonce) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 202]
    assert len({r.json()["step"]["id"] for r in responses}) == 1
    await settle(host, room["id"])
    assert await db.fetchval("SELECT count(*) FROM steps") == 1


async def test_racing_different_keys_for_one_turn_start_one_step(client, db):
    room, [(host, _), _] = await _playing_room(client)
    gated = gate(client)
    nonce = (await snapshot(host, room["id"]))["turn"]["nonce"]
    responses = await asyncio.gather(*(submit(host, room["id"], nonce=nonce) for _ in range(6)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [202, 409, 409, 409, 409, 409]
    assert {_code(r) for r in responses if r.status_code == 409} == {"step_in_flight"}
    gated.gate.set()
    await settle(host, room["id"])
    assert await db.fetchval("SELECT count(*) FROM steps") == 1


@pytest.mark.parametrize(
    "prompt, fail_rate, reason", [("a [refuse] prompt", 0.0, "generator_refused"), ("fine", 1.0, "generator_error")]
)
async def test_failed_generation_aborts_refunds_and_keeps_the_turn(
    database_url, tmp_path, db, prompt, fail_rate, reason
):
    async with running_app(make_settings(database_url, tmp_path, mock_fail_rate=fail_rate)) as client:
        room, [(host, user), _] = await _playing_room(client)
        before = await snapshot(host, room["id"])
        step = await step_and_settle(host, room["id"], prompt=prompt)
        assert step["status"] == "aborted" and step["reason"] == reason and step["tile"] is None
        after = await snapshot(host, room["id"])
        assert after["turn"] == before["turn"] and after["tiles"] == []
        assert (await host.get("/api/me")).json()["credits"] == user["credits"]
        events = (await host.get(f"/api/rooms/{room['id']}/events?after={before['seq']}")).json()["events"]
        assert [e["kind"] for e in events] == ["step.started", "step.aborted"]
        assert events[1]["data"]["turn"] == before["turn"]  # the turn, nonce and all, stays


async def test_committed_tiles_cannot_be_changed_even_by_sql(client, db):
    room, [(host, _), _] = await _playing_room(client)
    await step_and_settle(host, room["id"])
    with pytest.raises(asyncpg.IntegrityConstraintViolationError):
        await db.execute("UPDATE tiles SET sha256 = repeat('0', 64)")
    with pytest.raises(asyncpg.IntegrityConstraintViolationError):
        await db.execute("DELETE FROM tiles")
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute(
            "INSERT INTO tiles (room_id, x, y, position, sha256, step_id, author_id, prompt)"
            " SELECT room_id, x, y, 99, sha256, step_id, author_id, prompt FROM tiles"
        )


async def test_zombie_whose_lease_was_taken_over_cannot_commit(client, db):
    room, [(host, user), _] = await _playing_room(client)
    zombie = gate(client)
    nonce = (await snapshot(host, room["id"]))["turn"]["nonce"]
    first = (await submit(host, room["id"], nonce=nonce, prompt="zombie")).json()["step"]
    await zombie.entered.wait()

    # The zombie hangs past its lease; recovery (any instance) aborts and refunds it.
    await db.execute("UPDATE room_leases SET expires_at = now() - interval '1 second'")
    services = client.app.state.services
    appended = await reap_once(services.db, services.metrics, services.settings)
    assert [e.kind for e in appended[uuid.UUID(room["id"])]] == ["step.aborted"]
    assert await reap_once(services.db, services.metrics, services.settings) == {}  # exactly once

    # The player takes the turn again, with a fresh lease and a larger fencing token.
    fresh = gate(client)
    second = await submit(host, room["id"], nonce=nonce, prompt="second try")
    assert second.status_code == 202
    tokens = await db.fetch("SELECT fencing_token FROM steps ORDER BY created_at")
    assert tokens[0]["fencing_token"] < tokens[1]["fencing_token"]

    zombie.gate.set()  # the zombie wakes and tries to commit with its old token
    await services.runner.wait_step(uuid.UUID(first["id"]))
    assert await db.fetchval("SELECT count(*) FROM tiles") == 0
    fresh.gate.set()
    await settle(host, room["id"])
    statuses = await db.fetch("SELECT prompt, status, reason FROM steps ORDER BY created_at")
    assert [tuple(row) for row in statuses] == [
        ("zombie", "aborted", "lease_expired"),
        ("second try", "committed", None),
    ]
    assert await db.fetchval("SELECT count(*) FROM tiles") == 1
    assert (await host.get("/api/me")).json()["credits"] == user["credits"] - 1


async def test_overdue_turn_is_skipped_once_by_racing_reapers(client, db, settings):
    room, [(_host, host_user), (guest, guest_user)] = await _playing_room(client, turn_seconds=60)
    async with running_app(settings) as other_instance:
        await db.execute("UPDATE rooms SET turn_deadline = now() - interval '1 second'")
        results = await asyncio.gather(_reap(client), _reap(other_instance))
    skipped = [e for result in results for events in result.values() for e in events]
    assert [e.kind for e in skipped] == ["turn.skipped"]
    assert skipped[0].data["skipped_player_id"] == host_user["id"]
    now = await snapshot(guest, room["id"])
    assert now["turn"]["player_id"] == guest_user["id"] and now["turn"]["number"] == 2


async def test_expired_lease_is_refunded_once_by_racing_reapers(client, db, settings):
    room, [(host, user), _] = await _playing_room(client)
    hung = gate(client)
    await submit(host, room["id"])
    await hung.entered.wait()
    async with running_app(settings) as other_instance:
        await db.execute("UPDATE room_leases SET expires_at = now() - interval '1 second'")
        results = await asyncio.gather(_reap(client), _reap(other_instance))
    assert sum(len(events) for result in results for events in result.values()) == 1
    hung.gate.set()
    await settle(host, room["id"])
    assert await db.fetchval("SELECT count(*) FROM credit_ledger WHERE kind = 'step_refund'") == 1
    assert (await host.get("/api/me")).json()["credits"] == user["credits"]


async def test_abort_near_the_deadline_gives_the_player_time_and_says_so(client, db):
    room, [(host, _), _] = await _playing_room(client, turn_seconds=60)
    await db.execute("UPDATE rooms SET turn_deadline = now() + interval '2 seconds'")
    step = await step_and_settle(host, room["id"], prompt="a [refuse] prompt")
    assert step["status"] == "aborted"
    after = await snapshot(host, room["id"])
    aborted = (await host.get(f"/api/rooms/{room['id']}/events?after={after['seq'] - 1}")).json()["events"][0]
    assert aborted["kind"] == "step.aborted" and aborted["data"]["turn"] == after["turn"]
    assert await db.fetchval("SELECT turn_deadline > now() + interval '15 seconds' FROM rooms")


# The loop that once gave free generations: start alone, submit, then end the room at once, by
# the host's finish or by the last member walking out (which finishes it too).
@pytest.mark.parametrize(("action", "done"), [("finish", 200), ("leave", 204)])
async def test_ending_a_solo_room_while_its_step_paints_is_refused_and_the_step_commits(client, db, action, done):
    room, [(host, _)] = await _playing_room(client, players=1)
    gated = gate(client)
    assert (await submit(host, room["id"])).status_code == 202
    await gated.entered.wait()
    refused = await host.post(f"/api/rooms/{room['id']}/{action}")
    assert refused.status_code == 409 and _code(refused) == "step_in_flight"
    gated.gate.set()
    await settle(host, room["id"])
    assert await db.fetchval("SELECT status FROM steps") == "committed"
    assert await db.fetchval("SELECT count(*) FROM credit_ledger WHERE kind = 'step_refund'") == 0
    assert (await host.post(f"/api/rooms/{room['id']}/{action}")).status_code == done
    assert await db.fetchval("SELECT status FROM rooms") == "finished"
