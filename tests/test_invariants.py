"""The invariant checker must be able to fail: break each invariant on purpose and watch it."""

import pytest

from tests.invariants import InvariantBroken, check_invariants
from tests.play import new_player, open_room, start, step_and_settle

BREAKAGES = {
    "balance_off_ledger": "UPDATE users SET credits = credits + 1 WHERE id = (SELECT min(id) FROM users)",
    "double_refund": """INSERT INTO credit_ledger (user_id, delta, kind, step_id)
                        SELECT user_id, cost, 'step_refund', id FROM steps LIMIT 1""",
    "committed_without_tile": "UPDATE steps SET status = 'aborted', reason = 'x'",
    "seq_gap": "UPDATE rooms SET seq = seq + 1",
    # Retention may drop a prefix of a log; a hole in the middle or a lost tail is a break.
    "event_hole": "DELETE FROM room_events WHERE seq = 2",
    "event_tail": "DELETE FROM room_events e WHERE seq = (SELECT seq FROM rooms r WHERE r.id = e.room_id)",
    "orphan_lease": """INSERT INTO room_leases (room_id, step_id, fencing_token, expires_at)
                       SELECT room_id, id, 1, now() FROM steps LIMIT 1""",
}


@pytest.mark.breaks_invariants
@pytest.mark.parametrize("breakage", BREAKAGES)
async def test_checker_catches_each_broken_invariant(client, db, breakage):
    host, _ = await new_player(client)
    room = await start(host, await open_room(host))
    await step_and_settle(host, room["id"])
    await check_invariants(db)
    await db.execute(BREAKAGES[breakage])
    with pytest.raises(InvariantBroken):
        await check_invariants(db)


@pytest.mark.breaks_invariants
async def test_checker_catches_an_altered_blob(client, db, settings):
    host, _ = await new_player(client)
    room = await start(host, await open_room(host))
    step = await step_and_settle(host, room["id"])
    sha = step["tile"]["url"].removeprefix("/blobs/").removesuffix(".png")
    path = settings.blob_dir / sha[:2] / f"{sha}.png"
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(InvariantBroken):
        await check_invariants(db, settings.blob_dir)
