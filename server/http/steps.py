"""The step routes: submit (with Idempotency-Key) and status."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import engine
from server.http.answers import StepReply
from server.http.documented import Answer, documented
from server.http.sessions import current_user, optional_user
from server.http.validation import Body, Text, Trimmed, parse_room_id, parse_uuid, read_json, services_of
from server.play import step as step_machine
from server.play.access import visible_room
from server.play.shapes import DirectionName, StepJson
from server.play.views import Viewer, step_json
from server.services import Services
from storage import BadRequest, InvalidField, NotFound, Unavailable, steps
from storage.accounts import User

__all__ = ["routes", "StepBody", "check_idempotency_key", "submit_step"]

MAX_KEY_LENGTH = 200
MAX_PROMPT_LENGTH = 1000


class StepBody(Body):
    turn_nonce: Annotated[Text, Field(max_length=100, description="The live turn's nonce, from the snapshot.")]
    prompt: Annotated[Trimmed, Field(min_length=1, max_length=MAX_PROMPT_LENGTH)]
    direction: DirectionName

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
    await services.limits.step_submissions.hit(str(user.id))
    if services.load.busy():
        services.metrics.busy_refusals.inc()
        raise Unavailable("This server is saturated; try again shortly.", code="busy", retry_after=BUSY_RETRY_AFTER)
    # Before any debit: a refused prompt costs nothing and records nothing.
    await services.runner.studio.moderation.check(body.prompt)
    step, events, replayed, begun = await step_machine.submit_seen(
        services.db, services.settings, room_id, user, key, body.request()
    )
    if begun is not None:
        services.runner.start(step, begun)
        await services.publisher.publish_events(room_id, events)
        # A new step, as TX1 wrote it, seen by its painter (TX1 checked they are a member).
        return step_json(step, None, begun.room, Viewer(user.id, True)), False
    async with services.db.acquire() as conn:
        room, viewer = await visible_room(conn, room_id, user)
        current = await steps.step_by_id(conn, step.id) or step
        tile = await steps.tile_of_step(conn, step.id)
    return step_json(current, tile, room, viewer), replayed


# Seconds a client refused `503 busy` is asked to wait before submitting again.
BUSY_RETRY_AFTER = 1

# Printable ASCII, without a space at either end (HTTP would strip it).
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": f"Chosen by the client per step, 1 to {MAX_KEY_LENGTH} printable ASCII characters; "
    "a replay returns the original step (`409 idempotency_key_reused` with a different body).",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": rf"^[\x21-\x7e]([\x20-\x7e]{{0,{MAX_KEY_LENGTH - 2}}}[\x21-\x7e])?$",
    },
}


@documented(
    "submitStep",
    "Paint the next tile on your turn; the step runs in the background.",
    tag="steps",
    auth="signed_in",
    body=StepBody,
    headers=(IDEMPOTENCY_KEY,),
    answers={
        202: Answer("The step, started.", StepReply),
        200: Answer("A replay of the same Idempotency-Key: the original step.", StepReply),
    },
    errors=(402, 403, 404, 409, 429, 503),
)
async def post_step(request: Request) -> Response:
    services = services_of(request)
    user = await current_user(services, request)
    room_id = parse_room_id(request.path_params["room_id"])
    # Who may see the room is the step check's first question (a room a non-member may not see is
    # 404 there), asked in TX1's own round trip rather than one of its own here.
    key = check_idempotency_key(request.headers.get("idempotency-key"))
    body = await read_json(request, StepBody)
    step, replayed = await submit_step(services, room_id, user, key, body)
    return JSONResponse(StepReply(step=step), 200 if replayed else 202)


@documented(
    "getStep",
    "A step's status: running, committed (with its tile) or aborted (with a reason).",
    tag="steps",
    auth="optional",
    answers={200: Answer("The step.", StepJson)},
    errors=(401, 404),
)
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
