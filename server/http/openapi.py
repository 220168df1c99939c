"""`GET /openapi.json`: an OpenAPI 3.1 description of the JSON API (DESIGN.md section 5).

The websocket (`/ws/rooms/{room_id}`, DESIGN.md section 6) has no OpenAPI form; the description
points at it; so does the admin dashboard's `/ws/admin`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.http._openapi_schemas import (
    DIRECTIONS,
    IDEMPOTENCY_KEY_PATTERN,
    SCHEMAS,
    SHA256,
    UUID,
    enum,
    nullable,
    obj,
    ref,
)
from server.http.sessions import SESSION_COOKIE
from server.http.steps import MAX_KEY_LENGTH
from server.http.validation import MAX_BODY_BYTES
from storage.rooms import RoomStatus

__all__ = ["routes", "build_spec"]

DESCRIPTION = f"""\
JSON over HTTP with a session cookie (`{SESSION_COOKIE}`, set by signup and login). Every
refusal is the error envelope `{{"error": {{"code", "message", "field"?, "request_id"?}}}}`.
State-changing requests that carry the cookie must send an `Origin` equal to the server's
public origin, or get `403 bad_origin`. Request bodies are JSON objects of at most
{MAX_BODY_BYTES} bytes, with strict types (no `"1"` or `1.0` for `1`); unknown keys are ignored.

Live updates come over the websocket `GET /ws/rooms/{{room_id}}?after=SEQ` (snapshot, events,
presence, progress), which OpenAPI does not describe."""

_ERRORS = {
    400: "Malformed: the body is not a JSON object (`malformed_json`), or `missing_idempotency_key`.",
    401: "Not signed in (`not_signed_in`), or wrong email or password (`invalid_credentials`).",
    402: "Not enough credits (`insufficient_credits`).",
    403: "Not allowed: `bad_origin`, `not_host`, `not_your_turn`, `bad_invite_code`, `not_revealed`, ...",
    404: "Unknown, or not visible to this user (`not_found`).",
    409: "Conflicts with the current state: `email_taken`, `stale_nonce`, `step_in_flight`, ...",
    413: f"The body is over {MAX_BODY_BYTES} bytes (`too_large`).",
    422: "A field is invalid (`invalid_field`, naming it in `field`).",
    429: "Rate limited (`rate_limited`); `Retry-After` says when to try again.",
    500: "Something broke on our side (`internal`, with a `request_id` for the log).",
}
_BODY_ERRORS = (400, 413, 422)
_SIGNED_IN = [{"session": []}]
_SIGNED_IN_OR_NOT = [{"session": []}, {}]
_PUBLIC: list = []


def _json(description: str, schema: dict, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _png(description: str) -> dict:
    return {"description": description, "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}


def _errors(*statuses: int) -> dict:
    responses = {}
    for status in sorted({*statuses, 500}):
        headers = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}} if status == 429 else None
        responses[str(status)] = _json(_ERRORS[status], ref("Error"), headers)
    return responses


def _operation(
    operation_id: str,
    summary: str,
    responses: dict,
    *,
    security: list,
    errors: tuple[int, ...] = (),
    body: str | None = None,
    parameters: tuple = (),
    tag: str,
) -> dict:
    if security is _SIGNED_IN:
        errors = (*errors, 401)
    if body is not None:
        errors = (*errors, *_BODY_ERRORS)
    operation = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "security": security,
        "responses": {**responses, **_errors(*errors)},
    }
    if parameters:
        operation["parameters"] = list(parameters)
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(body)}}}
    return operation


def _path_id(name: str, what: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": what, "schema": UUID}


ROOM_ID = _path_id("room_id", "The room's id.")
STEP_ID = _path_id("step_id", "The step's id.")
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": f"Chosen by the client per step, 1 to {MAX_KEY_LENGTH} printable ASCII characters; "
    "a replay returns the original step (`409 idempotency_key_reused` with a different body).",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": IDEMPOTENCY_KEY_PATTERN},
}
SESSION_SET = {"Set-Cookie": {"description": f"`{SESSION_COOKIE}`: the new session.", "schema": {"type": "string"}}}
ETAG = {"ETag": {"schema": {"type": "string"}}}
NOT_MODIFIED = {"304": {"description": "Unchanged since the `If-None-Match` ETag.", "headers": ETAG}}


def _user(description: str, status: str) -> dict:
    return {status: _json(description, obj({"user": ref("User")}), SESSION_SET)}


def _room(description: str, status: str = "200") -> dict:
    return {status: _json(description, obj({"room": ref("Room")}))}


def _step(description: str, status: str) -> dict:
    return {status: _json(description, obj({"step": ref("Step")}))}


def _auth_paths() -> dict:
    return {
        "/api/auth/signup": {
            "post": _operation(
                "signup",
                "Create an account, grant the signup credits and sign in.",
                _user("The new user; the response sets the session cookie.", "201"),
                security=_PUBLIC,
                errors=(403, 409, 429),
                body="Signup",
                tag="auth",
            )
        },
        "/api/auth/login": {
            "post": _operation(
                "login",
                "Sign in with email and password (`403 account_disabled` for a disabled user).",
                _user("The user; the response sets a new session cookie.", "200"),
                security=_PUBLIC,
                errors=(401, 403, 429),
                body="Login",
                tag="auth",
            )
        },
        "/api/auth/logout": {
            "post": _operation(
                "logout",
                "Revoke this session and clear its cookie.",
                {"204": {"description": "Signed out (also when no session was sent).", "headers": SESSION_SET}},
                security=_SIGNED_IN_OR_NOT,
                errors=(403,),
                tag="auth",
            )
        },
        "/api/me": {
            "get": _operation(
                "me",
                "Who am I.",
                {"200": _json("The signed-in user.", ref("User"))},
                security=_SIGNED_IN,
                tag="auth",
            )
        },
        "/api/session": {
            "get": _operation(
                "session",
                "Who is signed in, if anyone: `user` is null rather than a 401.",
                {"200": _json("The session's user, or null.", obj({"user": nullable(ref("User"))}))},
                security=_SIGNED_IN_OR_NOT,
                tag="auth",
            )
        },
    }


def _room_paths() -> dict:
    rooms = obj({"rooms": {"type": "array", "items": ref("RoomSummary")}})
    events = obj({"events": {"type": "array", "items": ref("Event")}, "seq": {"type": "integer", "minimum": 0}})
    after = {
        "name": "after",
        "in": "query",
        "required": False,
        "description": "Only events with a greater seq.",
        "schema": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1, "default": 0},
    }
    direction = {"name": "direction", "in": "query", "required": True, "schema": {"type": "string", "enum": DIRECTIONS}}
    host_only = dict(security=_SIGNED_IN, errors=(403, 404, 409), parameters=(ROOM_ID,), tag="rooms")
    return {
        "/api/rooms": {
            "post": _operation(
                "createRoom",
                "Create a room; the creator is its host and member 0.",
                _room("The new room's snapshot.", "201"),
                security=_SIGNED_IN,
                errors=(403,),
                body="CreateRoom",
                tag="rooms",
            ),
            "get": _operation(
                "listRooms",
                "The rooms I am in, then open rooms to watch.",
                {"200": _json("Room summaries.", rooms)},
                security=_SIGNED_IN,
                tag="rooms",
            ),
        },
        "/api/rooms/{room_id}": {
            "get": _operation(
                "getRoom",
                "A room's snapshot, as this user may see it (finished rooms are public).",
                {"200": _json("The snapshot.", ref("Room"))},
                security=_SIGNED_IN_OR_NOT,
                errors=(401, 404),
                parameters=(ROOM_ID,),
                tag="rooms",
            )
        },
        "/api/rooms/{room_id}/join": {
            "post": _operation(
                "joinRoom",
                "Join with the invite code; appended to the turn order.",
                _room("The room, now with this user as a member."),
                security=_SIGNED_IN,
                errors=(403, 404, 409),
                body="Join",
                parameters=(ROOM_ID,),
                tag="rooms",
            )
        },
        "/api/rooms/{room_id}/start": {
            "post": _operation("startRoom", "Host only: lobby to playing.", _room("The started room."), **host_only)
        },
        "/api/rooms/{room_id}/finish": {
            "post": _operation(
                "finishRoom", "Host only: playing to finished.", _room("The finished room."), **host_only
            )
        },
        "/api/rooms/{room_id}/events": {
            "get": _operation(
                "roomEvents",
                "The room's events after a seq, oldest first.",
                {"200": _json("Events and the room's seq.", events)},
                security=_SIGNED_IN_OR_NOT,
                errors=(401, 404, 422),
                parameters=(ROOM_ID, after),
                tag="rooms",
            )
        },
        "/api/rooms/{room_id}/canvas.png": {
            "get": _operation(
                "canvas",
                "The composite canvas (a folded room only once finished: `403 not_revealed`).",
                {"200": {**_png("The canvas."), "headers": ETAG}, **NOT_MODIFIED},
                security=_SIGNED_IN_OR_NOT,
                errors=(401, 403, 404),
                parameters=(ROOM_ID,),
                tag="pictures",
            )
        },
        "/api/rooms/{room_id}/context.png": {
            "get": _operation(
                "context",
                "The context window the generator would see; only for the player whose turn it is.",
                {"200": _png("The 2T x 2T context, transparent where it will be painted.")},
                security=_SIGNED_IN,
                errors=(403, 404, 409, 422),
                parameters=(ROOM_ID, direction),
                tag="pictures",
            )
        },
    }


def _step_paths() -> dict:
    return {
        "/api/rooms/{room_id}/steps": {
            "post": _operation(
                "submitStep",
                "Paint the next tile on your turn; the step runs in the background.",
                {
                    **_step("The step, started.", "202"),
                    **_step("A replay of the same Idempotency-Key: the original step.", "200"),
                },
                security=_SIGNED_IN,
                errors=(402, 403, 404, 409, 429),
                body="SubmitStep",
                parameters=(ROOM_ID, IDEMPOTENCY_KEY),
                tag="steps",
            )
        },
        "/api/rooms/{room_id}/steps/{step_id}": {
            "get": _operation(
                "getStep",
                "A step's status: running, committed (with its tile) or aborted (with a reason).",
                {"200": _json("The step.", ref("Step"))},
                security=_SIGNED_IN_OR_NOT,
                errors=(401, 404),
                parameters=(ROOM_ID, STEP_ID),
                tag="steps",
            )
        },
    }


def _public_paths() -> dict:
    sha256 = {"name": "sha256", "in": "path", "required": True, "schema": {"type": "string", "pattern": SHA256}}
    text = {"description": "Prometheus text format.", "content": {"text/plain": {"schema": {"type": "string"}}}}
    return {
        "/blobs/{sha256}.png": {
            "get": _operation(
                "blob",
                "A tile's bytes, content-addressed and immutable.",
                {"200": {**_png("The tile."), "headers": ETAG}, **NOT_MODIFIED},
                security=_PUBLIC,
                errors=(404,),
                parameters=(sha256,),
                tag="pictures",
            )
        },
        "/healthz": {
            "get": _operation(
                "healthz",
                "Liveness.",
                {"200": _json("Alive.", {"type": "object", "required": ["status"]})},
                security=_PUBLIC,
                tag="operations",
            )
        },
        "/readyz": {
            "get": _operation(
                "readyz",
                "Readiness: the database, bus and blob store answer.",
                {
                    "200": _json("Ready.", ref("Readiness")),
                    "503": _json("Not ready; `checks` says which part is down.", ref("Readiness")),
                },
                security=_PUBLIC,
                tag="operations",
            )
        },
        "/metrics": {
            "get": _operation("metrics", "Prometheus metrics.", {"200": text}, security=_PUBLIC, tag="operations")
        },
        "/openapi.json": {
            "get": _operation(
                "openapi",
                "This description.",
                {"200": _json("OpenAPI 3.1.", {"type": "object"})},
                security=_PUBLIC,
                tag="operations",
            )
        },
    }


def _admin_paths() -> dict:
    audit = obj({"audit": ref("AuditEntry")})
    user_id = {"name": "user_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
    status = {"name": "status", "in": "query", "schema": enum(RoomStatus)}
    stuck = {"name": "stuck", "in": "query", "schema": {"type": "string", "enum": ["true", "false", "1", "0"]}}
    listing = {"type": "object", "description": "Rows for the dashboard."}

    def read(operation_id: str, summary: str, *parameters) -> dict:
        return {
            "get": _operation(
                operation_id,
                summary,
                {"200": _json("The figures.", listing)},
                security=_SIGNED_IN,
                errors=(403, 422, 429),
                parameters=parameters,
                tag="admin",
            )
        }

    def act(operation_id: str, summary: str, body: str, errors: tuple, *parameters) -> dict:
        return {
            "post": _operation(
                operation_id,
                summary,
                {"200": _json("Done; the audit row written with it.", audit)},
                security=_SIGNED_IN,
                errors=(403, 404, 429, *errors),
                body=body,
                parameters=parameters,
                tag="admin",
            )
        }

    return {
        "/api/admin/overview": read("adminOverview", "The dashboard's figures (also sent on /ws/admin)."),
        "/api/admin/rooms": read("adminRooms", "Rooms, optionally of one status.", status),
        "/api/admin/steps": read("adminSteps", "Running steps; `stuck` keeps those whose lease ran out.", stuck),
        "/api/admin/audit": read("adminAudit", "The newest audit entries."),
        "/api/admin/steps/{step_id}/abort": act(
            "adminAbortStep", "Abort a running step and refund it.", "Reason", (409,), STEP_ID
        ),
        "/api/admin/rooms/{room_id}/release-lease": act(
            "adminReleaseLease",
            "Release a room's lease, aborting and refunding the step that held it.",
            "Reason",
            (409,),
            ROOM_ID,
        ),
        "/api/admin/rooms/{room_id}/finish": act(
            "adminFinishRoom", "Finish a playing room.", "Reason", (409,), ROOM_ID
        ),
        "/api/admin/users/{user_id}/credits": act(
            "adminCredits",
            "Grant (delta > 0) or revoke (delta < 0) credits through the ledger.",
            "CreditChange",
            (402,),
            user_id,
        ),
        "/api/admin/users/{user_id}/disable": act(
            "adminDisableUser", "Disable a user and revoke their sessions.", "Reason", (409,), user_id
        ),
    }


def build_spec() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "EXQUISITE", "version": "0.1.0", "description": DESCRIPTION},
        "paths": {**_auth_paths(), **_room_paths(), **_step_paths(), **_public_paths(), **_admin_paths()},
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE}},
        },
    }


async def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(build_spec())


routes = [Route("/openapi.json", openapi_json, methods=["GET"])]
