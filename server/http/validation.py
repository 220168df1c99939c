"""Requests in: body size limit, JSON decoding, field validation and path ids, each refusal an
AppError that server/http/errors.py turns into the envelope."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, ErrorDetails, core_schema
from starlette.requests import HTTPConnection, Request

from server import logs
from server.services import Services
from storage import BadRequest, InvalidField, NotFound, TooLarge

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_WHOLE_NUMBER_DIGITS",
    "NO_CONTROL_CHARACTERS",
    "Body",
    "Text",
    "Trimmed",
    "PrintableLine",
    "OneOf",
    "NotEqual",
    "clean_text",
    "read_json",
    "read_body",
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


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must be printable characters")
    return value


# What `clean_text` refuses, said as a JSON Schema pattern: control characters but newline.
NO_CONTROL_CHARACTERS = "^[^\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f]*$"

# Every text field: no control characters (the schema's pattern) and no lone surrogates.
Text = Annotated[str, AfterValidator(clean_text), Field(json_schema_extra={"pattern": NO_CONTROL_CHARACTERS})]
# Text trimmed before a length limit measures it; the control characters are refused untrimmed.
Trimmed = Annotated[Text, AfterValidator(str.strip), Field(description="Trimmed, then measured.")]
# A name shown to others: trimmed, and printable characters only (which no pattern here says).
PrintableLine = Annotated[
    Trimmed, AfterValidator(_printable), Field(description="Trimmed, then measured; printable characters only.")
]


@dataclass(frozen=True)
class OneOf:
    """`Annotated[int, OneOf(values)]`: only these values; the schema lists them (`enum`)."""

    values: tuple[Any, ...]

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {**handler(schema), "enum": list(self.values)}

    def _check(self, value: Any) -> Any:
        if value not in self.values:
            raise ValueError(f"must be one of {', '.join(map(str, self.values))}")
        return value


@dataclass(frozen=True)
class NotEqual:
    """`Annotated[int, NotEqual(0)]`: any value but this one; the schema says `not: {const}`."""

    value: Any

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {**handler(schema), "not": {"const": self.value}}

    def _check(self, value: Any) -> Any:
        if value == self.value:
            raise ValueError(f"must not be {self.value}")
        return value


async def read_json(request: Request, model: type[Model]) -> Model:
    return parse_fields(await _json_object(request), model)


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, refused as soon as it is longer than `limit` bytes (declared or sent)."""
    too_large = TooLarge(f"The request body is over {limit} bytes.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


async def _json_object(request: Request) -> dict[str, Any]:
    body = await read_body(request)
    try:
        data = json.loads(body.decode("utf-8"))
    # ValueError: JSONDecodeError and UnicodeDecodeError, and an integer over Python's 4,300 digits;
    # RecursionError: deep nesting.
    except (ValueError, RecursionError) as exc:
        raise BadRequest("The body is not valid JSON.", code="malformed_json") from exc
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.", code="malformed_json")
    return data


MAX_WHOLE_NUMBER_DIGITS = 18
_WHOLE_NUMBER = re.compile(rf"[0-9]{{1,{MAX_WHOLE_NUMBER_DIGITS}}}")


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
    kind, context = error["type"], error.get("ctx", {})
    if kind == "missing":
        return "is required"
    if kind == "value_error":
        return str(context["error"])
    # A length limit on text (`too_*` when it measures text after a validator trimmed it).
    if kind == "string_too_short" or (kind == "too_short" and context.get("field_type") == "Value"):
        least = context["min_length"]
        return "must not be empty" if least == 1 else f"must be at least {least} characters"
    if kind == "string_too_long" or (kind == "too_long" and context.get("field_type") == "Value"):
        return f"must be at most {context['max_length']} characters"
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
