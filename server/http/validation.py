"""Requests in: body size limit, JSON decoding, field validation and path ids, each refusal an
AppError that server/http/errors.py turns into the envelope."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Annotated, Any, TypeVar
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails
from starlette.requests import HTTPConnection, Request

from server import logs
from server.services import Services
from storage import BadRequest, InvalidField, NotFound, TooLarge

__all__ = [
    "MAX_BODY_BYTES",
    "Body",
    "Text",
    "clean_text",
    "read_json",
    "parse_fields",
    "whole_number",
    "parse_room_id",
    "parse_uuid",
    "services_of",
]

MAX_BODY_BYTES = 1024 * 1024
Model = TypeVar("Model", bound=BaseModel)


class Body(BaseModel):
    """Base of request bodies: strict types (no "1" for 1), unknown keys ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


def clean_text(value: str) -> str:
    """Refuses control characters and lone surrogates, which no field of ours may hold."""
    for char in value:
        category = unicodedata.category(char)
        if category == "Cs":
            raise ValueError("must be valid UTF-8 text")
        if category == "Cc" and char not in "\n":
            raise ValueError("must not contain control characters")
    return value


Text = Annotated[str, AfterValidator(clean_text)]


async def read_json(request: Request, model: type[Model]) -> Model:
    return parse_fields(await _json_object(request), model)


async def _json_object(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise TooLarge("The request body is over 1 MiB.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise TooLarge("The request body is over 1 MiB.")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:  # deep nesting too
        raise BadRequest("The body is not valid JSON.", code="malformed_json") from exc
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.", code="malformed_json")
    return data


_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")


def whole_number(raw: str, field: str) -> int:
    """A query or path number: ASCII digits only (str.isdigit would take '²'), at most 18."""
    if not _WHOLE_NUMBER.fullmatch(raw):
        raise InvalidField(field, "must be a whole number of at least 0")
    return int(raw)


def parse_fields(data: dict[str, Any], model: type[Model]) -> Model:
    """Validates a decoded object; the first bad field is named in the refusal."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"]) or "body"
        raise InvalidField(field, _message(error)) from None


def _message(error: ErrorDetails) -> str:
    if error["type"] == "missing":
        return "is required"
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    return error["msg"][:1].lower() + error["msg"][1:]


def parse_uuid(raw: str, what: str) -> UUID:
    """A path id; one that is not a UUID names nothing, so it is a 404 like an unknown one."""
    try:
        return UUID(raw)
    except ValueError:
        raise NotFound(f"No such {what}.") from None


def parse_room_id(raw: str) -> UUID:
    room_id = parse_uuid(raw, "room")
    logs.room_id.set(str(room_id))
    return room_id


def services_of(connection: HTTPConnection) -> Services:
    """What the app's lifespan opened (server/lifespan.py)."""
    services: Services = connection.app.state.services
    return services
