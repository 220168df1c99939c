"""The invariant checker (docs/architecture.md, invariants): run after every test that touches a database."""

from __future__ import annotations

import hashlib
from pathlib import Path

import asyncpg


class InvariantBroken(AssertionError):
    pass


async def check_invariants(conn: asyncpg.Connection, blob_dir: Path | None = None) -> None:
    problems = []

    # I2: every cached balance equals its ledger, and none is negative.
    rows = await conn.fetch(
        """SELECT u.id, u.credits, coalesce(sum(l.delta), 0) AS ledger
           FROM users u LEFT JOIN credit_ledger l ON l.user_id = u.id
           GROUP BY u.id HAVING u.credits <> coalesce(sum(l.delta), 0) OR u.credits < 0"""
    )
    problems += [f"user {r['id']}: balance {r['credits']} but ledger sums to {r['ledger']}" for r in rows]

    # I2: committed = one debit, no refund; aborted = one debit and one refund; running = one debit.
    rows = await conn.fetch(
        """SELECT s.id, s.status, s.cost,
                  count(*) FILTER (WHERE l.kind = 'step_debit') AS debits,
                  count(*) FILTER (WHERE l.kind = 'step_refund') AS refunds,
                  coalesce(sum(l.delta) FILTER (WHERE l.kind = 'step_debit'), 0) AS debited,
                  coalesce(sum(l.delta) FILTER (WHERE l.kind = 'step_refund'), 0) AS refunded
           FROM steps s LEFT JOIN credit_ledger l ON l.step_id = s.id
           GROUP BY s.id"""
    )
    for r in rows:
        refunds = 1 if r["status"] == "aborted" else 0
        if (
            r["debits"] != 1
            or r["refunds"] != refunds
            or r["debited"] != -r["cost"]
            or r["refunded"] != refunds * r["cost"]
        ):
            problems.append(
                f"step {r['id']} ({r['status']}): {r['debits']} debits, {r['refunds']} refunds"
                f" ({r['debited']}, {r['refunded']})"
            )

    # I1: a tile exactly for each committed step, none for others.
    rows = await conn.fetch(
        """SELECT s.id, s.status, t.step_id IS NOT NULL AS has_tile
           FROM steps s LEFT JOIN tiles t ON t.step_id = s.id
           WHERE (s.status = 'committed') <> (t.step_id IS NOT NULL)"""
    )
    problems += [f"step {r['id']} ({r['status']}) has_tile={r['has_tile']}" for r in rows]
    rows = await conn.fetch(
        """SELECT r.id FROM rooms r
           WHERE r.tile_count <> (SELECT count(*) FROM tiles t WHERE t.room_id = r.id)"""
    )
    problems += [f"room {r['id']}: tile_count differs from its tiles" for r in rows]

    # I3: one running step per room, and a lease exactly for each running step.
    rows = await conn.fetch(
        """SELECT s.id AS step_id, l.step_id AS lease_step FROM steps s
           FULL JOIN room_leases l ON l.step_id = s.id AND s.status = 'running'
           WHERE (s.status = 'running' OR l.step_id IS NOT NULL) AND (s.id IS NULL OR l.step_id IS NULL)"""
    )
    problems += [f"lease/step mismatch: step {r['step_id']} lease {r['lease_step']}" for r in rows]

    # I4: each room's log runs to its head with no gap and no duplicate; retention may have
    # removed a prefix of it (storage/retention.py), never a piece from the middle or the end.
    rows = await conn.fetch(
        """SELECT r.id, r.seq, count(e.seq) AS n, coalesce(max(e.seq), 0) AS top
           FROM rooms r LEFT JOIN room_events e ON e.room_id = r.id GROUP BY r.id
           HAVING count(e.seq) <> r.seq - coalesce(min(e.seq), 1) + 1 OR coalesce(max(e.seq), 0) <> r.seq"""
    )
    problems += [f"room {r['id']}: seq {r['seq']} but {r['n']} events up to {r['top']}" for r in rows]

    # Billing: a purchase Stripe said was paid has exactly one `purchase` entry, a pending one none,
    # and one day has at most one daily grant per user (the indexes say so; this proves they hold).
    rows = await conn.fetch(
        """SELECT p.session_id, p.status, count(l.id) AS entries
           FROM purchases p LEFT JOIN credit_ledger l ON l.purchase_session = p.session_id AND l.kind = 'purchase'
           GROUP BY p.session_id HAVING count(l.id) <> CASE WHEN p.status = 'pending' THEN 0 ELSE 1 END"""
    )
    problems += [f"purchase {r['session_id']} ({r['status']}) has {r['entries']} purchase entries" for r in rows]

    # I1: tile bytes are what their name says.
    if blob_dir is not None:
        for r in await conn.fetch("SELECT x, y, sha256 FROM tiles"):
            path = Path(blob_dir) / r["sha256"][:2] / f"{r['sha256']}.png"
            if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != r["sha256"]:
                problems.append(f"tile {r['x']},{r['y']}: blob {r['sha256']} missing or altered")

    if problems:
        raise InvariantBroken("\n".join(problems))
