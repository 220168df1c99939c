"""What operators read and change: the audit trail, stuck steps, users, figures for the dashboard."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from typing_extensions import TypedDict

from storage.database import Connection, returned

__all__ = [
    "AdminRoom",
    "AdminRoomJson",
    "AuditEntry",
    "AuditEntryJson",
    "FlightStep",
    "FlightStepJson",
    "insert_audit",
    "recent_audit",
    "rooms_by_status",
    "list_rooms",
    "steps_in_flight",
    "disable_user",
    "generator_figures",
    "recent_seam_scores",
]


class AuditEntryJson(TypedDict):
    id: int
    admin_id: int | None
    action: str
    target_type: str
    target_id: str
    reason: str
    detail: dict[str, Any]
    at: str


@dataclass(frozen=True)
class AuditEntry:
    id: int
    admin_id: int | None
    action: str
    target_type: str
    target_id: str
    reason: str
    detail: dict
    at: datetime

    def public(self) -> AuditEntryJson:
        return {
            "id": self.id,
            "admin_id": self.admin_id,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "reason": self.reason,
            "detail": self.detail,
            "at": self.at.isoformat(),
        }


class AdminRoomJson(TypedDict):
    id: str
    name: str
    mode: str
    status: str
    host_id: int
    tile_count: int
    max_steps: int
    seq: int
    created_at: str
    member_count: int
    running_step: str | None


@dataclass(frozen=True)
class AdminRoom:
    id: UUID
    name: str
    mode: str
    status: str
    host_id: int
    tile_count: int
    max_steps: int
    seq: int
    created_at: datetime
    member_count: int
    running_step: UUID | None

    def public(self) -> AdminRoomJson:
        return {
            "id": str(self.id),
            "name": self.name,
            "mode": self.mode,
            "status": self.status,
            "host_id": self.host_id,
            "tile_count": self.tile_count,
            "max_steps": self.max_steps,
            "seq": self.seq,
            "created_at": self.created_at.isoformat(),
            "member_count": self.member_count,
            "running_step": None if self.running_step is None else str(self.running_step),
        }


class FlightStepJson(TypedDict):
    id: str
    room_id: str
    user_id: int
    age_seconds: float
    lease_expires_in: float | None
    stuck: bool


@dataclass(frozen=True)
class FlightStep:
    id: UUID
    room_id: UUID
    user_id: int
    age_seconds: float
    lease_expires_in: float | None

    @property
    def stuck(self) -> bool:
        return self.lease_expires_in is None or self.lease_expires_in <= 0

    def public(self) -> FlightStepJson:
        return {
            "id": str(self.id),
            "room_id": str(self.room_id),
            "user_id": self.user_id,
            "age_seconds": round(self.age_seconds, 1),
            "lease_expires_in": None if self.lease_expires_in is None else round(self.lease_expires_in, 1),
            "stuck": self.stuck,
        }


async def insert_audit(
    conn: Connection,
    *,
    admin_id: int | None,
    action: str,
    target_type: str,
    target_id: str,
    reason: str,
    detail: dict | None = None,
) -> AuditEntry:
    """Records an admin action; must share the transaction of the action it records."""
    if not conn.is_in_transaction():
        raise RuntimeError("insert_audit needs the transaction of the action it records")
    # Returns the new audit row.
    row = await conn.fetchrow(
        """INSERT INTO admin_audit (admin_id, action, target_type, target_id, reason, detail)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING *""",
        admin_id,
        action,
        target_type,
        target_id,
        reason,
        json.dumps(detail or {}),
    )
    return _audit(returned(row))


def _audit(row: asyncpg.Record) -> AuditEntry:
    fields = dict(row)
    fields["detail"] = json.loads(fields["detail"])
    return AuditEntry(**fields)


async def recent_audit(conn: Connection, limit: int = 50) -> list[AuditEntry]:
    # Returns the newest audit rows first.
    return [_audit(row) for row in await conn.fetch("SELECT * FROM admin_audit ORDER BY id DESC LIMIT $1", limit)]


async def rooms_by_status(conn: Connection) -> dict[str, int]:
    # Returns how many rooms are in each status.
    rows = await conn.fetch("SELECT status, count(*) AS n FROM rooms GROUP BY status")
    counts = {"lobby": 0, "playing": 0, "finished": 0}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


async def list_rooms(conn: Connection, status: str | None, limit: int = 200) -> list[AdminRoom]:
    # Returns rooms (optionally of one status), newest first, with member and step counts.
    rows = await conn.fetch(
        """SELECT r.id, r.name, r.mode, r.status, r.host_id, r.tile_count, r.max_steps, r.seq, r.created_at,
                  (SELECT count(*) FROM room_members m WHERE m.room_id = r.id) AS member_count,
                  (SELECT s.id FROM steps s WHERE s.room_id = r.id AND s.status = 'running') AS running_step
           FROM rooms r WHERE ($1::text IS NULL OR r.status = $1)
           ORDER BY r.created_at DESC LIMIT $2""",
        status,
        limit,
    )
    return [AdminRoom(**dict(row)) for row in rows]


async def steps_in_flight(conn: Connection) -> list[FlightStep]:
    # Returns running steps, oldest first, with their age and how long their lease has left.
    rows = await conn.fetch(
        """SELECT s.id, s.room_id, s.user_id,
                  extract(epoch FROM now() - s.created_at) AS age_seconds,
                  extract(epoch FROM l.expires_at - now()) AS lease_expires_in
           FROM steps s LEFT JOIN room_leases l ON l.step_id = s.id
           WHERE s.status = 'running' ORDER BY s.created_at"""
    )
    return [
        FlightStep(
            r["id"],
            r["room_id"],
            r["user_id"],
            float(r["age_seconds"]),
            None if r["lease_expires_in"] is None else float(r["lease_expires_in"]),
        )
        for r in rows
    ]


async def disable_user(conn: Connection, user_id: int) -> int:
    """Disables the user and revokes their live sessions; returns how many were revoked."""
    # Returns nothing; stamps the user disabled.
    await conn.execute("UPDATE users SET disabled_at = coalesce(disabled_at, now()) WHERE id = $1", user_id)
    # Returns the command status with the number of revoked sessions.
    status = await conn.execute(
        "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", user_id
    )
    return int(status.split()[-1])


async def generator_figures(conn: Connection, hours: float = 1.0) -> dict:
    """Generator latency percentiles and failures by reason over the recent past, all instances."""
    # Returns p50/p95 of generator time for committed steps, and aborted steps by reason.
    latency = await conn.fetchrow(
        """SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY generator_ms) AS p50,
                  percentile_cont(0.95) WITHIN GROUP (ORDER BY generator_ms) AS p95,
                  count(generator_ms) AS n
           FROM steps WHERE finished_at > now() - make_interval(secs => $1) AND generator_ms IS NOT NULL""",
        hours * 3600,
    )
    failures = await conn.fetch(
        """SELECT reason, count(*) AS n FROM steps
           WHERE status = 'aborted' AND finished_at > now() - make_interval(secs => $1)
           GROUP BY reason ORDER BY reason""",
        hours * 3600,
    )
    latency = returned(latency)
    return {
        "p50_ms": latency["p50"],
        "p95_ms": latency["p95"],
        "count": latency["n"],
        "failures": {row["reason"]: row["n"] for row in failures},
    }


async def recent_seam_scores(conn: Connection, limit: int = 20) -> list[dict]:
    # Returns the seam scores of the newest committed steps.
    rows = await conn.fetch(
        """SELECT id, room_id, seam_score, context_drift, finished_at FROM steps
           WHERE status = 'committed' ORDER BY finished_at DESC LIMIT $1""",
        limit,
    )
    return [
        {
            "step_id": str(r["id"]),
            "room_id": str(r["room_id"]),
            "seam_score": r["seam_score"],
            "context_drift": r["context_drift"],
            "at": r["finished_at"].isoformat(),
        }
        for r in rows
    ]
