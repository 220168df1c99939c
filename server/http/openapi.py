"""`GET /openapi.json`: an OpenAPI 3.1 description of the JSON API (DESIGN.md section 5), generated.

Each route declares its operation with `@documented(...)` (server/http/documented.py); this
module walks the routes and writes the document. The JSON Schemas come from pydantic: request
bodies and queries from the models that validate them, answers from the TypedDicts the routes
build (server/play/shapes.py, server/http/answers.py), so a limit or a field exists in one place.

The websocket (`/ws/rooms/{room_id}`, DESIGN.md section 6) has no OpenAPI form; the description
points at it; so does the admin dashboard's `/ws/admin`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import core_schema
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.http.answers import ErrorEnvelope
from server.http.api import API_ROUTES
from server.http.documented import Answer, Operation, documented, operation_of
from server.http.sessions import SESSION_COOKIE
from server.http.validation import MAX_BODY_BYTES

__all__ = ["routes", "build_spec"]

DESCRIPTION = f"""\
JSON over HTTP with a session cookie (`{SESSION_COOKIE}`, set by signup and login). Every
refusal is the error envelope `{{"error": {{"code", "message", "field"?, "request_id"?}}}}`.
State-changing requests that carry the cookie must send an `Origin` equal to the server's
public origin, or get `403 bad_origin`. Request bodies are JSON objects of at most
{MAX_BODY_BYTES} bytes, with strict types (no `"1"` or `1.0` for `1`); unknown keys are ignored.

Live updates come over the websocket `GET /ws/rooms/{{room_id}}?after=SEQ` (snapshot, events,
presence, progress), which OpenAPI does not describe."""

ERRORS = {
    400: "Malformed: the body is not a JSON object (`malformed_json`), not sent as JSON (`json_required`),"
    " or `missing_idempotency_key`.",
    401: "Not signed in (`not_signed_in`), or wrong email or password (`invalid_credentials`).",
    402: "Not enough credits (`insufficient_credits`).",
    403: "Not allowed: `bad_origin`, `not_host`, `not_your_turn`, `bad_invite_code`, `not_revealed`, ...",
    404: "Unknown, or not visible to this user (`not_found`).",
    409: "Conflicts with the current state: `email_taken`, `stale_nonce`, `step_in_flight`, ...",
    413: f"The body is over {MAX_BODY_BYTES} bytes (`too_large`).",
    422: "A field is invalid (`invalid_field`, naming it in `field`), or the prompt was refused (`prompt_refused`).",
    429: "Rate limited (`rate_limited`) or over a quota (`too_many_rooms`, `too_many_connections`);"
    " `Retry-After` says when to try again.",
    503: "Saturated (`busy`) or the database is unreachable (`unavailable`): nothing was done;"
    " `Retry-After` says when to try again.",
    500: "Something broke on our side (`internal`, with a `request_id` for the log).",
}
BODY_ERRORS = (400, 413, 422)
SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "signed_in": [{"session": []}],
    "optional": [{"session": []}, {}],
    "public": [],
}
UUID = {"type": "string", "format": "uuid"}
# The path parameters of every route, by name.
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "room_id": {"description": "The room's id.", "schema": UUID},
    "step_id": {"description": "The step's id.", "schema": UUID},
    "user_id": {"schema": {"type": "integer", "minimum": 0}},
    "sha256": {"schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
    "code": {"description": "The room's invite code.", "schema": {"type": "string", "minLength": 1, "maxLength": 100}},
    "user": {
        "description": "The user's id, or their email.",
        "schema": {
            "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "format": "email", "maxLength": 254}]
        },
    },
}
REF = "#/components/schemas/{model}"
_PATH_NAME = re.compile(r"\{(\w+)")  # `{room_id}`, or `{room_id:uuid}` with a convertor
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}


class _Schemas(GenerateJsonSchema):
    """pydantic's JSON Schema, terser: no title per property or per TypedDict, and the shapes'
    `Json` suffix (`TileJson`) left out of their names in the document (`Tile`)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def typed_dict_schema(self, schema: core_schema.TypedDictSchema) -> JsonSchemaValue:
        body = super().typed_dict_schema(schema)
        body.pop("title", None)
        return body

    def normalize_name(self, name: str) -> str:
        return super().normalize_name(name).removesuffix("Json")


def _documented_routes() -> Iterator[tuple[str, str, Operation]]:
    """(path, method, operation) of every documented route; an undocumented one is a mistake."""
    for route in [*API_ROUTES, *routes]:
        if not isinstance(route, Route):
            continue
        operation = operation_of(route.endpoint)
        if operation is None:
            raise RuntimeError(f"{route.path} has no @documented(...)")
        for method in sorted((route.methods or set()) - {"HEAD"}):
            yield operation.path or route.path, method.lower(), operation


# (operation id, "body" or a status) names each type the document describes.
SchemaKey = tuple[str, str]
ERROR_KEY: SchemaKey = ("", "error")


def _types(operations: list[Operation]) -> dict[SchemaKey, tuple[JsonSchemaMode, Any]]:
    """Bodies as the models validate them, answers as the routes build them."""
    types: dict[SchemaKey, tuple[JsonSchemaMode, Any]] = {ERROR_KEY: ("serialization", ErrorEnvelope)}
    for operation in operations:
        if operation.body is not None:
            types[operation.operation_id, "body"] = ("validation", operation.body)
        for status, answer in operation.answers.items():
            if answer.shape is not None:
                types[operation.operation_id, str(status)] = ("serialization", answer.shape)
    return types


def _components(operations: list[Operation]) -> tuple[dict[SchemaKey, JsonSchemaValue], dict[str, Any]]:
    """Each type's schema (a `$ref` for models and TypedDicts), and the named schemas."""
    inputs = [(key, mode, TypeAdapter(shape)) for key, (mode, shape) in _types(operations).items()]
    schemas, top = TypeAdapter.json_schemas(inputs, ref_template=REF, schema_generator=_Schemas)
    return {key: schema for (key, _), schema in schemas.items()}, dict(sorted(top.get("$defs", {}).items()))


def _query(query: type[BaseModel] | tuple[Any, ...]) -> list[dict[str, Any]]:
    if not isinstance(query, type):
        return [dict(parameter) for parameter in query]
    schema = query.model_json_schema(ref_template=REF, schema_generator=_Schemas)
    if "$defs" in schema:
        raise RuntimeError(f"{query.__name__}: a query's fields must be plain values, not objects")
    parameters = []
    for name, field in schema["properties"].items():
        parameter = {"name": name, "in": "query", "required": name in schema.get("required", ())}
        if "description" in field:
            parameter["description"] = field.pop("description")
        parameters.append({**parameter, "schema": field})
    return parameters


def _parameters(path: str, operation: Operation) -> list[dict[str, Any]]:
    in_path = [
        {"name": name, "in": "path", "required": True, **PATH_PARAMETERS[name]} for name in _PATH_NAME.findall(path)
    ]
    return in_path + _query(operation.query) + [dict(header) for header in operation.headers]


def _answer(answer: Answer, schema: JsonSchemaValue | None) -> dict[str, Any]:
    body: dict[str, Any] = {"description": answer.description}
    if answer.media_type == "application/json":
        if schema is None:
            raise RuntimeError(f"the JSON answer {answer.description!r} has no shape")
        body["content"] = {answer.media_type: {"schema": schema}}
    elif answer.media_type is not None:
        binary = {"format": "binary"} if answer.media_type.startswith("image/") else {}
        body["content"] = {answer.media_type: {"schema": {"type": "string", **binary}}}
    if answer.headers:
        body["headers"] = {name: dict(header) for name, header in answer.headers.items()}
    return body


def _operation(path: str, operation: Operation, schemas: dict[SchemaKey, JsonSchemaValue]) -> dict[str, Any]:
    answers = {
        str(status): _answer(answer, schemas.get((operation.operation_id, str(status))))
        for status, answer in operation.answers.items()
    }
    errors = {*operation.errors, 500}
    if operation.auth == "signed_in":
        errors.add(401)
    if operation.body is not None:
        errors.update(BODY_ERRORS)
    for status in sorted(errors):
        refusal = Answer(ERRORS[status], headers=RETRY_AFTER if status in (429, 503) else {})
        answers[str(status)] = _answer(refusal, schemas[ERROR_KEY])
    body: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
        "security": SECURITY[operation.auth],
        "responses": answers,
    }
    parameters = _parameters(path, operation)
    if parameters:
        body["parameters"] = parameters
    if operation.body is not None:
        schema = schemas[operation.operation_id, "body"]
        body["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    return body


def build_spec() -> dict[str, Any]:
    documented_routes = list(_documented_routes())
    schemas, components = _components([operation for _, _, operation in documented_routes])
    paths: dict[str, dict[str, Any]] = {}
    for path, method, operation in documented_routes:
        paths.setdefault(path, {})[method] = _operation(path, operation, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "EXQUISITE", "version": "0.1.0", "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE}},
        },
    }


@functools.cache
def _document() -> bytes:
    return json.dumps(build_spec(), separators=(",", ":")).encode()


@documented(
    "openapi",
    "This description.",
    tag="operations",
    auth="public",
    answers={200: Answer("OpenAPI 3.1.", dict[str, Any])},
)
async def openapi_json(request: Request) -> Response:
    return Response(_document(), media_type="application/json")


routes: list[BaseRoute] = [Route("/openapi.json", openapi_json, methods=["GET"])]
