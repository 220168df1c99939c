"""The JSON Schemas of `/openapi.json`: request bodies and response shapes (DESIGN.md section 5).

Limits come from the modules that enforce them where those name them; the rest repeat the
validators of `server/auth.py` and `server/rooms.py`. Every text field refuses control characters
(its `pattern`); what a pattern cannot say (names are trimmed before they are measured and must be
printable) the descriptions say.
"""

from __future__ import annotations

import engine
from server.http.steps import MAX_KEY_LENGTH, MAX_PROMPT_LENGTH
from storage.events import EventKind
from storage.rooms import RoomMode, RoomStatus
from storage.steps import StepStatus

__all__ = ["ref", "nullable", "obj", "SCHEMAS", "UUID", "SHA256", "DIRECTIONS", "IDEMPOTENCY_KEY_PATTERN"]

DIRECTIONS = [direction.value for direction in engine.Direction]
# Printable ASCII, without a space at either end (HTTP would strip it).
IDEMPOTENCY_KEY_PATTERN = rf"^[\x21-\x7e]([\x20-\x7e]{{0,{MAX_KEY_LENGTH - 2}}}[\x21-\x7e])?$"
# Control characters (C0 and C1) other than newline are refused in every text field.
NO_CONTROL_CHARACTERS = "^[^\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f]*$"


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict, *, required: list[str] | None = None, **extra) -> dict:
    """An object that has `required` (all properties unless told) and may grow more keys."""
    return {
        "type": "object",
        "required": list(properties) if required is None else required,
        "properties": properties,
        **extra,
    }


def text(description: str, **limits) -> dict:
    return {"type": "string", "description": description, "pattern": NO_CONTROL_CHARACTERS, **limits}


def enum(values) -> dict:
    return {"type": "string", "enum": [str(value) for value in values]}


INTEGER = {"type": "integer"}
STRING = {"type": "string"}
UUID = {"type": "string", "format": "uuid"}
SHA256 = "^[0-9a-f]{64}$"
MOMENT = {"type": "string", "format": "date-time"}
# What a room's snapshot and its summary in a list both start with.
ROOM_HEAD = {"id": UUID, "name": STRING, "mode": enum(RoomMode), "status": enum(RoomStatus), "host_id": INTEGER}
CELL = {"type": "array", "items": INTEGER, "minItems": 2, "maxItems": 2, "description": "[x, y]"}


def _error() -> dict:
    return obj(
        {
            "error": obj(
                {
                    "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "examples": ["stale_nonce"]},
                    "message": {"type": "string", "description": "Human text, never a stack trace."},
                    "field": {"type": "string", "description": "The refused field (422 only)."},
                    "request_id": {"type": "string", "description": "Names the logged trace (500 only)."},
                },
                required=["code", "message"],
            )
        },
        description="Every refusal and failure: the error envelope.",
    )


def _bodies() -> dict:
    return {
        "Signup": obj(
            {
                "email": {"type": "string", "format": "email", "maxLength": 254},
                "password": text("At least 10 characters.", minLength=10, maxLength=1024),
                "display_name": text("Trimmed, then 1 to 40 printable characters.", minLength=1, maxLength=40),
            }
        ),
        "Login": obj(
            {
                "email": {"type": "string", "format": "email", "maxLength": 254},
                "password": text("The account's password.", maxLength=1024),
            }
        ),
        "CreateRoom": obj(
            {
                "name": text("Trimmed, then 1 to 80 printable characters.", minLength=1, maxLength=80),
                "mode": enum(RoomMode),
                "tile_size": {"type": "integer", "enum": list(engine.TILE_SIZES), "default": 512},
                "max_steps": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": engine.DEFAULT_EXTENT[0] * engine.DEFAULT_EXTENT[1],
                    "default": 16,
                },
                "turn_seconds": {
                    **nullable({"type": "integer", "minimum": 10, "maximum": 86400}),
                    "default": None,
                    "description": "Turn deadline; null for none.",
                },
                "max_members": {"type": "integer", "minimum": 1, "maximum": 32, "default": 8},
            },
            required=["name", "mode"],
        ),
        "Join": obj({"invite_code": text("The room's invite code.", maxLength=100)}),
        "SubmitStep": obj(
            {
                "turn_nonce": text("The live turn's nonce, from the snapshot.", maxLength=100),
                "prompt": text(
                    f"Trimmed, then 1 to {MAX_PROMPT_LENGTH} characters.",
                    minLength=1,
                    maxLength=MAX_PROMPT_LENGTH,
                ),
                "direction": enum(DIRECTIONS),
            }
        ),
    }


def _tile() -> dict:
    return obj(
        {
            "x": INTEGER,
            "y": INTEGER,
            "url": {"type": "string", "pattern": "^/blobs/[0-9a-f]{64}\\.png$"},
            "step_id": UUID,
            "author_id": INTEGER,
            "prompt": STRING,
            "position": INTEGER,
            "seam_score": nullable({"type": "number"}),
        }
    )


def _room() -> dict:
    turn = obj(
        {
            "number": INTEGER,
            "player_id": nullable(INTEGER),
            "deadline": nullable(MOMENT),
            "nonce": {"type": "string", "description": "Only for the player whose turn it is."},
        },
        required=["number", "player_id", "deadline"],
    )
    running = obj(
        {"id": UUID, "player_id": INTEGER, "direction": enum(DIRECTIONS), "cell": CELL, "prompt": STRING},
        required=["id", "player_id"],
        description="The step in flight; its position is hidden from others in a folded room.",
    )
    member = obj({"user_id": INTEGER, "display_name": STRING, "position": INTEGER})
    return obj(
        {
            **ROOM_HEAD,
            "tile_size": {"type": "integer", "enum": list(engine.TILE_SIZES)},
            "extent": CELL | {"description": "[columns, rows]"},
            "max_steps": INTEGER,
            "max_members": INTEGER,
            "turn_seconds": nullable(INTEGER),
            "members": {"type": "array", "items": member},
            "turn": turn | {"description": "The live turn; outside play its player and deadline are null."},
            "tiles": {"type": "array", "items": ref("Tile"), "description": "Empty in a folded room till it ends."},
            "tile_count": INTEGER,
            "frontier": nullable(CELL),
            "free_directions": {"type": "array", "items": enum(DIRECTIONS)},
            "step": nullable(running),
            "seq": INTEGER,
            "created_at": MOMENT,
            "invite_code": {"type": "string", "description": "Members only."},
        },
        required=[
            "id",
            "name",
            "mode",
            "status",
            "host_id",
            "tile_size",
            "extent",
            "max_steps",
            "max_members",
            "turn_seconds",
            "members",
            "turn",
            "tiles",
            "tile_count",
            "frontier",
            "free_directions",
            "step",
            "seq",
            "created_at",
        ],
    )


def _room_summary() -> dict:
    turn = obj({"number": INTEGER, "player_id": nullable(INTEGER), "player_name": nullable(STRING)})
    return obj(
        {
            **ROOM_HEAD,
            "member": {"type": "boolean", "description": "False for an open room to watch."},
            "member_count": INTEGER,
            "tile_count": INTEGER,
            "max_steps": INTEGER,
            "turn": nullable(turn),
            "seq": INTEGER,
            "created_at": MOMENT,
        }
    )


def _step() -> dict:
    return obj(
        {
            "id": UUID,
            "room_id": UUID,
            "player_id": INTEGER,
            "status": enum(StepStatus),
            "reason": nullable(STRING) | {"description": "Why an aborted step aborted."},
            "turn_number": INTEGER,
            "created_at": MOMENT,
            "finished_at": nullable(MOMENT),
            "direction": enum(DIRECTIONS),
            "cell": CELL,
            "prompt": STRING,
            "tile": nullable(ref("Tile")),
        },
        required=[
            "id",
            "room_id",
            "player_id",
            "status",
            "reason",
            "turn_number",
            "created_at",
            "finished_at",
            "tile",
        ],
        description="A folded room hides direction, cell, prompt and tile from all but the painter.",
    )


def _readiness() -> dict:
    check = enum(["ok", "down"])
    return obj(
        {
            "status": enum(["ok", "unavailable"]),
            "checks": obj({"database": check, "bus": check, "blobs": check}),
        }
    )


SCHEMAS = {
    "Error": _error(),
    **_bodies(),
    "User": obj(
        {
            "id": INTEGER,
            "email": STRING,
            "display_name": STRING,
            "credits": {"type": "integer", "minimum": 0},
            "is_admin": {"type": "boolean"},
        }
    ),
    "Tile": _tile(),
    "Room": _room(),
    "RoomSummary": _room_summary(),
    "Step": _step(),
    "Event": obj(
        {
            "seq": {"type": "integer", "minimum": 1},
            "kind": enum(EventKind),
            "data": {"type": "object", "description": "Depends on the kind (DESIGN.md section 6)."},
            "at": MOMENT,
        }
    ),
    "Readiness": _readiness(),
    "Reason": obj(
        {"reason": text("Why: written to the audit trail. 1 to 500 characters.", minLength=1, maxLength=500)}
    ),
    "CreditChange": obj(
        {
            "delta": {"type": "integer", "minimum": -100000, "maximum": 100000, "not": {"const": 0}},
            "reason": text("Why: written to the audit trail and the ledger.", minLength=1, maxLength=500),
        }
    ),
    "AuditEntry": obj(
        {
            "id": INTEGER,
            "admin_id": INTEGER,
            "action": STRING,
            "target_type": enum(["user", "room", "step"]),
            "target_id": STRING,
            "reason": STRING,
            "detail": {"type": "object"},
            "at": MOMENT,
        }
    ),
}
