"""`/api/admin/`: operators repair what is stuck, and every repair is written to the audit trail
in the same transaction as its effect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.http.answers import AdminRooms, AdminSteps, AuditLog, AuditReply, Overview
from server.http.documented import Answer, Endpoint, documented
from server.http.sessions import current_user
from server.http.validation import (
    Body,
    Trimmed,
    parse_room_id,
    parse_uuid,
    read_json,
    services_of,
)
from server.play.access import locked_room
from server.play.step import abort_if_running
from server.play.turns import finish_room
from server.services import Services
from storage import Conflict, Forbidden, InvalidField, NotFound, admin, purchases, steps
from storage.accounts import User
from storage.rooms import RoomStatus

__all__ = ["routes", "require_admin", "repair", "Reason", "overview"]


class Reason(Body):
    reason: Annotated[
        Trimmed, Field(min_length=1, max_length=500, description="Why, for the audit trail; trimmed, then measured.")
    ]


STATUS = {"name": "status", "in": "query", "schema": {"type": "string", "enum": [str(s) for s in RoomStatus]}}
STUCK_VALUES = ("true", "false", "1", "0")
STUCK = {"name": "stuck", "in": "query", "schema": {"type": "string", "enum": list(STUCK_VALUES)}}


def _read(operation_id: str, summary: str, shape: Any, *query: dict[str, Any]) -> Callable[[Endpoint], Endpoint]:
    return documented(
        operation_id,
        summary,
        tag="admin",
        auth="signed_in",
        query=query,
        answers={200: Answer("The figures.", shape)},
        errors=(403, 422, 429),
    )


def repair(
    operation_id: str, summary: str, body: type[Reason], error: int, shape: Any = AuditReply
) -> Callable[[Endpoint], Endpoint]:
    return documented(
        operation_id,
        summary,
        tag="admin",
        auth="signed_in",
        body=body,
        answers={200: Answer("Done; the audit row written with it.", shape)},
        errors=(403, 404, 429, error),
    )


async def require_admin(services: Services, conn: HTTPConnection) -> User:
    user = await current_user(services, conn)
    if not user.is_admin:
        raise Forbidden("Only operators can do that.", code="not_admin")
    await services.limits.admin_actions.hit(str(user.id))
    return user


@_read("adminRooms", "Rooms, optionally of one status.", AdminRooms, STATUS)
async def list_rooms(request: Request) -> Response:
    services = services_of(request)
    await require_admin(services, request)
    status = request.query_params.get("status")
    if status is not None and status not in {s.value for s in RoomStatus}:
        raise InvalidField("status", "must be lobby, playing or finished")
    async with services.db.acquire() as conn:
        listed = await admin.list_rooms(conn, status)
    return JSONResponse(AdminRooms(rooms=[room.public() for room in listed]))


@_read("adminSteps", "Running steps; `stuck` keeps those whose lease ran out.", AdminSteps, STUCK)
async def list_steps(request: Request) -> Response:
    services = services_of(request)
    await require_admin(services, request)
    stuck = request.query_params.get("stuck", "false")
    if stuck not in STUCK_VALUES:
        raise InvalidField("stuck", "must be true or false")
    stuck_only = stuck in ("true", "1")
    async with services.db.acquire() as conn:
        flying = await admin.steps_in_flight(conn)
    return JSONResponse(AdminSteps(steps=[s.public() for s in flying if s.stuck or not stuck_only]))


@repair("adminAbortStep", "Abort a running step and refund it.", Reason, 409)
async def abort_step(request: Request) -> Response:
    services = services_of(request)
    operator = await require_admin(services, request)
    step_id = parse_uuid(request.path_params["step_id"], "step")
    body = await read_json(request, Reason)
    async with services.db.acquire() as conn:
        step = await steps.step_by_id(conn, step_id)
        if step is None:
            raise NotFound("No such step.")
        async with conn.transaction():
            room = await locked_room(conn, step.room_id)
            events = await abort_if_running(conn, room, step, "admin_abort")
            if not events:
                raise Conflict("That step is not running.", code="step_not_running")
            entry = await admin.insert_audit(
                conn,
                admin_id=operator.id,
                action="abort_step",
                target_type="step",
                target_id=str(step.id),
                reason=body.reason,
                detail={"room_id": str(room.id), "refund": step.cost},
            )
    await services.publisher.publish_events(room.id, events)
    return JSONResponse(AuditReply(audit=entry.public()))


@repair("adminReleaseLease", "Release a room's lease, aborting and refunding the step that held it.", Reason, 409)
async def release_lease(request: Request) -> Response:
    """Releases a room's lease; the step that held it is aborted and refunded with it, since a
    running step without a lease would be a second source of truth about the room."""
    services = services_of(request)
    operator = await require_admin(services, request)
    room_id = parse_room_id(request.path_params["room_id"])
    body = await read_json(request, Reason)
    async with services.db.acquire() as conn:
        async with conn.transaction():
            room = await locked_room(conn, room_id)
            step = await steps.running_step(conn, room.id)
            if step is None:
                raise Conflict("No lease is held in that room.", code="no_lease")
            events = await abort_if_running(conn, room, step, "lease_released")
            entry = await admin.insert_audit(
                conn,
                admin_id=operator.id,
                action="release_lease",
                target_type="room",
                target_id=str(room.id),
                reason=body.reason,
                detail={"step_id": str(step.id)},
            )
    await services.publisher.publish_events(room.id, events)
    return JSONResponse(AuditReply(audit=entry.public()))


@repair("adminFinishRoom", "Finish a playing room.", Reason, 409)
async def finish_playing_room(request: Request) -> Response:
    services = services_of(request)
    operator = await require_admin(services, request)
    room_id = parse_room_id(request.path_params["room_id"])
    body = await read_json(request, Reason)
    async with services.db.acquire() as conn:
        async with conn.transaction():
            room = await locked_room(conn, room_id)
            if room.status is not RoomStatus.PLAYING:
                raise Conflict("The room is not playing.", code="room_not_playing")
            event = await finish_room(conn, room, "admin")
            entry = await admin.insert_audit(
                conn,
                admin_id=operator.id,
                action="finish_room",
                target_type="room",
                target_id=str(room.id),
                reason=body.reason,
            )
    await services.publisher.publish_events(room.id, [event])
    return JSONResponse(AuditReply(audit=entry.public()))


@_read("adminAudit", "The newest audit entries.", AuditLog)
async def audit_log(request: Request) -> Response:
    services = services_of(request)
    await require_admin(services, request)
    async with services.db.acquire() as conn:
        entries = await admin.recent_audit(conn, 100)
    return JSONResponse(AuditLog(audit=[e.public() for e in entries]))


async def overview(services: Services) -> Overview:
    """The dashboard's figures: the database's for the whole service, the hub's for this instance."""
    async with services.db.acquire() as conn:
        flying = await admin.steps_in_flight(conn)
        return {
            "type": "overview",
            "instance": services.hub.instance,
            "connections": services.hub.connection_count,
            "spectators": services.hub.spectator_count,
            "rooms_by_status": await admin.rooms_by_status(conn),
            "steps_in_flight": [s.public() for s in flying],
            "generator": await admin.generator_figures(conn),
            "seam_scores": await admin.recent_seam_scores(conn),
            "audit": [e.public() for e in await admin.recent_audit(conn, 20)],
            "purchases": [p.public() for p in await purchases.list_purchases(conn, limit=10)],
            "shortfalls": [p.public() for p in await purchases.list_purchases(conn, short_only=True, limit=50)],
        }


@_read("adminOverview", "The dashboard's figures (also sent on /ws/admin).", Overview)
async def get_overview(request: Request) -> Response:
    services = services_of(request)
    await require_admin(services, request)
    return JSONResponse(await overview(services))


routes = [
    Route("/api/admin/overview", get_overview, methods=["GET"]),
    Route("/api/admin/rooms", list_rooms, methods=["GET"]),
    Route("/api/admin/steps", list_steps, methods=["GET"]),
    Route("/api/admin/audit", audit_log, methods=["GET"]),
    Route("/api/admin/steps/{step_id}/abort", abort_step, methods=["POST"]),
    Route("/api/admin/rooms/{room_id}/release-lease", release_lease, methods=["POST"]),
    Route("/api/admin/rooms/{room_id}/finish", finish_playing_room, methods=["POST"]),
]
