"""The step routes: submit (with Idempotency-Key) and status."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import engine
from server.http.sessions import current_user, optional_user
from server.http.validation import Body, Text, parse_room_id, parse_uuid, read_json, services_of
from server.play import step as step_machine
from server.play.access import visible_room
from server.play.shapes import StepJson
from server.play.views import step_json
from server.services import Services
from storage import BadRequest, InvalidField, NotFound, steps
from storage.accounts import User

__all__ = ["routes", "StepBody", "check_idempotency_key", "submit_step"]

MAX_KEY_LENGTH = 200
MAX_PROMPT_LENGTH = 1000


class StepBody(Body):
    turn_nonce: Text
    prompt: Text
    direction: Literal["left", "right", "up", "down"]

    @field_validator("prompt")
    @classmethod
    def _check_prompt(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        if len(value) > MAX_PROMPT_LENGTH:
            raise ValueError(f"must be at most {MAX_PROMPT_LENGTH} characters")
        return value

    @field_validator("turn_nonce")
    @classmethod
    def _check_nonce(cls, value: str) -> str:
        if len(value) > 100:
            raise ValueError("must be at most 100 characters")
        return value

    def request(self) -> step_machine.StepRequest:
        return step_machine.StepRequest(self.turn_nonce, self.prompt, engine.Direction(self.direction))


def check_idempotency_key(key: str | None) -> str:
    if key is None or key == "":
        raise BadRequest("Send an Idempotency-Key header with every step.", code="missing_idempotency_key")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidField("Idempotency-Key", f"must be at most {MAX_KEY_LENGTH} characters")
    if not key.isprintable() or not key.isascii():
        raise InvalidField("Idempotency-Key", "must be printable ASCII")
    return key


async def submit_step(services: Services, room_id: UUID, user: User, key: str, body: StepBody) -> tuple[StepJson, bool]:
    """Submits a step, starts painting it if new, and returns (step json, replayed).

    Shared by the HTTP route and the websocket's `step.submit`, so both answer alike.
    """
    services.limits.step_submissions.hit(str(user.id))
    step, events, replayed = await step_machine.submit(
        services.db, services.settings, room_id, user, key, body.request()
    )
    if not replayed:
        services.runner.start(step)
        await services.publisher.publish_events(room_id, events)
    async with services.db.acquire() as conn:
        room, viewer = await visible_room(conn, room_id, user)
        current = await steps.step_by_id(conn, step.id) or step
        tile = await steps.tile_of_step(conn, step.id)
    return step_json(current, tile, room, viewer), replayed


async def post_step(request: Request) -> Response:
    services = services_of(request)
    user = await current_user(services, request)
    room_id = parse_room_id(request.path_params["room_id"])
    async with services.db.acquire() as conn:
        await visible_room(conn, room_id, user)
    key = check_idempotency_key(request.headers.get("idempotency-key"))
    body = await read_json(request, StepBody)
    step, replayed = await submit_step(services, room_id, user, key, body)
    return JSONResponse({"step": step}, 200 if replayed else 202)


async def get_step(request: Request) -> Response:
    services = services_of(request)
    user = await optional_user(services, request)
    room_id = parse_room_id(request.path_params["room_id"])
    step_id = parse_uuid(request.path_params["step_id"], "step")
    async with services.db.acquire() as conn:
        room, viewer = await visible_room(conn, room_id, user)
        step = await steps.step_by_id(conn, step_id)
        if step is None or step.room_id != room.id:
            raise NotFound("No such step.")
        tile = await steps.tile_of_step(conn, step.id)
    return JSONResponse(step_json(step, tile, room, viewer))


routes = [
    Route("/api/rooms/{room_id}/steps", post_step, methods=["POST"]),
    Route("/api/rooms/{room_id}/steps/{step_id}", get_step, methods=["GET"]),
]
